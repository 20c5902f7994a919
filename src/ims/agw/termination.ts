/**
 * One AGW termination: a local TCP transport address, its TCP establishment control (TR 29.828 §4.4.2.1.2,
 * §4.4.2.2) and, for TLS transports, the TLS termination with fingerprint verification (RFC 8122 §5.1, §6.2).
 *
 * Lifecycle of a connection ("leg") on the termination:
 *
 *   incoming SYN ─┬─ immediate ──────────────────────────────────────┐
 *                 ├─ delayed/drop, not configured ─► RST (refused)  │
 *                 ├─ delayed/hold, not configured ─► parked unread ─┤ Configure (remote address)
 *                 └─ filtered source (indication 5) ─► RST          │
 *   outgoing SYN (indication 2 / interlinkage 3) ───────────────────┤
 *                                                                   ▼
 *                                              TCP ─► [TLS handshake ─► verify fingerprint | hold until configured]
 *                                                                   ▼
 *                                                   ready (the context's relay starts when both sides are ready)
 *
 * Nothing is read from a connection before it is adopted (listeners use `pauseOnConnect`), and nothing is forwarded
 * before the leg is ready: for TLS that means the peer certificate matched the Remote certificate fingerprint.
 */

import net from "node:net";
import tls from "node:tls";
import type { AuditEvent, Logger } from "../../log.ts";
import { fingerprintOf } from "../../security/certificate.ts";
import type { TlsCredential } from "./credential.ts";
import type {
  AgwConnectionPoint,
  CertificateFingerprint,
  ConfigureAgwConnectionPointRequest,
  IqTransport,
  RemoteDescriptor,
  SetupRole,
  TcpEstablishment,
  TcpRefusalReason,
  TerminationSide,
  TerminationState,
  TerminationStatistics,
  TerminationTimers,
  TlsFailureReason,
  TlsRole,
} from "./iq.ts";
import { AgwError } from "./iqErrors.ts";
import type { IqEvent } from "./iqEvents.ts";
import { connectablePort, type HighWaterMark, normalizeAddress, sameAddress } from "./sockets.ts";
import { Leg } from "./tlsLeg.ts";
import { verifyPeerCertificate } from "./verifyPeer.ts";

export type ResolvedTimers = { readonly [K in keyof TerminationTimers]-?: number };

export interface TerminationHooks {
  emit(event: IqEvent): void;
  audit(event: AuditEvent): void;
  /** A TCP connection was adopted on `t` (interlinkage trigger, TR 29.828 §4.4.2.1.2 indication 3). */
  tcpEstablished(t: Termination, direction: "incoming" | "outgoing"): void;
  /** `t` has a ready (connected, and for TLS verified) connection. */
  ready(t: Termination): void;
  /** `t`'s ready connection closed before or outside a relay. */
  disconnected(t: Termination): void;
  /** AGW-wide bound on TLS handshakes in progress (`maxHandshakes`): true when no new incoming one may start. */
  handshakesFull(): boolean;
  /** A TLS handshake started / ended (counted once each per leg). */
  handshakeStarted(): void;
  handshakeEnded(): void;
  /** An incoming connection was refused by the AGW-wide handshake bound (log and audit, rate-limited by the AGW). */
  handshakeRefused(t: Termination, peerAddress: string, peerPort: number): void;
}

export interface TerminationInit {
  contextId: string;
  terminationId: string;
  side: TerminationSide;
  transport: IqTransport;
  localAddress: string;
  localPort: number;
  tcpEstablishment: TcpEstablishment;
  establishTlsSession: boolean;
  tlsRole?: TlsRole;
  notifyTlsFailure: boolean;
  localFingerprintRequested: boolean;
  acceptTcpOnlyFromRemote?: boolean;
  remote?: RemoteDescriptor;
  timers: ResolvedTimers;
  maxParked: number;
  maxCandidates: number;
  highWaterMark: number;
  /** TCP keep-alive on adopted connections: first probe after this idle time (0 = off). */
  keepAliveMs: number;
  /** Present iff the transport has TLS. */
  credential?: TlsCredential;
  logger: Logger;
  hooks: TerminationHooks;
}

