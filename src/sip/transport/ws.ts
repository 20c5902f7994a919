/**
 * SIP over WebSocket (RFC 7118, `ws` library): the "sip" subprotocol is required in both directions (§4), one SIP
 * message per WebSocket message, text or binary frames (§5.1), Via transport "WS" (§5.2). Bounded by maxPayload
 * (an oversize frame closes the connection with 1009), the admission limits of limiter.ts (applied to the TCP
 * connection, before the HTTP upgrade: global and per-source caps, eviction of idle connections under pressure, the
 * long and short idle timeouts), and a read deadline on the HTTP upgrade and on every message. Every closed connection is reported once (`TransportHandlers.
 * onConnectionClosed`, through the shared ConnectionTable). With `tls` the same transport is WSS (RFC 7118 §5, Via
 * "WSS"): a TCP listener admits the connection (limiter.ts) before its TLS handshake, which must end, with the
 * HTTP upgrade, within the read deadline; the TLS socket is then handed to the same HTTP server and upgrade path
 * (Origin hook included). A client dials wss:// and checks the server's certificate (tlsContext.ts).
 */
import { createServer, type IncomingMessage, type Server } from "node:http";
import { createServer as createTcpServer, type Socket, type Server as TcpServer } from "node:net";
import type { Duplex } from "node:stream";
import tls from "node:tls";
import { type RawData, WebSocket, WebSocketServer } from "ws";
import type { Logger } from "../../log.ts";
import { silentLogger } from "../../log.ts";
import { SipError } from "../errors.ts";
import { ConnectionTable, type TrackedConnection } from "./connections.ts";
import type { ConnectionLimiterStats, Slot } from "./limiter.ts";
import {
  checkClient,
  checkServer,
  checkTlsConfig,
  clientTlsOptions,
  type SipTlsConfig,
  serverTlsOptions,
} from "./tlsContext.ts";
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
import type { WsUpgradeCheck } from "./wsUpgrade.ts";

export interface WsTransportOptions {
  host?: string;
  port?: number;
  /** false: no listening socket (a WebSocket client only, like a browser UE) */
  listen?: boolean;
  /** request path used for outbound connections; default "/" */
  path?: string;
  limits?: Partial<TransportLimits>;
  logger?: Logger;
  /** checks every upgrade request before it is accepted (Origin, Host); absent = any request; see WsUpgradeCheck */
  verifyUpgrade?: WsUpgradeCheck;
  /** WSS: the credential and trust store (RFC 7118 §5, tlsContext.ts) */
  tls?: SipTlsConfig;
}

const STATUS_TEXT: Readonly<Record<number, string>> = { 403: "Forbidden", 421: "Misdirected Request" };

interface WsConnection extends TrackedConnection {
  ws: WebSocket;
}

/** RFC 6455 §7.4.1: 1006 = the connection closed without a Close frame (reset, vanished peer). */
const ABNORMAL_CLOSURE = 1006;
/** ws receiver state GET_INFO: waiting for the first byte of a frame. */
const GET_INFO = 0;

/**
 * Whether the `ws` receiver of a connection holds part of a message (a frame header or payload, or earlier fragments
 * of a fragmented message). Reads ws 8.x internals (`_receiver`); undefined when their shape is not the expected one.
 * `atMessage`: asked from a "message" listener, while the receiver is still in the state of the frame it just
 * delivered: only bytes already buffered beyond it count.
 */
function partialFrame(ws: WebSocket, atMessage = false): boolean | undefined {
  const r = (ws as unknown as { _receiver?: { _state?: unknown; _bufferedBytes?: unknown; _fragments?: unknown } })
    ._receiver;
  if (!r || typeof r._state !== "number" || typeof r._bufferedBytes !== "number" || !Array.isArray(r._fragments)) {
    return undefined;
  }
  if (atMessage) return r._bufferedBytes > 0;
  return r._state !== GET_INFO || r._bufferedBytes > 0 || r._fragments.length > 0;
}

/** RFC 7118 §4: the WebSocket subprotocol for SIP */
export const SIP_SUBPROTOCOL = "sip";

const PONG = new Uint8Array([0x0d, 0x0a]);
const utf8 = new TextDecoder("utf-8", { fatal: true });

