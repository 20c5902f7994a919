/**
 * SIP over TCP (RFC 3261 §18): Content-Length framing (framing.ts), connection reuse in both directions (a response
 * goes back on the connection its request came in on, RFC 3261 §18.2.2; a request toward a peer reuses any open
 * connection to it), bounded buffers, a connection limit, idle timeout, and CRLF keep-alive pongs (RFC 5626 §4.4.1).
 */
import { createConnection, createServer, type Server, type Socket } from "node:net";
import type { Logger } from "../../log.ts";
import { silentLogger } from "../../log.ts";
import { SipError } from "../errors.ts";
import { SipStreamFramer } from "../framing.ts";
import {
  bareHost,
  DEFAULT_LIMITS,
  endpointKey,
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

interface TcpConnection {
  id: string;
  socket: Socket;
  framer: SipStreamFramer;
  source: SipSource;
  inbound: boolean;
}

const PONG = new Uint8Array([0x0d, 0x0a]);

export class TcpTransport implements SipTransport {
  readonly protocol = "TCP" as const;
  readonly reliable = true;
  private server: Server | undefined;
  private bound: SipEndpoint | undefined;
  private closed = false;
  private seq = 0;
  private readonly conns = new Map<string, TcpConnection>();
  private readonly byRemote = new Map<string, string>();
  private readonly pending = new Map<string, Promise<TcpConnection>>();
  private readonly connecting = new Set<Socket>();
  private readonly limits: TransportLimits;
  private readonly log: Logger;

  constructor(
    private readonly handlers: TransportHandlers,
    private readonly opts: TcpTransportOptions = {},
  ) {
    this.limits = { ...DEFAULT_LIMITS, ...opts.limits };
    this.log = opts.logger ?? silentLogger;
  }

  listen(): Promise<SipEndpoint | undefined> {
    if (this.opts.listen === false) return Promise.resolve(undefined);
    return new Promise((resolve, reject) => {
      const server = createServer({ noDelay: true });
      this.server = server;
      const onError = (e: Error) =>
        reject(new SipError("E_SIP_TRANSPORT", `TCP listen failed: ${e.message}`, { cause: e }));
      server.once("error", onError);
      server.on("connection", (socket) => {
        try {
          if (this.closed || this.conns.size + this.pending.size >= this.limits.maxConnections) {
            this.log.warn({ remote: socket.remoteAddress }, "sip tcp: connection limit reached, refusing");
            socket.destroy();
            return;
          }
          this.adopt(socket, true);
        } catch (e) {
          this.log.error({ err: e }, "sip tcp: accept failed");
          socket.destroy();
        }
      });
      server.listen({ host: bareHost(this.opts.host ?? "127.0.0.1"), port: this.opts.port ?? 0 }, () => {
        server.off("error", onError);
        server.on("error", (e) => this.log.warn({ err: e }, "sip tcp: server error"));
        const a = server.address();
        if (a === null || typeof a === "string") {
          reject(new SipError("E_SIP_TRANSPORT", "TCP server has no address"));
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

  private adopt(socket: Socket, inbound: boolean): TcpConnection {
    const id = `tcp-${++this.seq}`;
    const source: SipSource = {
      transport: "TCP",
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
    };
    this.conns.set(id, conn);
    const key = endpointKey(source.host, source.port);
    this.byRemote.set(key, id);
    socket.setNoDelay(true);
    // idle timeout: no traffic either way for idleTimeoutMs closes the connection
    socket.setTimeout(this.limits.idleTimeoutMs, () => {
      this.log.debug({ id }, "sip tcp: idle timeout");
      socket.destroy();
    });
    socket.on("data", (chunk: Buffer) => this.onData(conn, chunk));
    socket.on("error", (e) => this.log.debug({ err: e, id }, "sip tcp: socket error"));
    socket.on("close", () => {
      this.conns.delete(id);
      if (this.byRemote.get(key) === id) this.byRemote.delete(key);
    });
    return conn;
  }

  private onData(conn: TcpConnection, chunk: Buffer): void {
    try {
      for (const ev of conn.framer.push(chunk)) {
        if (ev.type === "message") this.handlers.onMessage(ev.bytes, conn.source);
        else if (ev.type === "ping") {
          // RFC 5626 §4.4.1: answer a CRLFCRLF ping with a CRLF pong
          if (conn.socket.writable) conn.socket.write(PONG);
        } else {
          let reply: Uint8Array | undefined;
          try {
            reply = this.handlers.onStreamError(ev.error, ev.head, ev.tooLarge, conn.source);
          } catch (e) {
            this.log.error({ err: e }, "sip tcp: stream error handler failed");
          }
          this.log.info({ id: conn.id, code: ev.error.code }, "sip tcp: closing unframeable stream");
          // stop reading; write the answer (if any), then close
          conn.socket.pause();
          if (reply && conn.socket.writable) conn.socket.end(reply);
          else conn.socket.destroy();
          const t = setTimeout(() => conn.socket.destroy(), 1000);
          conn.socket.once("close", () => clearTimeout(t));
        }
      }
    } catch (e) {
      this.log.error({ err: e }, "sip tcp: data handler failed");
      conn.socket.destroy();
    }
  }

  private connect(target: SipTarget): Promise<TcpConnection> {
    const key = endpointKey(target.host, target.port);
    const existing = this.pending.get(key);
    if (existing) return existing;
    if (this.conns.size + this.pending.size >= this.limits.maxConnections) {
      return Promise.reject(new SipError("E_SIP_CONNECTION_LIMIT", "TCP connection limit reached"));
    }
    const p = new Promise<TcpConnection>((resolve, reject) => {
      const socket = createConnection({
        host: bareHost(target.host),
        port: target.port,
        noDelay: true,
        ...(this.opts.host !== undefined ? { localAddress: bareHost(this.opts.host) } : {}),
      });
      this.connecting.add(socket);
      socket.once("close", () => {
        this.connecting.delete(socket);
        clearTimeout(timer);
        reject(new SipError("E_SIP_TRANSPORT", `TCP connection to ${target.host}:${target.port} closed`));
      });
      const timer = setTimeout(() => {
        socket.destroy();
        reject(new SipError("E_SIP_TIMEOUT", `TCP connect to ${target.host}:${target.port} timed out`));
      }, this.limits.connectTimeoutMs);
      socket.once("connect", () => {
        clearTimeout(timer);
        this.connecting.delete(socket);
        socket.removeAllListeners("error");
        if (this.closed) {
          socket.destroy();
          reject(new SipError("E_SIP_CLOSED", "TCP transport closed"));
          return;
        }
        resolve(this.adopt(socket, false));
      });
      socket.once("error", (e) => {
        clearTimeout(timer);
        socket.destroy();
        reject(
          new SipError("E_SIP_TRANSPORT", `TCP connect to ${target.host}:${target.port} failed: ${e.message}`, {
            cause: e,
          }),
        );
      });
    });
    this.pending.set(key, p);
    const done = () => {
      if (this.pending.get(key) === p) this.pending.delete(key);
    };
    p.then(done, done);
    return p;
  }

  private find(target: SipTarget): TcpConnection | undefined {
    if (target.connectionId !== undefined) {
      const c = this.conns.get(target.connectionId);
      if (c && !c.socket.destroyed) return c;
    }
    const id = this.byRemote.get(endpointKey(target.host, target.port));
    const c = id !== undefined ? this.conns.get(id) : undefined;
    return c && !c.socket.destroyed ? c : undefined;
  }

  async send(bytes: Uint8Array, target: SipTarget): Promise<SipSource> {
    if (this.closed) throw new SipError("E_SIP_CLOSED", "TCP transport closed");
    const conn = this.find(target) ?? (await this.connect(target));
    await new Promise<void>((resolve, reject) => {
      if (!conn.socket.writable) {
        reject(new SipError("E_SIP_TRANSPORT", "TCP connection is not writable"));
        return;
      }
      conn.socket.write(bytes, (err) => {
        if (err) reject(new SipError("E_SIP_TRANSPORT", `TCP write failed: ${err.message}`, { cause: err }));
        else resolve();
      });
    });
    return conn.source;
  }

  hasConnection(id: string): boolean {
    const c = this.conns.get(id);
    return c !== undefined && !c.socket.destroyed;
  }

  connectionCount(): number {
    return this.conns.size;
  }

  /** Closes one connection (tests, and the layer when a peer misbehaves). */
  closeConnection(id: string): void {
    this.conns.get(id)?.socket.destroy();
  }

  async close(): Promise<void> {
    if (this.closed) return;
    this.closed = true;
    const waits: Promise<unknown>[] = [];
    for (const c of this.conns.values()) {
      waits.push(new Promise<void>((r) => (c.socket.destroyed ? r() : c.socket.once("close", () => r()))));
      c.socket.destroy();
    }
    for (const s of this.connecting) s.destroy();
    for (const p of this.pending.values())
      waits.push(
        p.then(
          (c) => c.socket.destroy(),
          () => undefined,
        ),
      );
    const server = this.server;
    if (server) waits.push(new Promise<void>((r) => server.close(() => r())));
    await Promise.all(waits);
  }
}
