/**
 * One MSRP session over one (already verified) TLS or TCP connection (RFC 4975): chunked SEND with pipelined
 * transactions and a bounded window, 200/error responses, reassembly per Message-ID (interleaving allowed),
 * To-Path matching, REPORT reception and success reports on request. The socket handlers never throw.
 */

import type { Duplex } from "node:stream";
import { type Logger, silentLogger } from "../../log.ts";
import { formatMsrpUri, type MsrpUri, parseMsrpUri } from "../../sdp/index.ts";
import { TypedEmitter } from "../../sip/emitter.ts";
import { E2aeError } from "./errors.ts";
import { bodyContainsEndLine, encodeMsrp } from "./msrpEncode.ts";
import { newMessageId, newTransactionId } from "./msrpGrammar.ts";
import { MsrpParser } from "./msrpParser.ts";
import {
  type ByteRange,
  MSRP_STATUS_TEXT,
  type MsrpFrame,
  type MsrpHeader,
  type MsrpRequest,
  type MsrpResponse,
} from "./msrpTypes.ts";
import { isAcceptedType, msrpUriMatches, type PathMatchMode } from "./msrpUri.ts";

export interface MsrpSessionOptions {
  /** Our a=path (our own URI is the last one; RFC 4975 §8.2). */
  localPath: ReadonlyArray<string | MsrpUri>;
  /** The peer's a=path as signalled; it becomes the To-Path of our requests (RFC 4975 §7.1). */
  remotePath: ReadonlyArray<string | MsrpUri>;
  /** Our a=accept-types (RFC 4975 §8.6); default ["*"]. */
  acceptTypes?: readonly string[];
  /** RFC 4975 §7.3 strict URI match (default), or session-id only (RFC 6714; anchors that rewrite a=path). */
  pathMatch?: PathMatchMode;
  /** Chunk size for SEND (RFC 4975 §5.1); default 2048 octets. */
  chunkSize?: number;
  /** Chunks in flight (sent, not yet answered) per session; default 16. */
  window?: number;
  /** Largest chunk body accepted (default 1 MiB); larger chunks are answered 413. */
  maxChunkBytes?: number;
  /** Largest reassembled message (default 16 MiB); larger messages are answered 413. */
  maxMessageBytes?: number;
  /** Messages being reassembled at once (default 16). */
  maxIncomplete?: number;
  /** RFC 4975 §7.1.1: a transaction without response fails (408 semantics) after this time; default 30 s. */
  transactionTimeoutMs?: number;
  logger?: Logger;
}

export interface MsrpMessage {
  messageId: string;
  contentType: string;
  content: Buffer;
  /** Other headers of the first chunk (MIME headers such as Content-ID). */
  headers: MsrpHeader[];
  chunks: number;
}

export interface MsrpReport {
  messageId: string;
  status: { namespace: string; code: number; reason?: string };
  byteRange?: ByteRange;
}

export interface MsrpSendOptions {
  messageId?: string;
  /** RFC 4975 §7.1.1 Success-Report: yes asks the receiver for a REPORT once the message is complete. */
  successReport?: boolean;
  /** Overrides the session chunk size for this message. */
  chunkSize?: number;
}

export interface MsrpSendResult {
  messageId: string;
  chunks: number;
  bytes: number;
}

export interface MsrpSessionEvents {
  message: [MsrpMessage];
  report: [MsrpReport];
  /** a received frame was refused (we answered with an error status); the session goes on */
  protocolError: [E2aeError];
  /** the session ended: undefined for a local/clean close, the error otherwise */
  close: [E2aeError | undefined];
}

interface PendingTx {
  resolve: (r: MsrpResponse) => void;
  reject: (e: E2aeError) => void;
  timer: NodeJS.Timeout;
}

interface Incoming {
  contentType: string;
  headers: MsrpHeader[];
  buf: Buffer;
  /** merged [start, end) intervals received (0-based) */
  got: Array<[number, number]>;
  finalLength?: number;
  chunks: number;
  successReport: boolean;
  fromPath: string[];
}

