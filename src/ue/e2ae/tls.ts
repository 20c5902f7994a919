/**
 * TCP and TLS plumbing of the e2ae endpoint: TCP connect/listen, the TLS handshake in a given role on an
 * established TCP connection (the TLS role need not follow the TCP role: BFCP, RFC 8856), and the RFC 8122 §6
 * fingerprint check of the peer certificate. Nothing here reads or writes an application byte: the caller attaches
 * MSRP/BFCP only after `verifyPeerCertificate` (src/security/verify.ts) said yes.
 */
import { constants } from "node:crypto";
import net from "node:net";
import tls from "node:tls";
import type { SessionCertificate } from "../../security/certificate.ts";
import type { PeerCertificateVerdict } from "../../security/verify.ts";
import { E2aeError } from "./errors.ts";

export type TlsRole = "client" | "server";

/** Outcome of the RFC 8122 §6 check, one per TLS connection (same shape as the data channel's SecurityVerdict). */
export interface E2aeVerdict {
  verified: boolean;
  /** RFC 8122 §5.1: the hash used (the strongest one signalled) */
  hash?: string;
  /** fingerprint of the certificate the peer presented, with that hash */
  presented?: string;
  /** the signalled fingerprints of that hash */
  signalled: string[];
  code?: "E_E2AE_FP_MISMATCH" | "E_E2AE_NO_PEER_CERT";
  reason?: string;
}

/**
 * The e2ae reading of the one peer-certificate verdict (src/security/verify.ts, RFC 8122 §5.1 / §6): no certificate,
 * no usable fingerprint or no match ⇒ not verified (fail closed), with the e2ae error codes.
 */
export function e2aeVerdict(v: PeerCertificateVerdict): E2aeVerdict {
  const signalled = v.signalled.map((f) => f.value);
  // RFC 8122 §6: the endpoint MUST present a certificate whose fingerprint was signalled
  if (v.outcome === "no-certificate")
    return {
      verified: false,
      signalled,
      ...(v.hash ? { hash: v.hash } : {}),
      code: "E_E2AE_NO_PEER_CERT",
      reason: "the TLS peer presented no certificate",
    };
  if (v.outcome === "no-usable-fingerprint")
    return {
      verified: false,
      signalled: [],
      code: "E_E2AE_FP_MISMATCH",
      reason: "no usable fingerprint was signalled",
    };
  const base = { ...(v.hash ? { hash: v.hash } : {}), presented: v.presented?.value ?? "", signalled };
  return v.verified
    ? { verified: true, ...base, reason: `certificate matches the signalled ${v.hash} fingerprint` }
    : {
        verified: false,
        ...base,
        code: "E_E2AE_FP_MISMATCH",
        reason: `certificate matches no signalled ${v.hash} fingerprint`,
      };
}

/** TCP connect with a deadline; the socket is returned paused-free but without listeners beyond error handling. */
export function tcpConnect(
  host: string,
  port: number,
  opts: { timeoutMs: number; localAddress?: string },
): Promise<net.Socket> {
  return new Promise<net.Socket>((resolve, reject) => {
    const s = net.connect({ host, port, ...(opts.localAddress ? { localAddress: opts.localAddress } : {}) });
    const timer = setTimeout(() => {
      s.destroy();
      reject(
        new E2aeError("E_E2AE_TIMEOUT", `TCP connect to ${host}:${port} did not complete within ${opts.timeoutMs} ms`),
      );
    }, opts.timeoutMs);
    timer.unref?.();
    s.once("connect", () => {
      clearTimeout(timer);
      s.removeAllListeners("error");
      resolve(s);
    });
    s.once("error", (e) => {
      clearTimeout(timer);
      s.destroy();
      reject(new E2aeError("E_E2AE_CONNECT", `TCP connect to ${host}:${port} failed: ${e.message}`, { cause: e }));
    });
  });
}

export interface HandshakeOptions {
  role: TlsRole;
  certificate: SessionCertificate;
  timeoutMs: number;
  minVersion?: "TLSv1.2" | "TLSv1.3";
  /** NSS key log lines (SSLKEYLOGFILE format) for decrypting captures in a lab; never set it in production. */
  keyLog?: (line: Buffer) => void;
}

