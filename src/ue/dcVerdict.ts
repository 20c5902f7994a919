/**
 * The data channel's reading of the one peer-certificate verdict (src/security/verify.ts): its error codes
 * (E_DTLS_FAILED without a certificate, E_FP_MISMATCH otherwise) and the `verdict` event it emits.
 */
import type { PeerCertificateVerdict } from "../security/verify.ts";
import type { SecurityVerdict } from "./dcTransport.ts";

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
