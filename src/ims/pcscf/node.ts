/**
 * The P-CSCF node: a stateful SIP proxy (RFC 3261 §16, src/sip/proxy.ts) between the UEs (access side, Gm) and the
 * S-CSCF (core side, Mw) with the IMS-ALG media-security decision on every SDP offer and answer (alg.ts).
 *
 * - REGISTER: Path with a flow token (RFC 3327 §5.2, RFC 5626 §5.3 style) and `Require: path`; Security-Client,
 *   Security-Verify and the sec-agree option tags stop here (TS 24.229 §5.2.2; specs.md §5); the UE's `mediasec`
 *   mechanisms are kept per contact (CapabilityStore) and the accepted ones are echoed in Security-Server on the
 *   200 OK (TS 24.229 §7.2A.7); the 200's Service-Route is remembered (RFC 3608 §6).
 * - Requests from a UE go to the S-CSCF (its preloaded Route / the Service-Route, else the configured S-CSCF URI),
 *   with P-Asserted-Identity (RFC 3325 §9.1); requests from the core toward a UE go over the flow the UE registered
 *   on (the Path / Record-Route flow token), reusing its TCP/WS connection.
 * - Dialog-creating requests get a double Record-Route (RFC 5658 §4): one entry per leg (access / core), so in-dialog
 *   requests traverse the P-CSCF and say which side they come from.
 * - IMS-ALG: `decideSdp` for every offer and answer (INVITE, re-INVITE, UPDATE, 18x/2xx, ACK/PRACK with SDP), in
 *   both directions; e2e bodies are forwarded byte for byte; refusals are 488 with a Warning; one audit event per
 *   m-line decision. See docs/pcscf.md.
 * - e2ae: with an Iq binding (`iq`), MSRP/BFCP e2ae streams are anchored on the IMS-AGW per the step tables of
 *   TR 29.828 §5.2.1.2.x / §5.2.1.3.x (e2ae.ts); the AGW contexts live with the dialog and are released on BYE,
 *   CANCEL, a non-2xx final response, a transaction that ends without answer, Iq failure and close().
 */
import { type AuditEvent, type Logger, silentLogger } from "../../log.ts";
import {
  bareHost,
  formatUri,
  getParam,
  isSipUri,
  type NameAddr,
  parseSipUri,
  type SipHeader,
  type SipMessage,
  type SipRequest,
  type SipResponse,
  type SipSource,
  type SipTarget,
  SipTransportLayer,
  type SipTransportLayerOptions,
  type SipTransportProtocol,
  type SipUri,
  sipUriEquals,
  TransactionManager,
  type TransportLimits,
  uriTarget,
  withUriParam,
} from "../../sip/index.ts";
import {
  type ForwardOutcome,
  ProxyCore,
  type ProxyInterface,
  type ProxyRequest,
  type ProxyTransaction,
  type ReplyOutcome,
  type RouteOutcome,
} from "../../sip/proxy.ts";
import type { InboundGate } from "../../sip/transport/layer.ts";
import { decideSdp } from "./alg.ts";
import { auditEvents } from "./algAudit.ts";
import type { AlgDecision, Direction, SdpKind } from "./algTypes.ts";
import {
  CapabilityStore,
  contactKey,
  mediasecCapabilities,
  mediasecServerEntries,
  registeredCapabilities,
} from "./capabilities.ts";
import { type AlgConfig, isWarnAgent, loadAlgConfig } from "./config.ts";
import { E2aeAnchor } from "./e2ae.ts";
import type { E2aeSession, IqFailure } from "./e2aeSession.ts";
import { PcscfError } from "./errors.ts";
import { type Flow, FlowTokens, flowOf, flowTarget } from "./flow.ts";
import type { IqClientEvent } from "./iq.ts";
import { DEFAULT_RATE_LIMIT, type RefusalEpisode, SourceRateLimiter } from "./limits.ts";
import type { AuditRecorder, PcscfInterfaceConfig, PcscfOptions, RegisterData, Side, TxData } from "./nodeTypes.ts";
import { canonicalAor, type Registration, RegistrationTable } from "./registrations.ts";
import { type PcscfSession, SessionTable } from "./sessions.ts";
import { formatWarningValue, warnText } from "./warning.ts";

interface PendingOffer {
  decision: AlgDecision;
  direction: Direction;
  fromAccess: boolean;
  expires: number;
  /** the INVITE whose 2xx carried the offer (for a release when the answer in the ACK is refused) */
  ptx: ProxyTransaction<TxData>;
}

/** One m-line that cannot be anchored: its code and text (the Warning says `<code>: <text> (m-line N)`). */
interface Unavailable {
  code: string;
  text: string;
}

/** The outcome of `decide`: the decision, the refusal if any, and the audit of it (recorded once the body left). */
interface Decided {
  decision: AlgDecision;
  refuse?: { status: number; reason: string; warning: string; codes: string[] };
  unavailable: Map<number, Unavailable>;
}

interface PendingRelease {
  ptx: ProxyTransaction<TxData>;
  reason: string;
  timer: NodeJS.Timeout;
}

/** RFC 3261 §16.6 step 4: methods whose initial request creates a dialog (RFC 6665 SUBSCRIBE, RFC 3515 REFER). */
const DIALOG_METHODS = new Set(["INVITE", "SUBSCRIBE", "REFER"]);
type InboundGateVerdict = ReturnType<InboundGate>;

/** Iq errors that say "not now" (capacity, the Iq link down), answered 503 + Retry-After (RFC 3261 §21.5.4). */
const TEMPORARY_AGW_CODES: ReadonlySet<string> = new Set([
  "E_AGW_LIMIT",
  "E_AGW_IQ_UNAVAILABLE",
  "E_AGW_IQ_DISCONNECTED",
]);
/** RFC 3264 / RFC 3311 / RFC 3262: requests that carry offers or answers. */
const OA_METHODS = new Set(["INVITE", "UPDATE", "PRACK", "ACK"]);

function layerOptions(
  c: PcscfInterfaceConfig,
  limits: Partial<TransportLimits> | undefined,
  logger: Logger,
): SipTransportLayerOptions {
  const l = (v: boolean | number | undefined) =>
    v === undefined || v === false ? undefined : v === true ? {} : { port: v };
  const udp = l(c.udp);
  const tcp = l(c.tcp);
  const ws = l(c.ws);
  return {
    host: c.host ?? "127.0.0.1",
    ...(udp ? { udp } : {}),
    ...(tcp ? { tcp } : {}),
    ...(ws ? { ws } : {}),
    ...(c.viaHost !== undefined ? { viaHost: c.viaHost } : {}),
    ...(limits ? { limits } : {}),
    logger,
  };
}

/** The SDP body of a message, or undefined (only application/sdp bodies are offers/answers here). */
function sdpBody(m: SipMessage): Uint8Array | undefined {
  if (m.body.byteLength === 0) return undefined;
  let ct: ReturnType<SipMessage["contentType"]>;
  try {
    ct = m.contentType();
  } catch {
    return undefined;
  }
  return ct && ct.type === "application" && ct.subtype === "sdp" ? m.body : undefined;
}

