/**
 * Session modification of a call (RFC 3261 §14): re-INVITEs we send and receive, with the glare and overlap rules
 * (491, 500 + Retry-After). The offer/answer goes through the application's `SipSdpHandler`, the 2xx / ACK through
 * the call's `CallAcks`.
 */

import type { SipCall } from "./call.ts";
import { SipError, SipRequestError } from "./errors.ts";
import { createResponse, type SipHeader, type SipRequest, type SipResponse } from "./message.ts";
import type { ServerTransaction } from "./transaction/server.ts";
import { type CallCore, isReject, runHook, type UaContext } from "./uaTypes.ts";

export class Reinvites {
  /** a re-INVITE of ours is in progress */
  outgoing = false;
  /** an incoming re-INVITE is unfinished (until its 2xx is acknowledged) */
  incoming = false;

  private readonly call: SipCall;
  private readonly ctx: UaContext;

  constructor(private readonly core: CallCore) {
    this.call = core.call;
    this.ctx = core.ctx;
  }

  /** An incoming re-INVITE (RFC 3261 §14.2). */
  async onIncoming(txn: ServerTransaction): Promise<void> {
    const req = txn.request;
    if (this.call.state === "answering") {
      // RFC 3261 §14.2: a second INVITE before our 2xx to the first is acknowledged → 500 with Retry-After
      txn.reply(500, undefined, { headers: [{ name: "Retry-After", value: String(Math.floor(Math.random() * 11)) }] });
      return;
    }
    if (this.call.state !== "established" || !this.call.dialog) {
      txn.reply(481);
      return;
    }
    // RFC 3261 §14.2: a re-INVITE while ours is pending gets 491
    if (this.outgoing) {
      txn.reply(491);
      return;
    }
    // RFC 3261 §14.2: a re-INVITE while another incoming one is unfinished gets 500 with Retry-After (0..10 s)
    if (this.incoming || this.core.acks.pending) {
      txn.reply(500, undefined, { headers: [{ name: "Retry-After", value: String(Math.floor(Math.random() * 11)) }] });
      return;
    }
    this.incoming = true;
    try {
      let body: Uint8Array;
      let offerInResponse = false;
      if (req.body.byteLength > 0) {
        this.call.remoteSdp = req.body;
        this.core.emit("remoteOffer", req.body);
        const r = await runHook(() => this.ctx.sdp.onOffer(req.body, { call: this.call, kind: "reinvite" }));
        if (isReject(r)) {
          // RFC 3261 §14.2: a refused re-INVITE leaves the session as it was
          txn.reply(r.reject, r.reason, { headers: this.ctx.commonHeaders() });
          this.incoming = false;
          this.core.emit("reinvite", { direction: "incoming", status: r.reject });
          return;
        }
        body = r;
      } else {
        body = await runHook(() => this.ctx.sdp.createOffer({ call: this.call, kind: "reinvite" }));
        offerInResponse = true;
      }
      if (this.call.ended()) return;
      this.call.localSdp = body;
      const res = createResponse(req, 200, undefined, {
        headers: [{ name: "Contact", value: this.ctx.contact(txn.source.transport) }, ...this.ctx.commonHeaders()],
        body,
        contentType: this.ctx.contentType,
      });
      txn.respond(res);
      this.core.acks.await({ cseq: req.cseq().seq, res, source: txn.source, offerInResponse, kind: "reinvite" });
    } catch (e) {
      this.ctx.log.info({ err: e }, "sip ua: re-INVITE handling failed");
      this.incoming = false;
      if (!txn.finalSent && txn.state !== "terminated") txn.reply(500);
    }
  }

  /**
   * Sends a re-INVITE with a new offer (RFC 3261 §14.1); resolves with the final status when it is 2xx, rejects with
   * SipRequestError otherwise (491: glare, try again later; 481/408 end the call, §12.2.1.2).
   */
  async send(extraHeaders: readonly SipHeader[] = []): Promise<{ status: number }> {
    const d = this.call.dialog;
    if (this.call.state !== "established" || !d)
      throw new SipError("E_SIP_STATE", `cannot re-INVITE in state ${this.call.state}`);
    // RFC 3261 §14.1: no re-INVITE while another INVITE transaction is in progress
    if (this.outgoing || this.incoming || this.core.acks.pending) {
      throw new SipError("E_SIP_STATE", "an INVITE transaction is already in progress");
    }
    this.outgoing = true;
    try {
      const offer = await runHook(() => this.ctx.sdp.createOffer({ call: this.call, kind: "reinvite" }));
      this.call.localSdp = offer;
      const target = this.ctx.targetForDialog(d);
      const req = d.createRequest("INVITE", {
        contact: this.ctx.contact(target.transport),
        headers: [...this.ctx.commonHeaders(), ...extraHeaders],
        body: offer,
        contentType: this.ctx.contentType,
      });
      const res = await new Promise<SipResponse>((resolve) => {
        let ack: SipRequest | undefined;
        this.ctx.txm.sendRequest(req, target, {
          onResponse: (r) => {
            if (r.status < 200) return;
            if (r.status < 300) {
              // RFC 3261 §14.1 / §13.2.2.4: every 2xx is acknowledged
              if (!ack) {
                d.refreshTarget(r);
                ack = d.createAck(req);
                this.core.acks.remember(req.cseq().seq, ack, target);
              }
              this.ctx.txm
                .sendAck(ack, target)
                .catch((e: unknown) => this.ctx.log.info({ err: e }, "sip ua: ACK failed"));
            }
            resolve(r);
          },
        });
      });
      if (res.status >= 300) {
        // RFC 3261 §12.2.1.2 / §14.1: 481 and 408 end the dialog
        if (res.status === 481) this.call.terminate({ reason: "failed", status: 481, response: res });
        else if (res.status === 408) this.core.sendBye("timeout");
        this.core.emit("reinvite", { direction: "outgoing", status: res.status });
        throw new SipRequestError(res.status, res.reason, res);
      }
      if (res.body.byteLength > 0) {
        this.call.remoteSdp = res.body;
        this.core.emit("remoteAnswer", res.body);
        await runHook(() => this.ctx.sdp.onAnswer?.(res.body, { call: this.call, kind: "reinvite" }));
      }
      this.core.emit("reinvite", { direction: "outgoing", status: res.status });
      return { status: res.status };
    } finally {
      this.outgoing = false;
    }
  }
}
