/**
 * A stateful SIP proxy core (RFC 3261 §16) on the transaction layer of src/sip, with one or more interfaces (a
 * SipTransportLayer + TransactionManager each). It does the RFC mechanics; a `ProxyPolicy` decides where each
 * request goes (§16.5) and may look at responses:
 *
 * - request validation (§16.3): URI scheme (416), Max-Forwards 0 (483), loop detection by the branch of our own Via
 *   (482), Proxy-Require (420);
 * - Route pre-processing (§16.4): strict-routing repair, and removal of our own Route entries (two of them after a
 *   double Record-Route, RFC 5658);
 * - forwarding (§16.6): copy, Max-Forwards decrement, Record-Route insertion, our Via with a branch that carries the
 *   loop-detection hash, a client transaction per request, Timer C for INVITE (§16.6 step 11, §16.8);
 * - responses (§16.7): our Via removed, 100 absorbed, 1xx relayed, 2xx always relayed (retransmissions too, RFC 6026),
 *   503 turned into 500, synthetic timeouts answered 408; stray responses forwarded statelessly;
 * - CANCEL (§16.10): 200 to the CANCEL, CANCEL toward the pending branch once it answered provisionally (§9.1), the
 *   487 relayed;
 * - ACK for a 2xx: forwarded statelessly along the route set with a deterministic branch (§16.11);
 * - requests the proxy originates in a dialog it record-routes (ACK/BYE after a late 2xx, policy-initiated release).
 *
 * It lives in the shared SIP layer so that both the P-CSCF and the S-CSCF build on it without importing each other
 * (DESIGN rule 1). This file holds the core (forwarding, responses, CANCEL, timers); proxyValidation.ts does §16.3 /
 * §16.4, proxyAddresses.ts knows our own addresses, proxyStateless.ts forwards ACKs for 2xx and stray responses,
 * proxyDialog.ts builds the in-dialog requests, proxyTransaction.ts / proxyTypes.ts hold the state and the types.
 */
import { type Logger, silentLogger } from "../log.ts";
import {
  type ClientTransaction,
  generateBranch,
  generateTag,
  InviteServerTransaction,
  MAGIC_COOKIE,
  type NameAddr,
  type ServerTransaction,
  type SipHeader,
  type SipResponse,
  type SipTransportLayer,
  type Uri,
} from "./index.ts";
import { ProxyAddresses } from "./proxyAddresses.ts";
import { sendInDialog } from "./proxyDialog.ts";
import { StatelessForwarder } from "./proxyStateless.ts";
import { ProxyTransaction } from "./proxyTransaction.ts";
import {
  type ForwardOutcome,
  type ProxyCoreOptions,
  ProxyError,
  type ProxyInterface,
  type ProxyPolicy,
  type ProxyRequest,
  type ReplyOutcome,
  type RouteOutcome,
} from "./proxyTypes.ts";
import { loopHash, preprocessRoutes, validateRequest } from "./proxyValidation.ts";

export { ownString, ProxyTransaction } from "./proxyTransaction.ts";
export {
  type ForwardOutcome,
  type ProxyCoreOptions,
  ProxyError,
  type ProxyErrorCode,
  type ProxyInterface,
  type ProxyPolicy,
  type ProxyRequest,
  type ReplyOutcome,
  type RouteOutcome,
} from "./proxyTypes.ts";
export { loopHash } from "./proxyValidation.ts";

const NOOP_TU = { onResponse: () => undefined };

export class ProxyCore<T> {
  readonly interfaces: readonly ProxyInterface[];
  private readonly policy: ProxyPolicy<T>;
  private readonly log: Logger;
  private readonly proxyRequire: ReadonlySet<string>;
  private readonly addrs: ProxyAddresses;
  private readonly stateless: StatelessForwarder<T>;
  private readonly timerC: number;
  private readonly byStx = new Map<ServerTransaction, ProxyTransaction<T>>();
  private readonly active = new Set<ProxyTransaction<T>>();
  private readonly unsubscribe: (() => void)[] = [];
  private closed = false;

