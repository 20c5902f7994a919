/**
 * The outgoing INVITE of a call (UAC core, RFC 3261 §13.2): the INVITE with our offer, provisional responses and early
 * dialogs (§12.1.2), the 2xx that confirms the dialog and its ACK, 2xx from other forks (ACK + BYE, §13.2.2.4), and
 * CANCEL (§9.1), including a 2xx that crosses it.
 */

import type { SipCall } from "./call.ts";
import { Dialog } from "./dialog.ts";
import { SipError } from "./errors.ts";
import { createRequest, type SipHeader, type SipResponse } from "./message.ts";
import type { ClientTransaction } from "./transaction/client.ts";
import type { SipTarget } from "./transport/types.ts";
import { type CallCore, runHook, type UaContext } from "./uaTypes.ts";

export class OutgoingInvite {
  private txn: ClientTransaction | undefined;
  private target: SipTarget | undefined;
  private readonly earlyDialogs = new Map<string, Dialog>();
  private cancelRequested = false;
  private cancelSent = false;

  private readonly call: SipCall;
  private readonly ctx: UaContext;

  constructor(private readonly core: CallCore) {
    this.call = core.call;
    this.ctx = core.ctx;
  }

  /** The connection the INVITE left on (TCP/WS), if any. */
  get connectionId(): string | undefined {
    return this.txn?.flow?.connectionId;
  }

  /** Builds the INVITE with our offer and sends it (RFC 3261 §13.2.1). */
  async start(target: string, extraHeaders: readonly SipHeader[]): Promise<void> {
    try {
      const offer = await runHook(() => this.ctx.sdp.createOffer({ call: this.call, kind: "initial" }));
      if (this.call.state === "terminated") return;
      this.call.localSdp = offer;
      const invite = createRequest({
        method: "INVITE",
        uri: target,
        from: `${this.ctx.localParty()};tag=${this.call.localTag}`,
        to: `<${target}>`,
        callId: this.call.callId,
        cseq: 1,
        route: this.ctx.initialRoute(),
        contact: this.ctx.contact(this.ctx.preferred),
        headers: [...this.ctx.commonHeaders(), ...extraHeaders],
        body: offer,
        contentType: this.ctx.contentType,
      });
      this.call.request = invite;
      const dest = this.ctx.targetForUri(target);
      // the Contact must name the transport the request leaves on
      invite.setHeader("Contact", this.ctx.contact(dest.transport));
      this.target = dest;
      this.txn = this.ctx.txm.sendRequest(invite, dest, {
        onResponse: (res, txn) => this.onResponse(res, txn),
      });
    } catch (e) {
      this.ctx.log.info({ err: e, callId: this.call.callId }, "sip ua: outgoing call failed");
      this.call.terminate({ reason: "failed", error: e });
    }
  }

  private onResponse(res: SipResponse, txn: ClientTransaction): void {
    try {
      const s = res.status;
      if (s >= 200 && s < 300) {
        void this.on2xx(res, txn);
        return;
      }
      if (this.call.state === "terminated") return;
      if (txn.localFailure) {
        this.call.terminate({
          reason:
            txn.localFailure === "timeout" ? (this.cancelRequested ? "local-cancel" : "timeout") : "transport-error",
          status: s,
          response: res,
        });
        return;
      }
      if (s < 200) {
        if (s === 100) {
          this.core.setState("trying");
          this.core.emit("trying", res);
        } else {
          // RFC 3261 §12.1.2: a 1xx with a To tag creates an early dialog
          const tag = res.toTag();
          if (tag !== undefined && !this.earlyDialogs.has(tag) && this.call.request) {
            try {
              this.earlyDialogs.set(tag, Dialog.uac(this.call.request, res, txn.flow));
            } catch (e) {
              this.ctx.log.debug({ err: e }, "sip ua: no early dialog from provisional");
            }
          }
          if (s === 180) {
            this.core.setState("ringing");
            this.core.emit("ringing", res);
          } else {
            this.core.setState("early");
          }
          this.core.emit("progress", res);
        }
        // RFC 3261 §9.1: a CANCEL waits for a provisional response
        if (this.cancelRequested && !this.cancelSent) this.sendCancel();
        return;
      }
      this.call.terminate({
        reason: this.cancelRequested && s === 487 ? "local-cancel" : "rejected",
        status: s,
        response: res,
      });
    } catch (e) {
      this.ctx.log.error({ err: e }, "sip ua: INVITE response handling failed");
    }
  }