/** Kind of one of our own Route entries, from its user part: "c" core RR, "a-TOKEN" access RR, "p-TOKEN" Path. */
function ownRouteKind(na: NameAddr): { kind: "core" | "access" | "path" | "other"; token?: string } {
  const u = isSipUri(na.uri) ? na.uri.user : undefined;
  if (u === "c") return { kind: "core" };
  if (u?.startsWith("a-")) return { kind: "access", token: u.slice(2) };
  if (u?.startsWith("p-")) return { kind: "path", token: u.slice(2) };
  return { kind: "other" };
}

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

export class Pcscf {
  readonly name: string;
  readonly access: ProxyInterface;
  readonly core: ProxyInterface;
  readonly registrations: RegistrationTable;
  readonly capabilities: CapabilityStore;
  readonly alg: AlgConfig;
  private readonly split: boolean;
  private readonly proxy: ProxyCore<TxData>;
  private readonly tokens: FlowTokens;
  private readonly log: Logger;
  private readonly audit: AuditRecorder | undefined;
  private readonly decisionConfig: AlgConfig;
  private readonly scscf: SipUri | undefined;
  private readonly nextHop: SipUri | undefined;
  private readonly pendingOffers = new Map<string, PendingOffer>();
  private readonly releases = new Map<string, PendingRelease>();
  /** INVITE sessions in progress (maxSessions, P-CSCF-initiated release) */
  readonly sessions = new SessionTable<ProxyTransaction<TxData>>();
  private readonly limiter: SourceRateLimiter | undefined;
  /** sources exempt from the rate limit (the S-CSCF / next hop when one interface serves both sides) */
  private readonly exempt = new Set<string>();
  /** refusals by code (limits and capacity), for metrics and tests */
  readonly refusals = new Map<string, number>();
  /** the e2ae anchoring on the IMS-AGW (undefined without an Iq binding, or with e2ae switched off) */
  private readonly e2ae: E2aeAnchor | undefined;
  private purgeTimer: NodeJS.Timeout | undefined;
  private started = false;
  private closed = false;

  constructor(private readonly opts: PcscfOptions) {
    if (!isWarnAgent(opts.name)) throw new PcscfError("E_PCSCF_CONFIG", `name "${opts.name}" must be a SIP token`);
    this.name = opts.name;
    this.log = (opts.logger ?? silentLogger).child({ node: "pcscf", name: opts.name });
    this.audit = opts.audit;
    this.alg = loadAlgConfig({
      // an IMS-AGW bound over Iq makes e2ae available (docs/pcscf.md); without one e2ae is refused (fail closed)
      e2aeAvailable: opts.iq !== undefined,
      warnAgent: opts.name,
      ...opts.alg,
    });
    this.e2ae =
      opts.iq && this.alg.e2aeAvailable && this.alg.imsAlg
        ? new E2aeAnchor({
            iq: opts.iq,
            config: this.alg,
            instance: opts.name,
            logger: this.log,
            record: (e) => this.record(e),
            onMediaFault: (session, e) => this.onMediaFault(session, e),
          })
        : undefined;
    // the decision is taken as if e2ae were possible; availability (config + Iq binding) is checked after it, so the
    // audit shows decision "e2ae" for an e2ae request that is then refused
    this.decisionConfig = { ...this.alg, e2aeAvailable: true };
    const parse = (what: string, s: string | undefined): SipUri | undefined => {
      if (s === undefined) return undefined;
      try {
        return parseSipUri(s);
      } catch (e) {
        throw new PcscfError("E_PCSCF_CONFIG", `${what} is not a SIP URI: ${s}`, { cause: e });
      }
    };
    const sc = parse("scscf", opts.scscf);
    // RFC 3261 §16.6 step 6 / RFC 3608: a pushed Route entry is a loose-routing URI
    this.scscf = sc && getParam(sc.params, "lr") === undefined ? withUriParam(sc, "lr", null) : sc;
    this.nextHop = parse("coreNextHop", opts.coreNextHop);
    const timers = opts.timers ?? {};
    // a busy proxy needs more than the default ~200 kB UDP receive queue (Kamailio's -b); the kernel caps it
    const limits: Partial<TransportLimits> = { udpBufferSize: 4 * 1024 * 1024, ...opts.limits };
    const accessLayer = new SipTransportLayer(layerOptions(opts.access, limits, this.log));
    this.access = {
      name: "access",
      layer: accessLayer,
      txm: new TransactionManager(accessLayer, { timers, logger: this.log }),
    };
    this.split = opts.core !== undefined;
    if (opts.core) {
      const coreLayer = new SipTransportLayer(layerOptions(opts.core, limits, this.log));
      this.core = {
        name: "core",
        layer: coreLayer,
        txm: new TransactionManager(coreLayer, { timers, logger: this.log }),
      };
    } else this.core = this.access;
    this.tokens = new FlowTokens(opts.flowSecret);
    this.registrations = new RegistrationTable(opts.maxRegistrations);
    this.capabilities = new CapabilityStore({ maxEntries: opts.maxRegistrations ?? 100_000 });
    if (opts.rateLimit !== false) {
      this.limiter = new SourceRateLimiter({ ...DEFAULT_RATE_LIMIT, ...opts.rateLimit }, (ep) => this.episodeEnd(ep));
      for (const u of [this.scscf, this.nextHop]) if (u) this.exempt.add(`${bareHost(u.host)}|${u.port ?? 5060}`);
    }
    // the per-source limit guards the access side (with one shared interface, the S-CSCF's address is exempt)
    if (this.limiter) accessLayer.setInboundGate((source) => this.admit(source));
    this.proxy = new ProxyCore<TxData>({
      interfaces: this.split ? [this.access, this.core] : [this.access],
      // RFC 3329 §2.3.1 / TS 24.229 §5.2.2: the P-CSCF is the sec-agree peer of the UE
      proxyRequire: ["sec-agree"],
      ...(opts.aliases ? { aliases: opts.aliases } : {}),
      ...(opts.timerC !== undefined ? { timerC: opts.timerC } : {}),
      logger: this.log,
      policy: {
        route: (r) => this.route(r),
        onResponse: (res, tx) => this.onResponse(res, tx),
        onAckForwarded: (ack) => this.onAckForwarded(ack),
      },
    });
  }

  /** Binds every listening socket. */
  async start(): Promise<void> {
    if (this.started) return;
    this.started = true;
    try {
      await this.access.layer.start();
      if (this.split) await this.core.layer.start();
    } catch (e) {
      await this.close();
      throw e;
    }
    this.proxy.refreshAddresses();
    this.purgeTimer = setInterval(() => this.purge(), 30_000);
    this.purgeTimer.unref();
    this.log.info(
      { access: this.describe("access"), core: this.split ? this.describe("core") : "shared", alg: this.alg.imsAlg },
      "pcscf started",
    );
  }

  private describe(side: Side): Record<string, string> {
    const iface = side === "access" ? this.access : this.core;
    const out: Record<string, string> = {};
    for (const p of iface.layer.protocols()) {
      const a = iface.layer.address(p);
      if (a) out[p] = `${a.host}:${a.port}`;
    }
    return out;
  }

  /** Frees every socket, transaction and timer. */
  async close(): Promise<void> {
    if (this.closed) return;
    this.closed = true;
    if (this.purgeTimer) clearInterval(this.purgeTimer);
    for (const r of this.releases.values()) clearTimeout(r.timer);
    this.releases.clear();
    this.sessions.clear();
    this.limiter?.sweep(0);
    this.proxy.close();
    // no AGW termination outlives the P-CSCF that reserved it
    await this.e2ae?.close();
    await this.access.layer.close();
    if (this.split) await this.core.layer.close();
  }

