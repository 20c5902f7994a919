/**
 * One DTLS/SCTP association over ICE (full or lite) or over plain UDP without ICE (src/ue/udpPath.ts), built from
 * werift's transport classes (never RTCPeerConnection: it forces DTLS-SRTP and a public STUN server). A new
 * association (RFC 8842 §3) is a new DcTransport.
 */

import {
  candidateFromSdp,
  candidateToSdp,
  RTCCertificate,
  RTCDataChannel,
  RTCDataChannelParameters,
  RTCDtlsFingerprint,
  RTCDtlsParameters,
  RTCDtlsTransport,
  RTCIceGatherer,
  RTCIceParameters,
  RTCIceTransport,
  RTCSctpTransport,
} from "#werift";
import { type Logger, silentLogger } from "../log.ts";
import { verifyPeerCertificate } from "../security/verify.ts";
import { TypedEmitter } from "../sip/emitter.ts";
import { DcChannel, type DcChannelInfo } from "./channel.ts";
import { DatagramLink } from "./datagramLink.ts";
import { UeError, withTimeout } from "./errors.ts";
import { type IceMode, type IcePlan, planIce } from "./iceMode.ts";
import { hasSctpChunk, SCTP_SHUTDOWN } from "./sctpChunk.ts";
import { consentIntervalMs, type DcTimeouts, DEFAULT_TIMEOUTS, MIN_CONSENT_MS } from "./timeouts.ts";
import type { DtlsIdentity, LocalTransportParams, RemoteTransportParams, UdpPathCounters } from "./transportParams.ts";
import { adoptWeriftSocket, bindUdp, UdpPath } from "./udpPath.ts";
import { dcSecurityVerdict, type SecurityVerdict } from "./verdict.ts";

export { consentIntervalMs, type DcTimeouts, DEFAULT_TIMEOUTS, MIN_CONSENT_MS } from "./timeouts.ts";
export type { DtlsIdentity, RemoteTransportParams } from "./transportParams.ts";
export type { SecurityVerdict } from "./verdict.ts";

export type DtlsRole = "client" | "server";
export type DcTransportState = "new" | "gathering" | "connecting" | "connected" | "failed" | "closed";
/** The ICE connection's state as werift reports it (W3C RTCIceTransportState). */
export type IceState = "new" | "checking" | "connected" | "completed" | "disconnected" | "failed" | "closed";

/**
 * How long an SCTP ABORT from the peer may precede its DTLS close_notify and still count as an orderly close: our own
 * close() sends ABORT, then close_notify, within a millisecond. An ABORT with neither close_notify nor an earlier SCTP
 * SHUTDOWN (libdatachannel sends SHUTDOWN, ABORT and only sometimes close_notify) is a failure.
 */
const ABORT_GRACE_MS = 1_000;

export interface DcTransportOptions {
  identity: DtlsIdentity;
  /** host addresses to gather on; only these are advertised. Default ["127.0.0.1"]. */
  hostAddresses?: string[];
  /** our a=sctp-port (RFC 8841 §5); default 5000 */
  sctpPort?: number;
  /** our a=max-message-size (RFC 8841 §6); default 65536; 0 = unlimited */
  maxMessageSize?: number;
  /** @deprecated use `iceMode: "lite"` */
  iceLite?: boolean;
  /** "full" (default), "lite" (answers checks only) or "none" (plain UDP to the peer's c=/port); src/ue/iceMode.ts */
  iceMode?: IceMode;
  /**
   * Without ICE: latch on a source other than the signalled c=/port once it completed an authenticated DTLS handshake
   * (src/ue/udpPath.ts). Default false: only the signalled address and port are accepted.
   */
  latch?: boolean;
  /**
   * RFC 8445 §6.1.1: the offerer's agent is controlling. Known when the transport is created (offer or answer), and
   * set before any packet: checks can arrive before the answer does, and a wrong default role makes the peer switch
   * roles (487 Role Conflict) and nominate alone.
   */
  iceControlling?: boolean;
  timeouts?: Partial<DcTimeouts>;
  logger?: Logger;
}

