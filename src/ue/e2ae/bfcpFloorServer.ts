/**
 * A minimal BFCP floor control server (RFC 8855 §13): one holder per floor, FIFO queue, Error responses. It serves
 * one or more connections.
 */

import type { Duplex } from "node:stream";
import { type Logger, silentLogger } from "../../log.ts";
import { TypedEmitter } from "../../sip/emitter.ts";
import {
  attr,
  BfcpAttr,
  type BfcpAttribute,
  BfcpErrorCode,
  type BfcpHeader,
  type BfcpMessage,
  BfcpPrimitive,
  findAttr,
  findAttrs,
  RequestStatus,
} from "./bfcp.ts";
import { BfcpConnection } from "./bfcpConnection.ts";
import { floorRequestInformation, requestStatusName } from "./bfcpFloorInfo.ts";
import { E2aeError } from "./errors.ts";

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
export class BfcpFloorServer extends TypedEmitter<BfcpFloorServerEvents> {
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
