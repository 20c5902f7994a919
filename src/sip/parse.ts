/**
 * Strict SIP message parser (RFC 3261 §7, §18.3, §20, §25). Input is bytes; the header section must be UTF-8
 * (§7.3.1 TEXT-UTF8); the body is returned as a copy of the bytes after the empty line, never decoded.
 * Every failure is a SipParseError with a stable code and `partial` (what could be read), nothing else is thrown.
 */
import { fail, type PartialMessage, SipParseError } from "./errors.ts";
import { isToken } from "./grammar.ts";
import { parseContentLength, SINGLE_HEADERS, trimWspEnd } from "./headers.ts";
import { type SipHeader, type SipMessage, SipRequest, SipResponse } from "./message.ts";
import { parseUri } from "./uri.ts";

export interface ParseOptions {
  /**
   * Message-oriented transport (UDP, WebSocket): Content-Length optional and bytes after the body discarded.
   * Stream transports (false) require Content-Length (RFC 3261 §18.3). Default true.
   */
  datagram?: boolean;
  /** reject messages larger than this many bytes (E_SIP_TOO_LARGE); default: no limit at codec level */
  maxMessageSize?: number;
  /**
   * "full" (default): mandatory headers (RFC 3261 §8.1.1) plus every header with a typed codec is checked;
   * "proxy": what a proxy reads (`PROXY_CHECKS`, `PROXY_DIALOG_CHECKS`), the other headers stay unread (RFC 3261
   * §16.3 item 1);
   * "mandatory": only the mandatory headers and Content-Length; "none": start line, header syntax and body only.
   */
  validate?: ValidateLevel | "none";
}

/** How much of a message `validateMessage` checks (see `ParseOptions.validate`). */
export type ValidateLevel = "full" | "proxy" | "mandatory";

const utf8 = new TextDecoder("utf-8", { fatal: true });
/** lenient decoder for reading what we can of a malformed head (invalid bytes become U+FFFD) */
const lenient = new TextDecoder("utf-8");

/** Index just past the header section's empty line, and where that empty line starts; -1 when absent. */
export function findHeaderEnd(bytes: Uint8Array, from = 0): { headEnd: number; bodyStart: number } | undefined {
  for (let i = from; i < bytes.length - 1; i++) {
    if (bytes[i] !== 0x0a) continue;
    // RFC 3261 §7: CRLF CRLF ends the headers (a bare LF line end is tolerated)
    const headEnd = i > from && bytes[i - 1] === 0x0d ? i - 1 : i;
    if (bytes[i + 1] === 0x0a) return { headEnd, bodyStart: i + 2 };
    if (bytes[i + 1] === 0x0d && bytes[i + 2] === 0x0a) return { headEnd, bodyStart: i + 3 };
  }
  return undefined;
}

/** RFC 3261 §7.5: CRLFs before the start line are ignored. Returns the index of the first other byte. */
export function skipLeadingCrlf(bytes: Uint8Array, from = 0): number {
  let i = from;
  while (i < bytes.length && (bytes[i] === 0x0d || bytes[i] === 0x0a)) i++;
  return i;
}

interface Head {
  startLine: string;
  rows: SipHeader[];
}

