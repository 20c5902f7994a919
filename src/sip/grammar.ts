/**
 * Lexical helpers shared by the SIP codecs (RFC 3261 §25.1). Pure, no I/O, no Node-only imports (runs in the browser).
 */
import { fail, type SipErrorCode } from "./errors.ts";

/** RFC 3261 §25.1: token = 1*(alphanum / "-" / "." / "!" / "%" / "*" / "_" / "+" / "`" / "'" / "~") */
const TOKEN_RE = /^[A-Za-z0-9\-.!%*_+`'~]+$/;
/** RFC 3261 §25.1: word = 1*(alphanum / "-" / "." / "!" / "%" / "*" / "_" / "+" / "`" / "'" / "~" / "(" / ")" / "<" / ">" / ":" / "\" / DQUOTE / "/" / "[" / "]" / "?" / "{" / "}") */
const WORD_RE = /^[A-Za-z0-9\-.!%*_+`'~()<>:\\"/[\]?{}]+$/;
const DIGITS_RE = /^[0-9]+$/;

export function isToken(s: string): boolean {
  return TOKEN_RE.test(s);
}

export function isWord(s: string): boolean {
  return WORD_RE.test(s);
}

function isDigits(s: string): boolean {
  return DIGITS_RE.test(s);
}

/** RFC 3261 §25.1: LWS is SP / HTAB (folding is already undone by the parser). */
export function isWs(ch: string | undefined): boolean {
  return ch === " " || ch === "\t";
}

/** Parses 1*DIGIT into a number no larger than `max`; undefined when not digits or too large. */
export function parseDigits(s: string, max: number): number | undefined {
  if (!isDigits(s) || s.length > 16) return undefined;
  const n = Number(s);
  return n <= max ? n : undefined;
}

/**
 * Splits `s` at `sep` where the separator is at top level: not inside a quoted-string (with quoted-pair escapes) nor
 * inside `<...>` (RFC 3261 §7.3.1: comma-separated values; commas inside quotes or angle brackets do not split).
 * Segments are returned trimmed of SP/HTAB. Throws `code` on an unterminated quote or angle bracket.
 */
export function splitTopLevel(s: string, sep: string, code: SipErrorCode, what: string): string[] {
  const out: string[] = [];
  let start = 0;
  let inQuote = false;
  let angle = false;
  for (let i = 0; i < s.length; i++) {
    const ch = s[i];
    if (inQuote) {
      if (ch === "\\") i++;
      else if (ch === '"') inQuote = false;
    } else if (angle) {
      if (ch === ">") angle = false;
    } else if (ch === '"') inQuote = true;
    else if (ch === "<") angle = true;
    else if (ch === sep) {
      out.push(s.slice(start, i).trim());
      start = i + 1;
    }
  }
  if (inQuote) fail(code, `${what}: unterminated quoted-string`);
  if (angle) fail(code, `${what}: unterminated <`);
  out.push(s.slice(start).trim());
  return out;
}

/** Splits a comma list and rejects empty elements (RFC 3261 §7.3.1). */
export function splitList(value: string, code: SipErrorCode, what: string): string[] {
  const parts = splitTopLevel(value, ",", code, what);
  for (const p of parts) if (p === "") fail(code, `${what}: empty list element`);
  return parts;
}

/** RFC 3261 §25.1: quoted-string = SWS DQUOTE *(qdtext / quoted-pair) DQUOTE. True when `s` is exactly one. */
export function isQuotedString(s: string): boolean {
  if (s.length < 2 || s[0] !== '"' || s[s.length - 1] !== '"') return false;
  for (let i = 1; i < s.length - 1; i++) {
    const ch = s[i];
    if (ch === "\\") {
      // RFC 3261 §25.1: quoted-pair = "\" (%x00-09 / %x0B-0C / %x0E-7F)
      const next = s[i + 1];
      if (i + 1 >= s.length - 1 || next === "\r" || next === "\n") return false;
      i++;
    } else if (ch === '"' || ch === "\r" || ch === "\n") return false;
  }
  return true;
}

/** Removes the quotes and quoted-pair escapes of a quoted-string (returns `s` unchanged when it is not quoted). */
export function unquote(s: string): string {
  if (!isQuotedString(s)) return s;
  let out = "";
  for (let i = 1; i < s.length - 1; i++) {
    const ch = s[i] ?? "";
    if (ch === "\\") {
      i++;
      out += s[i] ?? "";
    } else out += ch;
  }
  return out;
}

/** Builds a quoted-string, escaping `"` and `\` as quoted-pairs (RFC 3261 §25.1). CR/LF are dropped. */
export function quote(s: string): string {
  return `"${s.replace(/[\r\n]/g, "").replace(/(["\\])/g, "\\$1")}"`;
}

/** A `;name[=value]` parameter. `value` is null when there is no `=`; quoted values keep their quotes. */
export interface SipParam {
  name: string;
  value: string | null;
}

/** RFC 3261 §25.1: gen-value = token / host / quoted-string. */
const GEN_VALUE_RE = /^[A-Za-z0-9\-.!%*_+`'~:[\]]+$/;

/**
 * Parses `;a=b;c;d="x"` (the leading `;` is optional, SWS around `;` and `=` allowed: RFC 3261 §25.1 SEMI, EQUAL).
 */
export function parseParams(s: string, code: SipErrorCode, what: string): SipParam[] {
  const t = s.trim();
  if (t === "") return [];
  const body = t.startsWith(";") ? t.slice(1) : t;
  const out: SipParam[] = [];
  for (const piece of splitTopLevel(body, ";", code, what)) {
    if (piece === "") fail(code, `${what}: empty parameter`);
    const eq = piece.indexOf("=");
    const name = (eq < 0 ? piece : piece.slice(0, eq)).trim();
    if (!isToken(name)) fail(code, `${what}: bad parameter name "${name}"`);
    if (eq < 0) {
      out.push({ name, value: null });
      continue;
    }
    const value = piece.slice(eq + 1).trim();
    if (value.startsWith('"')) {
      if (!isQuotedString(value)) fail(code, `${what}: bad quoted parameter value for ${name}`);
    } else if (!GEN_VALUE_RE.test(value)) fail(code, `${what}: bad value for parameter ${name}`);
    out.push({ name, value });
  }
  return out;
}

export function formatParams(params: readonly SipParam[]): string {
  let s = "";
  for (const p of params) s += p.value === null ? `;${p.name}` : `;${p.name}=${p.value}`;
  return s;
}

/** Case-insensitive lookup: undefined when absent, null when present without value, the value otherwise (quoted values are unquoted). */
export function getParam(params: readonly SipParam[], name: string): string | null | undefined {
  const lower = name.toLowerCase();
  for (const p of params) if (p.name.toLowerCase() === lower) return p.value === null ? null : unquote(p.value);
  return undefined;
}

export function hasParam(params: readonly SipParam[], name: string): boolean {
  return getParam(params, name) !== undefined;
}

/** Returns a copy with `name` set (replacing the first occurrence in place, appending otherwise). */
export function setParam(params: readonly SipParam[], name: string, value: string | null): SipParam[] {
  const lower = name.toLowerCase();
  const out = params.map((p) => ({ ...p }));
  const existing = out.find((p) => p.name.toLowerCase() === lower);
  if (existing) existing.value = value;
  else out.push({ name, value });
  return out;
}

export function removeParam(params: readonly SipParam[], name: string): SipParam[] {
  const lower = name.toLowerCase();
  return params.filter((p) => p.name.toLowerCase() !== lower);
}

/** Random lower-case hex of `bytes` bytes from `globalThis.crypto` (works in Node and in the browser). */
/** CSPRNG bytes drawn in blocks (one getRandomValues per 4 KiB instead of one per branch, tag or Call-ID). */
const POOL = new Uint8Array(4096);
let poolAt = POOL.length;
const HEX = Array.from({ length: 256 }, (_, i) => i.toString(16).padStart(2, "0"));

export function randomHex(bytes: number): string {
  if (bytes > POOL.length) {
    const b = new Uint8Array(bytes);
    globalThis.crypto.getRandomValues(b);
    return Array.from(b, (x) => HEX[x]).join("");
  }
  if (poolAt + bytes > POOL.length) {
    globalThis.crypto.getRandomValues(POOL);
    poolAt = 0;
  }
  let s = "";
  // each byte is used once and never handed out again
  for (let i = poolAt; i < poolAt + bytes; i++) s += HEX[POOL[i] as number];
  poolAt += bytes;
  return s;
}

/** RFC 3261 §25.1 IPv4address = 1*3DIGIT "." 1*3DIGIT "." 1*3DIGIT "." 1*3DIGIT (each octet ≤ 255 here). */
export function isIPv4(s: string): boolean {
  // one pass, no split/regex (called for every Via and URI host): 4 groups of 1-3 digits, each at most 255
  let groups = 0;
  let digits = 0;
  let value = 0;
  for (let i = 0; i <= s.length; i++) {
    const c = i < s.length ? s.charCodeAt(i) : 0x2e;
    if (c === 0x2e) {
      if (digits === 0 || value > 255) return false;
      groups++;
      digits = 0;
      value = 0;
    } else if (c >= 0x30 && c <= 0x39) {
      if (++digits > 3) return false;
      value = value * 10 + (c - 0x30);
    } else return false;
  }
  return groups === 4;
}

/** RFC 3261 §25.1 IPv6address (hexpart [":" IPv4address]), without brackets. */
export function isIPv6(s: string): boolean {
  if (s.length < 2 || s.length > 45 || !/^[0-9A-Fa-f:.]+$/.test(s)) return false;
  let head = s;
  let v4groups = 0;
  if (s.includes(".")) {
    const lastColon = s.lastIndexOf(":");
    if (lastColon < 0 || !isIPv4(s.slice(lastColon + 1))) return false;
    // keep the colon when it belongs to "::" (e.g. "::1.2.3.4")
    head = s[lastColon - 1] === ":" ? s.slice(0, lastColon + 1) : s.slice(0, lastColon);
    v4groups = 2;
  }
  const dbl = head.indexOf("::");
  if (dbl !== head.lastIndexOf("::")) return false;
  const groupOk = (g: string) => /^[0-9A-Fa-f]{1,4}$/.test(g);
  if (dbl >= 0) {
    const left = head.slice(0, dbl);
    const right = head.slice(dbl + 2);
    const lg = left === "" ? [] : left.split(":");
    const rg = right === "" ? [] : right.split(":");
    if (!lg.every(groupOk) || !rg.every(groupOk)) return false;
    return lg.length + rg.length + v4groups <= 7;
  }
  const groups = head.split(":");
  return groups.every(groupOk) && groups.length + v4groups === 8;
}

/** RFC 3261 §25.1 hostname = *(domainlabel ".") toplabel ["."] (labels of alphanum and inner "-"). */
function isHostname(s: string): boolean {
  if (s.length === 0 || s.length > 255) return false;
  const t = s.endsWith(".") ? s.slice(0, -1) : s;
  if (t === "") return false;
  const labels = t.split(".");
  for (const l of labels) {
    if (!/^[A-Za-z0-9](?:[A-Za-z0-9-]*[A-Za-z0-9])?$/.test(l)) return false;
  }
  // RFC 3261 §25.1: toplabel = ALPHA / ALPHA *( alphanum / "-" ) alphanum; an all-numeric name must be an IPv4address
  const top = labels[labels.length - 1] ?? "";
  return /^[A-Za-z]/.test(top) || isIPv4(t);
}

/** RFC 3261 §25.1 host = hostname / IPv4address / IPv6reference. */
export function isHost(s: string): boolean {
  if (s.startsWith("[")) return s.endsWith("]") && isIPv6(s.slice(1, -1));
  return isIPv4(s) || isHostname(s);
}

/** Splits `host[:port]` (IPv6 references in brackets). Returns undefined when malformed. */
export function splitHostPort(s: string): { host: string; port: number | undefined } | undefined {
  let host: string;
  let rest: string;
  if (s.startsWith("[")) {
    const close = s.indexOf("]");
    if (close < 0) return undefined;
    host = s.slice(0, close + 1);
    rest = s.slice(close + 1);
  } else {
    const colon = s.indexOf(":");
    host = colon < 0 ? s : s.slice(0, colon);
    rest = colon < 0 ? "" : s.slice(colon);
  }
  if (!isHost(host)) return undefined;
  if (rest === "") return { host, port: undefined };
  if (!rest.startsWith(":")) return undefined;
  const port = parseDigits(rest.slice(1), 65535);
  if (port === undefined) return undefined;
  return { host, port };
}
