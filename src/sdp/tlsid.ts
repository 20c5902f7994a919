/** `a=tls-id` codec and generator (RFC 8842 §4). */
import { type Parsed, problem, result } from "./findings.ts";
import { show } from "./text.ts";

// RFC 8842 §4: tls-id-value = 20*255(tls-id-char); tls-id-char = ALPHA / DIGIT / "+" / "/" / "-" / "_"
const TLS_ID_RE = /^[A-Za-z0-9+/_-]{20,255}$/;

export const TLS_ID_MIN_LENGTH = 20;
export const TLS_ID_MAX_LENGTH = 255;

export function isTlsId(s: string): boolean {
  return TLS_ID_RE.test(s);
}

/**
 * Parses the value of `a=tls-id:`; the value is kept as the exact string (never converted to a number).
 * TS 26.114 Annex A.17 (Tables A.17.1/A.17.2) writes `a=tls-id: abc3de65cddef001be82`, a space before the value that
 * the RFC 8842 §4 grammar (tls-id-value = 20*255(tls-id-char), no SP) does not allow: leading spaces are accepted
 * with W_TLSID_LEADING_SPACE and the value without them is the one returned (and used for RFC 8842 §5 decisions).
 */
export function parseTlsId(text: string): Parsed<string> {
  const lead = /^ +/.exec(text)?.[0].length ?? 0;
  if (lead > 0 && lead < text.length && TLS_ID_RE.test(text.slice(lead))) {
    const value = text.slice(lead);
    return result(value, [
      problem(
        "W_TLSID_LEADING_SPACE",
        `tls-id ${show(text, 40)} has ${lead} space(s) before the value; normalised to ${show(value, 40)}`,
      ),
    ]);
  }
  if (!TLS_ID_RE.test(text)) {
    const why =
      text.length < TLS_ID_MIN_LENGTH || text.length > TLS_ID_MAX_LENGTH
        ? `has ${text.length} characters (20-255 required)`
        : "has characters outside [A-Za-z0-9+/_-]";
    return result<string>(undefined, [problem("E_TLSID_SYNTAX", `tls-id ${show(text, 40)} ${why}`)]);
  }
  return result(text, []);
}

export function formatTlsId(id: string): string {
  return id;
}

// 64 symbols so that each random byte's low 6 bits map uniformly (no modulo bias); all are tls-id-chars.
const ALPHABET = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_";

/**
 * A fresh tls-id. RFC 8842 §4: the value MUST be generated with at least 120 bits of randomness; each character
 * carries 6 bits, so the default 32 characters carry 192 bits (minimum accepted length 20 = 120 bits).
 * Randomness comes from `globalThis.crypto.getRandomValues` (browser and Node).
 */
export function generateTlsId(length = 32): string {
  const n = Math.max(TLS_ID_MIN_LENGTH, Math.min(TLS_ID_MAX_LENGTH, Math.floor(length)));
  const bytes = new Uint8Array(n);
  globalThis.crypto.getRandomValues(bytes);
  let out = "";
  for (const b of bytes) out += ALPHABET[b & 63];
  return out;
}
