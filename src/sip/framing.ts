/**
 * Stream framing for SIP over TCP (RFC 3261 §18.3): a message ends after its header section plus Content-Length
 * body bytes. Handles partial reads, several messages per read, and CRLF keep-alives before a start line
 * (RFC 3261 §7.5; RFC 5626 §3.5.1: CRLFCRLF "ping", answered by a CRLF "pong"). Bounded: the buffer never holds more
 * than `maxMessageSize` bytes of one message. Pure, no I/O.
 */
import { SipError, type SipErrorCode } from "./errors.ts";
import { parseDigits } from "./grammar.ts";
import { findHeaderEnd, skipLeadingCrlf } from "./parse.ts";

export type FramerEvent =
  | { type: "message"; bytes: Uint8Array }
  /** RFC 5626 §3.5.1: a CRLFCRLF ping was received (answer with CRLF) */
  | { type: "ping" }
  /**
   * The stream cannot be framed any further (the connection should be closed). `head` holds the header section
   * when it was complete, so that a request can still be answered (413, or 400 for a bad Content-Length).
   */
  | { type: "error"; error: SipError; head?: Uint8Array | undefined; tooLarge: "head" | "body" | undefined };

export interface FramerOptions {
  /** largest message accepted, header section plus body; default 65536 */
  maxMessageSize?: number;
}

const latin1 = new TextDecoder("latin1");

/** Finds Content-Length in a header section without a full parse (compact form "l" included, folding undone). */
export function scanContentLength(head: Uint8Array): { value?: number; error?: string } {
  const text = latin1.decode(head).replace(/\r?\n[ \t]+/g, " ");
  let found: number | undefined;
  for (const line of text.split(/\r?\n/).slice(1)) {
    const m = /^(content-length|l)[ \t]*:(.*)$/i.exec(line);
    if (!m) continue;
    const v = parseDigits((m[2] ?? "").trim(), 0x7fffffff);
    if (v === undefined) return { error: "Content-Length is not a non-negative integer" };
    if (found !== undefined && found !== v) return { error: "contradictory Content-Length values" };
    found = v;
  }
  return found === undefined ? {} : { value: found };
}

export class SipStreamFramer {
  private buf: Uint8Array = new Uint8Array(0);
  /** bytes of `buf` already searched for the end of the header section */
  private scanned = 0;
  private crlfPairs = 0;
  /** total length of the message being read, once its header section is complete */
  private pendingTotal: number | undefined;
  private broken = false;
  readonly maxMessageSize: number;

  constructor(opts: FramerOptions = {}) {
    this.maxMessageSize = opts.maxMessageSize ?? 65536;
  }

  /** Bytes currently buffered (bounded by maxMessageSize + one read). */
  get buffered(): number {
    return this.buf.byteLength;
  }

  /** True after an error event: the stream can no longer be framed. */
  get failed(): boolean {
    return this.broken;
  }

  push(chunk: Uint8Array): FramerEvent[] {
    if (this.broken) return [];
    const events: FramerEvent[] = [];
    if (this.buf.byteLength === 0) this.buf = new Uint8Array(chunk);
    else {
      const next = new Uint8Array(this.buf.byteLength + chunk.byteLength);
      next.set(this.buf, 0);
      next.set(chunk, this.buf.byteLength);
      this.buf = next;
    }
    for (let guard = 0; guard < 100_000 && this.buf.byteLength > 0; guard++) {
      if (this.pendingTotal === undefined) {
        // RFC 3261 §7.5 / RFC 5626 §3.5.1: CRLFs between messages are keep-alives; two CRLFs form a ping
        if (this.scanned === 0) {
          const start = skipLeadingCrlf(this.buf);
          if (start > 0) {
            this.countKeepAlive(this.buf.subarray(0, start), events);
            this.buf = this.buf.subarray(start);
            if (this.buf.byteLength === 0) break;
          }
        }
        const end = findHeaderEnd(this.buf, Math.max(0, this.scanned - 3));
        if (!end) {
          this.scanned = this.buf.byteLength;
          if (this.buf.byteLength > this.maxMessageSize) {
            this.fail(events, "E_SIP_TOO_LARGE", "header section exceeds the maximum message size", undefined, "head");
          }
          break;
        }
        const head = this.buf.subarray(0, end.bodyStart);
        if (end.bodyStart > this.maxMessageSize) {
          this.fail(events, "E_SIP_TOO_LARGE", "header section exceeds the maximum message size", head, "head");
          break;
        }
        const cl = scanContentLength(head);
        if (cl.error !== undefined) {
          this.fail(events, "E_SIP_CONTENT_LENGTH", cl.error, head, undefined);
          break;
        }
        if (cl.value === undefined) {
          // RFC 3261 §18.3: Content-Length MUST be used with stream-oriented transports
          this.fail(events, "E_SIP_CONTENT_LENGTH", "Content-Length is required on stream transports", head, undefined);
          break;
        }
        const total = end.bodyStart + cl.value;
        if (total > this.maxMessageSize) {
          this.fail(
            events,
            "E_SIP_TOO_LARGE",
            `message of ${total} bytes exceeds ${this.maxMessageSize}`,
            head,
            "body",
          );
          break;
        }
        this.pendingTotal = total;
      }
      const total = this.pendingTotal;
      if (this.buf.byteLength < total) break; // wait for the rest of the body
      events.push({ type: "message", bytes: new Uint8Array(this.buf.subarray(0, total)) });
      this.crlfPairs = 0;
      this.buf = this.buf.subarray(total);
      this.scanned = 0;
      this.pendingTotal = undefined;
    }
    if (this.buf.byteLength === 0) this.buf = new Uint8Array(0);
    return events;
  }

  private countKeepAlive(bytes: Uint8Array, events: FramerEvent[]): void {
    for (let i = 0; i < bytes.length; i++) {
      if (bytes[i] === 0x0a) {
        this.crlfPairs++;
        if (this.crlfPairs === 2) {
          events.push({ type: "ping" });
          this.crlfPairs = 0;
        }
      }
    }
  }

  private fail(
    events: FramerEvent[],
    code: SipErrorCode,
    message: string,
    head: Uint8Array | undefined,
    tooLarge: "head" | "body" | undefined,
  ): void {
    this.broken = true;
    events.push({
      type: "error",
      error: new SipError(code, message),
      head: head ? new Uint8Array(head) : undefined,
      tooLarge,
    });
    this.buf = new Uint8Array(0);
  }
}
