/**
 * TLS settings of the SIP stream transports (TLS, RFC 3261 §26.2 / RFC 5630; WSS, RFC 7118 §5): the node's credential
 * (PEM certificate and key), its trust store (CA certificates and/or pinned certificate fingerprints, RFC 8122 §5
 * form), TLS 1.2 as the minimum and the RFC 9325 §4.2 cipher suites. The checks of a peer's certificate:
 *
 * - a server (seen by a client): issued by a configured CA and valid for the host or IP address that was dialled
 *   (RFC 5922 §7.1 / §7.2 with RFC 6125 §6: subjectAltName dNSName / iPAddress; Node's `checkServerIdentity`), or
 *   pinned. Certificate verification is never switched off: `rejectUnauthorized: false` is used only when pins are
 *   configured, and then this module checks the chain, the identity or the pin itself before any SIP byte is written.
 * - a client (seen by a server, mutual TLS only): issued by a configured CA, or pinned (RFC 5922 §7.3 leaves the
 *   identity of a client to the server's policy; here the trust store is the policy).
 */
import { createPrivateKey, X509Certificate } from "node:crypto";
import { isIP } from "node:net";
import tls from "node:tls";
import type { Fingerprint } from "../../sdp/fingerprint.ts";
import { CERTIFICATE_HASHES } from "../../security/certificate.ts";
import { verifyPeerCertificate } from "../../security/verify.ts";
import { SipError } from "../errors.ts";
import { bareHost } from "./types.ts";

/** The TLS credential and trust store of a SIP node (shared by its TLS and WSS listeners and clients). */
export interface SipTlsConfig {
  /** the node's certificate (PEM; a chain may follow it) */
  certPem: string;
  /** its private key (PEM, PKCS#8 or SEC1) */
  keyPem: string;
  /** CA certificates (PEM) that issue the peers' certificates; absent with no pins: Node's default root store */
  ca?: readonly string[];
  /** pinned peer certificates (SHA-256 or stronger fingerprints, RFC 8122 §5): accepted whoever issued them */
  pins?: readonly Fingerprint[];
  /**
   * mutual TLS: a listener asks every client for a certificate and refuses a client without one the trust store
   * accepts. Only then does the listener authenticate its SIP peers (src/cli/binds.ts `authenticated`).
   */
  requireClientCert?: boolean;
}

/**
 * RFC 9325 §4.2: the recommended TLS 1.2 cipher suites (ECDHE with AES-GCM; ECDSA and RSA certificates), and the
 * TLS 1.3 suites of RFC 8446 §9.1. No CBC, no static RSA, no SHA-1 MAC (RFC 9325 §4.1).
 */
export const SIP_TLS_CIPHERS = [
  "TLS_AES_128_GCM_SHA256",
  "TLS_AES_256_GCM_SHA384",
  "TLS_CHACHA20_POLY1305_SHA256",
  "ECDHE-ECDSA-AES128-GCM-SHA256",
  "ECDHE-RSA-AES128-GCM-SHA256",
  "ECDHE-ECDSA-AES256-GCM-SHA384",
  "ECDHE-RSA-AES256-GCM-SHA384",
].join(":");

/** RFC 9325 §3.1.1: TLS 1.2 at least (1.0 and 1.1 are prohibited by RFC 8996). */
export const SIP_TLS_MIN_VERSION = "TLSv1.2" as const;

/** Checks a configuration at start (E_SIP_TLS_CONFIG): the key matches the certificate, CAs and pins are usable. */
export function checkTlsConfig(cfg: SipTlsConfig): void {
  let ok = false;
  try {
    ok = new X509Certificate(cfg.certPem).checkPrivateKey(createPrivateKey(cfg.keyPem));
  } catch (e) {
    throw new SipError("E_SIP_TLS_CONFIG", `unreadable TLS certificate or key: ${e instanceof Error ? e.message : e}`);
  }
  if (!ok) throw new SipError("E_SIP_TLS_CONFIG", "the TLS private key does not match the certificate");
  for (const [i, pem] of (cfg.ca ?? []).entries()) {
    try {
      new X509Certificate(pem);
    } catch (e) {
      throw new SipError(
        "E_SIP_TLS_CONFIG",
        `CA ${i + 1} is not a PEM certificate: ${e instanceof Error ? e.message : e}`,
      );
    }
  }
  for (const p of cfg.pins ?? []) {
    // RFC 8122 §5: SHA-256 is preferred; a pin is a trust anchor, so nothing weaker is accepted
    if (!(CERTIFICATE_HASHES as readonly string[]).includes(p.hash))
      throw new SipError("E_SIP_TLS_CONFIG", `a pin needs sha-256 or stronger, not ${p.hash}`);
  }
  if (cfg.requireClientCert === true && (cfg.ca ?? []).length === 0 && (cfg.pins ?? []).length === 0)
    throw new SipError("E_SIP_TLS_CONFIG", "requireClientCert needs a CA or pins to check client certificates with");
}

