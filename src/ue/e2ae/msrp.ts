/**
 * MSRP framing (RFC 4975 §7.1, §9): request/response encoding, a streaming parser with typed errors, URI matching
 * (§6.1), Content-Type negotiation helpers (§8.6). Pure codec: no sockets here (see msrpSession.ts).
 */
import { formatMsrpUri, type MsrpUri, parseMsrpUri } from "../../sdp/index.ts";
import { ByteQueue, randomAlnum } from "./bytes.ts";
import { E2aeError, type E2aeErrorCode } from "./errors.ts";

/** RFC 4975 §9: continuation-flag = "+" / "$" / "#" (more chunks, last chunk, aborted). */
export type MsrpContinuation = "$" | "+" | "#";

/** RFC 4975 §9: Byte-Range = range-start "-" range-end "/" total; range-end and total may be "*". */
export interface ByteRange {
  start: number;
  end: number | "*";
  total: number | "*";
}

/** RFC 4975 §9: Status = namespace SP status-code [SP text-reason] (REPORT requests). */
export interface MsrpStatusHeader {
  namespace: string;
  code: number;
  reason?: string;
}

export interface MsrpHeader {
  name: string;
  value: string;
}

export interface MsrpRequest {
  kind: "request";
  transactionId: string;
  /** SEND, REPORT or another 1*UPALPHA method (RFC 4975 §9 other-method). */
  method: string;
  /** URIs exactly as written (RFC 4975 §9: To-Path = "To-Path:" SP MSRP-URI *(SP MSRP-URI)). */
  toPath: string[];
  fromPath: string[];
  messageId?: string;
  byteRange?: ByteRange;
  successReport?: "yes" | "no";
  failureReport?: "yes" | "no" | "partial";
  status?: MsrpStatusHeader;
  /** Other headers, in order (MIME headers such as Content-ID included). */
  headers: MsrpHeader[];
  /** Present iff the request carries content-stuff (RFC 4975 §9); then `body` is present too. */
  contentType?: string;
  body?: Uint8Array;
  continuation: MsrpContinuation;
}

export interface MsrpResponse {
  kind: "response";
  transactionId: string;
  /** RFC 4975 §9: status-code = 3DIGIT. */
  status: number;
  comment?: string;
  toPath: string[];
  fromPath: string[];
  headers: MsrpHeader[];
  continuation: MsrpContinuation;
}

export type MsrpFrame = MsrpRequest | MsrpResponse;

/** RFC 4975 §10: the status codes of the base protocol and their usual comments. */
export const MSRP_STATUS_TEXT: Readonly<Record<number, string>> = {
  200: "OK",
  400: "Bad Request",
  403: "Forbidden",
  408: "Request Timeout",
  413: "Message Too Large",
  415: "Unsupported Media Type",
  423: "Parameter Out Of Bounds",
  481: "Session Does Not Exist",
  501: "Method Not Implemented",
  506: "Session Already Bound",
};