/** Splits and unfolds header lines (RFC 3261 §7.3.1: a line starting with SP/HTAB continues the previous one). */
function splitHead(text: string, partial: PartialMessage): Head {
  const lines = text.split(/\r?\n/);
  const startLine = lines[0] ?? "";
  const rows: SipHeader[] = [];
  let cur: { name: string; value: string } | undefined;
  const flush = () => {
    if (cur) {
      // one row object for both: rows are never mutated (a message replaces a row to change it)
      const row = { name: cur.name, value: cur.value.trim() };
      rows.push(row);
      partial.headers.push(row);
    }
  };
  // a bad line is remembered and skipped, so that `partial` still gets the rows after it
  let firstError: unknown;
  for (let i = 1; i < lines.length; i++) {
    const line = lines[i] ?? "";
    if (line === "") continue;
    try {
      if (line[0] === " " || line[0] === "\t") {
        if (!cur) fail("E_SIP_HEADER", "continuation line before any header");
        // RFC 3261 §7.3.1: folding (CRLF + LWS) is equivalent to a single SP
        cur.value = `${cur.value.trimEnd()} ${line.trim()}`;
        continue;
      }
      flush();
      cur = undefined;
      const colon = line.indexOf(":");
      if (colon < 0) fail("E_SIP_HEADER", `header line without colon: "${line.slice(0, 40)}"`);
      // RFC 3261 §7.3.1 / §25.1: header-name HCOLON (HCOLON = *( SP / HTAB ) ":" SWS)
      const name = trimWspEnd(line.slice(0, colon));
      if (!isToken(name)) fail("E_SIP_HEADER", `bad header name "${name.slice(0, 40)}"`);
      cur = { name, value: line.slice(colon + 1) };
    } catch (e) {
      firstError ??= e;
    }
  }
  flush();
  if (firstError !== undefined) throw firstError;
  for (const r of rows) {
    // RFC 3261 §25.1 TEXT-UTF8: no control characters other than HTAB in header values
    // biome-ignore lint/suspicious/noControlCharactersInRegex: matching control characters is the point
    if (/[\x00-\x08\x0a-\x1f\x7f]/.test(r.value)) fail("E_SIP_HEADER", `control character in ${r.name}`, r.name);
  }
  return { startLine, rows };
}

const VERSION_RE = /^SIP\/([0-9]+\.[0-9]+)$/i;

const isWsp = (c: string | undefined) => c === " " || c === "\t";

/**
 * `Method LWS Request-URI LWS SIP-Version` read loosely (any whitespace runs), in linear time: the equivalent regex
 * `^([^ \t]+)[ \t]+(.+?)[ \t]+SIP\/d+\.d+$` backtracks quadratically over a long run of spaces (a 64 KiB datagram
 * took seconds). Same captures: the URI is the middle without its outer whitespace.
 */
function looseRequestLine(line: string): { method: string; uri: string } | undefined {
  const first = line.search(/[ \t]/);
  if (first <= 0) return undefined;
  const last = Math.max(line.lastIndexOf(" "), line.lastIndexOf("\t"));
  if (!/^SIP\/[0-9]+\.[0-9]+$/i.test(line.slice(last + 1))) return undefined;
  const mid = line.slice(first, last + 1);
  if (mid.length < 3) return undefined;
  let a = 0;
  let b = mid.length;
  while (a < b && isWsp(mid[a])) a++;
  while (b > a && isWsp(mid[b - 1])) b--;
  // all whitespace: the regex's lazy group took one whitespace character
  return { method: line.slice(0, first), uri: a < b ? mid.slice(a, b) : mid.slice(-2, -1) };
}

function parseStartLine(line: string, partial: PartialMessage): SipRequest | SipResponse {
  // biome-ignore lint/suspicious/noControlCharactersInRegex: matching control characters is the point
  if (/[\x00-\x1f\x7f]/.test(line)) fail("E_SIP_START_LINE", "control character in start line");
  if (/^SIP\/[0-9]+\.[0-9]+ /i.test(line)) {
    partial.kind = "response";
    // RFC 3261 §7.2: Status-Line = SIP-Version SP Status-Code SP Reason-Phrase
    // Reason-Phrase may hold any UTF8-NONASCII (§25.1), U+2028/U+2029 included: `s` so that `.` matches them
    const m = /^(SIP\/[0-9]+\.[0-9]+) ([^ ]*)(?: (.*))?$/is.exec(line);
    if (!m) fail("E_SIP_START_LINE", "bad Status-Line");
    const version = VERSION_RE.exec(m[1] ?? "")?.[1];
    if (version !== "2.0") fail("E_SIP_VERSION", `unsupported SIP version ${m[1]}`);
    const code = m[2] ?? "";
    // RFC 3261 §7.2 / §21: Status-Code = 3DIGIT, 100..699
    if (!/^[1-6][0-9]{2}$/.test(code)) fail("E_SIP_STATUS", `bad status code "${code.slice(0, 12)}"`);
    return new SipResponse(Number(code), m[3] ?? "");
  }
  // RFC 3261 §7.1: Request-Line = Method SP Request-URI SP SIP-Version (single SP, no other whitespace)
  const parts = line.split(" ");
  if (parts.length !== 3 || parts.some((p) => p === "" || p.includes("\t"))) {
    // read loosely only for a malformed line (a well-formed one gives the same method and URI below)
    const loose = looseRequestLine(line);
    if (loose) {
      // enough of a request line to answer with 400 if the rest is readable
      partial.kind = "request";
      if (isToken(loose.method)) partial.method = loose.method;
      partial.uri = loose.uri;
    }
    fail("E_SIP_START_LINE", "Request-Line is not Method SP Request-URI SP SIP-Version");
  }
  const [method = "", uri = "", ver = ""] = parts;
  partial.kind = "request";
  if (isToken(method)) partial.method = method;
  partial.uri = uri;
  const vm = VERSION_RE.exec(ver);
  if (!vm) fail("E_SIP_START_LINE", `bad SIP-Version "${ver.slice(0, 16)}"`);
  if (!isToken(method)) fail("E_SIP_METHOD", "method is not a token");
  if (vm[1] !== "2.0") fail("E_SIP_VERSION", `unsupported SIP version ${ver}`);
  // RFC 3261 §8.2.1: the Request-URI must be a valid URI (kept: the proxy reads it again)
  return new SipRequest(method, uri).withParsedUri(parseUri(uri));
}

