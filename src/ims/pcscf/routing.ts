/**
 * Routing through the P-CSCF (RFC 3261 §16.5): which side a request comes from, where it goes, and what it carries
 * on its way.
 *
 * - From a UE (access side, Gm): the sec-agree headers and option tags stop here (TS 24.229 §5.2.2); initial requests
 *   only from UEs registered through this P-CSCF (TS 24.229 §5.2.6.3), with the P-Asserted-Identity the P-CSCF
 *   asserts; identity headers a UE sent are removed (identity.ts, RFC 3325 §9.1);
 *   next hop the preloaded Route, else the Service-Route (RFC 3608 §6), else the S-CSCF. REGISTER: register.ts.
 * - From the core (Mw) toward a UE: P-Preferred-Identity removed, P-Asserted-Identity too when privacy "id" is asked
 *   (identity.ts, RFC 3325 §9.1); over the flow the UE registered on (the Path / Record-Route flow token, RFC 5626
 *   §5.3 style), reusing its TCP/WS connection; 430 when that flow is gone.
 * - Dialog-creating requests get a double Record-Route (RFC 5658 §4): one entry per leg (ownRoutes.ts).
 * - Every request passes the IMS-ALG (offerAnswer.ts, e2ae offers held by offerAnchoring.ts) and the session
 *   bookkeeping (sessionControl.ts).
 */
import {
  bareHost,
  formatUri,
  isSipUri,
  type SipRequest,
  type SipTarget,
  type SipUri,
  uriTarget,
} from "../../sip/index.ts";
import type {
  ForwardOutcome,
  ProxyCore,
  ProxyInterface,
  ProxyRequest,
  ProxyTransaction,
  RouteOutcome,
} from "../../sip/proxy.ts";
import { warningReply } from "./admission.ts";
import type { CapabilityStore } from "./capabilities.ts";
import type { AlgConfig } from "./config.ts";
import type { E2aeAnchor } from "./e2ae.ts";
import { type Flow, type FlowTokens, flowOf, flowTarget } from "./flow.ts";
import { assertFromUe, filterTowardUe } from "./identity.ts";
import type { TxData } from "./nodeTypes.ts";
import type { OfferAnchoring } from "./offerAnchoring.ts";
import type { OfferAnswer } from "./offerAnswer.ts";
import { defaultTransport, ownRouteKind, rrEntry } from "./ownRoutes.ts";
import type { RegisterHandler } from "./register.ts";
import { canonicalAor, type Registration, type RegistrationTable } from "./registrations.ts";
import type { SessionControl } from "./sessionControl.ts";

/** RFC 3261 §16.6 step 4: methods whose initial request creates a dialog (RFC 6665 SUBSCRIBE, RFC 3515 REFER). */
const DIALOG_METHODS = new Set(["INVITE", "SUBSCRIBE", "REFER"]);

/** Removes the sec-agree option tag from a token-list header (Require / Proxy-Require). */
function dropOptionTag(req: SipRequest, header: string, tag: string): void {
  const vals = req.getHeaders(header);
  if (vals.length === 0) return;
  const kept = vals
    .flatMap((v) => v.split(","))
    .map((t) => t.trim())
    .filter((t) => t !== "" && t.toLowerCase() !== tag);
  if (kept.length === vals.flatMap((v) => v.split(",")).length) return;
  req.removeHeader(header);
  if (kept.length > 0) req.addHeader(header, kept.join(", "));
}

export interface RouterOptions {
  access: ProxyInterface;
  core: ProxyInterface;
  /** the access and core sides have their own interfaces */
  split: boolean;
  proxy: ProxyCore<TxData>;
  tokens: FlowTokens;
  registrations: RegistrationTable;
  capabilities: CapabilityStore;
  /** the IMS-ALG configuration (the Warning agent) */
  alg: AlgConfig;
  /** the S-CSCF (a loose-routing URI), pushed as Route on UE requests without a route */
  scscf: SipUri | undefined;
  /** static next hop toward the core, no Route added */
  nextHop: SipUri | undefined;
  /** initial requests from a UE not registered here are refused with 403 */
  requireRegistration: boolean;
  e2ae: E2aeAnchor | undefined;
  register: RegisterHandler;
  offerAnswer: OfferAnswer;
  anchoring: OfferAnchoring;
  sessions: SessionControl;
}

export class Router {
  constructor(private readonly o: RouterOptions) {}