function toBytes(data: RawData): Uint8Array {
  if (Array.isArray(data)) return new Uint8Array(Buffer.concat(data));
  if (data instanceof ArrayBuffer) return new Uint8Array(data);
  return new Uint8Array(data.buffer, data.byteOffset, data.byteLength);
}

function isUtf8(b: Uint8Array): boolean {
  try {
    utf8.decode(b);
    return true;
  } catch {
    return false;
  }
}

export class WsTransport implements SipTransport {
  readonly protocol: "WS" | "WSS";
  readonly reliable = true;
  private http: Server | undefined;
  /** WSS: the TCP listener whose connections get a TLS layer before the HTTP server sees them */
  private tcp: TcpServer | undefined;
  private readonly serverTls: tls.TLSSocketOptions | undefined;
  private wss: WebSocketServer | undefined;
  private bound: SipEndpoint | undefined;
  private closed = false;
  private readonly table: ConnectionTable<WsConnection>;
  /** accepted TCP connections whose HTTP upgrade has not completed, with their read deadline */
  private readonly handshaking = new Map<Socket, NodeJS.Timeout>();
  /** the limiter slot of every accepted TCP connection (taken at accept, before the upgrade) */
  private readonly slots = new WeakMap<Socket, Slot>();
  private readonly connecting = new Map<WebSocket, (e: SipError) => void>();
  private readonly limits: TransportLimits;
  private readonly log: Logger;
  private verifyUpgrade: WsUpgradeCheck | undefined;

  constructor(
    private readonly handlers: TransportHandlers,
    private readonly opts: WsTransportOptions = {},
  ) {
    this.limits = { ...DEFAULT_LIMITS, ...opts.limits };
    this.log = opts.logger ?? silentLogger;
    this.protocol = opts.tls ? "WSS" : "WS";
    if (opts.tls) {
      checkTlsConfig(opts.tls);
      this.serverTls = serverTlsOptions(opts.tls);
    }
    this.table = new ConnectionTable<WsConnection>(this.protocol, handlers, this.log, this.limits);
    this.verifyUpgrade = opts.verifyUpgrade;
  }

  /** Replaces the upgrade check (an embedder that learns its page's origin after the transport exists). */
  setVerifyUpgrade(check: WsUpgradeCheck | undefined): void {
    this.verifyUpgrade = check;
  }

  listen(): Promise<SipEndpoint | undefined> {
    if (this.opts.listen === false) return Promise.resolve(undefined);
    return new Promise((resolve, reject) => {
      const wss = new WebSocketServer({
        noServer: true,
        maxPayload: this.limits.maxMessageSize,
        perMessageDeflate: false,
        clientTracking: false,
        // RFC 7118 §4: the server selects "sip"
        handleProtocols: (protocols) => (protocols.has(SIP_SUBPROTOCOL) ? SIP_SUBPROTOCOL : false),
      });
      this.wss = wss;
      const http = createServer((_req, res) => {
        res.writeHead(426, { "Content-Type": "text/plain", Connection: "close" });
        res.end("SIP over WebSocket only (RFC 7118)\n");
      });
      this.http = http;
      http.on("upgrade", (req: IncomingMessage, socket: Duplex, head: Buffer) => this.onUpgrade(req, socket, head));
      http.on("clientError", (_e, socket) => socket.destroy());
      // WS: the HTTP server listens; WSS: a TCP listener does, and hands the HTTP server each TLS socket
      let listener: Server | TcpServer = http;
      if (this.serverTls) {
        const tcp = createTcpServer({ noDelay: true });
        this.tcp = tcp;
        tcp.on("connection", (raw: Socket) => this.onTlsConnection(raw));
        listener = tcp;
      } else {
        http.on("connection", (socket: Socket) => this.onHttpConnection(socket));
      }
      const onError = (e: Error) =>
        reject(new SipError("E_SIP_TRANSPORT", `${this.protocol} listen failed: ${e.message}`, { cause: e }));
      listener.once("error", onError);
      listener.listen({ host: bareHost(this.opts.host ?? "127.0.0.1"), port: this.opts.port ?? 0 }, () => {
        listener.off("error", onError);
        listener.on("error", (e) => this.log.warn({ err: e }, "sip ws: server error"));
        const a = listener.address();
        if (a === null || typeof a === "string") {
          reject(new SipError("E_SIP_TRANSPORT", "WS server has no address"));
          return;
        }
        this.bound = { host: a.address, port: a.port };
        resolve(this.bound);
      });
    });
  }

