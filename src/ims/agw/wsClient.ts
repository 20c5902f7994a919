/** The IMS-ALG side of the Iq WebSocket binding (wire format: see wsCodec.ts): requests, events, reconnection. */
import { randomUUID } from "node:crypto";
import { type RawData, WebSocket } from "ws";
import { type Logger, silentLogger } from "../../log.ts";
import { AgwError, isAgwErrorCode } from "./iqErrors.ts";
import type { IqEventListener } from "./iqEvents.ts";
import { IqListeners } from "./iqListeners.ts";
import { assertInsecureAllowed, checkCredential, connectPinned, type IqTlsClientOptions } from "./iqTls.ts";
import type {
  AgwConnectionPoint,
  ConfigureAgwConnectionPointRequest,
  IqAgw,
  IqProcedure,
  ReleaseAgwConnectionPointRequest,
  ReleaseAgwConnectionPointResponse,
  ReleaseAgwContextRequest,
  ReleaseAgwContextResponse,
  ReserveAgwConnectionPointRequest,
  ReserveAndConfigureAgwConnectionPointRequest,
} from "./iqTypes.ts";
import {
  isRecord,
  parseAgwConnectionPoint,
  parseIqEvent,
  parseReleaseContextResponse,
  parseReleaseResponse,
} from "./iqValidate.ts";
import {
  errText,
  IQ_BYE_REASON,
  IQ_SESSION_HEADER,
  IQ_WS_HARD_MAX_BYTES,
  type IqWsRequest,
  rawLength,
  rawText,
  SESSION_RE,
} from "./wsCodec.ts";

export interface IqWsClientOptions {
  /** Per-request timeout. Default 10 s. */
  timeoutMs?: number;
  /** Connect timeout (first connection and each reconnection attempt). Default 5 s. */
  connectTimeoutMs?: number;
  /**
   * Reconnect when the connection drops (default true). Attempts back off exponentially from `reconnectMinMs`
   * (default 100 ms) to `reconnectMaxMs` (default 5 s), with jitter. Requests made while disconnected fail at once
   * with E_AGW_IQ_UNAVAILABLE.
   */
  reconnect?: boolean;
  reconnectMinMs?: number;
  reconnectMaxMs?: number;
  /** Ping the AGW this often; no pong by the next ping ⇒ the connection is dropped (and re-made). Default 10 s, 0 = off. */
  pingIntervalMs?: number;
  /**
   * wss:// URLs: the client certificate and the AGW's pinned fingerprint(s) (mutual TLS; E_AGW_IQ_AUTH when the AGW
   * presents another certificate). Required for wss://.
   */
  tls?: IqTlsClientOptions;
  /** ws:// URLs: allowed only with `insecure: true` and a loopback host (E_AGW_IQ_INSECURE otherwise). */
  insecure?: boolean;
  /** The Iq session id presented to the AGW (default: a random UUID, kept across reconnections). */
  sessionId?: string;
  logger?: Logger;
}

/** The Iq connection's state, as reported to `onConnectionState` listeners. */
export type IqConnectionState =
  | { readonly connected: false; readonly reason: string }
  | {
      readonly connected: true;
      /** false: the AGW did not know the session (it restarted): every context reserved before is gone */
      readonly resumed: boolean;
      /** contexts the AGW still holds for this session */
      readonly contexts: number;
    };

interface Pending {
  resolve(v: unknown): void;
  reject(e: Error): void;
  parse(x: unknown): unknown;
  timer: NodeJS.Timeout;
}

/**
 * Opens one WebSocket; rejects with a typed error (E_AGW_IQ_TIMEOUT, E_AGW_IQ_DISCONNECTED). `onMessage` is attached
 * at once: the server's session message may arrive in the same read as the upgrade response.
 */
