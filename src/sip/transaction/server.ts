/**
 * Server transactions (RFC 3261 §17.2): INVITE (§17.2.1, with the Accepted state of RFC 6026 §7.1) and non-INVITE
 * (§17.2.2). Response retransmission timers run only over unreliable transports.
 */
import type { Logger } from "../../log.ts";
import { SipError } from "../errors.ts";
import { createResponse, type SipRequest, type SipResponse } from "../message.ts";
import { parseResponse } from "../parse.ts";
import type { TransactionTransport } from "../transport/layer.ts";
import type { SipSource } from "../transport/types.ts";
import { heldRequest } from "./held.ts";
import { type SipTimerConfig, TimerBag } from "./timers.ts";

export type ServerTransactionState = "trying" | "proceeding" | "completed" | "accepted" | "confirmed" | "terminated";

export abstract class ServerTransaction {
  state: ServerTransactionState;
  /** the request's method (kept when the request itself is released) */
  readonly method: string;
  /** status of the last response sent (kept when the response itself is released) */
  lastStatus: number | undefined;
  /** for a CANCEL: the INVITE server transaction it matches (RFC 3261 §9.2), if any */
  cancelTarget: InviteServerTransaction | undefined;
  protected readonly timers = new TimerBag();
  private readonly terminatedHooks: (() => void)[] = [];
  private req: SipRequest | undefined;
  private last: SipResponse | undefined;
  /** the last response's bytes, in the waiting states that retransmit it (Completed) */
  private lastBytes: Uint8Array | undefined;
  /** an INVITE's final To tag, kept in the waiting states for the 200 to a CANCEL (RFC 3261 §9.2) */
  private shedToTag: string | undefined;

  constructor(
    readonly key: string,
    request: SipRequest,
    readonly source: SipSource,
    protected readonly transport: TransactionTransport,
    protected readonly t: SipTimerConfig,
    protected readonly log: Logger,
    initial: ServerTransactionState,
  ) {
    this.state = initial;
    this.req = request;
    this.method = request.method;
  }

  /**
   * The request. Released once a final response is sent (the waiting states keep only what they need, see
   * docs/sip.md "Transactions"): reading it then is a programming error, E_SIP_TRANSACTION.
   */
  get request(): SipRequest {
    return heldRequest(this.req, this);
  }

  /** The last response sent while it is held: undefined once the transaction waits (Accepted / Completed). */
  get lastResponse(): SipResponse | undefined {
    return this.last;
  }

  /** The To tag of the last response sent (the final's, in the waiting states of an INVITE). */
  get lastToTag(): string | undefined {
    return this.last !== undefined ? this.last.toTag() : this.shedToTag;
  }

  get reliable(): boolean {
    return this.transport.isReliable(this.source.transport);
  }

  /** True once a final response has been sent. */
  get finalSent(): boolean {
    return this.lastStatus !== undefined && this.lastStatus >= 200;
  }

  /** Records the response sent last (a provisional or the final, before the wait). */
  protected setLast(res: SipResponse): void {
    this.last = res;
    this.lastStatus = res.status;
  }

  /**
   * Enters a waiting state: the request and the response objects are dropped; `keepBytes` keeps the final
   * response's bytes for the states that answer a retransmission with it (RFC 3261 §17.2.1 Completed, §17.2.2).
   */
  protected shed(keepBytes: boolean): void {
    const last = this.last;
    if (last !== undefined && this.method === "INVITE") this.shedToTag = last.toTag();
    this.lastBytes = keepBytes && last !== undefined ? last.toBytes() : undefined;
    this.last = undefined;
    this.req = undefined;
  }

  /** Sends the last response again: the held message, or the bytes kept in a waiting state (byte-identical). */
  protected resendLast(): void {
    if (this.last !== undefined) this.send(this.last);
    else if (this.lastBytes !== undefined) {
      try {
        this.send(parseResponse(this.lastBytes));
      } catch (e) {
        // our own serialisation always parses back; never let a timer throw
        this.log.error({ err: e }, "sip txn: kept response unreadable");
      }
    }
  }

  /** True while a last response can be sent again. */
  protected get hasLast(): boolean {
    return this.last !== undefined || this.lastBytes !== undefined;
  }

  /** Sends a response from the TU. */
  abstract respond(res: SipResponse): void;

  /** Builds a response to the request (RFC 3261 §8.2.6) and sends it. */
  reply(status: number, reason?: string, opts?: Parameters<typeof createResponse>[3]): SipResponse {
    const res = createResponse(this.request, status, reason, opts);
    this.respond(res);
    return res;
  }

  /** A retransmission of the request, or (INVITE) an ACK, matched to this transaction (RFC 3261 §17.2.3). */
  abstract receive(req: SipRequest): void;

  onTerminated(hook: () => void): void {
    this.terminatedHooks.push(hook);
  }