  /** Bound address of a side's listening socket. */
  address(side: Side, proto: SipTransportProtocol): { host: string; port: number } | undefined {
    return (side === "access" ? this.access : this.core).layer.address(proto);
  }

  /** A loose-routing URI of this P-CSCF on a side, e.g. for a UE's outbound proxy: sip:127.0.0.1:5060;transport=tcp;lr */
  uri(side: Side, proto: SipTransportProtocol): string {
    const v = (side === "access" ? this.access : this.core).layer.localVia(proto);
    const tp = proto === "UDP" ? "" : `;transport=${proto.toLowerCase()}`;
    return `sip:${v.host}${v.port !== undefined ? `:${v.port}` : ""}${tp};lr`;
  }

  /** Transactions in progress. */
  get pending(): number {
    return this.proxy.pending;
  }

  /** The IMS-AGW contexts this P-CSCF holds for anchored e2ae streams (empty without Iq). */
  agwContexts(): string[] {
    return this.e2ae?.contextIds() ?? [];
  }

  /** The anchored e2ae exchanges of a call (their streams: m-line, context, terminations, AGW fingerprint). */
  e2aeSessions(callId: string): readonly E2aeSession[] {
    return this.e2ae?.sessionsOf(callId) ?? [];
  }

  private purge(): void {
    this.registrations.purge();
    this.capabilities.purgeExpired();
    const now = Date.now();
    for (const [k, p] of this.pendingOffers) if (p.expires <= now) this.pendingOffers.delete(k);
    this.limiter?.sweep(60_000);
  }

  private record(e: AuditEvent): void {
    try {
      this.audit?.record(e);
    } catch (err) {
      this.log.warn({ err }, "audit sink failed");
    }
  }

  // ------------------------------------------------------------------------------------------------------------------
  // routing (RFC 3261 §16.5)

  private route(pr: ProxyRequest): RouteOutcome<TxData> | Promise<RouteOutcome<TxData>> {
    const req = pr.req;
    const toTag = req.toTag();
    if (toTag !== undefined) this.inDialog(req, toTag);
    else if (req.method === "INVITE") {
      // RFC 3261 §21.5.4: 503 + Retry-After when the P-CSCF is at its session capacity (never silent)
      const max = this.opts.maxSessions ?? 10_000;
      if (this.sessions.size >= max) return this.capacity("E_PCSCF_SESSION_LIMIT", `limit of ${max} sessions reached`);
      const out = this.routeDirection(pr);
      const ptx = pr.ptx as ProxyTransaction<TxData> | undefined;
      if (!ptx) return out;
      return out instanceof Promise ? out.then((o) => this.track(pr, ptx, o)) : this.track(pr, ptx, out);
    }
    // RFC 3261 §15.1: BYE ends the session; its AGW contexts go with it (TR 29.828 §5.2.1 resources)
    if (req.method === "BYE" && this.e2ae) this.e2ae.releaseDialog(req.callId(), req.fromTag(), toTag, "BYE");
    return this.routeDirection(pr);
  }