function asUri(u: string | MsrpUri): string {
  return typeof u === "string" ? u : formatMsrpUri(u);
}

function addInterval(list: Array<[number, number]>, s: number, e: number): void {
  if (e <= s) return;
  list.push([s, e]);
  list.sort((a, b) => a[0] - b[0]);
  const merged: Array<[number, number]> = [];
  for (const [a, b] of list) {
    const last = merged[merged.length - 1];
    if (last && a <= last[1]) last[1] = Math.max(last[1], b);
    else merged.push([a, b]);
  }
  list.splice(0, list.length, ...merged);
}

export class MsrpSession extends TypedEmitter<MsrpSessionEvents> {
  readonly localPath: readonly string[];
  readonly remotePath: readonly string[];
  private readonly localUri: MsrpUri;
  private readonly socket: Duplex;
  private readonly parser: MsrpParser;
  private readonly opts: Required<
    Pick<
      MsrpSessionOptions,
      "chunkSize" | "window" | "maxMessageBytes" | "maxIncomplete" | "transactionTimeoutMs" | "pathMatch"
    >
  >;
  private readonly acceptTypes: readonly string[];
  private readonly log: Logger;
  private readonly pending = new Map<string, PendingTx>();
  private readonly incoming = new Map<string, Incoming>();
  private readonly slotWaiters: Array<() => void> = [];
  private inflight = 0;
  private closed = false;
  private readonly closedPromise: Promise<void>;
  /** statistics */
  readonly stats = { framesIn: 0, framesOut: 0, messagesIn: 0, messagesOut: 0, refused: 0 };

  constructor(socket: Duplex, opts: MsrpSessionOptions) {
    super();
    this.socket = socket;
    this.localPath = opts.localPath.map(asUri);
    this.remotePath = opts.remotePath.map(asUri);
    const own = this.localPath[this.localPath.length - 1];
    const parsed = own === undefined ? undefined : parseMsrpUri(own).value;
    if (!parsed || this.remotePath.length === 0)
      throw new E2aeError("E_MSRP_PATH", "MSRP session needs a local and a remote a=path");
    this.localUri = parsed;
    this.acceptTypes = opts.acceptTypes ?? ["*"];
    this.opts = {
      chunkSize: Math.max(1, opts.chunkSize ?? 2048),
      window: Math.max(1, opts.window ?? 16),
      maxMessageBytes: opts.maxMessageBytes ?? 16 * 1024 * 1024,
      maxIncomplete: opts.maxIncomplete ?? 16,
      transactionTimeoutMs: opts.transactionTimeoutMs ?? 30_000,
      pathMatch: opts.pathMatch ?? "strict",
    };
    this.log = opts.logger ?? silentLogger;
    this.parser = new MsrpParser({ maxBodyBytes: opts.maxChunkBytes ?? 1024 * 1024 });
    this.closedPromise = new Promise<void>((resolve) => {
      if (socket.destroyed) resolve();
      else socket.once("close", () => resolve());
    });
    socket.on("data", (d: Buffer) => this.onData(d));
    socket.on("error", (e: Error) => this.finish(new E2aeError("E_MSRP_CLOSED", `socket error: ${e.message}`)));
    socket.on("close", () => this.finish(this.closed ? undefined : new E2aeError("E_MSRP_CLOSED", "peer closed")));
    socket.on("end", () => {
      // RFC 4975 §5.4: a session ends with its connection; answer the FIN with ours
      if (!this.closed) socket.end();
    });
  }

  get isClosed(): boolean {
    return this.closed;
  }

