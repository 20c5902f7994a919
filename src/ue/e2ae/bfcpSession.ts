/**
 * BFCP over one (already verified) TLS or TCP connection (RFC 8855): a floor participant (`BfcpClient`: Hello,
 * FloorRequest, FloorRelease, FloorRequestQuery, Goodbye; server-initiated status updates) and a minimal floor
 * control server (`BfcpFloorServer`: one holder per floor, FIFO queue, Error responses). Socket handlers never throw.
 */
import { EventEmitter } from "node:events";
import type { Duplex } from "node:stream";
import { type Logger, silentLogger } from "../../log.ts";
import {
  attr,
  BfcpAttr,
  type BfcpAttribute,
  BfcpErrorCode,
  type BfcpFrameEvent,
  BfcpFramer,
  type BfcpHeader,
  type BfcpMessage,
  BfcpPrimitive,
  encodeBfcp,
  findAttr,
  findAttrs,
  primitiveName,
  RequestStatus,
} from "./bfcp.ts";
import { E2aeError } from "./errors.ts";

const STATUS_NAME: Readonly<Record<number, string>> = Object.fromEntries(
  Object.entries(RequestStatus).map(([k, v]) => [v, k]),
);

export function requestStatusName(n: number): string {
  return STATUS_NAME[n] ?? `status-${n}`;
}

/** A floor request as a FloorRequestStatus describes it (RFC 8855 §5.3.4, FLOOR-REQUEST-INFORMATION §5.2.15). */
export interface FloorRequestState {
  floorRequestId: number;
  /** OVERALL-REQUEST-STATUS / REQUEST-STATUS (RFC 8855 §5.2.5): 1 Pending … 7 Revoked */
  status: number;
  statusName: string;
  queuePosition: number;
  floors: Array<{ floorId: number; status?: number }>;
  statusInfo?: string;
  /** 0 for server-initiated updates (RFC 8855 §8), else the transaction it answers */
  transactionId: number;
}

/** Reads the first FLOOR-REQUEST-INFORMATION of a FloorRequestStatus / FloorStatus. */
export function readFloorRequestInformation(m: BfcpMessage): FloorRequestState | undefined {
  const fri = findAttr(m.attributes, "FLOOR-REQUEST-INFORMATION");
  if (!fri) return undefined;
  const ors = findAttr(fri.attributes, "OVERALL-REQUEST-STATUS");
  const rs = ors ? findAttr(ors.attributes, "REQUEST-STATUS") : undefined;
  const info = ors ? findAttr(ors.attributes, "STATUS-INFO") : undefined;
  const floors = findAttrs(fri.attributes, "FLOOR-REQUEST-STATUS").map((f) => {
    const s = findAttr(f.attributes, "REQUEST-STATUS");
    return s ? { floorId: f.id, status: s.status } : { floorId: f.id };
  });
  const status = rs?.status ?? 0;
  const st: FloorRequestState = {
    floorRequestId: fri.id,
    status,
    statusName: requestStatusName(status),
    queuePosition: rs?.queuePosition ?? 0,
    floors,
    transactionId: m.transactionId,
  };
  if (info) st.statusInfo = info.text;
  return st;
}

/** Builds FLOOR-REQUEST-INFORMATION (RFC 8855 §5.2.15) for one request. */
export function floorRequestInformation(
  floorRequestId: number,
  status: number,
  floorIds: readonly number[],
  queuePosition = 0,
  statusInfo?: string,
): BfcpAttribute {
  const overall: BfcpAttribute[] = [attr.requestStatus(status, queuePosition)];
  if (statusInfo !== undefined) overall.push(attr.text("STATUS-INFO", statusInfo));
  return attr.group("FLOOR-REQUEST-INFORMATION", floorRequestId, [
    // RFC 8855 §5.2.15: OVERALL-REQUEST-STATUS, then one FLOOR-REQUEST-STATUS per floor
    attr.group("OVERALL-REQUEST-STATUS", floorRequestId, overall),
    ...floorIds.map((f) => attr.group("FLOOR-REQUEST-STATUS", f, [])),
  ]);
}

// ---------------------------------------------------------------------------------------------------------------

interface ConnEvents {
  message: [BfcpMessage];
  bad: [Extract<BfcpFrameEvent, { type: "error" }>];
  close: [E2aeError | undefined];
}

