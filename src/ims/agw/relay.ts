/**
 * Application-agnostic byte relay between the two connections of a context (TR 29.828 §4.4.2.1.2: the AGW relays
 * TCP; MSRP/BFCP are not parsed — the "application-agnostic" reading of the transport Editor's notes).
 *
 * Fast path: `a.pipe(b); b.pipe(a)`. Backpressure is the stream machinery's: when `b.write()` returns false the
 * source is paused and resumed on 'drain', so at most the writable high-water mark is buffered per direction. There
 * is no inspection and no byte counting of our own; statistics come from the sockets' own counters when the relay
 * ends. One thing per chunk: a TLS source delivers its plaintext record by record (≤ 16 KiB, RFC 8446 §5.1), several
 * per TCP read, each through its own callback into JS (which drains the nextTick queue after it). The destination is
 * corked at the first record and uncorked in `setImmediate` (the check phase right after the poll phase that read
 * them, no timer), so all records read in one event-loop turn leave in one `writev` instead of one write system call
 * each. Uncorking on `process.nextTick` would flush after every record and coalesce nothing. Backpressure is
 * unchanged: a corked `write()` still returns false past the high-water mark.
 *
 * Half-close (RFC 793 §3.5 / RFC 9293 §3.6: a FIN closes one direction only): both sockets run with
 * `allowHalfOpen`, so a FIN from one peer is forwarded as `end()` to the other while the reverse direction keeps
 * flowing. The relay ends when both directions are done, on any error (both destroyed), on idle timeout, or when a
 * half-closed relay stays half-closed longer than `halfCloseMs`.
 *
 * Abort (RFC 9293 §3.10.5: ABORT sends a RST): a peer that resets its connection (ECONNRESET/EPIPE) or stops
 * answering keep-alive probes (ETIMEDOUT) makes the relay reset the other peer's connection too, so the abort is not
 * turned into a clean FIN; a half-close timeout resets both (the open direction is cut mid-stream). Idle timeout and
 * release close with a FIN. The result names the side that ended the relay (`endedBy`).
 */
import type { Socket } from "node:net";
import { TLSSocket } from "node:tls";
import type { RelayEndReason, RelayErrorCause } from "./iqEvents.ts";
import type { TerminationStatistics } from "./iqTypes.ts";

export interface RelayOptions {
  /** No byte in either direction for this long ends the relay (0 = never). */
  idleMs?: number;
  /** After the first FIN (or a clean close) the other direction must finish within this time (0 = never). */
  halfCloseMs?: number;
  /** The TCP sockets under `a` and `b` when those are TLS sockets (to forward an abort as a RST). */
  rawA?: Socket;
  rawB?: Socket;
}

export interface RelayResult {
  reason: RelayEndReason;
  /** counters seen from side A's peer: octets it sent (received by the AGW) and octets delivered to it */
  a: TerminationStatistics;
  b: TerminationStatistics;
  /** the side whose peer ended the relay (FIN, RST, error); absent when the AGW ended it */
  endedBy?: "a" | "b";
  /** with reason "error": what happened */
  cause?: RelayErrorCause;
  error?: string;
}

/** ECONNRESET/EPIPE: the peer aborted (RST); ETIMEDOUT: keep-alive probes or retransmissions went unanswered. */
function classify(e: NodeJS.ErrnoException): RelayErrorCause {
  if (e.code === "ECONNRESET" || e.code === "EPIPE") return "reset";
  if (e.code === "ETIMEDOUT") return "peer-timeout";
  return "other";
}

/**
 * Relays between two connected, verified sockets. `a` and `b` may be TLS sockets (plaintext side) or TCP sockets.
 * The relay takes ownership: it destroys both when it ends.
 */
export class Relay {
  private ended = false;
  private halfTimer: NodeJS.Timeout | undefined;
  private readonly cleanups: (() => void)[] = [];
  /** plaintext octets a→b and b→a, taken from the destination sockets' `bytesWritten` at the end */
  private result: RelayResult | undefined;

  constructor(
    private readonly a: Socket,
    private readonly b: Socket,
    private readonly opts: RelayOptions,
    private readonly onEnd: (result: RelayResult) => void,
  ) {}

  get active(): boolean {
    return !this.ended;
  }

