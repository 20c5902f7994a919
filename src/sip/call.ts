/**
 * A call of the user agent (RFC 3261 §12–§15): outgoing and incoming INVITE (100 / 180 / 200 / ACK), re-INVITE both
 * ways, BYE, CANCEL. The call does not read SDP: the application's `SipSdpHandler` makes offers and answers.
 * `SipCall` holds the state, the public API and the UAS side; its helpers are the outgoing INVITE (callOutgoing.ts),
 * re-INVITEs (callReinvite.ts) and the end-to-end 2xx / ACK exchange (callAck.ts).
 */
import { CallAcks, type Pending2xx } from "./callAck.ts";
import { OutgoingInvite } from "./callOutgoing.ts";
import { Reinvites } from "./callReinvite.ts";
import { Dialog } from "./dialog.ts";
import { TypedEmitter } from "./emitter.ts";
import { SipError, SipRequestError } from "./errors.ts";
import { createResponse, generateTag, type SipHeader, type SipRequest, type SipResponse } from "./message.ts";
import type { InviteServerTransaction, ServerTransaction } from "./transaction/server.ts";
import { TimerBag } from "./transaction/timers.ts";
import {
  type CallCore,
  type CallEvents,
  type CallState,
  isReject,
  RECOGNISED,
  runHook,
  type TerminatedInfo,
  type TerminationReason,
  UA_ALLOW,
  type UaContext,
} from "./uaTypes.ts";

// ---------------------------------------------------------------------------------------------------------------------
// calls

export class SipCall extends TypedEmitter<CallEvents> {
  state: CallState;
  readonly direction: "outgoing" | "incoming";
  readonly callId: string;
  readonly localTag: string;
  /** the initial INVITE (sent or received); undefined until an outgoing INVITE is built */
  request: SipRequest | undefined;
  dialog: Dialog | undefined;
  /** our latest offer or answer */
  localSdp: Uint8Array | undefined;
  /** the peer's latest offer or answer */
  remoteSdp: Uint8Array | undefined;
  terminatedInfo: TerminatedInfo | undefined;

  private readonly timers = new TimerBag();
  private readonly serverTxn: InviteServerTransaction | undefined;
  private answered = false;
  private byeAfterAck = false;
  private readonly acks: CallAcks;
  private readonly reinvites: Reinvites;
  /** the outgoing INVITE (UAC); undefined for an incoming call */
  private readonly uac: OutgoingInvite | undefined;
  private readonly terminatedPromise: Promise<TerminatedInfo>;
  private resolveTerminated: (i: TerminatedInfo) => void = () => undefined;

  /** @internal use SipUserAgent.call() or the incomingCall event */
  constructor(
    private readonly ctx: UaContext,
    direction: "outgoing" | "incoming",
    init: { callId: string; txn?: InviteServerTransaction },
  ) {
    super();
    this.direction = direction;
    this.callId = init.callId;
    this.localTag = generateTag();
    this.serverTxn = init.txn;
    this.request = init.txn?.request;
    this.state = direction === "outgoing" ? "calling" : "incoming";
    this.onListenerError = (e, ev) => ctx.log.error({ err: e, event: ev }, "sip ua: call listener failed");
    this.terminatedPromise = new Promise((r) => {
      this.resolveTerminated = r;
    });
    this.acks = new CallAcks(ctx, this.timers, () => {
      ctx.log.info({ callId: this.callId }, "sip ua: no ACK for 2xx, ending the session");
      this.setState("established");
      this.sendBye("no-ack");
    });
    const core: CallCore = {
      call: this,
      ctx,
      acks: this.acks,
      timers: this.timers,
      emit: (event, ...args) => this.emit(event, ...args),
      setState: (st) => this.setState(st),
      sendBye: (reason, error) => this.sendBye(reason, error),
    };
    this.reinvites = new Reinvites(core);
    this.uac = direction === "outgoing" ? new OutgoingInvite(core) : undefined;
  }