  /** Sends a bodiless SEND (RFC 4975 §5.4: the active endpoint binds the connection to the session at once). */
  async bind(): Promise<void> {
    const tid = newTransactionId();
    const req: MsrpRequest = {
      kind: "request",
      transactionId: tid,
      method: "SEND",
      toPath: [...this.remotePath],
      fromPath: [...this.localPath],
      messageId: newMessageId(),
      // RFC 4975 §7.1.1: Byte-Range of a bodiless SEND = no octets (1-0/0, as deployed peers send it)
      byteRange: { start: 1, end: 0, total: 0 },
      headers: [],
      continuation: "$",
    };
    const res = await this.transact(req);
    if (res.status < 200 || res.status > 299) {
      throw new E2aeError("E_MSRP_RESPONSE", `bodiless SEND answered ${res.status}`, {
        details: { status: res.status },
      });
    }
  }

  /**
   * Sends one message, chunked (RFC 4975 §5.1: Byte-Range per chunk, "+" on all but the last, "$" on the last).
   * Resolves when every chunk got its 2xx; rejects with E_MSRP_RESPONSE / E_MSRP_TIMEOUT / E_MSRP_CLOSED.
   */
  async send(content: string | Uint8Array, contentType: string, opts: MsrpSendOptions = {}): Promise<MsrpSendResult> {
    if (this.closed) throw new E2aeError("E_MSRP_CLOSED", "session is closed");
    const data = typeof content === "string" ? Buffer.from(content, "utf8") : Buffer.from(content);
    const messageId = opts.messageId ?? newMessageId();
    const size = Math.max(1, opts.chunkSize ?? this.opts.chunkSize);
    const total = data.length;
    const results: Array<Promise<void>> = [];
    let failed: E2aeError | undefined;
    let off = 0;
    let chunks = 0;
    do {
      if (failed || this.closed) break;
      const end = Math.min(total, off + size);
      const body = data.subarray(off, end);
      const last = end >= total;
      const req: MsrpRequest = {
        kind: "request",
        transactionId: this.tidFor(body),
        method: "SEND",
        toPath: [...this.remotePath],
        fromPath: [...this.localPath],
        messageId,
        // RFC 4975 §7.1.1: Byte-Range = first-last/total, 1-based
        byteRange: { start: off + 1, end, total },
        headers: [],
        contentType,
        body,
        // RFC 4975 §7.1.1: "+" more chunks follow, "$" last chunk
        continuation: last ? "$" : "+",
      };
      // RFC 4975 §7.1.1: Success-Report defaults to "no"; ask for a REPORT only when wanted
      if (opts.successReport) req.successReport = "yes";
      await this.acquireSlot();
      if (failed || this.closed) {
        this.releaseSlot();
        break;
      }
      const p = this.transact(req)
        .then(
          (r) => {
            if (r.status < 200 || r.status > 299) {
              // RFC 4975 §7.1.1 / §10: an error response to a chunk ends the message (413: stop sending it)
              failed ??= new E2aeError("E_MSRP_RESPONSE", `chunk answered ${r.status} ${r.comment ?? ""}`.trim(), {
                details: { status: r.status, messageId },
              });
            }
          },
          (e: unknown) => {
            failed ??= e instanceof E2aeError ? e : new E2aeError("E_MSRP_CLOSED", String(e));
          },
        )
        // the verdict is recorded before the window slot is handed to the next chunk
        .finally(() => this.releaseSlot());
      results.push(p);
      chunks++;
      off = end;
    } while (off < total);
    await Promise.allSettled(results);
    if (failed) throw failed;
    if (this.closed && chunks === 0) throw new E2aeError("E_MSRP_CLOSED", "session is closed");
    this.stats.messagesOut++;
    return { messageId, chunks, bytes: total };
  }

  private tidFor(body: Uint8Array): string {
    for (let i = 0; i < 8; i++) {
      const tid = newTransactionId();
      // RFC 4975 §7.1: the end-line must not appear in the body; pick another transact-id if it does
      if (!bodyContainsEndLine(body, tid)) return tid;
    }
    throw new E2aeError("E_MSRP_END_LINE", "could not pick a transact-id absent from the body");
  }

  private acquireSlot(): Promise<void> {
    if (this.inflight < this.opts.window) {
      this.inflight++;
      return Promise.resolve();
    }
    return new Promise<void>((resolve) => {
      this.slotWaiters.push(() => {
        this.inflight++;
        resolve();
      });
    });
  }

