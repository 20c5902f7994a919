/** `a=fingerprint` codec and selection/verification helpers (RFC 8122). */
import { type Parsed, type Problem, problem, result } from "./findings.ts";
import { show } from "./text.ts";

export type HashFunc = "sha-1" | "sha-224" | "sha-256" | "sha-384" | "sha-512";

// RFC 8122 §5: the fingerprint byte count is fixed by the hash function.
export const HASH_BYTES: Readonly<Record<HashFunc, number>> = {
  "sha-1": 20,
  "sha-224": 28,
  "sha-256": 32,
  "sha-384": 48,
  "sha-512": 64,
};

/** Weakest first. RFC 8122 §5.1: the verifier uses its most preferred (strongest) hash offered by the peer. */
export const HASH_STRENGTH: readonly HashFunc[] = ["sha-1", "sha-224", "sha-256", "sha-384", "sha-512"];

export interface Fingerprint {
  /** Canonical lower-case hash name. */
  hash: HashFunc;
  /** Upper-case hex pairs separated by colons, e.g. "4A:AD:…". */
  value: string;
}

export function isHashFunc(s: string): s is HashFunc {
  return Object.hasOwn(HASH_BYTES, s);
}

/**
 * Parses the value of `a=fingerprint:` (without the attribute name).
 * - RFC 8122 §5: hash-func is an ABNF literal, so it is case-insensitive; returned lower-case.
 * - md2/md5 → E_FP_WEAK_HASH (no value); unknown token → W_FP_UNKNOWN_HASH (no value: the line is ignored).
 * - lower-case hex → W_FP_LOWERCASE, accepted and normalised to upper-case.
 * - sha-1 → W_FP_SHA1 (accepted; RFC 8122 §5 prefers SHA-256, TS 26.114 Annex A.17 uses SHA-1).
 */
