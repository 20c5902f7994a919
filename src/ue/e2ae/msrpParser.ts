/**
 * Incremental MSRP parser (RFC 4975 §7.1, §9) with typed errors, and `parseMsrp` for exactly one frame. Never throws.
 */
import { ByteQueue } from "./bytes.ts";
import type { E2aeError } from "./errors.ts";
import { CRLF, FLAGS, fail, METHOD_RE } from "./msrpGrammar.ts";
import { decodeHeaders } from "./msrpHeaders.ts";
import type { MsrpContinuation, MsrpFrame, MsrpRequest, MsrpResponse } from "./msrpTypes.ts";

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