  private releaseSlot(): void {
    this.inflight--;
    const next = this.slotWaiters.shift();
    if (next) next();
  }

  private transact(req: MsrpRequest): Promise<MsrpResponse> {
    if (this.closed) return Promise.reject(new E2aeError("E_MSRP_CLOSED", "session is closed"));
    return new Promise<MsrpResponse>((resolve, reject) => {
      const timer = setTimeout(() => {
        this.pending.delete(req.transactionId);
        // RFC 4975 §7.1.1: no response in time ⇒ the transaction failed (as if 408 had been received)
        reject(
          new E2aeError(
            "E_MSRP_TIMEOUT",
            `no response to ${req.transactionId} within ${this.opts.transactionTimeoutMs} ms`,
          ),
        );
      }, this.opts.transactionTimeoutMs);
      timer.unref?.();
      this.pending.set(req.transactionId, { resolve, reject, timer });
      this.write(req).catch((e: unknown) => {
        const p = this.pending.get(req.transactionId);
        if (!p) return;
        clearTimeout(p.timer);
        this.pending.delete(req.transactionId);
        p.reject(e instanceof E2aeError ? e : new E2aeError("E_MSRP_CLOSED", String(e)));
      });
    });
  }

  private write(frame: MsrpFrame): Promise<void> {
    if (this.closed || this.socket.destroyed || this.socket.writableEnded)
      return Promise.reject(new E2aeError("E_MSRP_CLOSED", "session is closed"));
    let bytes: Buffer;
    try {
      bytes = encodeMsrp(frame);
    } catch (e) {
      return Promise.reject(e);
    }
    this.stats.framesOut++;
    if (this.socket.write(bytes)) return Promise.resolve();
    return new Promise<void>((resolve, reject) => {
      const onDrain = () => {
        this.socket.off("close", onClose);
        resolve();
      };
      const onClose = () => {
        this.socket.off("drain", onDrain);
        reject(new E2aeError("E_MSRP_CLOSED", "connection closed while writing"));
      };
      this.socket.once("drain", onDrain);
      this.socket.once("close", onClose);
    });
  }

  private onData(d: Buffer): void {
    if (this.closed) return;
    try {
      for (const ev of this.parser.push(d)) {
        if (ev.type === "frame") {
          this.stats.framesIn++;
          this.onFrame(ev.frame);
        } else if (ev.fatal) {
          this.log.warn({ code: ev.error.code, err: ev.error.message }, "MSRP stream unreadable; closing");
          this.emit("protocolError", ev.error);
          this.finish(ev.error);
          this.socket.destroy();
          return;
        } else {
          this.stats.refused++;
          this.emit("protocolError", ev.error);
          // RFC 4975 §7.3 / §10: a malformed request is answered 400, an oversize chunk 413 (not REPORTs, §7.1.2)
          if (ev.transactionId && ev.method && ev.method !== "REPORT" && ev.fromPath?.[0] !== undefined) {
            const status = ev.error.code === "E_MSRP_TOO_LARGE" ? 413 : 400;
            this.respondTo(ev.transactionId, ev.fromPath, status);
          }
        }
      }
    } catch (e) {
      // never throw out of a socket handler
      const err = e instanceof E2aeError ? e : new E2aeError("E_MSRP_HEADER", `internal error: ${String(e)}`);
      this.emit("protocolError", err);
    }
  }

