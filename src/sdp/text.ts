/** Small lexical helpers shared by the codecs. Pure; no Node APIs. */

// RFC 8866 §9: token = 1*(token-char); token-char = %x21 / %x23-27 / %x2A-2B / %x2D-2E / %x30-39 / %x41-5A / %x5E-7E
const TOKEN_RE = /^[!#-'*+\-.0-9A-Z^-~]+$/;

export function isToken(s: string): boolean {
  return TOKEN_RE.test(s);
}

/** 1*DIGIT */
export function isDigits(s: string): boolean {
  return /^[0-9]+$/.test(s);
}

/**
 * Parses 1*DIGIT into a number when it is a safe integer within [min, max]; undefined otherwise.
 * Digit strings are kept as strings by callers where exactness matters (ids beyond 2^53).
 */
export function parseUint(s: string, max = Number.MAX_SAFE_INTEGER, min = 0): number | undefined {
  if (!isDigits(s) || s.length > 16) return undefined;
  const n = Number(s);
  if (!Number.isSafeInteger(n) || n < min || n > max) return undefined;
  return n;
}

/** RFC 4566/8866 `integer = POS-DIGIT *DIGIT` plus "0": no leading zeros. */
export function isCanonicalUint(s: string): boolean {
  return /^(0|[1-9][0-9]*)$/.test(s);
}

/** Renders a finite number as a plain decimal (never exponent notation) that parses back to the same number. */
export function toPlainDecimal(n: number): string {
  const s = String(n);
  const m = /^(-?)(\d+)(?:\.(\d+))?e([+-]\d+)$/.exec(s);
  if (!m) return s;
  const sign = m[1] ?? "";
  const intPart = m[2] ?? "0";
  const frac = m[3] ?? "";
  const exp = Number(m[4]);
  const digits = intPart + frac;
  const point = intPart.length + exp;
  if (point <= 0) return `${sign}0.${"0".repeat(-point)}${digits}`;
  if (point >= digits.length) return sign + digits + "0".repeat(point - digits.length);
  return `${sign}${digits.slice(0, point)}.${digits.slice(point)}`;
}

/** C0 controls (except TAB) and DEL: not SDP text (RFC 8866 §5). */
function isControlCode(c: number): boolean {
  return (c < 0x20 && c !== 0x09) || c === 0x7f;
}

/** True when `s` holds a control character other than TAB (CR and LF count: callers pass single lines). */
export function hasControlChar(s: string): boolean {
  for (let i = 0; i < s.length; i++) if (isControlCode(s.charCodeAt(i))) return true;
  return false;
}

/** Visible rendering of a value inside a finding message (bounded; JSON escapes control characters). */
export function show(s: string, max = 80): string {
  return JSON.stringify(s.length > max ? `${s.slice(0, max)}…` : s);
}