// RFC 4975 §9: ident = ALPHANUM 3*31ident-char; ident-char = ALPHANUM / "." / "-" / "+" / "%" / "="
const IDENT_RE = /^[A-Za-z0-9][A-Za-z0-9.\-+%=]{3,31}$/;
// RFC 4975 §9: method = mSEND / mREPORT / other-method; other-method = 1*UPALPHA
const METHOD_RE = /^[A-Z]+$/;
// RFC 4975 §9: hname = ALPHA *token (token chars of RFC 3261)
const HEADER_RE = /^([A-Za-z][A-Za-z0-9\-.!%*_+`'~]*):[ \t]*(.*?)[ \t]*$/;
// RFC 4975 §9 / RFC 2045 §5.1: Content-Type = type "/" subtype *(";" parameter)
const CONTENT_TYPE_RE = /^[!#$%&'*+\-.^_`|~0-9A-Za-z]+\/[!#$%&'*+\-.^_`|~0-9A-Za-z]+(\s*;\s*[^;\r\n]+)*$/;
const FLAGS = new Set([0x24, 0x2b, 0x23]); // "$" "+" "#"
const CRLF = Buffer.from("\r\n");

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

function fail(code: E2aeErrorCode, message: string): E2aeError {
  return new E2aeError(code, message);
}

function formatByteRange(r: ByteRange): string {
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

function checkValue(name: string, value: string): void {
  // RFC 4975 §9: header values are single lines (hval = utf8text, no CR/LF)
  if (/[\r\n]/.test(value)) throw fail("E_MSRP_HEADER", `${name} value contains CR or LF`);
}

function checkPath(name: string, uris: readonly string[]): void {
  // RFC 4975 §9: To-Path/From-Path carry at least one MSRP-URI
  if (uris.length === 0) throw fail("E_MSRP_MISSING_HEADER", `${name} is empty`);
  for (const u of uris) {
    if (!parseMsrpUri(u).value) throw fail("E_MSRP_PATH", `${name} URI "${u.slice(0, 60)}" is not an MSRP-URI`);
  }
}

/** True when `body` + CRLF would contain the end-line of `tid` before the real one (RFC 4975 §7.1). */
export function bodyContainsEndLine(body: Uint8Array, tid: string): boolean {
  const marker = Buffer.from(`\r\n-------${tid}`, "latin1");
  const hay = Buffer.concat([body, CRLF]);
  let from = 0;
  for (;;) {
    const i = hay.indexOf(marker, from);
    if (i < 0 || i >= body.length) return false;
    const flag = hay[i + marker.length];
    if (
      flag !== undefined &&
      FLAGS.has(flag) &&
      hay[i + marker.length + 1] === 0x0d &&
      hay[i + marker.length + 2] === 0x0a
    )
      return true;
    from = i + 1;
  }
}

/**
 * Encodes one frame. Throws E2aeError on a frame that cannot be sent as is (bad ident, path, header value, or a
 * body that contains its own end-line): a programming error of the caller, never a property of received input.
 */
export function encodeMsrp(f: MsrpFrame): Buffer {
  // RFC 4975 §9: transact-id = ident
  if (!IDENT_RE.test(f.transactionId))
    throw fail("E_MSRP_START_LINE", `transact-id "${f.transactionId}" is not an ident`);
  const lines: string[] = [];
  if (f.kind === "request") {
    if (!METHOD_RE.test(f.method)) throw fail("E_MSRP_START_LINE", `method "${f.method}" is not 1*UPALPHA`);
    // RFC 4975 §9: req-start = pMSRP SP transact-id SP method CRLF
    lines.push(`MSRP ${f.transactionId} ${f.method}`);
  } else {
    if (!Number.isInteger(f.status) || f.status < 100 || f.status > 999)
      throw fail("E_MSRP_START_LINE", `status ${f.status} is not 3DIGIT`);
    if (f.comment !== undefined) checkValue("comment", f.comment);
    // RFC 4975 §9: resp-start = pMSRP SP transact-id SP status-code [SP comment] CRLF
    lines.push(`MSRP ${f.transactionId} ${f.status}${f.comment ? ` ${f.comment}` : ""}`);
  }
  checkPath("To-Path", f.toPath);
  checkPath("From-Path", f.fromPath);
  // RFC 4975 §7.1: To-Path and From-Path come first, in this order
  lines.push(`To-Path: ${f.toPath.join(" ")}`, `From-Path: ${f.fromPath.join(" ")}`);
  if (f.kind === "request") {
    if (f.messageId !== undefined) {
      if (!IDENT_RE.test(f.messageId)) throw fail("E_MSRP_HEADER", `Message-ID "${f.messageId}" is not an ident`);
      lines.push(`Message-ID: ${f.messageId}`);
    }
    if (f.successReport !== undefined) lines.push(`Success-Report: ${f.successReport}`);
    if (f.failureReport !== undefined) lines.push(`Failure-Report: ${f.failureReport}`);
    if (f.byteRange !== undefined) {
      const r = parseByteRange(formatByteRange(f.byteRange));
      if (r instanceof E2aeError) throw r;
      lines.push(`Byte-Range: ${formatByteRange(f.byteRange)}`);
    }
    if (f.status !== undefined) {
      const s = f.status;
      if (!/^\d{3}$/.test(s.namespace) || !Number.isInteger(s.code) || s.code < 100 || s.code > 999)
        throw fail("E_MSRP_HEADER", "Status is not namespace SP 3DIGIT");
      if (s.reason !== undefined) checkValue("Status", s.reason);
      lines.push(`Status: ${s.namespace} ${s.code}${s.reason ? ` ${s.reason}` : ""}`);
    }
  }
  for (const h of f.headers) {
    if (!/^[A-Za-z][A-Za-z0-9\-.!%*_+`'~]*$/.test(h.name)) throw fail("E_MSRP_HEADER", `bad header name "${h.name}"`);
    checkValue(h.name, h.value);
    lines.push(`${h.name}: ${h.value}`);
  }
  const end = Buffer.from(`-------${f.transactionId}${f.continuation}\r\n`, "latin1");
  if (f.kind === "response" || f.contentType === undefined) {
    if (f.kind === "request" && f.body !== undefined && f.body.length > 0)
      throw fail("E_MSRP_MISSING_HEADER", "a body needs a Content-Type (RFC 4975 §9 content-stuff)");
    // RFC 4975 §9: msrp-response = resp-start headers end-line (no body)
    return Buffer.concat([Buffer.from(`${lines.join("\r\n")}\r\n`, "utf8"), end]);
  }
  if (!CONTENT_TYPE_RE.test(f.contentType))
    throw fail("E_MSRP_HEADER", `Content-Type "${f.contentType.slice(0, 60)}" is not type/subtype`);
  lines.push(`Content-Type: ${f.contentType}`);
  const body = f.body ?? new Uint8Array(0);
  // RFC 4975 §7.1: the sender MUST ensure that the end-line does not appear in the body
  if (bodyContainsEndLine(body, f.transactionId))
    throw fail("E_MSRP_END_LINE", "the body contains the end-line of its transaction");
  // RFC 4975 §9: content-stuff = *(Other-Mime-header CRLF) Content-Type 2CRLF data CRLF
  return Buffer.concat([Buffer.from(`${lines.join("\r\n")}\r\n\r\n`, "utf8"), body, CRLF, end]);
}

// ---------------------------------------------------------------------------------------------------------------
// Parser
// ---------------------------------------------------------------------------------------------------------------

export interface MsrpParserOptions {
  /** Start line + headers (default 16 KiB). */
  maxHeaderBytes?: number;
  /** Body of one chunk (default 1 MiB). Larger bodies are skipped and reported (E_MSRP_TOO_LARGE, not fatal). */
  maxBodyBytes?: number;
}

export type MsrpParseEvent =
  | { type: "frame"; frame: MsrpFrame }
  | {
      type: "error";
      error: E2aeError;
      /** Known when the start line was readable: the caller can answer the request (e.g. 400, 413). */
      transactionId?: string;
      /** The request method, when the start line was a request. */
      method?: string;
      /** The request's From-Path/To-Path when they parsed (to address an error response). */
      fromPath?: string[];
      toPath?: string[];
      /** true: the stream cannot be resynchronised; the parser stops and the connection must be closed. */
      fatal: boolean;
    };

interface Head {
  tid: string;
  request?: { method: string };
  response?: { status: number; comment?: string };
  headers: string[];
}

interface Pending {
  head: Head;
  bodyStart: number;
  searchFrom: number;
  /** body bytes dropped because the chunk exceeded maxBodyBytes */
  skipping: boolean;
}

type HeadResult =
  | { need: true }
  | { fatal: E2aeError; tid?: string }
  | { head: Head; bodyStart: number }
  | { head: Head; frameEnd: number; flag: MsrpContinuation };

/**
 * Incremental MSRP parser: feed bytes with `push`, get complete frames and typed errors. Frame-level errors (bad
 * header value, missing header, oversize body) are not fatal: the end-line re-synchronises the stream. Only an
 * unreadable start line or an unterminated header block is fatal. Never throws.
 */
export class MsrpParser {
  private readonly q = new ByteQueue();
  private readonly maxHeader: number;
  private readonly maxBody: number;
  private pending: Pending | undefined;
  private dead = false;

  constructor(opts: MsrpParserOptions = {}) {
    this.maxHeader = opts.maxHeaderBytes ?? 16 * 1024;
    this.maxBody = opts.maxBodyBytes ?? 1024 * 1024;
  }

  get failed(): boolean {
    return this.dead;
  }

  /** Bytes buffered and not yet part of a complete frame. */
  get buffered(): number {
    return this.q.length;
  }

  push(data: Uint8Array): MsrpParseEvent[] {
    const out: MsrpParseEvent[] = [];
    if (this.dead) return out;
    this.q.append(data);
    try {
      this.drain(out);
    } catch (e) {
      // Defensive: the parser never lets an exception escape into a socket handler.
      this.dead = true;
      this.q.clear();
      const msg = e instanceof Error ? e.message : String(e);
      out.push({ type: "error", error: fail("E_MSRP_START_LINE", `internal parser error: ${msg}`), fatal: true });
    }
    return out;
  }

  private drain(out: MsrpParseEvent[]): void {
    for (let guard = 0; guard < 100_000 && !this.dead; guard++) {
      if (!this.pending) {
        const r = this.parseHead(this.q.view());
        if ("need" in r) return;
        if ("fatal" in r) {
          this.dead = true;
          this.q.clear();
          out.push({ type: "error", error: r.fatal, ...(r.tid ? { transactionId: r.tid } : {}), fatal: true });
          return;
        }
        if ("frameEnd" in r) {
          out.push(this.assemble(r.head, undefined, r.flag));
          this.q.consume(r.frameEnd);
          continue;
        }
        this.pending = { head: r.head, bodyStart: r.bodyStart, searchFrom: r.bodyStart, skipping: false };
      }
      if (!this.body(out)) return;
    }
  }

  /** Body phase; true when the frame completed. */
  private body(out: MsrpParseEvent[]): boolean {
    const p = this.pending;
    if (!p) return true;
    const view = this.q.view();
    const marker = Buffer.from(`\r\n-------${p.head.tid}`, "latin1");
    let from = p.searchFrom;
    for (;;) {
      const i = view.indexOf(marker, from);
      if (i < 0) break;
      if (view.length < i + marker.length + 3) {
        p.searchFrom = i;
        return false;
      }
      const flag = view[i + marker.length] ?? 0;
      // RFC 4975 §9: end-line = "-------" transact-id continuation-flag CRLF
      if (FLAGS.has(flag) && view[i + marker.length + 1] === 0x0d && view[i + marker.length + 2] === 0x0a) {
        const cont = String.fromCharCode(flag) as MsrpContinuation;
        if (p.skipping) {
          out.push(this.errorEvent(p.head, fail("E_MSRP_TOO_LARGE", `chunk body larger than ${this.maxBody} bytes`)));
        } else {
          out.push(this.assemble(p.head, Buffer.from(view.subarray(p.bodyStart, i)), cont));
        }
        this.q.consume(i + marker.length + 3);
        this.pending = undefined;
        return true;
      }
      from = i + 1;
    }
    // not found yet: keep the tail that could start the marker
    p.searchFrom = Math.max(p.bodyStart, view.length - marker.length - 2);
    if (!p.skipping && view.length - p.bodyStart > this.maxBody + marker.length + 2) p.skipping = true;
    if (p.skipping && p.searchFrom > p.bodyStart) {
      // drop what cannot hold the end-line any more; header bytes stay accounted in `bodyStart = 0` form
      this.q.consume(p.searchFrom);
      p.bodyStart = 0;
      p.searchFrom = 0;
    }
    return false;
  }

  private parseHead(view: Buffer): HeadResult {
    const lineEnd = view.indexOf(CRLF);
    if (lineEnd < 0) {
      if (view.length > 1024) return { fatal: fail("E_MSRP_START_LINE", "start line longer than 1024 bytes") };
      // RFC 4975 §9: pMSRP = %x4D.53.52.50 ("MSRP", case-sensitive); reject garbage early
      const probe = view.subarray(0, 5).toString("latin1");
      if (!"MSRP ".startsWith(probe)) return { fatal: fail("E_MSRP_START_LINE", "stream does not start with MSRP") };
      return { need: true };
    }
    const start = view.toString("utf8", 0, lineEnd);
    // RFC 4975 §9: req-start / resp-start = pMSRP SP transact-id SP (method / status-code [SP comment]) CRLF
    const m = /^MSRP ([A-Za-z0-9][A-Za-z0-9.\-+%=]{3,31}) (.+)$/.exec(start);
    if (!m) return { fatal: fail("E_MSRP_START_LINE", `bad start line "${start.slice(0, 60)}"`) };
    const tid = m[1] ?? "";
    const rest = m[2] ?? "";
    const head: Head = { tid, headers: [] };
    const rm = /^(\d{3})(?: (.*))?$/.exec(rest);
    if (METHOD_RE.test(rest)) head.request = { method: rest };
    else if (rm) {
      head.response = { status: Number(rm[1]) };
      if (rm[2] !== undefined && rm[2] !== "") head.response.comment = rm[2];
    } else return { fatal: fail("E_MSRP_START_LINE", `bad method or status "${rest.slice(0, 40)}"`), tid };
    const endLine = `-------${tid}`;
    let pos = lineEnd + 2;
    for (;;) {
      const le = view.indexOf(CRLF, pos);
      if (le < 0) {
        if (view.length > this.maxHeader)
          return { fatal: fail("E_MSRP_HEADER", `header block larger than ${this.maxHeader} bytes`), tid };
        return { need: true };
      }
      if (le > this.maxHeader)
        return { fatal: fail("E_MSRP_HEADER", `header block larger than ${this.maxHeader} bytes`), tid };
      const line = view.toString("utf8", pos, le);
      // RFC 4975 §9: content-stuff starts after 2CRLF (the empty line)
      if (line === "") return { head, bodyStart: le + 2 };
      if (line.length === endLine.length + 1 && line.startsWith(endLine)) {
        const flag = line[line.length - 1] ?? "";
        if (flag === "$" || flag === "+" || flag === "#") return { head, frameEnd: le + 2, flag };
      }
      head.headers.push(line);
      pos = le + 2;
    }
  }

  private errorEvent(head: Head, error: E2aeError, paths?: { to?: string[]; from?: string[] }): MsrpParseEvent {
    return {
      type: "error",
      error,
      transactionId: head.tid,
      ...(head.request ? { method: head.request.method } : {}),
      ...(paths?.to ? { toPath: paths.to } : {}),
      ...(paths?.from ? { fromPath: paths.from } : {}),
      fatal: false,
    };
  }

  private assemble(head: Head, body: Buffer | undefined, flag: MsrpContinuation): MsrpParseEvent {
    const d = decodeHeaders(head.headers);
    const paths = { ...(d.toPath ? { to: d.toPath } : {}), ...(d.fromPath ? { from: d.fromPath } : {}) };
    if (d.error) return this.errorEvent(head, d.error, paths);
    if (!d.toPath || !d.fromPath)
      return this.errorEvent(head, fail("E_MSRP_MISSING_HEADER", "To-Path and From-Path are mandatory"), paths);
    if (head.response) {
      // RFC 4975 §9: msrp-response = resp-start headers end-line (no content-stuff)
      if (body !== undefined) return this.errorEvent(head, fail("E_MSRP_BODY", "a response carries no body"), paths);
      const r: MsrpResponse = {
        kind: "response",
        transactionId: head.tid,
        status: head.response.status,
        toPath: d.toPath,
        fromPath: d.fromPath,
        headers: d.other,
        continuation: flag,
      };
      if (head.response.comment !== undefined) r.comment = head.response.comment;
      return { type: "frame", frame: r };
    }
    // RFC 4975 §9: content-stuff requires Content-Type before the 2CRLF
    if (body !== undefined && d.contentType === undefined)
      return this.errorEvent(head, fail("E_MSRP_MISSING_HEADER", "a body needs a Content-Type"), paths);
    if (body === undefined && d.contentType !== undefined)
      return this.errorEvent(head, fail("E_MSRP_BODY", "Content-Type without the empty line and body"), paths);
    const req: MsrpRequest = {
      kind: "request",
      transactionId: head.tid,
      method: head.request?.method ?? "",
      toPath: d.toPath,
      fromPath: d.fromPath,
      headers: d.other,
      continuation: flag,
    };
    if (d.messageId !== undefined) req.messageId = d.messageId;
    if (d.byteRange !== undefined) req.byteRange = d.byteRange;
    if (d.successReport !== undefined) req.successReport = d.successReport;
    if (d.failureReport !== undefined) req.failureReport = d.failureReport;
    if (d.status !== undefined) req.status = d.status;
    if (d.contentType !== undefined) req.contentType = d.contentType;
    if (body !== undefined) req.body = body;
    return { type: "frame", frame: req };
  }
}

interface DecodedHeaders {
  toPath?: string[];
  fromPath?: string[];
  messageId?: string;
  byteRange?: ByteRange;
  successReport?: "yes" | "no";
  failureReport?: "yes" | "no" | "partial";
  status?: MsrpStatusHeader;
  contentType?: string;
  other: MsrpHeader[];
  error?: E2aeError;
}

function decodeHeaders(lines: readonly string[]): DecodedHeaders {
  const d: DecodedHeaders = { other: [] };
  const seen = new Set<string>();
  const bad = (code: E2aeErrorCode, msg: string): DecodedHeaders => ({ ...d, error: fail(code, msg) });
  for (const line of lines) {
    const m = HEADER_RE.exec(line);
    if (!m) return bad("E_MSRP_HEADER", `header line "${line.slice(0, 60)}" is not hname ":" SP hval`);
    const name = m[1] ?? "";
    const value = m[2] ?? "";
    const key = name.toLowerCase();
    const known = [
      "to-path",
      "from-path",
      "message-id",
      "byte-range",
      "success-report",
      "failure-report",
      "status",
      "content-type",
    ];
    if (known.includes(key)) {
      // RFC 4975 §9: each of these headers appears at most once
      if (seen.has(key)) return bad("E_MSRP_HEADER", `${name} appears twice`);
      seen.add(key);
    }
    switch (key) {
      case "to-path":
      case "from-path": {
        const uris = value.split(/ +/).filter((u) => u !== "");
        if (uris.length === 0) return bad("E_MSRP_PATH", `${name} is empty`);
        // RFC 4975 §9: To-Path / From-Path = MSRP-URI *(SP MSRP-URI)
        const badUri = uris.find((u) => !parseMsrpUri(u).value);
        if (badUri !== undefined) return bad("E_MSRP_PATH", `${name} URI "${badUri.slice(0, 60)}" is not an MSRP-URI`);
        if (key === "to-path") d.toPath = uris;
        else d.fromPath = uris;
        break;
      }
      case "message-id":
        // RFC 4975 §9: Message-ID = "Message-ID:" SP ident
        if (!IDENT_RE.test(value)) return bad("E_MSRP_HEADER", `Message-ID "${value.slice(0, 40)}" is not an ident`);
        d.messageId = value;
        break;
      case "byte-range": {
        const r = parseByteRange(value);
        if (r instanceof E2aeError) return { ...d, error: r };
        d.byteRange = r;
        break;
      }
      case "success-report":
        // RFC 4975 §9: Success-Report = "yes" / "no"
        if (value !== "yes" && value !== "no") return bad("E_MSRP_HEADER", `Success-Report "${value}" is not yes/no`);
        d.successReport = value;
        break;
      case "failure-report":
        // RFC 4975 §9: Failure-Report = "yes" / "no" / "partial"
        if (value !== "yes" && value !== "no" && value !== "partial")
          return bad("E_MSRP_HEADER", `Failure-Report "${value}" is not yes/no/partial`);
        d.failureReport = value;
        break;
      case "status": {
        // RFC 4975 §9: Status = namespace SP status-code [SP text-reason]; namespace = 3DIGIT
        const s = /^(\d{3}) (\d{3})(?: (.*))?$/.exec(value);
        if (!s) return bad("E_MSRP_HEADER", `Status "${value.slice(0, 40)}" is not namespace SP code`);
        d.status = { namespace: s[1] ?? "", code: Number(s[2]) };
        if (s[3] !== undefined && s[3] !== "") d.status.reason = s[3];
        break;
      }
      case "content-type":
        if (!CONTENT_TYPE_RE.test(value))
          return bad("E_MSRP_HEADER", `Content-Type "${value.slice(0, 60)}" is not type/subtype`);
        d.contentType = value;
        break;
      default:
        d.other.push({ name, value });
    }
  }
  return d;
}

/** Parses exactly one complete frame (tables, tools). Extra bytes after the frame are an error. */
export function parseMsrp(bytes: Uint8Array | string, opts: MsrpParserOptions = {}): MsrpFrame | E2aeError {
  const p = new MsrpParser(opts);
  const events = p.push(typeof bytes === "string" ? Buffer.from(bytes, "utf8") : bytes);
  const first = events[0];
  if (!first) return fail("E_MSRP_END_LINE", "incomplete frame: no end-line");
  if (first.type === "error") return first.error;
  if (events.length > 1 || p.buffered > 0) return fail("E_MSRP_END_LINE", "bytes after the end-line");
  return first.frame;
}

// ---------------------------------------------------------------------------------------------------------------
// URI matching and content types
// ---------------------------------------------------------------------------------------------------------------

/** RFC 4975 §6: the well-known MSRP port, used when a URI has no port. */
export const MSRP_DEFAULT_PORT = 2855;

export type PathMatchMode = "strict" | "session-id";

/**
 * RFC 4975 §6.1 URI comparison: scheme, host and transport case-insensitive, port numeric (default 2855), session-id
 * case-sensitive; userinfo and URI parameters are not compared. `session-id` mode compares the session-id only
 * (RFC 6714 session matching; for media anchors that rewrite host/port/scheme but keep the session-id).
 */
export function msrpUriMatches(a: string | MsrpUri, b: string | MsrpUri, mode: PathMatchMode = "strict"): boolean {
  const ua = typeof a === "string" ? parseMsrpUri(a).value : a;
  const ub = typeof b === "string" ? parseMsrpUri(b).value : b;
  if (!ua || !ub) return false;
  if (ua.sessionId === undefined || ub.sessionId === undefined) {
    if (mode === "session-id") return false;
  } else if (ua.sessionId !== ub.sessionId) return false;
  if (mode === "session-id") return true;
  return (
    ua.scheme === ub.scheme &&
    ua.host.toLowerCase() === ub.host.toLowerCase() &&
    (ua.port ?? MSRP_DEFAULT_PORT) === (ub.port ?? MSRP_DEFAULT_PORT) &&
    ua.transport.toLowerCase() === ub.transport.toLowerCase()
  );
}

export function formatPath(uris: readonly MsrpUri[]): string[] {
  return uris.map(formatMsrpUri);
}

function mediaType(ct: string): string {
  return (ct.split(";")[0] ?? "").trim().toLowerCase();
}

/**
 * RFC 4975 §8.6: a content type is acceptable when a=accept-types lists it, its type with "/*", or "*".
 * (Wrapped types inside message/cpim are not inspected here.)
 */
export function isAcceptedType(acceptTypes: readonly string[], contentType: string): boolean {
  const t = mediaType(contentType);
  const major = t.split("/")[0] ?? "";
  return acceptTypes.some((a) => {
    const x = a.toLowerCase();
    return x === "*" || x === t || x === `${major}/*`;
  });
}
