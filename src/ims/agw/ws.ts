/**
 * The Iq procedures over a WebSocket (our binding; TS 29.334 H.248 encodings are not in this project's sources).
 *
 * Wire format (UTF-8 JSON text frames):
 *   request   {"id": <string|integer>, "procedure": "<IqProcedure>", "params": {…}}
 *   response  {"id": …, "result": {…}}      or      {"id": …|null, "error": {"code": "E_AGW_…", "message": "…"}}
 *   event     {"event": "<IqEventName>", "contextId": "…", "terminationId": "…", …}
 *   session   {"session": {"id": "…", "resumed": true|false, "contexts": <n>}}   (server → client, on connect)
 *
 * Every incoming message is validated; garbage gets a typed error and the connection (and server) stay up.
 * Messages over `maxMessageBytes` (default 64 KiB) get E_AGW_IQ_TOO_LARGE; frames over the hard bound (1 MiB) are
 * refused by the WebSocket layer (close 1009).
 *
 * Iq sessions: a client presents a session id (header `x-iq-session`, kept across its reconnections). A context
 * belongs to the session that reserved it: only that session sees its events and may name it in a request (others
 * get E_AGW_UNKNOWN_CONTEXT). When the session's connection is lost, its contexts are released after
 * `orphanGraceMs` (audit `orphan-released`, code E_AGW_ORPHAN) unless the session reconnects first; a client that
 * closes its connection on purpose (close code 1000, reason "bye") has its contexts released at once. Both ends ping
 * (`pingIntervalMs`): a peer silent for two intervals is treated as gone.
 */
import { randomUUID } from "node:crypto";
import type { IncomingMessage } from "node:http";
import type { AddressInfo } from "node:net";
import { type RawData, WebSocket, WebSocketServer } from "ws";
import { isImsdcError } from "../../errors.ts";
import { type Logger, silentLogger } from "../../log.ts";
import type { ImsAgw } from "./agw.ts";
import {
  type AgwConnectionPoint,
  AgwError,
  type ConfigureAgwConnectionPointRequest,
  type IqAgw,
  type IqEventListener,
  type IqProcedure,
  isAgwErrorCode,
  isIqProcedure,
  isRecord,
  parseAgwConnectionPoint,
  parseIqEvent,
  parseReleaseContextResponse,
  parseReleaseResponse,
  type ReleaseAgwConnectionPointRequest,
  type ReleaseAgwConnectionPointResponse,
  type ReleaseAgwContextRequest,
  type ReleaseAgwContextResponse,
  type ReserveAgwConnectionPointRequest,
  type ReserveAndConfigureAgwConnectionPointRequest,
} from "./iq.ts";

export const IQ_WS_MAX_MESSAGE_BYTES = 64 * 1024;
/** Frames above this are refused by `ws` itself (close code 1009) before any parsing. */
export const IQ_WS_HARD_MAX_BYTES = 1024 * 1024;
const MAX_IN_FLIGHT = 64;
/** HTTP header of the WebSocket upgrade carrying the client's Iq session id. */
export const IQ_SESSION_HEADER = "x-iq-session";
const SESSION_RE = /^[A-Za-z0-9_-]{16,64}$/;
/** Close reason of a client that ends its Iq session on purpose (its contexts are released at once). */
export const IQ_BYE_REASON = "bye";
const CLAUSE_ORPHAN = "local policy (orphanGraceMs): no Iq session owns the context any more";

export type IqWsId = string | number;

export interface IqWsRequest {
  id: IqWsId;
  procedure: IqProcedure;
  params: unknown;
}

export type IqWsResponse =
  | { id: IqWsId; result: unknown }
  | { id: IqWsId | null; error: { code: string; message: string } };

/** Sent by the server right after a connection opens. */
export interface IqWsSessionMessage {
  session: {
    id: string;
    /** the AGW still knew this session (its contexts survived the outage); false after an AGW restart */
    resumed: boolean;
    /** contexts the session owns now */
    contexts: number;
  };
}

function validId(x: unknown): x is IqWsId {
  return (
    (typeof x === "string" && x.length > 0 && x.length <= 64) || (typeof x === "number" && Number.isSafeInteger(x))
  );
}

