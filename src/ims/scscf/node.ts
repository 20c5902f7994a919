/**
 * The S-CSCF node: registrar + location service (registrar.ts, RFC 3261 §10.3, RFC 3327, RFC 3608) and a stateful
 * proxy (src/sip/proxy.ts, RFC 3261 §16) that routes:
 *
 * - REGISTER for a served domain → the registrar; the 200 carries the bindings, the Path, a Service-Route pointing at
 *   this S-CSCF's originating URI (`sip:orig@…;lr`, RFC 3608 §6) and P-Associated-URI;
 * - an initial request that arrives with the S-CSCF's Service-Route entry → originating processing (no service logic
 *   here), then terminating processing in the same node (one S-CSCF serves both sides);
 * - terminating processing: Request-URI = a registered AOR → Request-URI := the contact, Route := the stored Path
 *   (RFC 3327 §5.3), so the request goes back through the P-CSCF the UE registered with; unknown AOR of a served
 *   domain → 404 (480 when it was registered before); other domains → routed by the Request-URI;
 * - dialog-creating requests are record-routed (double Record-Route when the transports differ, RFC 5658);
 *   in-dialog requests follow their Route set.
 */
import { type Logger, silentLogger } from "../../log.ts";
import {
  bareHost,
  formatUri,
  isSipUri,
  type SipRequest,
  type SipSource,
  type SipTarget,
  type SipTimerConfig,
  type SipTlsConfig,
  SipTransportLayer,
  type SipTransportLayerOptions,
  type SipTransportProtocol,
  TransactionManager,
  type TransportLimits,
  TypedEmitter,
  uriTarget,
} from "../../sip/index.ts";
import { ProxyCore, type ProxyInterface, type ProxyRequest, type RouteOutcome } from "../../sip/proxy.ts";
import { ScscfError } from "./errors.ts";
import { type Binding, canonicalAor, LocationService, type RegistrarOptions } from "./registrar.ts";

export interface ScscfOptions {
  /** instance name in logs; default "scscf" */
  name?: string;
  /** listening address; default 127.0.0.1 */
  host?: string;
  /** a number is a port (0 = any free port) */
  udp?: boolean | number;
  tcp?: boolean | number;
  ws?: boolean | number;
  /** SIP over TLS (RFC 3261 §26.2) and WSS (RFC 7118 §5); need `tlsConfig` */
  tls?: boolean | number;
  wss?: boolean | number;
  /** the TLS credential and trust store (listeners and outbound TLS connections) */
  tlsConfig?: SipTlsConfig;
  /** host written in Via, Record-Route and Service-Route; default the listening address */
  viaHost?: string;
  /** home domains served by the registrar (REGISTER Request-URI / AOR host); default: every domain */
  domains?: string[];
  registrar?: RegistrarOptions;
  /** further host names (or host:port) that designate this S-CSCF */
  aliases?: string[];
  timers?: Partial<SipTimerConfig>;
  timerC?: number;
  limits?: Partial<TransportLimits>;
  logger?: Logger;
}

export type ScscfEvents = {
  /** every request as it arrived (after validation), with where it came from */
  request: [SipRequest, SipSource];
  /** a REGISTER was accepted: the AOR's bindings after it */
  registered: [string, Binding[]];
};

/** RFC 3261 §16.6 step 4: methods whose initial request creates a dialog. */
const DIALOG_METHODS = new Set(["INVITE", "SUBSCRIBE", "REFER"]);

export class Scscf extends TypedEmitter<ScscfEvents> {
  readonly name: string;
  readonly iface: ProxyInterface;
  readonly location: LocationService;
  private readonly proxy: ProxyCore<undefined>;
  private readonly domains: ReadonlySet<string> | undefined;
  private readonly log: Logger;
  private purgeTimer: NodeJS.Timeout | undefined;
  private started = false;
  private closed = false;

