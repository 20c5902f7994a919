/** The AGW's RFC 8122 peer-certificate check, a thin wrapper over the shared one (src/security/verify.ts). */
import { type FingerprintAlgorithm, isFingerprintAlgorithm } from "../../security/certificate.ts";
import { checkPeerCertificate } from "../../security/verify.ts";
import type { CertificateFingerprint } from "./iqTypes.ts";

export interface FingerprintVerification {
  ok: boolean;
  /** hash function used (the strongest supported one signalled) */
  algorithm?: FingerprintAlgorithm;
  /** fingerprint of the presented certificate with that hash */
  presented?: CertificateFingerprint;
  reason?: "no-supported-hash" | "mismatch";
}

/**
 * RFC 8122 §5.1: among the signalled fingerprints, use the set of the strongest hash function we support; the
 * certificate must match one fingerprint of that set ("If a certificate does not match any such fingerprint, the
 * endpoint MUST NOT establish the TLS connection"). Comparison is constant-time.
 */
export function verifyPeerCertificate(
  der: Buffer,
  expected: readonly CertificateFingerprint[],
): FingerprintVerification {
  // the AGW signs and verifies with SHA-256 or stronger only (FINGERPRINT_ALGORITHMS); the check is shared
  const supported = expected.filter((f) => isFingerprintAlgorithm(f.algorithm.toLowerCase()));
  const c = checkPeerCertificate(der, supported);
  if (c.reason === "no-usable-fingerprint") return { ok: false, reason: "no-supported-hash" };
  const algorithm = c.hash as FingerprintAlgorithm;
  const presented = { algorithm, value: c.presented ?? "" };
  return c.ok ? { ok: true, algorithm, presented } : { ok: false, algorithm, presented, reason: "mismatch" };
}
