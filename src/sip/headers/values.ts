/**
 * Single-value and token-list headers (RFC 3261 §20): CSeq, Call-ID, Max-Forwards, Content-Length, delta-seconds
 * (Expires, Min-Expires), Content-Type, and the token lists Require / Proxy-Require / Supported / Unsupported / Allow.
 * Pure, no I/O.
 */
import { fail, type SipErrorCode } from "../errors.ts";
import {
  formatParams,
  isToken,
  isWord,
  parseDigits,
  parseParams,
  type SipParam,
  splitList,
  splitTopLevel,
} from "../grammar.ts";

export interface CSeq {
  seq: number;
  method: string;
}

/** RFC 3261 §20.16: CSeq = 1*DIGIT LWS Method; the number is a 32-bit unsigned integer. */
export function parseCSeq(value: string): CSeq {
  const m = /^[ \t]*([0-9]+)[ \t]+([^ \t]+)[ \t]*$/.exec(value);
  if (!m) fail("E_SIP_CSEQ", "bad CSeq");
  const seq = parseDigits(m[1] ?? "", 0xffffffff);
  if (seq === undefined) fail("E_SIP_CSEQ", "CSeq number is not a 32-bit unsigned integer");
  const method = m[2] ?? "";
  if (!isToken(method)) fail("E_SIP_CSEQ", "bad CSeq method");
  return { seq, method };
}

export function formatCSeq(c: CSeq): string {
  return `${c.seq} ${c.method}`;
}

/** RFC 3261 §25.1: callid = word [ "@" word ] */
export function parseCallId(value: string): string {
  const v = value.trim();
  const at = v.indexOf("@");
  const ok = at < 0 ? isWord(v) : isWord(v.slice(0, at)) && isWord(v.slice(at + 1));
  if (!ok) fail("E_SIP_CALL_ID", "bad Call-ID");
  return v;
}

/** RFC 3261 §20.22: Max-Forwards = 1*DIGIT (0..255 here, as in §8.1.1.6 and common practice). */
export function parseMaxForwards(value: string): number {
  const n = parseDigits(value.trim(), 255);
  if (n === undefined) fail("E_SIP_MAX_FORWARDS", "Max-Forwards is not an integer in 0..255");
  return n;
}

/** RFC 3261 §20.14: Content-Length = 1*DIGIT */
export function parseContentLength(value: string): number {
  const n = parseDigits(value.trim(), 0x7fffffff);
  if (n === undefined) fail("E_SIP_CONTENT_LENGTH", "Content-Length is not a non-negative integer");
  return n;
}

/** RFC 3261 §20.19 / §20.23: delta-seconds = 1*DIGIT (32-bit). */
export function parseDeltaSeconds(value: string, code: SipErrorCode = "E_SIP_EXPIRES"): number {
  const n = parseDigits(value.trim(), 0xffffffff);
  if (n === undefined) fail(code, "bad delta-seconds");
  return n;
}

// ---------------------------------------------------------------------------------------------------------------------
// Content-Type

export interface ContentType {
  type: string;
  subtype: string;
  params: SipParam[];
}

/** RFC 3261 §20.15: media-type = m-type SLASH m-subtype *(SEMI m-parameter) */
export function parseContentType(value: string): ContentType {
  const v = value.trim();
  const semi = splitTopLevel(v, ";", "E_SIP_CONTENT_TYPE", "Content-Type");
  if (semi.some((p) => p === "")) fail("E_SIP_CONTENT_TYPE", "empty m-parameter");
  const head = semi[0] ?? "";
  const m = /^([^\s/]+)[ \t]*\/[ \t]*([^\s/]+)$/.exec(head);
  if (!m || !isToken(m[1] ?? "") || !isToken(m[2] ?? "")) fail("E_SIP_CONTENT_TYPE", "bad media-type");
  const params = parseParams(semi.slice(1).join(";"), "E_SIP_CONTENT_TYPE", "Content-Type");
  return { type: (m[1] ?? "").toLowerCase(), subtype: (m[2] ?? "").toLowerCase(), params };
}

export function formatContentType(c: ContentType): string {
  return `${c.type}/${c.subtype}${formatParams(c.params)}`;
}

// ---------------------------------------------------------------------------------------------------------------------
// token lists: Require, Proxy-Require, Supported, Unsupported, Allow

/** RFC 3261 §20.32 / §20.37 / §20.5: comma lists of tokens (Supported may be empty). */
export function parseTokenList(value: string, allowEmpty = false): string[] {
  if (value.trim() === "") {
    if (allowEmpty) return [];
    fail("E_SIP_TOKEN_LIST", "empty token list");
  }
  const list = splitList(value, "E_SIP_TOKEN_LIST", "token list");
  for (const t of list) if (!isToken(t)) fail("E_SIP_TOKEN_LIST", `bad token "${t}"`);
  return list;
}
