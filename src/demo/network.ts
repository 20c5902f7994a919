/**
 * The embedded IMS network of `imsdc demo` and `imsdc call`: one S-CSCF, a P-CSCF per side (A and B), the IMS-AGW
 * bound to both P-CSCFs through the in-process Iq binding, and UEs registered through either side.
 *
 * DESIGN rule 1 exception: this folder (with src/cli) is the only place that imports several nodes; it wires them
 * together the way separate processes would (SIP between the nodes, Iq between P-CSCF and AGW).
 *
 * Every SIP message a node sends is traced (the ladder of TS 33.328 Figure 7.2.5-1) by wrapping the transport
 * layer's `sendBytes`: the nodes have no send hook yet (asked of the lead: a `SipTransportLayer` trace hook).
 */
import { ImsAgw } from "../ims/agw/index.ts";
import { Pcscf } from "../ims/pcscf/index.ts";
import { MemorySubscriberStore, Scscf } from "../ims/scscf/index.ts";
import { type GeneratedSubscriber, generateSubscribers } from "../ims/scscf/subscriberGen.ts";
import { type AuditEvent, AuditLog, type Logger, silentLogger } from "../log.ts";
import { createLocalCa, type LocalCa } from "../security/localCa.ts";
import {
  parseMessage,
  type SipSource,
  type SipTarget,
  type SipTimerConfig,
  type SipTransportLayer,
  type SipTransportProtocol,
  TypedEmitter,
} from "../sip/index.ts";
import type { SipTlsConfig } from "../sip/transport/tlsContext.ts";
import { WsTransport } from "../sip/transport/ws.ts";
import type { WsUpgradeCheck } from "../sip/transport/wsUpgrade.ts";
import { ImsUe, type ImsUeOptions, type UeAuthConfig, type UeCall } from "../ue/index.ts";
import {
  type AuditTraceEvent,
  type DemoEvent,
  type NodeId,
  type SipTraceEvent,
  summarizeSip,
  type UeTraceEvent,
} from "./events.ts";
import { PcscfHops } from "./pcscfHops.ts";

export const DEFAULT_DOMAIN = "ims.example.com";
/** The data channel the demo UEs use: negotiated id 1000 (TS 26.114 §6.2.10.1: application ids ≥ 1000). */
export const DEMO_CHANNEL = { id: 1000, label: "chat", subprotocol: "msrp" } as const;

export interface EmbeddedNetworkOptions {
  /** listening address of every node (default 127.0.0.1) */
  host?: string;
  /** home domain served by the S-CSCF (default ims.example.com) */
  domain?: string;
  /** port of P-CSCF(A)'s access-side SIP WebSocket listener (the browser UE connects there); default 0 = any */
  wsPortA?: number;
  /** start the IMS-AGW and bind it to both P-CSCFs over the in-process Iq binding (default true) */
  agw?: boolean;
  /** P-CSCF `alg.e2aeAvailable` (default: true when the IMS-AGW runs, so e2ae MSRP/BFCP streams are anchored on it) */
  e2aeAvailable?: boolean;
  timers?: Partial<SipTimerConfig>;
  /**
   * registration authentication at the S-CSCF (docs/auth.md "The demo"), default true: every user gets generated
   * lab credentials on first use (`credentials()`), handed to the UEs this network starts; false: the S-CSCF's
   * unauthenticated registrar (audited `registrar-unauthenticated`)
   */
  auth?: boolean;
  /** the scheme of each user's generated credentials (default: bob IMS AKA, every other user Digest) */
  authSchemes?: Record<string, "digest" | "aka">;
  /** the check of every upgrade on P-CSCF(A)'s access WebSocket (Host, Origin: the demo's guard); default none */
  wsVerifyUpgrade?: WsUpgradeCheck;
  /**
   * SIP over TLS between the nodes (RFC 3261 §26.2) and WSS for the page (RFC 7118 §5): a local CA (localCa.ts) is
   * created, every node gets a certificate it signs and trusts it; the access sides listen on UDP, TCP, TLS and WSS
   * (instead of WS), the core sides and the S-CSCF on TLS only. UEs on TLS or WSS get a certificate too.
   */
  tls?: boolean;
  logger?: Logger;
}