export interface DcTransportEvents {
  state: [DcTransportState];
  /** every ICE connection state change (e.g. "connected" once a pair is nominated, "failed" on consent expiry) */
  ice: [IceState];
  verdict: [SecurityVerdict];
  channel: [DcChannel];
  /** terminal failure of the association/negotiation (named so that an unheard event never throws) */
  failure: [UeError];
}

function isAuthFailure(msg: string): boolean {
  return /signature|CertificateVerify|ServerKeyExchange|Finished|verify_data|decrypt_error/i.test(msg);
}

export class DcTransport extends TypedEmitter<DcTransportEvents> {
  readonly identity: DtlsIdentity;
  readonly localMaxMessageSize: number;
  readonly localSctpPort: number;
  private readonly hostAddresses: string[];
  private readonly timeouts: DcTimeouts;
  private readonly log: Logger;
  readonly iceMode: IceMode;
  private readonly latch: boolean;
  private readonly gatherer: RTCIceGatherer;
  private readonly ice: RTCIceTransport;
  private readonly link: DatagramLink;
  /** the no-ICE path (mode "none" from gathering on; a full/lite agent's fallback from connect on) */
  private path: UdpPath | undefined;
  private _plan: IcePlan | undefined;
  private readonly dtls: RTCDtlsTransport;
  private readonly sctp: RTCSctpTransport;
  private readonly channels = new Map<number, DcChannel>();
  private remoteMax = 65536;
  private role: DtlsRole | undefined;
  private _state: DcTransportState = "new";
  private _verdict: SecurityVerdict | undefined;
  private closed = false;
  private local: LocalTransportParams | undefined;
  /** ICE has connected once: from then on an ICE "failed" means consent expired (RFC 7675 §5.1) */
  private iceUp = false;
  /** the peer is gone while connect() runs: rejects the stage in progress */
  private lostDuringConnect: ((e: UeError) => void) | undefined;
  private lostError: UeError | undefined;
  /** SCTP ABORT received: waiting for the peer's close_notify (ABORT_GRACE_MS) */
  private abortTimer: ReturnType<typeof setTimeout> | undefined;
  /** the peer sent an SCTP SHUTDOWN: it closes the association gracefully (RFC 9260 §9.2) */
  private peerShutdown = false;