  /** The peer's identity (From of an incoming call, To of an outgoing one). */
  get remoteIdentity(): string {
    if (!this.request) return "";
    return (this.direction === "incoming" ? this.request.getHeader("From") : this.request.getHeader("To")) ?? "";
  }

  /** Resolves when the call is established; rejects if it ends first. */
  established(): Promise<void> {
    if (this.state === "established") return Promise.resolve();
    if (this.terminatedInfo) return Promise.reject(this.endError(this.terminatedInfo));
    return new Promise((resolve, reject) => {
      const offA = this.once("established", () => {
        offB();
        resolve();
      });
      const offB = this.once("terminated", (info) => {
        offA();
        reject(this.endError(info));
      });
    });
  }

  /** Resolves with how the call ended. */
  terminated(): Promise<TerminatedInfo> {
    return this.terminatedPromise;
  }

  private endError(info: TerminatedInfo): SipError {
    return info.status !== undefined
      ? new SipRequestError(info.status, `call ended: ${info.reason}`, info.response)
      : new SipError("E_SIP_STATE", `call ended: ${info.reason}`);
  }

  /** @internal whether the call's signalling used this connection (its dialog, INVITE or incoming INVITE). */
  usesConnection(id: string): boolean {
    return (
      this.dialog?.flow?.connectionId === id ||
      this.uac?.connectionId === id ||
      this.serverTxn?.source.connectionId === id
    );
  }

  /** True once terminated (a method, so that checks after an await are not narrowed away). */
  ended(): boolean {
    return this.state === "terminated";
  }

  private setState(s: CallState): void {
    if (this.state === s || this.state === "terminated") return;
    this.state = s;
    this.emit("state", s);
  }

  /** @internal */
  terminate(info: TerminatedInfo): void {
    if (this.state === "terminated") return;
    this.timers.clearAll();
    this.acks.clear();
    this.dialog?.terminate();
    this.terminatedInfo = info;
    this.state = "terminated";
    this.ctx.unbind(this);
    this.ctx.log.debug({ callId: this.callId, ...info, response: undefined }, "sip ua: call terminated");
    this.emit("state", "terminated");
    this.emit("terminated", info);
    this.resolveTerminated(info);
  }

  // ------------------------------------------------------------------------------------------------ outgoing (UAC)

  /** @internal */
  startOutgoing(target: string, extraHeaders: readonly SipHeader[]): Promise<void> {
    return this.uac?.start(target, extraHeaders) ?? Promise.resolve();
  }

  /** @internal RFC 3261 §13.2.2.4: a retransmitted 2xx gets the same ACK again. */
  resendAck(cseq: number): void {
    this.acks.resend(cseq);
  }

  /** CANCEL an outgoing call before its final response (RFC 3261 §9.1). */
  cancel(): void {
    if (this.direction !== "outgoing" || !this.uac)
      throw new SipError("E_SIP_STATE", "only an outgoing call can be cancelled");
    if (!["calling", "trying", "ringing", "early"].includes(this.state)) {
      throw new SipError("E_SIP_STATE", `cannot cancel in state ${this.state}`);
    }
    this.uac.cancel();
  }

  // ------------------------------------------------------------------------------------------------ incoming (UAS)

  /** @internal sends 180 Ringing (RFC 3261 §13.3.1.1). */
  ring(): void {
    const txn = this.serverTxn;
    if (!txn || txn.finalSent || this.state !== "incoming") return;
    txn.respond(this.responseFor(txn.request, 180));
    this.setState("ringing");
  }