/** Framing + writes on one connection. */
class BfcpConnection extends EventEmitter<ConnEvents> {
  readonly socket: Duplex;
  private readonly framer: BfcpFramer;
  private ended = false;

  constructor(socket: Duplex, maxMessageBytes?: number) {
    super();
    this.socket = socket;
    this.framer = new BfcpFramer(maxMessageBytes !== undefined ? { maxMessageBytes } : {});
    socket.on("data", (d: Buffer) => {
      if (this.ended) return;
      for (const ev of this.framer.push(d)) {
        try {
          if (ev.type === "message") this.emit("message", ev.message);
          else this.emit("bad", ev);
        } catch {
          // a listener bug must not escape the socket handler
        }
        if (ev.type === "error" && ev.fatal) return;
      }
    });
    socket.on("error", (e: Error) => this.done(new E2aeError("E_BFCP_CLOSED", `socket error: ${e.message}`)));
    socket.on("close", () => this.done(new E2aeError("E_BFCP_CLOSED", "connection closed")));
    socket.on("end", () => {
      if (!socket.writableEnded) socket.end();
    });
  }

  get isEnded(): boolean {
    return this.ended;
  }

  send(m: BfcpMessage): boolean {
    if (this.ended || this.socket.destroyed || this.socket.writableEnded) return false;
    try {
      this.socket.write(encodeBfcp(m));
      return true;
    } catch {
      return false;
    }
  }

  private done(err: E2aeError | undefined): void {
    if (this.ended) return;
    this.ended = true;
    this.emit("close", err);
  }

  /** Half-closes, then destroys after `graceMs` if the peer does not close. */
  async end(graceMs = 1000): Promise<void> {
    const s = this.socket;
    this.ended = true;
    if (s.destroyed) return;
    await new Promise<void>((resolve) => {
      const t = setTimeout(() => s.destroy(), graceMs);
      t.unref?.();
      s.once("close", () => {
        clearTimeout(t);
        resolve();
      });
      s.end();
    });
  }
}

function errorMessage(
  req: { version: number; conferenceId: number; transactionId: number; userId: number },
  code: number,
  info?: string,
  details?: Uint8Array,
): BfcpMessage {
  const attrs: BfcpAttribute[] = [attr.errorCode(code, details)];
  if (info !== undefined) attrs.push(attr.text("ERROR-INFO", info));
  // RFC 8855 §13: the Error response carries the Conference ID, Transaction ID and User ID of the request
  return {
    version: req.version === 2 ? 2 : 1,
    responder: true,
    primitive: BfcpPrimitive.Error,
    conferenceId: req.conferenceId,
    transactionId: req.transactionId,
    userId: req.userId,
    attributes: attrs,
  };
}

// ---------------------------------------------------------------------------------------------------------------
// Floor participant
// ---------------------------------------------------------------------------------------------------------------

export interface BfcpClientOptions {
  /** a=confid of the floor control server's SDP (RFC 8856 §5.2). */
  conferenceId: number;
  /** a=userid assigned by the floor control server (RFC 8856 §5.3). */
  userId: number;
  /** COMMON-HEADER Ver; default 1 (reliable transport, RFC 8855 §5.1). */
  version?: 1 | 2;
  /** Default 10 s. */
  transactionTimeoutMs?: number;
  logger?: Logger;
}

export interface HelloResult {
  primitives: number[];
  attributes: number[];
}

export interface BfcpClientEvents {
  /** a FloorRequestStatus: the answer to our request or a server-initiated update (transactionId 0) */
  floorRequestStatus: [FloorRequestState];
  /** a FloorStatus notification (RFC 8855 §5.3.8) */
  floorStatus: [BfcpMessage];
  protocolError: [E2aeError];
  close: [E2aeError | undefined];
}

interface ClientTx {
  expect: number;
  resolve: (m: BfcpMessage) => void;
  reject: (e: E2aeError) => void;
  timer: NodeJS.Timeout;
}

export class BfcpClient extends EventEmitter<BfcpClientEvents> {
  readonly conferenceId: number;
  readonly userId: number;
  private readonly conn: BfcpConnection;
  private readonly version: 1 | 2;
  private readonly timeoutMs: number;
  private readonly log: Logger;
  private readonly pending = new Map<number, ClientTx>();
  private nextTid = 1;
  private closed = false;