  /**
   * A TCP connection to the HTTP listener: admitted by the limiter before anything is read (limiter.ts: per-source
   * cap, eviction when near full, global cap; a refusal gets a 503 and is closed), bounded in time (the upgrade must
   * complete within messageTimeoutMs, Kamailio tcp_msg_data_timeout style).
   */
  private onHttpConnection(socket: Socket): Slot | undefined {
    const slot = this.table.limiter.admit(
      socket.remoteAddress ?? "",
      socket.remotePort ?? 0,
      this.table.pending.size,
      this.closed,
    );
    if (!slot && socket instanceof tls.TLSSocket) {
      socket.destroy();
      return undefined;
    }
    if (!slot) {
      socket.on("error", () => undefined);
      // RFC 6455 §4.2.2: a server that refuses the handshake answers with an HTTP error
      socket.end("HTTP/1.1 503 Service Unavailable\r\nConnection: close\r\nContent-Length: 0\r\n\r\n");
      setImmediate(() => socket.destroy());
      return undefined;
    }
    this.slots.set(socket, slot);
    slot.evict = () => socket.destroy();
    socket.once("close", () => this.table.limiter.release(slot));
    const timer = setTimeout(() => {
      if (!this.handshaking.delete(socket)) return;
      this.log.warn(
        {
          code: "E_SIP_MESSAGE_TIMEOUT",
          remote: `${socket.remoteAddress}:${socket.remotePort}`,
          timeoutMs: this.limits.messageTimeoutMs,
        },
        "sip ws: no WebSocket upgrade within the read deadline, closing",
      );
      socket.destroy();
    }, this.limits.messageTimeoutMs);
    this.handshaking.set(socket, timer);
    socket.once("close", () => this.handshakeDone(socket));
    return slot;
  }

  /**
   * WSS: a TCP connection gets its TLS layer; it is admitted (limiter, read deadline covering the TLS handshake and
   * the HTTP upgrade) at once, checked (a client certificate, with mutual TLS) after the handshake, then given to the
   * HTTP server like a WS connection.
   */
  private onTlsConnection(raw: Socket): void {
    const serverTls = this.serverTls;
    const http = this.http;
    if (!serverTls || !http) {
      raw.destroy();
      return;
    }
    raw.on("error", () => undefined);
    const socket = new tls.TLSSocket(raw, serverTls);
    const remote = { host: bareHost(raw.remoteAddress ?? ""), port: raw.remotePort ?? 0 };
    if (!this.onHttpConnection(socket)) return;
    let secure = false;
    socket.once("error", (e) => {
      if (secure) return;
      this.log.info({ code: "E_SIP_TLS_HANDSHAKE", remote, err: e.message }, "sip wss: handshake failed");
      this.reportTls("E_SIP_TLS_HANDSHAKE", remote, e.message, true);
      socket.destroy();
    });
    socket.once("secure", () => {
      secure = true;
      const refused = this.opts.tls ? checkClient(this.opts.tls, socket) : undefined;
      if (refused) {
        this.log.warn({ code: refused.code, remote, msg: refused.message }, "sip wss: client refused");
        this.reportTls(refused.code, remote, refused.message, true);
        socket.on("error", () => undefined);
        socket.destroy();
        return;
      }
      // node:http: "connection" may be emitted to hand the server a socket it did not accept itself
      http.emit("connection", socket);
    });
  }

  private reportTls(code: string, remote: { host: string; port: number }, detail: string, inbound: boolean): void {
    try {
      this.handlers.onTlsRefused?.({ transport: "WSS", remote, code, detail, inbound });
    } catch (e) {
      this.log.error({ err: e }, "sip wss: refusal handler failed");
    }
  }

  private handshakeDone(socket: Duplex): void {
    const t = this.handshaking.get(socket as Socket);
    if (t === undefined) return;
    clearTimeout(t);
    this.handshaking.delete(socket as Socket);
  }