  /** A response with our To tag, Contact and (for dialog-creating responses) the Record-Route copy (RFC 3261 §12.1.1). */
  private responseFor(req: SipRequest, status: number, body?: Uint8Array): SipResponse {
    const src = this.serverTxn?.source;
    const headers: SipHeader[] = [];
    if (status > 100 && status < 300) {
      for (const rr of req.getHeaders("Record-Route")) headers.push({ name: "Record-Route", value: rr });
      headers.push({ name: "Contact", value: this.ctx.contact(src?.transport ?? this.ctx.preferred) });
    }
    headers.push(...this.ctx.commonHeaders());
    return createResponse(req, status, undefined, {
      toTag: this.localTag,
      headers,
      body,
      contentType: body !== undefined ? this.ctx.contentType : undefined,
    });
  }

  /**
   * Answers an incoming call with 200 (RFC 3261 §13.3.1.4): the remote offer goes to `onOffer`, its answer into the
   * 200; without an offer in the INVITE, `createOffer` fills the 200 and the answer is expected in the ACK.
   */
  async answer(): Promise<void> {
    const txn = this.serverTxn;
    const req = this.request;
    if (this.direction !== "incoming" || !txn || !req) throw new SipError("E_SIP_STATE", "not an incoming call");
    if (this.answered || (this.state !== "incoming" && this.state !== "ringing")) {
      throw new SipError("E_SIP_STATE", `cannot answer in state ${this.state}`);
    }
    this.answered = true;
    this.setState("answering");
    let body: Uint8Array;
    let offerInResponse = false;
    try {
      if (req.body.byteLength > 0) {
        this.remoteSdp = req.body;
        this.emit("remoteOffer", req.body);
        const r = await runHook(() => this.ctx.sdp.onOffer(req.body, { call: this, kind: "initial" }));
        if (isReject(r)) {
          if (!txn.finalSent && !this.ended()) txn.respond(this.responseFor(req, r.reject));
          this.terminate({ reason: "declined", status: r.reject });
          return;
        }
        body = r;
      } else {
        body = await runHook(() => this.ctx.sdp.createOffer({ call: this, kind: "initial" }));
        offerInResponse = true;
      }
    } catch (e) {
      if (!txn.finalSent && !this.ended()) txn.respond(this.responseFor(req, 500));
      this.terminate({ reason: "failed", error: e, status: 500 });
      throw e;
    }
    if (this.ended() || txn.finalSent) throw new SipError("E_SIP_STATE", "the call ended before the answer");
    this.localSdp = body;
    const res = this.responseFor(req, 200, body);
    const d = Dialog.uas(req, res, txn.source);
    this.dialog = d;
    this.ctx.bindDialog(this, d);
    txn.respond(res);
    this.acks.await({ cseq: req.cseq().seq, res, source: txn.source, offerInResponse, kind: "initial" });
  }

  /** Refuses an incoming call (default 486 Busy Here). */
  reject(status = 486, reason?: string): void {
    const txn = this.serverTxn;
    if (this.direction !== "incoming" || !txn || !this.request)
      throw new SipError("E_SIP_STATE", "not an incoming call");
    if (txn.finalSent || this.state === "terminated") throw new SipError("E_SIP_STATE", "already answered");
    const res = this.responseFor(this.request, status);
    if (reason !== undefined) res.reason = reason;
    txn.respond(res);
    this.terminate({ reason: "declined", status });
  }

  /** @internal an ACK within our dialog (RFC 3261 §13.3.1.4 / §17.2.3: end-to-end ACK of a 2xx). */
  onAck(ack: SipRequest): void {
    const p = this.acks.take(ack);
    if (p) void this.afterAck(p, ack);
  }

  private async afterAck(p: Pending2xx, ack: SipRequest): Promise<void> {
    if (p.offerInResponse) {
      if (ack.body.byteLength === 0) {
        // RFC 3264 §2: an offer in a 2xx must be answered in the ACK
        this.ctx.log.info({ callId: this.callId }, "sip ua: ACK without answer");
        this.setState("established");
        this.sendBye("failed");
        return;
      }
      this.remoteSdp = ack.body;
      this.emit("remoteAnswer", ack.body);
      try {
        await runHook(() => this.ctx.sdp.onAnswer?.(ack.body, { call: this, kind: p.kind }));
      } catch (e) {
        this.setState("established");
        this.sendBye("failed", e);
        return;
      }
    }
    if (this.state === "terminated") return;
    if (p.kind === "initial") {
      this.setState("established");
      this.emit("established");
    } else {
      this.reinvites.incoming = false;
      this.emit("reinvite", { direction: "incoming", status: p.res.status });
    }
    if (this.byeAfterAck) this.sendBye("local-bye");
  }

