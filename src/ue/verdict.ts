/** Peer authentication on the DTLS certificate the peer presented (RFC 8122 §5.1, §6): the verdict of one association. */
import { X509Certificate } from "node:crypto";
import { isHashFunc } from "../sdp/index.ts";
import { checkPeerCertificate, fingerprintOfDer } from "../security/verify.ts";
import { UeError } from "./errors.ts";

/** Outcome of peer authentication, emitted once per association. */
export interface SecurityVerdict {
  verified: boolean;
  /** RFC 8122 §5.1: the hash the comparison used (strongest one the peer signalled) */
  hash?: string;
  /** the fingerprint computed from the certificate the peer presented in the handshake */
  presented?: string;
  /** the fingerprints signalled in the peer's SDP for that hash */
  signalled: string[];
  code?: string;
  reason?: string;
}

/** RFC 8122 §5: fingerprint of a DER certificate as uppercase colon-separated hex. */
export function derFingerprint(der: Uint8Array, hash: string): string {
  const h = hash.toLowerCase();
  if (!isHashFunc(h)) throw new UeError("E_DTLS_FAILED", `unsupported fingerprint hash ${hash}`);
  return fingerprintOfDer(der, h);
}

/**
 * RFC 8122 §5.1: take the peer's most preferred (strongest) hash among those it signalled; the certificate must match
 * one fingerprint of that set, else the connection MUST NOT be established (src/security/verify.ts).
 */
export function verifyPeerCertificate(
  der: Uint8Array | undefined,
  signalled: { hash: string; value: string }[],
): SecurityVerdict {
  const c = checkPeerCertificate(der, signalled);
  if (c.reason === "no-certificate")
    return { verified: false, signalled: [], code: "E_DTLS_FAILED", reason: "peer presented no certificate" };
  if (c.reason === "no-usable-fingerprint")
    return { verified: false, signalled: [], code: "E_FP_MISMATCH", reason: "no usable signalled fingerprint" };
  const base = {
    signalled: c.signalled,
    ...(c.hash ? { hash: c.hash } : {}),
    ...(c.presented ? { presented: c.presented } : {}),
  };
  return c.ok
    ? { verified: true, ...base }
    : { verified: false, ...base, code: "E_FP_MISMATCH", reason: "peer certificate matches no signalled fingerprint" };
}

/** Parses the DER of a PEM certificate (for fingerprints of injected identities). */
export function pemToDer(certPem: string): Uint8Array {
  return new X509Certificate(certPem).raw;
}
