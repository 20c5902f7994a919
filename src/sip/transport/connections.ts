/**
 * The connection table the TCP and WebSocket transports share: open connections by id and by remote address (reuse,
 * RFC 3261 §18.1.1 / §18.2.2), outbound connects in progress (one per remote address), the admission limits
 * (`limiter`: per-source cap, eviction, idle timeouts, limiter.ts), the per-message read deadline, and the one place a
 * closed connection is reported (`TransportHandlers.onConnectionClosed`, which `SipTransportLayer.onConnectionClosed`
 * fans out).
 */
import type { Logger } from "../../log.ts";
import { SipError, type SipErrorCode } from "../errors.ts";
import { ConnectionLimiter, type Slot } from "./limiter.ts";
import {
  type ConnectionCloseReason,
  endpointKey,
  type SipSource,
  type StreamTransportProtocol,
  type TransportHandlers,
  type TransportLimits,
} from "./types.ts";

export interface TrackedConnection {
  readonly id: string;
  readonly source: SipSource;
  /** its place in the limiter (activity, transactions, registered flow) */
  readonly slot: Slot;
  /** the peer opened it */
  readonly inbound: boolean;
  /** why it is closing: set by whoever decides first (idle timer, read deadline, close() …) */
  closing?: { reason: ConnectionCloseReason; code?: SipErrorCode | undefined } | undefined;
  /** the per-message read deadline, armed while a message is incomplete */
  deadline?: NodeJS.Timeout | undefined;
  /** a complete message has arrived on it */
  gotMessage?: boolean;
  /** its close was reported */
  reported?: boolean;
}

export class ConnectionTable<C extends TrackedConnection> {
  private seq = 0;
  private readonly conns = new Map<string, C>();
  private readonly byRemote = new Map<string, string>();
  /** outbound connects in progress, by remote address */
  readonly pending = new Map<string, Promise<C>>();
  readonly limiter: ConnectionLimiter;

  constructor(
    private readonly protocol: StreamTransportProtocol,
    private readonly handlers: TransportHandlers,
    private readonly log: Logger,
    limits: TransportLimits,
  ) {
    this.limiter = new ConnectionLimiter(protocol, limits, log, (info) => handlers.onConnectionRefused?.(info));
  }

  nextId(): string {
    return `${this.protocol.toLowerCase()}-${++this.seq}`;
  }

  add(c: C): void {
    this.conns.set(c.id, c);
    this.byRemote.set(endpointKey(c.source.host, c.source.port), c.id);
  }

  get(id: string): C | undefined {
    return this.conns.get(id);
  }

  /** The newest connection to a remote address that still carries requests. */
  toRemote(host: string, port: number): C | undefined {
    const id = this.byRemote.get(endpointKey(host, port));
    return id !== undefined ? this.conns.get(id) : undefined;
  }

  /** Stops offering a connection for new requests (the peer half-closed it). */
  unmapRemote(c: C): void {
    const key = endpointKey(c.source.host, c.source.port);
    if (this.byRemote.get(key) === c.id) this.byRemote.delete(key);
  }

  /** Records why a connection is about to close; the first reason wins. */
  markClosing(c: C, reason: ConnectionCloseReason, code?: SipErrorCode): void {
    c.closing ??= { reason, code };
  }

  /** Removes a closed connection and reports it (unless already reported); `fallback` is the reason when nobody
   *  marked one. */
  remove(c: C, fallback: ConnectionCloseReason): void {
    if (this.conns.get(c.id) !== c) return;
    this.limiter.release(c.slot);
    this.clearDeadline(c);
    this.conns.delete(c.id);
    this.unmapRemote(c);
    this.report(c, fallback);
  }

  /**
   * Reports a connection as closed, once: when it closes, or earlier when the peer closed its side (a TCP FIN: the
   * connection can no longer bring anything in, though it still carries the responses the peer is owed).
   */
  report(c: C, fallback: ConnectionCloseReason): void {
    if (c.reported) return;
    c.reported = true;
    const why = c.closing ?? { reason: fallback };
    try {
      this.handlers.onConnectionClosed?.({
        connectionId: c.id,
        transport: this.protocol,
        remote: { host: c.source.host, port: c.source.port },
        local: { host: c.source.localHost, port: c.source.localPort },
        inbound: c.inbound,
        reason: why.reason,
        ...(why.code !== undefined ? { code: why.code } : {}),
      });
    } catch (e) {
      this.log.error({ err: e }, "sip: connection-closed handler failed");
    }
  }

