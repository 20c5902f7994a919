/**
 * The transaction layer (RFC 3261 §17): creates client transactions for outgoing requests (adding the Via with a
 * z9hG4bK branch, §8.1.1.7), matches responses to them (§17.1.3), matches incoming requests to server transactions
 * (§17.2.3, with the RFC 2543 fallback), absorbs retransmissions, matches CANCEL to its INVITE (§9.2), and passes
 * new requests, 2xx ACKs and stray responses to the transaction user.
 */
import type { Logger } from "../../log.ts";
import { silentLogger } from "../../log.ts";
import { SipError } from "../errors.ts";
import { formatVia, MAGIC_COOKIE, viaBranch } from "../headers.ts";
import {
  createRequest,
  createResponse,
  generateBranch,
  type SipMessage,
  type SipRequest,
  type SipResponse,
} from "../message.ts";
import type { TransactionTransport } from "../transport/layer.ts";
import { bareHost, type SipSource, type SipTarget } from "../transport/types.ts";
import {
  type ClientTransaction,
  type ClientTransactionUser,
  InviteClientTransaction,
  NonInviteClientTransaction,
} from "./client.ts";
import { InviteServerTransaction, NonInviteServerTransaction, type ServerTransaction } from "./server.ts";
import { resolveTimers, type SipTimerConfig } from "./timers.ts";

export interface TransactionUser {
  /** a new request (never ACK); for CANCEL, `txn.cancelTarget` is the matched INVITE transaction, if any */
  onRequest(txn: ServerTransaction): void;
  /** an ACK that matched no server transaction: the end-to-end ACK of a 2xx (RFC 3261 §13.3.1.4, §17.2.3) */
  onAck?(ack: SipRequest, source: SipSource): void;
  /** a response that matched no client transaction (e.g. a 2xx retransmitted after the transaction ended) */
  onStrayResponse?(res: SipResponse, source: SipSource): void;
}

export interface TransactionManagerOptions {
  timers?: Partial<SipTimerConfig>;
  /** send 100 Trying for every new INVITE at once (RFC 3261 §17.2.1); default true */
  autoTrying?: boolean;
  /**
   * RFC 3261 §18.1.1: a request larger than this many bytes that would go over UDP goes over TCP instead (when a TCP
   * transport exists; the top Via is ours and names TCP). The RFC's value is 1300 for an unknown path MTU; default
   * off, because many UDP peers (sipp -t u1, for one) do not listen on TCP.
   */
  udpMaxRequestSize?: number;
  logger?: Logger;
}

export interface SendRequestOptions {
  /**
   * "auto" (default): add our Via only when the request has none; "add": always prepend one (a proxy, RFC 3261
   * §16.6 step 8); "keep": send as is (the caller set the top Via, e.g. CANCEL §9.1).
   */
  via?: "auto" | "add" | "keep";
}

/** RFC 3261 §17.1.3: the client transaction key is the top Via branch plus the CSeq method. */
export function clientKey(msg: SipMessage): string | undefined {
  const branch = viaBranch(msg.topVia());
  if (branch === undefined) return undefined;
  const m = msg.cseq().method;
  return `${branch}|${m === "ACK" ? "INVITE" : m}`;
}

/**
 * RFC 3261 §17.2.3: the server transaction key is branch + sent-by + method (ACK matches INVITE). Without the magic
 * cookie (RFC 2543 peers) the key is built from Request-URI, From tag, Call-ID, CSeq number and the top Via.
 */
export function serverKey(req: SipRequest, methodOverride?: string): string {
  const v = req.topVia();
  const branch = viaBranch(v);
  const method = methodOverride ?? (req.method === "ACK" ? "INVITE" : req.method);
  if (branch?.startsWith(MAGIC_COOKIE)) {
    // joined, not a template: the key lives as long as the transaction and must not hold the Via it was read from
    return [branch, "|", bareHost(v.host), ":", v.port ?? "", "|", method].join("");
  }
  return `2543|${req.uri}|${req.fromTag() ?? ""}|${req.callId()}|${req.cseq().seq}|${formatVia({ ...v, params: v.params.filter((p) => p.name.toLowerCase() === "branch") })}|${method}`;
}

export class TransactionManager {
  readonly timers: SipTimerConfig;
  private readonly clients = new Map<string, ClientTransaction>();
  private readonly servers = new Map<string, ServerTransaction>();
  private readonly log: Logger;
  private user: TransactionUser | undefined;
  private closed = false;

  constructor(
    readonly transport: TransactionTransport,
    private readonly opts: TransactionManagerOptions = {},
  ) {
    this.timers = resolveTimers(opts.timers);
    this.log = opts.logger ?? silentLogger;
  }

  setUser(tu: TransactionUser): void {
    this.user = tu;
  }

  get clientCount(): number {
    return this.clients.size;
  }

  get serverCount(): number {
    return this.servers.size;
  }

  /** Entry point for every parsed inbound message (wire it to SipTransportLayer.onMessage). */
  receive(msg: SipMessage, source: SipSource): void {
    if (this.closed) return;
    try {
      if (msg.kind === "response") this.receiveResponse(msg, source);
      else this.receiveRequest(msg, source);
    } catch (e) {
      this.log.info({ err: e, source }, "sip txn: inbound message dropped");
    }
  }

  private receiveResponse(res: SipResponse, source: SipSource): void {
    const key = clientKey(res);
    const txn = key !== undefined ? this.clients.get(key) : undefined;
    if (txn) {
      txn.receive(res);
      return;
    }
    // RFC 3261 §17.1.3 / §18.1.2: unmatched responses go to the core (2xx retransmissions need a new ACK)
    this.user?.onStrayResponse?.(res, source);
  }

