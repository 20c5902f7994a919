/**
 * SIP over WebSocket (RFC 7118, `ws` library): the "sip" subprotocol is required in both directions (§4), one SIP
 * message per WebSocket message, text or binary frames (§5.1), Via transport "WS" (§5.2). Bounded by maxPayload
 * (an oversize frame closes the connection with 1009), a connection limit and an idle timeout. WSS (TLS) is not
 * terminated here.
 */
import { createServer, type IncomingMessage, type Server } from "node:http";
import type { Duplex } from "node:stream";
import { type RawData, WebSocket, WebSocketServer } from "ws";
import type { Logger } from "../../log.ts";
import { silentLogger } from "../../log.ts";
import { SipError } from "../errors.ts";
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

export interface WsTransportOptions {
  host?: string;
  port?: number;
  /** false: no listening socket (a WebSocket client only, like a browser UE) */
  listen?: boolean;
  /** request path used for outbound connections; default "/" */
  path?: string;
  limits?: Partial<TransportLimits>;
  logger?: Logger;
}

interface WsConnection {
  id: string;
  ws: WebSocket;
  source: SipSource;
  idle: NodeJS.Timeout;
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
  readonly protocol = "WS" as const;
  readonly reliable = true;
  private http: Server | undefined;
  private wss: WebSocketServer | undefined;
  private bound: SipEndpoint | undefined;
  private closed = false;
  private seq = 0;
  private upgrading = 0;
  private readonly conns = new Map<string, WsConnection>();
  private readonly byRemote = new Map<string, string>();
  private readonly pending = new Map<string, Promise<WsConnection>>();
  private readonly connecting = new Map<WebSocket, (e: SipError) => void>();
  private readonly limits: TransportLimits;
  private readonly log: Logger;