  private async on2xx(res: SipResponse, txn: ClientTransaction): Promise<void> {
    const invite = this.call.request;
    if (!invite) return;
    try {
      const remoteTag = res.toTag();
      if (remoteTag === undefined) throw new SipError("E_SIP_DIALOG", "2xx without To tag");
      if (this.call.dialog) {
        if (this.call.dialog.remoteTag === remoteTag) {
          // RFC 3261 §13.2.2.4: each 2xx retransmission is acknowledged again
          this.core.acks.resend(res.cseq().seq);
          return;
        }
        // RFC 3261 §13.2.2.4: a 2xx from another fork: acknowledge it and end that dialog with BYE
        const extra = Dialog.uac(invite, res, txn.flow);
        const target = this.ctx.targetForDialog(extra);
        await this.ctx.txm.sendAck(extra.createAck(invite), target);
        this.ctx.txm.sendRequest(extra.createRequest("BYE", { headers: this.ctx.commonHeaders() }), target, {
          onResponse: () => undefined,
        });
        return;
      }
      if (this.call.state === "terminated" && this.call.terminatedInfo?.reason !== "local-cancel") return;
      let d = this.earlyDialogs.get(remoteTag);
      if (d) d.confirm(res);
      else d = Dialog.uac(invite, res, txn.flow);
      this.earlyDialogs.clear();
      this.call.dialog = d;
      this.ctx.bindDialog(this.call, d);
      const target = this.ctx.targetForDialog(d);
      const ack = d.createAck(invite);
      this.core.acks.remember(invite.cseq().seq, ack, target);
      await this.ctx.txm.sendAck(ack, target);
      if (this.cancelRequested || this.call.state === "terminated") {
        // RFC 3261 §9.1 / §15: the 2xx crossed our CANCEL: the call is up, so it is ended with BYE
        this.call.state = "established";
        this.core.sendBye("local-cancel");
        return;
      }
      this.core.timers.clear("cancel");
      if (res.body.byteLength === 0) {
        // RFC 3264 §2 / RFC 3261 §13.2.1: our offer was in the INVITE, the 2xx must carry the answer
        this.ctx.log.info({ callId: this.call.callId }, "sip ua: 2xx without answer, ending the call");
        this.core.setState("established");
        this.core.sendBye("failed");
        return;
      }
      this.call.remoteSdp = res.body;
      this.core.emit("remoteAnswer", res.body);
      try {
        await runHook(() => this.ctx.sdp.onAnswer?.(res.body, { call: this.call, kind: "initial" }));
      } catch (e) {
        this.core.setState("established");
        this.core.sendBye("failed", e);
        return;
      }
      this.core.setState("established");
      this.core.emit("established");
    } catch (e) {
      this.ctx.log.info({ err: e, callId: this.call.callId }, "sip ua: 2xx handling failed");
      if (this.call.dialog) this.core.sendBye("failed", e);
      else this.call.terminate({ reason: "failed", error: e, status: res.status, response: res });
    }
  }

  /** RFC 3261 §9.1: CANCEL before the final response (the call checked its state). */
  cancel(): void {
    if (this.cancelRequested) return;
    this.cancelRequested = true;
    if (!this.txn) {
      // the INVITE has not left yet (offer still being built)
      this.call.terminate({ reason: "local-cancel" });
      return;
    }
    if (this.call.state !== "calling") this.sendCancel();
    // RFC 3261 §9.1: if no final response arrives after the CANCEL, the UAC gives up after 64*T1
    this.core.timers.set("cancel", 64 * this.ctx.timers.T1, () => {
      this.txn?.terminate();
      this.call.terminate({ reason: "local-cancel" });
    });
  }

  private sendCancel(): void {
    const invite = this.call.request;
    const txn = this.txn;
    if (!invite || !txn || !this.target) return;
    this.cancelSent = true;
    const cancel = this.ctx.txm.createCancel(invite);
    // RFC 3261 §9.1: the CANCEL goes where the INVITE went
    const target: SipTarget = { ...this.target, connectionId: txn.flow?.connectionId };
    try {
      this.ctx.txm.sendRequest(cancel, target, { onResponse: () => undefined }, { via: "keep" });
    } catch (e) {
      this.ctx.log.info({ err: e }, "sip ua: CANCEL not sent");
    }
  }
}
