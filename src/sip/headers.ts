/**
 * Typed header codecs (RFC 3261 §20, §25; RFC 3329 §2.2; RFC 3581; TS 24.229 §7.2A.7) and the header-name table
 * (canonical names, compact forms §7.3.3, which headers are comma lists §7.3.1). Pure, no I/O.
 */
import { fail, type SipErrorCode } from "./errors.ts";
import {
  formatParams,
  getParam,
  isHost,
  isIPv4,
  isIPv6,
  isQuotedString,
  isToken,
  isWord,
  isWs,
  parseDigits,
  parseParams,
  quote,
  type SipParam,
  splitHostPort,
  splitList,
  splitTopLevel,
  unquote,
} from "./grammar.ts";
import { formatUri, parseUri, type Uri } from "./uri.ts";

// ---------------------------------------------------------------------------------------------------------------------
// header names

/** Canonical spelling of the headers this stack knows, keyed by lower-case long name. */
const CANONICAL: Record<string, string> = {};
for (const n of [
  "Accept",
  "Accept-Contact",
  "Accept-Encoding",
  "Accept-Language",
  "Alert-Info",
  "Allow",
  "Allow-Events",
  "Authentication-Info",
  "Authorization",
  "Call-ID",
  "Call-Info",
  "Contact",
  "Content-Disposition",
  "Content-Encoding",
  "Content-Language",
  "Content-Length",
  "Content-Type",
  "CSeq",
  "Date",
  "Error-Info",
  "Event",
  "Expires",
  "Feature-Caps",
  "From",
  "Identity",
  "Identity-Info",
  "In-Reply-To",
  "Max-Forwards",
  "MIME-Version",
  "Min-Expires",
  "Organization",
  "P-Access-Network-Info",
  "P-Asserted-Identity",
  "P-Associated-URI",
  "P-Called-Party-ID",
  "P-Charging-Function-Addresses",
  "P-Charging-Vector",
  "P-Preferred-Identity",
  "P-Visited-Network-ID",
  "Path",
  "Priority",
  "Privacy",
  "Proxy-Authenticate",
  "Proxy-Authorization",
  "Proxy-Require",
  "RAck",
  "Reason",
  "Record-Route",
  "Refer-To",
  "Referred-By",
  "Reject-Contact",
  "Reply-To",
  "Request-Disposition",
  "Require",
  "Retry-After",
  "Route",
  "RSeq",
  "Security-Client",
  "Security-Server",
  "Security-Verify",
  "Server",
  "Service-Route",
  "Session-Expires",
  "Subject",
  "Supported",
  "Timestamp",
  "To",
  "Unsupported",
  "User-Agent",
  "Via",
  "Warning",
  "WWW-Authenticate",
]) {
  CANONICAL[n.toLowerCase()] = n;
}

/**
 * Compact forms, both ways (RFC 3261 §7.3.3 and §20; RFC 3841 a/j/d; RFC 3892 b; RFC 3515 r; RFC 6665 o/u;
 * RFC 4028 x; RFC 8224 y; RFC 4474 n).
 */
const COMPACT_TO_LONG: Record<string, string> = {
  a: "accept-contact",
  b: "referred-by",
  c: "content-type",
  d: "request-disposition",
  e: "content-encoding",
  f: "from",
  i: "call-id",
  j: "reject-contact",
  k: "supported",
  l: "content-length",
  m: "contact",
  n: "identity-info",
  o: "event",
  r: "refer-to",
  s: "subject",
  t: "to",
  u: "allow-events",
  v: "via",
  x: "session-expires",
  y: "identity",
};
const LONG_TO_COMPACT: Record<string, string> = {};
for (const [c, l] of Object.entries(COMPACT_TO_LONG)) LONG_TO_COMPACT[l] = c;

/** headerKey results by name as written (bounded): every header lookup on a message calls headerKey per row. */
const KEY_CACHE = new Map<string, string>();

/** Lower-case long name used to compare header names ("v" and "VIA" both give "via"). */
export function headerKey(name: string): string {
  const hit = KEY_CACHE.get(name);
  if (hit !== undefined) return hit;
  const lower = name.toLowerCase();
  const key = Object.hasOwn(COMPACT_TO_LONG, lower) ? (COMPACT_TO_LONG[lower] as string) : lower;
  if (KEY_CACHE.size < 2048) KEY_CACHE.set(name, key);
  return key;
}

/** True when this stack has a canonical spelling for the header (otherwise the name is re-emitted as received). */
export function isKnownHeader(name: string): boolean {
  return CANONICAL[headerKey(name)] !== undefined;
}

