/**
 * One AGW termination: a local TCP transport address, its TCP establishment control (TR 29.828 §4.4.2.1.2,
 * §4.4.2.2: establishment.ts) and, for TLS transports, the TLS termination with fingerprint verification
 * (RFC 8122 §5.1, §6.2: tlsLeg.ts). Its lifecycle is one state machine (terminationState.ts):
 *
 *   delayed ─► establishing ─► ready ─► relaying ─► closed          (failed, released: see the transition table)
 *
 * Nothing is read from a connection before it is adopted (listeners use `pauseOnConnect`), and nothing is forwarded
 * before the leg is ready: for TLS that means the peer certificate matched the Remote certificate fingerprint.
 */
import type net from "node:net";
import tls from "node:tls";
import type { Logger } from "../../log.ts";
import type { Fingerprint as CertificateFingerprint } from "../../sdp/index.ts";
import type { TlsCredential } from "./credential.ts";
import { Establishment } from "./establishment.ts";
import { AgwError } from "./iqErrors.ts";
import type {
  AgwConnectionPoint,
  IqTransport,
  SetupRole,
  TcpEstablishment,
  TerminationSide,
  TerminationState,
  TerminationStatistics,
} from "./iqTypes.ts";
import { connectablePort } from "./sockets.ts";
import { type ConfigureRequest, TerminationSettings } from "./terminationSettings.ts";
import { assertTransition, type TerminationPhase, type TerminationStatus } from "./terminationState.ts";
import type { ResolvedTimers, TerminationHooks, TerminationInit } from "./terminationTypes.ts";
import { Leg, resolveTlsRole, TlsLegs } from "./tlsLeg.ts";

/**
 * The termination is itself the host of its establishment control and of its TLS legs (methods on the prototype,
 * not a set of closures per termination: memory per idle leg). It is an EstablishmentHost and a TlsLegHost by shape
 * (checked where it is handed over); no `implements` clause, because those members are internal and stripped from the
 * published declarations.
 */
export class Termination {
  readonly contextId: string;
  readonly id: string;
  readonly side: TerminationSide;
  readonly transport: IqTransport;
  readonly isTls: boolean;
  readonly localAddress: string;
  localPort: number;
  readonly tcpEstablishment: TcpEstablishment;

  private status: TerminationStatus;
  private readonly settings: TerminationSettings;
  /** connections in TCP/TLS setup (several may race; the first ready one wins) */
  private readonly candidates = new Set<Leg>();
  private readonly sockets = new Set<net.Socket>();
  private establishmentTimer: NodeJS.Timeout | undefined;
  private stats: TerminationStatistics = { octetsReceived: 0, octetsSent: 0 };

  private readonly establishment: Establishment;
  private readonly tlsLegs: TlsLegs;
  private readonly timers: ResolvedTimers;
  private readonly keepAliveMs: number;
  private readonly credential: TlsCredential | undefined;
  private readonly log: Logger;
  private readonly hooks: TerminationHooks;

  private constructor(init: TerminationInit) {
    this.contextId = init.contextId;
    this.id = init.terminationId;
    this.side = init.side;
    this.transport = init.transport;
    this.isTls = init.transport.includes("TLS");
    this.localAddress = init.localAddress;
    this.localPort = init.localPort;
    this.tcpEstablishment = init.tcpEstablishment;
    this.timers = init.timers;
    this.keepAliveMs = init.keepAliveMs;
    this.credential = init.credential;
    this.log = init.logger;
    this.hooks = init.hooks;
    this.settings = new TerminationSettings(init);
    // TR 29.828 §4.4.2.2: delayed mode ignores SYNs until the remote address is known (NOTE 2: reserve and configure
    // combined starts with it known)
    const delayed = init.tcpEstablishment.mode === "delayed" && this.settings.remoteAddress === undefined;
    this.status = { phase: delayed ? "delayed" : "establishing", connectPending: false };
    this.establishment = new Establishment(init, this);
    this.tlsLegs = new TlsLegs(init, this);
  }

  /** Reserves the local transport address (listening at once: TR 29.828 §4.4.2.1.2 indication 1). */
  static async create(init: TerminationInit): Promise<Termination> {
    const t = new Termination(init);
    t.localPort = await t.establishment.listen(t.localPort);
    t.startEstablishmentTimer();
    return t;
  }

  // -------------------------------------------------------------------------------------------------------------
  // The state machine
  // -------------------------------------------------------------------------------------------------------------

  get phase(): TerminationPhase {
    return this.status.phase;
  }