async function openSocket(
  url: string,
  sessionId: string,
  timeoutMs: number,
  tls: IqTlsClientOptions | undefined,
  onMessage: (ws: WebSocket, data: RawData, isBinary: boolean) => void,
): Promise<WebSocket> {
  // WSS: the AGW's certificate is checked against the pin before the upgrade request (and the session id) is sent
  const socket = tls ? await connectPinned(new URL(url), tls, timeoutMs) : undefined;
  const ws = new WebSocket(url, {
    maxPayload: IQ_WS_HARD_MAX_BYTES,
    perMessageDeflate: false,
    headers: { [IQ_SESSION_HEADER]: sessionId },
    ...(socket ? { createConnection: () => socket } : {}),
  });
  ws.on("message", (data, isBinary) => onMessage(ws, data, isBinary));
  return new Promise<WebSocket>((resolve, reject) => {
    const timer = setTimeout(() => {
      ws.terminate();
      reject(new AgwError("E_AGW_IQ_TIMEOUT", `connect to ${url} timed out`));
    }, timeoutMs);
    ws.once("open", () => {
      clearTimeout(timer);
      ws.removeAllListeners("error");
      resolve(ws);
    });
    ws.once("error", (e) => {
      clearTimeout(timer);
      ws.on("error", () => {});
      reject(new AgwError("E_AGW_IQ_DISCONNECTED", `cannot connect to ${url}: ${e.message}`));
    });
  });
}

/** The IMS-ALG side of the WebSocket binding; the same `IqAgw` interface as the in-process `ImsAgw`. */
export class IqWsClient implements IqAgw {
  /** The Iq session id the AGW knows this client by (kept across reconnections). */
  readonly sessionId: string;
  private ws: WebSocket | undefined;
  private readonly pending = new Map<number, Pending>();
  private readonly listeners: IqListeners;
  private nextId = 1;
  private closed = false;
  private attempt = 0;
  private reconnectTimer: NodeJS.Timeout | undefined;
  private pingTimer: NodeJS.Timeout | undefined;
  private alive = true;
  private readonly log: Logger;
  private readonly timeoutMs: number;
  private readonly connectTimeoutMs: number;
  private readonly reconnect: boolean;
  private readonly reconnectMinMs: number;
  private readonly reconnectMaxMs: number;
  private readonly tls: IqTlsClientOptions | undefined;

  private constructor(
    private readonly url: string,
    sessionId: string,
    opts: IqWsClientOptions,
  ) {
    this.sessionId = sessionId;
    this.log = (opts.logger ?? silentLogger).child({ binding: "iq-ws-client" });
    this.listeners = new IqListeners(this.log);
    this.timeoutMs = opts.timeoutMs ?? 10_000;
    this.connectTimeoutMs = opts.connectTimeoutMs ?? 5000;
    this.reconnect = opts.reconnect ?? true;
    this.reconnectMinMs = opts.reconnectMinMs ?? 100;
    this.reconnectMaxMs = opts.reconnectMaxMs ?? 5000;
    this.tls = opts.tls;
    const ping = opts.pingIntervalMs ?? 10_000;
    if (ping > 0) {
      this.pingTimer = setInterval(() => this.ping(), ping);
      this.pingTimer.unref();
    }
  }

  /** Connects (the first connection must succeed: typed E_AGW_IQ_TIMEOUT / E_AGW_IQ_DISCONNECTED otherwise). */
  static async connect(url: string, opts: IqWsClientOptions = {}): Promise<IqWsClient> {
    let u: URL;
    try {
      u = new URL(url);
    } catch {
      throw new AgwError("E_AGW_INVALID_PARAM", `not a URL: ${url.slice(0, 100)}`);
    }
    if (u.protocol === "wss:") {
      if (!opts.tls || opts.tls.agwFingerprints.length === 0) {
        throw new AgwError("E_AGW_INVALID_PARAM", "wss:// Iq needs a client certificate and the AGW's fingerprint");
      }
      checkCredential(opts.tls.certPem, opts.tls.keyPem, "Iq client");
    } else if (u.protocol === "ws:") {
      if (opts.tls) throw new AgwError("E_AGW_INVALID_PARAM", "TLS credentials given for a ws:// URL: use wss://");
      assertInsecureAllowed(u.hostname, opts.insecure, "Iq client");
    } else throw new AgwError("E_AGW_INVALID_PARAM", `Iq URL must be ws:// or wss://, not ${u.protocol}`);
    const sessionId = opts.sessionId !== undefined && SESSION_RE.test(opts.sessionId) ? opts.sessionId : randomUUID();
    const client = new IqWsClient(url, sessionId, opts);
    try {
      client.attach(await client.open());
    } catch (e) {
      client.stopTimers();
      throw e;
    }
    return client;
  }