  private routeDirection(pr: ProxyRequest): RouteOutcome<TxData> | Promise<RouteOutcome<TxData>> {
    const req = pr.req;
    // RFC 3261 §11: OPTIONS addressed to the proxy itself is answered by it
    if (req.method === "OPTIONS" && req.getHeader("Route") === undefined) {
      const ruri = req.requestUri();
      if (isSipUri(ruri) && ruri.user === undefined && this.proxy.isOwnUri(ruri)) {
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
    if (this.split) return pr.iface === this.access;
    const first = pr.popped[0];
    if (!first) return true;
    const k = ownRouteKind(first).kind;
    return !(k === "core" || k === "path");
  }

  private defaultTransport(iface: ProxyInterface): SipTransportProtocol {
    return iface.layer.protocols()[0] ?? "UDP";
  }

  /** A Record-Route entry for one leg (RFC 3261 §16.6 step 4; RFC 5658 §4: the URI of the interface of that leg). */
  private rrEntry(side: Side, transport: SipTransportProtocol, user: string): string {
    const iface = side === "access" ? this.access : this.core;
    const t = iface.layer.protocols().includes(transport) ? transport : this.defaultTransport(iface);
    const v = iface.layer.localVia(t);
    const tp = t === "UDP" ? "" : `;transport=${t.toLowerCase()}`;
    return `<sip:${user}@${v.host}${v.port !== undefined ? `:${v.port}` : ""}${tp};lr>`;
  }

  private routeFromAccess(pr: ProxyRequest): RouteOutcome<TxData> | Promise<RouteOutcome<TxData>> {
    const req = pr.req;
    // TS 24.229 §5.2.2 (specs.md §5): sec-agree headers and option tags end at the P-CSCF
    req.removeHeader("Security-Client");
    req.removeHeader("Security-Verify");
    dropOptionTag(req, "Require", "sec-agree");
    dropOptionTag(req, "Proxy-Require", "sec-agree");
    if (req.method === "REGISTER") return this.routeRegister(pr);
    const flow = flowOf(pr.source);
    const inDialog = req.toTag() !== undefined;
    let fromAor: string | undefined;
    try {
      const f = req.from().uri;
      fromAor = isSipUri(f) ? canonicalAor(f) : undefined;
    } catch {
      fromAor = undefined;
    }
    const reg = this.registrations.forFlow(flow, fromAor);
    if (!inDialog && req.method !== "ACK" && req.method !== "CANCEL") {
      // TS 24.229 §5.2.6.3: initial requests are accepted only from UEs registered through this P-CSCF
      if (!reg && this.opts.requireRegistration !== false) {
        return this.refusal(403, "Forbidden", "E_PCSCF_NOT_REGISTERED: the UE is not registered via this P-CSCF");
      }
      // RFC 3325 §9.1 / TS 24.229 §5.2.6.3: identity headers from the UE are not trusted; the P-CSCF asserts it
      req.removeHeader("P-Asserted-Identity");
      req.removeHeader("P-Preferred-Identity");
      if (reg) req.setHeader("P-Asserted-Identity", `<${reg.aor}>`);
    }
    // RFC 3261 §16.5 / RFC 3608 §6: next hop = the preloaded route, else the Service-Route, else the S-CSCF
    let target: SipTarget;
    const coreT = this.defaultTransport(this.core);
    const top = req.routes()[0];
    if (this.nextHop) target = uriTarget(this.nextHop, coreT);
    else if (top) target = uriTarget(top.uri, coreT);
    else if (!inDialog && reg && reg.serviceRoute.length > 0) {
      for (const sr of [...reg.serviceRoute].reverse()) req.prependHeader("Route", sr);
      const first = req.routes()[0];
      target = first ? uriTarget(first.uri, coreT) : uriTarget(req.requestUri(), coreT);
    } else if (!inDialog && this.scscf) {
      req.prependHeader("Route", `<${formatUri(this.scscf)}>`);
      target = uriTarget(this.scscf, coreT);
    } else target = uriTarget(req.requestUri(), coreT);

    const data: TxData = {
      fromAccess: true,
      callId: req.callId(),
      caps: reg ? this.capabilities.capabilities(reg.aor, reg.key) : new Set(),
    };
    const alg = this.algRequest(pr, data);
    if (alg.reply) return alg.reply;
    const out: ForwardOutcome<TxData> = { kind: "forward", iface: this.core, target, data };
    if (!inDialog && DIALOG_METHODS.has(req.method)) {
      out.recordRoute = [
        this.rrEntry("access", flow.transport, `a-${this.tokens.encode(flow)}`),
        this.rrEntry("core", target.transport, "c"),
      ];
    }
    return alg.anchor ? this.anchorAndForward(pr, data, alg.anchor, out) : out;
  }

  private routeFromCore(pr: ProxyRequest): RouteOutcome<TxData> | Promise<RouteOutcome<TxData>> {
    const req = pr.req;
    const inDialog = req.toTag() !== undefined;
    // RFC 5626 §5.3 style: the flow token of our Path (initial requests) or access Record-Route entry (in-dialog)
    let flow: Flow | undefined;
    for (const p of pr.popped) {
      const k = ownRouteKind(p);
      if ((k.kind === "access" || k.kind === "path") && k.token !== undefined) {
        flow = this.tokens.decode(k.token);
        if (flow) break;
      }
    }
    const ruri = req.requestUri();
    let reg: Registration | undefined;
    if (flow) reg = this.registrations.forFlow(flow);
    else if (isSipUri(ruri)) {
      reg = this.registrations.byContact(ruri);
      flow = reg?.flow;
    }
    const accessT = this.defaultTransport(this.access);
    let target: SipTarget;
    const top = req.routes()[0];
    if (top) target = uriTarget(top.uri, flow?.transport ?? accessT);
    else if (flow) {
      const t = this.flowTargetFor(flow, ruri);
      // RFC 5626 §5.3: the flow toward the UE is gone and the contact cannot be reached otherwise
      if (!t) return { kind: "reply", status: 430, reason: "Flow Failed" };
      target = t;
    } else {
      if (!isSipUri(ruri) || this.proxy.isOwnUri(ruri)) return { kind: "reply", status: 404 };
      target = uriTarget(ruri, accessT);
    }
    const data: TxData = {
      fromAccess: false,
      callId: req.callId(),
      caps: reg ? this.capabilities.capabilities(reg.aor, reg.key) : new Set(),
    };
    const alg = this.algRequest(pr, data);
    if (alg.reply) return alg.reply;
    const out: ForwardOutcome<TxData> = { kind: "forward", iface: this.access, target, data };
    if (!inDialog && DIALOG_METHODS.has(req.method)) {
      const f: Flow = flow ?? { transport: target.transport, host: target.host, port: target.port };
      out.recordRoute = [
        this.rrEntry("core", pr.source.transport, "c"),
        this.rrEntry("access", target.transport, `a-${this.tokens.encode(f)}`),
      ];
    }
    return alg.anchor ? this.anchorAndForward(pr, data, alg.anchor, out) : out;
  }

  /** Target for a flow: its connection while open (RFC 5626 §5.3); else the contact when it is routable. */
  private flowTargetFor(flow: Flow, ruri: ReturnType<SipRequest["requestUri"]>): SipTarget | undefined {
    if (flow.transport === "UDP") return flowTarget(flow);
    if (flow.connectionId !== undefined && this.access.layer.hasConnection(flow.transport, flow.connectionId)) {
      return flowTarget(flow);
    }
    if (isSipUri(ruri) && !bareHost(ruri.host).endsWith(".invalid")) {
      try {
        const t = uriTarget(ruri, flow.transport);
        return this.access.layer.hasTransport(t.transport) ? t : undefined;
      } catch {
        return undefined;
      }
    }
    return undefined;
  }

  /** A response generated here with a Warning (RFC 3261 §20.43, warn-code 399). */
  private refusal(status: number, reason: string, text: string): ReplyOutcome {
    const warning = formatWarningValue({ code: 399, agent: this.alg.warnAgent, text });
    return { kind: "reply", status, reason, headers: [{ name: "Warning", value: warning }] };
  }

  // ------------------------------------------------------------------------------------------------------------------
  // REGISTER (TS 24.229 §5.2.2, RFC 3327 §5.2)

  private routeRegister(pr: ProxyRequest): RouteOutcome<TxData> {
    const req = pr.req;
    // RFC 3327 §5.2: Path is added only for UAs that support it; this P-CSCF needs it, so it answers 421
    if (!req.supported().some((t) => t.toLowerCase() === "path")) {
      return { kind: "reply", status: 421, headers: [{ name: "Require", value: "path" }] };
    }
    const to = req.to().uri;
    if (!isSipUri(to)) return { kind: "reply", status: 400, reason: "AOR is not a SIP URI" };
    const flow = flowOf(pr.source);
    const aor = canonicalAor(to);
    const maxRegs = this.opts.maxRegistrations ?? 100_000;
    if (this.registrations.size >= maxRegs && this.registrations.ofAor(aor).length === 0) {
      this.registrations.purge();
      // RFC 3261 §21.5.4: a full table refuses a new UE (503 + Retry-After) rather than evict a registered one
      if (this.registrations.size >= maxRegs)
        return this.capacity("E_PCSCF_REG_LIMIT", `limit of ${maxRegs} registrations reached`);
    }
    // TS 24.229 §7.2A.7: the UE's media-plane mechanisms (mediasec) from Security-Client, kept here
    const caps = mediasecCapabilities(pr.received.getHeaders("Security-Client"));
    const contacts = req.contact();
    const coreT = this.defaultTransport(this.core);
    let target: SipTarget;
    const top = req.routes()[0];
    if (this.nextHop) target = uriTarget(this.nextHop, coreT);
    else if (top) target = uriTarget(top.uri, coreT);
    else if (this.scscf) {
      req.prependHeader("Route", `<${formatUri(this.scscf)}>`);
      target = uriTarget(this.scscf, coreT);
    } else target = uriTarget(req.requestUri(), coreT);
    // RFC 3327 §5.2: our URI as the topmost Path value; its user part is the UE's flow token (RFC 5626 §5.3 style)
    req.prependHeader("Path", this.rrEntry("core", target.transport, `p-${this.tokens.encode(flow)}`));
    // RFC 3327 §5.2: Require: path makes a registrar without Path support refuse rather than ignore it
    if (!req.require().some((t) => t.toLowerCase() === "path")) {
      const r = req.getHeader("Require");
      req.setHeader("Require", r === undefined || r.trim() === "" ? "path" : `${r}, path`);
    }
    return {
      kind: "forward",
      iface: this.core,
      target,
      data: {
        fromAccess: true,
        callId: req.callId(),
        caps,
        register: { aor, contacts, caps, flow },
      },
    };
  }

  private onRegisterResponse(res: SipResponse, r: RegisterData): void {
    if (res.status < 200 || res.status >= 300) return;
    const granted = res.contact();
    const list = granted === "*" ? [] : granted;
    const serviceRoute = res.getValues("Service-Route");
    const associatedUris = res.getValues("P-Associated-URI");
    const now = Date.now();
    const requested =
      r.contacts === "*"
        ? this.registrations.ofAor(r.aor).map((g) => ({ uri: parseSipUri(g.contact), params: [] }) as NameAddr)
        : r.contacts;
    for (const c of requested) {
      if (!isSipUri(c.uri)) continue;
      const uri = c.uri;
      const instance = getParam(c.params, "+sip.instance");
      const key = contactKey({
        ...(typeof instance === "string" ? { instance } : {}),
        uri: formatUri(uri),
      });
      const match = list.find((g) => isSipUri(g.uri) && sipUriEquals(g.uri, uri));
      const ep = match ? getParam(match.params, "expires") : undefined;
      // RFC 3261 §10.3 step 8: the 200 lists every binding with its expiry (contact param, else Expires)
      const expires = match ? (typeof ep === "string" ? Number(ep) : (res.expires() ?? 0)) : 0;
      if (expires > 0) {
        this.registrations.upsert(
          {
            aor: r.aor,
            contact: formatUri(uri),
            key,
            flow: r.flow,
            expiresAt: now + expires * 1000,
            serviceRoute,
            associatedUris,
          },
          uri,
        );
        this.capabilities.set(r.aor, key, r.caps, expires);
      } else {
        this.registrations.remove(r.aor, key);
        this.capabilities.set(r.aor, key, [], 0);
      }
    }
    // TS 24.229 §7.2A.7: the media-plane mechanisms both the UE and this P-CSCF support, echoed in Security-Server
    if (this.opts.securityServer !== false && r.caps.size > 0 && list.length > 0) {
      const accepted = registeredCapabilities(r.caps, this.alg.supportedMediasec);
      if (accepted.size > 0) res.addHeader("Security-Server", mediasecServerEntries(accepted).join(", "));
    }
    this.log.info({ aor: r.aor, contacts: list.length, caps: [...r.caps] }, "registration");
  }

  // ------------------------------------------------------------------------------------------------------------------
  // IMS-ALG

  /**
   * Decides a body (TS 33.328 §7.2.5 step 2 and the e2ae/e2DCe branches). `anchorable`: the caller can anchor the
   * e2ae m-lines of this body on the IMS-AGW (an offer in a request, or the answer of an anchored offer); else they
   * are refused with E_ALG_E2AE_UNAVAILABLE (fail closed, DESIGN rule 4). The audit is left to the caller
   * (`auditDecision`), which knows the body that left.
   */
  private decide(
    body: Uint8Array,
    ctx: {
      direction: Direction;
      kind: SdpKind;
      callId: string;
      caps: ReadonlySet<string>;
      offer?: AlgDecision;
      anchorable?: boolean;
    },
  ): Decided {
    const decision = decideSdp(body, {
      direction: ctx.direction,
      kind: ctx.kind,
      callId: ctx.callId,
      capabilities: ctx.caps,
      config: this.decisionConfig,
      ...(ctx.offer ? { offer: ctx.offer } : {}),
    });
    let refuse: Decided["refuse"] = decision.refuse
      ? {
          status: decision.refuse.status,
          reason: decision.refuse.reason,
          warning: decision.refuse.warning,
          codes: decision.refuse.codes,
        }
      : undefined;
    const unavailable = new Map<number, Unavailable>();
    if (!refuse && decision.action === "anchor") {
      for (const m of decision.anchors.e2ae) {
        const family = decision.perMedia.find((p) => p.mline === m)?.family;
        const code = "E_ALG_E2AE_UNAVAILABLE";
        // fail closed (DESIGN rule 4): no IMS-AGW bound (or e2ae switched off), a stream the AGW cannot relay (it
        // has TCP terminations only: no DTLS/SCTP data channel edge), or an offer that cannot be anchored here
        if (!this.e2ae) unavailable.set(m, { code, text: "e2ae not available" });
        else if (family !== "msrp" && family !== "bfcp")
          unavailable.set(m, { code, text: "e2ae not available for this media (the IMS-AGW relays TCP MSRP/BFCP)" });
        else if (!ctx.anchorable)
          unavailable.set(m, {
            code,
            text:
              ctx.kind === "offer"
                ? "e2ae not available for an offer in a response"
                : "e2ae not available (no anchored offer for this answer)",
          });
      }
      // an anchored e2DCe needs a DC edge that does not exist
      for (const m of decision.anchors.e2dce)
        unavailable.set(m, { code: "E_ALG_E2DCE_UNAVAILABLE", text: "e2DCe not available" });
      if (unavailable.size > 0) refuse = this.refusalOf([...unavailable].map(([m, u]) => ({ ...u, mline: m })));
    }
    return refuse ? { decision, refuse, unavailable } : { decision, unavailable };
  }

  /** A 488 (RFC 3261 §21.4.26) with one warning-value per item (RFC 3261 §20.43, warn-code 399). */
  private refusalOf(items: { code: string; text: string; mline: number }[]): NonNullable<Decided["refuse"]> {
    const warnings = items.map((i) => ({
      code: 399 as const,
      agent: this.alg.warnAgent,
      text: warnText(`${i.code}: ${i.text} (m-line ${i.mline})`),
    }));
    return {
      status: 488,
      reason: "Not Acceptable Here",
      warning: warnings.map(formatWarningValue).join(", "),
      codes: items.map((i) => i.code),
    };
  }

  /**
   * One audit event per m-line decision, with the body that left (`null`: none) and, per m-line, extra fields (the
   * Iq outcome of an anchored stream). `refuse` overrides the decision's own refusal (a refusal made here).
   */
  private auditDecision(
    d: Decided,
    callId: string,
    sip: string,
    bodyIn: Uint8Array,
    bodyOut: Uint8Array | null,
    extra?: ReadonlyMap<number, Record<string, unknown>>,
    refuse: Decided["refuse"] = d.refuse,
    refuseCodes?: ReadonlyMap<number, string>,
  ): void {
    if (!this.audit) return;
    for (const e of auditEvents(d.decision, { callId, bodyIn, bodyOut })) {
      // properties set in place: a `{ ...e, more }` spread costs ~10 µs per event in V8
      e.instance = this.name;
      e.sip = sip;
      if (refuse) {
        e.action = "refuse";
        e.status = refuse.status;
        e.warning = refuse.warning;
      }
      if (typeof e.mline === "number") {
        const code = refuseCodes?.get(e.mline) ?? d.unavailable.get(e.mline)?.code;
        if (code !== undefined) e.refuseCode = code;
        const x = extra?.get(e.mline);
        if (x) Object.assign(e, x);
      }
      this.record(e);
    }
  }

  /** Audit fields of the anchored streams of a session, per m-line (the Iq outcome, TR 29.828 steps 2-7). */
  private streamAudit(session: E2aeSession): Map<number, Record<string, unknown>> {
    const out = new Map<number, Record<string, unknown>>();
    for (const s of session.streams) {
      out.set(s.mline, {
        iq: "ok",
        agwSession: session.id,
        agwContextId: s.contextId,
        agwFingerprint: `${s.agwFingerprint.algorithm} ${s.agwFingerprint.value}`,
        agwAccess: `${s.access.localAddress}:${s.access.localPort}`,
        agwCore: `${s.core.localAddress}:${s.core.localPort}`,
      });
    }
    return out;
  }

  /** The IMS-ALG on a request body: the 488 to answer, the anchoring to run, or nothing (forward unchanged). */
  private algRequest(pr: ProxyRequest, d: TxData): { reply?: ReplyOutcome; anchor?: Decided } {
    const req = pr.req;
    if (!OA_METHODS.has(req.method)) return {};
    const body = sdpBody(req);
    if (!body) return {};
    const pending = this.pendingOffers.get(d.callId);
    let kind: SdpKind = "offer";
    let direction: Direction = d.fromAccess ? "originating" : "terminating";
    let offer: AlgDecision | undefined;
    if ((req.method === "ACK" || req.method === "PRACK") && pending && pending.fromAccess !== d.fromAccess) {
      // RFC 3261 §13.2.1 / RFC 3262: the answer to an offer made in a response travels in the ACK (or PRACK)
      kind = "answer";
      direction = pending.direction;
      offer = pending.decision;
      this.pendingOffers.delete(d.callId);
    } else if (req.method === "ACK") {
      kind = "answer";
      direction = d.fromAccess ? "terminating" : "originating";
    }
    // an offer in a request can wait for the Iq procedures (the route is asynchronous); answers in ACK/PRACK answer
    // offers made in responses, which are never anchored
    const r = this.decide(body, {
      direction,
      kind,
      callId: d.callId,
      caps: d.caps,
      anchorable: kind === "offer",
      ...(offer ? { offer } : {}),
    });
    if (kind === "offer") d.offer = { decision: r.decision, direction };
    if (!r.refuse && r.decision.anchors.e2ae.length > 0 && kind === "offer") return { anchor: r };
    this.auditDecision(r, d.callId, req.method, body, r.refuse ? null : body);
    if (!r.refuse) return {};
    if (req.method === "ACK") {
      // an ACK cannot be refused: it is forwarded, then the session is released (TS 24.229 §5.2.8)
      if (kind === "answer" && pending)
        this.scheduleRelease(pending.ptx, r.refuse.warning, r.refuse.codes[0] ?? "E_ALG");
      return {};
    }
    this.log.info({ callId: d.callId, method: req.method, codes: r.refuse.codes }, "ims-alg: offer refused");
    return {
      reply: {
        kind: "reply",
        status: r.refuse.status,
        reason: r.refuse.reason,
        headers: [{ name: "Warning", value: r.refuse.warning }],
      },
    };
  }

  /**
   * TR 29.828 §5.2.1.2.2 / §5.2.1.3.2 (originating) and §5.2.1.2.3 / §5.2.1.3.3 (terminating) steps 2-9: the Iq
   * procedures of the offer, the offer rewritten with the AGW's data (step 8), then forwarded (step 9). An Iq failure
   * releases what was reserved and answers 488 with a Warning naming the AGW's error code.
   */
  private async anchorAndForward(
    pr: ProxyRequest,
    d: TxData,
    r: Decided,
    out: ForwardOutcome<TxData>,
  ): Promise<RouteOutcome<TxData>> {
    const e2ae = this.e2ae;
    const req = pr.req;
    const body = sdpBody(req);
    if (!e2ae || !body) return out; // not reached: algRequest anchors only with both
    let o: Awaited<ReturnType<E2aeAnchor["anchorOffer"]>>;
    try {
      o = await e2ae.anchorOffer(body, r.decision, { callId: d.callId, fromTag: req.fromTag(), toTag: req.toTag() });
    } catch (e) {
      // a bug, not an Iq failure (those are outcomes): nothing may be forwarded unanchored
      this.log.error({ err: e, callId: d.callId }, "e2ae: anchoring failed");
      return { kind: "reply", status: 500 };
    }
    if (!o.ok) {
      const item =
        "failure" in o
          ? {
              code: o.failure.code,
              mline: o.failure.mline,
              text: `${o.failure.procedure} failed: ${o.failure.agwCode ?? (o.failure.code === "E_ALG_IQ_TIMEOUT" ? "no answer" : "error")}: ${o.failure.message}`,
            }
          : { code: o.rewrite.code, mline: o.rewrite.mline, text: o.rewrite.message };
      const refuse = this.refusalOf([item]);
      // RFC 3261 §21.5.4: an IMS-AGW at capacity or unreachable is temporary — 503 + Retry-After rather than 488
      const agwCode = "failure" in o ? o.failure.agwCode : undefined;
      const full = agwCode !== undefined && TEMPORARY_AGW_CODES.has(agwCode);
      if (full) {
        refuse.status = 503;
        refuse.reason = "Service Unavailable";
      }
      const extra = new Map<number, Record<string, unknown>>();
      if ("failure" in o) {
        extra.set(o.failure.mline, {
          iq: "failed",
          iqProcedure: o.failure.procedure,
          iqClause: o.failure.clause,
          ...(o.failure.agwCode !== undefined ? { iqError: o.failure.agwCode } : {}),
        });
      }
      this.auditDecision(r, d.callId, req.method, body, null, extra, refuse, new Map([[item.mline, item.code]]));
      delete d.offer;
      this.log.info({ callId: d.callId, code: item.code, text: item.text }, "e2ae: offer refused");
      if (full && agwCode !== undefined) this.count(agwCode);
      return {
        kind: "reply",
        status: refuse.status,
        reason: refuse.reason,
        headers: [
          { name: "Warning", value: refuse.warning },
          ...(full ? [{ name: "Retry-After", value: String(this.opts.retryAfter ?? 5) }] : []),
        ],
      };
    }
    req.setBody(o.body);
    d.anchor = o.session;
    this.auditDecision(r, d.callId, req.method, body, o.body, this.streamAudit(o.session));
    this.watchOfferTransaction(pr, o.session);
    return out;
  }

  /**
   * The AGW resources of an offer go when its transaction ends without a 2xx, whoever generated the final response:
   * a CANCEL before the request left (487 here), a transport failure (500), Timer C or a timeout (408, RFC 3261
   * §16.8), or a transaction that died without any final response. Finals from downstream are handled in onResponse.
   */
  private watchOfferTransaction(pr: ProxyRequest, session: E2aeSession): void {
    const stx = pr.stx;
    if (!stx) return;
    const check = () => {
      const status = stx.lastResponse?.status;
      if (status !== undefined && status >= 200 && status < 300) return;
      if (status === undefined || status >= 300 || stx.state === "terminated")
        void this.e2ae?.release(
          session,
          status !== undefined && status >= 300 ? `final response ${status}` : "transaction ended without answer",
        );
    };
    stx.onTerminated(check);
    // the proxy applies the route outcome right after this promise settles (a 487 if a CANCEL came meanwhile)
    setImmediate(() => {
      if (stx.finalSent || stx.state === "terminated") check();
    });
  }

  private onResponse(res: SipResponse, ptx: ProxyTransaction<TxData>): boolean | undefined {
    const d = ptx.data;
    if (!d) return undefined;
    if (d.register) {
      this.onRegisterResponse(res, d.register);
      return undefined;
    }
    if (d.session) this.sessionResponse(d.session, res.status);
    const session = d.anchor?.state === "released" ? undefined : d.anchor;
    // TR 29.828 §5.2.1: a failed offer/answer exchange (non-2xx final, incl. the 487 after CANCEL) needs no AGW
    if (session && res.status >= 300) void this.e2ae?.release(session, `final response ${res.status}`);
    const method = res.cseq().method;
    if (res.status >= 300 || !OA_METHODS.has(method)) return undefined;
    if (session && res.status >= 200) this.e2ae?.establish(session, res.toTag());
    const body = sdpBody(res);
    if (!body) return undefined;
    const sip = `${res.status} ${method}`;
    let r: Decided;
    if (d.offer) {
      r = this.decide(body, {
        direction: d.offer.direction,
        kind: "answer",
        callId: d.callId,
        caps: d.caps,
        offer: d.offer.decision,
        anchorable: session !== undefined,
      });
      if (session && !r.refuse && r.decision.anchors.e2ae.length > 0) {
        const refused = this.anchorAnswer(res, ptx, session, body, r, sip);
        if (!refused) return undefined;
        r = { ...r, refuse: refused };
      } else this.auditDecision(r, d.callId, sip, body, r.refuse ? null : body);
    } else {
      // RFC 3261 §13.2.1: an INVITE without offer gets the offer in the response; the answer comes in ACK/PRACK
      const direction: Direction = d.fromAccess ? "terminating" : "originating";
      r = this.decide(body, { direction, kind: "offer", callId: d.callId, caps: d.caps, anchorable: false });
      this.auditDecision(r, d.callId, sip, body, r.refuse ? null : body);
      if (!r.refuse) {
        this.pendingOffers.set(d.callId, {
          decision: r.decision,
          direction,
          fromAccess: !d.fromAccess,
          expires: Date.now() + 64 * this.access.txm.timers.T1,
          ptx,
        });
      }
    }
    const refuse = r.refuse;
    if (!refuse) return undefined;
    if (res.status < 200) {
      // the INVITE is still pending: the branch is cancelled and the caller gets the 488 (RFC 3261 §16.10, §21.4.26)
      ptx.replaceFinal = {
        kind: "reply",
        status: 488,
        reason: refuse.reason,
        headers: [{ name: "Warning", value: refuse.warning }],
      };
      this.proxy.cancel(ptx);
      this.log.info({ callId: d.callId, codes: refuse.codes }, "ims-alg: provisional answer refused, branch cancelled");
      return false;
    }
    // RFC 3261 §16.7 step 5/10: a 2xx cannot be refused; it is forwarded and the session released (TS 24.229 §5.2.8)
    this.scheduleRelease(ptx, refuse.warning, refuse.codes[0] ?? "E_ALG");
    return undefined;
  }

  /**
   * The answer of an anchored exchange: rewritten at once for its receiver (MSRP step 19 / BFCP step 17 toward the
   * originating UE, step 17 toward the core), the Configure procedures (13-18 / 14-16) sent meanwhile. Returns the
   * refusal when the answer cannot be rewritten (the caller then cancels or releases like any refused answer).
   */
  private anchorAnswer(
    res: SipResponse,
    ptx: ProxyTransaction<TxData>,
    session: E2aeSession,
    body: Uint8Array,
    r: Decided,
    sip: string,
  ): Decided["refuse"] {
    const e2ae = this.e2ae;
    if (!e2ae) return this.refusalOf([{ code: "E_ALG_E2AE_UNAVAILABLE", text: "e2ae not available", mline: 0 }]);
    const a = e2ae.answer(session, body, r.decision);
    if (!a.ok) {
      const refuse = this.refusalOf([{ code: a.rewrite.code, text: a.rewrite.message, mline: a.rewrite.mline }]);
      this.auditDecision(
        r,
        session.callId,
        sip,
        body,
        null,
        undefined,
        refuse,
        new Map([[a.rewrite.mline, a.rewrite.code]]),
      );
      void e2ae.release(session, `answer rewrite failed: ${a.rewrite.code}`);
      return refuse;
    }
    res.setBody(a.body);
    this.auditDecision(r, session.callId, sip, body, a.body, this.streamAudit(session));
    a.configured.then(
      (f) => {
        if (f) this.onConfigureFailure(ptx, session, f);
      },
      (e: unknown) => this.log.error({ err: e }, "e2ae: configure failed unexpectedly"),
    );
    return undefined;
  }

  /**
   * A Configure procedure of the answer failed: the AGW cannot carry the stream. The resources are released; a
   * pending INVITE is cancelled and answered 488 with the Warning, an accepted one is released with BYE
   * (TS 24.229 §5.2.8, as for a refused answer in a 2xx).
   */
  private onConfigureFailure(ptx: ProxyTransaction<TxData>, session: E2aeSession, f: IqFailure): void {
    void this.e2ae?.release(session, `Iq failure: ${f.procedure} ${f.agwCode ?? f.code}`);
    const refuse = this.refusalOf([
      {
        code: f.code,
        mline: f.mline,
        text: `${f.procedure} failed: ${f.agwCode ?? (f.code === "E_ALG_IQ_TIMEOUT" ? "no answer" : "error")}: ${f.message}`,
      },
    ]);
    this.log.info({ callId: session.callId, code: f.code, agwCode: f.agwCode }, "e2ae: Configure failed");
    if (ptx.finalSent === undefined) {
      ptx.replaceFinal = {
        kind: "reply",
        status: 488,
        reason: refuse.reason,
        headers: [{ name: "Warning", value: refuse.warning }],
      };
      this.proxy.cancel(ptx);
    } else if (ptx.finalSent >= 200 && ptx.finalSent < 300) this.scheduleRelease(ptx, refuse.warning, f.code);
  }

  // ------------------------------------------------------------------------------------------------------------------
  // sessions and limits (docs/pcscf.md "Limits")

  /** A refusal for lack of capacity: 503 + Retry-After (RFC 3261 §21.5.4, §20.33) with a Warning naming the code. */
  private capacity(code: string, text: string): ReplyOutcome {
    this.count(code);
    this.log.warn({ code, text }, "pcscf: request refused for capacity");
    const r = this.refusal(503, "Service Unavailable", `${code}: ${text}`);
    r.headers = [...(r.headers ?? []), { name: "Retry-After", value: String(this.opts.retryAfter ?? 5) }];
    return r;
  }

  private count(code: string): void {
    this.refusals.set(code, (this.refusals.get(code) ?? 0) + 1);
  }

  /**
   * Per-source admission on the access side, before the request is even parsed (SipTransportLayer gate): refusals
   * are answered 503 + Retry-After (RFC 3261 §21.5.4) statelessly, at most at the source's own rate, beyond which
   * requests are dropped unread; each episode is logged once when it starts and once, with its count, when it ends
   * (a flood must not become a log flood). Retransmissions count like any request.
   */
  private admit(source: SipSource): InboundGateVerdict {
    const limiter = this.limiter;
    if (!limiter) return undefined;
    if (!this.split && this.exempt.has(`${bareHost(source.host)}|${source.port}`)) return undefined;
    const key = limiter.keyOf(source);
    const a = limiter.check(key);
    if (a.admit) return undefined;
    this.count("E_PCSCF_RATE_LIMITED");
    if (a.first) {
      this.log.warn({ code: "E_PCSCF_RATE_LIMITED", source: key }, "pcscf: source over its rate");
      this.record({
        node: "pcscf",
        instance: this.name,
        event: "rate-limit",
        decision: "refuse",
        clause: "RFC 3261 §21.5.4",
        code: "E_PCSCF_RATE_LIMITED",
        source: key,
        rate: limiter.config.rate,
        burst: limiter.config.burst,
      });
    }
    if (!a.answer) return "drop";
    const warning = formatWarningValue({
      code: 399,
      agent: this.alg.warnAgent,
      text: `E_PCSCF_RATE_LIMITED: more than ${limiter.config.rate} requests/s from this source`,
    });
    return {
      status: 503,
      reason: "Service Unavailable",
      headers: [
        { name: "Retry-After", value: String(a.retryAfter) },
        { name: "Warning", value: warning },
      ],
    };
  }

  private episodeEnd(e: RefusalEpisode): void {
    this.log.warn({ code: "E_PCSCF_RATE_LIMITED", source: e.source, refused: e.refused }, "pcscf: rate episode over");
  }

  /** An initial INVITE that is forwarded opens a session (TS 24.229 §5.2.8 needs its dialog later). */
  private track(pr: ProxyRequest, ptx: ProxyTransaction<TxData>, o: RouteOutcome<TxData>): RouteOutcome<TxData> {
    if (o.kind !== "forward" || !o.data) return o;
    const req = pr.req;
    const s: PcscfSession<ProxyTransaction<TxData>> = {
      callId: req.callId(),
      fromTag: req.fromTag() ?? "",
      ptx,
      state: "early",
      createdAt: Date.now(),
      cseqCaller: req.cseq().seq,
      cseqCallee: 0,
      source: `${pr.source.transport}|${pr.source.host}|${pr.source.port}`,
      timer: undefined,
    };
    o.data.session = s;
    this.sessions.add(s);
    // RFC 3261 §16.7 / §16.8: a transaction that ends without a 2xx (final error, CANCEL, Timer C) ends the session
    pr.stx?.onTerminated(() => {
      if (s.state === "early") this.sessions.delete(s);
    });
    return o;
  }

  /** A response to the initial INVITE moves its session on. */
  private sessionResponse(s: PcscfSession<ProxyTransaction<TxData>>, status: number): void {
    if (status >= 300) {
      if (s.state === "early") this.sessions.delete(s);
      return;
    }
    if (status < 200 || s.state === "confirmed") return;
    s.state = "confirmed";
    const maxAge = this.opts.sessionMaxAgeMs ?? 12 * 3600_000;
    if (maxAge > 0) {
      s.timer = setTimeout(
        () => this.releaseSession(s, "E_PCSCF_SESSION_AGE", 408, "session lifetime exceeded"),
        maxAge,
      );
      s.timer.unref();
    }
  }

  /** In-dialog requests: the CSeq seen each way (for a BYE of ours in sequence), and BYE ends the session. */
  private inDialog(req: SipRequest, toTag: string): void {
    if (req.method === "ACK" || req.method === "CANCEL") return;
    const fromTag = req.fromTag();
    const s = this.sessions.forDialog(req.callId(), fromTag, toTag);
    if (!s) return;
    const seq = req.cseq().seq;
    // RFC 3261 §12.2.1.1: each UA's CSeq grows by one per request it sends in the dialog
    if (fromTag === s.fromTag) s.cseqCaller = Math.max(s.cseqCaller, seq);
    else s.cseqCallee = Math.max(s.cseqCallee, seq);
    if (req.method === "BYE") this.sessions.delete(s);
  }

  /**
   * The IMS-AGW reported that an anchored stream's media is gone or never came (TCP establishment timeout, relay
   * idle/half-close timeout, relay error): the resources are released and so is the session — TS 24.229 §5.2.8
   * (BYE both ways; a session still being set up is cancelled and answered 503). A failed TLS handshake alone does
   * not release anything: anyone can connect to the AGW port, so it must not be able to end the call; the
   * establishment timer bounds a termination that never sees its verified peer.
   */
  private onMediaFault(session: E2aeSession, e: IqClientEvent): void {
    const code =
      e.event === "relayEnded"
        ? "E_ALG_AGW_RELAY_ENDED"
        : e.event === "idleTimeout"
          ? "E_ALG_AGW_IDLE"
          : e.event === "agwRestarted"
            ? "E_ALG_AGW_RESTARTED"
            : "E_ALG_AGW_ESTABLISHMENT";
    void this.e2ae?.release(session, `AGW event ${e.event}`);
    for (const s of this.sessions.ofCall(session.callId)) this.releaseSession(s, code, 503, `IMS-AGW ${e.event}`);
  }

  /** TS 24.229 §5.2.8.1: the P-CSCF releases a session it serves (early: CANCEL downstream + final upstream). */
  private releaseSession(s: PcscfSession<ProxyTransaction<TxData>>, code: string, cause: number, text: string): void {
    if (!this.sessions.delete(s)) return;
    this.count(code);
    const ptx = s.ptx;
    const reason = `SIP;cause=${cause};text="${warnText(`${code}: ${text}`).replace(/[\\"]/g, "")}"`;
    if (s.state === "early" || ptx.finalSent === undefined) {
      // TS 24.229 §5.2.8.1.1: a session being established is cancelled; the caller gets the final response
      ptx.replaceFinal = this.refusal(
        cause,
        cause === 503 ? "Service Unavailable" : "Request Timeout",
        `${code}: ${text}`,
      );
      this.proxy.cancel(ptx);
      this.log.info({ callId: s.callId, code }, "pcscf: session being established released");
      return;
    }
    this.byeBothWays(ptx, reason, s);
  }

  // ------------------------------------------------------------------------------------------------------------------
  // P-CSCF-initiated release (TS 24.229 §5.2.8) after a 2xx (or ACK) whose SDP the IMS-ALG refused

  private releaseKey(callId: string, cseq: number): string {
    return `${callId}|${cseq}`;
  }

  private scheduleRelease(ptx: ProxyTransaction<TxData>, warning: string, code: string): void {
    const key = this.releaseKey(ptx.received.callId(), ptx.received.cseq().seq);
    if (this.releases.has(key)) return;
    const reason = `SIP;cause=488;text="${warnText(`${code}`).replace(/[\\"]/g, "")}"`;
    // the ACK of the 2xx normally passes here first; without it the release happens after 64*T1
    const timer = setTimeout(() => this.doRelease(key), 64 * this.access.txm.timers.T1);
    this.releases.set(key, { ptx, reason, timer });
    this.log.info({ key, warning }, "ims-alg: answer in a 2xx refused; session will be released");
  }

  private onAckForwarded(ack: SipRequest): void {
    if (this.releases.size === 0) return;
    this.doRelease(this.releaseKey(ack.callId(), ack.cseq().seq));
  }

  private doRelease(key: string): void {
    const r = this.releases.get(key);
    if (!r) return;
    this.releases.delete(key);
    clearTimeout(r.timer);
    const s = r.ptx.data?.session;
    if (s) this.sessions.delete(s);
    this.byeBothWays(r.ptx, r.reason, s);
  }

  /** TS 24.229 §5.2.8.1.2 / RFC 3326 §2: BYE toward both ends, in sequence, with a Reason header saying why. */
  private byeBothWays(
    ptx: ProxyTransaction<TxData>,
    reason: string,
    s: PcscfSession<ProxyTransaction<TxData>> | undefined,
  ): void {
    const headers: SipHeader[] = [{ name: "Reason", value: reason }];
    // the AGW contexts of the dialog go with it
    this.e2ae?.releaseDialog(ptx.received.callId(), undefined, undefined, `P-CSCF release: ${reason}`);
    // TS 24.229 §5.2.8.1.2: the CSeq stored for that direction, incremented by one
    const down = this.proxy.sendInDialog(
      ptx,
      "downstream",
      "BYE",
      headers,
      undefined,
      s ? s.cseqCaller + 1 : undefined,
    );
    const up = this.proxy.sendInDialog(ptx, "upstream", "BYE", headers, undefined, s ? s.cseqCallee + 1 : undefined);
    this.record({
      node: "pcscf",
      instance: this.name,
      event: "session-release",
      decision: "release",
      clause: "TS 24.229 §5.2.8; RFC 3326 §2",
      callId: ptx.received.callId(),
      reason,
      byeDownstream: down,
      byeUpstream: up,
    });
  }
}