  constructor(opts: ProxyCoreOptions<T>) {
    if (opts.interfaces.length === 0) throw new ProxyError("E_PROXY_CONFIG", "a proxy needs at least one interface");
    this.interfaces = opts.interfaces;
    this.policy = opts.policy;
    this.log = opts.logger ?? silentLogger;
    this.proxyRequire = new Set((opts.proxyRequire ?? []).map((s) => s.toLowerCase()));
    this.timerC = opts.timerC ?? 181_000;
    this.addrs = new ProxyAddresses(opts.aliases ?? []);
    this.stateless = new StatelessForwarder<T>({
      interfaces: this.interfaces,
      policy: this.policy,
      addrs: this.addrs,
      log: this.log,
      closed: () => this.closed,
    });
    const seen = new Set<SipTransportLayer>();
    for (const iface of this.interfaces) {
      iface.txm.setUser({
        onRequest: (stx) => this.onRequest(iface, stx),
        onAck: (ack, source) => this.stateless.onAck(iface, ack, source),
        onStrayResponse: (res, source) => this.stateless.onStrayResponse(res, source),
      });
      if (!seen.has(iface.layer)) {
        seen.add(iface.layer);
        this.unsubscribe.push(iface.layer.onMessage((m, s) => iface.txm.receive(m, s)));
      }
    }
  }

  /** Learns the bound addresses of every interface (call after the layers started). */
  refreshAddresses(): void {
    this.addrs.refresh(this.interfaces);
  }

  /** Transactions in progress (for tests and metrics). */
  get pending(): number {
    return this.active.size;
  }

  /** True when the URI designates this proxy (host:port of an interface, or an alias). */
  isOwnUri(uri: Uri): boolean {
    return this.addrs.isOwnUri(uri);
  }

  /** The interface a name refers to. */
  interfaceNamed(name: string): ProxyInterface | undefined {
    return this.interfaces.find((i) => i.name === name);
  }

  close(): void {
    if (this.closed) return;
    this.closed = true;
    for (const u of this.unsubscribe.splice(0)) u();
    for (const ptx of this.active) this.clearTimers(ptx);
    this.active.clear();
    this.byStx.clear();
    for (const iface of this.interfaces) iface.txm.close();
  }

  // ------------------------------------------------------------------------------------------------------------------
  // requests

  private onRequest(iface: ProxyInterface, stx: ServerTransaction): void {
    const received = stx.request;
    if (received.method === "CANCEL" && stx.cancelTarget) {
      this.onCancel(stx, stx.cancelTarget);
      return;
    }
    // RFC 3261 §16.10: a CANCEL without a matching response context is forwarded like any other request
    const bad = validateRequest(received, this.addrs, this.proxyRequire);
    if (bad) {
      this.reply(stx, bad);
      return;
    }
    const req = received.clone();
    let popped: NameAddr[];
    try {
      popped = preprocessRoutes(req, this.addrs);
    } catch (e) {
      this.log.info({ err: e }, "proxy: bad Route");
      this.reply(stx, { kind: "reply", status: 400, reason: "Bad Route" });
      return;
    }
    let ptx: ProxyTransaction<T> | undefined;
    if (stx instanceof InviteServerTransaction) {
      ptx = this.context(stx, iface);
      this.byStx.set(stx, ptx);
      this.active.add(ptx);
    }
    const pr: ProxyRequest = { req, received, iface, source: stx.source, popped, stx, ptx };
    let outcome: RouteOutcome<T> | Promise<RouteOutcome<T>>;
    try {
      outcome = this.policy.route(pr);
    } catch (e) {
      this.log.error({ err: e, method: received.method }, "proxy: routing failed");
      this.reply(stx, { kind: "reply", status: 500 });
      return;
    }
    if (outcome instanceof Promise) {
      outcome.then(
        (o) => this.apply(pr, o, ptx),
        (e: unknown) => {
          this.log.error({ err: e, method: received.method }, "proxy: routing failed");
          if (!stx.finalSent) this.reply(stx, { kind: "reply", status: 500 });
        },
      );
    } else this.apply(pr, outcome, ptx);
  }

  private apply(pr: ProxyRequest, o: RouteOutcome<T>, ptx: ProxyTransaction<T> | undefined): void {
    const stx = pr.stx;
    if (stx === undefined || this.closed) return;
    if (stx.finalSent || stx.state === "terminated") return;
    if (ptx?.cancelled) {
      // RFC 3261 §16.10: cancelled before it was forwarded → 487 Request Terminated
      this.reply(stx, { kind: "reply", status: 487 });
      return;
    }
    if (o.kind === "drop") {
      this.log.info({ why: o.why, method: pr.received.method }, "proxy: request dropped");
      return;
    }
    if (o.kind === "reply") {
      this.reply(stx, o);
      return;
    }
    this.forward(pr, o, ptx ?? this.context(stx, pr.iface));
  }

