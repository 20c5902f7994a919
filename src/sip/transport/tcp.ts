/**
 * SIP over TCP (RFC 3261 §18): Content-Length framing (framing.ts), connection reuse in both directions (a response
 * goes back on the connection its request came in on, RFC 3261 §18.2.2; a request toward a peer reuses any open
 * connection to it), bounded buffers, the admission limits of limiter.ts (global and per-source caps, eviction of idle
 * connections under pressure, a long idle timeout for registered flows and a short one for the rest), a per-message
 * read deadline, half-close handling, and CRLF keep-alive pongs (RFC 5626 §4.4.1). Every closed connection is reported once
 * (`TransportHandlers.onConnectionClosed`, through the shared ConnectionTable).
 */
import { createConnection, createServer, type Server, type Socket } from "node:net";
import type { Logger } from "../../log.ts";
import { silentLogger } from "../../log.ts";
import { SipError } from "../errors.ts";
import { SipStreamFramer } from "../framing.ts";
import { ConnectionTable, type TrackedConnection } from "./connections.ts";
import { type ConnectionLimiterStats, messageKind, type Slot } from "./limiter.ts";
import {
  bareHost,
  DEFAULT_LIMITS,
  type SipEndpoint,
  type SipSource,
  type SipTarget,
  type SipTransport,
  type TransportHandlers,
  type TransportLimits,
} from "./types.ts";

export interface TcpTransportOptions {
  host?: string;
  port?: number;
  /** false: no listening socket (outbound connections only) */
  listen?: boolean;
  limits?: Partial<TransportLimits>;
  logger?: Logger;
}

interface TcpConnection extends TrackedConnection {
  socket: Socket;
  framer: SipStreamFramer;
  /** the peer sent FIN: nothing more can be read, owed responses still go out (RFC 3261 §18.2.2) */
  readEnded: boolean;
}

const PONG = new Uint8Array([0x0d, 0x0a]);

/** How an outbound socket becomes usable: the event that says so, and a check run then (TLS: the peer certificate). */
export interface DialedSocket {
  socket: Socket;
  ready: "connect" | "secureConnect";
  check?: () => SipError | undefined;
}

/**
 * The TCP transport; tls.ts extends it (same framing, limits and connection handling) by overriding `accept` (the TLS
 * handshake of an admitted inbound socket) and `openSocket` (a TLS client connection).
 */
export class TcpTransport implements SipTransport {
  readonly protocol: "TCP" | "TLS";
  readonly reliable = true;
  private server: Server | undefined;
  private bound: SipEndpoint | undefined;
  private closed = false;
  protected readonly table: ConnectionTable<TcpConnection>;
  protected readonly connecting = new Set<Socket>();
  protected readonly limits: TransportLimits;
  protected readonly log: Logger;
  /** "tcp" / "tls": the prefix of log lines */
  protected readonly tag: string;

  constructor(
    protected readonly handlers: TransportHandlers,
    private readonly opts: TcpTransportOptions = {},
    protocol: "TCP" | "TLS" = "TCP",
  ) {
    this.protocol = protocol;
    this.tag = protocol.toLowerCase();
    this.limits = { ...DEFAULT_LIMITS, ...opts.limits };
    this.log = opts.logger ?? silentLogger;
    this.table = new ConnectionTable<TcpConnection>(protocol, handlers, this.log, this.limits);
  }

  /** An admitted inbound socket: TCP adopts it at once (tls.ts runs the handshake first). */
  protected accept(socket: Socket, slot: Slot): void {
    this.adopt(socket, true, slot);
  }

  /** A new outbound socket toward the target (tls.ts: a TLS client). */
  protected openSocket(target: SipTarget): DialedSocket {
    const socket = createConnection({
      host: bareHost(target.host),
      port: target.port,
      noDelay: true,
      allowHalfOpen: true,
      ...(this.opts.host !== undefined ? { localAddress: bareHost(this.opts.host) } : {}),
    });
    return { socket, ready: "connect" };
  }

  /** The local address outbound sockets bind (undefined: the OS picks). */
  protected get localHost(): string | undefined {
    return this.opts.host !== undefined ? bareHost(this.opts.host) : undefined;
  }

  protected get isClosed(): boolean {
    return this.closed;
  }