  get size(): number {
    return this.conns.size;
  }

  /**
   * Sets up the limiter side of a new connection: `evict` closes it with reason "evicted", the idle timer closes it
   * with "idle-timeout" (the long or the short timeout, limiter.ts). `destroy` closes the socket.
   */
  track(c: C, destroy: () => void): void {
    c.slot.evict = () => {
      this.markClosing(c, "evicted", "E_SIP_EVICTED");
      destroy();
    };
    this.limiter.armIdle(c.slot, (timeoutMs) => {
      this.markClosing(c, "idle-timeout", "E_SIP_IDLE_TIMEOUT");
      this.log.info(
        { id: c.id, code: "E_SIP_IDLE_TIMEOUT", timeoutMs, registered: c.slot.registered },
        `sip ${this.protocol.toLowerCase()}: idle timeout`,
      );
      destroy();
    });
  }

  /** Marks a connection as a registered flow (or not): limiter.ts. */
  setFlow(id: string, registered: boolean): void {
    const c = this.conns.get(id);
    if (c) this.limiter.setRegistered(c.slot, registered);
  }

  values(): IterableIterator<C> {
    return this.conns.values();
  }

  /**
   * One outbound connect per remote address at a time (a second send waits for the first connect); refused with
   * E_SIP_CONNECTION_LIMIT when the table is full of connections that cannot be evicted.
   */
  connectOnce(host: string, port: number, make: () => Promise<C>): Promise<C> {
    const key = endpointKey(host, port);
    const existing = this.pending.get(key);
    if (existing) return existing;
    if (!this.limiter.canConnect(this.pending.size)) {
      this.log.warn({ code: "E_SIP_CONNECTION_LIMIT", host, port }, "sip: connection limit reached");
      return Promise.reject(new SipError("E_SIP_CONNECTION_LIMIT", `${this.protocol} connection limit reached`));
    }
    const p = make();
    this.pending.set(key, p);
    const done = () => {
      if (this.pending.get(key) === p) this.pending.delete(key);
    };
    p.then(done, done);
    return p;
  }

  /**
   * (Re)arms the per-message read deadline of a connection: when it fires, `onExpire` closes the connection
   * (Kamailio tcp_msg_read_timeout / tcp_msg_data_timeout; the slowloris defence).
   */
  armDeadline(c: C, ms: number, onExpire: () => void): void {
    this.clearDeadline(c);
    c.deadline = setTimeout(() => {
      c.deadline = undefined;
      this.markClosing(c, "message-timeout", "E_SIP_MESSAGE_TIMEOUT");
      this.log.warn(
        { code: "E_SIP_MESSAGE_TIMEOUT", id: c.id, remote: `${c.source.host}:${c.source.port}`, timeoutMs: ms },
        c.gotMessage || !c.inbound
          ? "sip: message not complete within the read deadline, closing the connection"
          : "sip: no complete first message within the read deadline, closing the connection",
      );
      onExpire();
    }, ms);
  }

  clearDeadline(c: C): void {
    if (c.deadline !== undefined) clearTimeout(c.deadline);
    c.deadline = undefined;
  }

  /**
   * After a read: `partial` = bytes of an unfinished message are buffered; `completed` = a message completed in this
   * read. An inbound connection keeps its first-message deadline until a message completes.
   */
  afterRead(c: C, partial: boolean, completed: boolean, ms: number, onExpire: () => void): void {
    if (completed) c.gotMessage = true;
    if (partial) {
      // a new message started (after one completed in this read, or on an idle connection): its clock starts now
      if (completed || c.deadline === undefined) this.armDeadline(c, ms, onExpire);
    } else if (c.gotMessage || !c.inbound) this.clearDeadline(c);
  }
}