  /**
   * A new response context, released with its server transaction. Built here and not inline: a closure shares its
   * function's context, and the terminated hook (alive for 64*T1) would keep every message of the caller alive.
   */
  private context(stx: ServerTransaction, iface: ProxyInterface): ProxyTransaction<T> {
    const ptx = new ProxyTransaction<T>(stx, iface);
    stx.onTerminated(() => this.release(ptx));
    return ptx;
  }

  /** Answers a request with a response generated here (RFC 3261 §8.2.6: To tag added on non-100 responses). */
  private reply(stx: ServerTransaction, o: ReplyOutcome): void {
    if (stx.finalSent || stx.state === "terminated") return;
    try {
      stx.reply(o.status, o.reason, { toTag: o.status > 100 ? generateTag() : undefined, headers: o.headers });
    } catch (e) {
      this.log.info({ err: e, status: o.status }, "proxy: reply not sent");
    }
  }

  /** RFC 3261 §16.6: forwards the working copy to the chosen target. */
  private forward(pr: ProxyRequest, o: ForwardOutcome<T>, ptx: ProxyTransaction<T>): void {
    const req = pr.req;
    // §16.6 step 3: Max-Forwards decremented (set to 70 when absent)
    const mf = req.maxForwards();
    req.setHeader("Max-Forwards", String(mf === undefined ? 70 : mf - 1));
    // §16.6 step 4 (and RFC 5658 §4): Record-Route values, topmost last
    for (const rr of o.recordRoute ?? []) req.prependHeader("Record-Route", rr);
    ptx.data = o.data;
    ptx.egress = o.iface;
    ptx.target = o.target;
    ptx.forwarded = req;
    this.active.add(ptx);
    try {
      // §16.6 step 8: our Via, with a branch whose first part is the loop-detection hash of the received request
      const v = o.iface.layer.localVia(o.target.transport);
      const branch = `${MAGIC_COOKIE}${loopHash(pr.received)}.${this.interfaces.indexOf(pr.iface)}.${generateBranch().slice(7, 19)}`;
      req.prependHeader(
        "Via",
        `SIP/2.0/${v.transport} ${v.host}${v.port !== undefined ? `:${v.port}` : ""};branch=${branch};rport`,
      );
      // §16.6 step 10: a client transaction per forwarded request
      ptx.client = o.iface.txm.sendRequest(
        req,
        o.target,
        { onResponse: (res, ctx) => this.onResponse(ptx, res, ctx) },
        { via: "keep" },
      );
    } catch (e) {
      this.log.info({ err: e, target: o.target }, "proxy: forwarding failed");
      this.release(ptx);
      // §16.9 / §16.7 step 6: a transport failure counts as a 503, which is answered upstream as 500
      this.reply(ptx.stx, { kind: "reply", status: 500 });
      return;
    }
    // §16.6 step 11: Timer C for INVITE
    if (req.method === "INVITE") this.startTimerC(ptx);
    // the transactions keep both messages for 64*T1; their parsed header views are not needed any more
    pr.received.dropViews();
    req.dropViews();
  }

  private startTimerC(ptx: ProxyTransaction<T>): void {
    if (ptx.timerC) clearTimeout(ptx.timerC);
    ptx.timerC = setTimeout(() => {
      ptx.timerC = undefined;
      // §16.8: Timer C fired: cancel when a provisional arrived, else behave as if a 408 had been received
      if (ptx.finalSent !== undefined) return;
      if (ptx.provisional) this.cancel(ptx);
      else {
        ptx.client?.terminate();
        this.finish(ptx, { kind: "reply", status: 408 });
      }
    }, this.timerC);
  }

  private clearTimers(ptx: ProxyTransaction<T>): void {
    if (ptx.timerC) clearTimeout(ptx.timerC);
    if (ptx.cancelTimer) clearTimeout(ptx.cancelTimer);
    ptx.timerC = undefined;
    ptx.cancelTimer = undefined;
  }

  private release(ptx: ProxyTransaction<T>): void {
    this.clearTimers(ptx);
    this.active.delete(ptx);
    if (this.byStx.get(ptx.stx) === ptx) this.byStx.delete(ptx.stx);
  }

