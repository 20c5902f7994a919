/**
 * The one peer-certificate check of the stack (RFC 8122 §5.1, §6): the strongest hash among the signalled
 * fingerprints is chosen, the DER certificate the peer presented is hashed with it, and it must match one fingerprint
 * of that set (constant-time). Used by the data channel (DTLS), the e2ae MSRP/BFCP endpoints and the IMS-AGW (TLS);
 * each maps the one verdict to its own error code and audit event.
 */
import {
  type Fingerprint,
  fingerprintToBytes,
  type HashFunc,
  selectFingerprints,
  verifyFingerprint,
} from "../sdp/fingerprint.ts";
import { fingerprintOf } from "./certificate.ts";

/** Why the check said what it said. */
export type PeerCertificateOutcome = "verified" | "no-certificate" | "no-usable-fingerprint" | "mismatch";

export interface PeerCertificateVerdict {
  readonly verified: boolean;
  readonly outcome: PeerCertificateOutcome;
  /** the hash used: the strongest one signalled (RFC 8122 §5.1); absent when none is usable */
  readonly hash?: HashFunc;
  /** the presented certificate's fingerprint with that hash; absent without a certificate or a usable hash */
  readonly presented?: Fingerprint;
  /** the signalled fingerprints of that hash */
  readonly signalled: readonly Fingerprint[];
}

export interface VerifyPeerOptions {
  /** the hash functions this verifier accepts (default: every RFC 8122 hash function); others are ignored */
  hashes?: readonly HashFunc[];
}

export function verifyPeerCertificate(
  der: Uint8Array | undefined,
  signalled: readonly Fingerprint[],
  options: VerifyPeerOptions = {},
): PeerCertificateVerdict {
  const { hashes } = options;
  const usable = hashes ? signalled.filter((f) => hashes.includes(f.hash)) : signalled;
  // RFC 8122 §5.1: the verifier uses the fingerprints of its most preferred (strongest) hash offered by the peer
  const chosen = selectFingerprints(usable);
  const set = chosen?.set ?? [];
  // RFC 8122 §6: the peer MUST present a certificate whose fingerprint was signalled
  if (!der || der.length === 0)
    return { verified: false, outcome: "no-certificate", signalled: set, ...(chosen ? { hash: chosen.hash } : {}) };
  if (!chosen) return { verified: false, outcome: "no-usable-fingerprint", signalled: [] };
  const presented = fingerprintOf(der, chosen.hash);
  // RFC 8122 §5.1: a certificate that matches no such fingerprint MUST NOT establish the connection
  const v = verifyFingerprint(chosen.set, { [chosen.hash]: fingerprintToBytes(presented) });
  return { verified: v.ok, outcome: v.ok ? "verified" : "mismatch", hash: chosen.hash, presented, signalled: set };
}