  constructor(opts: DcTransportOptions) {
    super();
    this.identity = opts.identity;
    this.hostAddresses = opts.hostAddresses ?? ["127.0.0.1"];
    this.localMaxMessageSize = opts.maxMessageSize ?? 65536;
    this.localSctpPort = opts.sctpPort ?? 5000;
    this.timeouts = { ...DEFAULT_TIMEOUTS, ...opts.timeouts };
    if (!Number.isFinite(this.timeouts.consentMs) || this.timeouts.consentMs < MIN_CONSENT_MS) {
      throw new UeError("E_CONFIG", `timeouts.consentMs must be a number >= ${MIN_CONSENT_MS}`);
    }
    this.log = opts.logger ?? silentLogger;
    this.iceMode = opts.iceMode ?? (opts.iceLite ? "lite" : "full");
    this.latch = opts.latch ?? false;
    const v4 = this.hostAddresses.find((a) => a.includes(".") && !a.includes(":"));
    const v6 = this.hostAddresses.find((a) => a.includes(":"));
    // Host candidates only, on the configured addresses; no STUN/TURN server is ever configured here.
    this.gatherer = new RTCIceGatherer({
      useIpv4: false,
      useIpv6: false,
      additionalHostAddresses: this.hostAddresses,
      iceLite: this.iceMode === "lite",
      ...(v4 || v6 ? { interfaceAddresses: { ...(v4 ? { udp4: v4 } : {}), ...(v6 ? { udp6: v6 } : {}) } } : {}),
      // RFC 7675 §5.1: consent expiry and check interval per transport (patched werift option)
      consentTimeoutMs: this.timeouts.consentMs,
      consentIntervalMs: consentIntervalMs(this.timeouts.consentMs),
    });
    this.ice = new RTCIceTransport(this.gatherer);
    this.ice.onStateChange.subscribe((s) => this.onIceState(s as IceState));
    if (opts.iceControlling !== undefined) this.ice.connection.iceControlling = opts.iceControlling;
    const cert = new RTCCertificate(opts.identity.keyPem, opts.identity.certPem, {
      hash: 4, // sha256
      signature: opts.identity.keyType === "rsa" ? 1 : 3, // rsa | ecdsa
    });
    // the same DTLS code over ICE or over plain UDP: only the datagram link under it changes (src/ue/datagramLink.ts)
    this.link = new DatagramLink(this.ice);
    // data-channel-only DTLS: no use_srtp extension (RFC 8841 needs none)
    this.dtls = new RTCDtlsTransport({}, this.link.asIceTransport(), cert, []);
    this.sctp = new RTCSctpTransport(this.localSctpPort, this.localMaxMessageSize);
    this.sctp.setDtlsTransport(this.dtls);
    this.sctp.onDataChannel.subscribe((dc) => {
      // in-band channel opened by the peer with DCEP (RFC 8832)
      this.emit("channel", this.wrap(dc));
    });
    // werift's SCTP association reaches CLOSED on an ABORT from the peer (RFC 9260 §9.1), when its DTLS transport
    // closes, or on our stop(); it never gives up on unanswered DATA/HEARTBEAT (no Association.Max.Retrans,
    // RFC 9260 §8.1): a vanished peer is found by consent freshness instead
    this.sctp.sctp.stateChanged.closed.subscribe(() => this.onSctpClosed());
    // RFC 9260 §9.2: a SHUTDOWN from the peer is a graceful close. werift has no event for it (and its SHUTDOWN ACK
    // state handling never completes the shutdown), so the chunk types are read on their way into SCTP.
    const toSctp = this.dtls.dataReceiver;
    this.dtls.dataReceiver = (buf) => {
      if (!this.peerShutdown && hasSctpChunk(buf, SCTP_SHUTDOWN)) {
        this.peerShutdown = true;
        // after SCTP has answered it (SHUTDOWN ACK)
        setImmediate(() => this.onPeerClosed("SCTP SHUTDOWN"));
      }
      toSctp(buf);
    };
  }

  get state(): DcTransportState {
    return this._state;
  }
  get verdict(): SecurityVerdict | undefined {
    return this._verdict;
  }
  get dtlsRole(): DtlsRole | undefined {
    return this.role;
  }
  get remoteMaxMessageSize(): number {
    return this.remoteMax;
  }
  /** Whether ICE runs for this association and why (set by `connect`). */
  get icePlan(): IcePlan | undefined {
    return this._plan;
  }
  /** Counters of the no-ICE path: accepted datagrams, datagrams from unsignalled sources dropped, the latch. */
  get pathCounters(): UdpPathCounters | undefined {
    return this.path ? { ...this.path.counters } : undefined;
  }

  /** Gathers host candidates and returns what goes into our SDP. */
  async gather(): Promise<LocalTransportParams> {
    if (this.local) return this.local;
    this.assertOpen();
    this.setState("gathering");
    if (this.iceMode === "none") return this.gatherPlain();
    await withTimeout(this.gatherer.gather(), this.timeouts.gatherMs, "E_GATHER_TIMEOUT", "ICE gathering");
    const lp = this.gatherer.localParameters;
    const candidates = this.gatherer.localCandidates.filter((c) => this.hostAddresses.includes(c.ip));
    const first = candidates[0];
    if (!first) throw new UeError("E_ICE_FAILED", `no host candidate on ${this.hostAddresses.join(", ")}`);
    this.local = {
      iceUfrag: lp.usernameFragment,
      icePwd: lp.password,
      iceLite: lp.iceLite ?? false,
      candidates: candidates.map((c) => candidateToSdp(c)),
      address: first.ip,
      port: first.port,
      fingerprints: this.identity.fingerprints,
    };
    return this.local;
  }

