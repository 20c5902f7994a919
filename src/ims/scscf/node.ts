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
 *   in-dialog requests follow their Route set;
 * - trust domain (RFC 3325 §5 / TS 24.229 §4.4): originating requests (initial, not REGISTER) only from the configured
 *   trusted P-CSCFs (trust.ts), others 403 with a Warning and an audit event; P-Asserted-Identity from anyone else is
 *   removed; the served user (routing, billing) is the P-Asserted-Identity of a trusted P-CSCF.
 */
import { type AuditLog, type Logger, silentLogger } from "../../log.ts";
import { fingerprintOf } from "../../security/certificate.ts";
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
import { RegistrarAuth, type RegistrarAuthOptions } from "./registrarAuth.ts";
import { FileSubscriberStore } from "./subscriberFile.ts";
import type { SubscriberStore } from "./subscribers.ts";

/** Registration authentication options (docs/auth.md); `store` may be the path of a subscriber file. */
export type ScscfAuthOptions = Omit<RegistrarAuthOptions, "store" | "realm"> & {
  store: SubscriberStore | string;
  /** Digest realm; default the first of `domains` */
  realm?: string;
};

import { type PeerIdentity, type TrustedPeer, TrustedPeers, type TrustMatch } from "./trust.ts";

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
  /**
   * Registration authentication (RFC 3261 §10.3 steps 3-4, TS 24.229 §5.4.1.2; docs/auth.md). Required: an object
   * enables it; `false` runs the registrar without authentication and must be written explicitly.
   */
  auth?: ScscfAuthOptions | false;
  /** further host names (or host:port) that designate this S-CSCF */
  aliases?: string[];
  timers?: Partial<SipTimerConfig>;
  timerC?: number;
  limits?: Partial<TransportLimits>;
  /**
   * The P-CSCFs originating requests are accepted from (RFC 3325 §5 trust domain; trust.ts): addresses, "addr:port",
   * CIDR blocks, "sha-256 AB:…" certificate fingerprints (matched against `peerIdentity`) or predicates. Absent or
   * empty: no originating request is accepted (secure by default: the S-CSCF never trusts a peer it was not told of).
   */
  trustedPcscfs?: readonly TrustedPeer[];
  /** the TLS identity (certificate fingerprint) of an inbound connection: the SIP over TLS transport's hook */
  peerIdentity?: PeerIdentity;
  logger?: Logger;
  /** security decisions (authentication, refusals of untrusted sources) are recorded here (node "scscf") */
  audit?: AuditLog;
}

/** An originating request accepted from a trusted P-CSCF, and the identity it is served (and billed) as. */
export interface OriginatingInfo {
  /** the P-Asserted-Identity a trusted P-CSCF put in (TS 24.229 §5.4.3.2); undefined when it put none */
  servedUser: string | undefined;
  method: string;
  callId: string;
  source: SipSource;
  trustedBy: TrustMatch;
}

export type ScscfEvents = {
  /** every request as it arrived (after validation), with where it came from */
  request: [SipRequest, SipSource];
  /** a REGISTER was accepted: the AOR's bindings after it */
  registered: [string, Binding[]];
  /** an originating request from a trusted P-CSCF, with its served user */
  originating: [OriginatingInfo];
};

/** RFC 3261 §16.6 step 4: methods whose initial request creates a dialog. */
const DIALOG_METHODS = new Set(["INVITE", "SUBSCRIBE", "REFER"]);