  /** RFC 3261 §16.5: the route outcome of a request (the ProxyCore policy). */
  route(pr: ProxyRequest): RouteOutcome<TxData> | Promise<RouteOutcome<TxData>> {
    const req = pr.req;
    const toTag = req.toTag();
    if (toTag !== undefined) this.o.sessions.inDialog(req, toTag);
    else if (req.method === "INVITE") {
      // RFC 3261 §21.5.4: 503 + Retry-After when the P-CSCF is at its session capacity (never silent)
      const full = this.o.sessions.admit();
      if (full) return full;
      const out = this.routeDirection(pr);
      const ptx = pr.ptx as ProxyTransaction<TxData> | undefined;
      if (!ptx) return out;
      return out instanceof Promise
        ? out.then((o) => this.o.sessions.track(pr, ptx, o))
        : this.o.sessions.track(pr, ptx, out);
    }
    // RFC 3261 §15.1: BYE ends the session; its AGW contexts go with it (TR 29.828 §5.2.1 resources)
    if (req.method === "BYE" && this.o.e2ae) this.o.e2ae.releaseDialog(req.callId(), req.fromTag(), toTag, "BYE");
    return this.routeDirection(pr);
  }

  private routeDirection(pr: ProxyRequest): RouteOutcome<TxData> | Promise<RouteOutcome<TxData>> {
    const req = pr.req;
    // RFC 3261 §11: OPTIONS addressed to the proxy itself is answered by it
    if (req.method === "OPTIONS" && req.getHeader("Route") === undefined) {
      const ruri = req.requestUri();
      if (isSipUri(ruri) && ruri.user === undefined && this.o.proxy.isOwnUri(ruri)) {
        return {
          kind: "reply",
          status: 200,
          headers: [
            {
              name: "Allow",
              value:
                "INVITE, ACK, BYE, CANCEL, OPTIONS, REGISTER, UPDATE, PRACK, SUBSCRIBE, NOTIFY, REFER, MESSAGE, INFO",
            },
          ],
        };
      }
    }
    return this.fromAccess(pr) ? this.routeFromAccess(pr) : this.routeFromCore(pr);
  }

  /** Which side a request comes from: the interface it arrived on, or (one shared interface) our Route entries. */
  private fromAccess(pr: ProxyRequest): boolean {
    if (this.o.split) return pr.iface === this.o.access;
    const first = pr.popped[0];
    if (!first) return true;
    const k = ownRouteKind(first).kind;
    return !(k === "core" || k === "path");
  }

  private routeFromAccess(pr: ProxyRequest): RouteOutcome<TxData> | Promise<RouteOutcome<TxData>> {
    const req = pr.req;
    // TS 24.229 §5.2.2: sec-agree headers and option tags end at the P-CSCF
    req.removeHeader("Security-Client");
    req.removeHeader("Security-Verify");
    dropOptionTag(req, "Require", "sec-agree");
    dropOptionTag(req, "Proxy-Require", "sec-agree");
    if (req.method === "REGISTER") return this.o.register.route(pr);
    const flow = flowOf(pr.source);
    const inDialog = req.toTag() !== undefined;
    let fromAor: string | undefined;
    try {
      const f = req.from().uri;
      fromAor = isSipUri(f) ? canonicalAor(f) : undefined;
    } catch {
      fromAor = undefined;
    }
    const reg = this.o.registrations.forFlow(flow, fromAor);
    const initial = !inDialog && req.method !== "ACK" && req.method !== "CANCEL";
    if (initial) {
      // TS 24.229 §5.2.6.3: initial requests are accepted only from UEs registered through this P-CSCF
      if (!reg && this.o.requireRegistration) {
        return warningReply(
          this.o.alg.warnAgent,
          403,
          "Forbidden",
          "E_PCSCF_NOT_REGISTERED: the UE is not registered via this P-CSCF",
        );
      }
    }
    // RFC 3325 §9.1 / TS 24.229 §5.2.6.3.3: identity headers from the UE are not trusted; the P-CSCF asserts it
    assertFromUe(req, reg, initial);
    // RFC 3261 §16.5 / RFC 3608 §6: next hop = the preloaded route, else the Service-Route, else the S-CSCF
    let target: SipTarget;
    const coreT = defaultTransport(this.o.core);
    const top = req.routes()[0];
    if (this.o.nextHop) target = uriTarget(this.o.nextHop, coreT);
    else if (top) target = uriTarget(top.uri, coreT);
    else if (!inDialog && reg && reg.serviceRoute.length > 0) {
      for (const sr of [...reg.serviceRoute].reverse()) req.prependHeader("Route", sr);
      const first = req.routes()[0];
      target = first ? uriTarget(first.uri, coreT) : uriTarget(req.requestUri(), coreT);
    } else if (!inDialog && this.o.scscf) {
      req.prependHeader("Route", `<${formatUri(this.o.scscf)}>`);
      target = uriTarget(this.o.scscf, coreT);
    } else target = uriTarget(req.requestUri(), coreT);

    const data: TxData = {
      fromAccess: true,
      callId: req.callId(),
      caps: reg ? this.o.capabilities.capabilities(reg.aor, reg.key) : new Set(),
    };
    const alg = this.o.offerAnswer.onRequest(pr, data);
    if (alg.reply) return alg.reply;
    const out: ForwardOutcome<TxData> = { kind: "forward", iface: this.o.core, target, data };
    if (!inDialog && DIALOG_METHODS.has(req.method)) {
      out.recordRoute = [
        rrEntry(this.o.access, flow.transport, `a-${this.o.tokens.encode(flow)}`),
        rrEntry(this.o.core, target.transport, "c"),
      ];
    }
    return alg.anchor ? this.o.anchoring.offer(pr, data, alg.anchor, out) : out;
  }

