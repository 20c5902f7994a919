/**
 * The one peer-certificate check of the stack (RFC 8122 §5.1, §6): the strongest hash among the signalled
 * fingerprints is chosen, the DER certificate the peer presented is hashed with it, and it must match one fingerprint
 * of that set (constant-time). Used by the data channel (DTLS), the e2ae MSRP/BFCP endpoints and the IMS-AGW (TLS).
 */
import { createHash } from "node:crypto";
import { type Fingerprint, type HashFunc, isHashFunc, selectFingerprints, verifyFingerprint } from "../sdp/index.ts";

const NODE_HASH: Record<HashFunc, string> = {
  "sha-1": "sha1",
  "sha-224": "sha224",
  "sha-256": "sha256",
  "sha-384": "sha384",
  "sha-512": "sha512",
};

// RFC 8122 §5: uppercase hex pairs separated by colons
const hexPairs = (d: Uint8Array): string => [...d].map((b) => b.toString(16).toUpperCase().padStart(2, "0")).join(":");

/** RFC 8122 §5: the fingerprint of a DER certificate. */
export function fingerprintOfDer(der: Uint8Array, hash: HashFunc): string {
  return hexPairs(createHash(NODE_HASH[hash]).update(der).digest());
}

export interface PeerCertificateCheck {
  ok: boolean;
  /** the hash used: the strongest one signalled (RFC 8122 §5.1) */
  hash?: HashFunc;
  /** the presented certificate's fingerprint with that hash */
  presented?: string;
  /** the signalled fingerprints of that hash */
  signalled: string[];
  reason: "verified" | "no-certificate" | "no-usable-fingerprint" | "mismatch";
}

/** Accepts `{ hash, value }` or `{ algorithm, value }` fingerprints; unknown hash names are ignored. */
export function toSdpFingerprints(fps: readonly { hash?: string; algorithm?: string; value: string }[]): Fingerprint[] {
  const out: Fingerprint[] = [];
  for (const f of fps) {
    const h = (f.hash ?? f.algorithm ?? "").toLowerCase();
    if (isHashFunc(h)) out.push({ hash: h, value: f.value.toUpperCase() });
  }
  return out;
}

export function checkPeerCertificate(
  der: Uint8Array | undefined,
  signalled: readonly { hash?: string; algorithm?: string; value: string }[],
): PeerCertificateCheck {
  const chosen = selectFingerprints(toSdpFingerprints(signalled));
  const set = chosen?.set.map((f) => f.value) ?? [];
  // RFC 8122 §6: the peer MUST present a certificate whose fingerprint was signalled
  if (!der || der.length === 0)
    return { ok: false, signalled: set, ...(chosen ? { hash: chosen.hash } : {}), reason: "no-certificate" };
  if (!chosen) return { ok: false, signalled: [], reason: "no-usable-fingerprint" };
  const digest = createHash(NODE_HASH[chosen.hash]).update(der).digest();
  const v = verifyFingerprint(chosen.set, { [chosen.hash]: new Uint8Array(digest) });
  const presented = hexPairs(digest);
  return { ok: v.ok, hash: chosen.hash, presented, signalled: set, reason: v.ok ? "verified" : "mismatch" };
}
