/**
 * User-agent core (RFC 3261 §8, §10, §12–§15), split as JsSIP does: this file holds `SipUserAgent` (wiring, request
 * dispatch, the UAS rules of §8.2, target selection); the call (INVITE / 100 / 180 / 200 / ACK, re-INVITE both ways,
 * BYE, CANCEL) is `SipCall` in call.ts; REGISTER with the data channel feature tag (RFC 5688, TS 24.186 §9.2), the
 * mediasec mechanisms (TS 24.229 §7.2A.7) and flow recovery (RFC 5626 §4.4 / §4.5) is `Registrator` in registrator.ts;
 * options, events and shared types are in uaTypes.ts (re-exported here). The UA does not read SDP: the application's
 * `SipSdpHandler` makes offers and answers, and receives the remote answer. None of these files imports anything
 * Node-only: the browser page runs the UA.
 */
import type { Logger } from "../log.ts";
import { silentLogger } from "../log.ts";
import { SipCall } from "./call.ts";
import { type Dialog, dialogId, dialogIdOfRequest } from "./dialog.ts";
import { TypedEmitter } from "./emitter.ts";
import { SipError } from "./errors.ts";
import { generateCallId, generateTag, type SipHeader, type SipRequest, type SipResponse } from "./message.ts";
import { Registrator } from "./registrator.ts";
import { TransactionManager } from "./transaction/manager.ts";
import { InviteServerTransaction, type ServerTransaction } from "./transaction/server.ts";
import { uriTarget } from "./transport/route.ts";
import type { SipSource, SipTarget, SipTransportProtocol } from "./transport/types.ts";
import {
  type FlowRecoveryOptions,
  RECOGNISED,
  type RegistrationInfo,
  type RequestRefusedInfo,
  type SipUserAgentOptions,
  UA_ALLOW,
  type UaContext,
  type UaTransport,
  type UserAgentEvents,
} from "./uaTypes.ts";
import { parseSipUri, parseUri, type SipUri } from "./uri.ts";

export { SipCall } from "./call.ts";
export { FLOW_RECOVERY_DEFAULTS, flowRecoveryDelay } from "./registrator.ts";
export {
  type CallEvents,
  type CallState,
  type FlowFailedInfo,
  type FlowRecoveryOptions,
  type RegistrationFailedInfo,
  type RegistrationInfo,
  type RequestRefusedInfo,
  rejectOffer,
  type SdpContext,
  type SdpReject,
  type SipSdpHandler,
  type SipUserAgentOptions,
  type TerminatedInfo,
  type TerminationReason,
  UA_ALLOW,
  type UaTransport,
  type UserAgentEvents,
} from "./uaTypes.ts";

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
  private readonly registrator: Registrator;
  private readonly acceptFrom: "registration" | "any";
  private unsubscribe: (() => void) | undefined;
  private unsubscribeClosed: (() => void) | undefined;
  private closed = false;

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
    const af = opts.acceptFrom ?? (opts.outboundProxy !== undefined ? "registration" : "any");
    if (af !== "registration" && af !== "any") {
      throw new SipError("E_SIP_CONFIG", `acceptFrom must be "registration" or "any" (got ${String(af)})`);
    }
    this.acceptFrom = af;
    this.txm = new TransactionManager(this.layer, {
      ...(opts.timers ? { timers: opts.timers } : {}),
      logger: this.log,
    });
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
        ...(opts.useServiceRoute === false ? [] : this.registrator.serviceRoute),
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
    this.registrator = new Registrator({
      ctx: this.ctx,
      opts,
      aor: this.aor,
      contactUri: (t) => this.contactUri(t),
      calls: () => [...this.calls],
      closed: () => this.closed,
      emit: (event, ...args) => this.emit(event, ...args),
    });
    this.txm.setUser({
      onRequest: (txn) => this.onRequest(txn),
      onAck: (ack) => this.onAck(ack),
      onStrayResponse: (res) => this.onStrayResponse(res),
    });
    this.unsubscribe = this.layer.onMessage((msg, source) => this.txm.receive(msg, source));
    this.setFlowRecovery(opts.flowRecovery ?? {});
    this.unsubscribeClosed = this.layer.onConnectionClosed?.((info) => this.registrator.onConnectionClosed(info));
  }

  /** Turns flow recovery on (RFC 5626 §4.5 back-off, defaults base 30 s / max 1800 s) or off (false). */
  setFlowRecovery(cfg: FlowRecoveryOptions | false): void {
    this.registrator.setFlowRecovery(cfg);
  }

  /** Current registration, if any. */
  get registered(): RegistrationInfo | undefined {
    return this.registrator.registered;
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

  /**
   * REGISTER (RFC 3261 §10.2) with the DC feature tag in Contact and, when configured, Security-Client with the
   * mediasec mechanisms (TS 24.229 §7.2A.7). A 423 is retried once with Min-Expires (§10.2.8). A failure emits
   * `registrationFailed` with a code and rejects.
   */
  register(opts: { expires?: number } = {}): Promise<RegistrationInfo> {
    return this.registrator.register(opts);
  }

  /** REGISTER with Expires: 0 (RFC 3261 §10.2.2). */
  unregister(): Promise<void> {
    return this.registrator.unregister();
  }

  /** The flow recovery in progress: consecutive failures so far (RFC 5626 §4.5), or undefined when none runs. */
  get recovering(): { failures: number } | undefined {
    return this.registrator.recovering;
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
      // TS 24.229 §5.1.1.2 / RFC 5626 §5: requests outside a dialog only over the flow we registered through
      if (req.toTag() === undefined && !this.fromRegistrationFlow(txn.source)) {
        this.refuseUntrusted(txn);
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

  /** True when `source` is the flow of the current registration (or when any source is accepted). */
  private fromRegistrationFlow(source: SipSource): boolean {
    if (this.acceptFrom === "any") return true;
    const f = this.registrator.registrationFlow;
    if (!f || f.transport !== source.transport) return false;
    // RFC 5626 §5: a connection-oriented flow is the connection itself
    if (f.connectionId !== undefined) return source.connectionId === f.connectionId;
    // UDP: the P-CSCF's address and port the REGISTER went to
    const h = (x: string) => x.toLowerCase().replace(/^\[|\]$/g, "");
    return h(f.host) === h(source.host) && f.port === source.port;
  }

  /** RFC 3261 §21.4.4 403 with a Warning (§20.43, 399): the request did not come over the registration flow. */
  private refuseUntrusted(txn: ServerTransaction): void {
    const req = txn.request;
    const expected = this.registrator.registrationFlow;
    const info: RequestRefusedInfo = {
      code: "E_SIP_UNTRUSTED_SOURCE",
      status: 403,
      method: req.method,
      callId: req.callId(),
      source: txn.source,
      expected,
    };
    this.log.warn(
      { code: info.code, method: info.method, remote: `${txn.source.host}:${txn.source.port}` },
      "sip ua: request refused: not from the registration flow",
    );
    txn.reply(403, "Forbidden", {
      toTag: generateTag(),
      headers: [
        {
          name: "Warning",
          value: `399 ${this.layer.localVia(txn.source.transport).host} "E_SIP_UNTRUSTED_SOURCE: requests are accepted from the registration flow only"`,
        },
      ],
    });
    this.emit("requestRefused", info);
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
    txn.reply(200, undefined, { toTag: target.lastToTag ?? generateTag() });
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
    this.registrator.close();
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