  constructor(socket: Duplex, opts: BfcpClientOptions) {
    super();
    this.conferenceId = opts.conferenceId;
    this.userId = opts.userId;
    this.version = opts.version ?? 1;
    this.timeoutMs = opts.transactionTimeoutMs ?? 10_000;
    this.log = opts.logger ?? silentLogger;
    this.conn = new BfcpConnection(socket);
    this.conn.on("message", (m) => this.onMessage(m));
    this.conn.on("bad", (ev) => {
      this.emit("protocolError", ev.error);
      if (ev.fatal) void this.conn.end(0);
    });
    this.conn.on("close", (err) => this.finish(err));
  }

  get isClosed(): boolean {
    return this.closed;
  }

  /** RFC 8855 §5.3.11/12: Hello → HelloAck with the server's supported primitives and attributes. */
  async hello(): Promise<HelloResult> {
    const r = await this.transact(BfcpPrimitive.Hello, [], BfcpPrimitive.HelloAck);
    return {
      primitives: findAttr(r.attributes, "SUPPORTED-PRIMITIVES")?.primitives ?? [],
      attributes: findAttr(r.attributes, "SUPPORTED-ATTRIBUTES")?.attributes ?? [],
    };
  }

  /** RFC 8855 §5.3.1 / §9.1: FloorRequest with one FLOOR-ID per floor; resolves with the FloorRequestStatus. */
  async requestFloor(
    floorIds: readonly number[],
    opts: { priority?: number; beneficiaryId?: number; info?: string } = {},
  ): Promise<FloorRequestState> {
    // RFC 8855 §5.3.1: FloorRequest = COMMON-HEADER 1*FLOOR-ID [BENEFICIARY-ID] [PARTICIPANT-PROVIDED-INFO] [PRIORITY]
    if (floorIds.length === 0) throw new E2aeError("E_BFCP_PRIMITIVE", "FloorRequest needs at least one FLOOR-ID");
    const attrs: BfcpAttribute[] = floorIds.map((f) => attr.floorId(f));
    if (opts.beneficiaryId !== undefined) attrs.push(attr.beneficiaryId(opts.beneficiaryId));
    if (opts.info !== undefined) attrs.push(attr.text("PARTICIPANT-PROVIDED-INFO", opts.info));
    if (opts.priority !== undefined) attrs.push(attr.priority(opts.priority));
    return this.statusOf(await this.transact(BfcpPrimitive.FloorRequest, attrs, BfcpPrimitive.FloorRequestStatus));
  }

  /** RFC 8855 §5.3.2 / §9.2: FloorRelease with the FLOOR-REQUEST-ID. */
  async releaseFloor(floorRequestId: number): Promise<FloorRequestState> {
    const r = await this.transact(
      BfcpPrimitive.FloorRelease,
      [attr.floorRequestId(floorRequestId)],
      BfcpPrimitive.FloorRequestStatus,
    );
    return this.statusOf(r);
  }

  /** RFC 8855 §5.3.3: FloorRequestQuery. */
  async queryFloorRequest(floorRequestId: number): Promise<FloorRequestState> {
    const r = await this.transact(
      BfcpPrimitive.FloorRequestQuery,
      [attr.floorRequestId(floorRequestId)],
      BfcpPrimitive.FloorRequestStatus,
    );
    return this.statusOf(r);
  }

  /** RFC 8855 §5.3.17/18: Goodbye → GoodbyeAck, then the connection is closed. */
  async goodbye(): Promise<void> {
    await this.transact(BfcpPrimitive.Goodbye, [], BfcpPrimitive.GoodbyeAck);
    await this.close();
  }

  private statusOf(m: BfcpMessage): FloorRequestState {
    const st = readFloorRequestInformation(m);
    if (!st)
      throw new E2aeError("E_BFCP_PRIMITIVE", "FloorRequestStatus without FLOOR-REQUEST-INFORMATION (RFC 8855 §5.3.4)");
    return st;
  }

