/**
 * The Iq procedures over a WebSocket (our binding; TS 29.334 H.248 encodings are not in this project's sources).
 *
 * Wire format (UTF-8 JSON text frames):
 *   request   {"id": <string|integer>, "procedure": "<IqProcedure>", "params": {…}}
 *   response  {"id": …, "result": {…}}      or      {"id": …|null, "error": {"code": "E_AGW_…", "message": "…"}}
 *   event     {"event": "<IqEventName>", "contextId": "…", "terminationId": "…", …}
 *
 * Every incoming message is validated; garbage gets a typed error and the connection (and server) stay up.
 * Messages over `maxMessageBytes` (default 64 KiB) get E_AGW_IQ_TOO_LARGE; frames over the hard bound (1 MiB) are
 * refused by the WebSocket layer (close 1009). Events are pushed to the connection that created the context.
 */
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
  type IqEvent,
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

export type IqWsId = string | number;

export interface IqWsRequest {
  id: IqWsId;
  procedure: IqProcedure;
  params: unknown;
}

export type IqWsResponse =
  | { id: IqWsId; result: unknown }
  | { id: IqWsId | null; error: { code: string; message: string } };

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
  /** Release the contexts a connection created when it goes away (default true: no MGC, no context). */
  releaseOnDisconnect?: boolean;
  logger?: Logger;
}

export class IqWsServer {
  private readonly log: Logger;
  private readonly maxMessageBytes: number;
  private readonly releaseOnDisconnect: boolean;