  listen(): Promise<SipEndpoint | undefined> {
    if (this.opts.listen === false) return Promise.resolve(undefined);
    return new Promise((resolve, reject) => {
      // allowHalfOpen: a peer's FIN does not end our side before we wrote the responses it is owed (RFC 3261 §18.2.2)
      const server = createServer({ noDelay: true, allowHalfOpen: true });
      this.server = server;
      const onError = (e: Error) =>
        reject(new SipError("E_SIP_TRANSPORT", `${this.protocol} listen failed: ${e.message}`, { cause: e }));
      server.once("error", onError);
      server.on("connection", (socket) => {
        try {
          // limiter.ts: per-source cap, eviction of the idlest connection when near full, global cap
          const slot = this.table.limiter.admit(
            socket.remoteAddress ?? "",
            socket.remotePort ?? 0,
            this.table.pending.size,
            this.closed,
          );
          if (!slot) {
            socket.destroy();
            return;
          }
          this.accept(socket, slot);
        } catch (e) {
          this.log.error({ err: e }, `sip ${this.tag}: accept failed`);
          socket.destroy();
        }
      });
      server.listen({ host: bareHost(this.opts.host ?? "127.0.0.1"), port: this.opts.port ?? 0 }, () => {
        server.off("error", onError);
        server.on("error", (e) => this.log.warn({ err: e }, `sip ${this.tag}: server error`));
        const a = server.address();
        if (a === null || typeof a === "string") {
          reject(new SipError("E_SIP_TRANSPORT", `${this.protocol} server has no address`));
          return;
        }
        this.bound = { host: a.address, port: a.port };
        resolve(this.bound);
      });
    });
  }

  address(): SipEndpoint | undefined {
    return this.bound;
  }

  protected adopt(socket: Socket, inbound: boolean, slot: Slot): TcpConnection {
    const id = this.table.nextId();
    const source: SipSource = {
      transport: this.protocol,
      host: bareHost(socket.remoteAddress ?? ""),
      port: socket.remotePort ?? 0,
      localHost: bareHost(socket.localAddress ?? ""),
      localPort: socket.localPort ?? 0,
      connectionId: id,
    };
    const conn: TcpConnection = {
      id,
      socket,
      framer: new SipStreamFramer({ maxMessageSize: this.limits.maxMessageSize }),
      source,
      inbound,
      slot,
      readEnded: false,
    };
    this.table.add(conn);
    socket.setNoDelay(true);
    // idle timeout (no traffic either way) and eviction: limiter.ts
    this.table.track(conn, () => socket.destroy());
    // Kamailio tcp_msg_data_timeout: an inbound connection must deliver its first message within the read deadline
    if (inbound) this.table.armDeadline(conn, this.limits.messageTimeoutMs, () => socket.destroy());
    socket.on("data", (chunk: Buffer) => this.onData(conn, chunk));
    socket.on("end", () => this.onEnd(conn));
    socket.on("error", (e) => {
      this.table.markClosing(conn, "reset");
      this.log.debug({ err: e, id }, `sip ${this.tag}: socket error`);
    });
    socket.on("close", () => {
      this.table.remove(conn, "peer-closed");
      this.table.limiter.release(slot);
    });
    return conn;
  }

  private onData(conn: TcpConnection, chunk: Buffer): void {
    let completed = false;
    const limiter = this.table.limiter;
    try {
      limiter.note(conn.slot, undefined, true);
      for (const ev of conn.framer.push(chunk)) {
        if (ev.type === "message") {
          completed = true;
          limiter.note(conn.slot, ev.bytes, true);
          this.handlers.onMessage(ev.bytes, conn.source);
        } else if (ev.type === "ping") {
          // RFC 5626 §4.4.1: answer a CRLFCRLF ping with a CRLF pong
          if (conn.socket.writable) conn.socket.write(PONG);
        } else {
          let reply: Uint8Array | undefined;
          try {
            reply = this.handlers.onStreamError(ev.error, ev.head, ev.tooLarge, conn.source);
          } catch (e) {
            this.log.error({ err: e }, `sip ${this.tag}: stream error handler failed`);
          }
          this.table.markClosing(conn, "stream-error", ev.error.code);
          this.log.info({ id: conn.id, code: ev.error.code }, `sip ${this.tag}: closing unframeable stream`);
          this.table.clearDeadline(conn);
          // stop reading; write the answer (if any), then close
          conn.socket.pause();
          if (reply && conn.socket.writable) conn.socket.end(reply);
          else conn.socket.destroy();
          const t = setTimeout(() => conn.socket.destroy(), 1000);
          conn.socket.once("close", () => clearTimeout(t));
          return;
        }
      }
      if (conn.socket.destroyed || conn.framer.failed) return;
      // the per-message read deadline: a message must be complete messageTimeoutMs after its first byte
      this.table.afterRead(conn, conn.framer.buffered > 0, completed, this.limits.messageTimeoutMs, () =>
        conn.socket.destroy(),
      );
    } catch (e) {
      this.log.error({ err: e }, `sip ${this.tag}: data handler failed`);
      conn.socket.destroy();
    }
  }