  private transact(primitive: number, attributes: BfcpAttribute[], expect: number): Promise<BfcpMessage> {
    if (this.closed) return Promise.reject(new E2aeError("E_BFCP_CLOSED", "BFCP client is closed"));
    // RFC 8855 §8: client transactions use a non-zero Transaction ID, unique among the pending ones
    let tid = this.nextTid;
    for (let i = 0; i < 0x10000 && (tid === 0 || this.pending.has(tid)); i++) tid = (tid + 1) & 0xffff;
    this.nextTid = (tid + 1) & 0xffff || 1;
    const msg: BfcpMessage = {
      version: this.version,
      responder: false,
      primitive,
      conferenceId: this.conferenceId,
      transactionId: tid,
      userId: this.userId,
      attributes,
    };
    return new Promise<BfcpMessage>((resolve, reject) => {
      const timer = setTimeout(() => {
        this.pending.delete(tid);
        reject(new E2aeError("E_BFCP_TIMEOUT", `no answer to ${primitiveName(primitive)} within ${this.timeoutMs} ms`));
      }, this.timeoutMs);
      timer.unref?.();
      this.pending.set(tid, { expect, resolve, reject, timer });
      if (!this.conn.send(msg)) {
        clearTimeout(timer);
        this.pending.delete(tid);
        reject(new E2aeError("E_BFCP_CLOSED", "connection closed"));
      }
    });
  }

  private onMessage(m: BfcpMessage): void {
    // RFC 8855 §8: the answer carries our Conference ID and User ID; anything else is not for this participant
    if (m.conferenceId !== this.conferenceId) {
      this.emit("protocolError", new E2aeError("E_BFCP_PRIMITIVE", `message for conference ${m.conferenceId}`));
      return;
    }
    const tx = m.transactionId === 0 ? undefined : this.pending.get(m.transactionId);
    if (tx) {
      clearTimeout(tx.timer);
      this.pending.delete(m.transactionId);
      if (m.primitive === BfcpPrimitive.Error) {
        // RFC 8855 §5.3.13: Error = COMMON-HEADER ERROR-CODE [ERROR-INFO]
        const code = findAttr(m.attributes, "ERROR-CODE")?.code ?? 0;
        const info = findAttr(m.attributes, "ERROR-INFO")?.text;
        tx.reject(
          new E2aeError("E_BFCP_ERROR", `BFCP Error ${code}${info ? `: ${info}` : ""}`, {
            details: { errorCode: code, ...(info ? { errorInfo: info } : {}) },
          }),
        );
        return;
      }
      if (m.primitive !== tx.expect) {
        tx.reject(
          new E2aeError(
            "E_BFCP_PRIMITIVE",
            `expected ${primitiveName(tx.expect)}, got ${primitiveName(m.primitive) ?? m.primitive}`,
          ),
        );
        return;
      }
      if (m.primitive === BfcpPrimitive.FloorRequestStatus) {
        const st = readFloorRequestInformation(m);
        if (st) this.emit("floorRequestStatus", st);
      }
      tx.resolve(m);
      return;
    }
    // server-initiated transactions (RFC 8855 §8: Transaction ID 0 on reliable transports)
    switch (m.primitive) {
      case BfcpPrimitive.FloorRequestStatus: {
        const st = readFloorRequestInformation(m);
        if (st) this.emit("floorRequestStatus", st);
        else
          this.emit(
            "protocolError",
            new E2aeError("E_BFCP_PRIMITIVE", "FloorRequestStatus without FLOOR-REQUEST-INFORMATION"),
          );
        break;
      }
      case BfcpPrimitive.FloorStatus:
        this.emit("floorStatus", m);
        break;
      case BfcpPrimitive.Goodbye:
        // RFC 8855 §5.3.17: answer Goodbye with GoodbyeAck, then the connection goes away
        this.conn.send({ ...m, responder: true, primitive: BfcpPrimitive.GoodbyeAck, attributes: [] });
        void this.close();
        break;
      default:
        this.log.debug({ primitive: m.primitive }, "unexpected BFCP message ignored");
        this.emit(
          "protocolError",
          new E2aeError(
            "E_BFCP_PRIMITIVE",
            `unexpected ${primitiveName(m.primitive) ?? m.primitive} (tid ${m.transactionId})`,
          ),
        );
    }
  }

  private finish(err: E2aeError | undefined): void {
    if (this.closed) return;
    this.closed = true;
    for (const tx of this.pending.values()) {
      clearTimeout(tx.timer);
      tx.reject(new E2aeError("E_BFCP_CLOSED", err?.message ?? "BFCP client closed"));
    }
    this.pending.clear();
    this.emit("close", err);
  }