  private routeFromCore(pr: ProxyRequest): RouteOutcome<TxData> | Promise<RouteOutcome<TxData>> {
    const req = pr.req;
    const inDialog = req.toTag() !== undefined;
    // RFC 3325 §9.1: the UE is outside the trust domain
    filterTowardUe(req);
    // RFC 5626 §5.3 style: the flow token of our Path (initial requests) or access Record-Route entry (in-dialog)
    let flow: Flow | undefined;
    for (const p of pr.popped) {
      const k = ownRouteKind(p);
      if ((k.kind === "access" || k.kind === "path") && k.token !== undefined) {
        flow = this.o.tokens.decode(k.token);
        if (flow) break;
      }
    }
    const ruri = req.requestUri();
    let reg: Registration | undefined;
    if (flow) reg = this.o.registrations.forFlow(flow);
    else if (isSipUri(ruri)) {
      reg = this.o.registrations.byContact(ruri);
      flow = reg?.flow;
    }
    const accessT = defaultTransport(this.o.access);
    let target: SipTarget;
    const top = req.routes()[0];
    if (top) target = uriTarget(top.uri, flow?.transport ?? accessT);
    else if (flow) {
      const t = this.flowTargetFor(flow, ruri);
      // RFC 5626 §5.3: the flow toward the UE is gone and the contact cannot be reached otherwise
      if (!t) return { kind: "reply", status: 430, reason: "Flow Failed" };
      target = t;
    } else {
      if (!isSipUri(ruri) || this.o.proxy.isOwnUri(ruri)) return { kind: "reply", status: 404 };
      target = uriTarget(ruri, accessT);
    }
    const data: TxData = {
      fromAccess: false,
      callId: req.callId(),
      caps: reg ? this.o.capabilities.capabilities(reg.aor, reg.key) : new Set(),
    };
    const alg = this.o.offerAnswer.onRequest(pr, data);
    if (alg.reply) return alg.reply;
    const out: ForwardOutcome<TxData> = { kind: "forward", iface: this.o.access, target, data };
    if (!inDialog && DIALOG_METHODS.has(req.method)) {
      const f: Flow = flow ?? { transport: target.transport, host: target.host, port: target.port };
      out.recordRoute = [
        rrEntry(this.o.core, pr.source.transport, "c"),
        rrEntry(this.o.access, target.transport, `a-${this.o.tokens.encode(f)}`),
      ];
    }
    return alg.anchor ? this.o.anchoring.offer(pr, data, alg.anchor, out) : out;
  }

  /** Target for a flow: its connection while open (RFC 5626 §5.3); else the contact when it is routable. */
  private flowTargetFor(flow: Flow, ruri: ReturnType<SipRequest["requestUri"]>): SipTarget | undefined {
    if (flow.transport === "UDP") return flowTarget(flow);
    if (flow.connectionId !== undefined && this.o.access.layer.hasConnection(flow.transport, flow.connectionId)) {
      return flowTarget(flow);
    }
    if (isSipUri(ruri) && !bareHost(ruri.host).endsWith(".invalid")) {
      try {
        const t = uriTarget(ruri, flow.transport);
        return this.o.access.layer.hasTransport(t.transport) ? t : undefined;
      } catch {
        return undefined;
      }
    }
    return undefined;
  }

  /** A response generated here with a Warning (RFC 3261 §20.43, warn-code 399). */
}