  private constructor(
    private readonly wss: WebSocketServer,
    private readonly agw: ImsAgw,
    opts: IqWsServerOptions,
  ) {
    this.log = (opts.logger ?? silentLogger).child({ node: "agw", binding: "iq-ws" });
    this.maxMessageBytes = opts.maxMessageBytes ?? IQ_WS_MAX_MESSAGE_BYTES;
    this.releaseOnDisconnect = opts.releaseOnDisconnect ?? true;
    wss.on("connection", (ws) => this.onConnection(ws));
    wss.on("error", (e) => this.log.warn({ err: e.message }, "Iq WebSocket server error"));
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

  async close(): Promise<void> {
    for (const c of this.wss.clients) c.terminate();
    await new Promise<void>((r) => this.wss.close(() => r()));
  }

  private onConnection(ws: WebSocket): void {
    const owned = new Set<string>();
    let inFlight = 0;
    const send = (m: IqWsResponse | IqEvent) => {
      if (ws.readyState === WebSocket.OPEN) ws.send(JSON.stringify(m));
    };
    const fail = (id: IqWsId | null, code: string, message: string) => send({ id, error: { code, message } });
    const unsubscribe = this.agw.onEvent((e) => {
      if (owned.has(e.contextId)) send(e);
    });
    ws.on("error", (e) => this.log.debug({ err: e.message }, "Iq connection error"));
    ws.on("close", () => {
      unsubscribe();
      if (!this.releaseOnDisconnect) return;
      for (const contextId of owned) {
        if (this.agw.hasContext(contextId)) {
          this.agw
            .releaseAgwContext({ contextId })
            .catch((e: unknown) =>
              this.log.warn({ contextId, err: e instanceof Error ? e.message : String(e) }, "release failed"),
            );
        }
      }
      owned.clear();
    });
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
      this.dispatch(procedure, msg.params, owned)
        .then((result) => send({ id, result }))
        .catch((e: unknown) => {
          if (isImsdcError(e)) fail(id, e.code, e.message);
          else {
            this.log.error({ err: e instanceof Error ? e.message : String(e), procedure }, "internal error");
            fail(id, "E_AGW_INTERNAL", "internal error");
          }
        })
        .finally(() => {
          inFlight--;
        });
    });
  }

  /** Runs one procedure on the AGW (which validates `params` and throws typed errors). */
  private async dispatch(procedure: IqProcedure, params: unknown, owned: Set<string>): Promise<unknown> {
    const agw = this.agw;
    switch (procedure) {
      case "reserveAgwConnectionPoint": {
        const r = await agw.reserveAgwConnectionPoint(params as ReserveAgwConnectionPointRequest);
        owned.add(r.contextId);
        return r;
      }
      case "reserveAndConfigureAgwConnectionPoint": {
        const r = await agw.reserveAndConfigureAgwConnectionPoint(
          params as ReserveAndConfigureAgwConnectionPointRequest,
        );
        owned.add(r.contextId);
        return r;
      }
      case "configureAgwConnectionPoint":
        return agw.configureAgwConnectionPoint(params as ConfigureAgwConnectionPointRequest);
      case "releaseAgwConnectionPoint": {
        const r = await agw.releaseAgwConnectionPoint(params as ReleaseAgwConnectionPointRequest);
        if (!agw.hasContext(r.contextId)) owned.delete(r.contextId);
        return r;
      }
      case "releaseAgwContext": {
        const r = await agw.releaseAgwContext(params as ReleaseAgwContextRequest);
        owned.delete(r.contextId);
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
  /** Connect timeout. Default 5 s. */
  connectTimeoutMs?: number;
  logger?: Logger;
}

interface Pending {
  resolve(v: unknown): void;
  reject(e: Error): void;
  parse(x: unknown): unknown;
  timer: NodeJS.Timeout;
}

/** The IMS-ALG side of the WebSocket binding; the same `IqAgw` interface as the in-process `ImsAgw`. */
export class IqWsClient implements IqAgw {
  private readonly pending = new Map<number, Pending>();
  private readonly listeners = new Set<IqEventListener>();
  private nextId = 1;
  private closed = false;
  private readonly log: Logger;
  private readonly timeoutMs: number;

  private constructor(
    private readonly ws: WebSocket,
    opts: IqWsClientOptions,
  ) {
    this.log = (opts.logger ?? silentLogger).child({ binding: "iq-ws-client" });
    this.timeoutMs = opts.timeoutMs ?? 10_000;
    ws.on("message", (data, isBinary) => this.onMessage(data, isBinary));
    ws.on("close", () => this.onClose());
    ws.on("error", (e) => this.log.debug({ err: e.message }, "Iq client socket error"));
  }

  static async connect(url: string, opts: IqWsClientOptions = {}): Promise<IqWsClient> {
    const ws = new WebSocket(url, { maxPayload: IQ_WS_HARD_MAX_BYTES, perMessageDeflate: false });
    await new Promise<void>((resolve, reject) => {
      const timer = setTimeout(() => {
        ws.terminate();
        reject(new AgwError("E_AGW_IQ_TIMEOUT", `connect to ${url} timed out`));
      }, opts.connectTimeoutMs ?? 5000);
      ws.once("open", () => {
        clearTimeout(timer);
        resolve();
      });
      ws.once("error", (e) => {
        clearTimeout(timer);
        reject(new AgwError("E_AGW_IQ_DISCONNECTED", `cannot connect to ${url}: ${e.message}`));
      });
    });
    return new IqWsClient(ws, opts);
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

  /** Sends raw text (tests of the server's validation). */
  sendRaw(text: string | Buffer): void {
    this.ws.send(text);
  }

  async close(): Promise<void> {
    if (this.closed) return;
    this.closed = true;
    await new Promise<void>((r) => {
      if (this.ws.readyState === WebSocket.CLOSED) return r();
      const guard = setTimeout(() => {
        this.ws.terminate();
        r();
      }, 2000);
      this.ws.once("close", () => {
        clearTimeout(guard);
        r();
      });
      this.ws.close();
    });
    this.onClose();
  }

  private call<T>(procedure: IqProcedure, params: unknown, parse: (x: unknown) => T): Promise<T> {
    if (this.closed || this.ws.readyState !== WebSocket.OPEN) {
      return Promise.reject(new AgwError("E_AGW_IQ_DISCONNECTED", "Iq connection is closed"));
    }
    const id = this.nextId++;
    return new Promise<T>((resolve, reject) => {
      const timer = setTimeout(() => {
        this.pending.delete(id);
        reject(new AgwError("E_AGW_IQ_TIMEOUT", `${procedure} timed out after ${this.timeoutMs} ms`));
      }, this.timeoutMs);
      this.pending.set(id, { resolve: resolve as (v: unknown) => void, reject, parse, timer });
      this.ws.send(JSON.stringify({ id, procedure, params } satisfies IqWsRequest));
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
          this.log.warn({ err: err instanceof Error ? err.message : String(err) }, "event listener threw");
        }
      }
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

  private onClose(): void {
    this.closed = true;
    for (const [id, p] of this.pending) {
      clearTimeout(p.timer);
      p.reject(new AgwError("E_AGW_IQ_DISCONNECTED", "Iq connection closed"));
      this.pending.delete(id);
    }
  }
}
