/**
 * Digest response computation (RFC 7616 §3.4.1-§3.4.3, RFC 3261 §22.4, RFC 8760 §2 for the SIP algorithms) for MD5,
 * SHA-256 and SHA-512-256 with their -sess variants, qop=auth with nc/cnonce, the RFC 2069 / RFC 2617 §3.2.2.1 form
 * without qop, and AKAv1-MD5 (RFC 3310 §3.3: the password is RES, as bytes). Comparison is constant-time.
 */
import { createHash, timingSafeEqual } from "node:crypto";
import { AuthError } from "./errors.ts";

export type DigestHash = "md5" | "sha256" | "sha512-256";

export interface DigestAlgorithm {
  /** the token as written in `algorithm=` */
  name: string;
  hash: DigestHash;
  /** RFC 7616 §3.4.2: the -sess variant */
  sess: boolean;
  /** RFC 3310 §3.1: AKAv1-MD5 (Digest-AKA, the password is RES) */
  aka: boolean;
}

const ALGORITHMS: Record<string, DigestAlgorithm> = {
  // RFC 7616 §6.1 registry; RFC 8760 §2.1 makes SHA-256 / SHA-512-256 usable in SIP
  md5: { name: "MD5", hash: "md5", sess: false, aka: false },
  "md5-sess": { name: "MD5-sess", hash: "md5", sess: true, aka: false },
  "sha-256": { name: "SHA-256", hash: "sha256", sess: false, aka: false },
  "sha-256-sess": { name: "SHA-256-sess", hash: "sha256", sess: true, aka: false },
  "sha-512-256": { name: "SHA-512-256", hash: "sha512-256", sess: false, aka: false },
  "sha-512-256-sess": { name: "SHA-512-256-sess", hash: "sha512-256", sess: true, aka: false },
  // RFC 3310 §3.1: "AKAv1-MD5": Digest with MD5 whose password is the AKA RES
  "akav1-md5": { name: "AKAv1-MD5", hash: "md5", sess: false, aka: true },
};

/** Looks an algorithm token up (case-insensitive, RFC 7616 §3.3); undefined is MD5 (RFC 7616 §3.3 default). */
export function digestAlgorithm(token: string | undefined): DigestAlgorithm | undefined {
  return ALGORITHMS[(token ?? "MD5").toLowerCase()];
}

function h(hash: DigestHash, ...parts: (string | Uint8Array)[]): string {
  const d = createHash(hash);
  parts.forEach((p, i) => {
    if (i > 0) d.update(":");
    d.update(typeof p === "string" ? Buffer.from(p, "utf8") : p);
  });
  return d.digest("hex");
}

/**
 * RFC 7616 §3.4.2: A1 = username ":" realm ":" passwd; HA1 = H(A1). The password is a string (UTF-8) or bytes
 * (RFC 3310 §3.3: RES for AKAv1-MD5).
 */
export function digestHa1(
  alg: DigestAlgorithm,
  username: string,
  realm: string,
  password: string | Uint8Array,
): string {
  return h(alg.hash, username, realm, password);
}

export interface DigestInput {
  algorithm: DigestAlgorithm;
  /** H(username:realm:password); the store may hold this instead of the password */
  ha1: string;
  /** the request method (RFC 3261 §22.4: A2 = Method ":" digest-uri) */
  method: string;
  uri: string;
  nonce: string;
  /** "auth" or absent (RFC 2617 §3.2.2.1 backward compatibility; auth-int is not supported) */
  qop?: string | undefined;
  nc?: string | undefined;
  cnonce?: string | undefined;
}

function sessHa1(i: DigestInput): string {
  // RFC 7616 §3.4.2: for -sess, A1 = H(username:realm:passwd) ":" nonce ":" cnonce
  if (!i.algorithm.sess) return i.ha1;
  if (i.cnonce === undefined) throw new AuthError("E_AUTH_ALGORITHM", `${i.algorithm.name} requires cnonce`);
  return h(i.algorithm.hash, i.ha1, i.nonce, i.cnonce);
}

function kd(i: DigestInput, ha2: string): string {
  const ha1 = sessHa1(i);
  if (i.qop === undefined) {
    // RFC 2617 §3.2.2.1 (RFC 2069 compatibility): response = KD(HA1, nonce ":" HA2) when the client sends no qop
    return h(i.algorithm.hash, ha1, i.nonce, ha2);
  }
  if (i.qop !== "auth") throw new AuthError("E_AUTH_ALGORITHM", `qop "${i.qop}" is not supported (only auth)`);
  if (i.nc === undefined || i.cnonce === undefined)
    throw new AuthError("E_AUTH_ALGORITHM", "qop=auth needs nc and cnonce");
  // RFC 7616 §3.4.1: response = KD(H(A1), nonce ":" nc ":" cnonce ":" qop ":" H(A2))
  return h(i.algorithm.hash, ha1, i.nonce, i.nc, i.cnonce, i.qop, ha2);
}

/** RFC 7616 §3.4.1 / §3.4.3: the request-digest (A2 = Method ":" request-uri). */
export function digestResponse(i: DigestInput): string {
  return kd(i, h(i.algorithm.hash, i.method, i.uri));
}

/** RFC 7616 §3.5: rspauth of Authentication-Info (A2 = ":" request-uri; the method is empty). */
export function digestRspauth(i: DigestInput): string {
  return kd(i, h(i.algorithm.hash, "", i.uri));
}

/** Constant-time equality of two hexadecimal digests (case-insensitive); false on a length mismatch. */
export function digestEquals(a: string, b: string): boolean {
  const x = Buffer.from(a.toLowerCase(), "utf8");
  const y = Buffer.from(b.toLowerCase(), "utf8");
  if (x.length !== y.length) {
    // compare against itself so the time does not depend on where the strings differ
    timingSafeEqual(x, x);
    return false;
  }
  return timingSafeEqual(x, y);
}

/** RFC 7616 §3.4: the nonce-count as 8 lower-case hexadecimal digits. */
export function formatNc(n: number): string {
  return n.toString(16).padStart(8, "0");
}