  /** @internal a CANCEL matched to our INVITE (RFC 3261 §9.2): 487 to the INVITE when no final was sent. */
  onCancel(): void {
    const txn = this.serverTxn;
    if (!txn || !this.request || txn.finalSent) return;
    txn.respond(this.responseFor(this.request, 487));
    this.terminate({ reason: "remote-cancel", status: 487 });
  }

  // ------------------------------------------------------------------------------------------------ in dialog

  /** @internal an in-dialog request other than ACK. */
  onInDialogRequest(txn: ServerTransaction): void {
    const req = txn.request;
    if (req.method === "BYE") {
      // RFC 3261 §15.1.2: 200 to the BYE, the session ends
      txn.reply(200, undefined, { headers: this.ctx.commonHeaders() });
      this.terminate({ reason: "remote-bye" });
      return;
    }
    if (req.method === "INVITE") {
      void this.reinvites.onIncoming(txn);
      return;
    }
    if (req.method === "OPTIONS") {
      txn.reply(200, undefined, {
        headers: [{ name: "Allow", value: UA_ALLOW.join(", ") }, ...this.ctx.commonHeaders()],
      });
      return;
    }
    // RFC 3261 §8.2.1: a recognised but unimplemented method gets 405 with Allow
    txn.reply(RECOGNISED.has(req.method) ? 405 : 501, undefined, {
      headers: [{ name: "Allow", value: UA_ALLOW.join(", ") }],
    });
  }

  /**
   * Sends a re-INVITE with a new offer (RFC 3261 §14.1); resolves with the final status when it is 2xx, rejects with
   * SipRequestError otherwise (491: glare, try again later; 481/408 end the call, §12.2.1.2).
   */
  reinvite(extraHeaders: readonly SipHeader[] = []): Promise<{ status: number }> {
    return this.reinvites.send(extraHeaders);
  }

  /**
   * Ends the call: BYE when established (RFC 3261 §15.1.1), CANCEL while an outgoing call is unanswered,
   * 603 Decline for an unanswered incoming call. Resolves when the call is terminated.
   */
  async hangup(): Promise<TerminatedInfo> {
    switch (this.state) {
      case "terminated":
      case "terminating":
        break;
      case "calling":
      case "trying":
      case "ringing":
      case "early":
        if (this.direction === "outgoing") this.cancel();
        else this.reject(603);
        break;
      case "incoming":
        this.reject(603);
        break;
      case "answering":
        // RFC 3261 §15: the callee may not send BYE before the ACK (or its timeout)
        if (this.acks.pending) this.byeAfterAck = true;
        else if (this.dialog) this.sendBye("local-bye");
        else this.byeAfterAck = true;
        break;
      case "established":
        if (this.acks.pending) this.byeAfterAck = true;
        else this.sendBye("local-bye");
        break;
    }
    return this.terminatedPromise;
  }

  private sendBye(reason: TerminationReason, error?: unknown): void {
    const d = this.dialog;
    if (!d || d.state === "terminated") {
      this.terminate({ reason, error });
      return;
    }
    this.setState("terminating");
    try {
      const bye = d.createRequest("BYE", { headers: this.ctx.commonHeaders() });
      this.ctx.txm.sendRequest(bye, this.ctx.targetForDialog(d), {
        onResponse: (r) => {
          if (r.status >= 200) this.terminate({ reason, status: r.status, response: r, error });
        },
      });
    } catch (e) {
      this.terminate({ reason, error: e });
    }
  }
}