/** Canonical long name of a known header; unknown names are returned unchanged. */
export function canonicalHeaderName(name: string): string {
  return CANONICAL[headerKey(name)] ?? name;
}

/** Compact form of a header when one exists (RFC 3261 §7.3.3), else its canonical name. */
export function compactHeaderName(name: string): string {
  const key = headerKey(name);
  return LONG_TO_COMPACT[key] ?? canonicalHeaderName(name);
}

/** Headers whose value is a comma-separated list (RFC 3261 §7.3.1); rows may be combined or split freely. */
const LIST_HEADERS = new Set([
  "accept",
  "accept-contact",
  "accept-encoding",
  "accept-language",
  "alert-info",
  "allow",
  "allow-events",
  "call-info",
  "contact",
  "content-encoding",
  "content-language",
  "error-info",
  "in-reply-to",
  "p-asserted-identity",
  "p-associated-uri",
  "p-charging-function-addresses",
  "p-preferred-identity",
  "p-visited-network-id",
  "path",
  "proxy-require",
  "reason",
  "record-route",
  "reject-contact",
  "request-disposition",
  "require",
  "route",
  "security-client",
  "security-server",
  "security-verify",
  "service-route",
  "supported",
  "unsupported",
  "via",
  "warning",
]);

export function isListHeader(name: string): boolean {
  return LIST_HEADERS.has(headerKey(name));
}

/** Headers that may appear at most once (RFC 3261 §7.3.1, §20 table). */
export const SINGLE_HEADERS = [
  "call-id",
  "content-length",
  "content-type",
  "cseq",
  "expires",
  "from",
  "max-forwards",
  "min-expires",
  "retry-after",
  "to",
] as const;

// ---------------------------------------------------------------------------------------------------------------------
// name-addr / addr-spec

/** name-addr or addr-spec with header parameters (From, To, Contact, Route, Record-Route, Path, ...). */
export interface NameAddr {
  /** decoded display name; undefined when absent */
  displayName?: string | undefined;
  uri: Uri;
  params: SipParam[];
}

/** RFC 3261 §25.1: display-name = *(token LWS) / quoted-string */
function parseDisplayName(s: string, code: SipErrorCode): string | undefined {
  const t = s.trim();
  if (t === "") return undefined;
  if (t.startsWith('"')) {
    if (!isQuotedString(t)) fail(code, "bad quoted display-name");
    return unquote(t);
  }
  const words = t.split(/[ \t]+/);
  for (const w of words) if (!isToken(w)) fail(code, `bad display-name token "${w}"`);
  return words.join(" ");
}

/**
 * Parses one name-addr / addr-spec with its parameters (RFC 3261 §20.10: in addr-spec form the parameters after the
 * URI belong to the header, and a URI with ",", "?" or ";" must be in angle brackets).
 */
export function parseNameAddr(value: string, code: SipErrorCode = "E_SIP_NAME_ADDR"): NameAddr {
  const s = value.trim();
  if (s === "") fail(code, "empty name-addr");
  let displayName: string | undefined;
  let uriText: string;
  let rest: string;
  let i = 0;
  if (s.startsWith('"')) {
    // quoted display-name
    i = 1;
    while (i < s.length && s[i] !== '"') i += s[i] === "\\" ? 2 : 1;
    if (i >= s.length) fail(code, "unterminated quoted display-name");
    displayName = parseDisplayName(s.slice(0, i + 1), code);
    i++;
    while (isWs(s[i])) i++;
    if (s[i] !== "<") fail(code, "quoted display-name not followed by <");
  } else {
    const lt = s.indexOf("<");
    if (lt >= 0) {
      displayName = parseDisplayName(s.slice(0, lt), code);
      i = lt;
    } else i = -1;
  }
  if (i >= 0) {
    const gt = s.indexOf(">", i);
    if (gt < 0) fail(code, "unterminated <");
    uriText = s.slice(i + 1, gt);
    rest = s.slice(gt + 1).trim();
    if (rest !== "" && !rest.startsWith(";")) fail(code, "junk after >");
  } else {
    const semi = s.indexOf(";");
    uriText = (semi < 0 ? s : s.slice(0, semi)).trim();
    rest = semi < 0 ? "" : s.slice(semi);
    if (/[\s,?]/.test(uriText)) fail(code, "addr-spec with space, comma or ? must be in angle brackets");
  }
  let uri: Uri;
  try {
    uri = parseUri(uriText);
  } catch (e) {
    fail(code, `bad URI in name-addr: ${(e as Error).message}`);
  }
  const params = parseParams(rest, code, "name-addr");
  return { displayName, uri, params };
}

