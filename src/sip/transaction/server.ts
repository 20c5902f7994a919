/**
 * Server transactions (RFC 3261 §17.2): INVITE (§17.2.1, with the Accepted state of RFC 6026 §7.1) and non-INVITE
 * (§17.2.2). Response retransmission timers run only over unreliable transports.
 */
import type { Logger } from "../../log.ts";
import { SipError } from "../errors.ts";
import { createResponse, type SipRequest, type SipResponse } from "../message.ts";
import type { TransactionTransport } from "../transport/layer.ts";
import type { SipSource } from "../transport/types.ts";
import { type SipTimerConfig, TimerBag } from "./timers.ts";

export type ServerTransactionState = "trying" | "proceeding" | "completed" | "accepted" | "confirmed" | "terminated";

export abstract class ServerTransaction {
  state: ServerTransactionState;
  lastResponse: SipResponse | undefined;
  /** for a CANCEL: the INVITE server transaction it matches (RFC 3261 §9.2), if any */
  cancelTarget: InviteServerTransaction | undefined;
  protected readonly timers = new TimerBag();
  private readonly terminatedHooks: (() => void)[] = [];

  constructor(
    readonly key: string,
    readonly request: SipRequest,
    readonly source: SipSource,
    protected readonly transport: TransactionTransport,
    protected readonly t: SipTimerConfig,
    protected readonly log: Logger,
    initial: ServerTransactionState,
  ) {
    this.state = initial;
  }

  get method(): string {
    return this.request.method;
  }

  get reliable(): boolean {
    return this.transport.isReliable(this.source.transport);
  }

  /** True once a final response has been sent. */
  get finalSent(): boolean {
    return this.lastResponse !== undefined && this.lastResponse.status >= 200;
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
    if (this.state === "proceeding" && !this.lastResponse) this.reply(100);
  }

  respond(res: SipResponse): void {
    const s = res.status;
    if (this.state === "proceeding") {
      this.lastResponse = res;
      if (s < 200) {
        this.send(res);
      } else if (s < 300) {
        // RFC 6026 §7.1: a 2xx moves to Accepted; Timer L = 64*T1
        this.state = "accepted";
        this.send(res);
        this.timers.set("L", 64 * this.t.T1, () => this.terminate());
      } else {
        // RFC 3261 §17.2.1: a 300-699 moves to Completed; Timer G (unreliable) retransmits, Timer H waits for ACK
        this.state = "completed";
        this.send(res);
        if (!this.reliable) {
          this.interval = this.t.T1;
          this.timers.set("G", this.interval, () => this.timerG());
        }
        this.timers.set("H", 64 * this.t.T1, () => {
          this.log.info({ callId: this.request.getHeader("Call-ID") }, "sip txn: no ACK (Timer H)");
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
    if (this.state !== "completed" || !this.lastResponse) return;
    this.send(this.lastResponse);
    // RFC 3261 §17.2.1: Timer G doubles up to T2
    this.interval = Math.min(2 * this.interval, this.t.T2);
    this.timers.set("G", this.interval, () => this.timerG());
  }

  receive(req: SipRequest): void {
    if (req.method === "ACK") {
      if (this.state === "completed") {
        // RFC 3261 §17.2.1: ACK → Confirmed; Timer I (T4 unreliable, 0 reliable) absorbs further ACKs
        this.state = "confirmed";
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
    if ((this.state === "proceeding" || this.state === "completed") && this.lastResponse) this.send(this.lastResponse);
  }
}

export class NonInviteServerTransaction extends ServerTransaction {
  respond(res: SipResponse): void {
    if (this.state === "completed" || this.state === "terminated") {
      throw new SipError("E_SIP_TRANSACTION", `cannot send ${res.status} in state ${this.state}`);
    }
    this.lastResponse = res;
    this.send(res);
    if (res.status < 200) {
      this.state = "proceeding";
      return;
    }
    // RFC 3261 §17.2.2: a final moves to Completed; Timer J = 64*T1 unreliable, 0 reliable
    this.state = "completed";
    const j = this.reliable ? 0 : 64 * this.t.T1;
    if (j === 0) this.terminate();
    else this.timers.set("J", j, () => this.terminate());
  }

  receive(_req: SipRequest): void {
    // RFC 3261 §17.2.2: retransmissions are absorbed in Trying, answered with the last response afterwards
    if ((this.state === "proceeding" || this.state === "completed") && this.lastResponse) this.send(this.lastResponse);
  }
}