/** A typed view read for its check only (it throws SipParseError when the header is malformed). */
type Check = readonly [key: string, read: (m: SipMessage) => unknown];

/** Every header with a typed codec, in the order they are checked (the first fault found is the one reported). */
const FULL_CHECKS: readonly Check[] = [
  ["contact", (m) => m.contact()],
  ["route", (m) => m.routes()],
  ["record-route", (m) => m.recordRoutes()],
  ["path", (m) => m.paths()],
  ["service-route", (m) => m.serviceRoutes()],
  ["content-type", (m) => m.contentType()],
  ["expires", (m) => m.expires()],
  ["min-expires", (m) => m.minExpires()],
  ["security-client", (m) => m.securityClient()],
  ["security-server", (m) => m.securityServer()],
  ["security-verify", (m) => m.securityVerify()],
  ["warning", (m) => m.warnings()],
  ["retry-after", (m) => m.retryAfter()],
  ["require", (m) => m.require()],
  ["proxy-require", (m) => m.proxyRequire()],
  ["supported", (m) => m.supported()],
  ["unsupported", (m) => m.unsupported()],
  ["allow", (m) => m.allow()],
];

/**
 * What the proxy core (src/sip/proxy*.ts) and the P-CSCF read of a request other than REGISTER and of its responses,
 * besides the mandatory headers and Content-Length: Route (routing, §16.4), Content-Type (the IMS-ALG picks the SDP
 * bodies), Require / Proxy-Require (§16.3 item 5).
 */
const PROXY_KEYS = ["route", "content-type", "require", "proxy-require"];
const PROXY_CHECKS: readonly Check[] = FULL_CHECKS.filter(([k]) => PROXY_KEYS.includes(k));
/**
 * An INVITE and its 2xx also have their Contact and Record-Route read: the remote targets and the route set of a
 * dialog the proxy releases itself (RFC 3261 §12.1.1 / §12.1.2 seen from the proxy; the 2xx copies the INVITE's
 * Record-Route, so a malformed one in the INVITE is refused before it breaks the call).
 */
const PROXY_DIALOG_CHECKS: readonly Check[] = FULL_CHECKS.filter(([k]) =>
  [...PROXY_KEYS, "contact", "record-route"].includes(k),
);

/** Whether a proxy reads the dialog headers of this message (an INVITE, or a 2xx to one), see `PROXY_DIALOG_CHECKS`. */
function proxyReadsDialog(msg: SipMessage, cseqMethod: string): boolean {
  return msg.kind === "request"
    ? msg.method === "INVITE"
    : cseqMethod === "INVITE" && msg.status >= 200 && msg.status < 300;
}

// RFC 3261 §8.1.1: To, From, CSeq, Call-ID, Max-Forwards and Via are mandatory in requests (§8.2.6: responses copy
// all but Max-Forwards); [name, headerKey]
const MANDATORY_RESPONSE: readonly (readonly [string, string])[] = [
  ["Via", "via"],
  ["From", "from"],
  ["To", "to"],
  ["Call-ID", "call-id"],
  ["CSeq", "cseq"],
];
const MANDATORY_REQUEST = [...MANDATORY_RESPONSE, ["Max-Forwards", "max-forwards"] as const];