export type NetworkEvents = {
  event: [DemoEvent];
};

/** Wall-clock time in ms with sub-ms resolution (same clock in Node and in the page). */
export function now(): number {
  return performance.timeOrigin + performance.now();
}

type Resolve = (bytes: Uint8Array, target: SipTarget) => NodeId | undefined;

/** Wraps a layer's sendBytes: trace every message, optionally rewrite it first (tamper hooks). */
function tap(
  layer: SipTransportLayer,
  from: NodeId,
  resolve: Resolve,
  sink: (e: SipTraceEvent) => void,
  mutate?: (bytes: Uint8Array) => Uint8Array,
): void {
  const orig = layer.sendBytes.bind(layer);
  layer.sendBytes = async (bytes: Uint8Array, target: SipTarget): Promise<SipSource> => {
    const out = mutate ? mutate(bytes) : bytes;
    const to = resolve(out, target);
    if (to) {
      const e = summarizeSip(out, from, to, now());
      if (e) sink(e);
    }
    return orig(out, target);
  };
}

export interface AddUeOptions extends Partial<Omit<ImsUeOptions, "aor" | "outboundProxy" | "audit" | "logger">> {
  /** echo every data channel message back with this prefix */
  echoPrefix?: string;
  /** send this message on every data channel as soon as it opens */
  greeting?: string;
  /** rewrite every message this UE sends before it leaves (e.g. tamper with the SDP offer) */
  mutateOutgoing?: (bytes: Uint8Array) => Uint8Array;
}

/** The embedded network. `close()` frees every socket and timer of every node and UE it started. */
export class EmbeddedNetwork extends TypedEmitter<NetworkEvents> {
  readonly events: DemoEvent[] = [];
  readonly domain: string;
  readonly ues = new Map<NodeId, ImsUe>();
  private readonly log: Logger;
  private closed = false;
  private readonly offAudit: () => void;
  private readonly creds = new Map<string, GeneratedSubscriber>();

  private constructor(
    readonly scscf: Scscf,
    readonly pcscfA: Pcscf,
    readonly pcscfB: Pcscf,
    readonly agw: ImsAgw | undefined,
    readonly audit: AuditLog,
    /** the demo subscriber store (HSS stand-in); undefined with `auth: false` */
    readonly subscribers: MemorySubscriberStore | undefined,
    private readonly opts: EmbeddedNetworkOptions,
    /** the local CA every node trusts (with `tls`) */
    readonly ca: LocalCa | undefined,
  ) {
    super();
    this.domain = opts.domain ?? DEFAULT_DOMAIN;
    this.log = opts.logger ?? silentLogger;
    this.offAudit = this.audit.onEvent((ev) => {
      this.push({ type: "audit", t: now(), event: ev } as AuditTraceEvent);
      this.e2aeVerdict(ev);
    });
  }