  private onUpgrade(req: IncomingMessage, socket: Duplex, head: Buffer): void {
    try {
      socket.on("error", () => socket.destroy());
      const offered = (req.headers["sec-websocket-protocol"] ?? "")
        .split(",")
        .map((s) => s.trim())
        .filter((s) => s !== "");
      const refuse = (status: string, body = "") => {
        const head = `HTTP/1.1 ${status}\r\nConnection: close\r\nContent-Type: text/plain\r\n`;
        socket.end(`${head}Content-Length: ${Buffer.byteLength(body)}\r\n\r\n${body}`);
        setImmediate(() => socket.destroy());
      };
      // RFC 6455 §4.2.2 / §10.2: a request the server does not accept (foreign Origin, Host) gets an HTTP error
      const remote = `${req.socket.remoteAddress}:${req.socket.remotePort}`;
      const no = this.verifyUpgrade?.({ origin: req.headers.origin, host: req.headers.host, remote });
      if (no) {
        this.log.warn(
          { code: "E_SIP_WS_REFUSED", remote, status: no.status, reason: no.reason },
          "sip ws: upgrade refused",
        );
        refuse(`${no.status} ${STATUS_TEXT[no.status]}`, `${no.reason}\n`);
        return;
      }
      // RFC 7118 §4: a client that does not offer "sip" is refused
      if (!offered.includes(SIP_SUBPROTOCOL)) {
        this.log.info({ offered }, "sip ws: upgrade without the sip subprotocol refused");
        refuse("400 Bad Request");
        return;
      }
      // the connection's slot was taken at accept (onHttpConnection); without one it is not ours to upgrade
      const slot = this.slots.get(req.socket);
      if (this.closed || !this.wss || !slot || slot.released) {
        this.log.warn(
          { code: "E_SIP_CONNECTION_LIMIT", remote: `${req.socket.remoteAddress}:${req.socket.remotePort}` },
          "sip ws: connection not admitted, refusing the upgrade",
        );
        refuse("503 Service Unavailable");
        return;
      }
      this.wss.handleUpgrade(req, socket, head, (ws) => {
        this.handshakeDone(socket);
        if (this.closed || slot.released) {
          ws.terminate();
          return;
        }
        this.adopt(ws, bareHost(req.socket.remoteAddress ?? ""), req.socket.remotePort ?? 0, req.socket, true, slot);
      });
    } catch (e) {
      this.log.error({ err: e }, "sip ws: upgrade failed");
      socket.destroy();
    }
  }

  private adopt(
    ws: WebSocket,
    host: string,
    port: number,
    sock: { localAddress?: string | undefined; localPort?: number | undefined },
    inbound: boolean,
    slot: Slot,
  ): WsConnection {
    const id = this.table.nextId();
    const source: SipSource = {
      transport: this.protocol,
      host,
      port,
      localHost: bareHost(sock.localAddress ?? ""),
      localPort: sock.localPort ?? 0,
      connectionId: id,
    };
    const conn: WsConnection = { id, ws, source, inbound, slot };
    this.table.add(conn);
    // idle timeout (no traffic either way) and eviction: limiter.ts
    this.table.track(conn, () => ws.terminate());
    const limiter = this.table.limiter;
    const expire = () => ws.terminate();
    // Kamailio tcp_msg_data_timeout: an inbound connection must deliver its first message within the read deadline
    if (inbound) this.table.armDeadline(conn, this.limits.messageTimeoutMs, expire);
    // the read deadline per message: this listener runs after the ws receiver has consumed the chunk (it was added
    // after ws's own), so the receiver state says whether part of a frame or of a fragmented message is pending
    const raw = (ws as unknown as { _socket?: Socket })._socket;
    raw?.on("data", () => {
      if (conn.closing) return;
      limiter.note(slot, undefined, true);
      const partial = partialFrame(ws);
      // without the receiver state (another ws version) only the first-message deadline and the idle timeout apply
      if (partial === undefined) return;
      this.table.afterRead(conn, partial, false, this.limits.messageTimeoutMs, expire);
    });
    ws.on("message", (data, isBinary) => {
      try {
        const bytes = toBytes(data);
        const keepAlive = bytes.every((b) => b === 0x0d || b === 0x0a);
        limiter.note(slot, keepAlive ? undefined : bytes, true);
        // a message is complete (a keep-alive does not count as the first message); the next one may have started in
        // the same read, its clock starts now (the raw data listener settles the rest)
        this.table.afterRead(conn, partialFrame(ws, true) === true, !keepAlive, this.limits.messageTimeoutMs, expire);
        // keep-alive: a frame of only CRLFs; answer CRLFCRLF with CRLF as RFC 5626 §4.4.1 does on TCP
        if (keepAlive) {
          if (bytes.length >= 4 && ws.readyState === WebSocket.OPEN) ws.send(PONG, { binary: isBinary });
          return;
        }
        this.handlers.onMessage(bytes, source);
      } catch (e) {
        this.log.error({ err: e }, "sip ws: message handler failed");
      }
    });
    ws.on("error", (e) => {
      const code = (e as { code?: unknown }).code;
      if (code === "WS_ERR_UNSUPPORTED_MESSAGE_LENGTH") this.table.markClosing(conn, "stream-error", "E_SIP_TOO_LARGE");
      else if (typeof code === "string" && code.startsWith("WS_ERR_")) this.table.markClosing(conn, "stream-error");
      else this.table.markClosing(conn, "reset");
      this.log.debug({ err: e, id }, "sip ws: socket error");
    });
    ws.on("close", (code) => {
      this.table.remove(conn, code === ABNORMAL_CLOSURE ? "reset" : "peer-closed");
      this.log.debug({ id, code }, "sip ws: closed");
    });
    return conn;
  }