  /** True while the WebSocket is open (requests are sent); false while reconnecting or closed. */
  get connected(): boolean {
    return !this.closed && this.ws?.readyState === WebSocket.OPEN;
  }

  reserveAgwConnectionPoint(req: ReserveAgwConnectionPointRequest): Promise<AgwConnectionPoint> {
    return this.call("reserveAgwConnectionPoint", req, parseAgwConnectionPoint);
  }

  reserveAndConfigureAgwConnectionPoint(
    req: ReserveAndConfigureAgwConnectionPointRequest,
  ): Promise<AgwConnectionPoint> {
    return this.call("reserveAndConfigureAgwConnectionPoint", req, parseAgwConnectionPoint);
  }

  configureAgwConnectionPoint(req: ConfigureAgwConnectionPointRequest): Promise<AgwConnectionPoint> {
    return this.call("configureAgwConnectionPoint", req, parseAgwConnectionPoint);
  }

  releaseAgwConnectionPoint(req: ReleaseAgwConnectionPointRequest): Promise<ReleaseAgwConnectionPointResponse> {
    return this.call("releaseAgwConnectionPoint", req, parseReleaseResponse);
  }

  releaseAgwContext(req: ReleaseAgwContextRequest): Promise<ReleaseAgwContextResponse> {
    return this.call("releaseAgwContext", req, parseReleaseContextResponse);
  }

  onEvent(listener: IqEventListener): () => void {
    return this.listeners.on("event", listener);
  }

  /**
   * Connection state changes: `{connected: false}` when the connection drops (the client reconnects with back-off),
   * `{connected: true, resumed}` when the AGW greets a (re)connection. `resumed: false` after a drop means the AGW
   * restarted: the IMS-ALG's contexts there are gone.
   */
  onConnectionState(listener: (state: IqConnectionState) => void): () => void {
    return this.listeners.on("state", listener);
  }

  /** Sends raw text (tests of the server's validation). */
  sendRaw(text: string | Buffer): void {
    this.ws?.send(text);
  }

  /** Drops the connection without a close handshake, as a network failure would (tests, fault benchmarks). */
  dropConnection(): void {
    this.ws?.terminate();
  }

  /** Ends the Iq session: the AGW releases this session's contexts at once (close 1000 "bye"). */
  async close(): Promise<void> {
    if (this.closed) return;
    this.closed = true;
    this.stopTimers();
    const ws = this.ws;
    if (ws) {
      await new Promise<void>((r) => {
        if (ws.readyState === WebSocket.CLOSED) return r();
        const guard = setTimeout(() => {
          ws.terminate();
          r();
        }, 2000);
        ws.once("close", () => {
          clearTimeout(guard);
          r();
        });
        ws.close(1000, IQ_BYE_REASON);
      });
    }
    this.ws = undefined;
    this.rejectPending("Iq connection closed");
  }

  private open(): Promise<WebSocket> {
    return openSocket(this.url, this.sessionId, this.connectTimeoutMs, this.tls, (ws, data, isBinary) => {
      if (ws === this.ws || this.ws === undefined) this.onMessage(data, isBinary);
    });
  }

  private stopTimers(): void {
    if (this.reconnectTimer) clearTimeout(this.reconnectTimer);
    this.reconnectTimer = undefined;
    if (this.pingTimer) clearInterval(this.pingTimer);
    this.pingTimer = undefined;
  }

  private attach(ws: WebSocket): void {
    this.ws = ws;
    this.alive = true;
    ws.on("close", () => this.onDrop(ws));
    ws.on("error", (e) => this.log.debug({ err: e.message }, "Iq client socket error"));
    ws.on("pong", () => {
      this.alive = true;
    });
  }

  private ping(): void {
    const ws = this.ws;
    if (!ws || ws.readyState !== WebSocket.OPEN) return;
    if (!this.alive) {
      this.log.warn("AGW silent for a ping interval: connection dropped");
      ws.terminate();
      return;
    }
    this.alive = false;
    try {
      ws.ping();
    } catch {
      ws.terminate();
    }
  }

  private emitState(state: IqConnectionState): void {
    this.listeners.emit("state", state);
  }