  /** Starts S-CSCF, P-CSCF(A), P-CSCF(B) and (by default) the IMS-AGW on `host` (ephemeral ports, WS port aside). */
  static async start(opts: EmbeddedNetworkOptions = {}): Promise<EmbeddedNetwork> {
    const host = opts.host ?? "127.0.0.1";
    const domain = opts.domain ?? DEFAULT_DOMAIN;
    const logger = opts.logger ?? silentLogger;
    const timers = opts.timers ?? {};
    const started: { close(): Promise<void> }[] = [];
    const audit = new AuditLog({ max: 5000 });
    const ca = opts.tls === true ? createLocalCa({ commonName: "imsdc demo CA" }) : undefined;
    const tlsOf = (name: string): SipTlsConfig | undefined => (ca ? nodeTls(ca, name) : undefined);
    const wsKey = ca ? "WSS" : "WS";
    const coreT = ca ? "TLS" : "TCP";
    try {
      const agw =
        opts.agw === false ? undefined : new ImsAgw({ logger, audit, accessAddress: host, coreAddress: host });
      if (agw) started.push(agw);
      const subscribers = opts.auth === false ? undefined : new MemorySubscriberStore();
      // RFC 3261 §10.3 steps 3-4: the S-CSCF authenticates every REGISTER against the generated demo subscribers
      const auth = subscribers ? { store: subscribers } : (false as const);
      // RFC 3325 §5: the S-CSCF trusts exactly this network's two P-CSCFs (pcscfHops.ts), nobody else on the host
      const hops = new PcscfHops();
      const scscfTls = tlsOf("scscf");
      const scscf = new Scscf({
        host,
        ...(scscfTls ? { tls: 0, tlsConfig: scscfTls } : { tcp: 0 }),
        domains: [domain],
        timers,
        logger,
        audit,
        auth,
        trustedPcscfs: [(src) => hops.has(src)],
      });
      started.push(scscf);
      await scscf.start();
      const mk = async (name: string, ws: number, verify?: WsUpgradeCheck) => {
        const tlsConfig = tlsOf(name);
        const p = new Pcscf({
          name,
          access: tlsConfig ? { host, udp: 0, tcp: 0, tls: 0, wss: ws, tlsConfig } : { host, udp: 0, tcp: 0, ws },
          core: tlsConfig ? { host, tls: 0, tlsConfig } : { host, tcp: 0 },
          scscf: scscf.uri(coreT),
          timers,
          logger,
          audit,
          alg: opts.e2aeAvailable !== undefined ? { e2aeAvailable: opts.e2aeAvailable } : {},
          ...(agw ? { iq: agw } : {}),
        });
        started.push(p);
        // set before the listener exists: no upgrade is ever accepted unchecked
        const wsT = p.access.layer.transport(wsKey);
        if (verify && wsT instanceof WsTransport) wsT.setVerifyUpgrade(verify);
        await p.start();
        hops.follow(p.core.layer);
        return p;
      };
      const a = await mk("pcscf-a", opts.wsPortA ?? 0, opts.wsVerifyUpgrade);
      const b = await mk("pcscf-b", 0);
      const net = new EmbeddedNetwork(scscf, a, b, agw, audit, subscribers, { ...opts, host, domain }, ca);
      net.wire();
      return net;
    } catch (e) {
      for (const s of started.reverse()) await s.close().catch(() => undefined);
      throw e;
    }
  }

  /** Traces the SIP hops of every node side. */
  private wire(): void {
    const sink = (e: SipTraceEvent) => this.push(e);
    tap(this.pcscfA.access.layer, "pcscfA", () => "ueA", sink);
    tap(this.pcscfA.core.layer, "pcscfA", () => "scscf", sink);
    tap(this.pcscfB.core.layer, "pcscfB", () => "scscf", sink);
    tap(this.pcscfB.access.layer, "pcscfB", () => "ueB", sink);
    const portA = this.pcscfA.address("core", this.coreTransport)?.port;
    const portB = this.pcscfB.address("core", this.coreTransport)?.port;
    // the S-CSCF has two neighbours: a request goes to the P-CSCF whose (listening) port it targets; a response
    // goes to the sender of the request, the top Via left after the S-CSCF removed its own (RFC 3261 §16.7 step 3)
    tap(
      this.scscf.iface.layer,
      "scscf",
      (bytes, target) => {
        let port = target.port;
        try {
          const m = parseMessage(bytes, { datagram: true, validate: "none" });
          if (m.kind === "response") port = m.topVia().port ?? port;
        } catch {
          return undefined;
        }
        return port === portA ? "pcscfA" : port === portB ? "pcscfB" : undefined;
      },
      sink,
    );
  }

  private push(e: DemoEvent): void {
    this.events.push(e);
    if (this.events.length > 5000) this.events.splice(0, this.events.length - 5000);
    this.emit("event", e);
  }

  /** URI of a P-CSCF's access side for a transport, e.g. the outbound proxy of a UE. */
  pcscfUri(side: "A" | "B", proto: SipTransportProtocol): string {
    return (side === "A" ? this.pcscfA : this.pcscfB).uri("access", proto);
  }

