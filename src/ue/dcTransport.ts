/**
 * One DTLS/SCTP association over ICE, built from werift's transport classes (never RTCPeerConnection: it forces
 * DTLS-SRTP and a public STUN server). A new association (RFC 8842 §3) is a new DcTransport.
 */
import { X509Certificate } from "node:crypto";
import { EventEmitter } from "node:events";
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
} from "werift";
import { type Logger, silentLogger } from "../log.ts";
import { isHashFunc } from "../sdp/index.ts";
import { checkPeerCertificate, fingerprintOfDer } from "../security/verify.ts";
import { DcChannel, type DcChannelInfo } from "./channel.ts";
import { UeError, withTimeout } from "./errors.ts";

export type DtlsRole = "client" | "server";
export type DcTransportState = "new" | "gathering" | "connecting" | "connected" | "failed" | "closed";

/** The DTLS identity of one session: a PKCS#8 key, its self-signed certificate and the certificate's fingerprints. */
export interface DtlsIdentity {
  keyPem: string;
  certPem: string;
  /** "ecdsa" for P-256 (default), "rsa" for RSA certificates */
  keyType: "ecdsa" | "rsa";
  /** RFC 8122 fingerprints of the DER certificate, e.g. { hash: "sha-256", value: "AB:CD:..." } */
  fingerprints: { hash: string; value: string }[];
}

export interface LocalTransportParams {
  iceUfrag: string;
  icePwd: string;
  iceLite: boolean;
  /** candidate-attribute values, without the "candidate:" prefix stripped (i.e. "candidate:..." is NOT included) */
  candidates: string[];
  /** the default candidate's address and port (for c= and the m-line port) */
  address: string;
  port: number;
  fingerprints: { hash: string; value: string }[];
}

export interface RemoteTransportParams {
  iceUfrag: string;
  icePwd: string;
  iceLite: boolean;
  candidates: string[];
  fingerprints: { hash: string; value: string }[];
  sctpPort: number;
  /** the peer's a=max-message-size; 0 = unlimited (RFC 8841 §6) */
  maxMessageSize: number;
}

export interface DcTimeouts {
  gatherMs: number;
  iceMs: number;
  dtlsMs: number;
  sctpMs: number;
}

export const DEFAULT_TIMEOUTS: DcTimeouts = { gatherMs: 5_000, iceMs: 10_000, dtlsMs: 10_000, sctpMs: 10_000 };

export interface DcTransportOptions {
  identity: DtlsIdentity;
  /** host addresses to gather on; only these are advertised. Default ["127.0.0.1"]. */
  hostAddresses?: string[];
  /** our a=sctp-port (RFC 8841 §5); default 5000 */
  sctpPort?: number;
  /** our a=max-message-size (RFC 8841 §6); default 65536; 0 = unlimited */
  maxMessageSize?: number;
  iceLite?: boolean;
  /**
   * RFC 8445 §6.1.1: the offerer's agent is controlling. Known when the transport is created (offer or answer), and
   * set before any packet: checks can arrive before the answer does, and a wrong default role makes the peer switch
   * roles (487 Role Conflict) and nominate alone.
   */
  iceControlling?: boolean;
  timeouts?: Partial<DcTimeouts>;
  logger?: Logger;
}

/** Outcome of peer authentication, emitted once per association. */
export interface SecurityVerdict {
  verified: boolean;
  /** RFC 8122 §5.1: the hash the comparison used (strongest one the peer signalled) */
  hash?: string;
  /** the fingerprint computed from the certificate the peer presented in the handshake */
  presented?: string;
  /** the fingerprints signalled in the peer's SDP for that hash */
  signalled: string[];
  code?: string;
  reason?: string;
}

export interface DcTransportEvents {
  state: [DcTransportState];
  verdict: [SecurityVerdict];
  channel: [DcChannel];
  /** terminal failure of the association/negotiation (named so that an unheard event never throws) */
  failure: [UeError];
}