/**
 * Checks of RFC 3261 §8.1.1 (requests) / §8.2.6 (responses) and single-valued headers (§7.3.1). "proxy" checks only
 * what a proxy reads (RFC 3261 §16.3 item 1: the components the validation and forwarding steps involve MUST be
 * well-formed, any other SHOULD be ignored and forwarded unchanged); a REGISTER and its responses are checked in full
 * (the P-CSCF reads Contact, Expires, Supported, Require, Path, Service-Route and Security-Client of those).
 */
export function validateMessage(msg: SipMessage, level: ValidateLevel = "full"): void {
  // the rows' keys (about ten): array scans, cheaper than building two Sets per message
  const keys = msg.headerKeys;
  let repeated: string[] | undefined;
  for (let i = 1; i < keys.length; i++) {
    const k = keys[i] as string;
    if (keys.indexOf(k) < i) {
      repeated ??= [];
      repeated.push(k);
    }
  }
  const mandatory = msg.kind === "request" ? MANDATORY_REQUEST : MANDATORY_RESPONSE;
  let checks: readonly Check[] = [];
  let cseqMethod = "";
  if (level === "proxy") {
    // the CSeq method tells a REGISTER response apart; the CSeq row itself is checked below
    cseqMethod = /[ \t]([^ \t]*)[ \t]*$/.exec(msg.getHeader("CSeq") ?? "")?.[1] ?? "";
    const register = msg.kind === "request" ? msg.method === "REGISTER" : cseqMethod === "REGISTER";
    if (register) level = "full";
  }
  if (level === "full") checks = FULL_CHECKS;
  else if (level === "proxy") checks = proxyReadsDialog(msg, cseqMethod) ? PROXY_DIALOG_CHECKS : PROXY_CHECKS;
  for (const name of repeated ? SINGLE_HEADERS : []) {
    if (!repeated?.includes(name)) continue;
    // RFC 3261 §16.3 item 1: a header the proxy does not read is not checked, not even for repetition
    if (level === "proxy" && !isProxyChecked(name, checks)) continue;
    if (name === "content-length") fail("E_SIP_CONTENT_LENGTH", "more than one Content-Length", "Content-Length");
    fail("E_SIP_HEADER", `more than one ${name} header`, name);
  }
  for (const [name, key] of mandatory) if (!keys.includes(key)) fail("E_SIP_MISSING_HEADER", `missing ${name}`, name);
  msg.vias();
  msg.from();
  msg.to();
  msg.callId();
  const cseq = msg.cseq();
  msg.maxForwards();
  msg.contentLength();
  // RFC 3261 §8.1.1.5 / §20.16: the CSeq method MUST match the request method
  if (msg.kind === "request" && cseq.method !== msg.method) {
    fail("E_SIP_CSEQ", "CSeq method does not match request method", "CSeq");
  }
  // only the headers present: a view of an absent header is never built
  for (const [key, read] of checks) if (keys.includes(key)) read(msg);
}

/** At the proxy level, only the mandatory single headers and those of `checks` are checked for repetition. */
function isProxyChecked(name: string, checks: readonly Check[]): boolean {
  if (MANDATORY_SINGLE.has(name)) return true;
  for (const [k] of checks) if (k === name) return true;
  return false;
}

const MANDATORY_SINGLE = new Set(["call-id", "content-length", "cseq", "from", "to", "max-forwards"]);

/** Parses one complete message. Throws only SipParseError. */
export function parseMessage(bytes: Uint8Array, opts: ParseOptions = {}): SipMessage {
  const partial: PartialMessage = { kind: "unknown", headers: [] };
  try {
    return parseInner(bytes, opts, partial);
  } catch (e) {
    if (e instanceof SipParseError) {
      e.partial ??= partial;
      throw e;
    }
    throw new SipParseError("E_SIP_HEADER", "unparseable message", { cause: e, partial });
  }
}