  async close(): Promise<void> {
    this.finish(undefined);
    await this.conn.end();
  }
}

// ---------------------------------------------------------------------------------------------------------------
// Minimal floor control server
// ---------------------------------------------------------------------------------------------------------------

export interface BfcpFloorServerOptions {
  /** a=confid (RFC 8856 §5.2). */
  conferenceId: number;
  /** a=floorid values (RFC 8856 §5.4). */
  floorIds: readonly number[];
  /** Allowed User IDs (a=userid handed out, RFC 8856 §5.3); default: any. */
  userIds?: readonly number[];
  /** Open floor requests per user (RFC 8855 Error 8); default 8. */
  maxRequestsPerUser?: number;
  logger?: Logger;
}

interface ServerRequest {
  id: number;
  userId: number;
  floorIds: number[];
  status: number;
  conn: BfcpConnection;
  version: number;
}

export interface BfcpFloorServerEvents {
  request: [{ floorRequestId: number; userId: number; floorIds: number[]; status: string }];
  released: [{ floorRequestId: number; userId: number }];
  protocolError: [E2aeError];
}

/** RFC 8855 §5.3: the primitives this server answers. */
const SERVER_PRIMITIVES = [
  BfcpPrimitive.FloorRequest,
  BfcpPrimitive.FloorRelease,
  BfcpPrimitive.FloorRequestQuery,
  BfcpPrimitive.Hello,
  BfcpPrimitive.Goodbye,
  BfcpPrimitive.FloorRequestStatus,
  BfcpPrimitive.HelloAck,
  BfcpPrimitive.Error,
  BfcpPrimitive.GoodbyeAck,
];
const SERVER_ATTRIBUTES = Object.values(BfcpAttr).filter((t) => t !== BfcpAttr["BENEFICIARY-ID"]);

/**
 * A minimal floor control server (RFC 8855 §13): exclusive floors, FIFO queue, immediate grant when free. One
 * instance can serve several connections (`attach`). For labs and tests; no chair, no floor queries.
 */
export class BfcpFloorServer extends EventEmitter<BfcpFloorServerEvents> {
  readonly conferenceId: number;
  private readonly floors = new Map<number, { holder: number | undefined; queue: number[] }>();
  private readonly requests = new Map<number, ServerRequest>();
  private readonly conns = new Set<BfcpConnection>();
  private readonly users: ReadonlySet<number> | undefined;
  private readonly maxPerUser: number;
  private readonly log: Logger;
  private nextRequestId = 1;

  constructor(opts: BfcpFloorServerOptions) {
    super();
    this.conferenceId = opts.conferenceId;
    for (const f of opts.floorIds) this.floors.set(f, { holder: undefined, queue: [] });
    this.users = opts.userIds ? new Set(opts.userIds) : undefined;
    this.maxPerUser = opts.maxRequestsPerUser ?? 8;
    this.log = opts.logger ?? silentLogger;
  }

  /** Serves one connection until it closes. */
  attach(socket: Duplex): void {
    const conn = new BfcpConnection(socket);
    this.conns.add(conn);
    conn.on("message", (m) => {
      try {
        this.onMessage(conn, m);
      } catch (e) {
        this.emit("protocolError", new E2aeError("E_BFCP_PRIMITIVE", `internal error: ${String(e)}`));
      }
    });
    conn.on("bad", (ev) => this.onBad(conn, ev.error, ev.header, ev.fatal));
    conn.on("close", () => {
      this.conns.delete(conn);
      // RFC 8855 §6 (reliable transport): a lost connection ends the participant's floor requests
      for (const r of [...this.requests.values()]) if (r.conn === conn) this.drop(r, RequestStatus.Cancelled, false);
      this.promote();
    });
  }

  /** The current holder's request of each floor. */
  holders(): Map<number, number | undefined> {
    return new Map([...this.floors].map(([f, s]) => [f, s.holder]));
  }