  address(): SipEndpoint | undefined {
    return this.bound;
  }

  private connect(target: SipTarget): Promise<WsConnection> {
    return this.table.connectOnce(target.host, target.port, () => this.dial(target));
  }

  private dial(target: SipTarget): Promise<WsConnection> {
    const h = bareHost(target.host);
    const tlsCfg = this.opts.tls;
    // RFC 7118 §5: WSS is a WebSocket over TLS (the wss: scheme of RFC 6455 §3)
    const url = `${tlsCfg ? "wss" : "ws"}://${h.includes(":") ? `[${h}]` : h}:${target.port}${this.opts.path ?? "/"}`;
    return new Promise<WsConnection>((resolve, reject) => {
      let ws: WebSocket;
      try {
        ws = new WebSocket(url, SIP_SUBPROTOCOL, {
          maxPayload: this.limits.maxMessageSize,
          perMessageDeflate: false,
          handshakeTimeout: this.limits.connectTimeoutMs,
          ...(this.opts.host !== undefined ? { localAddress: bareHost(this.opts.host) } : {}),
          ...(tlsCfg ? clientTlsOptions(tlsCfg, h, target.port) : {}),
        });
      } catch (e) {
        reject(new SipError("E_SIP_TRANSPORT", `${this.protocol} connect to ${url} failed: ${String(e)}`));
        return;
      }
      const fail = (e: SipError) => {
        this.connecting.delete(ws);
        ws.removeAllListeners();
        ws.on("error", () => undefined);
        ws.terminate();
        reject(e);
      };
      this.connecting.set(ws, fail);
      ws.once("open", () => {
        this.connecting.delete(ws);
        ws.removeAllListeners("error");
        // RFC 7118 §4: the server must have selected "sip"
        if (ws.protocol !== SIP_SUBPROTOCOL) {
          fail(new SipError("E_SIP_TRANSPORT", `WS server at ${url} did not select the sip subprotocol`));
          return;
        }
        if (this.closed) {
          fail(new SipError("E_SIP_CLOSED", "WS transport closed"));
          return;
        }
        const sock = (ws as unknown as { _socket?: unknown })._socket;
        if (tlsCfg) {
          // RFC 5922 §7.2: the server's certificate is checked before the connection carries a SIP message
          const refused =
            sock instanceof tls.TLSSocket
              ? checkServer(tlsCfg, sock, h)
              : new SipError("E_SIP_TLS_PEER", `${url}: not a TLS connection`);
          if (refused) {
            this.log.warn({ code: refused.code, url, msg: refused.message }, "sip wss: server refused");
            this.reportTls(refused.code, { host: h, port: target.port }, refused.message, false);
            fail(refused);
            return;
          }
        }
        const raw = (sock ?? {}) as { localAddress?: string; localPort?: number };
        resolve(this.adopt(ws, h, target.port, raw, false, this.table.limiter.outbound(h)));
      });
      ws.once("error", (e) => {
        // a TLS error (a certificate from another CA, a name that does not match) is a refused peer
        const code = (e as { code?: unknown }).code;
        // (socket errnos are E + capitals: ECONNREFUSED …; TLS/X.509 codes are not: ERR_TLS_…, UNABLE_TO_VERIFY_…)
        const tlsFail = tlsCfg !== undefined && typeof code === "string" && !/^E[A-Z]+$/.test(code);
        if (tlsFail) {
          this.reportTls("E_SIP_TLS_PEER", { host: h, port: target.port }, e.message, false);
          fail(new SipError("E_SIP_TLS_PEER", `${this.protocol} connect to ${url} failed: ${e.message}`, { cause: e }));
          return;
        }
        fail(new SipError("E_SIP_TRANSPORT", `${this.protocol} connect to ${url} failed: ${e.message}`, { cause: e }));
      });
      ws.once("unexpected-response", (_req, res) =>
        fail(new SipError("E_SIP_TRANSPORT", `WS connect to ${url} refused with HTTP ${res.statusCode}`)),
      );
    });
  }