function rawLength(data: RawData): number {
  if (Array.isArray(data)) return data.reduce((n, b) => n + b.length, 0);
  return data instanceof ArrayBuffer ? data.byteLength : data.length;
}

function rawText(data: RawData): string {
  if (Array.isArray(data)) return Buffer.concat(data).toString("utf8");
  return data instanceof ArrayBuffer ? Buffer.from(data).toString("utf8") : data.toString("utf8");
}

function errText(e: unknown): string {
  return e instanceof Error ? e.message : String(e);
}

// -----------------------------------------------------------------------------------------------------------------
// Server
// -----------------------------------------------------------------------------------------------------------------

export interface IqWsServerOptions {
  agw: ImsAgw;
  /** Default 127.0.0.1. */
  host?: string;
  /** Default 0 (allocated). */
  port?: number;
  maxMessageBytes?: number;
  /**
   * A session whose connection is lost keeps its contexts this long, waiting for the client to reconnect; then they
   * are released (audit `orphan-released`, code E_AGW_ORPHAN). Default 30 s; 0 = never released.
   */
  orphanGraceMs?: number;
  /** Legacy switch: false = never release a lost session's contexts (same as `orphanGraceMs: 0`). Default true. */
  releaseOnDisconnect?: boolean;
  /** Ping every connection this often; no pong by the next ping ⇒ the connection is dropped. Default 15 s, 0 = off. */
  pingIntervalMs?: number;
  logger?: Logger;
}

interface IqSession {
  readonly id: string;
  /** the live connection, if any */
  ws: WebSocket | undefined;
  readonly contexts: Set<string>;
  orphanTimer: NodeJS.Timeout | undefined;
}

export class IqWsServer {
  private readonly log: Logger;
  private readonly maxMessageBytes: number;
  private readonly orphanGraceMs: number;
  private readonly sessions = new Map<string, IqSession>();
  /** context → the session that reserved it */
  private readonly ownerOf = new Map<string, IqSession>();
  private readonly alive = new WeakMap<WebSocket, boolean>();
  private readonly heartbeat: NodeJS.Timeout | undefined;
  private readonly offEvents: () => void;

  private constructor(
    private readonly wss: WebSocketServer,
    private readonly agw: ImsAgw,
    opts: IqWsServerOptions,
  ) {
    this.log = (opts.logger ?? silentLogger).child({ node: "agw", binding: "iq-ws" });
    this.maxMessageBytes = opts.maxMessageBytes ?? IQ_WS_MAX_MESSAGE_BYTES;
    this.orphanGraceMs = opts.releaseOnDisconnect === false ? 0 : (opts.orphanGraceMs ?? 30_000);
    wss.on("connection", (ws, req) => this.onConnection(ws, req));
    wss.on("error", (e) => this.log.warn({ err: e.message }, "Iq WebSocket server error"));
    // events go only to the session that owns the context (one subscription, one map lookup per event)
    this.offEvents = agw.onEvent((e) => {
      const ws = this.ownerOf.get(e.contextId)?.ws;
      if (ws?.readyState === WebSocket.OPEN) ws.send(JSON.stringify(e));
    });
    const ping = opts.pingIntervalMs ?? 15_000;
    if (ping > 0) {
      this.heartbeat = setInterval(() => this.pingAll(), ping);
      this.heartbeat.unref();
    }
  }

  static async listen(opts: IqWsServerOptions): Promise<IqWsServer> {
    const wss = await new Promise<WebSocketServer>((resolve, reject) => {
      const s = new WebSocketServer({
        host: opts.host ?? "127.0.0.1",
        port: opts.port ?? 0,
        maxPayload: IQ_WS_HARD_MAX_BYTES,
        perMessageDeflate: false,
      });
      s.once("listening", () => resolve(s));
      s.once("error", (e) => reject(new AgwError("E_AGW_BIND", `Iq WebSocket listen failed: ${e.message}`)));
    });
    return new IqWsServer(wss, opts.agw, opts);
  }