  /** Mode "none": one UDP socket of our own on the first host address; no ICE agent runs at all. */
  private async gatherPlain(): Promise<LocalTransportParams> {
    const host = this.hostAddresses[0] ?? "127.0.0.1";
    const binding = await bindUdp(host).catch((e: unknown) => {
      throw new UeError("E_ICE_FAILED", `cannot bind a UDP socket on ${host}: ${String(e)}`, { cause: e });
    });
    this.path = new UdpPath(binding, { latch: this.latch, logger: this.log });
    this.local = {
      iceUfrag: "",
      icePwd: "",
      iceLite: false,
      candidates: [],
      address: binding.address,
      port: binding.port,
      fingerprints: this.identity.fingerprints,
    };
    return this.local;
  }

  /** No ICE for this association: DTLS runs over plain UDP between our c=/port and the peer's (RFC 8841 §4). */
  private startDirect(remote: RemoteTransportParams): void {
    const address = remote.address;
    const port = remote.port;
    // RFC 8839 §3.2.5 item 2: 0.0.0.0 / port 9 is no destination; without ICE there is nowhere to send
    if (!address || !port || port === 9 || address === "0.0.0.0" || address === "::") {
      throw new UeError("E_ICE_REQUIRED", "the peer signalled neither ICE nor a usable c= address and port");
    }
    if (!this.path) {
      // a full/lite agent falls back to no ICE: take over the socket of the host candidate we signalled as c=/port
      const local = this.local;
      const binding = local ? adoptWeriftSocket(this.gatherer.connection, local.port) : undefined;
      if (!binding) throw new UeError("E_ICE_FAILED", "no local socket for the no-ICE path");
      this.path = new UdpPath(binding, { latch: this.latch, logger: this.log });
    }
    this.link.usePath(this.path);
    this.path.setRemote(address, port);
    this.log.info({ remote: `${address}:${port}`, plan: this._plan }, "data channel without ICE (plain UDP)");
  }

  /**
   * Opens a negotiated channel with a fixed stream id (RFC 8832 §6 "negotiated"; RFC 8864 a=dcmap). May be called
   * before `connect`; the channel opens when the association is up.
   */
  openNegotiated(spec: Omit<DcChannelInfo, "negotiated">): DcChannel {
    this.assertOpen();
    if (this.channels.has(spec.id)) throw new UeError("E_DC_ID_IN_USE", `stream id ${spec.id} is already in use`);
    const dc = new RTCDataChannel(
      this.sctp,
      new RTCDataChannelParameters({
        id: spec.id,
        label: spec.label,
        protocol: spec.protocol,
        ordered: spec.ordered,
        negotiated: true,
        ...(spec.maxRetransmits !== undefined ? { maxRetransmits: spec.maxRetransmits } : {}),
        ...(spec.maxPacketLifeTime !== undefined ? { maxPacketLifeTime: spec.maxPacketLifeTime } : {}),
      }),
    );
    return this.wrap(dc);
  }

  /** Opens an in-band channel with DCEP (RFC 8832); the id follows the DTLS role (even for client, odd for server). */
  createChannel(label: string, opts: { protocol?: string; ordered?: boolean } = {}): DcChannel {
    this.assertOpen();
    const dc = new RTCDataChannel(
      this.sctp,
      new RTCDataChannelParameters({
        label,
        protocol: opts.protocol ?? "",
        ordered: opts.ordered ?? true,
        negotiated: false,
      }),
    );
    if (this._state === "connected") this.sctp.dataChannelOpen(dc);
    else this.pendingInBand.push(dc);
    return this.wrap(dc);
  }
  private pendingInBand: RTCDataChannel[] = [];

  channel(id: number): DcChannel | undefined {
    return this.channels.get(id);
  }
  allChannels(): DcChannel[] {
    return [...this.channels.values()];
  }