  private find(target: SipTarget): WsConnection | undefined {
    if (target.connectionId !== undefined) {
      const c = this.table.get(target.connectionId);
      if (c && c.ws.readyState === WebSocket.OPEN) return c;
    }
    const c = this.table.toRemote(target.host, target.port);
    return c && c.ws.readyState === WebSocket.OPEN ? c : undefined;
  }

  async send(bytes: Uint8Array, target: SipTarget): Promise<SipSource> {
    if (this.closed) throw new SipError("E_SIP_CLOSED", "WS transport closed");
    let conn = this.find(target);
    if (!conn) {
      // RFC 7118 §5.2: a ".invalid" host is reachable only over its existing connection
      if (bareHost(target.host).endsWith(".invalid")) {
        throw new SipError("E_SIP_TRANSPORT", `no open WebSocket connection to ${target.host}`);
      }
      conn = await this.connect(target);
    }
    const c = conn;
    await new Promise<void>((resolve, reject) => {
      // RFC 7118 §5.1: text frames must be UTF-8; anything else goes as a binary frame
      c.ws.send(bytes, { binary: !isUtf8(bytes) }, (err) => {
        if (err) reject(new SipError("E_SIP_TRANSPORT", `WS send failed: ${err.message}`, { cause: err }));
        else resolve();
      });
    });
    this.table.limiter.note(c.slot, bytes, false);
    return c.source;
  }

  hasConnection(id: string): boolean {
    const c = this.table.get(id);
    return c !== undefined && c.ws.readyState === WebSocket.OPEN;
  }

  connectionCount(): number {
    return this.table.size;
  }

  setFlow(id: string, registered: boolean): void {
    this.table.setFlow(id, registered);
  }

  settle(id: string): void {
    const c = this.table.get(id);
    if (c) this.table.limiter.settle(c.slot);
  }

  connectionStats(): ConnectionLimiterStats {
    return this.table.limiter.stats();
  }

  /** Closes one connection (tests, and the layer when a peer misbehaves). */
  closeConnection(id: string): void {
    const c = this.table.get(id);
    if (!c) return;
    this.table.markClosing(c, "local");
    c.ws.terminate();
  }

  async close(): Promise<void> {
    if (this.closed) return;
    this.closed = true;
    this.table.limiter.clear();
    const waits: Promise<unknown>[] = [];
    for (const c of this.table.values()) {
      this.table.markClosing(c, "transport-closed");
      this.table.clearDeadline(c);
      waits.push(
        new Promise<void>((r) => (c.ws.readyState === WebSocket.CLOSED ? r() : c.ws.once("close", () => r()))),
      );
      c.ws.terminate();
    }
    for (const fail of [...this.connecting.values()]) fail(new SipError("E_SIP_CLOSED", "WS transport closed"));
    for (const [socket, t] of this.handshaking) {
      clearTimeout(t);
      socket.destroy();
    }
    this.handshaking.clear();
    for (const p of this.table.pending.values())
      waits.push(
        p.then(
          (c) => {
            this.table.markClosing(c, "transport-closed");
            c.ws.terminate();
          },
          () => undefined,
        ),
      );
    this.wss?.close();
    const tcp = this.tcp;
    if (tcp) waits.push(new Promise<void>((r) => tcp.close(() => r())));
    const http = this.http;
    if (http) {
      http.closeAllConnections();
      waits.push(new Promise<void>((r) => http.close(() => r())));
    }
    await Promise.all(waits);
  }
}