  get port(): number {
    return (this.wss.address() as AddressInfo).port;
  }

  get url(): string {
    const a = this.wss.address() as AddressInfo;
    const host = a.family === "IPv6" ? `[${a.address}]` : a.address;
    return `ws://${host}:${a.port}/`;
  }

  /** Sessions known to the server and how many of them wait for their client (operations, tests). */
  get sessionCounts(): { sessions: number; detached: number; orphanTimers: number } {
    let detached = 0;
    let orphanTimers = 0;
    for (const s of this.sessions.values()) {
      if (!s.ws) detached++;
      if (s.orphanTimer) orphanTimers++;
    }
    return { sessions: this.sessions.size, detached, orphanTimers };
  }

  /** Stops listening and drops every connection. The contexts stay in the AGW (`ImsAgw.close()` releases them). */
  async close(): Promise<void> {
    if (this.heartbeat) clearInterval(this.heartbeat);
    this.offEvents();
    for (const s of this.sessions.values()) {
      if (s.orphanTimer) clearTimeout(s.orphanTimer);
      s.orphanTimer = undefined;
      s.ws = undefined;
    }
    this.sessions.clear();
    this.ownerOf.clear();
    for (const c of this.wss.clients) c.terminate();
    await new Promise<void>((r) => this.wss.close(() => r()));
  }

  private pingAll(): void {
    for (const ws of this.wss.clients) {
      if (this.alive.get(ws) === false) {
        // no pong since the last ping: the IMS-ALG (or the path to it) is gone without a FIN
        this.log.warn("Iq connection silent for a ping interval: dropped");
        ws.terminate();
        continue;
      }
      this.alive.set(ws, false);
      try {
        ws.ping();
      } catch {
        ws.terminate();
      }
    }
  }

  private onConnection(ws: WebSocket, req: IncomingMessage): void {
    const header = req.headers[IQ_SESSION_HEADER];
    const id = typeof header === "string" && SESSION_RE.test(header) ? header : randomUUID();
    let session = this.sessions.get(id);
    const resumed = session !== undefined;
    if (session) {
      if (session.orphanTimer) clearTimeout(session.orphanTimer);
      session.orphanTimer = undefined;
      const old = session.ws;
      session.ws = ws; // before terminating the old connection, so its close does not detach the session
      if (old && old !== ws) old.terminate();
      this.prune(session);
      this.log.info({ session: id.slice(0, 8), contexts: session.contexts.size }, "Iq session resumed");
    } else {
      session = { id, ws, contexts: new Set(), orphanTimer: undefined };
      this.sessions.set(id, session);
    }
    const s = session;
    this.alive.set(ws, true);
    ws.on("pong", () => this.alive.set(ws, true));
    let inFlight = 0;
    const send = (m: IqWsResponse | IqWsSessionMessage) => {
      if (ws.readyState === WebSocket.OPEN) ws.send(JSON.stringify(m));
    };
    const fail = (id: IqWsId | null, code: string, message: string) => send({ id, error: { code, message } });
    send({ session: { id: s.id, resumed, contexts: s.contexts.size } });
    ws.on("error", (e) => this.log.debug({ err: e.message }, "Iq connection error"));
    ws.on("close", (code, reason) => this.detach(s, ws, code === 1000 && reason.toString() === IQ_BYE_REASON));
    ws.on("message", (data, isBinary) => {
      if (isBinary) return fail(null, "E_AGW_IQ_INVALID", "binary frames are not part of the Iq binding");
      if (rawLength(data) > this.maxMessageBytes) {
        return fail(null, "E_AGW_IQ_TOO_LARGE", `message exceeds ${this.maxMessageBytes} bytes`);
      }
      let msg: unknown;
      try {
        msg = JSON.parse(rawText(data));
      } catch {
        return fail(null, "E_AGW_IQ_PARSE", "message is not JSON");
      }
      if (!isRecord(msg)) return fail(null, "E_AGW_IQ_INVALID", "message must be a JSON object");
      const id = msg.id;
      if (!validId(id)) return fail(null, "E_AGW_IQ_INVALID", "id must be a string (1-64) or a safe integer");
      for (const k of Object.keys(msg)) {
        if (k !== "id" && k !== "procedure" && k !== "params") {
          return fail(id, "E_AGW_IQ_INVALID", `unknown envelope field ${k.slice(0, 40)}`);
        }
      }
      const procedure = msg.procedure;
      if (!isIqProcedure(procedure)) {
        return fail(id, "E_AGW_IQ_UNKNOWN_PROCEDURE", `unknown procedure ${String(procedure).slice(0, 64)}`);
      }
      if (inFlight >= MAX_IN_FLIGHT) return fail(id, "E_AGW_LIMIT", `more than ${MAX_IN_FLIGHT} requests in flight`);
      inFlight++;
      this.dispatch(procedure, msg.params, s)
        .then((result) => send({ id, result }))
        .catch((e: unknown) => {
          if (isImsdcError(e)) fail(id, e.code, e.message);
          else {
            this.log.error({ err: errText(e), procedure }, "internal error");
            fail(id, "E_AGW_INTERNAL", "internal error");
          }
        })
        .finally(() => {
          inFlight--;
        });
    });
  }