  /** The only way between phases (terminationState.ts): an edge outside the table throws E_AGW_STATE. */
  private go(next: TerminationStatus): void {
    const clause = assertTransition(this.id, this.status.phase, next.phase);
    this.log.debug(
      { contextId: this.contextId, terminationId: this.id, from: this.status.phase, to: next.phase, clause },
      "termination transition",
    );
    this.status = next;
  }

  /** Still looking for its connection (delayed or establishing). */
  private get accepting(): boolean {
    return this.status.phase === "delayed" || this.status.phase === "establishing";
  }

  /** The connection that became ready (also once it closed). */
  private get leg(): Leg | undefined {
    const s = this.status;
    return s.phase === "ready" || s.phase === "relaying" || s.phase === "closed" ? s.leg : undefined;
  }

  // -------------------------------------------------------------------------------------------------------------
  // Views
  // -------------------------------------------------------------------------------------------------------------

  get state(): TerminationState {
    switch (this.status.phase) {
      case "failed":
        return "failed";
      case "relaying":
        return "relaying";
      case "ready":
        return "ready";
      case "closed":
      case "released":
        return "closed";
      default: {
        let best: TerminationState = this.establishment.dialing ? "connecting" : "reserved";
        for (const c of this.candidates) {
          if (c.state === "awaiting-fingerprint") return "awaiting-fingerprint";
          if (c.state === "handshaking") best = "tls-handshake";
          else if (best !== "tls-handshake") best = "connected";
        }
        return best;
      }
    }
  }

  point(includeFingerprint = this.settings.localFingerprintRequested): AgwConnectionPoint {
    const fp = this.credential?.fingerprint;
    return {
      contextId: this.contextId,
      terminationId: this.id,
      side: this.side,
      transport: this.transport,
      localAddress: this.localAddress,
      localPort: this.localPort,
      state: this.state,
      // TS 23.334 "Local certificate fingerprint Request": answered with the SHA-256 fingerprint (RFC 8122 §5)
      ...(includeFingerprint && fp ? { localCertificateFingerprint: { hash: fp.hash, value: fp.value } } : {}),
    };
  }

  get statistics(): TerminationStatistics {
    return this.stats;
  }

  /** The ready connection's plaintext stream (TLS socket or TCP socket). */
  get readyStream(): net.Socket | undefined {
    const leg = this.leg;
    return leg && leg.state === "ready" ? leg.stream : undefined;
  }

  /** The TCP socket under the ready connection (to forward an abort as a RST). */
  get readyRaw(): net.Socket | undefined {
    const leg = this.leg;
    return leg && leg.state === "ready" ? leg.raw : undefined;
  }

  /** Resource counters (operations, tests, fault benchmarks). */
  get resources(): { sockets: number; listening: boolean; parked: number; candidates: number; timers: number } {
    let open = 0;
    for (const s of this.sockets) if (!s.closed && !(s instanceof tls.TLSSocket)) open++; // one fd per TCP socket
    const e = this.establishment.counters;
    let timers = (this.establishmentTimer ? 1 : 0) + e.timers;
    for (const c of this.candidates) if (c.timer) timers++;
    return {
      sockets: open + e.parked,
      listening: e.listening,
      parked: e.parked,
      candidates: this.candidates.size,
      timers,
    };
  }

  get remoteSetupRole(): SetupRole | undefined {
    return this.settings.remoteSetup;
  }

  get idleMs(): number {
    return this.timers.idleMs;
  }

  /** True when the peer will open the TCP connection itself (RFC 4145 §4: peer `active`). */
  get peerIsActive(): boolean {
    return this.settings.remoteSetup === "active";
  }

  get hasConnection(): boolean {
    if (this.accepting) return this.candidates.size > 0 || this.establishment.dialing;
    return this.leg !== undefined;
  }

  // -------------------------------------------------------------------------------------------------------------
  // Configure
  // -------------------------------------------------------------------------------------------------------------