  /**
   * The peer sent FIN. RFC 3261 §18.2.2: a response goes back over the request's connection while it is open, so the
   * connection stays writable until the requests received on it are answered (bounded by the idle timeout), then
   * we close our side too. It no longer carries new requests: nothing could be read back on it.
   */
  private onEnd(conn: TcpConnection): void {
    conn.readEnded = true;
    conn.slot.halfClosed = true;
    this.table.clearDeadline(conn);
    this.table.unmapRemote(conn);
    this.table.markClosing(conn, "peer-closed");
    // for a flow (RFC 5626 §4.4) this is the failure: nothing can reach us over it any more
    this.table.report(conn, "peer-closed");
    if (conn.framer.buffered > 0) {
      this.log.info(
        { id: conn.id, buffered: conn.framer.buffered },
        `sip ${this.tag}: peer closed in the middle of a message`,
      );
    }
    if (conn.slot.owed <= 0) {
      conn.socket.end();
      return;
    }
    this.log.info(
      { id: conn.id, owed: conn.slot.owed },
      `sip ${this.tag}: peer half-closed; writing the responses it is owed`,
    );
  }

  private connect(target: SipTarget): Promise<TcpConnection> {
    return this.table.connectOnce(target.host, target.port, () => this.dial(target));
  }

  private dial(target: SipTarget): Promise<TcpConnection> {
    const P = this.protocol;
    return new Promise<TcpConnection>((resolve, reject) => {
      const { socket, ready, check } = this.openSocket(target);
      let failure: SipError | undefined;
      // a TLS client: an error after the TCP connect is a handshake failure (a refused certificate, mostly)
      let tcpUp = false;
      if (ready === "secureConnect") socket.once("connect", () => (tcpUp = true));
      this.connecting.add(socket);
      socket.once("close", () => {
        this.connecting.delete(socket);
        clearTimeout(timer);
        reject(failure ?? new SipError("E_SIP_TRANSPORT", `${P} connection to ${target.host}:${target.port} closed`));
      });
      const timer = setTimeout(() => {
        socket.destroy();
        reject(new SipError("E_SIP_TIMEOUT", `${P} connect to ${target.host}:${target.port} timed out`));
      }, this.limits.connectTimeoutMs);
      socket.once(ready, () => {
        clearTimeout(timer);
        this.connecting.delete(socket);
        socket.removeAllListeners("error");
        if (this.closed) {
          socket.destroy();
          reject(new SipError("E_SIP_CLOSED", `${P} transport closed`));
          return;
        }
        // TLS: the peer's certificate is checked before the connection carries anything (RFC 5922 §7.2)
        const refused = check?.();
        if (refused) {
          failure = refused;
          socket.on("error", () => undefined);
          socket.destroy();
          this.onCheckFailed(refused, target.host, target.port);
          reject(refused);
          return;
        }
        resolve(this.adopt(socket, false, this.table.limiter.outbound(target.host)));
      });
      socket.once("error", (e) => {
        clearTimeout(timer);
        socket.destroy();
        const code = ready === "secureConnect" && tcpUp;
        failure = code
          ? new SipError("E_SIP_TLS_PEER", `${P} connect to ${target.host}:${target.port} failed: ${e.message}`, {
              cause: e,
            })
          : new SipError("E_SIP_TRANSPORT", `${P} connect to ${target.host}:${target.port} failed: ${e.message}`, {
              cause: e,
            });
        if (code) this.onCheckFailed(failure, target.host, target.port);
        reject(failure);
      });
    });
  }

  /** A peer certificate was refused (tls.ts reports it as a security event); nothing to do over TCP. */
  protected onCheckFailed(_e: SipError, _host: string, _port: number): void {}

