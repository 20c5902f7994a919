/**
 * The AGW side of the Iq WebSocket binding (wire format and Iq sessions: see ws.ts). Every incoming message is
 * validated; garbage gets a typed error and the connection (and server) stay up.
 */
import { randomUUID } from "node:crypto";
import type { IncomingMessage } from "node:http";
import type { AddressInfo } from "node:net";
import { WebSocket, WebSocketServer } from "ws";
import { isImsdcError } from "../../errors.ts";
import { type Logger, silentLogger } from "../../log.ts";
import type { ImsAgw } from "./agw.ts";
import { AgwError } from "./iqErrors.ts";
import type {
  ConfigureAgwConnectionPointRequest,
  IqProcedure,
  ReleaseAgwConnectionPointRequest,
  ReleaseAgwContextRequest,
  ReserveAgwConnectionPointRequest,
  ReserveAndConfigureAgwConnectionPointRequest,
} from "./iqTypes.ts";
import { isRecord } from "./iqValidate.ts";
import {
  decodeRequest,
  errText,
  IQ_BYE_REASON,
  IQ_SESSION_HEADER,
  IQ_WS_HARD_MAX_BYTES,
  IQ_WS_MAX_MESSAGE_BYTES,
  type IqWsId,
  type IqWsResponse,
  type IqWsSessionMessage,
  SESSION_RE,
} from "./wsCodec.ts";

const MAX_IN_FLIGHT = 64;
const CLAUSE_ORPHAN = "local policy (orphanGraceMs): no Iq session owns the context any more";

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
      const r = decodeRequest(data, isBinary, this.maxMessageBytes);
      if (!r.ok) return fail(r.id, r.code, r.message);
      const { id, procedure } = r;
      if (inFlight >= MAX_IN_FLIGHT) return fail(id, "E_AGW_LIMIT", `more than ${MAX_IN_FLIGHT} requests in flight`);
      inFlight++;
      this.dispatch(procedure, r.params, s)
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