  private onBad(conn: BfcpConnection, error: E2aeError, header: BfcpHeader | undefined, fatal: boolean): void {
    this.log.info({ code: error.code, err: error.message, fatal }, "malformed BFCP message");
    this.emit("protocolError", error);
    if (header) {
      // RFC 8855 §13: unsupported version → Error 12; unparsable message → Error 10 (13 for a wrong length)
      const code =
        error.code === "E_BFCP_VERSION"
          ? BfcpErrorCode.UnsupportedVersion
          : error.code === "E_BFCP_LENGTH" || error.code === "E_BFCP_TRUNCATED"
            ? BfcpErrorCode.IncorrectMessageLength
            : BfcpErrorCode.UnableToParseMessage;
      conn.send(errorMessage({ ...header, version: header.version === 2 ? 2 : 1 }, code, error.message.slice(0, 200)));
    }
    if (fatal) void conn.end(200);
  }

  private onMessage(conn: BfcpConnection, m: BfcpMessage): void {
    const reply = (primitive: number, attributes: BfcpAttribute[]) =>
      conn.send({ ...m, responder: true, primitive, attributes });
    const error = (code: number, info?: string, details?: Uint8Array) =>
      conn.send(errorMessage(m, code, info, details));
    // RFC 8855 §13: an unknown Conference ID is answered with Error 1
    if (m.conferenceId !== this.conferenceId) {
      error(BfcpErrorCode.ConferenceDoesNotExist);
      return;
    }
    // RFC 8855 §13: an unknown User ID is answered with Error 2
    if (this.users && !this.users.has(m.userId)) {
      error(BfcpErrorCode.UserDoesNotExist);
      return;
    }
    // RFC 8855 §5.2 / §13.1: attributes with M = 1 that we do not understand → Error 4 listing their types
    const unknown = m.attributes.filter((a) => a.type === "UNKNOWN" && a.mandatory);
    if (unknown.length > 0) {
      const details = Uint8Array.from(unknown.map((a) => (a.type === "UNKNOWN" ? a.code << 1 : 0)));
      error(BfcpErrorCode.UnknownMandatoryAttribute, undefined, details);
      return;
    }
    switch (m.primitive) {
      case BfcpPrimitive.Hello: // RFC 8855 §5.3.12: HelloAck = COMMON-HEADER SUPPORTED-PRIMITIVES SUPPORTED-ATTRIBUTES
        {
          reply(BfcpPrimitive.HelloAck, [
            attr.supportedPrimitives(SERVER_PRIMITIVES),
            attr.supportedAttributes(SERVER_ATTRIBUTES),
          ]);
          return;
        }
      case BfcpPrimitive.FloorRequest: {
        this.onFloorRequest(conn, m, error);
        return;
      }
      case BfcpPrimitive.FloorRelease:
      case BfcpPrimitive.FloorRequestQuery: {
        const frid = findAttr(m.attributes, "FLOOR-REQUEST-ID")?.value;
        if (frid === undefined) {
          error(BfcpErrorCode.UnableToParseMessage, "FLOOR-REQUEST-ID missing");
          return;
        }
        const r = this.requests.get(frid);
        // RFC 8855 §13: an unknown floor request id → Error 7; another user's request → Error 5
        if (!r) {
          error(BfcpErrorCode.FloorRequestIdDoesNotExist);
          return;
        }
        if (r.userId !== m.userId) {
          error(BfcpErrorCode.UnauthorizedOperation);
          return;
        }
        if (m.primitive === BfcpPrimitive.FloorRequestQuery) {
          reply(BfcpPrimitive.FloorRequestStatus, [this.info(r)]);
          return;
        }
        // RFC 8855 §13: the released request is answered with status Released
        const was = r.status;
        this.drop(r, RequestStatus.Released, false);
        reply(BfcpPrimitive.FloorRequestStatus, [floorRequestInformation(r.id, RequestStatus.Released, r.floorIds)]);
        this.emit("released", { floorRequestId: r.id, userId: r.userId });
        if (was === RequestStatus.Granted) this.promote();
        return;
      }
      case BfcpPrimitive.Goodbye:
        // RFC 8855 §5.3.17/18: Goodbye → GoodbyeAck; the client then closes
        reply(BfcpPrimitive.GoodbyeAck, []);
        return;
      default: {
        // RFC 8855 §13: a primitive the server does not handle → Error 3 (Unknown Primitive)
        error(BfcpErrorCode.UnknownPrimitive, `primitive ${m.primitive} not supported`);
        return;
      }
    }
  }