  constructor(opts: ScscfOptions = {}) {
    super();
    this.name = opts.name ?? "scscf";
    if (!/^[A-Za-z0-9\-.!%*_+`'~]+$/.test(this.name)) {
      throw new ScscfError("E_SCSCF_CONFIG", `name "${this.name}" must be a SIP token`);
    }
    this.log = (opts.logger ?? silentLogger).child({ node: "scscf", name: this.name });
    this.onListenerError = (e, ev) => this.log.error({ err: e, event: ev }, "scscf: listener failed");
    this.domains = opts.domains ? new Set(opts.domains.map((d) => d.toLowerCase())) : undefined;
    const l = (v: boolean | number | undefined) =>
      v === undefined || v === false ? undefined : v === true ? {} : { port: v };
    const udp = l(opts.udp);
    const tcp = l(opts.tcp);
    const ws = l(opts.ws);
    const tls = l(opts.tls);
    const wss = l(opts.wss);
    const layerOpts: SipTransportLayerOptions = {
      host: opts.host ?? "127.0.0.1",
      ...(udp ? { udp } : {}),
      ...(tcp ? { tcp } : {}),
      ...(ws ? { ws } : {}),
      ...(tls ? { tls } : {}),
      ...(wss ? { wss } : {}),
      ...(opts.tlsConfig ? { tlsConfig: opts.tlsConfig } : {}),
      ...(!udp && !tcp && !ws && !tls && !wss ? { udp: {}, tcp: {} } : {}),
      ...(opts.viaHost !== undefined ? { viaHost: opts.viaHost } : {}),
      // a busy proxy needs more than the default ~200 kB UDP receive queue; the kernel caps it
      limits: { udpBufferSize: 4 * 1024 * 1024, ...opts.limits },
      logger: this.log,
    };
    const layer = new SipTransportLayer(layerOpts);
    this.iface = {
      name: "core",
      layer,
      txm: new TransactionManager(layer, { timers: opts.timers ?? {}, logger: this.log }),
    };
    this.location = new LocationService(opts.registrar);
    this.proxy = new ProxyCore<undefined>({
      interfaces: [this.iface],
      ...(opts.aliases ? { aliases: opts.aliases } : {}),
      ...(opts.timerC !== undefined ? { timerC: opts.timerC } : {}),
      logger: this.log,
      policy: { route: (r) => this.route(r) },
    });
  }

  async start(): Promise<void> {
    if (this.started) return;
    this.started = true;
    await this.iface.layer.start();
    this.proxy.refreshAddresses();
    this.purgeTimer = setInterval(() => this.location.purge(), 30_000);
    this.purgeTimer.unref();
    const addrs: Record<string, string> = {};
    for (const p of this.iface.layer.protocols()) {
      const a = this.iface.layer.address(p);
      if (a) addrs[p] = `${a.host}:${a.port}`;
    }
    this.log.info({ listen: addrs, domains: this.domains ? [...this.domains] : "*" }, "scscf started");
  }

  async close(): Promise<void> {
    if (this.closed) return;
    this.closed = true;
    if (this.purgeTimer) clearInterval(this.purgeTimer);
    this.proxy.close();
    this.removeAllListeners();
    await this.iface.layer.close();
  }

  address(proto: SipTransportProtocol): { host: string; port: number } | undefined {
    return this.iface.layer.address(proto);
  }

  /** A loose-routing URI of this S-CSCF, e.g. the P-CSCF's `scscf` option: sip:127.0.0.1:6060;transport=tcp;lr */
  uri(proto: SipTransportProtocol, user?: string): string {
    const v = this.iface.layer.localVia(proto);
    const tp = proto === "UDP" ? "" : `;transport=${proto.toLowerCase()}`;
    return `sip:${user !== undefined ? `${user}@` : ""}${v.host}${v.port !== undefined ? `:${v.port}` : ""}${tp};lr`;
  }

  /** Transactions in progress. */
  get pending(): number {
    return this.proxy.pending;
  }

  private serves(host: string): boolean {
    return this.domains === undefined || this.domains.has(bareHost(host));
  }

  private defaultTransport(): SipTransportProtocol {
    return this.iface.layer.protocols()[0] ?? "UDP";
  }

  /** A Record-Route entry of this S-CSCF for a transport (RFC 3261 §16.6 step 4). */
  private rr(transport: SipTransportProtocol): string {
    const t = this.iface.layer.protocols().includes(transport) ? transport : this.defaultTransport();
    return `<${this.uri(t)}>`;
  }

  private route(pr: ProxyRequest): RouteOutcome<undefined> {
    this.emit("request", pr.received, pr.source);
    const req = pr.req;
    const ruri = req.requestUri();
    const routes = req.routes();
    const fallback = pr.source.transport;
    if (req.method === "REGISTER" && routes.length === 0) {
      // RFC 3261 §10.3 step 1: a REGISTER for a domain this registrar is not responsible for is proxied
      if (isSipUri(ruri) && this.serves(ruri.host)) return this.register(pr);
    }
    const inDialog = req.toTag() !== undefined || req.method === "ACK" || req.method === "CANCEL";
    if (inDialog || routes[0] !== undefined) {
      // RFC 3261 §16.5 / §16.12: requests with a route set (in-dialog, or pre-loaded beyond us) follow it
      const next = routes[0];
      return this.forwardTo(pr, next ? uriTarget(next.uri, fallback) : uriTarget(ruri, fallback), false);
    }
    // originating: our Service-Route entry was on top (RFC 3608 §6); no service logic runs here. Then terminating
    // processing (TS 24.229 §5.4.3.3, reduced): location service lookup on the Request-URI.
    if (!isSipUri(ruri)) return { kind: "reply", status: 404, reason: "Not Found (no ENUM)" };
    const aor = canonicalAor(ruri);
    const bindings = this.location.lookup(aor);
    const best = bindings[0];
    if (best) {
      // RFC 3327 §5.3: the Request-URI becomes the contact and the stored Path becomes the Route set
      req.uri = formatUri(best.uri);
      for (const p of [...best.path].reverse()) req.prependHeader("Route", p);
      const first = req.routes()[0];
      const target = first ? uriTarget(first.uri, fallback) : uriTarget(best.uri, fallback);
      return this.forwardTo(pr, target, DIALOG_METHODS.has(req.method));
    }
    if (this.serves(ruri.host) && !this.proxy.isOwnUri(ruri)) {
      // RFC 3261 §16.5 / §21.4.18: no binding: 480 for a user that was registered, 404 for an unknown one
      return this.location.wasKnown(aor) ? { kind: "reply", status: 480 } : { kind: "reply", status: 404 };
    }
    if (this.proxy.isOwnUri(ruri)) return { kind: "reply", status: 404 };
    return this.forwardTo(pr, uriTarget(ruri, fallback), DIALOG_METHODS.has(req.method));
  }

  private forwardTo(pr: ProxyRequest, target: SipTarget, recordRoute: boolean): RouteOutcome<undefined> {
    const inT = pr.source.transport;
    return {
      kind: "forward",
      iface: this.iface,
      target,
      // RFC 5658 §4: one entry per transport when the two legs differ, else one
      ...(recordRoute
        ? { recordRoute: inT === target.transport ? [this.rr(inT)] : [this.rr(inT), this.rr(target.transport)] }
        : {}),
    };
  }

  private register(pr: ProxyRequest): RouteOutcome<undefined> {
    const req = pr.req;
    // RFC 3261 §10.3 step 2 / §8.2.2.3: Require option tags the registrar does not support → 420
    const unsupported = req.require().filter((t) => t.toLowerCase() !== "path");
    if (unsupported.length > 0) {
      return { kind: "reply", status: 420, headers: [{ name: "Unsupported", value: unsupported.join(", ") }] };
    }
    const to = req.to().uri;
    const aor = isSipUri(to) ? canonicalAor(to) : "";
    // RFC 3261 §10.3 step 5: the AOR must belong to a served domain
    if (!isSipUri(to) || !this.serves(to.host)) return { kind: "reply", status: 404, reason: "Not Found" };
    const res = this.location.register(req, [
      // RFC 3608 §6: the route the UE's initial requests must take: this S-CSCF, originating
      { name: "Service-Route", value: `<${this.uri(pr.source.transport, "orig")}>` },
      // RFC 3455 §4.1: the URIs associated with the registered identity (only the AOR here)
      { name: "P-Associated-URI", value: `<${aor}>` },
    ]);
    if (res.status === 200) {
      this.log.info({ aor, bindings: res.bindings.length }, "registrar: REGISTER accepted");
      this.emit("registered", aor, res.bindings);
    }
    return { kind: "reply", status: res.status, reason: res.reason, headers: res.headers };
  }
}