  /**
   * Runs ICE, DTLS (in `dtlsRole`) and SCTP against the peer. Resolves when the association is up and the peer
   * is authenticated; rejects with a typed UeError otherwise (and the transport is then failed and closed).
   */
  async connect(remote: RemoteTransportParams, roles: { iceControlling: boolean; dtlsRole: DtlsRole }): Promise<void> {
    this.assertOpen();
    if (this._state === "connecting" || this._state === "connected") {
      throw new UeError("E_STATE", `connect() called while ${this._state}`);
    }
    await this.gather();
    this.role = roles.dtlsRole;
    this.remoteMax = remote.maxMessageSize;
    const plan = planIce(
      this.iceMode,
      { ufrag: remote.iceUfrag, pwd: remote.icePwd, lite: remote.iceLite },
      roles.iceControlling,
    );
    this._plan = plan;
    if (plan.kind === "ice" && this.iceMode === "full" && remote.candidates.length === 0) {
      throw new UeError("E_ICE_REQUIRED", "the peer signalled ICE credentials but no candidates");
    }
    this.setState("connecting");
    try {
      if (plan.kind === "direct") this.startDirect(remote);
      else await this.startIce(remote, plan.controlling);
      // RFC 5763 §5 / RFC 4145 §4: the DTLS role comes from a=setup, never from the ICE role
      this.dtls.role = roles.dtlsRole;
      this.dtls.setRemoteParams(
        new RTCDtlsParameters(
          remote.fingerprints.map((f) => new RTCDtlsFingerprint(f.hash.toLowerCase(), f.value)),
          roles.dtlsRole === "client" ? "server" : "client",
        ),
      );
      // RFC 8832 §6: the DTLS client uses even stream ids, the server odd; werift keys this on the ICE role.
      Object.defineProperty(this.sctp, "isServer", { get: () => roles.dtlsRole === "server", configurable: true });
      if (plan.kind === "ice") {
        await withTimeout(this.ice.start(), this.timeouts.iceMs, "E_ICE_TIMEOUT", "ICE connectivity checks").catch(
          (e: unknown) => {
            // RFC 8445 §8.1: no candidate pair succeeded; the ICE stage failed, not the DTLS handshake
            if (e instanceof UeError) throw e;
            throw new UeError("E_ICE_FAILED", `ICE failed: ${e instanceof Error ? e.message : String(e)}`, {
              cause: e,
            });
          },
        );
        // RFC 7675 §5.1: consent checks run from the nomination on; a later ICE "failed" is an expired consent
        this.iceUp = true;
      }
      const dtlsStart = this.dtls.start();
      await this.whileAlive(
        withTimeout(dtlsStart, this.timeouts.dtlsMs, "E_DTLS_TIMEOUT", "DTLS handshake").catch((e: unknown) => {
          throw this.classifyDtlsError(e, remote);
        }),
      );
      // Belt and braces over the patched werift check: RFC 8122 §6 verified again on the DER the peer presented.
      const verdict = dcSecurityVerdict(verifyPeerCertificate(this.dtls.dtls?.remoteCertificate, remote.fingerprints));
      this.setVerdict(verdict);
      if (!verdict.verified) {
        throw new UeError("E_FP_MISMATCH", verdict.reason ?? "fingerprint mismatch", { details: { ...verdict } });
      }
      // the no-ICE path may latch (opt-in) only now, on a source that completed an authenticated handshake
      this.path?.authenticated();
      this.sctp.setRemoteMaxMessageSize(remote.maxMessageSize);
      this.dtls.onStateChange.subscribe((s) => {
        // RFC 5246 §7.2.1: close_notify is the peer's orderly close; §7.2.2: a fatal alert ends the connection
        if (s === "closed") this.onPeerClosed();
        else if (s === "failed") this.lose(new UeError("E_DTLS_FAILED", "the peer ended DTLS with a fatal alert"));
      });
      await this.whileAlive(
        withTimeout(
          (async () => {
            await this.sctp.start(remote.sctpPort);
            await this.sctp.sctp.stateChanged.connected.asPromise();
          })(),
          this.timeouts.sctpMs,
          "E_SCTP_TIMEOUT",
          "SCTP association",
        ),
      );
      for (const dc of this.pendingInBand.splice(0)) this.sctp.dataChannelOpen(dc);
      this.setState("connected");
    } catch (e) {
      const err =
        e instanceof UeError
          ? e
          : new UeError("E_DTLS_FAILED", e instanceof Error ? e.message : String(e), { cause: e });
      if (!this._verdict && (err.code === "E_FP_MISMATCH" || err.code === "E_DTLS_AUTH")) {
        this.setVerdict({ verified: false, signalled: [], code: err.code, reason: err.message });
      }
      this.setState("failed");
      this.emit("failure", err);
      // RFC 5246 §7.2.2: the fatal alert (bad_certificate / decrypt_error) must leave before the socket closes,
      // so the peer fails at once instead of waiting for its own timeout
      if (err.code === "E_FP_MISMATCH" || err.code === "E_DTLS_AUTH") await new Promise((r) => setTimeout(r, 100));
      await this.close();
      throw err;
    }
  }