  /**
   * A final response goes upstream: nothing can cancel the context any more; the forwarded request and the policy's
   * data are dropped and the 2xx is kept as bytes (`ProxyTransaction.settle`), so that the transactions the RFC
   * keeps alive for a while (Timer L/M: 64*T1) hold as little as possible.
   */
  private settled(ptx: ProxyTransaction<T>): void {
    this.active.delete(ptx);
    if (this.byStx.get(ptx.stx) === ptx) this.byStx.delete(ptx.stx);
    ptx.settle();
  }

  /** Sends a final response generated here and marks the context final. */
  private finish(ptx: ProxyTransaction<T>, o: ReplyOutcome): void {
    if (ptx.finalSent !== undefined) return;
    ptx.finalSent = o.status;
    this.clearTimers(ptx);
    this.settled(ptx);
    this.reply(ptx.stx, o);
  }

  // ------------------------------------------------------------------------------------------------------------------
  // responses

  private onResponse(ptx: ProxyTransaction<T>, res: SipResponse, ctx: ClientTransaction): void {
    try {
      this.handleResponse(ptx, res, ctx);
    } catch (e) {
      this.log.error({ err: e, status: res.status }, "proxy: response handling failed");
    }
  }

  private handleResponse(ptx: ProxyTransaction<T>, res: SipResponse, ctx: ClientTransaction): void {
    if (ctx.localFailure) {
      // §16.8 / §16.7 step 6: a timeout is answered 408; a transport failure (a 503) is answered 500
      this.clearTimers(ptx);
      if (ptx.finalSent !== undefined) return;
      const status = ptx.cancelled ? 487 : ctx.localFailure === "timeout" ? 408 : 500;
      this.finish(ptx, ptx.replaceFinal ?? { kind: "reply", status });
      this.release(ptx);
      return;
    }
    const s = res.status;
    // §16.7 step 5: a stateful proxy never forwards 100 Trying
    if (s === 100) return;
    // §16.7 step 3: the topmost Via (ours) is removed
    res.removeFirstValue("Via");
    if (s < 200) {
      ptx.provisional = true;
      // §16.7 step 2: a provisional response resets Timer C
      if (ptx.timerC) this.startTimerC(ptx);
      // RFC 3261 §9.1: a CANCEL held back until a provisional response arrived goes now
      if (ptx.cancelPending) this.sendCancel(ptx);
      if (ptx.finalSent !== undefined) return;
      if (this.policy.onResponse?.(res, ptx) === false) return;
      // §16.7 step 5: provisional responses other than 100 are forwarded at once
      this.relay(ptx, res);
      return;
    }
    this.clearTimers(ptx);
    if (s < 300) {
      if (ptx.finalSent !== undefined && (ptx.finalSent < 200 || ptx.finalSent >= 300)) {
        // a 2xx after we already sent a non-2xx final upstream: the dialog is ended toward its sender
        ptx.setOk(res);
        if (this.policy.onLate2xx) this.policy.onLate2xx(res, ptx);
        else this.endLate2xx(ptx, res);
        ptx.settle();
        return;
      }
      const first = !ptx.hasOk;
      ptx.setOk(res);
      ptx.finalSent = s;
      if (first) {
        this.policy.onResponse?.(res, ptx);
        this.settled(ptx);
      }
      // §16.7 step 5/10 and RFC 6026 §7.1: every 2xx (and its retransmissions) is forwarded; a retransmission of the
      // first 2xx (same To tag) goes out as that 2xx did, i.e. with what the policy changed in it (a rewritten body)
      this.relay(ptx, (!first && ptx.okToTag === res.toTag() ? ptx.ok : undefined) ?? res);
      return;
    }
    if (ptx.finalSent !== undefined) return;
    this.policy.onResponse?.(res, ptx);
    this.settled(ptx);
    if (ptx.replaceFinal) {
      this.finish(ptx, ptx.replaceFinal);
      return;
    }
    ptx.finalSent = s;
    if (s === 503) {
      // §16.7 step 6: a 503 is not forwarded; the proxy answers 500
      this.reply(ptx.stx, { kind: "reply", status: 500 });
      return;
    }
    this.relay(ptx, res);
  }

