/**
 * The P-CSCF node: a stateful SIP proxy (RFC 3261 §16, src/sip/proxy.ts) between the UEs (access side, Gm) and the
 * S-CSCF (core side, Mw) with the IMS-ALG media-security decision on every SDP offer and answer (alg.ts).
 *
 * - REGISTER: Path with a flow token (RFC 3327 §5.2, RFC 5626 §5.3 style) and `Require: path`; Security-Client,
 *   Security-Verify and the sec-agree option tags stop here (TS 24.229 §5.2.2); the UE's `mediasec`
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
 *
 * This file is the facade and the wiring: the interfaces, the tables and the collaborators that do the work —
 * routing.ts (Router), register.ts (RegisterHandler), offerAnswer.ts (OfferAnswer: the IMS-ALG on every body, with
 * algVerdict.ts and offerAnchoring.ts),
 * sessionControl.ts (SessionControl: admission to release of INVITE sessions), admission.ts (per-source rate, capacity
 * refusals) and e2ae.ts (E2aeAnchor). Options and shared state: nodeTypes.ts.
 */
import { type AuditEvent, type Logger, silentLogger } from "../../log.ts";
import {
  bareHost,
  getParam,
  type InboundGate,
  isSipUri,
  parseSipUri,
  type SipResponse,
  type SipSource,
  SipTransportLayer,
  type SipTransportLayerOptions,
  type SipTransportProtocol,
  type SipUri,
  TransactionManager,
  type TransportLimits,
  withUriParam,
} from "../../sip/index.ts";
import { ProxyCore, type ProxyInterface, type ProxyTransaction } from "../../sip/proxy.ts";
import { Admission } from "./admission.ts";
import { AlgVerdict } from "./algVerdict.ts";
import { CapabilityStore } from "./capabilities.ts";
import { type AlgConfig, isWarnAgent, loadAlgConfig } from "./config.ts";
import { E2aeAnchor } from "./e2ae.ts";
import type { E2aeSession } from "./e2aeSession.ts";
import { PcscfError } from "./errors.ts";
import { FlowTokens } from "./flow.ts";
import { assertResponseFromUe } from "./identity.ts";
import type { AuditRecorder, PcscfInterfaceConfig, PcscfOptions, Side, TxData } from "./nodeTypes.ts";
import { OfferAnchoring } from "./offerAnchoring.ts";
import { OfferAnswer } from "./offerAnswer.ts";
import { RegisterHandler } from "./register.ts";
import { canonicalAor, type Registration, RegistrationTable } from "./registrations.ts";
import { requireTlsGate } from "./requireTls.ts";
import { Router } from "./routing.ts";
import { SessionControl } from "./sessionControl.ts";
import type { SessionTable } from "./sessions.ts";

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
  const tls = l(c.tls);
  const wss = l(c.wss);
  return {
    host: c.host ?? "127.0.0.1",
    ...(udp ? { udp } : {}),
    ...(tcp ? { tcp } : {}),
    ...(ws ? { ws } : {}),
    ...(tls ? { tls } : {}),
    ...(wss ? { wss } : {}),
    ...(c.tlsConfig ? { tlsConfig: c.tlsConfig } : {}),
    ...(c.viaHost !== undefined ? { viaHost: c.viaHost } : {}),
    ...(limits ? { limits } : {}),
    // RFC 3261 §16.3 item 1: a proxy checks what it reads; any other header is forwarded unchanged, even malformed
    validate: "proxy",
    logger,
  };
}

export class Pcscf {
  readonly name: string;
  readonly access: ProxyInterface;
  readonly core: ProxyInterface;
  readonly registrations: RegistrationTable;
  readonly capabilities: CapabilityStore;
  readonly alg: AlgConfig;
  /** INVITE sessions in progress (maxSessions, P-CSCF-initiated release) */
  readonly sessions: SessionTable<ProxyTransaction<TxData>>;
  /** refusals by code (limits and capacity), for metrics and tests */
  readonly refusals: Map<string, number>;
  private readonly split: boolean;
  private readonly proxy: ProxyCore<TxData>;
  private readonly log: Logger;
  private readonly audit: AuditRecorder | undefined;
  private readonly admission: Admission;
  private readonly sessionControl: SessionControl;
  private readonly offerAnswer: OfferAnswer;
  private readonly anchoring: OfferAnchoring;
  private readonly register: RegisterHandler;
  private readonly router: Router;
  /** the e2ae anchoring on the IMS-AGW (undefined without an Iq binding, or with e2ae switched off) */
  private readonly e2ae: E2aeAnchor | undefined;
  private purgeTimer: NodeJS.Timeout | undefined;
  private started = false;
  private closed = false;