const CLAUSE_FINGERPRINT = "RFC 8122 §5.1/§6.2; TR 29.828 §5.2.1.2.2 steps 5-7, §5.2.1.2.3 steps 12-16";
const CLAUSE_DELAYED = "TR 29.828 §4.4.2.2 (delayed establishment), §4.4.2.1.2 indication 4";
const CLAUSE_FILTER = "TR 29.828 §4.4.2.1.2 indication 5; §4.4.2.2 NOTE 1";

export class Termination {
  readonly contextId: string;
  readonly id: string;
  readonly side: TerminationSide;
  readonly transport: IqTransport;
  readonly isTls: boolean;
  readonly localAddress: string;
  localPort: number;
  readonly tcpEstablishment: TcpEstablishment;

  private remoteAddress: string | undefined;
  private remotePort: number | undefined;
  private remoteFingerprints: CertificateFingerprint[] = [];
  private remoteSetup: SetupRole | undefined;
  private establishTlsSession: boolean;
  private tlsRole: TlsRole | undefined;
  private notifyTlsFailure: boolean;
  private localFingerprintRequested: boolean;
  private acceptTcpOnlyFromRemote: boolean | undefined;
  /** delayed mode: the Configure with the remote address arrived (indication 5 given) */
  private armed = false;

  private server: net.Server | undefined;
  private readonly parked = new Map<net.Socket, NodeJS.Timeout | undefined>();
  private readonly candidates = new Set<Leg>();
  private outgoing: { socket: net.Socket; timer: NodeJS.Timeout | undefined } | undefined;
  /** interlinkage trigger received while the remote address was unknown (TR 29.828 §4.4.2.1.2 indication 3) */
  private pendingTrigger = false;
  private establishmentTimer: NodeJS.Timeout | undefined;
  private readonly sockets = new Set<net.Socket>();

  /** the ready connection */
  leg: Leg | undefined;
  relaying = false;
  private failed = false;
  private released = false;
  private stats: TerminationStatistics = { octetsReceived: 0, octetsSent: 0 };

