/**
 * BFCP floor participant over one connection (RFC 8855): Hello, FloorRequest, FloorRelease, FloorRequestQuery,
 * Goodbye, and server-initiated status updates.
 */

import type { Duplex } from "node:stream";
import { type Logger, silentLogger } from "../../log.ts";
import { TypedEmitter } from "../../sip/emitter.ts";
import { attr, type BfcpAttribute, type BfcpMessage, BfcpPrimitive, findAttr, primitiveName } from "./bfcp.ts";
import { BfcpConnection } from "./bfcpConnection.ts";
import { type FloorRequestState, readFloorRequestInformation } from "./bfcpFloorInfo.ts";
import { E2aeError } from "./errors.ts";

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

export class BfcpClient extends TypedEmitter<BfcpClientEvents> {
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