/** Canonical form: quoted display name (when any), URI always in angle brackets, then parameters. */
export function formatNameAddr(na: NameAddr): string {
  const dn = na.displayName !== undefined ? `${quote(na.displayName)} ` : "";
  return `${dn}<${formatUri(na.uri)}>${formatParams(na.params)}`;
}

/** A comma list of name-addrs (Route, Record-Route, Path, Service-Route, P-Asserted-Identity). */
export function parseNameAddrList(value: string, code: SipErrorCode = "E_SIP_NAME_ADDR"): NameAddr[] {
  return splitList(value, code, "name-addr list").map((v) => parseNameAddr(v, code));
}

/** RFC 3261 §20.27 rec-route = name-addr (angle brackets required). */
export function parseRouteList(value: string): NameAddr[] {
  return splitList(value, "E_SIP_NAME_ADDR", "route list").map((v) => {
    if (!v.includes("<")) fail("E_SIP_NAME_ADDR", "Route/Record-Route/Path entries must be name-addr (<...>)");
    return parseNameAddr(v);
  });
}

/** Contact (RFC 3261 §20.10): "*" or a list of name-addrs with contact-params (q, expires, feature tags, ...). */
export type ContactValue = "*" | NameAddr[];

export function parseContact(value: string): ContactValue {
  if (value.trim() === "*") return "*";
  const list = parseNameAddrList(value);
  for (const c of list) {
    const q = getParam(c.params, "q");
    // RFC 3261 §25.1: qvalue = ( "0" [ "." 0*3DIGIT ] ) / ( "1" [ "." 0*3("0") ] )
    if (q !== undefined && (q === null || !/^(?:0(?:\.[0-9]{0,3})?|1(?:\.0{0,3})?)$/.test(q))) {
      fail("E_SIP_NAME_ADDR", "bad q value in Contact");
    }
    const exp = getParam(c.params, "expires");
    if (exp !== undefined && (exp === null || parseDigits(exp, 0xffffffff) === undefined)) {
      fail("E_SIP_NAME_ADDR", "bad expires in Contact");
    }
  }
  return list;
}

export function formatContact(c: ContactValue): string {
  return c === "*" ? "*" : c.map(formatNameAddr).join(", ");
}

/** From / To (RFC 3261 §20.20, §20.39): one name-addr; `tag` is a token. */
export function parseFromTo(value: string): NameAddr {
  const na = parseNameAddr(value);
  const tag = getParam(na.params, "tag");
  if (tag === null || (tag !== undefined && !isToken(tag))) fail("E_SIP_NAME_ADDR", "bad tag parameter");
  return na;
}

// ---------------------------------------------------------------------------------------------------------------------
// Via

export interface Via {
  /** sent-protocol name and version ("SIP", "2.0") */
  protocolName: string;
  protocolVersion: string;
  /** transport token, upper-case as written (UDP, TCP, TLS, SCTP, WS, WSS, ...) */
  transport: string;
  host: string;
  port?: number | undefined;
  params: SipParam[];
}

const isWsp = (c: string | undefined) => c === " " || c === "\t";

/** Drops trailing SP / HTAB in linear time (a `[ \t]+$` regex is quadratic over a long run of spaces). */
export function trimWspEnd(s: string): string {
  let b = s.length;
  while (b > 0 && isWsp(s[b - 1])) b--;
  return b === s.length ? s : s.slice(0, b);
}

/** The first COLON with its SWS (RFC 3261 §25.1) becomes ":" — `.replace(/[ \t]*:[ \t]*\/, ":")` in linear time. */
function swsColon(s: string): string {
  const c = s.indexOf(":");
  if (c < 0) return s;
  let a = c;
  while (a > 0 && isWsp(s[a - 1])) a--;
  let b = c + 1;
  while (b < s.length && isWsp(s[b])) b++;
  return `${s.slice(0, a)}:${s.slice(b)}`;
}