  private receiveRequest(req: SipRequest, source: SipSource): void {
    const key = serverKey(req);
    const existing = this.servers.get(key);
    if (req.method === "ACK") {
      if (existing && existing.state !== "accepted") {
        existing.receive(req);
        return;
      }
      this.user?.onAck?.(req, source);
      return;
    }
    if (existing) {
      existing.receive(req);
      return;
    }
    if (!this.user) {
      this.log.warn("sip txn: no transaction user, request dropped");
      return;
    }
    const txn =
      req.method === "INVITE"
        ? new InviteServerTransaction(key, req, source, this.transport, this.timers, this.log, "proceeding")
        : new NonInviteServerTransaction(key, req, source, this.transport, this.timers, this.log, "trying");
    this.servers.set(key, txn);
    txn.onTerminated(() => {
      if (this.servers.get(key) === txn) this.servers.delete(key);
    });
    if (req.method === "CANCEL") {
      // RFC 3261 §9.2: the CANCEL matches the INVITE transaction with the same key computed for method INVITE
      const target = this.servers.get(serverKey(req, "INVITE"));
      if (target instanceof InviteServerTransaction) txn.cancelTarget = target;
    }
    if (txn instanceof InviteServerTransaction && this.opts.autoTrying !== false) txn.trying();
    try {
      this.user.onRequest(txn);
    } catch (e) {
      this.log.error({ err: e }, "sip txn: TU onRequest failed");
      if (!txn.finalSent && txn.state !== "terminated") {
        try {
          txn.reply(500);
        } catch {
          // nothing more to do
        }
      }
    }
  }

  /**
   * Starts a client transaction for `req` toward `target`. The Via is added per `opts.via`, with a fresh z9hG4bK
   * branch (RFC 3261 §8.1.1.7) and rport (RFC 3581 §3).
   */
  sendRequest(
    req: SipRequest,
    target: SipTarget,
    tu: ClientTransactionUser,
    opts: SendRequestOptions = {},
  ): ClientTransaction {
    if (this.closed) throw new SipError("E_SIP_CLOSED", "transaction layer closed");
    if (req.method === "ACK") throw new SipError("E_SIP_TRANSACTION", "ACK is not sent in a transaction (use sendAck)");
    const mode = opts.via ?? "auto";
    const addVia = mode === "add" || (mode === "auto" && !req.hasHeader("Via"));
    const limit = this.opts.udpMaxRequestSize;
    if (
      addVia &&
      limit !== undefined &&
      target.transport === "UDP" &&
      this.transport.hasTransport?.("TCP") &&
      req.toBytes().byteLength + 120 > limit
    ) {
      // RFC 3261 §18.1.1: too large for UDP without a known path MTU → a congestion-controlled transport (TCP)
      target = { transport: "TCP", host: target.host, port: target.port };
    }
    if (addVia) this.addVia(req, target);
    const key = clientKey(req);
    if (key === undefined) throw new SipError("E_SIP_TRANSACTION", "request has no Via branch");
    if (this.clients.has(key)) throw new SipError("E_SIP_TRANSACTION", `a client transaction ${key} already exists`);
    const Ctor = req.method === "INVITE" ? InviteClientTransaction : NonInviteClientTransaction;
    const txn = new Ctor(
      key,
      req,
      target,
      this.transport,
      this.timers,
      tu,
      this.log,
      req.method === "INVITE" ? "calling" : "trying",
    );
    this.clients.set(key, txn);
    txn.onTerminated(() => {
      if (this.clients.get(key) === txn) this.clients.delete(key);
    });
    txn.start();
    return txn;
  }

  /** Prepends our Via for the target's transport (RFC 3261 §18.1.1) with a new branch and rport (RFC 3581 §3). */
  addVia(req: SipRequest, target: SipTarget): void {
    const v = this.transport.localVia(target.transport);
    req.prependHeader(
      "Via",
      `SIP/2.0/${v.transport} ${v.host}${v.port !== undefined ? `:${v.port}` : ""};branch=${generateBranch()};rport`,
    );
  }

  /** Sends an ACK for a 2xx outside any transaction (RFC 3261 §13.2.2.4, §17.1.1.3): a new Via branch each time. */
  sendAck(ack: SipRequest, target: SipTarget): Promise<SipSource> {
    if (!ack.hasHeader("Via")) this.addVia(ack, target);
    return this.transport.sendRequest(ack, target);
  }

  /**
   * RFC 3261 §9.1: CANCEL has the Request-URI, Call-ID, To, From and CSeq number of the request, method CANCEL, a
   * single Via equal to the request's top Via, and its Route header fields.
   */
  createCancel(req: SipRequest): SipRequest {
    const topVia = req.getValues("Via")[0];
    return createRequest({
      method: "CANCEL",
      uri: req.uri,
      from: req.getHeader("From") ?? "",
      to: req.getHeader("To") ?? "",
      callId: req.getHeader("Call-ID") ?? "",
      cseq: req.cseq().seq,
      via: topVia !== undefined ? [topVia] : [],
      maxForwards: 70,
      route: req.getHeaders("Route"),
    });
  }

  /** Transactions in progress (client + server), for metrics and benchmarks. */
  get size(): number {
    return this.clients.size + this.servers.size;
  }

  /** Answers a request statelessly (no transaction), e.g. for requests that arrive after close. */
  replyStateless(req: SipRequest, source: SipSource, status: number): Promise<void> {
    return this.transport.sendResponse(createResponse(req, status), source);
  }

  /** Terminates every transaction and clears every timer. */
  close(): void {
    this.closed = true;
    for (const t of [...this.clients.values()]) t.terminate();
    for (const t of [...this.servers.values()]) t.terminate();
    this.clients.clear();
    this.servers.clear();
  }
}