  protected send(res: SipResponse): void {
    this.transport.sendResponse(res, this.source).catch((e: unknown) => {
      // RFC 3261 §17.2.4: a transport failure terminates the transaction
      this.log.info({ err: e, status: res.status }, "sip txn: response not sent");
      this.terminate();
    });
  }

  terminate(): void {
    if (this.state === "terminated") return;
    this.state = "terminated";
    this.timers.clearAll();
    for (const h of this.terminatedHooks.splice(0)) {
      try {
        h();
      } catch (e) {
        this.log.error({ err: e }, "sip txn: terminated hook failed");
      }
    }
  }
}

export class InviteServerTransaction extends ServerTransaction {
  private interval = 0;
  /** called when Timer H fires: no ACK for a non-2xx final (RFC 3261 §17.2.1) */
  onAckTimeout: (() => void) | undefined;

  /** RFC 3261 §17.2.1: the transaction answers 100 Trying unless the TU answers within 200 ms; we answer at once. */
  trying(): void {
    if (this.state === "proceeding" && this.lastStatus === undefined) this.reply(100);
  }

  respond(res: SipResponse): void {
    const s = res.status;
    if (this.state === "proceeding") {
      this.setLast(res);
      if (s < 200) {
        this.send(res);
      } else if (s < 300) {
        // RFC 6026 §7.1: a 2xx moves to Accepted; Timer L = 64*T1. Accepted absorbs INVITE retransmissions, the TU
        // retransmits the 2xx itself and the ACK goes to the TU (§8.7 of RFC 6026): only the key is needed
        this.state = "accepted";
        this.send(res);
        this.shed(false);
        this.timers.set("L", 64 * this.t.T1, () => this.terminate());
      } else {
        // RFC 3261 §17.2.1: a 300-699 moves to Completed; Timer G (unreliable) retransmits, Timer H waits for ACK
        this.state = "completed";
        this.send(res);
        const callId = res.getHeader("Call-ID");
        // RFC 3261 §17.2.1: Completed retransmits the final (Timer G, INVITE retransmissions) and waits for the ACK,
        // matched by the key (§17.2.3): the final's bytes are all it needs
        this.shed(true);
        if (!this.reliable) {
          this.interval = this.t.T1;
          this.timers.set("G", this.interval, () => this.timerG());
        }
        this.timers.set("H", 64 * this.t.T1, () => {
          this.log.info({ callId }, "sip txn: no ACK (Timer H)");
          this.terminate();
          this.onAckTimeout?.();
        });
      }
      return;
    }
    if (this.state === "accepted" && s >= 200 && s < 300) {
      // RFC 6026 §7.1: the TU retransmits the 2xx through the Accepted state
      this.send(res);
      return;
    }
    throw new SipError("E_SIP_TRANSACTION", `cannot send ${s} in state ${this.state}`);
  }

  private timerG(): void {
    if (this.state !== "completed" || !this.hasLast) return;
    this.resendLast();
    // RFC 3261 §17.2.1: Timer G doubles up to T2
    this.interval = Math.min(2 * this.interval, this.t.T2);
    this.timers.set("G", this.interval, () => this.timerG());
  }

  receive(req: SipRequest): void {
    if (req.method === "ACK") {
      if (this.state === "completed") {
        // RFC 3261 §17.2.1: ACK → Confirmed; Timer I (T4 unreliable, 0 reliable) absorbs further ACKs
        this.state = "confirmed";
        // RFC 3261 §17.2.1: Confirmed only absorbs ACKs: the key is all it needs
        this.shed(false);
        this.timers.clear("G");
        this.timers.clear("H");
        const i = this.reliable ? 0 : this.t.T4;
        if (i === 0) this.terminate();
        else this.timers.set("I", i, () => this.terminate());
      }
      return;
    }
    // a retransmitted INVITE: RFC 3261 §17.2.1 resend the last provisional (Proceeding) or final (Completed);
    // RFC 6026 §7.1 absorbs it in Accepted
    if (this.state === "proceeding" || this.state === "completed") this.resendLast();
  }
}

export class NonInviteServerTransaction extends ServerTransaction {
  respond(res: SipResponse): void {
    if (this.state === "completed" || this.state === "terminated") {
      throw new SipError("E_SIP_TRANSACTION", `cannot send ${res.status} in state ${this.state}`);
    }
    this.setLast(res);
    this.send(res);
    if (res.status < 200) {
      this.state = "proceeding";
      return;
    }
    // RFC 3261 §17.2.2: a final moves to Completed; Timer J = 64*T1 unreliable, 0 reliable. Completed answers a
    // retransmitted request with the final: its bytes are all it keeps
    this.state = "completed";
    const j = this.reliable ? 0 : 64 * this.t.T1;
    this.shed(j !== 0);
    if (j === 0) this.terminate();
    else this.timers.set("J", j, () => this.terminate());
  }

  receive(_req: SipRequest): void {
    // RFC 3261 §17.2.2: retransmissions are absorbed in Trying, answered with the last response afterwards
    if (this.state === "proceeding" || this.state === "completed") this.resendLast();
  }
}