  start(): void {
    const { a, b } = this;
    for (const [self, other, side] of [
      [a, b, "a"],
      [b, a, "b"],
    ] as const) {
      const onError = (e: NodeJS.ErrnoException) => this.finish("error", e.message, side, classify(e));
      const onClose = () => {
        if (this.ended) return;
        // clean only when both directions of `self` completed (FIN received and our FIN flushed)
        if (!(self.readableEnded && self.writableFinished)) {
          this.finish("error", "peer connection closed abruptly", side, "abrupt-close");
          return;
        }
        if (other.destroyed) {
          this.finish("closed", undefined, side);
          return;
        }
        if (!other.writableEnded) other.end();
        this.armHalfClose(); // `other` closes by itself once flushed; the timer bounds the wait
      };
      const onEndOfInput = () => this.armHalfClose();
      const onTimeout = () => this.finish("idle-timeout");
      self.on("error", onError);
      self.on("close", onClose);
      self.on("end", onEndOfInput);
      if (this.opts.idleMs && this.opts.idleMs > 0) {
        self.setTimeout(this.opts.idleMs);
        self.on("timeout", onTimeout);
      }
      this.cleanups.push(() => {
        self.off("error", onError);
        self.off("close", onClose);
        self.off("end", onEndOfInput);
        self.off("timeout", onTimeout);
      });
    }
    if (a instanceof TLSSocket) this.coalesce(a, b);
    if (b instanceof TLSSocket) this.coalesce(b, a);
    // RFC 793 §3.5 half-close: pipe's end() forwards a FIN as a FIN; allowHalfOpen keeps the other direction open.
    a.pipe(b);
    b.pipe(a);
    // A socket may already be gone (peer closed while we were verifying): end at once.
    if (a.destroyed || b.destroyed) {
      this.finish("error", "connection closed before relay start", a.destroyed ? "a" : "b", "abrupt-close");
    }
  }

  /** Corks `dst` at the first chunk from `src` in an event-loop turn and uncorks it in the check phase (one writev). */
  private coalesce(src: Socket, dst: Socket): void {
    let corked = false;
    const uncork = () => {
      corked = false;
      dst.uncork();
    };
    // registered before pipe()'s own 'data' listener, so the cork is in place when pipe writes the chunk
    const onData = () => {
      if (corked || dst.writableEnded) return;
      corked = true;
      dst.cork();
      setImmediate(uncork);
    };
    src.on("data", onData);
    this.cleanups.push(() => src.off("data", onData));
  }

  private armHalfClose(): void {
    const ms = this.opts.halfCloseMs ?? 0;
    if (this.ended || ms <= 0 || this.halfTimer) return;
    this.halfTimer = setTimeout(() => this.finish("half-close-timeout"), ms);
  }

  /** Ends the relay now (release, AGW shutdown). */
  destroy(reason: RelayEndReason = "released"): void {
    this.finish(reason);
  }

  private finish(reason: RelayEndReason, error?: string, endedBy?: "a" | "b", cause?: RelayErrorCause): void {
    if (this.ended) return;
    this.ended = true;
    if (this.halfTimer) clearTimeout(this.halfTimer);
    this.halfTimer = undefined;
    const { a, b } = this;
    this.result = {
      reason,
      a: { octetsReceived: b.bytesWritten, octetsSent: a.bytesWritten },
      b: { octetsReceived: a.bytesWritten, octetsSent: b.bytesWritten },
      ...(endedBy !== undefined ? { endedBy } : {}),
      ...(cause !== undefined ? { cause } : {}),
      ...(error !== undefined ? { error } : {}),
    };
    a.unpipe(b);
    b.unpipe(a);
    if ((cause === "reset" || cause === "peer-timeout") && endedBy !== undefined) {
      // RFC 9293 §3.10.5: the peer aborted; abort toward the other peer too (RST, not a clean FIN)
      const other = endedBy === "a" ? (this.opts.rawB ?? b) : (this.opts.rawA ?? a);
      resetQuietly(other);
    } else if (reason === "half-close-timeout") {
      // the open direction is cut mid-stream: an ABORT (RFC 9293 §3.10.5), so no peer mistakes it for a clean end
      resetQuietly(this.opts.rawA ?? a);
      resetQuietly(this.opts.rawB ?? b);
    }
    for (const s of [a, b]) {
      if (this.opts.idleMs) s.setTimeout(0);
      if (!s.destroyed) s.destroy();
    }
    for (const c of this.cleanups) c();
    this.cleanups.length = 0;
    // swallow late errors of destroyed sockets
    a.on("error", () => {});
    b.on("error", () => {});
    this.onEnd(this.result);
  }
}

/** Sends a RST (SO_LINGER 0) if the socket still has its TCP handle; otherwise just destroys it. */
function resetQuietly(s: Socket): void {
  s.on("error", () => {});
  if (s.destroyed) return;
  try {
    s.resetAndDestroy();
  } catch {
    s.destroy();
  }
}
