/**
 * User-agent core (RFC 3261 §8, §10, §12–§15): REGISTER with the data channel feature tag (RFC 5688, TS 24.186 §9.2)
 * and, when configured, the mediasec mechanisms in Security-Client (TS 24.229 §7.2A.7); outgoing and incoming calls
 * (INVITE / 100 / 180 / 200 / ACK), re-INVITE both ways, BYE, CANCEL; flow recovery (RFC 5626 §4.4 / §4.5, TS 24.229
 * §5.1.1.4): when the TCP/WS connection it registered over closes, it re-registers over a new one, with back-off.
 * The UA does not read SDP: the application's `SipSdpHandler` makes offers and answers, and receives the remote
 * answer.
 */
import type { Logger } from "../log.ts";
import { silentLogger } from "../log.ts";
import { Dialog, dialogId, dialogIdOfRequest } from "./dialog.ts";
import { TypedEmitter } from "./emitter.ts";
import { SipError, type SipErrorCode, SipRequestError } from "./errors.ts";
import { getParam } from "./grammar.ts";
import type { NameAddr } from "./headers.ts";
import {
  createRequest,
  createResponse,
  generateCallId,
  generateTag,
  type SipHeader,
  type SipRequest,
  type SipResponse,
} from "./message.ts";
import type { ClientTransaction } from "./transaction/client.ts";
import { type SendRequestOptions, TransactionManager } from "./transaction/manager.ts";
import { InviteServerTransaction, type ServerTransaction } from "./transaction/server.ts";
import { type SipTimerConfig, TimerBag } from "./transaction/timers.ts";
import type { InboundListener, TransactionTransport } from "./transport/layer.ts";
import { uriTarget } from "./transport/route.ts";
import type {
  ConnectionClosedInfo,
  ConnectionClosedListener,
  ConnectionCloseReason,
  SipSource,
  SipTarget,
  SipTransportProtocol,
} from "./transport/types.ts";
import { isSipUri, parseSipUri, parseUri, type SipUri, sipUriEquals } from "./uri.ts";

// ---------------------------------------------------------------------------------------------------------------------
// public types

export type CallState =
  | "calling"
  | "trying"
  | "ringing"
  | "early"
  | "incoming"
  | "answering"
  | "established"
  | "terminating"
  | "terminated";

export type TerminationReason =
  | "local-bye"
  | "remote-bye"
  | "local-cancel"
  | "remote-cancel"
  | "rejected"
  | "declined"
  | "timeout"
  | "no-ack"
  | "transport-error"
  | "failed"
  | "closed";

export interface TerminatedInfo {
  reason: TerminationReason;
  /** the final status that ended the call, when one did */
  status?: number | undefined;
  response?: SipResponse | undefined;
  error?: unknown;
}

export interface SdpContext {
  call: SipCall;
  /** the initial INVITE or a re-INVITE */
  kind: "initial" | "reinvite";
}

/** What `onOffer` returns to refuse an offer: the status to answer with (e.g. 488). */
export interface SdpReject {
  reject: number;
  reason?: string | undefined;
}

export function rejectOffer(status = 488, reason?: string): SdpReject {
  return { reject: status, reason };
}

/** The application's offer/answer engine (RFC 3264). The UA treats bodies as opaque bytes. */
export interface SipSdpHandler {
  /** an offer for an outgoing INVITE / re-INVITE, or for a 200 answering an INVITE without offer */
  createOffer(ctx: SdpContext): Uint8Array | Promise<Uint8Array>;
  /** the remote offer (INVITE / re-INVITE body) → our answer, or a rejection */
  onOffer(offer: Uint8Array, ctx: SdpContext): Uint8Array | SdpReject | Promise<Uint8Array | SdpReject>;
  /** the remote answer to our offer (from a 2xx, or from the ACK when we offered in a 2xx) */
  onAnswer?(answer: Uint8Array, ctx: SdpContext): void | Promise<void>;
}

export type CallEvents = {
  state: [CallState];
  trying: [SipResponse];
  ringing: [SipResponse];
  progress: [SipResponse];
  established: [];
  remoteOffer: [Uint8Array];
  remoteAnswer: [Uint8Array];
  reinvite: [{ direction: "incoming" | "outgoing"; status: number }];
  terminated: [TerminatedInfo];
};

export interface RegistrationInfo {
  /** granted expiry (seconds) for our binding */
  expires: number;
  /** every binding the registrar returned (RFC 3261 §10.3 step 8) */
  contacts: NameAddr[];
  /** RFC 3608 Service-Route values, used as preloaded route of later initial requests */
  serviceRoute: string[];
  response: SipResponse;
}

export interface RegistrationFailedInfo {
  /** the final status (a local 503 for a transport error, 408 for a timeout); 0 when nothing was sent */
  status: number;
  reason: string;
  response?: SipResponse | undefined;
  /** E_SIP_TRANSPORT (connect/send failed), E_SIP_TIMEOUT, E_SIP_REJECTED (a non-2xx from the network), … */
  code: SipErrorCode;
  /** flow recovery: the next attempt starts in this many ms */
  retryInMs?: number | undefined;
}

/** RFC 5626 §4.5 back-off of the re-registration after a flow failure. */
export interface FlowRecoveryOptions {
  /** base-time (ms); RFC 5626 §4.5 default when all flows failed: 30 000 */
  baseMs?: number;
  /** max-time (ms); RFC 5626 §4.5 default: 1 800 000 */
  maxMs?: number;
}

/** The connection the UA registered over closed (RFC 5626 §4.4). */
export interface FlowFailedInfo {
  code: "E_SIP_FLOW_FAILED";
  transport: SipTransportProtocol;
  connectionId: string;
  /** why the connection closed; "refresh-failed": a registration refresh failed (the flow is presumed dead) */
  reason: ConnectionCloseReason | "refresh-failed";
  /**
   * Calls that used the failed connection. They are not ended: their media does not run over it. Requests we send in
   * them go over a new connection; requests toward us reach us only if the proxy can route them to the new flow.
   */
  calls: SipCall[];
  /** a re-REGISTER is scheduled (flow recovery on) */
  recovering: boolean;
  /** when recovering: the first attempt starts in this many ms */
  retryInMs?: number | undefined;
}

export type UserAgentEvents = {
  registered: [RegistrationInfo];
  registrationFailed: [RegistrationFailedInfo];
  unregistered: [];
  incomingCall: [SipCall];
  flowFailed: [FlowFailedInfo];
};