function hasPins(cfg: SipTlsConfig): boolean {
  return (cfg.pins ?? []).length > 0;
}

/** The listener's secure context and the client-certificate policy of a server-side TLSSocket. */
export function serverTlsOptions(cfg: SipTlsConfig): tls.TLSSocketOptions {
  const secureContext = tls.createSecureContext({
    cert: cfg.certPem,
    key: cfg.keyPem,
    ...(cfg.ca !== undefined && cfg.ca.length > 0 ? { ca: [...cfg.ca] } : {}),
    minVersion: SIP_TLS_MIN_VERSION,
    ciphers: SIP_TLS_CIPHERS,
    honorCipherOrder: true,
  });
  const mutual = cfg.requireClientCert === true;
  return {
    isServer: true,
    secureContext,
    requestCert: mutual,
    // checkClient below decides after the handshake (a pinned self-signed client has no CA to chain to)
    rejectUnauthorized: false,
  };
}

/** Options of an outbound connection to `host:port` (the host is the one the URI named, RFC 5922 §7.2). */
export function clientTlsOptions(cfg: SipTlsConfig, host: string, port: number): tls.ConnectionOptions {
  const h = bareHost(host);
  return {
    host: h,
    port,
    cert: cfg.certPem,
    key: cfg.keyPem,
    ...(cfg.ca !== undefined && cfg.ca.length > 0 ? { ca: [...cfg.ca] } : {}),
    minVersion: SIP_TLS_MIN_VERSION,
    ciphers: SIP_TLS_CIPHERS,
    // RFC 6066 §3: SNI carries a DNS name only, never an IP address literal
    ...(isIP(h) === 0 ? { servername: h } : {}),
    // RFC 5922 §7.2: the chain and the identity are verified by Node; with pins, by checkServer below
    rejectUnauthorized: !hasPins(cfg),
  };
}

/** Whether a DER certificate matches a pin. */
function pinned(der: Buffer | undefined, pins: readonly Fingerprint[]): boolean {
  if (!der || der.length === 0 || pins.length === 0) return false;
  return verifyPeerCertificate(der, pins, { hashes: CERTIFICATE_HASHES }).verified;
}

/**
 * RFC 5922 §7.2: after the handshake, before any SIP byte: the server's certificate is pinned, or chains to a
 * configured CA and names the host or IP dialled (Node's verdict, `authorized`, covers both). undefined = accepted.
 */
export function checkServer(cfg: SipTlsConfig, socket: tls.TLSSocket, host: string): SipError | undefined {
  const der = socket.getPeerCertificate().raw as Buffer | undefined;
  if (pinned(der, cfg.pins ?? [])) return undefined;
  // with pins and a CA, a certificate that is not pinned is still acceptable when the CA and the name vouch for it
  if ((cfg.ca ?? []).length > 0 && socket.authorized) return undefined;
  const why = hasPins(cfg)
    ? "its certificate is not pinned"
    : `${String(socket.authorizationError ?? "its certificate is not trusted")}`;
  return new SipError("E_SIP_TLS_PEER", `TLS server ${host} refused: ${why}`);
}

/**
 * Whether a certificate was issued and signed by one of the CAs and is within its validity period (RFC 5280 §6.1.3
 * (a) for a one-level chain: the lab CA issues the node certificates directly).
 */
function issuedByCa(der: Buffer, cas: readonly string[], now = new Date()): boolean {
  let cert: X509Certificate;
  try {
    cert = new X509Certificate(der);
  } catch {
    return false;
  }
  const t = now.getTime();
  if (t < Date.parse(cert.validFrom) || t > Date.parse(cert.validTo)) return false;
  return cas.some((pem) => {
    try {
      const ca = new X509Certificate(pem);
      return ca.ca && cert.checkIssued(ca) && cert.verify(ca.publicKey);
    } catch {
      return false;
    }
  });
}

/**
 * A client on a mutual-TLS listener: pinned, or issued by a configured CA (RFC 5922 §7.3 leaves the client's identity
 * to the server's policy). A server-side TLSSocket made from an accepted socket has no `authorized` verdict of
 * Node's, so the CA check is done here. undefined = accepted.
 */
export function checkClient(cfg: SipTlsConfig, socket: tls.TLSSocket): SipError | undefined {
  if (cfg.requireClientCert !== true) return undefined;
  const der = socket.getPeerCertificate().raw as Buffer | undefined;
  if (pinned(der, cfg.pins ?? [])) return undefined;
  if (der && der.length > 0 && issuedByCa(der, cfg.ca ?? [])) return undefined;
  return new SipError(
    "E_SIP_TLS_PEER",
    `TLS client refused: ${der && der.length > 0 ? "its certificate is not trusted" : "no client certificate"}`,
  );
}
