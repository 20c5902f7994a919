/**
 * MSRP grammar pieces shared by the encoder and the parser (RFC 4975 §9): ident, method, header and Content-Type
 * syntax, continuation flags, Byte-Range, and the random identifiers of §7.1 / §14.1.
 */
import { randomAlnum } from "./bytes.ts";
import { E2aeError, type E2aeErrorCode } from "./errors.ts";
import type { ByteRange } from "./msrpTypes.ts";

// RFC 4975 §9: ident = ALPHANUM 3*31ident-char; ident-char = ALPHANUM / "." / "-" / "+" / "%" / "="
export const IDENT_RE = /^[A-Za-z0-9][A-Za-z0-9.\-+%=]{3,31}$/;
// RFC 4975 §9: method = mSEND / mREPORT / other-method; other-method = 1*UPALPHA
export const METHOD_RE = /^[A-Z]+$/;
// RFC 4975 §9: hname = ALPHA *token (token chars of RFC 3261)
export const HEADER_RE = /^([A-Za-z][A-Za-z0-9\-.!%*_+`'~]*):[ \t]*(.*?)[ \t]*$/;
// RFC 4975 §9 / RFC 2045 §5.1: Content-Type = type "/" subtype *(";" parameter)
export const CONTENT_TYPE_RE = /^[!#$%&'*+\-.^_`|~0-9A-Za-z]+\/[!#$%&'*+\-.^_`|~0-9A-Za-z]+(\s*;\s*[^;\r\n]+)*$/;
export const FLAGS = new Set([0x24, 0x2b, 0x23]); // "$" "+" "#"
export const CRLF = Buffer.from("\r\n");

export function isMsrpIdent(s: string): boolean {
  return IDENT_RE.test(s);
}

/** A fresh transact-id (RFC 4975 §7.1: unique within the session; 16 alphanumerics ≈ 95 random bits). */
export function newTransactionId(): string {
  return randomAlnum(16);
}

/** A fresh Message-ID (RFC 4975 §7.1.1: unique across the session; 20 alphanumerics ≈ 119 random bits). */
export function newMessageId(): string {
  return randomAlnum(20);
}

/** A session-id for our a=path URI (RFC 4975 §14.1: at least 80 bits of randomness; here ≈ 143 bits). */
export function newSessionId(): string {
  return randomAlnum(24);
}

export function fail(code: E2aeErrorCode, message: string): E2aeError {
  return new E2aeError(code, message);
}

export function formatByteRange(r: ByteRange): string {
  return `${r.start}-${r.end}/${r.total}`;
}

/** RFC 4975 §9: range-start = 1*DIGIT; range-end = 1*DIGIT / "*"; total = 1*DIGIT / "*". */
export function parseByteRange(text: string): ByteRange | E2aeError {
  const m = /^(\d{1,15})-(\d{1,15}|\*)\/(\d{1,15}|\*)$/.exec(text);
  if (!m) return fail("E_MSRP_BYTE_RANGE", `Byte-Range "${text.slice(0, 40)}" is not start-end/total`);
  const start = Number(m[1]);
  const end = m[2] === "*" ? "*" : Number(m[2]);
  const total = m[3] === "*" ? "*" : Number(m[3]);
  // RFC 4975 §7.1.1: byte positions are 1-based; an empty chunk has end = start - 1.
  if (start < 1) return fail("E_MSRP_BYTE_RANGE", "Byte-Range start must be at least 1");
  if (end !== "*" && end < start - 1) return fail("E_MSRP_BYTE_RANGE", "Byte-Range end is before its start");
  if (end !== "*" && total !== "*" && end > total)
    return fail("E_MSRP_BYTE_RANGE", "Byte-Range end is beyond the total");
  return { start, end, total };
}
