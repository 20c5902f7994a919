/**
 * Client transactions (RFC 3261 §17.1): INVITE (§17.1.1, with the Accepted state of RFC 6026 §8.4) and non-INVITE
 * (§17.1.2). Retransmission timers run only over unreliable transports (§17.1.1.2, §17.1.2.2). The INVITE client
 * transaction acknowledges non-2xx finals itself (§17.1.1.3); the ACK for 2xx is the TU's (§13.2.2.4).
 */
import type { Logger } from "../../log.ts";
import { createRequest, createResponse, type SipRequest, type SipResponse } from "../message.ts";
import type { TransactionTransport } from "../transport/layer.ts";
import type { SipSource, SipTarget } from "../transport/types.ts";
import { heldRequest } from "./held.ts";
import { type SipTimerConfig, TimerBag } from "./timers.ts";

export type ClientTransactionState = "calling" | "trying" | "proceeding" | "completed" | "accepted" | "terminated";

export interface ClientTransactionUser {
  /**
   * Every response passed up: provisional, final, 2xx retransmissions in Accepted, and a synthetic 408 (timeout,
   * RFC 3261 §8.1.3.1) or 503 (transport error, §8.1.3.1 / §17.1.4) when `txn.localFailure` is set.
   */
  onResponse(res: SipResponse, txn: ClientTransaction): void;
  onTerminated?(txn: ClientTransaction): void;
}

export abstract class ClientTransaction {
  state: ClientTransactionState;
  /** set when the final response was synthesised locally */
  localFailure: "timeout" | "transport-error" | undefined;
  /** the flow the request left on (connection, local address) once sent */
  flow: SipSource | undefined;
  /** the last response passed up while the transaction runs; undefined once it waits (Completed / Accepted) */
  lastResponse: SipResponse | undefined;
  /** status of the last response passed up (kept when the response itself is released) */
  lastStatus: number | undefined;
  /** the request's method (kept when the request itself is released) */
  readonly method: string;
  protected readonly timers = new TimerBag();
  private readonly terminatedHooks: (() => void)[] = [];
  private req: SipRequest | undefined;

  constructor(
    readonly key: string,
    request: SipRequest,
    readonly target: SipTarget,
    protected readonly transport: TransactionTransport,
    protected readonly t: SipTimerConfig,
    protected readonly tu: ClientTransactionUser,
    protected readonly log: Logger,
    initial: ClientTransactionState,
  ) {
    this.state = initial;
    this.req = request;
    this.method = request.method;
  }

  /**
   * The request. Released once a final response arrived (the waiting states keep only what they need, see
   * docs/sip.md "Transactions"): reading it then is a programming error, E_SIP_TRANSACTION.
   */
  get request(): SipRequest {
    return heldRequest(this.req, this);
  }

  get reliable(): boolean {
    return this.transport.isReliable(this.target.transport);
  }

  /** Enters a waiting state (Completed / Accepted): the request and the last response are dropped. */
  protected shed(): void {
    this.req = undefined;
    this.lastResponse = undefined;
  }

  /** Sends the request and starts the timers. */
  abstract start(): void;

  /** A response matched to this transaction (RFC 3261 §17.1.3). */
  abstract receive(res: SipResponse): void;

  onTerminated(hook: () => void): void {
    this.terminatedHooks.push(hook);
  }

  protected send(): void {
    this.transport.sendRequest(this.request, this.target).then(
      (flow) => {
        this.flow ??= flow;
      },
      (e: unknown) => this.transportError(e),
    );
  }

  protected transportError(e: unknown): void {
    if (this.state === "terminated" || this.state === "completed" || this.state === "accepted") return;
    this.log.info({ err: e, method: this.method, target: this.target }, "sip txn: transport error");
    this.fail("transport-error", 503);
  }

  protected fail(kind: "timeout" | "transport-error", status: number): void {
    this.localFailure = kind;
    const res = createResponse(this.request, status, kind === "timeout" ? "Request Timeout" : "Service Unavailable", {
      toTag: undefined,
    });
    this.terminate();
    this.deliver(res);
  }

  protected deliver(res: SipResponse): void {
    this.lastResponse = res;
    this.lastStatus = res.status;
    try {
      this.tu.onResponse(res, this);
    } catch (e) {
      this.log.error({ err: e }, "sip txn: TU onResponse failed");
    }
  }

  terminate(): void {
    if (this.state === "terminated") return;
    this.state = "terminated";
    this.timers.clearAll();
    for (const h of this.terminatedHooks.splice(0)) h();
    try {
      this.tu.onTerminated?.(this);
    } catch (e) {
      this.log.error({ err: e }, "sip txn: TU onTerminated failed");
    }
  }
}

export class InviteClientTransaction extends ClientTransaction {
  private ack: SipRequest | undefined;
  private interval = 0;

  start(): void {
    this.state = "calling";
    this.send();
    if (!this.reliable) {
      // RFC 3261 §17.1.1.2: Timer A starts at T1 and doubles on each retransmission (unreliable transports only)
      this.interval = this.t.T1;
      this.timers.set("A", this.interval, () => this.timerA());
    }
    // RFC 3261 §17.1.1.2: Timer B = 64*T1 bounds the Calling state
    this.timers.set("B", 64 * this.t.T1, () => {
      if (this.state === "calling") this.fail("timeout", 408);
    });
  }