  private onFloorRequest(conn: BfcpConnection, m: BfcpMessage, error: (c: number, i?: string) => void): void {
    const floorIds = findAttrs(m.attributes, "FLOOR-ID").map((a) => a.value);
    // RFC 8855 §5.3.1: at least one FLOOR-ID
    if (floorIds.length === 0) {
      error(BfcpErrorCode.UnableToParseMessage, "FloorRequest without FLOOR-ID");
      return;
    }
    // RFC 8855 §13: an unknown floor → Error 6
    if (floorIds.some((f) => !this.floors.has(f))) {
      error(BfcpErrorCode.InvalidFloorId);
      return;
    }
    // third-party requests need chair authorisation (RFC 8855 §9); not offered here → Error 5
    if (findAttr(m.attributes, "BENEFICIARY-ID")) {
      error(BfcpErrorCode.UnauthorizedOperation);
      return;
    }
    const open = [...this.requests.values()].filter((r) => r.userId === m.userId).length;
    // RFC 8855 §5.2.6 Error 8: too many ongoing floor requests
    if (open >= this.maxPerUser) {
      error(BfcpErrorCode.MaxFloorRequestsReached);
      return;
    }
    const id = this.nextRequestId;
    this.nextRequestId = (this.nextRequestId % 0xffff) + 1;
    const r: ServerRequest = {
      id,
      userId: m.userId,
      floorIds,
      status: RequestStatus.Pending,
      conn,
      version: m.version,
    };
    this.requests.set(id, r);
    const free = floorIds.every((f) => this.floors.get(f)?.holder === undefined);
    if (free) {
      r.status = RequestStatus.Granted;
      for (const f of floorIds) {
        const s = this.floors.get(f);
        if (s) s.holder = id;
      }
    } else {
      for (const f of floorIds) this.floors.get(f)?.queue.push(id);
    }
    // RFC 8855 §13: the FloorRequest is answered with a FloorRequestStatus (same Transaction ID)
    conn.send({
      ...m,
      responder: true,
      primitive: BfcpPrimitive.FloorRequestStatus,
      attributes: [this.info(r)],
    });
    this.emit("request", { floorRequestId: id, userId: r.userId, floorIds, status: requestStatusName(r.status) });
  }

  private info(r: ServerRequest): BfcpAttribute {
    return floorRequestInformation(
      r.id,
      r.status,
      r.floorIds,
      r.status === RequestStatus.Pending ? this.position(r) : 0,
    );
  }

  private position(r: ServerRequest): number {
    let pos = 0;
    for (const f of r.floorIds) pos = Math.max(pos, (this.floors.get(f)?.queue.indexOf(r.id) ?? -1) + 1);
    return Math.min(255, pos);
  }

  private drop(r: ServerRequest, status: number, notify: boolean): void {
    this.requests.delete(r.id);
    for (const f of r.floorIds) {
      const s = this.floors.get(f);
      if (!s) continue;
      if (s.holder === r.id) s.holder = undefined;
      s.queue = s.queue.filter((x) => x !== r.id);
    }
    r.status = status;
    if (notify) this.notify(r);
  }

  /** Grants queued requests whose floors are all free (FIFO), notifying them (RFC 8855 §8: Transaction ID 0). */
  private promote(): void {
    for (const r of [...this.requests.values()].sort((a, b) => a.id - b.id)) {
      if (r.status !== RequestStatus.Pending) continue;
      if (!r.floorIds.every((f) => this.floors.get(f)?.holder === undefined)) continue;
      r.status = RequestStatus.Granted;
      for (const f of r.floorIds) {
        const s = this.floors.get(f);
        if (!s) continue;
        s.holder = r.id;
        s.queue = s.queue.filter((x) => x !== r.id);
      }
      this.notify(r);
    }
  }

  private notify(r: ServerRequest): void {
    r.conn.send({
      version: r.version,
      responder: false,
      primitive: BfcpPrimitive.FloorRequestStatus,
      conferenceId: this.conferenceId,
      // RFC 8855 §8: server-initiated messages on a reliable transport use Transaction ID 0
      transactionId: 0,
      userId: r.userId,
      attributes: [this.info(r)],
    });
  }

  /** Closes every served connection. */
  async close(): Promise<void> {
    await Promise.all([...this.conns].map((c) => c.end(500)));
    this.conns.clear();
    this.requests.clear();
  }
}