  private readonly timers: ResolvedTimers;
  private readonly maxParked: number;
  private readonly maxCandidates: number;
  private readonly highWaterMark: number;
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
    this.establishTlsSession = init.establishTlsSession;
    this.tlsRole = init.tlsRole;
    this.notifyTlsFailure = init.notifyTlsFailure;
    this.localFingerprintRequested = init.localFingerprintRequested;
    this.acceptTcpOnlyFromRemote = init.acceptTcpOnlyFromRemote;
    this.timers = init.timers;
    this.maxParked = init.maxParked;
    this.maxCandidates = init.maxCandidates;
    this.highWaterMark = init.highWaterMark;
    this.keepAliveMs = init.keepAliveMs;
    this.credential = init.credential;
    this.log = init.logger;
    this.hooks = init.hooks;
    if (init.remote) this.applyRemote(init.remote);
  }

  /** Reserves the local transport address (listening at once: TR 29.828 §4.4.2.1.2 indication 1). */
  static async create(init: TerminationInit): Promise<Termination> {
    const t = new Termination(init);
    await t.listen();
    t.startEstablishmentTimer();
    if (t.tcpEstablishment.mode === "delayed" && t.remoteAddress !== undefined) t.armed = true; // NOTE 2: combined
    return t;
  }

  // -------------------------------------------------------------------------------------------------------------
  // Views
  // -------------------------------------------------------------------------------------------------------------

  get state(): TerminationState {
    if (this.failed) return "failed";
    if (this.relaying) return "relaying";
    if (this.leg) return this.leg.state === "closed" ? "closed" : "ready";
    let best: TerminationState = this.outgoing ? "connecting" : "reserved";
    for (const c of this.candidates) {
      if (c.state === "awaiting-fingerprint") return "awaiting-fingerprint";
      if (c.state === "handshaking") best = "tls-handshake";
      else if (best !== "tls-handshake") best = "connected";
    }
    return best;
  }

  point(includeFingerprint = this.localFingerprintRequested): AgwConnectionPoint {
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
      ...(includeFingerprint && fp
        ? { localCertificateFingerprint: { algorithm: fp.algorithm, value: fp.value } }
        : {}),
    };
  }

  get statistics(): TerminationStatistics {
    return this.stats;
  }

  /** The ready connection's plaintext stream (TLS socket or TCP socket). */
  get readyStream(): net.Socket | undefined {
    return this.leg && this.leg.state === "ready" ? this.leg.stream : undefined;
  }

  /** The TCP socket under the ready connection (to forward an abort as a RST). */
  get readyRaw(): net.Socket | undefined {
    return this.leg && this.leg.state === "ready" ? this.leg.raw : undefined;
  }

  /** Resource counters (operations, tests, fault benchmarks). */
  get resources(): { sockets: number; listening: boolean; parked: number; candidates: number; timers: number } {
    let open = 0;
    for (const s of this.sockets) if (!s.closed && !(s instanceof tls.TLSSocket)) open++; // one fd per TCP socket
    let timers = this.establishmentTimer ? 1 : 0;
    for (const t of this.parked.values()) if (t) timers++;
    for (const c of this.candidates) if (c.timer) timers++;
    if (this.outgoing?.timer) timers++;
    return {
      sockets: open + this.parked.size,
      listening: this.server !== undefined,
      parked: this.parked.size,
      candidates: this.candidates.size,
      timers,
    };
  }

  get remoteSetupRole(): SetupRole | undefined {
    return this.remoteSetup;
  }

  get idleMs(): number {
    return this.timers.idleMs;
  }

  // -------------------------------------------------------------------------------------------------------------
  // Configure
  // -------------------------------------------------------------------------------------------------------------

  /** Applies a Configure AGW Connection Point request (validated already). */
  configure(req: Omit<ConfigureAgwConnectionPointRequest, "contextId" | "terminationId">): void {
    if (this.released) throw new AgwError("E_AGW_STATE", `termination ${this.id} is released`);
    // the roles in use on legs whose TLS handshake started (resolved from the explicit IE, a=setup or TCP direction)
    const rolesInUse = [this.leg, ...this.candidates].flatMap((l) => (l?.role !== undefined ? [l.role] : []));
    if (!this.isTls) {
      if (req.establishTlsSession || req.tlsRole !== undefined || req.localCertificateFingerprintRequest) {
        throw new AgwError("E_AGW_INVALID_PARAM", `${this.transport} termination has no TLS`);
      }
    }
    // A Configure that repeats the role already in use (e.g. the IMS-ALG's TLS setup direction of TR 29.828
    // §5.2.1.2.2 steps 16-18 arriving after the AGW connected by interlinkage) is accepted; a different one is not.
    if (req.tlsRole !== undefined && rolesInUse.some((r) => r !== req.tlsRole)) {
      throw new AgwError("E_AGW_STATE", "TLS role cannot change once the TLS session started");
    }
    if (req.tcpConnect) {
      const address = req.remote?.address ?? this.remoteAddress;
      const port = req.remote?.port ?? this.remotePort;
      if (address === undefined || !connectablePort(port)) {
        throw new AgwError("E_AGW_INVALID_PARAM", "tcpConnect needs a remote address and port (not 0 or 9)");
      }
    }
    const fpBefore = JSON.stringify(this.remoteFingerprints);
    if (req.remote) this.applyRemote(req.remote);
    if (req.establishTlsSession !== undefined) this.establishTlsSession = req.establishTlsSession;
    if (req.tlsRole !== undefined) this.tlsRole = req.tlsRole;
    if (req.notifyTlsSessionEstablishmentFailureEvent !== undefined) {
      this.notifyTlsFailure = req.notifyTlsSessionEstablishmentFailureEvent;
    }
    if (req.localCertificateFingerprintRequest !== undefined) {
      this.localFingerprintRequested = req.localCertificateFingerprintRequest;
    }
    if (req.acceptTcpOnlyFromRemote !== undefined) this.acceptTcpOnlyFromRemote = req.acceptTcpOnlyFromRemote;

    // Fingerprint delivered/changed: verify legs that wait (terminating step 14) and re-check a verified one.
    if (this.isTls && JSON.stringify(this.remoteFingerprints) !== fpBefore && this.remoteFingerprints.length > 0) {
      for (const c of [...this.candidates]) if (c.state === "awaiting-fingerprint") this.verifyLeg(c);
      const leg = this.leg;
      if (leg?.peerDer && leg.state === "ready" && !verifyPeerCertificate(leg.peerDer, this.remoteFingerprints).ok) {
        // RFC 8842 §3 / RFC 8122 §5.1: the peer's certificate no longer matches the signalled fingerprint
        this.auditFingerprint(leg, false, "fingerprint changed by Configure");
        this.legFail(leg, "fingerprint-mismatch", "peer certificate does not match the reconfigured fingerprint", true);
      }
    }
    // TR 29.828 §4.4.2.2: delayed establishment; the Configure with the remote address opens the gate (indication 5)
    if (this.tcpEstablishment.mode === "delayed" && !this.armed && this.remoteAddress !== undefined) {
      this.armed = true;
      this.releaseParked();
    }
    if (req.tcpConnect) this.connect("request");
    else if (this.pendingTrigger && this.canConnect()) this.connect("interlinkage");
  }

  private applyRemote(r: RemoteDescriptor): void {
    if (r.address !== undefined) this.remoteAddress = r.address;
    if (r.port !== undefined) this.remotePort = r.port;
    if (r.certificateFingerprints !== undefined) this.remoteFingerprints = [...r.certificateFingerprints];
    if (r.setup !== undefined) this.remoteSetup = r.setup;
  }

  // -------------------------------------------------------------------------------------------------------------
  // Listening and incoming connections
  // -------------------------------------------------------------------------------------------------------------

  private async listen(): Promise<void> {
    // pauseOnConnect: not a byte is read from an accepted connection until we decide to adopt it
    const server = net.createServer({
      pauseOnConnect: true,
      allowHalfOpen: true,
      noDelay: true,
      highWaterMark: this.highWaterMark,
    });
    server.on("connection", (raw) => this.onIncoming(raw));
    await new Promise<void>((resolve, reject) => {
      const onError = (e: NodeJS.ErrnoException) =>
        reject(
          new AgwError("E_AGW_BIND", `cannot bind ${this.localAddress}:${this.localPort}: ${e.code ?? e.message}`),
        );
      server.once("error", onError);
      server.listen({ host: this.localAddress, port: this.localPort, backlog: 16, exclusive: true }, () => {
        server.off("error", onError);
        resolve();
      });
    });
    server.on("error", (e) =>
      this.log.warn({ err: e.message, contextId: this.contextId, terminationId: this.id }, "listener error"),
    );
    const addr = server.address();
    if (addr && typeof addr === "object") this.localPort = addr.port;
    this.server = server;
  }

  private closeListener(): void {
    const s = this.server;
    this.server = undefined;
    if (s) s.close();
  }

  /** Active filter on the source address (indication 5; default on in delayed mode, opt-in in immediate mode). */
  private get filterSource(): boolean {
    if (this.remoteAddress === undefined) return false;
    return this.acceptTcpOnlyFromRemote ?? this.tcpEstablishment.mode === "delayed";
  }

  private onIncoming(raw: net.Socket): void {
    raw.on("error", () => {}); // errors of a connection we have not adopted are of no interest
    const peerAddress = normalizeAddress(raw.remoteAddress ?? "");
    const peerPort = raw.remotePort ?? 0;
    if (this.released || this.failed || this.leg) {
      this.refuse(raw, peerAddress, peerPort, "duplicate");
      return;
    }
    if (this.tcpEstablishment.mode === "delayed" && !this.armed) {
      if (this.tcpEstablishment.policy === "drop") {
        // TR 29.828 §4.4.2.1.2 indication 4: ignore any incoming SYN until configured (emulated: RST after accept)
        this.refuse(raw, peerAddress, peerPort, "delayed-not-configured", "connection-refused-delayed", CLAUSE_DELAYED);
      } else if (this.parked.size >= this.maxParked) {
        this.refuse(raw, peerAddress, peerPort, "limit");
      } else {
        this.park(raw, peerAddress, peerPort);
      }
      return;
    }
    this.admit(raw, peerAddress, peerPort);
  }

  /** Source filter, then adoption. */
  private admit(raw: net.Socket, peerAddress: string, peerPort: number): void {
    const remote = this.remoteAddress;
    if (this.filterSource && remote !== undefined && !sameAddress(peerAddress, remote)) {
      // TR 29.828 §4.4.2.1.2 indication 5: accept TCP SYN only from the indicated remote address
      this.refuse(raw, peerAddress, peerPort, "source-filtered", "source-filtered", CLAUSE_FILTER, remote);
      return;
    }
    if (this.leg) {
      this.refuse(raw, peerAddress, peerPort, "duplicate");
      return;
    }
    if (this.candidates.size >= this.maxCandidates) {
      this.refuse(raw, peerAddress, peerPort, "limit");
      return;
    }
    if (this.isTls && this.hooks.handshakesFull()) {
      // local policy (maxHandshakes): bound the AGW-wide TLS work an unauthenticated peer can cause; RST, unread
      if (!raw.destroyed) raw.resetAndDestroy();
      this.hooks.handshakeRefused(this, peerAddress, peerPort);
      this.hooks.emit({
        event: "tcpConnectionRefused",
        contextId: this.contextId,
        terminationId: this.id,
        reason: "handshake-limit",
        code: "E_AGW_HANDSHAKE_LIMIT",
        peerAddress,
        peerPort,
      });
      return;
    }
    this.adopt(raw, "incoming", peerAddress, peerPort);
  }

  private refuse(
    raw: net.Socket,
    peerAddress: string,
    peerPort: number,
    reason: TcpRefusalReason,
    decision?: string,
    clause?: string,
    expectedAddress?: string,
  ): void {
    if (!raw.destroyed) raw.resetAndDestroy();
    this.log.debug({ contextId: this.contextId, terminationId: this.id, peerAddress, peerPort, reason }, "refused");
    if (decision && clause) {
      this.hooks.audit({
        node: "agw",
        decision,
        clause,
        contextId: this.contextId,
        terminationId: this.id,
        peerAddress,
        peerPort,
        ...(expectedAddress !== undefined ? { expectedAddress } : {}),
        policy: this.tcpEstablishment.mode === "delayed" ? this.tcpEstablishment.policy : "immediate",
      });
    }
    this.hooks.emit({
      event: "tcpConnectionRefused",
      contextId: this.contextId,
      terminationId: this.id,
      reason,
      peerAddress,
      peerPort,
    });
  }

  /** Editor's note "stored": the connection is kept at TCP level, nothing is read, until Configure decides. */
  private park(raw: net.Socket, peerAddress: string, peerPort: number): void {
    const timer =
      this.timers.holdMs > 0
        ? setTimeout(() => {
            this.parked.delete(raw);
            this.refuse(raw, peerAddress, peerPort, "hold-timeout");
          }, this.timers.holdMs)
        : undefined;
    this.parked.set(raw, timer);
    raw.once("close", () => {
      const t = this.parked.get(raw);
      if (t) clearTimeout(t);
      this.parked.delete(raw);
    });
    this.hooks.emit({
      event: "tcpConnectionParked",
      contextId: this.contextId,
      terminationId: this.id,
      peerAddress,
      peerPort,
    });
  }

  /** Delayed/hold: Configure arrived; parked connections are filtered by source and adopted or destroyed. */
  private releaseParked(): void {
    const parked = [...this.parked.entries()];
    this.parked.clear();
    for (const [raw, timer] of parked) {
      clearTimeout(timer);
      if (raw.destroyed) continue;
      this.admit(raw, normalizeAddress(raw.remoteAddress ?? ""), raw.remotePort ?? 0);
    }
  }

  // -------------------------------------------------------------------------------------------------------------
  // Outgoing connections (indication 2, interlinkage indication 3)
  // -------------------------------------------------------------------------------------------------------------

  private canConnect(): boolean {
    return this.remoteAddress !== undefined && connectablePort(this.remotePort);
  }

  /** True when the peer will open the TCP connection itself (RFC 4145 §4: peer `active`). */
  get peerIsActive(): boolean {
    return this.remoteSetup === "active";
  }

  get hasConnection(): boolean {
    return this.leg !== undefined || this.candidates.size > 0 || this.outgoing !== undefined;
  }

  /**
   * Sends a TCP SYN toward the remote address. Idempotent: no second SYN while one is outstanding or a connection
   * exists (TR 29.828 §4.4.2.1.2: "the MGW may need to check … if it already sent a TCP connection establishment").
   */
  connect(trigger: "request" | "interlinkage"): void {
    if (this.released || this.failed) return;
    if (this.hasConnection) return;
    const host = this.remoteAddress;
    const port = this.remotePort;
    if (host === undefined || port === undefined || !connectablePort(port)) {
      this.pendingTrigger = true; // connect once Configure delivers the remote address
      return;
    }
    this.pendingTrigger = false;
    const options: net.NetConnectOpts & HighWaterMark = {
      host,
      port,
      localAddress: this.localAddress,
      allowHalfOpen: true,
      noDelay: true,
      highWaterMark: this.highWaterMark,
    };
    const socket = net.connect(options);
    socket.pause(); // nothing flows before the leg is ready
    this.track(socket);
    const fail = (reason: string) => {
      if (this.outgoing?.socket !== socket) return;
      if (this.outgoing.timer) clearTimeout(this.outgoing.timer);
      this.outgoing = undefined;
      socket.destroy();
      this.hooks.emit({
        event: "tcpConnectFailure",
        contextId: this.contextId,
        terminationId: this.id,
        remoteAddress: host,
        remotePort: port,
        reason,
      });
    };
    const timer = this.timers.connectMs > 0 ? setTimeout(() => fail("timeout"), this.timers.connectMs) : undefined;
    this.outgoing = { socket, timer };
    socket.on("error", (e: NodeJS.ErrnoException) => fail(e.code ?? e.message));
    socket.once("connect", () => {
      if (this.outgoing?.socket !== socket) return;
      if (timer) clearTimeout(timer);
      this.outgoing = undefined;
      socket.removeAllListeners("error");
      socket.on("error", () => {});
      if (this.leg || this.released) {
        socket.destroy();
        return;
      }
      this.adopt(socket, "outgoing", host, port, trigger);
    });
  }

  // -------------------------------------------------------------------------------------------------------------
  // Legs
  // -------------------------------------------------------------------------------------------------------------

  private track(s: net.Socket): void {
    this.sockets.add(s);
    s.once("close", () => this.sockets.delete(s));
  }

  private adopt(
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
    if (this.isTls) this.startTls(leg);
    else this.legReady(leg);
  }

  /**
   * TLS role: explicit IE; else "Establish (D)TLS session" ⇒ client (TS 23.334); else from the peer's a=setup
   * (peer active ⇒ AGW passive ⇒ server, peer passive ⇒ client: RFC 4145 §4 with RFC 8122 §6.2); else from the
   * TCP direction (the side that opened TCP is the TLS client).
   */
  private resolveTlsRole(direction: "incoming" | "outgoing"): TlsRole {
    if (this.tlsRole) return this.tlsRole;
    if (this.establishTlsSession) return "client";
    if (this.remoteSetup === "active") return "server";
    if (this.remoteSetup === "passive") return "client";
    return direction === "incoming" ? "server" : "client";
  }

  private startTls(leg: Leg): void {
    const role = this.resolveTlsRole(leg.direction);
    leg.role = role;
    leg.state = "handshaking";
    this.hooks.handshakeStarted();
    leg.endHandshake = () => this.hooks.handshakeEnded();
    let s: tls.TLSSocket;
    try {
      const credential = this.credential;
      if (!credential) throw new AgwError("E_AGW_INTERNAL", "TLS termination without certificate");
      const secureContext = credential.secureContext;
      if (role === "server") {
        // RFC 8122 §6.2: the server MUST request the client certificate; self-signed ⇒ no CA check, fingerprint only
        const options: tls.TLSSocketOptions & HighWaterMark = {
          isServer: true,
          secureContext,
          requestCert: true,
          rejectUnauthorized: false,
          highWaterMark: this.highWaterMark,
        };
        s = new tls.TLSSocket(leg.raw, options);
        s.once("secure", () => this.onHandshake(leg));
      } else {
        // TS 23.334 "Establish (D)TLS session": the AGW is TLS client; identity is the fingerprint, not a name
        const options: tls.ConnectionOptions & HighWaterMark = {
          socket: leg.raw,
          secureContext,
          rejectUnauthorized: false,
          checkServerIdentity: () => undefined,
          highWaterMark: this.highWaterMark,
        };
        s = tls.connect(options);
        s.once("secureConnect", () => this.onHandshake(leg));
      }
    } catch (e) {
      this.legFail(leg, "handshake-failed", e instanceof Error ? e.message : "TLS setup failed");
      return;
    }
    s.pause(); // application data stays in the socket until the leg is ready
    leg.tls = s;
    this.track(s);
    s.on("error", (e) => {
      if (leg.state === "handshaking" || leg.state === "awaiting-fingerprint") {
        this.legFail(leg, "handshake-failed", e.message);
      }
    });
    s.once("close", () => this.onLegClosed(leg));
    // A FIN before the handshake completed: the peer can no longer finish it (our sockets allow half-open, so
    // nothing else would close the leg before the handshake timer). Only reached while no data is buffered.
    s.once("end", () => {
      if (leg.state === "handshaking") {
        this.legFail(leg, "handshake-failed", "peer closed the connection during the TLS handshake");
      }
    });
    if (this.timers.handshakeMs > 0) {
      leg.timer = setTimeout(
        () => this.legFail(leg, "handshake-timeout", `no TLS handshake within ${this.timers.handshakeMs} ms`),
        this.timers.handshakeMs,
      );
    }
  }

  private onHandshake(leg: Leg): void {
    if (leg.state !== "handshaking") return;
    leg.clearTimer();
    leg.handshakeDone();
    const s = leg.tls;
    const cert = s?.getPeerX509Certificate();
    if (!s || !cert) {
      // RFC 8122 §6.2: both endpoints MUST present a certificate in offer/answer TLS
      this.legFail(leg, "no-peer-certificate", "peer presented no certificate");
      return;
    }
    leg.peerDer = cert.raw;
    leg.protocol = s.getProtocol() ?? "";
    if (this.remoteFingerprints.length === 0) {
      // TR 29.828 §5.2.1.2.3 step 12: "The IMS-AGW needs to wait until step 14 to verify the received fingerprint";
      // RFC 8122 §6.2: data MUST NOT be trusted before a matching fingerprint arrives. Reading stays paused.
      leg.state = "awaiting-fingerprint";
      if (this.timers.fingerprintWaitMs > 0) {
        leg.timer = setTimeout(
          () => this.legFail(leg, "fingerprint-timeout", "remote certificate fingerprint was not configured in time"),
          this.timers.fingerprintWaitMs,
        );
      }
      this.log.debug({ contextId: this.contextId, terminationId: this.id }, "TLS up, waiting for fingerprint");
      return;
    }
    this.verifyLeg(leg);
  }

  private verifyLeg(leg: Leg): void {
    const der = leg.peerDer;
    if (!der || leg.state === "closed") return;
    leg.clearTimer();
    const v = verifyPeerCertificate(der, this.remoteFingerprints);
    this.auditFingerprint(leg, v.ok, v.reason);
    if (!v.ok) {
      // RFC 8122 §5.1: no matching fingerprint ⇒ MUST NOT establish the TLS connection (nothing is relayed)
      this.legFail(
        leg,
        v.reason === "no-supported-hash" ? "no-supported-fingerprint" : "fingerprint-mismatch",
        v.reason === "no-supported-hash"
          ? "no signalled fingerprint uses a supported hash function"
          : "peer certificate does not match the remote certificate fingerprint",
        true,
      );
      return;
    }
    this.hooks.emit({
      event: "tlsSessionEstablished",
      contextId: this.contextId,
      terminationId: this.id,
      role: leg.role ?? "server",
      protocol: leg.protocol,
      peerCertificateFingerprint: v.presented ?? fingerprintOf(der),
    });
    this.legReady(leg);
  }

  private auditFingerprint(leg: Leg, ok: boolean, reason?: string): void {
    const der = leg.peerDer;
    this.hooks.audit({
      node: "agw",
      decision: ok ? "fingerprint-verified" : "fingerprint-mismatch",
      clause: CLAUSE_FINGERPRINT,
      contextId: this.contextId,
      terminationId: this.id,
      peerAddress: leg.peerAddress,
      peerPort: leg.peerPort,
      tlsRole: leg.role,
      protocol: leg.protocol,
      presented: der ? fingerprintOf(der, "sha-256") : undefined,
      expected: this.remoteFingerprints,
      ...(reason !== undefined ? { reason } : {}),
    });
  }

  private legFail(leg: Leg, reason: TlsFailureReason, detail: string, audited = false): void {
    if (leg.state === "closed") return;
    const der = leg.peerDer;
    leg.destroy();
    this.candidates.delete(leg);
    if (!audited) {
      this.hooks.audit({
        node: "agw",
        decision: "handshake-failed",
        clause: CLAUSE_FINGERPRINT,
        contextId: this.contextId,
        terminationId: this.id,
        peerAddress: leg.peerAddress,
        peerPort: leg.peerPort,
        tlsRole: leg.role,
        reason,
        detail,
        presented: der ? fingerprintOf(der, "sha-256") : undefined,
        expected: this.remoteFingerprints,
      });
    }
    this.log.info({ contextId: this.contextId, terminationId: this.id, reason, detail }, "TLS leg failed");
    if (this.notifyTlsFailure) {
      // TS 23.334 "Notify (D)TLS session establishment Failure Event"
      this.hooks.emit({
        event: "tlsSessionEstablishmentFailure",
        contextId: this.contextId,
        terminationId: this.id,
        reason,
        detail,
        peerAddress: leg.peerAddress,
        ...(der ? { peerCertificateFingerprint: fingerprintOf(der, "sha-256") } : {}),
      });
    }
  }

  private legReady(leg: Leg): void {
    if (this.leg || this.released) {
      leg.destroy();
      this.candidates.delete(leg);
      return;
    }
    leg.state = "ready";
    this.leg = leg;
    this.candidates.delete(leg);
    // one connection per termination: stop accepting, drop the rest
    for (const c of this.candidates) c.destroy();
    this.candidates.clear();
    for (const [raw, t] of this.parked) {
      clearTimeout(t);
      raw.destroy();
    }
    this.parked.clear();
    if (this.outgoing) {
      if (this.outgoing.timer) clearTimeout(this.outgoing.timer);
      this.outgoing.socket.destroy();
      this.outgoing = undefined;
    }
    this.closeListener();
    this.clearEstablishmentTimer();
    this.hooks.ready(this);
  }

  private onLegClosed(leg: Leg): void {
    if (leg === this.leg) {
      // inside a relay the relay owns the teardown; a leg we closed ourselves needs no report
      if (this.relaying || leg.state === "closed") return;
      leg.destroy();
      this.hooks.emit({
        event: "tcpConnectionClosed",
        contextId: this.contextId,
        terminationId: this.id,
        reason: "peer closed",
      });
      this.hooks.disconnected(this);
      return;
    }
    if (leg.state === "handshaking" || leg.state === "awaiting-fingerprint") {
      this.legFail(leg, "handshake-failed", "connection closed before the TLS session was verified");
    } else {
      leg.destroy();
      this.candidates.delete(leg);
    }
  }

  /** Called by the engine when the relay ends (the relay destroyed both streams). */
  relayEnded(stats: TerminationStatistics): void {
    this.relaying = false;
    this.stats = stats;
    if (this.leg) this.leg.destroy();
  }

  // -------------------------------------------------------------------------------------------------------------
  // Timers and release
  // -------------------------------------------------------------------------------------------------------------

  private startEstablishmentTimer(): void {
    if (this.timers.establishmentMs <= 0) return;
    this.establishmentTimer = setTimeout(() => {
      this.establishmentTimer = undefined;
      if (this.leg || this.released) return;
      // Bounded: a termination that never got a (verified) connection stops accepting; the IMS-ALG releases it.
      this.failed = true;
      this.closeListener();
      for (const [raw, t] of this.parked) {
        clearTimeout(t);
        raw.destroy();
      }
      this.parked.clear();
      for (const c of this.candidates) c.destroy();
      this.candidates.clear();
      if (this.outgoing) {
        if (this.outgoing.timer) clearTimeout(this.outgoing.timer);
        this.outgoing.socket.destroy();
        this.outgoing = undefined;
      }
      this.hooks.emit({ event: "tcpEstablishmentTimeout", contextId: this.contextId, terminationId: this.id });
    }, this.timers.establishmentMs);
  }

  private clearEstablishmentTimer(): void {
    if (this.establishmentTimer) clearTimeout(this.establishmentTimer);
    this.establishmentTimer = undefined;
  }

  /** Frees every socket and timer of the termination; resolves when all handles are closed (bounded). */
  async release(): Promise<TerminationStatistics> {
    if (this.released) return this.stats;
    this.released = true;
    this.clearEstablishmentTimer();
    const server = this.server;
    this.server = undefined;
    const serverClosed = server ? new Promise<void>((r) => server.close(() => r())) : Promise.resolve();
    for (const [raw, t] of this.parked) {
      clearTimeout(t);
      this.track(raw);
      raw.destroy();
    }
    this.parked.clear();
    for (const c of this.candidates) c.destroy();
    this.candidates.clear();
    if (this.outgoing) {
      if (this.outgoing.timer) clearTimeout(this.outgoing.timer);
      this.outgoing.socket.destroy();
      this.outgoing = undefined;
    }
    this.leg?.destroy();
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