  /** Sends a response upstream on the server transaction; statelessly when the transaction is gone (2xx only). */
  private relay(ptx: ProxyTransaction<T>, res: SipResponse): void {
    const stx = ptx.stx;
    if (stx.state !== "terminated") {
      try {
        stx.respond(res);
        // a final response stays with both transactions for 64*T1: keep its rows, not its parsed views
        if (res.status >= 200) res.dropViews();
        return;
      } catch (e) {
        this.log.debug({ err: e, status: res.status }, "proxy: relay on the transaction failed");
      }
    }
    // RFC 3261 §16.7 step 10 / RFC 6026 §7.1: a 2xx outliving the server transaction is forwarded statelessly
    if (res.status >= 200 && res.status < 300) {
      ptx.ingress.layer
        .sendResponse(res, stx.source)
        .catch((e: unknown) => this.log.info({ err: e }, "proxy: stateless 2xx relay failed"));
    }
  }

  // ------------------------------------------------------------------------------------------------------------------
  // CANCEL

  private onCancel(stx: ServerTransaction, invite: InviteServerTransaction): void {
    // RFC 3261 §16.10: the CANCEL is answered 200 at once (same To tag as the INVITE's responses, §9.2)
    try {
      stx.reply(200, undefined, { toTag: invite.lastToTag ?? generateTag() });
    } catch (e) {
      this.log.info({ err: e }, "proxy: 200 to CANCEL not sent");
    }
    const ptx = this.byStx.get(invite);
    if (!ptx) {
      if (!invite.finalSent && invite.state !== "terminated") this.reply(invite, { kind: "reply", status: 487 });
      return;
    }
    this.cancel(ptx);
  }

  /** Cancels the pending branch of a forwarded INVITE (RFC 3261 §16.10); the 487 that follows is relayed. */
  cancel(ptx: ProxyTransaction<T>): void {
    if (ptx.cancelled) return;
    ptx.cancelled = true;
    if (ptx.finalSent !== undefined || !ptx.client) return;
    // RFC 3261 §9.1: a CANCEL is not sent before a provisional response has arrived
    if (ptx.provisional) this.sendCancel(ptx);
    else ptx.cancelPending = true;
  }

  private sendCancel(ptx: ProxyTransaction<T>): void {
    const fwd = ptx.forwarded;
    const ctx = ptx.client;
    const egress = ptx.egress;
    const target = ptx.target;
    if (ptx.cancelSent || !fwd || !ctx || !egress || !target) return;
    ptx.cancelSent = true;
    ptx.cancelPending = false;
    try {
      // RFC 3261 §9.1: same Request-URI, Call-ID, To, From, CSeq number and top Via (branch) as the INVITE
      const cancel = egress.txm.createCancel(fwd);
      egress.txm.sendRequest(cancel, { ...target, connectionId: ctx.flow?.connectionId }, NOOP_TU, { via: "keep" });
    } catch (e) {
      this.log.info({ err: e }, "proxy: CANCEL not sent");
    }
    // RFC 3261 §9.1: no final response 64*T1 after the CANCEL → the branch is given up; upstream gets 487
    ptx.cancelTimer = setTimeout(() => {
      ptx.cancelTimer = undefined;
      ptx.client?.terminate();
      this.finish(ptx, ptx.replaceFinal ?? { kind: "reply", status: 487 });
      this.release(ptx);
    }, 64 * egress.txm.timers.T1);
  }

  // ------------------------------------------------------------------------------------------------------------------
  // requests originated by the proxy inside a dialog it record-routes

  /** Default handling of a late 2xx (RFC 3261 §13.2.2.4 / §15 by analogy): ACK it, then BYE toward its sender. */
  private endLate2xx(ptx: ProxyTransaction<T>, res: SipResponse): void {
    this.sendInDialog(ptx, "downstream", "ACK", [], res);
    this.sendInDialog(ptx, "downstream", "BYE", [], res);
  }

  /**
   * Builds and sends a request inside the dialog created by `ptx`'s 2xx: "downstream" toward the UAS that answered,
   * "upstream" toward the UAC (see `sendInDialog` in proxyDialog.ts). False when nothing was sent.
   */
  sendInDialog(
    ptx: ProxyTransaction<T>,
    toward: "downstream" | "upstream",
    method: "ACK" | "BYE",
    headers: readonly SipHeader[] = [],
    response?: SipResponse,
    cseqOverride?: number,
  ): boolean {
    if (this.closed) return false;
    return sendInDialog({ addrs: this.addrs, log: this.log }, ptx, toward, method, headers, response, cseqOverride);
  }
}