  /** ICE runs (full, or lite answering checks): remote credentials and candidates go to werift's agent. */
  private async startIce(remote: RemoteTransportParams, controlling: boolean): Promise<void> {
    // RFC 8445 §6.1.1: the controlling agent nominates; a full agent facing a lite peer is controlling
    this.ice.connection.iceControlling = controlling;
    this.ice.setRemoteParams(
      new RTCIceParameters({
        usernameFragment: remote.iceUfrag,
        password: remote.icePwd,
        iceLite: remote.iceLite,
      }),
    );
    for (const c of remote.candidates) {
      const line = c.startsWith("candidate:") ? c.slice("candidate:".length) : c;
      // RFC 8839 §5.1 (our W_ICE_CANDIDATE): a malformed candidate is ignored, it does not fail the association
      let candidate: ReturnType<typeof candidateFromSdp>;
      try {
        candidate = candidateFromSdp(line);
      } catch (e) {
        this.log.info({ candidate: line.slice(0, 200), err: String(e) }, "malformed remote candidate ignored");
        continue;
      }
      await this.ice.addRemoteCandidate(candidate);
    }
    await this.ice.addRemoteCandidate(undefined);
  }

  private classifyDtlsError(e: unknown, remote: RemoteTransportParams): UeError {
    if (e instanceof UeError) return e;
    const msg = e instanceof Error ? e.message : String(e);
    if (/fingerprint/i.test(msg)) {
      const verdict = dcSecurityVerdict(verifyPeerCertificate(this.dtls.dtls?.remoteCertificate, remote.fingerprints));
      this.setVerdict(verdict.verified ? { ...verdict, verified: false, code: "E_FP_MISMATCH", reason: msg } : verdict);
      return new UeError("E_FP_MISMATCH", `peer certificate refused: ${msg}`, { cause: e });
    }
    if (isAuthFailure(msg)) return new UeError("E_DTLS_AUTH", `peer failed DTLS authentication: ${msg}`, { cause: e });
    return new UeError("E_DTLS_FAILED", `DTLS handshake failed: ${msg}`, { cause: e });
  }

  private setVerdict(v: SecurityVerdict): void {
    this._verdict = v;
    this.emit("verdict", v);
  }

  /** Races a connect() stage with the loss of the peer (consent expiry, fatal alert, ABORT, close_notify). */
  private whileAlive<T>(p: Promise<T>): Promise<T> {
    return new Promise<T>((resolve, reject) => {
      if (this.lostError) {
        reject(this.lostError);
        return;
      }
      this.lostDuringConnect = reject;
      void p.then(resolve, reject).finally(() => {
        if (this.lostDuringConnect === reject) this.lostDuringConnect = undefined;
      });
    });
  }

  private onIceState(s: IceState): void {
    this.emit("ice", s);
    if (this.closed || !this.iceUp) return;
    if (s === "disconnected") this.log.info("ICE disconnected: consent checks unanswered");
    else if (s === "failed") {
      // RFC 7675 §5.1: no consent check answered for the consent timeout: stop sending, the peer is gone
      this.lose(
        new UeError("E_CONSENT_EXPIRED", `no consent check answered for ${this.timeouts.consentMs} ms (RFC 7675)`, {
          details: { consentMs: this.timeouts.consentMs },
        }),
      );
    }
  }