function parseInner(bytes: Uint8Array, opts: ParseOptions, partial: PartialMessage): SipMessage {
  if (opts.maxMessageSize !== undefined && bytes.byteLength > opts.maxMessageSize) {
    fail("E_SIP_TOO_LARGE", `message of ${bytes.byteLength} bytes exceeds ${opts.maxMessageSize}`);
  }
  const start = skipLeadingCrlf(bytes);
  if (start >= bytes.byteLength) fail("E_SIP_EMPTY", "no message");
  const end = findHeaderEnd(bytes, start);
  const headBytes = bytes.subarray(start, end ? end.headEnd : bytes.byteLength);
  let text: string;
  try {
    text = utf8.decode(headBytes);
  } catch {
    // read what we can for `partial`, then refuse: RFC 3261 §7.3.1 header values are UTF-8
    const loose = lenient.decode(headBytes);
    try {
      splitHead(loose, partial);
      parseStartLine(loose.split(/\r?\n/, 1)[0] ?? "", partial);
    } catch {
      // partial stays as far as it got
    }
    fail("E_SIP_HEADER", "header section is not valid UTF-8");
  }
  // read the header rows first (so `partial` has them even when the start line is bad), then the start line
  let head: Head | undefined;
  let headError: unknown;
  try {
    head = splitHead(text, partial);
  } catch (e) {
    headError = e;
  }
  const msg = parseStartLine(text.split(/\r?\n/, 1)[0] ?? "", partial);
  if (head === undefined) throw headError;
  msg.addHeaders(head.rows);
  if (!end) fail("E_SIP_HEADER", "no empty line after the header section");
  // RFC 3261 §18.3 / §20.14: body length from Content-Length
  const clRows = msg.getHeaders("Content-Length");
  let bodyLen: number;
  const available = bytes.byteLength - end.bodyStart;
  if (clRows.length > 0) {
    const values = clRows.map(parseContentLength);
    if (values.some((v) => v !== values[0])) fail("E_SIP_CONTENT_LENGTH", "contradictory Content-Length values");
    bodyLen = values[0] ?? 0;
    // RFC 3261 §18.3: a body shorter than Content-Length is an error (datagram: request gets 400, response dropped)
    if (bodyLen > available)
      fail("E_SIP_CONTENT_LENGTH", `body has ${available} bytes, Content-Length says ${bodyLen}`);
  } else if (opts.datagram === false) {
    // RFC 3261 §18.3: Content-Length MUST be used with stream-oriented transports
    fail("E_SIP_CONTENT_LENGTH", "Content-Length is required on stream transports", "Content-Length");
  } else {
    // RFC 3261 §18.3: without Content-Length the body ends at the end of the datagram
    bodyLen = available;
  }
  msg.body = new Uint8Array(bytes.subarray(end.bodyStart, end.bodyStart + bodyLen));
  const level = opts.validate ?? "full";
  if (level !== "none") validateMessage(msg, level);
  return msg;
}

/** Reads what it can of a message's head without failing (to answer a malformed or oversize request). */
export function readPartial(bytes: Uint8Array): PartialMessage {
  const partial: PartialMessage = { kind: "unknown", headers: [] };
  try {
    const start = skipLeadingCrlf(bytes);
    const end = findHeaderEnd(bytes, start);
    const text = lenient.decode(bytes.subarray(start, end ? end.headEnd : bytes.byteLength));
    // only complete lines are trusted
    const cut = end ? text : text.slice(0, Math.max(0, text.lastIndexOf("\n")));
    try {
      parseStartLine(cut.split(/\r?\n/, 1)[0] ?? "", partial);
    } catch {
      // kind/method stay as far as they got
    }
    splitHead(cut, partial);
  } catch {
    // keep what was read
  }
  return partial;
}

/** Parses a message and requires a request. */
export function parseRequest(bytes: Uint8Array, opts?: ParseOptions): SipRequest {
  const m = parseMessage(bytes, opts);
  if (m.kind !== "request") fail("E_SIP_START_LINE", "not a request");
  return m;
}

export function parseResponse(bytes: Uint8Array, opts?: ParseOptions): SipResponse {
  const m = parseMessage(bytes, opts);
  if (m.kind !== "response") fail("E_SIP_START_LINE", "not a response");
  return m;
}

/** Convenience for tests and tools: parse a string (encoded as UTF-8). */
export function parseMessageText(text: string, opts?: ParseOptions): SipMessage {
  return parseMessage(new TextEncoder().encode(text), opts);
}
