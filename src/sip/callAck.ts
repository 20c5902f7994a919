/**
 * The end-to-end 2xx / ACK exchange of a call's INVITE transactions, which the transaction layer leaves to the TU
 * (RFC 3261 §13.2.2.4 on the UAC side, §13.3.1.4 on the UAS side): the ACK we sent for a 2xx (sent again for each
 * retransmission of that 2xx), and the 2xx we sent (retransmitted until its ACK, or given up after 64*T1).
 */
import type { SipRequest, SipResponse } from "./message.ts";
import type { TimerBag } from "./transaction/timers.ts";
import type { SipSource, SipTarget } from "./transport/types.ts";
import type { UaContext } from "./uaTypes.ts";

/** A 2xx we sent to an INVITE or re-INVITE, waiting for its ACK. */
export interface Pending2xx {
  cseq: number;
  res: SipResponse;
  source: SipSource;
  /** the 2xx carries our offer: the ACK must carry the answer (RFC 3264 §2) */
  offerInResponse: boolean;
  kind: "initial" | "reinvite";
}

export class CallAcks {
  private last: { cseq: number; ack: SipRequest; target: SipTarget } | undefined;
  private waiting: Pending2xx | undefined;

  /**
   * `timers`: the call's timers (keys "2xx" and "noack"); `onNoAck`: no ACK came within 64*T1 (RFC 3261 §13.3.1.4:
   * the session is ended with BYE).
   */
  constructor(
    private readonly ctx: UaContext,
    private readonly timers: TimerBag,
    private readonly onNoAck: () => void,
  ) {}

  /** The 2xx we sent that still waits for its ACK. */
  get pending(): Pending2xx | undefined {
    return this.waiting;
  }

  /** UAC: remembers the ACK sent for the 2xx to the INVITE with this CSeq. */
  remember(cseq: number, ack: SipRequest, target: SipTarget): void {
    this.last = { cseq, ack, target };
  }

  /** RFC 3261 §13.2.2.4: a retransmitted 2xx gets the same ACK again. */
  resend(cseq: number): void {
    const a = this.last;
    if (!a || a.cseq !== cseq) return;
    this.ctx.txm
      .sendAck(a.ack, a.target)
      .catch((e: unknown) => this.ctx.log.info({ err: e }, "sip ua: ACK resend failed"));
  }

  /**
   * RFC 3261 §13.3.1.4: the UAS core retransmits the 2xx (T1 doubling to T2, over unreliable transports) until the
   * ACK; without ACK after 64*T1 the dialog is confirmed but the session is ended with BYE.
   */
  await(p: Pending2xx): void {
    this.waiting = p;
    const T = this.ctx.timers;
    if (!this.ctx.isReliable(p.source.transport)) {
      let interval = T.T1;
      const tick = () => {
        if (this.waiting !== p) return;
        this.ctx
          .sendResponse(p.res, p.source)
          .catch((e: unknown) => this.ctx.log.info({ err: e }, "sip ua: 2xx resend failed"));
        interval = Math.min(2 * interval, T.T2);
        this.timers.set("2xx", interval, tick);
      };
      this.timers.set("2xx", interval, tick);
    }
    this.timers.set("noack", 64 * T.T1, () => {
      if (this.waiting !== p) return;
      this.waiting = undefined;
      this.timers.clear("2xx");
      this.onNoAck();
    });
  }

  /** An ACK in our dialog: when it acknowledges the pending 2xx, the retransmission stops and that 2xx is returned. */
  take(ack: SipRequest): Pending2xx | undefined {
    const p = this.waiting;
    if (!p || ack.cseq().seq !== p.cseq) return undefined;
    this.waiting = undefined;
    this.timers.clear("2xx");
    this.timers.clear("noack");
    return p;
  }

  /** The call ended: nothing waits for an ACK any more (the call clears its timers). */
  clear(): void {
    this.waiting = undefined;
  }
}