/** RFC 5626 §4.5 defaults (all flows failed): base-time 30 s, max-time 1800 s. */
export const FLOW_RECOVERY_DEFAULTS: Required<FlowRecoveryOptions> = { baseMs: 30_000, maxMs: 1_800_000 };

/**
 * RFC 5626 §4.5: wait-time = min(max-time, base-time · 2^consecutive-failures), randomised uniformly between 50 % and
 * 100 % of that value.
 */
export function flowRecoveryDelay(
  failures: number,
  baseMs: number,
  maxMs: number,
  random: () => number = Math.random,
): number {
  const wait = Math.min(maxMs, baseMs * 2 ** Math.min(Math.max(0, failures), 40));
  return Math.round(wait * (0.5 + 0.5 * random()));
}

/**
 * What the UA needs from its transport: SipTransportLayer implements it; so can a browser WebSocket transport (the
 * UA, dialogs, transactions and codec import nothing Node-only).
 */
export interface UaTransport extends TransactionTransport {
  protocols(): SipTransportProtocol[];
  hasConnection(transport: SipTransportProtocol, connectionId: string): boolean;
  onMessage(listener: InboundListener): () => void;
  /** closed TCP/WS connections (the UA's flow-failure signal, RFC 5626 §4.4); without it there is no flow recovery */
  onConnectionClosed?(listener: ConnectionClosedListener): () => void;
  close(): Promise<void>;
}

export interface SipUserAgentOptions {
  /** a started transport layer (e.g. SipTransportLayer); the UA subscribes to it (one UA per layer) */
  transport: UaTransport;
  /** close the transport layer in close(); default false */
  ownsTransport?: boolean;
  /** address-of-record, e.g. "sip:alice@ims.example.com" */
  aor: string;
  displayName?: string;
  /** user part of the Contact; default the AOR's user */
  contactUser?: string;
  /** transport for initial requests and the Contact; default the first the layer has */
  preferredTransport?: SipTransportProtocol;
  /** every request goes to this next hop (e.g. the P-CSCF), whatever its Request-URI or route set */
  outboundProxy?: string;
  /** Route header values preloaded on initial requests (RFC 3261 §8.1.2), e.g. ["<sip:pcscf.example.com;lr>"] */
  preloadedRoute?: string[];
  /** Request-URI of REGISTER; default "sip:<AOR domain>" */
  registrar?: string;
  /** requested registration expiry (s); default 600 */
  expires?: number;
  /** re-REGISTER at half the granted expiry; default false */
  autoRefresh?: boolean;
  /**
   * Flow recovery (RFC 5626 §4.5, TS 24.229 §5.1.1.4): when the TCP/WS connection of the registration closes, or a
   * refresh fails, re-REGISTER at once, then with back-off (`flowRecoveryDelay`) until it succeeds. Default on with
   * the RFC's base 30 s / max 1800 s; false turns it off (the failure is still reported by `flowFailed`).
   */
  flowRecovery?: FlowRecoveryOptions | false;
  /** add +sip.app-subtype="webrtc-datachannel" to Contact (RFC 5688, TS 24.186 §9.2); default true */
  dataChannel?: boolean;
  /**
   * media-plane security mechanisms listed in REGISTER's Security-Client with the mediasec parameter
   * (TS 24.229 §7.2A.7). true → ["msrp-tls", "bfcp-tls"]; default none.
   */
  mediasec?: boolean | string[];
  /** use a registration's Service-Route as preloaded route (RFC 3608 §6); default true */
  useServiceRoute?: boolean;
  /** the offer/answer engine */
  sdp: SipSdpHandler;
  /** Content-Type of offers and answers; default application/sdp */
  contentType?: string;
  /** send 180 Ringing on an incoming INVITE; default true */
  autoRinging?: boolean;
  timers?: Partial<SipTimerConfig>;
  /** User-Agent header value; default "imsdc" */
  userAgent?: string;
  logger?: Logger;
}

/** RFC 3261 §8.2.1: methods this UA implements (the Allow header). */
export const UA_ALLOW = ["INVITE", "ACK", "BYE", "CANCEL", "OPTIONS"];
/** Methods a UA recognises but does not implement here: answered 405 (others 501). */
const RECOGNISED = new Set([
  ...UA_ALLOW,
  "REGISTER",
  "PRACK",
  "SUBSCRIBE",
  "NOTIFY",
  "PUBLISH",
  "INFO",
  "REFER",
  "MESSAGE",
  "UPDATE",
]);

// ---------------------------------------------------------------------------------------------------------------------
// internal context shared by the UA and its calls

interface UaContext {
  readonly txm: TransactionManager;
  readonly log: Logger;
  readonly timers: SipTimerConfig;
  readonly sdp: SipSdpHandler;
  readonly contentType: string;
  readonly preferred: SipTransportProtocol;
  localParty(): string;
  contact(transport: SipTransportProtocol): string;
  commonHeaders(): SipHeader[];
  initialRoute(): string[];
  targetForUri(uri: string): SipTarget;
  targetForDialog(d: Dialog): SipTarget;
  isReliable(t: SipTransportProtocol): boolean;
  sendResponse(res: SipResponse, source: SipSource): Promise<void>;
  bindDialog(call: SipCall, d: Dialog): void;
  unbind(call: SipCall): void;
}

function isReject(x: Uint8Array | SdpReject): x is SdpReject {
  return !(x instanceof Uint8Array);
}

async function runHook<T>(fn: () => T | Promise<T>): Promise<T> {
  try {
    return await fn();
  } catch (e) {
    throw new SipError("E_SIP_SDP", `SDP hook failed: ${e instanceof Error ? e.message : String(e)}`, { cause: e });
  }
}