  private timerA(): void {
    if (this.state !== "calling") return;
    this.send();
    this.interval *= 2;
    this.timers.set("A", this.interval, () => this.timerA());
  }

  receive(res: SipResponse): void {
    const s = res.status;
    if (this.state === "calling" || this.state === "proceeding") {
      if (s < 200) {
        // RFC 3261 §17.1.1.2: a provisional response moves to Proceeding and stops retransmissions
        this.state = "proceeding";
        this.timers.clear("A");
        this.timers.clear("B");
        this.deliver(res);
      } else if (s < 300) {
        // RFC 6026 §8.4: a 2xx moves to Accepted; Timer M = 64*T1 absorbs further 2xx for the TU
        this.state = "accepted";
        this.timers.clear("A");
        this.timers.clear("B");
        this.timers.set("M", 64 * this.t.T1, () => this.terminate());
        this.deliver(res);
        // RFC 6026 §8.4: Accepted passes 2xx retransmissions to the TU: the key and the TU are all it needs
        this.shed();
      } else {
        // RFC 3261 §17.1.1.2: a 300-699 moves to Completed, is acknowledged, and passed up
        this.state = "completed";
        this.timers.clear("A");
        this.timers.clear("B");
        this.sendAck(res);
        this.deliver(res);
        // RFC 3261 §17.1.1.3: Completed re-sends the ACK built above for each retransmitted final: not the request
        this.shed();
        // RFC 3261 §17.1.1.2: Timer D (≥32 s unreliable, 0 reliable) absorbs retransmitted finals
        const d = this.reliable ? 0 : this.t.D;
        if (d === 0) this.terminate();
        else this.timers.set("D", d, () => this.terminate());
      }
    } else if (this.state === "completed") {
      // RFC 3261 §17.1.1.2: a retransmitted final is acknowledged again, not passed up
      if (s >= 300) this.sendAck(res);
    } else if (this.state === "accepted") {
      // RFC 6026 §8.4: 2xx retransmissions (or forked 2xx) go to the TU, which acknowledges them
      if (s >= 200 && s < 300) this.deliver(res);
    }
  }

  /** RFC 3261 §17.1.1.3: the ACK for a non-2xx final response. */
  private sendAck(res: SipResponse): void {
    if (!this.ack) {
      const req = this.request;
      const topVia = req.getValues("Via")[0];
      this.ack = createRequest({
        method: "ACK",
        uri: req.uri,
        // RFC 3261 §17.1.1.3: Call-ID, From, Request-URI as the request; To from the response; one Via: the top one
        from: req.getHeader("From") ?? "",
        to: res.getHeader("To") ?? req.getHeader("To") ?? "",
        callId: req.getHeader("Call-ID") ?? "",
        cseq: req.cseq().seq,
        via: topVia !== undefined ? [topVia] : [],
        maxForwards: 70,
        // RFC 3261 §17.1.1.3: the ACK carries the Route header fields of the request
        route: req.getHeaders("Route"),
      });
    }
    this.transport
      .sendRequest(this.ack, this.flowTarget())
      .catch((e: unknown) => this.log.info({ err: e }, "sip txn: ACK not sent"));
  }

  private flowTarget(): SipTarget {
    const f = this.flow;
    return f?.connectionId !== undefined ? { ...this.target, connectionId: f.connectionId } : this.target;
  }
}

export class NonInviteClientTransaction extends ClientTransaction {
  private interval = 0;

  start(): void {
    this.state = "trying";
    this.send();
    if (!this.reliable) {
      // RFC 3261 §17.1.2.2: Timer E starts at T1 (unreliable transports only)
      this.interval = this.t.T1;
      this.timers.set("E", this.interval, () => this.timerE());
    }
    // RFC 3261 §17.1.2.2: Timer F = 64*T1 → timeout
    this.timers.set("F", 64 * this.t.T1, () => {
      if (this.state === "trying" || this.state === "proceeding") this.fail("timeout", 408);
    });
  }

  private timerE(): void {
    if (this.state !== "trying" && this.state !== "proceeding") return;
    this.send();
    // RFC 3261 §17.1.2.2: Trying doubles E up to T2; Proceeding retransmits every T2
    this.interval = this.state === "trying" ? Math.min(2 * this.interval, this.t.T2) : this.t.T2;
    this.timers.set("E", this.interval, () => this.timerE());
  }

  receive(res: SipResponse): void {
    if (this.state !== "trying" && this.state !== "proceeding") return;
    if (res.status < 200) {
      this.state = "proceeding";
      this.deliver(res);
      return;
    }
    // RFC 3261 §17.1.2.2: a final response moves to Completed; Timer K (T4 unreliable, 0 reliable)
    this.state = "completed";
    this.timers.clear("E");
    this.timers.clear("F");
    this.deliver(res);
    // RFC 3261 §17.1.2.2: Completed only absorbs response retransmissions: the key is all it needs
    this.shed();
    const k = this.reliable ? 0 : this.t.T4;
    if (k === 0) this.terminate();
    else this.timers.set("K", k, () => this.terminate());
  }
}
