/**
 * The AGW side of the Iq WebSocket binding (wire format and Iq sessions: see wsCodec.ts). Every incoming message is
 * validated; garbage gets a typed error and the connection (and server) stay up.
 *
 * Security (docs/agw.md "Iq security"): WSS with mutual TLS, the controllers pinned by certificate fingerprint
 * (iqTls.ts); an unpinned peer is cut right after the handshake, before any HTTP byte is read (audit
 * `iq-auth-refused`). A plain ws:// listener only with `insecure: true` on loopback. Each controller has its own quota
 * (iqQuota.ts) and its own Iq session namespace: a session id presented by another controller is another session.
 */
import { randomUUID } from "node:crypto";
import type { IncomingMessage } from "node:http";
import { createServer as createHttpsServer, type Server as HttpsServer } from "node:https";
import type { AddressInfo, Socket } from "node:net";
import type { TLSSocket } from "node:tls";
import { WebSocket, WebSocketServer } from "ws";
import { isImsdcError } from "../../errors.ts";
import { type Logger, silentLogger } from "../../log.ts";
import { fingerprintOf } from "../../security/certificate.ts";
import type { ImsAgw } from "./agw.ts";
import { AgwError } from "./iqErrors.ts";
import { ControllerLedger, type IqQuota, type IqQuotaLimit, resolveQuota } from "./iqQuota.ts";
import { assertInsecureAllowed, checkCredential, controllerOf, type IqPin, type IqTlsServerOptions } from "./iqTls.ts";
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
// TS 33.210 §5.6.1: Zb (between network elements of one security domain) is protected; here by TLS with pinned peers
const CLAUSE_AUTH = "TS 33.210 §5.6.1 / RFC 8446 §4.4.2: the Iq peer's certificate is not a pinned controller";
const CLAUSE_QUOTA = "local policy (iq.quota): one Iq controller cannot starve another";

export interface IqWsServerOptions {
  agw: ImsAgw;
  /** Default 127.0.0.1. */
  host?: string;
  /** WSS with mutual TLS: the AGW's certificate and the pinned controllers. Absent: plain ws:// (needs `insecure`). */
  tls?: IqTlsServerOptions;
  /** Allows a plain ws:// listener, on a loopback host only (E_AGW_IQ_INSECURE otherwise). */
  insecure?: boolean;
  /** Per-controller quota (contexts, terminations, reservations per second); default DEFAULT_IQ_QUOTA. */
  quota?: Partial<IqQuota>;
  /** TCP connections to the listener at once, authenticated or not (WSS only). Default 256. */
  maxConnections?: number;
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

/** One authenticated IMS-ALG (a pinned certificate), or one Iq session on an insecure listener. */
interface Controller {
  readonly ledger: ControllerLedger;
  readonly sessions: Set<IqSession>;
}

interface IqSession {
  readonly id: string;
  /** key in `sessions`: the controller's key and the session id */
  readonly key: string;
  readonly controller: Controller;
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
  private readonly controllers = new Map<string, Controller>();
  /** the controller each authenticated TLS connection presented (set at the handshake, read at the upgrade) */
  private readonly peers = new WeakMap<Socket, IqPin>();
  private readonly quota: IqQuota;
  private readonly refusalsAudited = new Map<string, { at: number; suppressed: number }>();
  /** context → the session that reserved it */
  private readonly ownerOf = new Map<string, IqSession>();
  private readonly alive = new WeakMap<WebSocket, boolean>();
  private readonly heartbeat: NodeJS.Timeout | undefined;
  private readonly offEvents: () => void;