/** RFC 8122 §5: fingerprint of a DER certificate as uppercase colon-separated hex. */
export function derFingerprint(der: Uint8Array, hash: string): string {
  const h = hash.toLowerCase();
  if (!isHashFunc(h)) throw new UeError("E_DTLS_FAILED", `unsupported fingerprint hash ${hash}`);
  return fingerprintOfDer(der, h);
}

/**
 * RFC 8122 §5.1: take the peer's most preferred (strongest) hash among those it signalled; the certificate must match
 * one fingerprint of that set, else the connection MUST NOT be established (src/security/verify.ts).
 */
export function verifyPeerCertificate(
  der: Uint8Array | undefined,
  signalled: { hash: string; value: string }[],
): SecurityVerdict {
  const c = checkPeerCertificate(der, signalled);
  if (c.reason === "no-certificate")
    return { verified: false, signalled: [], code: "E_DTLS_FAILED", reason: "peer presented no certificate" };
  if (c.reason === "no-usable-fingerprint")
    return { verified: false, signalled: [], code: "E_FP_MISMATCH", reason: "no usable signalled fingerprint" };
  const base = {
    signalled: c.signalled,
    ...(c.hash ? { hash: c.hash } : {}),
    ...(c.presented ? { presented: c.presented } : {}),
  };
  return c.ok
    ? { verified: true, ...base }
    : { verified: false, ...base, code: "E_FP_MISMATCH", reason: "peer certificate matches no signalled fingerprint" };
}

function isAuthFailure(msg: string): boolean {
  return /signature|CertificateVerify|ServerKeyExchange|Finished|verify_data|decrypt_error/i.test(msg);
}

export class DcTransport extends EventEmitter<DcTransportEvents> {
  readonly identity: DtlsIdentity;
  readonly localMaxMessageSize: number;
  readonly localSctpPort: number;
  private readonly hostAddresses: string[];
  private readonly timeouts: DcTimeouts;
  private readonly log: Logger;
  private readonly gatherer: RTCIceGatherer;
  private readonly ice: RTCIceTransport;
  private readonly dtls: RTCDtlsTransport;
  private readonly sctp: RTCSctpTransport;
  private readonly channels = new Map<number, DcChannel>();
  private remoteMax = 65536;
  private role: DtlsRole | undefined;
  private _state: DcTransportState = "new";
  private _verdict: SecurityVerdict | undefined;
  private closed = false;
  private local: LocalTransportParams | undefined;