interface Pending2xx {
  cseq: number;
  res: SipResponse;
  source: SipSource;
  offerInResponse: boolean;
  kind: "initial" | "reinvite";
}

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
  private inviteTxn: ClientTransaction | undefined;
  private inviteTarget: SipTarget | undefined;
  private readonly serverTxn: InviteServerTransaction | undefined;
  private readonly earlyDialogs = new Map<string, Dialog>();
  private cancelRequested = false;
  private cancelSent = false;
  private answered = false;
  private byeAfterAck = false;
  private outgoingReinvite = false;
  private incomingReinvite = false;
  private lastAck: { cseq: number; ack: SipRequest; target: SipTarget } | undefined;
  private pending2xx: Pending2xx | undefined;
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
      this.inviteTxn?.flow?.connectionId === id ||
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
    this.pending2xx = undefined;
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
  async startOutgoing(target: string, extraHeaders: readonly SipHeader[]): Promise<void> {
    try {
      const offer = await runHook(() => this.ctx.sdp.createOffer({ call: this, kind: "initial" }));
      if (this.state === "terminated") return;
      this.localSdp = offer;
      const invite = createRequest({
        method: "INVITE",
        uri: target,
        from: `${this.ctx.localParty()};tag=${this.localTag}`,
        to: `<${target}>`,
        callId: this.callId,
        cseq: 1,
        route: this.ctx.initialRoute(),
        contact: this.ctx.contact(this.ctx.preferred),
        headers: [...this.ctx.commonHeaders(), ...extraHeaders],
        body: offer,
        contentType: this.ctx.contentType,
      });
      this.request = invite;
      const dest = this.ctx.targetForUri(target);
      // the Contact must name the transport the request leaves on
      invite.setHeader("Contact", this.ctx.contact(dest.transport));
      this.inviteTarget = dest;
      this.inviteTxn = this.ctx.txm.sendRequest(invite, dest, {
        onResponse: (res, txn) => this.onInviteResponse(res, txn),
      });
    } catch (e) {
      this.ctx.log.info({ err: e, callId: this.callId }, "sip ua: outgoing call failed");
      this.terminate({ reason: "failed", error: e });
    }
  }

  private onInviteResponse(res: SipResponse, txn: ClientTransaction): void {
    try {
      const s = res.status;
      if (s >= 200 && s < 300) {
        void this.on2xx(res, txn);
        return;
      }
      if (this.state === "terminated") return;
      if (txn.localFailure) {
        this.terminate({
          reason:
            txn.localFailure === "timeout" ? (this.cancelRequested ? "local-cancel" : "timeout") : "transport-error",
          status: s,
          response: res,
        });
        return;
      }
      if (s < 200) {
        if (s === 100) {
          this.setState("trying");
          this.emit("trying", res);
        } else {
          // RFC 3261 §12.1.2: a 1xx with a To tag creates an early dialog
          const tag = res.toTag();
          if (tag !== undefined && !this.earlyDialogs.has(tag) && this.request) {
            try {
              this.earlyDialogs.set(tag, Dialog.uac(this.request, res, txn.flow));
            } catch (e) {
              this.ctx.log.debug({ err: e }, "sip ua: no early dialog from provisional");
            }
          }
          if (s === 180) {
            this.setState("ringing");
            this.emit("ringing", res);
          } else {
            this.setState("early");
          }
          this.emit("progress", res);
        }
        // RFC 3261 §9.1: a CANCEL waits for a provisional response
        if (this.cancelRequested && !this.cancelSent) this.sendCancel();
        return;
      }
      this.terminate({
        reason: this.cancelRequested && s === 487 ? "local-cancel" : "rejected",
        status: s,
        response: res,
      });
    } catch (e) {
      this.ctx.log.error({ err: e }, "sip ua: INVITE response handling failed");
    }
  }

  private async on2xx(res: SipResponse, txn: ClientTransaction): Promise<void> {
    const invite = this.request;
    if (!invite) return;
    try {
      const remoteTag = res.toTag();
      if (remoteTag === undefined) throw new SipError("E_SIP_DIALOG", "2xx without To tag");
      if (this.dialog) {
        if (this.dialog.remoteTag === remoteTag) {
          // RFC 3261 §13.2.2.4: each 2xx retransmission is acknowledged again
          this.resendAck(res.cseq().seq);
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
      if (this.state === "terminated" && this.terminatedInfo?.reason !== "local-cancel") return;
      let d = this.earlyDialogs.get(remoteTag);
      if (d) d.confirm(res);
      else d = Dialog.uac(invite, res, txn.flow);
      this.earlyDialogs.clear();
      this.dialog = d;
      this.ctx.bindDialog(this, d);
      const target = this.ctx.targetForDialog(d);
      const ack = d.createAck(invite);
      this.lastAck = { cseq: invite.cseq().seq, ack, target };
      await this.ctx.txm.sendAck(ack, target);
      if (this.cancelRequested || this.state === "terminated") {
        // RFC 3261 §9.1 / §15: the 2xx crossed our CANCEL: the call is up, so it is ended with BYE
        this.state = "established";
        this.sendBye("local-cancel");
        return;
      }
      this.timers.clear("cancel");
      if (res.body.byteLength === 0) {
        // RFC 3264 §2 / RFC 3261 §13.2.1: our offer was in the INVITE, the 2xx must carry the answer
        this.ctx.log.info({ callId: this.callId }, "sip ua: 2xx without answer, ending the call");
        this.setState("established");
        this.sendBye("failed");
        return;
      }
      this.remoteSdp = res.body;
      this.emit("remoteAnswer", res.body);
      try {
        await runHook(() => this.ctx.sdp.onAnswer?.(res.body, { call: this, kind: "initial" }));
      } catch (e) {
        this.setState("established");
        this.sendBye("failed", e);
        return;
      }
      this.setState("established");
      this.emit("established");
    } catch (e) {
      this.ctx.log.info({ err: e, callId: this.callId }, "sip ua: 2xx handling failed");
      if (this.dialog) this.sendBye("failed", e);
      else this.terminate({ reason: "failed", error: e, status: res.status, response: res });
    }
  }

  /** @internal RFC 3261 §13.2.2.4: a retransmitted 2xx gets the same ACK again. */
  resendAck(cseq: number): void {
    const a = this.lastAck;
    if (!a || a.cseq !== cseq) return;
    this.ctx.txm
      .sendAck(a.ack, a.target)
      .catch((e: unknown) => this.ctx.log.info({ err: e }, "sip ua: ACK resend failed"));
  }

  /** CANCEL an outgoing call before its final response (RFC 3261 §9.1). */
  cancel(): void {
    if (this.direction !== "outgoing") throw new SipError("E_SIP_STATE", "only an outgoing call can be cancelled");
    if (!["calling", "trying", "ringing", "early"].includes(this.state)) {
      throw new SipError("E_SIP_STATE", `cannot cancel in state ${this.state}`);
    }
    if (this.cancelRequested) return;
    this.cancelRequested = true;
    if (!this.inviteTxn) {
      // the INVITE has not left yet (offer still being built)
      this.terminate({ reason: "local-cancel" });
      return;
    }
    if (this.state !== "calling") this.sendCancel();
    // RFC 3261 §9.1: if no final response arrives after the CANCEL, the UAC gives up after 64*T1
    this.timers.set("cancel", 64 * this.ctx.timers.T1, () => {
      this.inviteTxn?.terminate();
      this.terminate({ reason: "local-cancel" });
    });
  }

  private sendCancel(): void {
    const invite = this.request;
    const txn = this.inviteTxn;
    if (!invite || !txn || !this.inviteTarget) return;
    this.cancelSent = true;
    const cancel = this.ctx.txm.createCancel(invite);
    // RFC 3261 §9.1: the CANCEL goes where the INVITE went
    const target: SipTarget = { ...this.inviteTarget, connectionId: txn.flow?.connectionId };
    try {
      this.ctx.txm.sendRequest(cancel, target, { onResponse: () => undefined }, { via: "keep" });
    } catch (e) {
      this.ctx.log.info({ err: e }, "sip ua: CANCEL not sent");
    }
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
    this.await2xxAck({ cseq: req.cseq().seq, res, source: txn.source, offerInResponse, kind: "initial" });
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

  /**
   * RFC 3261 §13.3.1.4: the UAS core retransmits the 2xx (T1 doubling to T2, over unreliable transports) until the
   * ACK; without ACK after 64*T1 the dialog is confirmed but the session is ended with BYE.
   */
  private await2xxAck(p: Pending2xx): void {
    this.pending2xx = p;
    const T = this.ctx.timers;
    if (!this.ctx.isReliable(p.source.transport)) {
      let interval = T.T1;
      const tick = () => {
        if (this.pending2xx !== p) return;
        this.ctx
          .sendResponse(p.res, p.source)
          .catch((e: unknown) => this.ctx.log.info({ err: e }, "sip ua: 2xx resend failed"));
        interval = Math.min(2 * interval, T.T2);
        this.timers.set("2xx", interval, tick);
      };
      this.timers.set("2xx", interval, tick);
    }
    this.timers.set("noack", 64 * T.T1, () => {
      if (this.pending2xx !== p) return;
      this.pending2xx = undefined;
      this.timers.clear("2xx");
      this.ctx.log.info({ callId: this.callId }, "sip ua: no ACK for 2xx, ending the session");
      this.setState("established");
      this.sendBye("no-ack");
    });
  }

  /** @internal an ACK within our dialog (RFC 3261 §13.3.1.4 / §17.2.3: end-to-end ACK of a 2xx). */
  onAck(ack: SipRequest): void {
    const p = this.pending2xx;
    if (!p || ack.cseq().seq !== p.cseq) return;
    this.pending2xx = undefined;
    this.timers.clear("2xx");
    this.timers.clear("noack");
    void this.afterAck(p, ack);
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
      this.incomingReinvite = false;
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
      void this.onReinvite(txn);
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

  private async onReinvite(txn: ServerTransaction): Promise<void> {
    const req = txn.request;
    if (this.state === "answering") {
      // RFC 3261 §14.2: a second INVITE before our 2xx to the first is acknowledged → 500 with Retry-After
      txn.reply(500, undefined, { headers: [{ name: "Retry-After", value: String(Math.floor(Math.random() * 11)) }] });
      return;
    }
    if (this.state !== "established" || !this.dialog) {
      txn.reply(481);
      return;
    }
    // RFC 3261 §14.2: a re-INVITE while ours is pending gets 491
    if (this.outgoingReinvite) {
      txn.reply(491);
      return;
    }
    // RFC 3261 §14.2: a re-INVITE while another incoming one is unfinished gets 500 with Retry-After (0..10 s)
    if (this.incomingReinvite || this.pending2xx) {
      txn.reply(500, undefined, { headers: [{ name: "Retry-After", value: String(Math.floor(Math.random() * 11)) }] });
      return;
    }
    this.incomingReinvite = true;
    try {
      let body: Uint8Array;
      let offerInResponse = false;
      if (req.body.byteLength > 0) {
        this.remoteSdp = req.body;
        this.emit("remoteOffer", req.body);
        const r = await runHook(() => this.ctx.sdp.onOffer(req.body, { call: this, kind: "reinvite" }));
        if (isReject(r)) {
          // RFC 3261 §14.2: a refused re-INVITE leaves the session as it was
          txn.reply(r.reject, r.reason, { headers: this.ctx.commonHeaders() });
          this.incomingReinvite = false;
          this.emit("reinvite", { direction: "incoming", status: r.reject });
          return;
        }
        body = r;
      } else {
        body = await runHook(() => this.ctx.sdp.createOffer({ call: this, kind: "reinvite" }));
        offerInResponse = true;
      }
      if (this.ended()) return;
      this.localSdp = body;
      const res = createResponse(req, 200, undefined, {
        headers: [{ name: "Contact", value: this.ctx.contact(txn.source.transport) }, ...this.ctx.commonHeaders()],
        body,
        contentType: this.ctx.contentType,
      });
      txn.respond(res);
      this.await2xxAck({ cseq: req.cseq().seq, res, source: txn.source, offerInResponse, kind: "reinvite" });
    } catch (e) {
      this.ctx.log.info({ err: e }, "sip ua: re-INVITE handling failed");
      this.incomingReinvite = false;
      if (!txn.finalSent && txn.state !== "terminated") txn.reply(500);
    }
  }

  /**
   * Sends a re-INVITE with a new offer (RFC 3261 §14.1); resolves with the final status when it is 2xx, rejects with
   * SipRequestError otherwise (491: glare, try again later; 481/408 end the call, §12.2.1.2).
   */
  async reinvite(extraHeaders: readonly SipHeader[] = []): Promise<{ status: number }> {
    const d = this.dialog;
    if (this.state !== "established" || !d)
      throw new SipError("E_SIP_STATE", `cannot re-INVITE in state ${this.state}`);
    // RFC 3261 §14.1: no re-INVITE while another INVITE transaction is in progress
    if (this.outgoingReinvite || this.incomingReinvite || this.pending2xx) {
      throw new SipError("E_SIP_STATE", "an INVITE transaction is already in progress");
    }
    this.outgoingReinvite = true;
    try {
      const offer = await runHook(() => this.ctx.sdp.createOffer({ call: this, kind: "reinvite" }));
      this.localSdp = offer;
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
                this.lastAck = { cseq: req.cseq().seq, ack, target };
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
        if (res.status === 481) this.terminate({ reason: "failed", status: 481, response: res });
        else if (res.status === 408) this.sendBye("timeout");
        this.emit("reinvite", { direction: "outgoing", status: res.status });
        throw new SipRequestError(res.status, res.reason, res);
      }
      if (res.body.byteLength > 0) {
        this.remoteSdp = res.body;
        this.emit("remoteAnswer", res.body);
        await runHook(() => this.ctx.sdp.onAnswer?.(res.body, { call: this, kind: "reinvite" }));
      }
      this.emit("reinvite", { direction: "outgoing", status: res.status });
      return { status: res.status };
    } finally {
      this.outgoingReinvite = false;
    }
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
        if (this.pending2xx) this.byeAfterAck = true;
        else if (this.dialog) this.sendBye("local-bye");
        else this.byeAfterAck = true;
        break;
      case "established":
        if (this.pending2xx) this.byeAfterAck = true;
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

// ---------------------------------------------------------------------------------------------------------------------
// the user agent

export class SipUserAgent extends TypedEmitter<UserAgentEvents> {
  readonly txm: TransactionManager;
  readonly aor: SipUri;
  private readonly layer: UaTransport;
  private readonly log: Logger;
  private readonly ctx: UaContext;
  private readonly calls = new Set<SipCall>();
  private readonly byDialog = new Map<string, SipCall>();
  private readonly byInvite = new Map<InviteServerTransaction, SipCall>();
  /** RFC 3261 §8.2.2.2: requests without To tag in progress (Call-ID, From tag, CSeq) → transaction key */
  private readonly merged = new Map<string, string>();
  private readonly timers = new TimerBag();
  private readonly regCallId: string;
  private regSeq = 0;
  private serviceRoute: string[] = [];
  private registration: RegistrationInfo | undefined;
  private unsubscribe: (() => void) | undefined;
  private unsubscribeClosed: (() => void) | undefined;
  private closed = false;
  private recovery: Required<FlowRecoveryOptions> | undefined;
  /** the connection of the current registration (TCP/WS), and when it was registered over */
  private regFlow: { transport: SipTransportProtocol; connectionId: string; since: number } | undefined;
  /** the options of the last register() with a non-zero expiry: a recovery repeats it */
  private regOpts: { expires?: number } = {};
  /** RFC 5626 §4.5 consecutive-failures */
  private failures = 0;
  private unregistering = false;
  private inRecovery = false;

  constructor(private readonly opts: SipUserAgentOptions) {
    super();
    this.layer = opts.transport;
    this.log = opts.logger ?? silentLogger;
    this.onListenerError = (e, ev) => this.log.error({ err: e, event: ev }, "sip ua: listener failed");
    this.aor = parseSipUri(opts.aor);
    const protos = this.layer.protocols();
    const preferred = opts.preferredTransport ?? protos[0];
    if (preferred === undefined || !protos.includes(preferred)) {
      throw new SipError("E_SIP_CONFIG", `transport ${String(preferred)} is not available`);
    }
    if (opts.outboundProxy !== undefined) parseSipUri(opts.outboundProxy);
    this.txm = new TransactionManager(this.layer, {
      ...(opts.timers ? { timers: opts.timers } : {}),
      logger: this.log,
    });
    this.regCallId = generateCallId();
    const self = this;
    this.ctx = {
      txm: this.txm,
      log: this.log,
      timers: this.txm.timers,
      sdp: opts.sdp,
      contentType: opts.contentType ?? "application/sdp",
      preferred,
      localParty: () => this.localParty(),
      contact: (t) => this.contactValue(t),
      commonHeaders: () => [{ name: "User-Agent", value: opts.userAgent ?? "imsdc" }],
      initialRoute: () => [
        ...(opts.preloadedRoute ?? []),
        ...(opts.useServiceRoute === false ? [] : this.serviceRoute),
      ],
      targetForUri: (uri) => this.targetForUri(uri),
      targetForDialog: (d) => this.targetForDialog(d),
      isReliable: (t) => this.layer.isReliable(t),
      sendResponse: (res, source) => this.layer.sendResponse(res, source),
      bindDialog(call, d) {
        self.byDialog.set(d.id, call);
      },
      unbind(call) {
        self.calls.delete(call);
        for (const [k, c] of self.byDialog) if (c === call) self.byDialog.delete(k);
        for (const [k, c] of self.byInvite) if (c === call) self.byInvite.delete(k);
      },
    };
    this.txm.setUser({
      onRequest: (txn) => this.onRequest(txn),
      onAck: (ack) => this.onAck(ack),
      onStrayResponse: (res) => this.onStrayResponse(res),
    });
    this.unsubscribe = this.layer.onMessage((msg, source) => this.txm.receive(msg, source));
    this.setFlowRecovery(opts.flowRecovery ?? {});
    this.unsubscribeClosed = this.layer.onConnectionClosed?.((info) => this.onConnectionClosed(info));
  }

  /** Turns flow recovery on (RFC 5626 §4.5 back-off, defaults base 30 s / max 1800 s) or off (false). */
  setFlowRecovery(cfg: FlowRecoveryOptions | false): void {
    if (cfg === false) {
      this.recovery = undefined;
      this.inRecovery = false;
      this.timers.clear("recover");
      return;
    }
    const r = { ...FLOW_RECOVERY_DEFAULTS, ...cfg };
    if (!(Number.isFinite(r.baseMs) && r.baseMs > 0 && Number.isFinite(r.maxMs) && r.maxMs >= r.baseMs)) {
      throw new SipError("E_SIP_CONFIG", `flowRecovery needs 0 < baseMs <= maxMs (got ${r.baseMs}, ${r.maxMs})`);
    }
    this.recovery = r;
  }

  /** Current registration, if any. */
  get registered(): RegistrationInfo | undefined {
    return this.registration;
  }

  /** Calls in progress. */
  activeCalls(): SipCall[] {
    return [...this.calls];
  }

  private localParty(): string {
    const dn = this.opts.displayName;
    const uri = `sip:${this.aor.user !== undefined ? `${this.aor.user}@` : ""}${this.aor.host}${this.aor.port !== undefined ? `:${this.aor.port}` : ""}`;
    return dn !== undefined ? `"${dn.replace(/(["\\])/g, "\\$1")}" <${uri}>` : `<${uri}>`;
  }

  /** Contact for a transport: our sent-by address, transport parameter, and the DC feature tag (RFC 5688). */
  contactUri(t: SipTransportProtocol = this.ctx.preferred): string {
    const v = this.layer.localVia(t);
    const user = this.opts.contactUser ?? this.aor.user;
    const tp = t === "UDP" ? "" : `;transport=${t.toLowerCase()}`;
    return `sip:${user !== undefined ? `${user}@` : ""}${v.host}${v.port !== undefined ? `:${v.port}` : ""}${tp}`;
  }

  private contactValue(t: SipTransportProtocol): string {
    // RFC 5688 / TS 24.186 §9.2: the data channel media feature tag
    const tag = this.opts.dataChannel === false ? "" : ';+sip.app-subtype="webrtc-datachannel"';
    return `<${this.contactUri(t)}>${tag}`;
  }

  private targetForUri(uri: string): SipTarget {
    // RFC 3261 §8.1.2: with an outbound proxy, every request goes there first
    if (this.opts.outboundProxy !== undefined) return uriTarget(parseUri(this.opts.outboundProxy), this.ctx.preferred);
    const routes = this.ctx.initialRoute();
    const first = routes[0];
    if (first !== undefined) {
      const lt = first.indexOf("<");
      const gt = first.indexOf(">");
      return uriTarget(parseUri(lt >= 0 ? first.slice(lt + 1, gt) : first), this.ctx.preferred);
    }
    return uriTarget(parseUri(uri), this.ctx.preferred);
  }

  private targetForDialog(d: Dialog): SipTarget {
    const fallback = d.flow?.transport ?? this.ctx.preferred;
    const t =
      this.opts.outboundProxy !== undefined
        ? uriTarget(parseUri(this.opts.outboundProxy), fallback)
        : uriTarget(d.nextHop(), fallback);
    // reuse the connection the dialog was established over (RFC 3261 §18.1.1; RFC 7118 §5 for WebSocket clients)
    const f = d.flow;
    if (
      f?.connectionId !== undefined &&
      f.transport === t.transport &&
      this.layer.hasConnection(f.transport, f.connectionId)
    ) {
      return { ...t, connectionId: f.connectionId };
    }
    return t;
  }

  // ------------------------------------------------------------------------------------------------ registration

  private requestOnce(
    req: SipRequest,
    target: SipTarget,
    opts?: SendRequestOptions,
  ): Promise<{ res: SipResponse; txn: ClientTransaction }> {
    return new Promise((resolve, reject) => {
      try {
        this.txm.sendRequest(
          req,
          target,
          {
            onResponse: (res, txn) => {
              if (res.status >= 200) resolve({ res, txn });
            },
          },
          opts,
        );
      } catch (e) {
        reject(e);
      }
    });
  }

  /**
   * REGISTER (RFC 3261 §10.2) with the DC feature tag in Contact and, when configured, Security-Client with the
   * mediasec mechanisms (TS 24.229 §7.2A.7). A 423 is retried once with Min-Expires (§10.2.8). A failure emits
   * `registrationFailed` with a code and rejects.
   */
  register(opts: { expires?: number } = {}): Promise<RegistrationInfo> {
    if (opts.expires === 0) {
      this.unregistering = true;
      this.inRecovery = false;
      this.timers.clear("recover");
    } else {
      this.unregistering = false;
      this.regOpts = opts;
    }
    return this.registerOnce(opts, undefined);
  }

  private async registerOnce(opts: { expires?: number }, retryInMs: number | undefined): Promise<RegistrationInfo> {
    const failed = (info: Omit<RegistrationFailedInfo, "retryInMs">) =>
      this.emit("registrationFailed", { ...info, ...(retryInMs !== undefined ? { retryInMs } : {}) });
    let res: SipResponse;
    let txn: ClientTransaction;
    try {
      if (this.closed) throw new SipError("E_SIP_CLOSED", "user agent closed");
      ({ res, txn } = await this.sendRegister(opts));
    } catch (e) {
      const code = e instanceof SipError ? e.code : "E_SIP_TRANSPORT";
      if (!this.closed) failed({ status: 0, reason: e instanceof Error ? e.message : String(e), code });
      throw e;
    }
    const requested = opts.expires ?? this.opts.expires ?? 600;
    if (res.status < 200 || res.status >= 300) {
      const code: SipErrorCode =
        txn.localFailure === "transport-error"
          ? "E_SIP_TRANSPORT"
          : txn.localFailure === "timeout"
            ? "E_SIP_TIMEOUT"
            : "E_SIP_REJECTED";
      failed({ status: res.status, reason: res.reason, response: res, code });
      throw new SipRequestError(res.status, res.reason, res);
    }
    const registrar = this.registrarUri();
    const contacts = res.contact();
    const list = contacts === "*" ? [] : contacts;
    const mine = parseSipUri(this.contactUri(this.targetForUri(registrar).transport));
    const ours = list.find((c) => isSipUri(c.uri) && sipUriEquals(c.uri, mine));
    const fromContact = ours ? getParam(ours.params, "expires") : undefined;
    // RFC 3261 §10.2.4: the granted expiry is the contact's expires parameter, else Expires
    const granted =
      typeof fromContact === "string" ? Number(fromContact) : (res.expires() ?? (list.length > 0 ? requested : 0));
    if (requested === 0 || granted === 0) {
      this.registration = undefined;
      this.regFlow = undefined;
      this.timers.clear("refresh");
      this.emit("unregistered");
      return { expires: 0, contacts: list, serviceRoute: [], response: res };
    }
    // RFC 3608 §6: Service-Route becomes the preloaded route of later initial requests
    this.serviceRoute = res.getValues("Service-Route");
    const info: RegistrationInfo = { expires: granted, contacts: list, serviceRoute: this.serviceRoute, response: res };
    this.registration = info;
    this.inRecovery = false;
    this.timers.clear("recover");
    // RFC 5626 §4.4: the registration now lives on this flow (a TCP/WS connection); its close is a flow failure
    const f = txn.flow;
    this.regFlow =
      f?.connectionId !== undefined && this.layer.isReliable(f.transport)
        ? { transport: f.transport, connectionId: f.connectionId, since: Date.now() }
        : undefined;
    if (this.opts.autoRefresh) {
      this.timers.set("refresh", Math.max(1000, (granted * 1000) / 2), () => {
        this.register(opts).catch((e: unknown) => {
          this.log.info({ err: e }, "sip ua: registration refresh failed");
          // RFC 5626 §4.5: a failed refresh means the flow is gone too (e.g. a peer that vanished without FIN)
          this.flowLost(undefined, "refresh-failed");
        });
      });
    }
    this.emit("registered", info);
    return info;
  }

  private registrarUri(): string {
    return this.opts.registrar ?? `sip:${this.aor.host}${this.aor.port !== undefined ? `:${this.aor.port}` : ""}`;
  }

  private async sendRegister(opts: { expires?: number }): Promise<{ res: SipResponse; txn: ClientTransaction }> {
    const registrar = this.registrarUri();
    const requested = opts.expires ?? this.opts.expires ?? 600;
    const attempt = (expires: number) => {
      const target = this.targetForUri(registrar);
      const headers: SipHeader[] = [
        { name: "Expires", value: String(expires) },
        // RFC 3327 §5: a UA supporting Path says so
        { name: "Supported", value: "path" },
        { name: "Allow", value: UA_ALLOW.join(", ") },
        ...this.ctx.commonHeaders(),
      ];
      const ms = this.opts.mediasec === true ? ["msrp-tls", "bfcp-tls"] : this.opts.mediasec || [];
      // TS 24.229 §7.2A.7: mediasec-labelled media security mechanisms (RFC 3329 §2.2 syntax)
      if (ms.length > 0) headers.push({ name: "Security-Client", value: ms.map((m) => `${m};mediasec`).join(", ") });
      const req = createRequest({
        method: "REGISTER",
        uri: registrar,
        from: `${this.localParty()};tag=${generateTag()}`,
        to: this.localParty(),
        // RFC 3261 §10.2.4: the same Call-ID for every registration to a registrar, CSeq incremented
        callId: this.regCallId,
        cseq: ++this.regSeq,
        route: this.opts.preloadedRoute ?? [],
        contact: this.contactValue(target.transport),
        headers,
      });
      return this.requestOnce(req, target);
    };
    let r = await attempt(requested);
    const min = r.res.status === 423 ? r.res.minExpires() : undefined;
    if (min !== undefined) r = await attempt(min);
    return r;
  }

  // ------------------------------------------------------------------------------------------------ flow recovery

  /** A TCP/WS connection closed: if it carried our registration, the flow has failed (RFC 5626 §4.4). */
  private onConnectionClosed(info: ConnectionClosedInfo): void {
    const f = this.regFlow;
    if (!f || f.connectionId !== info.connectionId || f.transport !== info.transport) return;
    // our own transport layer closing is not a flow failure
    if (info.reason === "transport-closed") return;
    this.flowLost(info, info.reason);
  }

  private flowLost(info: ConnectionClosedInfo | undefined, reason: FlowFailedInfo["reason"]): void {
    const f = this.regFlow;
    this.regFlow = undefined;
    if (this.closed || this.unregistering || this.registration === undefined) return;
    this.registration = undefined;
    this.timers.clear("refresh");
    const cfg = this.recovery;
    const connectionId = info?.connectionId ?? f?.connectionId ?? "";
    const calls = [...this.calls].filter((c) => !c.ended() && (connectionId === "" || c.usesConnection(connectionId)));
    // RFC 5626 §4.5: a flow counts as successful once its registration succeeded, and then the first new attempt is
    // immediate; one that fails within base-time of its registration counts as a failure (no tight loop against a
    // peer that accepts and drops at once)
    const quick = f === undefined || Date.now() - f.since < (cfg?.baseMs ?? 0);
    if (quick) this.failures++;
    else this.failures = 0;
    const delay = cfg && this.failures > 0 ? flowRecoveryDelay(this.failures, cfg.baseMs, cfg.maxMs) : 0;
    this.log.warn(
      {
        code: "E_SIP_FLOW_FAILED",
        transport: info?.transport ?? f?.transport,
        connectionId,
        reason,
        calls: calls.map((c) => c.callId),
        recovering: cfg !== undefined,
        retryInMs: cfg ? delay : undefined,
      },
      "sip ua: registration flow failed",
    );
    this.emit("flowFailed", {
      code: "E_SIP_FLOW_FAILED",
      transport: info?.transport ?? f?.transport ?? this.ctx.preferred,
      connectionId,
      reason,
      calls,
      recovering: cfg !== undefined,
      ...(cfg ? { retryInMs: delay } : {}),
    });
    if (!cfg) return;
    this.inRecovery = true;
    this.timers.set("recover", delay, () => void this.recover());
  }

  /** One re-REGISTER of flow recovery; on failure the next one after the RFC 5626 §4.5 back-off. */
  private async recover(): Promise<void> {
    const cfg = this.recovery;
    if (this.closed || this.unregistering || !cfg || this.registration !== undefined) {
      this.inRecovery = false;
      return;
    }
    const next = flowRecoveryDelay(this.failures + 1, cfg.baseMs, cfg.maxMs);
    try {
      await this.registerOnce(this.regOpts, next);
      this.inRecovery = false;
      this.log.info({ failures: this.failures }, "sip ua: re-registered after flow failure");
    } catch (e) {
      const stop =
        this.closed ||
        this.unregistering ||
        this.recovery === undefined ||
        this.registration !== undefined ||
        // the transport layer itself is closed: nothing to recover over
        (e instanceof SipError && e.code === "E_SIP_CLOSED");
      if (stop) {
        this.inRecovery = false;
        return;
      }
      this.failures++;
      this.log.info({ err: e, failures: this.failures, retryInMs: next }, "sip ua: re-registration failed");
      this.timers.set("recover", next, () => void this.recover());
    }
  }

  /** REGISTER with Expires: 0 (RFC 3261 §10.2.2). */
  async unregister(): Promise<void> {
    await this.register({ expires: 0 });
  }

  /** The flow recovery in progress: consecutive failures so far (RFC 5626 §4.5), or undefined when none runs. */
  get recovering(): { failures: number } | undefined {
    return this.inRecovery ? { failures: this.failures } : undefined;
  }

  // ------------------------------------------------------------------------------------------------ calls

  /** Starts an outgoing call to `target` (a SIP URI). */
  call(target: string, opts: { headers?: readonly SipHeader[] } = {}): SipCall {
    if (this.closed) throw new SipError("E_SIP_CLOSED", "user agent closed");
    parseUri(target);
    const call = new SipCall(this.ctx, "outgoing", { callId: generateCallId() });
    this.calls.add(call);
    void call.startOutgoing(target, opts.headers ?? []);
    return call;
  }

  private onRequest(txn: ServerTransaction): void {
    const req = txn.request;
    try {
      if (this.closed) {
        txn.reply(503);
        return;
      }
      if (req.method === "CANCEL") {
        this.onCancel(txn);
        return;
      }
      // RFC 3261 §8.2.2.1: Request-URI schemes we do not handle get 416
      const scheme = req.requestUri().scheme;
      if (scheme !== "sip" && scheme !== "sips" && scheme !== "tel") {
        txn.reply(416);
        return;
      }
      // RFC 3261 §8.2.2.3: option tags in Require that we do not support → 420 with Unsupported
      const required = req.require();
      if (required.length > 0) {
        txn.reply(420, undefined, { headers: [{ name: "Unsupported", value: required.join(", ") }] });
        return;
      }
      if (dialogIdOfRequest(req) !== undefined) {
        this.onInDialog(txn);
        return;
      }
      // RFC 3261 §8.2.2.2: a request merged through forking (same From tag, Call-ID, CSeq; other branch) → 482
      const mkey = `${req.callId()}|${req.fromTag() ?? ""}|${req.cseq().seq}|${req.method}`;
      const seen = this.merged.get(mkey);
      if (seen !== undefined && seen !== txn.key) {
        txn.reply(482);
        return;
      }
      this.merged.set(mkey, txn.key);
      txn.onTerminated(() => {
        if (this.merged.get(mkey) === txn.key) this.merged.delete(mkey);
      });
      switch (req.method) {
        case "INVITE":
          this.onInvite(txn);
          return;
        case "OPTIONS":
          // RFC 3261 §11.2: capabilities
          txn.reply(200, undefined, {
            toTag: generateTag(),
            headers: [
              { name: "Allow", value: UA_ALLOW.join(", ") },
              { name: "Accept", value: this.ctx.contentType },
              ...this.ctx.commonHeaders(),
            ],
          });
          return;
        case "BYE":
          txn.reply(481, undefined, { toTag: generateTag() });
          return;
        default:
          txn.reply(RECOGNISED.has(req.method) ? 405 : 501, undefined, {
            toTag: generateTag(),
            headers: [{ name: "Allow", value: UA_ALLOW.join(", ") }],
          });
      }
    } catch (e) {
      this.log.info({ err: e, method: req.method }, "sip ua: request handling failed");
      if (!txn.finalSent && txn.state !== "terminated") {
        try {
          txn.reply(
            e instanceof SipError && e.code.startsWith("E_SIP_") && e.code !== "E_SIP_STATE" ? 400 : 500,
            undefined,
            {
              toTag: generateTag(),
            },
          );
        } catch {
          // nothing more
        }
      }
    }
  }

  private onInvite(txn: ServerTransaction): void {
    if (!(txn instanceof InviteServerTransaction)) return;
    const req = txn.request;
    // RFC 3261 §8.2.3: a body we cannot process → 415 with Accept
    const ct = req.contentType();
    if (req.body.byteLength > 0 && ct && `${ct.type}/${ct.subtype}` !== this.ctx.contentType.toLowerCase()) {
      txn.reply(415, undefined, { toTag: generateTag(), headers: [{ name: "Accept", value: this.ctx.contentType }] });
      return;
    }
    if (!req.hasHeader("Contact")) {
      txn.reply(400, "Missing Contact", { toTag: generateTag() });
      return;
    }
    if (this.listenerCount("incomingCall") === 0) {
      txn.reply(480, undefined, { toTag: generateTag() });
      return;
    }
    const call = new SipCall(this.ctx, "incoming", { callId: req.callId(), txn });
    this.calls.add(call);
    this.byInvite.set(txn, call);
    txn.onTerminated(() => {
      if (this.byInvite.get(txn) === call) this.byInvite.delete(txn);
    });
    if (this.opts.autoRinging !== false) call.ring();
    this.emit("incomingCall", call);
  }

  private onCancel(txn: ServerTransaction): void {
    const target = txn.cancelTarget;
    if (!target) {
      // RFC 3261 §9.2: no matching transaction → 481
      txn.reply(481, undefined, { toTag: generateTag() });
      return;
    }
    // RFC 3261 §9.2: the CANCEL itself is answered 200; the INVITE gets 487 if still unanswered
    txn.reply(200, undefined, { toTag: target.lastResponse?.toTag() ?? generateTag() });
    this.byInvite.get(target)?.onCancel();
  }

  private onInDialog(txn: ServerTransaction): void {
    const req = txn.request;
    const id = dialogIdOfRequest(req);
    const call = id !== undefined ? this.byDialog.get(id) : undefined;
    if (!call?.dialog) {
      // RFC 3261 §12.2.2: no matching dialog → 481
      txn.reply(481);
      return;
    }
    // RFC 3261 §12.2.2: out-of-order CSeq → 500
    if (!call.dialog.receiveRequest(req)) {
      txn.reply(500, "Out of order CSeq");
      return;
    }
    call.onInDialogRequest(txn);
  }

  private onAck(ack: SipRequest): void {
    try {
      const id = dialogIdOfRequest(ack);
      const call = id !== undefined ? this.byDialog.get(id) : undefined;
      call?.dialog?.receiveRequest(ack);
      call?.onAck(ack);
    } catch (e) {
      this.log.info({ err: e }, "sip ua: ACK dropped");
    }
  }

  private onStrayResponse(res: SipResponse): void {
    try {
      const cseq = res.cseq();
      if (cseq.method !== "INVITE" || res.status < 200 || res.status >= 300) return;
      const to = res.toTag();
      const from = res.fromTag();
      if (to === undefined || from === undefined) return;
      // RFC 3261 §13.2.2.4: a 2xx retransmission after the transaction ended is acknowledged again
      this.byDialog.get(dialogId(res.callId(), from, to))?.resendAck(cseq.seq);
    } catch (e) {
      this.log.debug({ err: e }, "sip ua: stray response dropped");
    }
  }

  /**
   * Stops the UA: every call is terminated locally (reason "closed", no BYE), every transaction and timer is
   * cleared, and the transport layer is closed when the UA owns it. Use hangup() first for a graceful end.
   */
  async close(): Promise<void> {
    if (this.closed) return;
    this.closed = true;
    this.timers.clearAll();
    for (const c of [...this.calls]) c.terminate({ reason: "closed" });
    this.txm.close();
    this.unsubscribe?.();
    this.unsubscribe = undefined;
    this.unsubscribeClosed?.();
    this.unsubscribeClosed = undefined;
    this.removeAllListeners();
    if (this.opts.ownsTransport) await this.layer.close();
  }
}