  private onFrame(f: MsrpFrame): void {
    if (f.kind === "response") {
      const p = this.pending.get(f.transactionId);
      if (!p) {
        this.log.debug({ tid: f.transactionId }, "MSRP response to an unknown transaction ignored");
        return;
      }
      clearTimeout(p.timer);
      this.pending.delete(f.transactionId);
      p.resolve(f);
      return;
    }
    const to = f.toPath[0] ?? "";
    // RFC 4975 §7.3: the first To-Path URI must name this session (§6.1 comparison); else 481
    if (!msrpUriMatches(to, this.localUri, this.opts.pathMatch)) {
      this.stats.refused++;
      this.emit(
        "protocolError",
        new E2aeError(
          "E_MSRP_PATH_MISMATCH",
          `To-Path ${to.slice(0, 80)} is not this session (${this.opts.pathMatch})`,
        ),
      );
      if (f.method !== "REPORT") this.reply(f, 481);
      return;
    }
    if (f.method === "SEND") this.onSend(f);
    else if (f.method === "REPORT") this.onReport(f);
    // RFC 4975 §7.3 / §10: unknown methods are answered 501
    else this.reply(f, 501);
  }

  private onReport(f: MsrpRequest): void {
    // RFC 4975 §7.1.2: REPORT requests are never answered
    if (!f.messageId || !f.status) {
      this.emit("protocolError", new E2aeError("E_MSRP_MISSING_HEADER", "REPORT without Message-ID or Status"));
      return;
    }
    const r: MsrpReport = { messageId: f.messageId, status: f.status };
    if (f.byteRange) r.byteRange = f.byteRange;
    this.emit("report", r);
  }

  private onSend(f: MsrpRequest): void {
    // RFC 4975 §7.1.1: every SEND carries a Message-ID
    if (!f.messageId) {
      this.refuse(f, 400, "E_MSRP_MISSING_HEADER", "SEND without Message-ID");
      return;
    }
    // RFC 4975 §5.4 / §7.1.1: a bodiless SEND only binds the connection; answer it, deliver nothing
    if (f.body === undefined) {
      this.reply(f, 200);
      return;
    }
    const ct = f.contentType ?? "";
    // RFC 4975 §8.6 / §10: content outside our a=accept-types is refused with 415
    if (!isAcceptedType(this.acceptTypes, ct)) {
      this.refuse(f, 415, "E_MSRP_HEADER", `Content-Type ${ct} not in accept-types`);
      return;
    }
    const len = f.body.length;
    // RFC 4975 §7.1.1: a SEND without Byte-Range carries the whole message in one chunk
    const range: ByteRange = f.byteRange ?? { start: 1, end: len, total: f.continuation === "+" ? "*" : len };
    if (range.end !== "*" && range.end - range.start + 1 !== len) {
      this.refuse(f, 400, "E_MSRP_BYTE_RANGE", `Byte-Range ${range.start}-${range.end} does not fit ${len} bytes`);
      return;
    }
    const endPos = range.start - 1 + len;
    if (range.total !== "*" && endPos > range.total) {
      this.refuse(f, 400, "E_MSRP_BYTE_RANGE", "chunk goes beyond the Byte-Range total");
      return;
    }
    const bound = this.opts.maxMessageBytes;
    // RFC 4975 §10: 413 asks the sender to stop sending this message
    if ((range.total !== "*" && range.total > bound) || endPos > bound) {
      this.incoming.delete(f.messageId);
      this.refuse(f, 413, "E_MSRP_TOO_LARGE", `message larger than ${bound} bytes`);
      return;
    }
    let m = this.incoming.get(f.messageId);
    if (!m) {
      if (this.incoming.size >= this.opts.maxIncomplete) {
        this.refuse(f, 413, "E_MSRP_TOO_LARGE", `more than ${this.opts.maxIncomplete} messages in reassembly`);
        return;
      }
      m = {
        contentType: ct,
        headers: f.headers,
        // grown on demand up to the announced total (or the bound): a large announced total costs nothing upfront
        buf: Buffer.alloc(Math.min(range.total !== "*" ? range.total : bound, Math.max(endPos, 65536))),
        got: [],
        chunks: 0,
        successReport: f.successReport === "yes",
        fromPath: f.fromPath,
      };
      this.incoming.set(f.messageId, m);
    }
    if (endPos > m.buf.length) {
      let cap = Math.max(m.buf.length, 1);
      while (cap < endPos) cap *= 2;
      const next = Buffer.alloc(Math.min(bound, cap));
      m.buf.copy(next);
      m.buf = next;
    }
    m.buf.set(f.body, range.start - 1);
    addInterval(m.got, range.start - 1, endPos);
    m.chunks++;
    if (f.continuation === "#") {
      // RFC 4975 §7.1.1: "#" = the sender aborted the message; drop what was received
      this.incoming.delete(f.messageId);
      this.reply(f, 200);
      return;
    }
    if (f.continuation === "$") m.finalLength = range.total !== "*" ? range.total : endPos;
    this.reply(f, 200);
    const fl = m.finalLength;
    const first = m.got[0];
    const complete = fl !== undefined && (fl === 0 || (m.got.length === 1 && first?.[0] === 0 && first[1] === fl));
    if (complete && fl !== undefined) {
      this.incoming.delete(f.messageId);
      this.stats.messagesIn++;
      const msg: MsrpMessage = {
        messageId: f.messageId,
        contentType: m.contentType,
        content: Buffer.from(m.buf.subarray(0, fl)),
        headers: m.headers,
        chunks: m.chunks,
      };
      if (m.successReport) this.sendSuccessReport(f.messageId, fl, m.fromPath);
      this.emit("message", msg);
    }
  }