  /** The session's connection is gone: release its contexts now (bye), after the grace period, or never (0). */
  private detach(s: IqSession, ws: WebSocket, bye: boolean): void {
    if (s.ws !== ws) return; // replaced by a newer connection of the same session
    s.ws = undefined;
    this.prune(s);
    if (bye) {
      this.releaseOrphans(s, "session closed by the IMS-ALG");
      return;
    }
    if (this.orphanGraceMs <= 0) {
      if (s.contexts.size === 0) this.sessions.delete(s.id);
      return;
    }
    this.log.warn(
      { session: s.id.slice(0, 8), contexts: s.contexts.size, graceMs: this.orphanGraceMs },
      "Iq session lost; its contexts are released unless it reconnects",
    );
    s.orphanTimer = setTimeout(() => {
      s.orphanTimer = undefined;
      if (s.ws) return;
      this.releaseOrphans(s, `no reconnection within ${this.orphanGraceMs} ms`);
    }, this.orphanGraceMs);
  }

  private releaseOrphans(s: IqSession, why: string): void {
    this.sessions.delete(s.id);
    for (const contextId of s.contexts) {
      this.ownerOf.delete(contextId);
      if (!this.agw.hasContext(contextId)) continue;
      this.agw.audit.record({
        node: "agw",
        decision: "orphan-released",
        code: "E_AGW_ORPHAN",
        clause: CLAUSE_ORPHAN,
        contextId,
        session: s.id.slice(0, 8),
        reason: why,
      });
      this.log.warn({ code: "E_AGW_ORPHAN", contextId, session: s.id.slice(0, 8), reason: why }, "orphan released");
      this.agw
        .releaseAgwContext({ contextId })
        .catch((e: unknown) => this.log.warn({ contextId, err: errText(e) }, "orphan release failed"));
    }
    s.contexts.clear();
  }

  /** Forgets contexts the AGW no longer has. */
  private prune(s: IqSession): void {
    for (const c of s.contexts) {
      if (!this.agw.hasContext(c)) {
        s.contexts.delete(c);
        if (this.ownerOf.get(c) === s) this.ownerOf.delete(c);
      }
    }
  }

  private own(s: IqSession, contextId: string): void {
    s.contexts.add(contextId);
    this.ownerOf.set(contextId, s);
  }

  private disown(s: IqSession, contextId: string): void {
    s.contexts.delete(contextId);
    if (this.ownerOf.get(contextId) === s) this.ownerOf.delete(contextId);
  }

  /** A context reserved by another Iq session does not exist for this one. */
  private checkOwner(s: IqSession, params: unknown): void {
    const contextId = isRecord(params) ? params.contextId : undefined;
    if (typeof contextId !== "string") return; // absent (new context) or invalid: the AGW's validator answers
    const owner = this.ownerOf.get(contextId);
    if (owner && owner !== s) throw new AgwError("E_AGW_UNKNOWN_CONTEXT", `no context ${contextId.slice(0, 64)}`);
  }