  constructor(opts: PcscfOptions) {
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
            onMediaFault: (session, e) => this.sessionControl.onMediaFault(session, e),
          })
        : undefined;
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
    const scscf = sc && getParam(sc.params, "lr") === undefined ? withUriParam(sc, "lr", null) : sc;
    const nextHop = parse("coreNextHop", opts.coreNextHop);
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
    const tokens = new FlowTokens(opts.flowSecret);
    this.registrations = new RegistrationTable(opts.maxRegistrations);
    this.capabilities = new CapabilityStore({ maxEntries: opts.maxRegistrations ?? 100_000 });
    const record = (e: AuditEvent) => this.record(e);
    const retryAfter = opts.retryAfter ?? 5;
    this.admission = new Admission({
      name: opts.name,
      warnAgent: this.alg.warnAgent,
      log: this.log,
      record,
      rateLimit: opts.rateLimit,
      retryAfter,
      split: this.split,
      exempt: [scscf, nextHop],
    });
    this.refusals = this.admission.refusals;
    // the per-source limit guards the access side (with one shared interface, the S-CSCF's address is exempt)
    const tlsGate = this.requireTlsGate(opts, [scscf, nextHop], record);
    if (this.admission.limited || tlsGate) {
      accessLayer.setInboundGate((source) => this.admission.gate(source) ?? tlsGate?.(source));
    }
    this.proxy = new ProxyCore<TxData>({
      interfaces: this.split ? [this.access, this.core] : [this.access],
      // RFC 3329 §2.3.1 / TS 24.229 §5.2.2: the P-CSCF is the sec-agree peer of the UE
      proxyRequire: ["sec-agree"],
      ...(opts.aliases ? { aliases: opts.aliases } : {}),
      ...(opts.timerC !== undefined ? { timerC: opts.timerC } : {}),
      logger: this.log,
      policy: {
        route: (r) => this.router.route(r),
        onResponse: (res, tx) => this.onResponse(res, tx),
        onAckForwarded: (ack) => this.sessionControl.onAckForwarded(ack),
      },
    });
    this.sessionControl = new SessionControl({
      name: opts.name,
      warnAgent: this.alg.warnAgent,
      log: this.log,
      record,
      proxy: this.proxy,
      access: this.access,
      admission: this.admission,
      e2ae: this.e2ae,
      maxSessions: opts.maxSessions ?? 10_000,
      sessionMaxAgeMs: opts.sessionMaxAgeMs ?? 12 * 3600_000,
    });
    this.sessions = this.sessionControl.table;
    const verdict = new AlgVerdict({
      name: opts.name,
      alg: this.alg,
      e2ae: this.e2ae !== undefined,
      audit: this.audit,
      record,
    });
    const anchoring = new OfferAnchoring({
      log: this.log,
      e2ae: this.e2ae,
      verdict,
      proxy: this.proxy,
      sessions: this.sessionControl,
      admission: this.admission,
      retryAfter,
    });
    this.offerAnswer = new OfferAnswer({
      log: this.log,
      proxy: this.proxy,
      access: this.access,
      e2ae: this.e2ae,
      verdict,
      anchoring,
      sessions: this.sessionControl,
    });
    this.anchoring = anchoring;
    this.register = new RegisterHandler({
      log: this.log,
      core: this.core,
      registrations: this.registrations,
      capabilities: this.capabilities,
      tokens,
      admission: this.admission,
      scscf,
      nextHop,
      maxRegistrations: opts.maxRegistrations ?? 100_000,
      securityServer: opts.securityServer !== false,
      alg: this.alg,
    });
    this.router = new Router({
      access: this.access,
      core: this.core,
      split: this.split,
      proxy: this.proxy,
      tokens,
      registrations: this.registrations,
      capabilities: this.capabilities,
      alg: this.alg,
      scscf,
      nextHop,
      requireRegistration: opts.requireRegistration !== false,
      e2ae: this.e2ae,
      register: this.register,
      offerAnswer: this.offerAnswer,
      anchoring: this.anchoring,
      sessions: this.sessionControl,
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
    this.sessionControl.close();
    this.admission.sweep(0);
    this.proxy.close();
    // no AGW termination outlives the P-CSCF that reserved it
    await this.e2ae?.close();
    await this.access.layer.close();
    if (this.split) await this.core.layer.close();
  }

  /** RFC 3261 §26.2.2: the access side's require-TLS rule (requireTls.ts), or undefined when it is off. */
  private requireTlsGate(
    opts: PcscfOptions,
    exempt: (SipUri | undefined)[],
    record: (e: AuditEvent) => void,
  ): ((source: SipSource) => ReturnType<InboundGate>) | undefined {
    if (opts.access.requireTls !== true) return undefined;
    const on = (v: boolean | number | undefined) => v !== undefined && v !== false;
    if (!on(opts.access.tls) && !on(opts.access.wss))
      throw new PcscfError("E_PCSCF_CONFIG", "access.requireTls needs access.tls or access.wss");
    // with one interface for both sides, the S-CSCF (next hop) reaches us on it too: it is not a UE
    const ex = new Set<string>();
    if (!this.split) for (const u of exempt) if (u) ex.add(`${bareHost(u.host)}|${u.port ?? 5060}`);
    return requireTlsGate({ name: this.name, warnAgent: this.alg.warnAgent, record, exempt: ex });
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
    this.offerAnswer.purge(Date.now());
    this.admission.sweep(60_000);
  }

  private record(e: AuditEvent): void {
    try {
      this.audit?.record(e);
    } catch (err) {
      this.log.warn({ err }, "audit sink failed");
    }
  }

  /** The registration of the user a response from the access side answers for (its To AOR), if it registered here. */
  private servedRegistration(res: SipResponse): Registration | undefined {
    try {
      const to = res.to().uri;
      return isSipUri(to) ? this.registrations.ofAor(canonicalAor(to))[0] : undefined;
    } catch {
      return undefined;
    }
  }

  /** A response relayed by the proxy: the REGISTER's bindings, the INVITE session's state, then the IMS-ALG. */
  private onResponse(res: SipResponse, ptx: ProxyTransaction<TxData>): boolean | undefined {
    const d = ptx.data;
    if (!d) return undefined;
    // RFC 3325 §9.1: a response from the UE (the request went toward it) carries only the identity we assert
    if (!d.fromAccess) assertResponseFromUe(res, this.servedRegistration(res));
    if (d.register) {
      this.register.onResponse(res, d.register);
      return undefined;
    }
    if (d.session) this.sessionControl.onResponse(d.session, res.status);
    return this.offerAnswer.onResponse(res, ptx, d);
  }
}
