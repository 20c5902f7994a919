/**
 * Mutual authentication of the Iq WebSocket binding: WSS with client certificates, each end pinning the other by
 * certificate fingerprint (RFC 8122 §5 form, "sha-256 AB:CD:…"). TS 23.334 puts Iq (an H.248 profile) on a secured
 * interface; TS 33.210 §5.6.1 (NDS/IP, Zb) protects it between network elements of one security domain, and
 * RFC 8446 §4.4.2 / RFC 5246 §7.4.6 give the client's certificate in the TLS handshake. Pinned self-signed
 * certificates (the ECDSA P-256 ones of src/security/certificate.ts) need no CA: the fingerprint is the trust anchor.
 *
 * The rule for an unauthenticated listener or client (plain ws://): refused unless `insecure: true` AND the address
 * is a loopback address (`E_AGW_IQ_INSECURE`). The in-process binding (`ImsAgw` itself) has no socket and no auth.
 */
import { createPrivateKey, X509Certificate } from "node:crypto";
import net from "node:net";
import tls from "node:tls";
import { isLoopbackHost } from "../../loopback.ts";
import { type Fingerprint, parseFingerprint } from "../../sdp/index.ts";
import { CERTIFICATE_HASHES, fingerprintOf } from "../../security/certificate.ts";
import { verifyPeerCertificate } from "../../security/verify.ts";
import { AgwError } from "./iqErrors.ts";

/** A pin: the RFC 8122 §5 fingerprint of the one certificate an Iq peer may present. */
type CertificateFingerprint = Fingerprint;

/** An Iq peer allowed by fingerprint: the controller's name (audit, quotas) and its certificate's fingerprint. */
export interface IqPin {
  readonly name: string;
  readonly fingerprint: CertificateFingerprint;
}

/** The AGW's side: its certificate and key (PEM) and the IMS-ALGs (P-CSCFs) allowed to drive it. */
export interface IqTlsServerOptions {
  readonly certPem: string;
  /** PKCS#8 or SEC1 PEM */
  readonly keyPem: string;
  /** the controllers allowed to connect; every other certificate (or none) is refused after the handshake */
  readonly controllers: readonly IqPin[];
  /** a TLS handshake must finish within this time (default 10 s) */
  readonly handshakeTimeoutMs?: number;
}

/** The IMS-ALG's side: its certificate and key (PEM) and the AGW's pinned fingerprint(s). */
export interface IqTlsClientOptions {
  readonly certPem: string;
  readonly keyPem: string;
  /** the AGW's certificate fingerprint(s); any other server certificate ends the connection (E_AGW_IQ_AUTH) */
  readonly agwFingerprints: readonly CertificateFingerprint[];
}

/** Parses "sha-256 AB:CD:…" (RFC 8122 §5 `hash-func SP fingerprint`, SHA-256 or stronger); E_AGW_INVALID_PARAM otherwise. */
export function parsePin(text: string): CertificateFingerprint {
  const p = parseFingerprint(text.trim().replace(/\s+/, " "));
  if (!p.ok || !p.value)
    throw new AgwError("E_AGW_INVALID_PARAM", p.problems[0]?.message ?? 'a fingerprint is "sha-256 AB:CD:…"');
  // RFC 8122 §5: SHA-256 is preferred; a pin is a trust anchor, so nothing weaker is accepted
  if (!(CERTIFICATE_HASHES as readonly string[]).includes(p.value.hash))
    throw new AgwError("E_AGW_INVALID_PARAM", `a pin needs sha-256 or stronger, not ${p.value.hash}`);
  return p.value;
}

/** The SHA-256 fingerprint of a PEM certificate, as a pin ("sha-256 AB:…" once formatted). */
export function pinOfCertificate(certPem: string): CertificateFingerprint {
  try {
    return fingerprintOf(certPem, "sha-256");
  } catch (e) {
    throw new AgwError("E_AGW_INVALID_PARAM", `not a PEM certificate: ${e instanceof Error ? e.message : String(e)}`);
  }
}

/** Checks that a PEM certificate and key belong together (E_AGW_CERT otherwise): a bad pair fails at start. */
export function checkCredential(certPem: string, keyPem: string, what: string): void {
  let ok = false;
  try {
    ok = new X509Certificate(certPem).checkPrivateKey(createPrivateKey(keyPem));
  } catch (e) {
    throw new AgwError("E_AGW_CERT", `${what}: unreadable certificate or key (${e instanceof Error ? e.message : e})`);
  }
  if (!ok) throw new AgwError("E_AGW_CERT", `${what}: the private key does not match the certificate`);
}

/** Whether a DER certificate matches one of the pinned fingerprints (the one check, src/security/verify.ts). */
function matchesPin(der: Buffer, pins: readonly CertificateFingerprint[]): boolean {
  return verifyPeerCertificate(der, pins, { hashes: CERTIFICATE_HASHES }).verified;
}

/** The pinned controller presenting `der`, if any. */
export function controllerOf(der: Buffer | undefined, controllers: readonly IqPin[]): IqPin | undefined {
  if (!der || der.length === 0) return undefined;
  return controllers.find((c) => matchesPin(der, [c.fingerprint]));
}

/** The rule of an unauthenticated Iq endpoint: `insecure: true` and loopback, else E_AGW_IQ_INSECURE. */
export function assertInsecureAllowed(host: string, insecure: boolean | undefined, what: string): void {
  if (insecure !== true) {
    throw new AgwError("E_AGW_IQ_INSECURE", `${what}: plain ws:// Iq needs TLS credentials, or insecure: true`);
  }
  if (!isLoopbackHost(host)) {
    throw new AgwError("E_AGW_IQ_INSECURE", `${what}: plain ws:// Iq is allowed on loopback only, not ${host}`);
  }
}

/**
 * Opens a TLS connection to the AGW with the client certificate and checks the AGW's certificate against the pins
 * before the first byte of the WebSocket upgrade is written; typed errors (E_AGW_IQ_AUTH, E_AGW_IQ_TIMEOUT,
 * E_AGW_IQ_DISCONNECTED).
 */
export function connectPinned(url: URL, opts: IqTlsClientOptions, timeoutMs: number): Promise<tls.TLSSocket> {
  const host = url.hostname.replace(/^\[|\]$/g, "");
  const port = url.port === "" ? 443 : Number(url.port);
  return new Promise((resolve, reject) => {
    const s = tls.connect({
      host,
      port,
      cert: opts.certPem,
      key: opts.keyPem,
      minVersion: "TLSv1.2",
      // the chain is not checked against a CA: the pinned fingerprint below is the trust anchor
      rejectUnauthorized: false,
      ...(net.isIP(host) === 0 ? { servername: host } : {}),
    });
    const timer = setTimeout(() => {
      s.destroy();
      reject(new AgwError("E_AGW_IQ_TIMEOUT", `TLS connect to ${url.host} timed out`));
    }, timeoutMs);
    s.once("error", (e) => {
      clearTimeout(timer);
      reject(new AgwError("E_AGW_IQ_DISCONNECTED", `cannot connect to ${url.host}: ${e.message}`));
    });
    s.once("secureConnect", () => {
      clearTimeout(timer);
      const der = s.getPeerCertificate().raw as Buffer | undefined;
      if (!der || !matchesPin(der, opts.agwFingerprints)) {
        s.destroy();
        reject(new AgwError("E_AGW_IQ_AUTH", `the AGW at ${url.host} presented a certificate that is not pinned`));
        return;
      }
      s.removeAllListeners("error");
      s.on("error", () => {}); // the WebSocket's HTTP request reports socket errors from here on
      resolve(s);
    });
  });
}