  /** An open connection for the target: its `connectionId` when usable, else the newest one to its address. */
  private find(target: SipTarget, forResponse: boolean): TcpConnection | undefined {
    if (target.connectionId !== undefined) {
      const c = this.table.get(target.connectionId);
      // a half-closed connection still carries responses, never new requests (their answers could not come back)
      if (c && !c.socket.destroyed && c.socket.writable && (forResponse || !c.readEnded)) return c;
    }
    const c = this.table.toRemote(target.host, target.port);
    return c && !c.socket.destroyed && c.socket.writable && !c.readEnded ? c : undefined;
  }

  private write(conn: TcpConnection, bytes: Uint8Array): Promise<void> {
    return new Promise<void>((resolve, reject) => {
      if (!conn.socket.writable) {
        reject(new SipError("E_SIP_TRANSPORT", `${this.protocol} connection is not writable`));
        return;
      }
      conn.socket.write(bytes, (err) => {
        if (!err) {
          resolve();
          return;
        }
        this.table.markClosing(conn, "reset");
        conn.socket.destroy();
        reject(new SipError("E_SIP_TRANSPORT", `${this.protocol} write failed: ${err.message}`, { cause: err }));
      });
    });
  }

  async send(bytes: Uint8Array, target: SipTarget): Promise<SipSource> {
    if (this.closed) throw new SipError("E_SIP_CLOSED", `${this.protocol} transport closed`);
    const kind = messageKind(bytes);
    const forResponse = kind === "provisional" || kind === "final";
    let conn = this.find(target, forResponse);
    if (conn) {
      try {
        await this.write(conn, bytes);
      } catch (e) {
        // a response: the layer opens a new connection to received / sent-by (RFC 3261 §18.2.2)
        if (forResponse || this.closed) throw e;
        // a request on a reused connection that failed under us: once more on a new connection (RFC 3261 §18.1.1)
        this.log.info({ id: conn.id, err: e }, `sip ${this.tag}: reused connection failed, sending on a new one`);
        conn = await this.connect({ transport: this.protocol, host: target.host, port: target.port });
        await this.write(conn, bytes);
      }
    } else {
      conn = await this.connect(target);
      await this.write(conn, bytes);
    }
    const owedBefore = conn.slot.owed;
    this.table.limiter.note(conn.slot, bytes, false);
    // the peer half-closed and got every response it was owed: close our side too
    if (kind === "final" && owedBefore > 0 && conn.readEnded && conn.slot.owed === 0) conn.socket.end();
    return conn.source;
  }

  hasConnection(id: string): boolean {
    const c = this.table.get(id);
    return c !== undefined && !c.socket.destroyed && !c.readEnded;
  }

  canRespond(id: string): boolean {
    const c = this.table.get(id);
    return c !== undefined && !c.socket.destroyed && c.socket.writable;
  }

  connectionCount(): number {
    return this.table.size;
  }

  setFlow(id: string, registered: boolean): void {
    this.table.setFlow(id, registered);
  }

  settle(id: string): void {
    const c = this.table.get(id);
    if (!c) return;
    this.table.limiter.settle(c.slot);
    // the peer half-closed and nothing more is owed to it: close our side too (RFC 3261 §18.2.2)
    if (c.readEnded && c.slot.owed === 0 && !c.socket.destroyed) c.socket.end();
  }

  connectionStats(): ConnectionLimiterStats {
    return this.table.limiter.stats();
  }

  /** Closes one connection (tests, and the layer when a peer misbehaves). */
  closeConnection(id: string): void {
    const c = this.table.get(id);
    if (!c) return;
    this.table.markClosing(c, "local");
    c.socket.destroy();
  }

  async close(): Promise<void> {
    if (this.closed) return;
    this.closed = true;
    this.table.limiter.clear();
    const waits: Promise<unknown>[] = [];
    for (const c of this.table.values()) {
      this.table.markClosing(c, "transport-closed");
      this.table.clearDeadline(c);
      waits.push(new Promise<void>((r) => (c.socket.destroyed ? r() : c.socket.once("close", () => r()))));
      c.socket.destroy();
    }
    for (const s of this.connecting) s.destroy();
    for (const p of this.table.pending.values())
      waits.push(
        p.then(
          (c) => {
            this.table.markClosing(c, "transport-closed");
            c.socket.destroy();
          },
          () => undefined,
        ),
      );
    const server = this.server;
    if (server) waits.push(new Promise<void>((r) => server.close(() => r())));
    await Promise.all(waits);
  }
}