/** Parses one via-parm (RFC 3261 §20.42, §25.1; RFC 3581 rport). */
export function parseViaParm(text: string): Via {
  const s = text.trim();
  // RFC 3261 §25.1: sent-protocol = protocol-name SLASH protocol-version SLASH transport (SLASH = SWS "/" SWS)
  const m = /^([^\s/]+)[ \t]*\/[ \t]*([^\s/]+)[ \t]*\/[ \t]*([^\s/;]+)[ \t]+/.exec(s);
  // sent-by and params split without a regex: `([^;]+?)[ \t]*(;.*)?$` backtracked quadratically over a long run of
  // spaces inside sent-by (a 64 KiB Via took 16 s); same result: sent-by up to the first ";", trailing SP/HTAB off
  const rest = m ? s.slice(m[0].length) : "";
  const semi = rest.indexOf(";");
  const sentBy = semi < 0 ? rest : rest.slice(0, semi);
  const paramText = semi < 0 ? "" : rest.slice(semi);
  if (!m || sentBy === "" || /[\n\r\u2028\u2029]/.test(paramText)) fail("E_SIP_VIA", "bad sent-protocol / sent-by");
  const [, pname = "", pver = "", transport = ""] = m;
  if (!isToken(pname) || !isToken(pver) || !isToken(transport)) fail("E_SIP_VIA", "bad sent-protocol token");
  if (pname.toUpperCase() !== "SIP" || pver !== "2.0") fail("E_SIP_VIA", `unsupported sent-protocol ${pname}/${pver}`);
  // RFC 3261 §25.1: sent-by = host [ COLON port ]  (COLON allows SWS)
  const hp = splitHostPort(swsColon(trimWspEnd(sentBy)));
  if (!hp) fail("E_SIP_VIA", `bad sent-by "${sentBy}"`);
  const params = parseParams(paramText, "E_SIP_VIA", "Via");
  for (const p of params) {
    const name = p.name.toLowerCase();
    const v = p.value;
    if (name === "branch") {
      if (v === null || !isToken(v)) fail("E_SIP_VIA", "bad branch");
    } else if (name === "received") {
      // RFC 3261 §20.42: received = IPv4address / IPv6address (RFC 5118 §4.5: brackets tolerated)
      const addr = v?.startsWith("[") && v.endsWith("]") ? v.slice(1, -1) : v;
      if (addr === null || !(isIPv4(addr) || isIPv6(addr))) fail("E_SIP_VIA", "bad received");
    } else if (name === "rport") {
      // RFC 3581 §3: response-port = "rport" [EQUAL 1*DIGIT]
      if (v !== null && parseDigits(v, 65535) === undefined) fail("E_SIP_VIA", "bad rport");
    } else if (name === "ttl") {
      // RFC 3261 §25.1: ttl = 1*3DIGIT ; 0 to 255
      if (v === null || parseDigits(v, 255) === undefined || v.length > 3) fail("E_SIP_VIA", "bad ttl");
    } else if (name === "maddr") {
      if (v === null || !isHost(v)) fail("E_SIP_VIA", "bad maddr");
    }
  }
  return {
    protocolName: pname,
    protocolVersion: pver,
    transport: transport.toUpperCase(),
    host: hp.host,
    port: hp.port,
    params,
  };
}

export function parseVia(value: string): Via[] {
  return splitList(value, "E_SIP_VIA", "Via").map(parseViaParm);
}

export function formatVia(v: Via): string {
  const port = v.port !== undefined ? `:${v.port}` : "";
  return `${v.protocolName}/${v.protocolVersion}/${v.transport} ${v.host}${port}${formatParams(v.params)}`;
}

/** RFC 3261 §8.1.1.7: the branch of a compliant element begins with the magic cookie z9hG4bK. */
export const MAGIC_COOKIE = "z9hG4bK";

export function viaBranch(v: Via): string | undefined {
  const b = getParam(v.params, "branch");
  return b === null ? undefined : b;
}

// ---------------------------------------------------------------------------------------------------------------------
// CSeq, Call-ID, Max-Forwards, Content-Length, Expires

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

// ---------------------------------------------------------------------------------------------------------------------
// Security-Client / Security-Server / Security-Verify

export interface SecurityMechanism {
  /** mechanism-name (digest, tls, ipsec-3gpp, sdes-srtp, msrp-tls, bfcp-tls, udptl-dtls, ...) */
  mechanism: string;
  /** mech-parameters in order (q, d-alg, d-qop, d-ver, `mediasec`, extensions), values as written */
  params: SipParam[];
}

/**
 * RFC 3329 §2.2: security-client = "Security-Client" HCOLON sec-mechanism *(COMMA sec-mechanism);
 * sec-mechanism = mechanism-name *(SEMI mech-parameters). The 3GPP `mediasec` parameter (TS 24.229 §7.2A.7) and any
 * other extension parameter are kept.
 */
