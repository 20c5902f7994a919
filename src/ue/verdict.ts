/**
 * The data channel's reading of the one peer-certificate verdict (src/security/verify.ts, RFC 8122 §5.1, §6): its
 * error codes (E_DTLS_FAILED without a certificate, E_FP_MISMATCH otherwise) and the `verdict` event it emits once per
 * association.
 */
import type { PeerCertificateVerdict } from "../security/verify.ts";

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

export function dcSecurityVerdict(v: PeerCertificateVerdict): SecurityVerdict {
  // RFC 8122 §6: the peer MUST present a certificate whose fingerprint was signalled
  if (v.outcome === "no-certificate")
    return { verified: false, signalled: [], code: "E_DTLS_FAILED", reason: "peer presented no certificate" };
  if (v.outcome === "no-usable-fingerprint")
    return { verified: false, signalled: [], code: "E_FP_MISMATCH", reason: "no usable signalled fingerprint" };
  const base = {
    signalled: v.signalled.map((f) => f.value),
    ...(v.hash ? { hash: v.hash } : {}),
    ...(v.presented ? { presented: v.presented.value } : {}),
  };
  // RFC 8122 §5.1: no matching fingerprint ⇒ the connection MUST NOT be established
  return v.verified
    ? { verified: true, ...base }
    : { verified: false, ...base, code: "E_FP_MISMATCH", reason: "peer certificate matches no signalled fingerprint" };
}