  private onSctpClosed(): void {
    if (this.closed || this.abortTimer) return;
    // closed by the peer's close_notify or after its SHUTDOWN: onPeerClosed handles it
    if (this.dtls.state === "closed" || this.peerShutdown) return;
    if (this._state === "connecting") {
      this.lose(new UeError("E_SCTP_ABORT", "the peer aborted the SCTP association during setup (RFC 9260 §9.1)"));
      return;
    }
    if (this._state !== "connected") return;
    // RFC 9260 §9.1: an ABORT ends the association at once. A peer that closes sends its close_notify right after
    // (RFC 5246 §7.2.1); an ABORT alone is a failure of the association.
    this.abortTimer = setTimeout(() => {
      this.abortTimer = undefined;
      this.lose(new UeError("E_SCTP_ABORT", "the peer aborted the SCTP association (RFC 9260 §9.1)"));
    }, ABORT_GRACE_MS);
  }

  /**
   * The peer closes: its DTLS close_notify (RFC 5246 §7.2.1) or SCTP SHUTDOWN (RFC 9260 §9.2). An orderly close, not
   * a failure; everything is freed.
   */
  private onPeerClosed(how: "close_notify" | "SCTP SHUTDOWN" = "close_notify"): void {
    if (this.closed) return;
    if (this._state === "connecting") {
      this.lose(new UeError("E_DTLS_FAILED", `the peer closed (${how}) before the association was up`));
      return;
    }
    if (this._state !== "connected") return;
    this.log.info({ how }, "data channel association closed by the peer");
    this.setState("closed");
    void this.close();
  }

  /** The peer is gone: fails connect() in progress, or fails the live association (`failure`) and frees it. */
  private lose(err: UeError): void {
    if (this.closed) return;
    if (this._state === "connecting") {
      this.lostError ??= err;
      this.lostDuringConnect?.(err);
      return;
    }
    if (this._state !== "connected") return;
    this.log.warn({ code: err.code, msg: err.message }, "data channel association failed");
    this.setState("failed");
    this.emit("failure", err);
    void this.close();
  }

  private wrap(dc: RTCDataChannel): DcChannel {
    const ch = new DcChannel(dc, { local: () => this.localMaxMessageSize, remote: () => this.remoteMax });
    this.channels.set(dc.id, ch);
    ch.on("close", () => {
      if (this.channels.get(dc.id) === ch) this.channels.delete(dc.id);
    });
    return ch;
  }

  private setState(s: DcTransportState): void {
    if (this._state === s) return;
    this._state = s;
    this.emit("state", s);
  }

  private assertOpen(): void {
    if (this.closed) throw new UeError("E_CLOSED", "transport is closed");
  }

  /**
   * Frees sockets and timers. Idempotent; never throws. A live association is ended with an SCTP ABORT and a DTLS
   * close_notify (RFC 5246 §7.2.1), so that the peer sees an orderly close at once.
   */
  async close(): Promise<void> {
    if (this.closed) return;
    this.closed = true;
    if (this.abortTimer) clearTimeout(this.abortTimer);
    this.abortTimer = undefined;
    this.lostDuringConnect = undefined;
    for (const ch of this.channels.values()) ch.close();
    this.channels.clear();
    await this.sctp.stop().catch(() => {});
    if (this.dtls.state === "connected") {
      // RFC 5246 §7.2.1: close_notify before closing the write side (werift's stop() sends none)
      const socket = this.dtls.dtls as unknown as { sendAlert?: (level: number, description: number) => void };
      try {
        socket.sendAlert?.(1, 0); // warning, close_notify
        await new Promise((r) => setImmediate(r));
      } catch {
        // best effort: the peer's consent check finds us gone anyway
      }
    }
    await this.dtls.stop().catch(() => {});
    await this.ice.stop().catch(() => {});
    await this.path?.close().catch(() => {});
    await this.gatherer.connection.close().catch(() => {});
    if (this._state !== "failed") this.setState("closed");
  }
}