  /** The transport between the P-CSCFs and the S-CSCF: TLS with `tls`, else TCP. */
  get coreTransport(): "TLS" | "TCP" {
    return this.ca ? "TLS" : "TCP";
  }

  /** The page's SIP transport at P-CSCF(A): WSS with `tls` (RFC 7118 §5), else WS. */
  get pageTransport(): "WSS" | "WS" {
    return this.ca ? "WSS" : "WS";
  }

  /**
   * The lab credentials of `user` (generated and provisioned in the subscriber store on first use: Digest with a
   * random password, or AKA with random K / OPc per `authSchemes`); undefined with `auth: false`.
   */
  credentials(user: string): GeneratedSubscriber | undefined {
    if (!this.subscribers) return undefined;
    const have = this.creds.get(user);
    if (have) return have;
    const scheme = this.opts.authSchemes?.[user] ?? (user === "bob" ? "aka" : "digest");
    const g = generateSubscribers({ domain: this.domain, users: [user], schemes: [scheme] });
    const [sub] = g.subscribers;
    const [ue] = g.ue;
    if (!sub || !ue) throw new Error(`no subscriber generated for ${user}`);
    this.subscribers.add(sub);
    this.creds.set(user, ue);
    return ue;
  }

  /** The UE `auth` option for `user` (its generated credentials), or undefined with `auth: false`. */
  ueAuth(user: string): UeAuthConfig | undefined {
    const c = this.credentials(user);
    if (!c) return undefined;
    if (c.aka) return { impi: c.impi, k: c.aka.k, opc: c.aka.opc, sqn: c.aka.sqn, amf: c.aka.amf };
    return { impi: c.impi, password: c.password ?? "" };
  }

  /** ws:// (wss:// with `tls`) host:port/ of P-CSCF(A)'s SIP WebSocket listener (for the browser UE). */
  wsUrlA(): string {
    const a = this.pcscfA.address("access", this.pageTransport);
    if (!a) throw new Error("P-CSCF(A) has no WebSocket listener");
    const h = a.host.includes(":") ? `[${a.host}]` : a.host;
    return `${this.ca ? "wss" : "ws"}://${h}:${a.port}/`;
  }

  /** A certificate from the local CA for a node or UE (with `tls`), trusting that CA. */
  tlsFor(name: string): SipTlsConfig | undefined {
    return this.ca ? nodeTls(this.ca, name) : undefined;
  }

  /**
   * Starts a UE registered through P-CSCF(A) (`ueA`) or P-CSCF(B) (`ueB`); its messages are traced, its data channel
   * events reported (verdict, channel state, chat), optionally echoing chat messages.
   */
  async addUe(id: "ueA" | "ueB", user: string, o: AddUeOptions = {}): Promise<ImsUe> {
    const transport = o.transport ?? "UDP";
    const { echoPrefix, greeting, mutateOutgoing, ...ueOpts } = o;
    const tls = transport === "TLS" || transport === "WSS" ? (ueOpts.tls ?? this.tlsFor(user)) : undefined;
    const auth = o.auth ?? this.ueAuth(user);
    const ue = new ImsUe({
      ...ueOpts,
      ...(tls ? { tls } : {}),
      ...(auth !== undefined ? { auth } : {}),
      aor: `sip:${user}@${this.domain}`,
      transport,
      outboundProxy: this.pcscfUri(id === "ueA" ? "A" : "B", transport),
      ...(this.opts.timers ? { timers: this.opts.timers } : {}),
      audit: this.audit,
      logger: this.log,
    });
    this.ues.set(id, ue);
    tap(
      ue.layer,
      id,
      () => (id === "ueA" ? "pcscfA" : "pcscfB"),
      (e) => this.push(e),
      mutateOutgoing,
    );
    ue.on("call", (call) => this.watchCall(id, call, echoPrefix, greeting));
    await ue.start();
    await ue.register();
    return ue;
  }

  private ueEvent(ue: NodeId, what: UeTraceEvent["what"], data: Record<string, unknown>): void {
    this.push({ type: "ue", t: now(), ue, what, data });
  }