  private onDrop(ws: WebSocket): void {
    if (ws !== this.ws) return;
    this.ws = undefined;
    this.rejectPending("Iq connection lost");
    if (this.closed) return;
    if (!this.reconnect) {
      this.closed = true;
      this.stopTimers();
      this.emitState({ connected: false, reason: "connection lost" });
      return;
    }
    this.log.warn({ url: this.url }, "Iq connection lost; reconnecting");
    this.emitState({ connected: false, reason: "connection lost" });
    this.scheduleReconnect();
  }

  private scheduleReconnect(): void {
    if (this.closed || this.reconnectTimer) return;
    const base = Math.min(this.reconnectMaxMs, this.reconnectMinMs * 2 ** Math.min(this.attempt, 20));
    const delay = Math.round(base * (0.5 + Math.random() * 0.5)); // jitter: restarted AGWs are not stampeded
    this.attempt++;
    this.reconnectTimer = setTimeout(() => {
      this.reconnectTimer = undefined;
      void this.tryReconnect();
    }, delay);
    this.reconnectTimer.unref();
  }

  private async tryReconnect(): Promise<void> {
    if (this.closed) return;
    try {
      const ws = await this.open();
      if (this.closed) {
        ws.terminate();
        return;
      }
      this.attempt = 0;
      this.attach(ws);
      this.log.info({ url: this.url }, "Iq connection re-established");
    } catch (e) {
      this.log.debug({ err: errText(e), attempt: this.attempt }, "Iq reconnection failed");
      this.scheduleReconnect();
    }
  }

  private rejectPending(why: string): void {
    for (const [id, p] of this.pending) {
      clearTimeout(p.timer);
      p.reject(new AgwError("E_AGW_IQ_DISCONNECTED", why));
      this.pending.delete(id);
    }
  }

  private call<T>(procedure: IqProcedure, params: unknown, parse: (x: unknown) => T): Promise<T> {
    if (this.closed) return Promise.reject(new AgwError("E_AGW_IQ_DISCONNECTED", "Iq connection is closed"));
    const ws = this.ws;
    if (!ws || ws.readyState !== WebSocket.OPEN) {
      // fail fast: the request is not queued behind an outage of unknown length
      return Promise.reject(new AgwError("E_AGW_IQ_UNAVAILABLE", "IMS-AGW unreachable (reconnecting)"));
    }
    const id = this.nextId++;
    return new Promise<T>((resolve, reject) => {
      const timer = setTimeout(() => {
        this.pending.delete(id);
        reject(new AgwError("E_AGW_IQ_TIMEOUT", `${procedure} timed out after ${this.timeoutMs} ms`));
      }, this.timeoutMs);
      this.pending.set(id, { resolve: resolve as (v: unknown) => void, reject, parse, timer });
      ws.send(JSON.stringify({ id, procedure, params } satisfies IqWsRequest));
    });
  }

  private onMessage(data: RawData, isBinary: boolean): void {
    if (isBinary || rawLength(data) > IQ_WS_HARD_MAX_BYTES) return;
    let msg: unknown;
    try {
      msg = JSON.parse(rawText(data));
    } catch {
      this.log.warn("Iq server sent non-JSON");
      return;
    }
    if (!isRecord(msg)) return;
    if (typeof msg.event === "string") {
      const e = parseIqEvent(msg);
      if (!e) return;
      this.listeners.emit("event", e);
      return;
    }
    if (isRecord(msg.session)) {
      const resumed = msg.session.resumed === true;
      const contexts = typeof msg.session.contexts === "number" ? msg.session.contexts : 0;
      this.emitState({ connected: true, resumed, contexts });
      return;
    }
    if (typeof msg.id !== "number") {
      if (isRecord(msg.error)) this.log.warn({ error: msg.error }, "Iq server error without request id");
      return;
    }
    const p = this.pending.get(msg.id);
    if (!p) return;
    this.pending.delete(msg.id);
    clearTimeout(p.timer);
    if (isRecord(msg.error)) {
      const code = msg.error.code;
      const message = typeof msg.error.message === "string" ? msg.error.message.slice(0, 500) : "error";
      p.reject(new AgwError(isAgwErrorCode(code) ? code : "E_AGW_INTERNAL", message));
      return;
    }
    try {
      p.resolve(p.parse(msg.result));
    } catch (e) {
      p.reject(e instanceof Error ? e : new AgwError("E_AGW_INTERNAL", "bad response"));
    }
  }
}