  /** Applies a Configure AGW Connection Point request (validated already). */
  configure(req: ConfigureRequest): void {
    if (this.status.phase === "released") throw new AgwError("E_AGW_STATE", `termination ${this.id} is released`);
    const cfg = this.settings;
    // the roles in use on legs whose TLS handshake started (resolved from the explicit IE, a=setup or TCP direction)
    const rolesInUse = [this.leg, ...this.candidates].flatMap((l) => (l?.role !== undefined ? [l.role] : []));
    cfg.check(req, this.transport, this.isTls, rolesInUse);
    const fingerprintsChanged = cfg.apply(req);

    // Fingerprint delivered/changed: verify legs that wait (terminating step 14) and re-check a verified one.
    if (this.isTls && fingerprintsChanged && cfg.remoteFingerprints.length > 0) {
      for (const c of [...this.candidates]) if (c.state === "awaiting-fingerprint") this.tlsLegs.verify(c);
      const leg = this.leg;
      // RFC 8842 §3 / RFC 8122 §5.1: the peer's certificate no longer matches the signalled fingerprint
      if (leg && this.tlsLegs.recheck(leg) && this.status.phase === "ready") this.go({ phase: "closed", leg });
    }
    // TR 29.828 §4.4.2.2: delayed establishment; the Configure with the remote address opens the gate (indication 5)
    if (this.status.phase === "delayed" && cfg.remoteAddress !== undefined) {
      this.go({ phase: "establishing", connectPending: this.status.connectPending });
      this.establishment.releaseParked();
    }
    const s = this.status;
    const pending = (s.phase === "delayed" || s.phase === "establishing") && s.connectPending;
    if (req.tcpConnect) this.connect("request");
    else if (pending && cfg.canConnect) this.connect("interlinkage");
  }

  // -------------------------------------------------------------------------------------------------------------
  // Connections
  // -------------------------------------------------------------------------------------------------------------

  /**
   * Sends a TCP SYN toward the remote address. Idempotent: no second SYN while one is outstanding or a connection
   * exists (TR 29.828 §4.4.2.1.2: "the MGW may need to check … if it already sent a TCP connection establishment").
   */
  connect(trigger: "request" | "interlinkage"): void {
    const status = this.status;
    if (status.phase !== "delayed" && status.phase !== "establishing") return;
    if (this.hasConnection) return;
    const { remoteAddress: host, remotePort: port } = this.settings;
    if (host === undefined || !connectablePort(port)) {
      status.connectPending = true; // connect once Configure delivers the remote address
      return;
    }
    status.connectPending = false;
    this.establishment.dial(host, port, trigger);
  }

  // -------------------------------------------------------------------------------------------------------------
  // Host of the establishment control and of the TLS legs (internal: called by establishment.ts and tlsLeg.ts)
  // -------------------------------------------------------------------------------------------------------------

  /** @internal */
  admission(): "closed" | "gated" | "open" {
    return this.status.phase === "delayed" ? "gated" : this.accepting ? "open" : "closed";
  }

  /** @internal */
  sourceFilter(): string | undefined {
    return this.settings.sourceFilter;
  }

  /** @internal */
  candidateCount(): number {
    return this.candidates.size;
  }

  /** @internal */
  handshakeRefused(peerAddress: string, peerPort: number): void {
    this.hooks.handshakeRefused(this, peerAddress, peerPort);
  }

  /** @internal */
  remoteFingerprints(): readonly CertificateFingerprint[] {
    return this.settings.remoteFingerprints;
  }

  /** @internal */
  notifyTlsFailure(): boolean {
    return this.settings.notifyTlsFailure;
  }

  /** @internal the TLS socket of `leg` closed */
  closed(leg: Leg): void {
    this.onLegClosed(leg);
  }

  /** @internal `leg`'s peer certificate matched */
  verified(leg: Leg): void {
    this.legReady(leg);
  }

  /** @internal `leg` failed and was destroyed */
  dropped(leg: Leg): void {
    this.candidates.delete(leg);
  }

  /** @internal */
  track(s: net.Socket): void {
    this.sockets.add(s);
    s.once("close", () => this.sockets.delete(s));
  }

  /** @internal */
  adopt(
    raw: net.Socket,
    direction: "incoming" | "outgoing",
    peerAddress: string,
    peerPort: number,
    trigger?: "request" | "interlinkage",
  ): void {
    this.track(raw);
    if (this.keepAliveMs > 0) {
      // RFC 9293 §3.8.4 (RFC 1122 §4.2.3.6): keep-alive detects a peer that vanished without FIN or RST
      raw.setKeepAlive(true, Math.max(1000, this.keepAliveMs)); // whole seconds (TCP_KEEPIDLE); libuv: 10 probes, 1 s apart
    }
    const leg = new Leg(raw, direction, peerAddress, peerPort);
    this.candidates.add(leg);
    raw.once("close", () => this.onLegClosed(leg));
    this.hooks.emit({
      event: "tcpConnectionEstablished",
      contextId: this.contextId,
      terminationId: this.id,
      direction,
      ...(trigger !== undefined ? { trigger } : {}),
      peerAddress,
      peerPort,
    });
    this.hooks.tcpEstablished(this, direction);
    const { tlsRole, establishTlsSession, remoteSetup } = this.settings;
    if (this.isTls) this.tlsLegs.start(leg, resolveTlsRole({ tlsRole, establishTlsSession, remoteSetup }, direction));
    else this.legReady(leg);
  }