  constructor(
    private readonly handlers: TransportHandlers,
    private readonly opts: WsTransportOptions = {},
  ) {
    this.limits = { ...DEFAULT_LIMITS, ...opts.limits };
    this.log = opts.logger ?? silentLogger;
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
      const onError = (e: Error) =>
        reject(new SipError("E_SIP_TRANSPORT", `WS listen failed: ${e.message}`, { cause: e }));
      http.once("error", onError);
      http.listen({ host: bareHost(this.opts.host ?? "127.0.0.1"), port: this.opts.port ?? 0 }, () => {
        http.off("error", onError);
        http.on("error", (e) => this.log.warn({ err: e }, "sip ws: server error"));
        const a = http.address();
        if (a === null || typeof a === "string") {
          reject(new SipError("E_SIP_TRANSPORT", "WS server has no address"));
          return;
        }
        this.bound = { host: a.address, port: a.port };
        resolve(this.bound);
      });
    });
  }

  private onUpgrade(req: IncomingMessage, socket: Duplex, head: Buffer): void {
    try {
      socket.on("error", () => socket.destroy());
      const offered = (req.headers["sec-websocket-protocol"] ?? "")
        .split(",")
        .map((s) => s.trim())
        .filter((s) => s !== "");
      const refuse = (status: string) => {
        socket.end(`HTTP/1.1 ${status}\r\nConnection: close\r\nContent-Length: 0\r\n\r\n`);
        setImmediate(() => socket.destroy());
      };
      // RFC 7118 §4: a client that does not offer "sip" is refused
      if (!offered.includes(SIP_SUBPROTOCOL)) {
        this.log.info({ offered }, "sip ws: upgrade without the sip subprotocol refused");
        refuse("400 Bad Request");
        return;
      }
      if (
        this.closed ||
        !this.wss ||
        this.conns.size + this.upgrading + this.pending.size >= this.limits.maxConnections
      ) {
        this.log.warn("sip ws: connection limit reached, refusing");
        refuse("503 Service Unavailable");
        return;
      }
      this.upgrading++;
      this.wss.handleUpgrade(req, socket, head, (ws) => {
        this.upgrading--;
        if (this.closed) {
          ws.terminate();
          return;
        }
        this.adopt(ws, bareHost(req.socket.remoteAddress ?? ""), req.socket.remotePort ?? 0, req.socket);
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
  ): WsConnection {
    const id = `ws-${++this.seq}`;
    const source: SipSource = {
      transport: "WS",
      host,
      port,
      localHost: bareHost(sock.localAddress ?? ""),
      localPort: sock.localPort ?? 0,
      connectionId: id,
    };
    const idle = setTimeout(() => {
      this.log.debug({ id }, "sip ws: idle timeout");
      ws.terminate();
    }, this.limits.idleTimeoutMs);
    const conn: WsConnection = { id, ws, source, idle };
    this.conns.set(id, conn);
    const key = endpointKey(host, port);
    this.byRemote.set(key, id);
    ws.on("message", (data, isBinary) => {
      try {
        idle.refresh();
        const bytes = toBytes(data);
        // keep-alive: a frame of only CRLFs; answer CRLFCRLF with CRLF as RFC 5626 §4.4.1 does on TCP
        if (bytes.every((b) => b === 0x0d || b === 0x0a)) {
          if (bytes.length >= 4 && ws.readyState === WebSocket.OPEN) ws.send(PONG, { binary: isBinary });
          return;
        }
        this.handlers.onMessage(bytes, source);
      } catch (e) {
        this.log.error({ err: e }, "sip ws: message handler failed");
      }
    });
    ws.on("error", (e) => this.log.debug({ err: e, id }, "sip ws: socket error"));
    ws.on("close", (code) => {
      clearTimeout(idle);
      this.conns.delete(id);
      if (this.byRemote.get(key) === id) this.byRemote.delete(key);
      this.log.debug({ id, code }, "sip ws: closed");
    });
    return conn;
  }

  address(): SipEndpoint | undefined {
    return this.bound;
  }

  private connect(target: SipTarget): Promise<WsConnection> {
    const key = endpointKey(target.host, target.port);
    const existing = this.pending.get(key);
    if (existing) return existing;
    if (this.conns.size + this.pending.size >= this.limits.maxConnections) {
      return Promise.reject(new SipError("E_SIP_CONNECTION_LIMIT", "WS connection limit reached"));
    }
    const h = bareHost(target.host);
    const url = `ws://${h.includes(":") ? `[${h}]` : h}:${target.port}${this.opts.path ?? "/"}`;
    const p = new Promise<WsConnection>((resolve, reject) => {
      const ws = new WebSocket(url, SIP_SUBPROTOCOL, {
        maxPayload: this.limits.maxMessageSize,
        perMessageDeflate: false,
        handshakeTimeout: this.limits.connectTimeoutMs,
        ...(this.opts.host !== undefined ? { localAddress: bareHost(this.opts.host) } : {}),
      });
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
        const raw = (ws as unknown as { _socket?: { localAddress?: string; localPort?: number } })._socket ?? {};
        resolve(this.adopt(ws, h, target.port, raw));
      });
      ws.once("error", (e) =>
        fail(new SipError("E_SIP_TRANSPORT", `WS connect to ${url} failed: ${e.message}`, { cause: e })),
      );
      ws.once("unexpected-response", (_req, res) =>
        fail(new SipError("E_SIP_TRANSPORT", `WS connect to ${url} refused with HTTP ${res.statusCode}`)),
      );
    });
    this.pending.set(key, p);
    const done = () => {
      if (this.pending.get(key) === p) this.pending.delete(key);
    };
    p.then(done, done);
    return p;
  }

  private find(target: SipTarget): WsConnection | undefined {
    if (target.connectionId !== undefined) {
      const c = this.conns.get(target.connectionId);
      if (c && c.ws.readyState === WebSocket.OPEN) return c;
    }
    const id = this.byRemote.get(endpointKey(target.host, target.port));
    const c = id !== undefined ? this.conns.get(id) : undefined;
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
    c.idle.refresh();
    return c.source;
  }

  hasConnection(id: string): boolean {
    const c = this.conns.get(id);
    return c !== undefined && c.ws.readyState === WebSocket.OPEN;
  }

  connectionCount(): number {
    return this.conns.size;
  }

  closeConnection(id: string): void {
    this.conns.get(id)?.ws.terminate();
  }

  async close(): Promise<void> {
    if (this.closed) return;
    this.closed = true;
    const waits: Promise<unknown>[] = [];
    for (const c of this.conns.values()) {
      clearTimeout(c.idle);
      waits.push(
        new Promise<void>((r) => (c.ws.readyState === WebSocket.CLOSED ? r() : c.ws.once("close", () => r()))),
      );
      c.ws.terminate();
    }
    for (const fail of [...this.connecting.values()]) fail(new SipError("E_SIP_CLOSED", "WS transport closed"));
    for (const p of this.pending.values())
      waits.push(
        p.then(
          (c) => c.ws.terminate(),
          () => undefined,
        ),
      );
    this.wss?.close();
    const http = this.http;
    if (http) {
      http.closeAllConnections();
      waits.push(new Promise<void>((r) => http.close(() => r())));
    }
    await Promise.all(waits);
  }
}