export class Scscf extends TypedEmitter<ScscfEvents> {
  readonly name: string;
  readonly iface: ProxyInterface;
  readonly location: LocationService;
  /** the registrar's authentication; undefined only with `auth: false` */
  readonly auth: RegistrarAuth | undefined;
  readonly subscribers: SubscriberStore | undefined;
  private readonly proxy: ProxyCore<undefined>;
  private readonly domains: ReadonlySet<string> | undefined;
  private readonly log: Logger;
  private readonly trust: TrustedPeers;
  private readonly audit: AuditLog | undefined;
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
    // RFC 3325 §5 / RFC 5922 §7: a P-CSCF may be trusted by the certificate it presented on a mutual-TLS connection
    this.trust = new TrustedPeers(
      opts.trustedPcscfs ?? [],
      opts.peerIdentity ??
        ((src) => {
          const der = this.iface.layer.peerCertificate(src);
          return der ? fingerprintOf(der, "sha-256") : undefined;
        }),
    );
    this.audit = opts.audit;
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
    if (opts.auth === undefined) {
      throw new ScscfError(
        "E_SCSCF_CONFIG",
        "auth: configure a subscriber store (docs/auth.md), or set auth: false to run the registrar without authentication",
      );
    }
    if (opts.auth === false) {
      this.auth = undefined;
      this.subscribers = undefined;
    } else {
      const { store, realm, ...rest } = opts.auth;
      const r = realm ?? opts.domains?.[0];
      if (r === undefined || r === "") {
        throw new ScscfError("E_SCSCF_CONFIG", "auth.realm is required when no domains are configured");
      }
      this.subscribers =
        typeof store === "string"
          ? FileSubscriberStore.load(store, {
              onError: (e) => this.log.error({ err: e }, "scscf: subscriber file write failed"),
            })
          : store;
      this.auth = new RegistrarAuth(
        { ...rest, store: this.subscribers, realm: r },
        { audit: opts.audit, node: "scscf" },
      );
    }
    this.audit = opts.audit;
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
    this.purgeTimer = setInterval(() => {
      this.location.purge();
      this.auth?.purge();
    }, 30_000);
    this.purgeTimer.unref();
    const addrs: Record<string, string> = {};
    for (const p of this.iface.layer.protocols()) {
      const a = this.iface.layer.address(p);
      if (a) addrs[p] = `${a.host}:${a.port}`;
    }
    if (!this.auth) {
      // an explicitly unauthenticated registrar is a security decision of its own
      this.audit?.record({ node: "scscf", decision: "registrar-unauthenticated", clause: "RFC 3261 §10.3 step 3" });
      this.log.warn("scscf: registrar runs WITHOUT authentication (auth: false)");
    }
    this.log.info(
      { listen: addrs, domains: this.domains ? [...this.domains] : "*", auth: this.auth ? this.auth.realm : false },
      "scscf started",
    );
    if (this.trust.empty) this.log.warn("scscf: no trustedPcscfs: every originating request will be refused (403)");
  }

  async close(): Promise<void> {
    if (this.closed) return;
    this.closed = true;
    if (this.purgeTimer) clearInterval(this.purgeTimer);
    this.proxy.close();
    await this.subscribers?.flush();
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
    const trusted = this.trust.match(pr.source);
    // RFC 3325 §5 / §9.1: P-Asserted-Identity from outside the trust domain is removed, never believed
    if (!trusted) {
      req.removeHeader("P-Asserted-Identity");
      req.removeHeader("P-Preferred-Identity");
    }
    if (req.method === "REGISTER" && routes.length === 0) {
      // RFC 3261 §10.3 step 1: a REGISTER for a domain this registrar is not responsible for is proxied
      if (isSipUri(ruri) && this.serves(ruri.host)) return this.register(pr);
    }
    const inDialog = req.toTag() !== undefined || req.method === "ACK" || req.method === "CANCEL";
    if (!inDialog && req.method !== "REGISTER") {
      // TS 24.229 §5.4.3.2 / RFC 3325 §5: originating requests only from the P-CSCFs of the trust domain
      if (!trusted) return this.refuseUntrusted(pr);
      const servedUser = req.getHeader("P-Asserted-Identity");
      this.emit("originating", {
        servedUser,
        method: req.method,
        callId: req.callId(),
        source: pr.source,
        trustedBy: trusted,
      });
    }
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

  /** RFC 3261 §21.4.4 403 + Warning (§20.43, 399), audited: an initial request from outside the trust domain. */
  private refuseUntrusted(pr: ProxyRequest): RouteOutcome<undefined> {
    const src = pr.source;
    const remote = `${src.host.includes(":") ? `[${src.host}]` : src.host}:${src.port}`;
    this.log.warn({ code: "E_SCSCF_UNTRUSTED_SOURCE", method: pr.req.method, remote }, "scscf: untrusted source");
    this.audit?.record({
      node: "scscf",
      decision: "request-refused",
      clause: "RFC 3325 §5",
      code: "E_SCSCF_UNTRUSTED_SOURCE",
      name: this.name,
      method: pr.req.method,
      callId: pr.req.callId(),
      transport: src.transport,
      remote,
      status: 403,
    });
    const agent = this.iface.layer.localVia(src.transport).host;
    return {
      kind: "reply",
      status: 403,
      reason: "Forbidden",
      headers: [
        {
          name: "Warning",
          value: `399 ${agent} "E_SCSCF_UNTRUSTED_SOURCE: originating requests are accepted from trusted P-CSCFs only"`,
        },
      ],
    };
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
    // RFC 3261 §10.3 steps 3-4: authenticate, then only the authenticated identity's bindings are touched
    let owner: string | undefined;
    let authInfo: { name: string; value: string }[] = [];
    if (this.auth) {
      const d = this.auth.authenticate(req, aor, pr.source);
      if (d.kind === "reply") return { kind: "reply", status: d.status, reason: d.reason, headers: d.headers };
      owner = d.impi;
      authInfo = d.headers;
    }
    const res = this.location.register(
      req,
      [
        // RFC 3608 §6: the route the UE's initial requests must take: this S-CSCF, originating
        { name: "Service-Route", value: `<${this.uri(pr.source.transport, "orig")}>` },
        // RFC 3455 §4.1: the URIs associated with the registered identity (only the AOR here)
        { name: "P-Associated-URI", value: `<${aor}>` },
        ...authInfo,
      ],
      owner,
    );
    if (res.status === 200) {
      this.log.info({ aor, bindings: res.bindings.length }, "registrar: REGISTER accepted");
      this.emit("registered", aor, res.bindings);
    }
    return { kind: "reply", status: res.status, reason: res.reason, headers: res.headers };
  }
}