  /** RFC 4975 §7.1.3: a success REPORT covering the whole message, addressed along the SEND's From-Path. */
  private sendSuccessReport(messageId: string, total: number, fromPath: string[]): void {
    const rep: MsrpRequest = {
      kind: "request",
      transactionId: newTransactionId(),
      method: "REPORT",
      toPath: fromPath,
      fromPath: [formatMsrpUri(this.localUri)],
      messageId,
      byteRange: { start: 1, end: total, total },
      status: { namespace: "000", code: 200, reason: "OK" },
      headers: [],
      continuation: "$",
    };
    this.write(rep).catch(() => {});
  }

  private refuse(f: MsrpRequest, status: number, code: E2aeError["code"], message: string): void {
    this.stats.refused++;
    this.emit("protocolError", new E2aeError(code, message, { details: { status } }));
    this.reply(f, status);
  }

  private reply(f: MsrpRequest, status: number): void {
    // RFC 4975 §7.1.1: Failure-Report "no" ⇒ no response at all; "partial" ⇒ only error responses
    if (f.failureReport === "no") return;
    if (f.failureReport === "partial" && status >= 200 && status < 300) return;
    this.respondTo(f.transactionId, f.fromPath, status);
  }

  private respondTo(tid: string, fromPath: readonly string[], status: number): void {
    const prev = fromPath[0];
    if (prev === undefined) return;
    const res: MsrpResponse = {
      kind: "response",
      transactionId: tid,
      status,
      // RFC 4975 §7.2: the response goes to the previous hop (first From-Path URI), From-Path = the responder
      toPath: [prev],
      fromPath: [formatMsrpUri(this.localUri)],
      headers: [],
      continuation: "$",
    };
    const text = MSRP_STATUS_TEXT[status];
    if (text !== undefined) res.comment = text;
    this.write(res).catch(() => {});
  }

  private finish(err: E2aeError | undefined): void {
    if (this.closed) return;
    this.closed = true;
    const closing = err ?? new E2aeError("E_MSRP_CLOSED", "session closed");
    for (const [tid, p] of this.pending) {
      clearTimeout(p.timer);
      p.reject(new E2aeError("E_MSRP_CLOSED", `${closing.message} (transaction ${tid})`));
    }
    this.pending.clear();
    this.incoming.clear();
    for (const w of this.slotWaiters.splice(0)) w();
    this.emit("close", err);
  }

  /** Ends the session: pending transactions fail with E_MSRP_CLOSED, the connection is closed. Idempotent. */
  async close(): Promise<void> {
    this.finish(undefined);
    if (!this.socket.destroyed) {
      this.socket.end();
      const t = setTimeout(() => this.socket.destroy(), 1000);
      t.unref?.();
      await this.closedPromise;
      clearTimeout(t);
    }
  }
}