  /** Reports something a UE did that the network cannot see by itself (e.g. an MSRP SEND answered 200). */
  trace(ue: "ueA" | "ueB", what: UeTraceEvent["what"], data: Record<string, unknown>): void {
    this.ueEvent(ue, what, data);
  }

  /**
   * An e2ae endpoint's check of its TLS peer (RFC 8122 §6), recorded as an audit event by the UE (node "ue", the
   * endpoint's protocol): reported as that UE's e2ae verdict. The endpoints are created inside the UE during the
   * offer/answer, so their audit events are the one place where none can be missed.
   */
  private e2aeVerdict(ev: AuditEvent): void {
    if (ev.node !== "ue" || (ev.protocol !== "msrp" && ev.protocol !== "bfcp")) return;
    const id = [...this.ues].find(([, ue]) => ue.opts.aor === ev.ue)?.[0];
    if (id !== "ueA" && id !== "ueB") return;
    this.ueEvent(id, "e2ae-verdict", {
      protocol: ev.protocol,
      verified: ev.decision === "fingerprint-verified",
      hash: ev.hash ?? null,
      presented: ev.presented ?? null,
      signalled: ev.signalled ?? [],
      code: ev.code ?? null,
      reason: ev.reason ?? null,
      peerAddress: `${String(ev.peerAddress)}:${String(ev.peerPort)}`,
      tlsRole: ev.tlsRole ?? null,
    });
  }

  private watchCall(id: NodeId, call: UeCall, echoPrefix: string | undefined, greeting: string | undefined): void {
    const callId = call.sip.callId;
    const ev = (what: UeTraceEvent["what"], data: Record<string, unknown>) =>
      this.ueEvent(id, what, { ...data, callId });
    call.sip.on("state", (s) => ev("call-state", { state: s }));
    call.dc.on("verdict", (v) =>
      ev("verdict", {
        verified: v.verified,
        hash: v.hash ?? null,
        presented: v.presented ?? null,
        signalled: v.signalled,
        code: v.code ?? null,
        reason: v.reason ?? null,
      }),
    );
    call.dc.on("state", (s) => ev("dc-state", { state: s }));
    call.dc.on("failure", (err) => ev("failure", { code: err.code, message: err.message }));
    call.dc.on("channel", (ch) => {
      const onOpen = () => {
        ev("dc-state", { state: "channel-open", channel: ch.id });
        if (greeting !== undefined) {
          try {
            ch.send(greeting);
            ev("chat-out", { text: greeting, channel: ch.id });
          } catch (e) {
            this.log.info({ err: String(e) }, "demo: greeting not sent");
          }
        }
      };
      if (ch.readyState === "open") onOpen();
      else ch.once("open", onOpen);
      ch.on("message", (m) => {
        const text = typeof m === "string" ? m : new TextDecoder().decode(m);
        ev("chat-in", { text, channel: ch.id });
        if (echoPrefix === undefined) return;
        const reply = `${echoPrefix}${text}`;
        try {
          ch.send(reply);
          ev("chat-out", { text: reply, channel: ch.id });
        } catch (e) {
          this.log.info({ err: String(e) }, "demo: echo not sent");
        }
      });
    });
  }

  /** Closes every UE, both P-CSCFs, the S-CSCF and the AGW. Idempotent. */
  async close(): Promise<void> {
    if (this.closed) return;
    this.closed = true;
    this.offAudit();
    for (const ue of this.ues.values()) await ue.close().catch(() => undefined);
    this.ues.clear();
    await this.pcscfA.close();
    await this.pcscfB.close();
    await this.scscf.close();
    await this.agw?.close();
    this.removeAllListeners();
  }
}

/** A node's TLS configuration: a certificate from the lab CA (127.0.0.1, ::1, localhost) and that CA as trust. */
function nodeTls(ca: LocalCa, name: string): SipTlsConfig {
  const n = ca.issue(name);
  // the chain is sent whole (leaf, CA): a browser told to trust the CA's SPKI finds it in the chain
  return { certPem: `${n.certPem}${ca.certPem}`, keyPem: n.keyPem, ca: [ca.certPem] };
}