  constructor(opts: DcTransportOptions) {
    super();
    this.identity = opts.identity;
    this.hostAddresses = opts.hostAddresses ?? ["127.0.0.1"];
    this.localMaxMessageSize = opts.maxMessageSize ?? 65536;
    this.localSctpPort = opts.sctpPort ?? 5000;
    this.timeouts = { ...DEFAULT_TIMEOUTS, ...opts.timeouts };
    this.log = opts.logger ?? silentLogger;
    const v4 = this.hostAddresses.find((a) => a.includes(".") && !a.includes(":"));
    const v6 = this.hostAddresses.find((a) => a.includes(":"));
    // Host candidates only, on the configured addresses; no STUN/TURN server is ever configured here.
    this.gatherer = new RTCIceGatherer({
      useIpv4: false,
      useIpv6: false,
      additionalHostAddresses: this.hostAddresses,
      iceLite: opts.iceLite ?? false,
      ...(v4 || v6 ? { interfaceAddresses: { ...(v4 ? { udp4: v4 } : {}), ...(v6 ? { udp6: v6 } : {}) } } : {}),
    });
    this.ice = new RTCIceTransport(this.gatherer);
    if (opts.iceControlling !== undefined) this.ice.connection.iceControlling = opts.iceControlling;
    const cert = new RTCCertificate(opts.identity.keyPem, opts.identity.certPem, {
      hash: 4, // sha256
      signature: opts.identity.keyType === "rsa" ? 1 : 3, // rsa | ecdsa
    });
    // data-channel-only DTLS: no use_srtp extension (RFC 8841 needs none)
    this.dtls = new RTCDtlsTransport({}, this.ice, cert, []);
    this.sctp = new RTCSctpTransport(this.localSctpPort, this.localMaxMessageSize);
    this.sctp.setDtlsTransport(this.dtls);
    this.sctp.onDataChannel.subscribe((dc) => {
      // in-band channel opened by the peer with DCEP (RFC 8832)
      this.emit("channel", this.wrap(dc));
    });
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

  /** Gathers host candidates and returns what goes into our SDP. */
  async gather(): Promise<LocalTransportParams> {
    if (this.local) return this.local;
    this.assertOpen();
    this.setState("gathering");
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
    if (!remote.iceUfrag || !remote.icePwd || remote.candidates.length === 0) {
      throw new UeError("E_ICE_REQUIRED", "the peer signalled no ICE credentials or candidates");
    }
    this.setState("connecting");
    try {
      // RFC 8445 §6.1.1: the controlling agent nominates; a lite peer makes us controlling (§6.1.3.1)
      this.ice.connection.iceControlling = remote.iceLite ? true : roles.iceControlling;
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
      await withTimeout(this.ice.start(), this.timeouts.iceMs, "E_ICE_TIMEOUT", "ICE connectivity checks").catch(
        (e: unknown) => {
          // RFC 8445 §8.1: no candidate pair succeeded; the ICE stage failed, not the DTLS handshake
          if (e instanceof UeError) throw e;
          throw new UeError("E_ICE_FAILED", `ICE failed: ${e instanceof Error ? e.message : String(e)}`, { cause: e });
        },
      );
      const dtlsStart = this.dtls.start();
      await withTimeout(dtlsStart, this.timeouts.dtlsMs, "E_DTLS_TIMEOUT", "DTLS handshake").catch((e: unknown) => {
        throw this.classifyDtlsError(e, remote);
      });
      // Belt and braces over the patched werift check: RFC 8122 §6 verified again on the DER the peer presented.
      const verdict = verifyPeerCertificate(this.dtls.dtls?.remoteCertificate, remote.fingerprints);
      this.setVerdict(verdict);
      if (!verdict.verified) {
        throw new UeError("E_FP_MISMATCH", verdict.reason ?? "fingerprint mismatch", { details: { ...verdict } });
      }
      this.sctp.setRemoteMaxMessageSize(remote.maxMessageSize);
      this.dtls.onStateChange.subscribe((s) => {
        if (s === "closed" || s === "failed") this.onTransportGone(`DTLS ${s}`);
      });
      await withTimeout(
        (async () => {
          await this.sctp.start(remote.sctpPort);
          await this.sctp.sctp.stateChanged.connected.asPromise();
        })(),
        this.timeouts.sctpMs,
        "E_SCTP_TIMEOUT",
        "SCTP association",
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

  private classifyDtlsError(e: unknown, remote: RemoteTransportParams): UeError {
    if (e instanceof UeError) return e;
    const msg = e instanceof Error ? e.message : String(e);
    if (/fingerprint/i.test(msg)) {
      const verdict = verifyPeerCertificate(this.dtls.dtls?.remoteCertificate, remote.fingerprints);
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

  private onTransportGone(why: string): void {
    if (this.closed || this._state !== "connected") return;
    this.log.info({ why }, "data channel association lost");
    this.setState("closed");
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

  /** Frees sockets and timers. Idempotent; never throws. */
  async close(): Promise<void> {
    if (this.closed) return;
    this.closed = true;
    for (const ch of this.channels.values()) ch.close();
    this.channels.clear();
    await this.sctp.stop().catch(() => {});
    await this.dtls.stop().catch(() => {});
    await this.ice.stop().catch(() => {});
    await this.gatherer.connection.close().catch(() => {});
    if (this._state !== "failed") this.setState("closed");
  }
}

/** Parses the DER of a PEM certificate (for fingerprints of injected identities). */
export function pemToDer(certPem: string): Uint8Array {
  return new X509Certificate(certPem).raw;
}