export function parseFingerprint(text: string): Parsed<Fingerprint> {
  // RFC 8122 §5: fingerprint-attribute = "fingerprint" ":" hash-func SP fingerprint
  const m = /^([!#-'*+\-.0-9A-Z^-~]+) ([0-9A-Za-z:]+)$/.exec(text);
  if (!m)
    return result<Fingerprint>(undefined, [
      problem("E_FP_SYNTAX", `fingerprint ${show(text)} is not "hash-func SP hex"`),
    ]);
  const token = (m[1] ?? "").toLowerCase();
  const hex = m[2] ?? "";
  // RFC 8122 §5: implementations MUST NOT use MD2 and MD5 to calculate or verify fingerprints.
  if (token === "md5" || token === "md2") {
    return result<Fingerprint>(undefined, [problem("E_FP_WEAK_HASH", `fingerprint hash ${token} MUST NOT be used`)]);
  }
  if (!isHashFunc(token)) {
    // RFC 8122 §5: hash-func =/ token; an unknown hash function cannot be verified, so the line is ignored.
    return result<Fingerprint>(undefined, [
      problem("W_FP_UNKNOWN_HASH", `unknown fingerprint hash ${show(token)} ignored`),
    ]);
  }
  // RFC 8122 §5: fingerprint = 2UHEX *(":" 2UHEX); no empty groups, no odd digits, no trailing colon.
  if (!/^[0-9A-Fa-f]{2}(:[0-9A-Fa-f]{2})*$/.test(hex)) {
    return result<Fingerprint>(undefined, [
      problem("E_FP_SYNTAX", `fingerprint ${show(hex, 40)} is not colon-separated hex pairs`),
    ]);
  }
  const problems: Problem[] = [];
  // RFC 8122 §5: UHEX = DIGIT / %x41-46, upper case only; lower case is accepted leniently but reported.
  if (/[a-f]/.test(hex))
    problems.push(problem("W_FP_LOWERCASE", "fingerprint uses lower-case hex; normalised to upper case"));
  // RFC 8122 §5: "the defined hash functions are 'SHA-1' …, with 'SHA-256' preferred"; SHA-1 is accepted but reported.
  if (token === "sha-1")
    problems.push(problem("W_FP_SHA1", "SHA-1 fingerprint: a defined hash function, but SHA-256 is preferred"));
  const value = hex.toUpperCase();
  const bytes = (value.length + 1) / 3;
  // RFC 8122 §5: the byte count is fixed by the hash (sha-1 20, sha-224 28, sha-256 32, sha-384 48, sha-512 64).
  if (bytes !== HASH_BYTES[token]) {
    problems.push(problem("E_FP_HASH_LEN", `${token} fingerprint has ${bytes} bytes, expected ${HASH_BYTES[token]}`));
  }
  return result({ hash: token, value }, problems);
}

/** Formats the attribute value: `sha-256 AB:CD:…` (RFC 8122 §5 canonical form: upper-case hex). */
export function formatFingerprint(fp: Fingerprint): string {
  return `${fp.hash} ${fp.value.toUpperCase()}`;
}

export function fingerprintFromBytes(hash: HashFunc, digest: Uint8Array): Fingerprint {
  const value = Array.from(digest, (b) => b.toString(16).padStart(2, "0").toUpperCase()).join(":");
  return { hash, value };
}

export function fingerprintToBytes(fp: Fingerprint): Uint8Array {
  const parts = fp.value.split(":");
  const out = new Uint8Array(parts.length);
  parts.forEach((p, i) => {
    out[i] = Number.parseInt(p, 16);
  });
  return out;
}

export function sameFingerprint(a: Fingerprint, b: Fingerprint): boolean {
  return a.hash === b.hash && a.value.toUpperCase() === b.value.toUpperCase();
}

/**
 * RFC 8122 §5.1: the verifier picks the strongest hash function offered by the peer and uses the set of
 * fingerprints of that hash. Returns undefined when no usable fingerprint exists.
 */
export function selectFingerprints(fps: readonly Fingerprint[]): { hash: HashFunc; set: Fingerprint[] } | undefined {
  for (let i = HASH_STRENGTH.length - 1; i >= 0; i--) {
    const hash = HASH_STRENGTH[i];
    if (hash === undefined) continue;
    const set = fps.filter((f) => f.hash === hash);
    if (set.length > 0) return { hash, set };
  }
  return undefined;
}

export interface FingerprintVerdict {
  ok: boolean;
  hash?: HashFunc;
  reason: string;
}

function constantTimeEqual(a: Uint8Array, b: Uint8Array): boolean {
  if (a.length !== b.length) return false;
  let diff = 0;
  for (let i = 0; i < a.length; i++) diff |= (a[i] ?? 0) ^ (b[i] ?? 0);
  return diff === 0;
}

/**
 * Checks a peer certificate against the signalled fingerprints (RFC 8122 §5.1/§6.2): the strongest signalled hash
 * is chosen, the certificate digest for that hash must be supplied by the caller (`digests`, DER hash), and it must
 * match one fingerprint of that set. Fail closed: no usable fingerprint, or no digest for the chosen hash → not ok.
 */
export function verifyFingerprint(
  signalled: readonly Fingerprint[],
  digests: Partial<Record<HashFunc, Uint8Array>>,
): FingerprintVerdict {
  const chosen = selectFingerprints(signalled);
  if (!chosen) return { ok: false, reason: "no usable fingerprint was signalled" };
  const digest = digests[chosen.hash];
  if (!digest) return { ok: false, hash: chosen.hash, reason: `no ${chosen.hash} digest of the certificate supplied` };
  // RFC 8122 §5.1: if a certificate does not match any such fingerprint, the endpoint MUST NOT establish the connection.
  const match = chosen.set.some((fp) => constantTimeEqual(fingerprintToBytes(fp), digest));
  return match
    ? { ok: true, hash: chosen.hash, reason: `certificate matches the signalled ${chosen.hash} fingerprint` }
    : { ok: false, hash: chosen.hash, reason: `certificate matches no signalled ${chosen.hash} fingerprint` };
}

/** True when at least one fingerprint uses SHA-256 or a stronger hash (RFC 8122 §5.1). */
export function hasSha256OrStronger(fps: readonly Fingerprint[]): boolean {
  return fps.some((f) => HASH_STRENGTH.indexOf(f.hash) >= HASH_STRENGTH.indexOf("sha-256"));
}