  /** Runs one procedure on the AGW (which validates `params` and throws typed errors). */
  private async dispatch(procedure: IqProcedure, params: unknown, s: IqSession): Promise<unknown> {
    const agw = this.agw;
    this.checkOwner(s, params);
    switch (procedure) {
      case "reserveAgwConnectionPoint": {
        const r = await agw.reserveAgwConnectionPoint(params as ReserveAgwConnectionPointRequest);
        this.own(s, r.contextId);
        return r;
      }
      case "reserveAndConfigureAgwConnectionPoint": {
        const r = await agw.reserveAndConfigureAgwConnectionPoint(
          params as ReserveAndConfigureAgwConnectionPointRequest,
        );
        this.own(s, r.contextId);
        return r;
      }
      case "configureAgwConnectionPoint":
        return agw.configureAgwConnectionPoint(params as ConfigureAgwConnectionPointRequest);
      case "releaseAgwConnectionPoint": {
        const r = await agw.releaseAgwConnectionPoint(params as ReleaseAgwConnectionPointRequest);
        if (!agw.hasContext(r.contextId)) this.disown(s, r.contextId);
        return r;
      }
      case "releaseAgwContext": {
        const r = await agw.releaseAgwContext(params as ReleaseAgwContextRequest);
        this.disown(s, r.contextId);
        return r;
      }
    }
  }
}

// -----------------------------------------------------------------------------------------------------------------
// Client
// -----------------------------------------------------------------------------------------------------------------

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
function openSocket(
  url: string,
  sessionId: string,
  timeoutMs: number,
  onMessage: (ws: WebSocket, data: RawData, isBinary: boolean) => void,
): Promise<WebSocket> {
  const ws = new WebSocket(url, {
    maxPayload: IQ_WS_HARD_MAX_BYTES,
    perMessageDeflate: false,
    headers: { [IQ_SESSION_HEADER]: sessionId },
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
  private readonly listeners = new Set<IqEventListener>();
  private readonly stateListeners = new Set<(s: IqConnectionState) => void>();
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

  private constructor(
    private readonly url: string,
    sessionId: string,
    opts: IqWsClientOptions,
  ) {
    this.sessionId = sessionId;
    this.log = (opts.logger ?? silentLogger).child({ binding: "iq-ws-client" });
    this.timeoutMs = opts.timeoutMs ?? 10_000;
    this.connectTimeoutMs = opts.connectTimeoutMs ?? 5000;
    this.reconnect = opts.reconnect ?? true;
    this.reconnectMinMs = opts.reconnectMinMs ?? 100;
    this.reconnectMaxMs = opts.reconnectMaxMs ?? 5000;
    const ping = opts.pingIntervalMs ?? 10_000;
    if (ping > 0) {
      this.pingTimer = setInterval(() => this.ping(), ping);
      this.pingTimer.unref();
    }
  }

  /** Connects (the first connection must succeed: typed E_AGW_IQ_TIMEOUT / E_AGW_IQ_DISCONNECTED otherwise). */
  static async connect(url: string, opts: IqWsClientOptions = {}): Promise<IqWsClient> {
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
    this.listeners.add(listener);
    return () => this.listeners.delete(listener);
  }

  /**
   * Connection state changes: `{connected: false}` when the connection drops (the client reconnects with back-off),
   * `{connected: true, resumed}` when the AGW greets a (re)connection. `resumed: false` after a drop means the AGW
   * restarted: the IMS-ALG's contexts there are gone.
   */
  onConnectionState(listener: (state: IqConnectionState) => void): () => void {
    this.stateListeners.add(listener);
    return () => this.stateListeners.delete(listener);
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
    return openSocket(this.url, this.sessionId, this.connectTimeoutMs, (ws, data, isBinary) => {
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
    for (const l of this.stateListeners) {
      try {
        l(state);
      } catch (err) {
        this.log.warn({ err: errText(err) }, "state listener threw");
      }
    }
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
      for (const l of this.listeners) {
        try {
          l(e);
        } catch (err) {
          this.log.warn({ err: errText(err) }, "event listener threw");
        }
      }
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