/**
 * Runs the TLS handshake on an established TCP connection. Both sides present their certificate: the server
 * requests the client's (RFC 8122 §6: each endpoint is identified by the fingerprint it signalled). No CA
 * validation: the certificates are self-signed and the fingerprint is the identity. Renegotiation is disabled so
 * the verified certificate cannot be replaced later. The returned socket is not flowing: no byte is read.
 */
export function tlsHandshake(raw: net.Socket, opts: HandshakeOptions): Promise<tls.TLSSocket> {
  const common = {
    cert: opts.certificate.certPem,
    key: opts.certificate.keyPem,
    minVersion: opts.minVersion ?? "TLSv1.2",
    secureOptions: constants.SSL_OP_NO_RENEGOTIATION,
  } as const;
  return new Promise<tls.TLSSocket>((resolve, reject) => {
    let settled = false;
    let sock: tls.TLSSocket | undefined;
    const fail = (e: E2aeError) => {
      if (settled) return;
      settled = true;
      clearTimeout(timer);
      sock?.destroy();
      raw.destroy();
      reject(e);
    };
    const done = (s: tls.TLSSocket) => {
      if (settled) return;
      settled = true;
      clearTimeout(timer);
      s.off("error", onError);
      raw.off("close", onClose);
      // a late socket error must never crash the process; the owner sees the 'close' that follows
      s.on("error", () => {});
      resolve(s);
    };
    const timer = setTimeout(
      () =>
        fail(
          new E2aeError("E_E2AE_TIMEOUT", `TLS handshake (${opts.role}) did not complete within ${opts.timeoutMs} ms`),
        ),
      opts.timeoutMs,
    );
    timer.unref?.();
    const onError = (e: Error) =>
      fail(new E2aeError("E_E2AE_TLS", `TLS handshake (${opts.role}) failed: ${e.message}`, { cause: e }));
    const onClose = () =>
      fail(new E2aeError("E_E2AE_TLS", `connection closed during the TLS handshake (${opts.role})`));
    raw.once("close", onClose);
    if (opts.role === "client") {
      const s = tls.connect({
        socket: raw,
        ...common,
        // self-signed peer: identity is checked against the SDP fingerprint afterwards (RFC 8122 §6)
        rejectUnauthorized: false,
        checkServerIdentity: () => undefined,
        servername: "",
      });
      sock = s;
      if (opts.keyLog) s.on("keylog", opts.keyLog);
      s.once("secureConnect", () => done(s));
      s.on("error", onError);
    } else {
      const s = new tls.TLSSocket(raw, {
        isServer: true,
        secureContext: tls.createSecureContext(common),
        // RFC 8122 §6: the client must present its certificate too
        requestCert: true,
        rejectUnauthorized: false,
      });
      sock = s;
      if (opts.keyLog) s.on("keylog", opts.keyLog);
      s.once("secure", () => done(s));
      s.on("error", onError);
    }
  });
}

/** DER of the certificate the TLS peer presented (undefined when none). */
export function peerCertificateDer(s: tls.TLSSocket): Uint8Array | undefined {
  try {
    const x = s.getPeerX509Certificate();
    return x ? new Uint8Array(x.raw) : undefined;
  } catch {
    return undefined;
  }
}

/** Listens on address:port (0 = ephemeral); resolves with the bound port. */
export function listen(server: net.Server, address: string, port: number): Promise<number> {
  return new Promise<number>((resolve, reject) => {
    const onError = (e: Error) =>
      reject(new E2aeError("E_E2AE_CONNECT", `cannot listen on ${address}:${port}: ${e.message}`));
    server.once("error", onError);
    server.listen(port, address, () => {
      server.off("error", onError);
      resolve((server.address() as net.AddressInfo).port);
    });
  });
}

/** Normalises IPv4-mapped IPv6 peer addresses ("::ffff:127.0.0.1" → "127.0.0.1"). */
export function plainAddress(a: string | undefined): string {
  return (a ?? "").replace(/^::ffff:(\d+\.\d+\.\d+\.\d+)$/i, "$1");
}