  private legReady(leg: Leg): void {
    this.candidates.delete(leg);
    if (this.status.phase !== "establishing") {
      leg.destroy();
      return;
    }
    leg.state = "ready";
    this.go({ phase: "ready", leg });
    // one connection per termination: stop accepting, drop the rest
    this.dropCandidates();
    this.establishment.stop();
    this.clearEstablishmentTimer();
    this.credential?.settle(); // no further TLS connection on this termination
    this.hooks.ready(this);
  }

  private onLegClosed(leg: Leg): void {
    if (this.status.phase === "released") return; // release destroyed every leg itself
    if (leg === this.leg) {
      // inside a relay the relay owns the teardown; a leg we closed ourselves needs no report
      if (this.status.phase !== "ready" || leg.state === "closed") return;
      leg.destroy();
      this.go({ phase: "closed", leg });
      this.hooks.emit({
        event: "tcpConnectionClosed",
        contextId: this.contextId,
        terminationId: this.id,
        reason: "peer closed",
      });
      this.hooks.disconnected(this);
      return;
    }
    if (leg.verifying) {
      this.tlsLegs.fail(leg, "handshake-failed", "connection closed before the TLS session was verified");
    } else {
      leg.destroy();
      this.candidates.delete(leg);
    }
  }

  private dropCandidates(): void {
    for (const c of this.candidates) c.destroy();
    this.candidates.clear();
  }

  // -------------------------------------------------------------------------------------------------------------
  // Relay (driven by the engine)
  // -------------------------------------------------------------------------------------------------------------

  /** Called by the engine when the context's relay takes this termination's ready connection. */
  relayStarted(): void {
    const leg = this.leg;
    if (!leg) throw new AgwError("E_AGW_STATE", `termination ${this.id} has no connection to relay`);
    this.go({ phase: "relaying", leg });
  }

  /** Called by the engine when the relay ends (the relay destroyed both streams). */
  relayEnded(stats: TerminationStatistics): void {
    const leg = this.leg;
    if (!leg) throw new AgwError("E_AGW_STATE", `termination ${this.id} has no relayed connection`);
    this.stats = stats;
    leg.destroy();
    this.go({ phase: "closed", leg });
  }

  // -------------------------------------------------------------------------------------------------------------
  // Timers and release
  // -------------------------------------------------------------------------------------------------------------

  private startEstablishmentTimer(): void {
    if (this.timers.establishmentMs <= 0) return;
    this.establishmentTimer = setTimeout(() => {
      this.establishmentTimer = undefined;
      if (!this.accepting) return;
      // Bounded: a termination that never got a (verified) connection stops accepting; the IMS-ALG releases it.
      this.go({ phase: "failed" });
      this.establishment.stop();
      this.dropCandidates();
      this.hooks.emit({ event: "tcpEstablishmentTimeout", contextId: this.contextId, terminationId: this.id });
    }, this.timers.establishmentMs);
  }

  private clearEstablishmentTimer(): void {
    if (this.establishmentTimer) clearTimeout(this.establishmentTimer);
    this.establishmentTimer = undefined;
  }

  /** Frees every socket and timer of the termination; resolves when all handles are closed (bounded). */
  async release(): Promise<TerminationStatistics> {
    if (this.status.phase === "released") return this.stats; // idempotent: a second release is no transition
    const leg = this.leg;
    this.go({ phase: "released" });
    this.clearEstablishmentTimer();
    const serverClosed = this.establishment.release();
    this.dropCandidates();
    leg?.destroy();
    const open = [...this.sockets].filter((s) => !s.closed);
    for (const s of open) s.destroy();
    const socketsClosed = Promise.all(
      open.map((s) => (s.closed ? Promise.resolve() : new Promise<void>((r) => s.once("close", () => r())))),
    );
    let guard: NodeJS.Timeout | undefined;
    await Promise.race([
      Promise.all([serverClosed, socketsClosed]),
      new Promise<void>((r) => {
        guard = setTimeout(r, 2000);
      }),
    ]);
    if (guard) clearTimeout(guard);
    return this.stats;
  }
}