  private constructor(
    private readonly wss: WebSocketServer,
    private readonly https: HttpsServer | undefined,
    private readonly agw: ImsAgw,
    private readonly opts: IqWsServerOptions,
  ) {
    this.log = (opts.logger ?? silentLogger).child({ node: "agw", binding: "iq-ws" });
    this.quota = resolveQuota(opts.quota);
    if (https) {
      // before the HTTP layer sees the socket: an unpinned peer never gets an HTTP parser
      https.prependListener("secureConnection", (s: TLSSocket) => this.authenticate(s));
      https.on("tlsClientError", (e, s) => this.refused("tls-handshake", s.remoteAddress, undefined, e.message));
      https.on("request", (_req, res) => {
        res.writeHead(426, { connection: "close" }).end(); // Iq is a WebSocket only
      });
    }
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

  /**
   * Listens: WSS with mutual TLS when `tls` is given (E_AGW_CERT for a bad credential, E_AGW_INVALID_PARAM without a
   * pinned controller), else plain ws:// under the insecure rule (E_AGW_IQ_INSECURE); E_AGW_BIND when the port fails.
   */
  static async listen(opts: IqWsServerOptions): Promise<IqWsServer> {
    const host = opts.host ?? "127.0.0.1";
    const port = opts.port ?? 0;
    const bindError = (e: Error) => new AgwError("E_AGW_BIND", `Iq WebSocket listen failed: ${e.message}`);
    resolveQuota(opts.quota); // a bad quota fails here, not at the first reservation
    if (!opts.tls) {
      assertInsecureAllowed(host, opts.insecure, "Iq listener");
      const wss = await new Promise<WebSocketServer>((resolve, reject) => {
        const s = new WebSocketServer({ host, port, maxPayload: IQ_WS_HARD_MAX_BYTES, perMessageDeflate: false });
        s.once("listening", () => resolve(s));
        s.once("error", (e) => reject(bindError(e)));
      });
      return new IqWsServer(wss, undefined, opts.agw, opts);
    }
    const t = opts.tls;
    checkCredential(t.certPem, t.keyPem, "Iq listener");
    if (t.controllers.length === 0) throw new AgwError("E_AGW_INVALID_PARAM", "Iq listener: no controller is pinned");
    const https = createHttpsServer({
      cert: t.certPem,
      key: t.keyPem,
      minVersion: "TLSv1.2",
      // RFC 8446 §4.3.2 CertificateRequest: the controller must present a certificate; its pin is checked below
      requestCert: true,
      rejectUnauthorized: false,
      handshakeTimeout: t.handshakeTimeoutMs ?? 10_000,
    });
    https.maxConnections = opts.maxConnections ?? 256;
    const wss = new WebSocketServer({ server: https, maxPayload: IQ_WS_HARD_MAX_BYTES, perMessageDeflate: false });
    const server = new IqWsServer(wss, https, opts.agw, opts);
    try {
      await new Promise<void>((resolve, reject) => {
        https.once("error", (e) => reject(bindError(e)));
        https.listen(port, host, () => resolve());
      });
    } catch (e) {
      await server.close();
      throw e;
    }
    return server;
  }

  private address(): AddressInfo {
    return (this.https ? this.https.address() : this.wss.address()) as AddressInfo;
  }

  get port(): number {
    return this.address().port;
  }

  get url(): string {
    const a = this.address();
    const host = a.family === "IPv6" ? `[${a.address}]` : a.address;
    return `${this.https ? "wss" : "ws"}://${host}:${a.port}/`;
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
    this.controllers.clear();
    this.ownerOf.clear();
    for (const c of this.wss.clients) c.terminate();
    await new Promise<void>((r) => this.wss.close(() => r()));
    const https = this.https;
    if (https) {
      https.closeAllConnections();
      await new Promise<void>((r) => https.close(() => r()));
    }
  }

  /** The TLS handshake is done: a pinned controller goes on to the upgrade, anything else is cut here. */
  private authenticate(s: TLSSocket): void {
    const der = s.getPeerCertificate()?.raw as Buffer | undefined;
    const pin = controllerOf(der, this.opts.tls?.controllers ?? []);
    if (!pin) {
      this.refused(der ? "certificate-not-pinned" : "no-certificate", s.remoteAddress, der, undefined);
      s.destroy();
      return;
    }
    this.peers.set(s, pin);
  }

  /** An unauthenticated peer: audited (at most once a second per reason, with the count folded in) and logged. */
  private refused(
    reason: string,
    peerAddress: string | undefined,
    der: Buffer | undefined,
    detail: string | undefined,
  ) {
    const now = Date.now();
    const a = this.refusalsAudited.get(reason);
    if (a && now - a.at < 1000) {
      a.suppressed++;
      return;
    }
    this.refusalsAudited.set(reason, { at: now, suppressed: 0 });
    const fp = der && der.length > 0 ? fingerprintText(der) : undefined;
    this.agw.audit.record({
      node: "agw",
      decision: "iq-auth-refused",
      code: "E_AGW_IQ_AUTH",
      clause: CLAUSE_AUTH,
      reason,
      ...(peerAddress !== undefined ? { peerAddress } : {}),
      ...(fp !== undefined ? { peerCertificateFingerprint: fp } : {}),
      ...(detail !== undefined ? { detail: detail.slice(0, 200) } : {}),
      ...(a?.suppressed ? { suppressed: a.suppressed } : {}),
    });
    this.log.warn({ code: "E_AGW_IQ_AUTH", reason, peerAddress }, "Iq peer refused");
  }

  /** The controller of a new connection: its pinned certificate (WSS), or the session itself (insecure ws://). */
  private controllerFor(req: IncomingMessage, sessionId: string): Controller | undefined {
    let key: string;
    let name: string;
    if (this.https) {
      const pin = this.peers.get(req.socket);
      if (!pin) return undefined;
      key = `tls:${pin.name}`;
      name = pin.name;
    } else {
      key = `session:${sessionId}`;
      name = `insecure:${sessionId.slice(0, 8)}`;
    }
    let c = this.controllers.get(key);
    if (!c) {
      c = { ledger: new ControllerLedger(key, name, this.quota), sessions: new Set() };
      this.controllers.set(key, c);
    }
    return c;
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
    const controller = this.controllerFor(req, id);
    if (!controller) {
      ws.terminate(); // not reached: unauthenticated sockets are cut at the handshake
      return;
    }
    // a session id is looked up within its controller: another controller naming it gets a session of its own
    const key = `${controller.ledger.key}|${id}`;
    let session = this.sessions.get(key);
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
      session = { id, key, controller, ws, contexts: new Set(), orphanTimer: undefined };
      this.sessions.set(key, session);
      controller.sessions.add(session);
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
      if (s.contexts.size === 0) this.forget(s);
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

  private forget(s: IqSession): void {
    this.sessions.delete(s.key);
    const c = s.controller;
    c.sessions.delete(s);
    if (c.sessions.size === 0 && c.ledger.pendingContexts === 0) this.controllers.delete(c.ledger.key);
  }

  private releaseOrphans(s: IqSession, why: string): void {
    this.forget(s);
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
        controller: s.controller.ledger.name,
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

  /** A reservation within the controller's quota (E_AGW_QUOTA past it); the new context belongs to the session. */
  private async reserve(
    procedure: "reserveAgwConnectionPoint" | "reserveAndConfigureAgwConnectionPoint",
    params: unknown,
    s: IqSession,
  ) {
    const ledger = s.controller.ledger;
    const newContext = !(isRecord(params) && params.contextId !== undefined);
    const limit = ledger.admit(this.held(s.controller), newContext);
    if (limit !== undefined) throw this.quotaRefusal(s, limit);
    ledger.pendingTerminations++;
    if (newContext) ledger.pendingContexts++;
    try {
      const r =
        procedure === "reserveAgwConnectionPoint"
          ? await this.agw.reserveAgwConnectionPoint(params as ReserveAgwConnectionPointRequest)
          : await this.agw.reserveAndConfigureAgwConnectionPoint(
              params as ReserveAndConfigureAgwConnectionPointRequest,
            );
      if (this.sessions.get(s.key) === s) this.own(s, r.contextId);
      else if (newContext) void this.agw.releaseAgwContext({ contextId: r.contextId }).catch(() => {}); // session gone
      return r;
    } finally {
      ledger.pendingTerminations--;
      if (newContext) ledger.pendingContexts--;
    }
  }

  /** What a controller holds now (contexts of all its sessions, their terminations). */
  private held(c: Controller): { contexts: number; terminations: number } {
    let contexts = 0;
    let terminations = 0;
    for (const s of c.sessions) {
      this.prune(s);
      contexts += s.contexts.size;
      for (const ctx of s.contexts) terminations += this.agw.terminationsIn(ctx);
    }
    return { contexts, terminations };
  }

  private quotaRefusal(s: IqSession, limit: IqQuotaLimit): AgwError {
    const ledger = s.controller.ledger;
    const due = ledger.auditDue(limit);
    if (due) {
      this.agw.audit.record({
        node: "agw",
        decision: "quota",
        code: "E_AGW_QUOTA",
        clause: CLAUSE_QUOTA,
        controller: ledger.name,
        limit,
        value: ledger.valueOf(limit),
        ...(due.suppressed > 0 ? { suppressed: due.suppressed } : {}),
      });
      this.log.warn({ code: "E_AGW_QUOTA", controller: ledger.name, limit, value: ledger.valueOf(limit) }, "quota");
    }
    return new AgwError("E_AGW_QUOTA", `quota of ${ledger.valueOf(limit)} ${limit} reached for this controller`);
  }

  /** Runs one procedure on the AGW (which validates `params` and throws typed errors). */
  private async dispatch(procedure: IqProcedure, params: unknown, s: IqSession): Promise<unknown> {
    const agw = this.agw;
    this.checkOwner(s, params);
    switch (procedure) {
      case "reserveAgwConnectionPoint":
      case "reserveAndConfigureAgwConnectionPoint":
        return this.reserve(procedure, params, s);
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

/** "sha-256 AB:CD:…" of a DER certificate (audit). */
function fingerprintText(der: Buffer): string {
  const f = fingerprintOf(der, "sha-256");
  return `${f.hash} ${f.value}`;
}