export function parseSecurityMechanisms(value: string): SecurityMechanism[] {
  return splitList(value, "E_SIP_SECURITY", "Security-*").map((item) => {
    const parts = splitTopLevel(item, ";", "E_SIP_SECURITY", "Security-*");
    if (parts.some((p) => p === "")) fail("E_SIP_SECURITY", "empty mech-parameter");
    const mechanism = (parts[0] ?? "").trim();
    if (!isToken(mechanism)) fail("E_SIP_SECURITY", `bad mechanism-name "${mechanism}"`);
    const params = parseParams(parts.slice(1).join(";"), "E_SIP_SECURITY", "Security-*");
    const q = getParam(params, "q");
    if (q !== undefined && (q === null || !/^(?:0(?:\.[0-9]{0,3})?|1(?:\.0{0,3})?)$/.test(q))) {
      fail("E_SIP_SECURITY", "bad preference (q)");
    }
    return { mechanism, params };
  });
}

export function formatSecurityMechanisms(list: readonly SecurityMechanism[]): string {
  return list.map((m) => `${m.mechanism}${formatParams(m.params)}`).join(", ");
}

/** TS 24.229 §7.2A.7: the mechanisms labelled with the `mediasec` header field parameter. */
export function mediasecMechanisms(list: readonly SecurityMechanism[]): string[] {
  return list.filter((m) => m.params.some((p) => p.name.toLowerCase() === "mediasec")).map((m) => m.mechanism);
}

// ---------------------------------------------------------------------------------------------------------------------
// Warning, Retry-After

export interface Warning {
  /** warn-code = 3DIGIT */
  code: number;
  /** warn-agent = hostport / pseudonym */
  agent: string;
  /** decoded warn-text */
  text: string;
}

/** RFC 3261 §20.43: warning-value = warn-code SP warn-agent SP warn-text */
export function parseWarning(value: string): Warning[] {
  return splitList(value, "E_SIP_WARNING", "Warning").map((item) => {
    const m = /^([0-9]{3}) ([^ \t"]+) (".*")$/.exec(item);
    if (!m) fail("E_SIP_WARNING", "bad warning-value");
    const agent = m[2] ?? "";
    if (!splitHostPort(agent) && !isToken(agent)) fail("E_SIP_WARNING", "bad warn-agent");
    const text = m[3] ?? "";
    if (!isQuotedString(text)) fail("E_SIP_WARNING", "bad warn-text");
    return { code: Number(m[1]), agent, text: unquote(text) };
  });
}

export function formatWarning(list: readonly Warning[]): string {
  return list.map((w) => `${String(w.code).padStart(3, "0")} ${w.agent} ${quote(w.text)}`).join(", ");
}

export interface RetryAfter {
  seconds: number;
  comment?: string | undefined;
  params: SipParam[];
}

/** RFC 3261 §20.33: Retry-After = delta-seconds [ comment ] *( SEMI retry-param ) */
export function parseRetryAfter(value: string): RetryAfter {
  const v = value.trim();
  const m = /^([0-9]+)[ \t]*/.exec(v);
  if (!m) fail("E_SIP_RETRY_AFTER", "bad delta-seconds");
  const seconds = parseDigits(m[1] ?? "", 0xffffffff);
  if (seconds === undefined) fail("E_SIP_RETRY_AFTER", "delta-seconds too large");
  let i = m[0].length;
  let comment: string | undefined;
  if (v[i] === "(") {
    // RFC 3261 §25.1: comment = LPAREN *(ctext / quoted-pair / comment) RPAREN (nesting allowed)
    let depth = 0;
    const start = i;
    for (; i < v.length; i++) {
      const ch = v[i];
      if (ch === "\\") i++;
      else if (ch === "(") depth++;
      else if (ch === ")") {
        depth--;
        if (depth === 0) break;
      }
    }
    if (depth !== 0) fail("E_SIP_RETRY_AFTER", "unterminated comment");
    comment = v.slice(start + 1, i);
    i++;
  }
  const rest = v.slice(i).trim();
  if (rest !== "" && !rest.startsWith(";")) fail("E_SIP_RETRY_AFTER", "junk after delta-seconds");
  const params = parseParams(rest, "E_SIP_RETRY_AFTER", "Retry-After");
  const dur = getParam(params, "duration");
  if (dur !== undefined && (dur === null || parseDigits(dur, 0xffffffff) === undefined)) {
    fail("E_SIP_RETRY_AFTER", "bad duration");
  }
  return { seconds, comment, params };
}

export function formatRetryAfter(r: RetryAfter): string {
  return `${r.seconds}${r.comment !== undefined ? ` (${r.comment})` : ""}${formatParams(r.params)}`;
}
