/**
 * The UE data channel endpoint (TS 33.328 §7.2.5, TS 26.114 §6.2.10): builds and answers DCMTSI data channel
 * offers with src/sdp, runs DTLS/SCTP end to end over a DcTransport, and refuses any peer whose certificate matches
 * no signalled fingerprint (RFC 8122 §6). One endpoint = one data channel m-line and its current association.
 */

import { type AuditLog, type Logger, silentLogger } from "../log.ts";
import {
  type AssociationState,
  type AudioOptions,
  buildDcAnswer,
  buildDcOffer,
  type DcMap,
  type DcMedia,
  decideAssociation,
  type Finding,
  negotiatedDtlsRole,
  type QosHint,
  readDcMedia,
  validateAnswer,
  validateOffer,
} from "../sdp/index.ts";
import { generateSessionCertificate, type SessionCertificate } from "../security/certificate.ts";
import { TypedEmitter } from "../sip/emitter.ts";
import type { DcChannel } from "./channel.ts";
import {
  type DcTimeouts,
  DcTransport,
  type DcTransportState,
  type DtlsIdentity,
  type DtlsRole,
  type IceState,
  type RemoteTransportParams,
  type SecurityVerdict,
} from "./dcTransport.ts";
import { requireHardenedEngine } from "./engine.ts";
import { UeError } from "./errors.ts";
import { type IceMode, localIceSdp } from "./iceMode.ts";

/** A data channel to offer, as an a=dcmap line describes it (RFC 8864 §5.1). */
export interface ChannelSpec {
  id: number;
  label?: string;
  subprotocol?: string;
  ordered?: boolean;
  maxRetr?: number;
  maxTime?: number;
  priority?: number;
}

export interface DcEndpointOptions {
  /** Per-session DTLS identity; generated (ECDSA P-256, self-tested) when omitted. */
  identity?: DtlsIdentity;
  /** Host addresses for ICE host candidates (default ["127.0.0.1"]); mode "none" binds on the first. */
  hostAddresses?: string[];
  /**
   * ICE mode (docs/ue.md "ICE modes"): "full" (default; WebRTC-style client, TS 24.371), "lite" (TS 26.114 Annex
   * A.17: a=ice-lite, ice2, one host candidate = c=/port) or "none" (no ICE attributes; plain UDP, TS 24.186 §9.3).
   */
  ice?: IceMode;
  /** Without ICE: opt-in NAT latching on an authenticated DTLS peer (src/ue/udpPath.ts). Default false. */
  latch?: boolean;
  /** Our a=max-message-size (default 65536; 0 = unlimited). */
  maxMessageSize?: number;
  /** Our a=sctp-port (default 5000). */
  sctpPort?: number;
  timeouts?: Partial<DcTimeouts>;
  /** Channels we offer as a=dcmap (offerer). */
  channels?: ChannelSpec[];
  /** Answerer: which offered channels to accept (default: all). */
  acceptChannel?: (d: DcMap) => boolean;
  /** Answerer: a=setup value (RFC 5763 §5: active RECOMMENDED, the default). */
  answerSetup?: "active" | "passive";
  /** Offer an audio m-line first (TS 26.114 §6.2.10.1); none by default. */
  audio?: AudioOptions;
  /** Put a=3ge2ae:requested on the DC m-line (asks the P-CSCF for e2ae, TS 24.229 §7.5.2). Default false (e2e). */
  requestE2ae?: boolean;
  qosHint?: QosHint;
  /** Allow max-retr / max-time channels (needs the werift partial reliability fix). Default true. */
  allowPartialReliability?: boolean;
  logger?: Logger;
  audit?: AuditLog;
  /** Label for logs and audit events (e.g. the SIP AOR). */
  name?: string;
}

export type EndpointState = "idle" | "offered" | "connecting" | "connected" | "failed" | "closed";

export interface AssociationEvent {
  action: "new" | "reuse";
  reasons: string[];
  localTlsId?: string;
  remoteTlsId?: string;
  role: DtlsRole;
}

export interface DcEndpointEvents {
  state: [EndpointState];
  /** ICE state of the transport being negotiated or in use (DcTransport `ice`) */
  ice: [IceState];
  verdict: [SecurityVerdict];
  channel: [DcChannel];
  association: [AssociationEvent];
  /**
   * terminal failure of the association/negotiation (named so that an unheard event never throws); after connect:
   * E_CONSENT_EXPIRED (peer vanished, RFC 7675), E_SCTP_ABORT, E_DTLS_FAILED (fatal alert). A close_notify from the
   * peer is an orderly close (state "closed"), not a failure.
   */
  failure: [UeError];
}

/** Builds the per-session identity from a generated, self-tested certificate. */
export function identityFromCertificate(c: SessionCertificate): DtlsIdentity {
  return {
    keyPem: c.keyPem,
    certPem: c.certPem,
    keyType: "ecdsa",
    // RFC 8122 §5.1: at least SHA-256, which is also the certificate's signature hash
    fingerprints: [c.fingerprint],
  };
}

function iceOf(local: { iceUfrag: string; icePwd: string; candidates: string[] }) {
  return local.iceUfrag ? { ufrag: local.iceUfrag, pwd: local.icePwd, candidates: local.candidates } : undefined;
}

function specToDcMap(c: ChannelSpec): DcMap {
  const d: DcMap = { streamId: c.id };
  if (c.label !== undefined) d.label = c.label;
  if (c.subprotocol !== undefined) d.subprotocol = c.subprotocol;
  if (c.ordered !== undefined) d.ordered = c.ordered;
  if (c.maxRetr !== undefined) d.maxRetr = c.maxRetr;
  if (c.maxTime !== undefined) d.maxTime = c.maxTime;
  if (c.priority !== undefined) d.priority = c.priority;
  return d;
}

function remoteFindingsError(what: string, findings: Finding[]): UeError {
  const errors = findings.filter((f) => f.severity === "error");
  const summary = errors.map((f) => `${f.code}${f.line !== undefined ? ` (line ${f.line})` : ""}`).join(", ");
  return new UeError("E_SDP_REMOTE", `${what} refused: ${summary}`, { details: { findings: errors } });
}

interface Negotiated {
  transport: DcTransport;
  state: AssociationState;
  media: DcMedia;
}

export class DcEndpoint extends TypedEmitter<DcEndpointEvents> {
  readonly identity: DtlsIdentity;
  private readonly opts: DcEndpointOptions;
  private readonly log: Logger;
  private current: Negotiated | undefined;
  /** our offer awaiting its answer */
  private pending: { transport: DcTransport; sdp: string; tlsId: string; restart: boolean } | undefined;
  private _state: EndpointState = "idle";
  private connecting: Promise<void> | undefined;
  private closed = false;

  constructor(opts: DcEndpointOptions = {}) {
    super();
    this.opts = opts;
    // fail closed before anything exists: no data channel on an engine without the hardening (src/ue/engine.ts)
    requireHardenedEngine({ audit: opts.audit, name: opts.name, transport: "data-channel" });
    this.log = (opts.logger ?? silentLogger).child({ ue: opts.name ?? "ue" });
    this.identity = opts.identity ?? identityFromCertificate(generateSessionCertificate());
  }

  get state(): EndpointState {
    return this._state;
  }
  /** The live association's transport (undefined before the first negotiation). */
  get transport(): DcTransport | undefined {
    return this.current?.transport;
  }
  get verdict(): SecurityVerdict | undefined {
    return this.current?.transport.verdict;
  }
  channel(id: number): DcChannel | undefined {
    return this.current?.transport.channel(id);
  }
  channels(): DcChannel[] {
    return this.current?.transport.allChannels() ?? [];
  }
  /** The DC m-line negotiated last (local view of the remote description). */
  get remoteMedia(): DcMedia | undefined {
    return this.current?.media;
  }

  /** Resolves when the current association is up and the peer verified; rejects with its typed error. */
  connected(): Promise<void> {
    if (this.connecting) return this.connecting;
    if (this._state !== "offered") return Promise.reject(new UeError("E_STATE", "no negotiation in progress"));
    // our offer awaits its answer: settle with the association that the answer starts
    return new Promise<void>((resolve, reject) => {
      const onState = (s: EndpointState) => {
        if (s === "offered") return;
        this.off("state", onState);
        if (this.connecting) this.connecting.then(resolve, reject);
        else reject(new UeError("E_STATE", `negotiation ended in state ${s}`));
      };
      this.on("state", onState);
    });
  }

  private newTransport(role: "offerer" | "answerer"): DcTransport {
    const t = new DcTransport({
      identity: this.identity,
      // RFC 8445 §6.1.1: the offerer is the controlling agent, from the first packet on
      iceControlling: role === "offerer",
      iceMode: this.opts.ice ?? "full",
      ...(this.opts.latch !== undefined ? { latch: this.opts.latch } : {}),
      ...(this.opts.hostAddresses ? { hostAddresses: this.opts.hostAddresses } : {}),
      ...(this.opts.maxMessageSize !== undefined ? { maxMessageSize: this.opts.maxMessageSize } : {}),
      ...(this.opts.sctpPort !== undefined ? { sctpPort: this.opts.sctpPort } : {}),
      ...(this.opts.timeouts ? { timeouts: this.opts.timeouts } : {}),
      logger: this.log,
    });
    t.on("verdict", (v) => {
      if (this.current?.transport !== t && this.pending?.transport !== t) return;
      this.audit(v);
      this.emit("verdict", v);
    });
    t.on("channel", (ch) => this.emit("channel", ch));
    t.on("ice", (s) => {
      if (this.current?.transport === t || this.pending?.transport === t) this.emit("ice", s);
    });
    t.on("state", (s: DcTransportState) => {
      if (this.current?.transport !== t) return;
      if (s === "closed" && this._state === "connected") this.setState("closed");
    });
    t.on("failure", (err) => {
      // failures during connect() reach us through its rejection (apply); this is a live association failing
      if (this.current?.transport !== t || this._state !== "connected") return;
      this.setState("failed");
      this.emit("failure", err);
    });
    return t;
  }

  private audit(v: SecurityVerdict): void {
    this.opts.audit?.record({
      node: "ue",
      ue: this.opts.name ?? "ue",
      decision: v.verified ? "fingerprint-verified" : "peer-refused",
      clause: v.verified ? "RFC 8122 §5.1" : "RFC 8122 §6",
      hash: v.hash,
      presented: v.presented,
      signalled: v.signalled,
      code: v.code,
      reason: v.reason,
    });
  }

  private checkChannelOptions(specs: { maxRetr?: number; maxTime?: number }[]): void {
    if (
      this.opts.allowPartialReliability === false &&
      specs.some((s) => s.maxRetr !== undefined || s.maxTime !== undefined)
    ) {
      throw new UeError(
        "E_DC_OPTIONS",
        "partially reliable channels (max-retr/max-time) are disabled on this endpoint",
      );
    }
  }

  /**
   * Creates an offer (RFC 5763 §5: setup actpass). A re-offer continues the existing association (same tls-id,
   * fingerprints, ICE) unless `restart` is set, which builds a new association with a new tls-id (RFC 8842 §5.2).
   */
  async createOffer(opts: { restart?: boolean } = {}): Promise<string> {
    this.assertOpen();
    const channels = this.opts.channels ?? [];
    this.checkChannelOptions(channels);
    const restart = opts.restart === true || !this.current;
    if (this.pending && this.pending.transport !== this.current?.transport) await this.pending.transport.close();
    const transport = restart ? this.newTransport("offerer") : (this.current?.transport as DcTransport);
    const local = await transport.gather();
    const tlsId = restart ? undefined : this.current?.state.localTlsId;
    const ice = localIceSdp(transport.iceMode, iceOf(local));
    const built = buildDcOffer({
      origin: { address: local.address },
      ...(ice.iceLite ? { iceLite: true } : {}),
      ...(this.opts.audio ? { audio: this.opts.audio } : {}),
      dataChannels: [
        {
          port: local.port,
          connection: { address: local.address },
          fingerprints: local.fingerprints,
          ...(tlsId !== undefined ? { tlsId } : {}),
          sctpPort: transport.localSctpPort,
          maxMessageSize: transport.localMaxMessageSize,
          dcmaps: channels.map(specToDcMap),
          ...(ice.ice ? { ice: ice.ice } : {}),
          ...(this.opts.qosHint ? { qosHint: this.opts.qosHint } : {}),
          ...(this.opts.requestE2ae ? { e2ae: "requested" as const } : {}),
        },
      ],
    });
    if (!built.ok) throw remoteFindingsError("our own offer", built.findings);
    const dc = readDcMedia(built.sdp)[0];
    this.pending = { transport, sdp: built.sdp, tlsId: dc?.tlsId ?? "", restart };
    if (this._state === "idle") this.setState("offered");
    return built.sdp;
  }

  /**
   * The application put our DC m-line into a larger SDP body (e.g. with MSRP/BFCP m-lines, TS 24.229 §6.1): the
   * answer is then validated against that whole offer. The body must still contain our DC m-section unchanged.
   */
  useComposedOffer(sdp: string): void {
    if (!this.pending) throw new UeError("E_STATE", "useComposedOffer() without a pending offer");
    this.pending = { ...this.pending, sdp };
  }

  /**
   * Applies the answer to our last offer: validates it, then starts (or continues) the association. Resolves once
   * the answer is accepted; `connected()` gives the outcome of the handshake.
   */
  async acceptAnswer(answer: string): Promise<void> {
    this.assertOpen();
    const p = this.pending;
    if (!p) throw new UeError("E_STATE", "acceptAnswer() without a pending offer");
    // RFC 3264 §5 / RFC 8842 §5.3 / RFC 5763 §5: the answer must fit the offer before any media starts
    const v = validateAnswer(p.sdp, answer);
    if (!v.ok) {
      this.failNegotiation(remoteFindingsError("answer", v.findings), p);
      throw remoteFindingsError("answer", v.findings);
    }
    const remote = readDcMedia(answer)[0];
    if (!remote || remote.rejected) {
      const e = new UeError("E_SDP_NO_DC", "the answer rejected the data channel m-line");
      this.failNegotiation(e, p);
      throw e;
    }
    this.pending = undefined;
    // RFC 8864 §6: the answerer echoes the dcmaps it accepts. An answer with no a=dcmap at all comes from a peer that
    // does not negotiate channels in SDP (libdatachannel, browsers): keep the offered ones, as negotiated channels.
    if (remote.dcmaps.length === 0 && !/^a=dcmap:/m.test(answer)) {
      const offered = readDcMedia(p.sdp)[0]?.dcmaps ?? [];
      if (offered.length > 0) {
        this.log.warn(
          { streams: offered.map((d) => d.streamId) },
          "answer has no a=dcmap; keeping the offered channels",
        );
        remote.dcmaps = offered;
      }
    }
    // RFC 4145 §4 / RFC 5763 §5: the answerer's active makes us (offerer) the passive end, i.e. the DTLS server
    const role: DtlsRole =
      negotiatedDtlsRole({ offerSetup: "actpass", answerSetup: remote.setup, localIsOfferer: true }) ?? "server";
    const next: AssociationState = {
      localTlsId: p.tlsId,
      ...(remote.tlsId !== undefined ? { remoteTlsId: remote.tlsId } : {}),
      localFingerprints: p.transport.identity.fingerprints,
      remoteFingerprints: remote.fingerprints,
      role,
    };
    await this.apply(p.transport, next, remote, { iceControlling: true, offerer: true, restart: p.restart });
  }

  /**
   * Answers an offer: validates it (error findings → E_SDP_REMOTE), builds the answer (RFC 8842 §5.3 tls-id rules,
   * setup active by default) and starts the association in the background. Await `connected()` for the outcome.
   */
  async acceptOffer(offer: string): Promise<string> {
    this.assertOpen();
    const v = validateOffer(offer);
    if (!v.ok) throw remoteFindingsError("offer", v.findings);
    const remote = readDcMedia(offer).find((m) => !m.rejected);
    if (!remote) throw new UeError("E_SDP_NO_DC", "the offer has no usable data channel m-line");
    this.checkChannelOptions(remote.dcmaps);
    const prev = this.current;
    const setup = this.opts.answerSetup ?? "active";
    // RFC 5763 §5: the answerer's active makes it the DTLS client
    const role: DtlsRole =
      negotiatedDtlsRole({ offerSetup: remote.setup, answerSetup: setup, localIsOfferer: false }) ?? "client";
    const probe: AssociationState = {
      ...(remote.tlsId !== undefined ? { remoteTlsId: remote.tlsId } : {}),
      ...(prev?.state.localTlsId !== undefined ? { localTlsId: prev.state.localTlsId } : {}),
      localFingerprints: this.identity.fingerprints,
      remoteFingerprints: remote.fingerprints,
      role,
    };
    // RFC 8842 §3: would continuing be allowed? An ICE restart without a new tls-id is treated as a new association.
    const iceChanged = prev !== undefined && prev.media.ice.ufrag !== remote.ice.ufrag;
    const decision = prev ? decideAssociation(prev.state, probe) : { action: "new" as const, reasons: ["first offer"] };
    const reuse = decision.action === "reuse" && !iceChanged && prev !== undefined;
    const transport = reuse ? prev.transport : this.newTransport("answerer");
    const local = await transport.gather();
    // TS 24.186 §9.3.2.2.1 / RFC 3264 §6: one endpoint runs one DTLS/SCTP association; the data channel m-line it
    // serves is accepted, any further one (e.g. the remote bootstrap m-line next to the local one) gets port 0.
    const others = readDcMedia(offer).filter((m) => !m.rejected && m.mline !== remote.mline);
    const perMedia = Object.fromEntries(others.map((m) => [m.mline, { reject: true }]));
    // RFC 8839 §3.3.2: an offer without ICE is answered without any ICE attribute
    const ice = localIceSdp(transport.iceMode, iceOf(local), remote.ice);
    const built = buildDcAnswer(offer, {
      ...(others.length > 0 ? { perMedia } : {}),
      origin: { address: local.address },
      ...(ice.iceLite ? { iceLite: true } : {}),
      port: local.port,
      connection: { address: local.address },
      fingerprints: local.fingerprints,
      setup,
      ...(prev
        ? {
            previous: {
              ...(prev.state.localTlsId !== undefined ? { localTlsId: prev.state.localTlsId } : {}),
              ...(prev.state.remoteTlsId !== undefined ? { remoteTlsId: prev.state.remoteTlsId } : {}),
            },
          }
        : {}),
      ...(reuse ? {} : prev ? { forceNewAssociation: true } : {}),
      sctpPort: transport.localSctpPort,
      maxMessageSize: transport.localMaxMessageSize,
      ...(this.opts.acceptChannel ? { acceptStreamIds: this.opts.acceptChannel } : {}),
      ...(ice.ice ? { ice: ice.ice } : {}),
      ...(this.opts.qosHint ? { qosHint: this.opts.qosHint } : {}),
    });
    if (!built.ok || built.sdp === undefined) {
      if (!reuse) await transport.close();
      throw remoteFindingsError("offer", built.findings);
    }
    const ours = readDcMedia(built.sdp).find((m) => m.mline === remote.mline);
    const next: AssociationState = {
      ...probe,
      ...(ours?.tlsId !== undefined ? { localTlsId: ours.tlsId } : {}),
    };
    if (ours?.tlsId === undefined) delete next.localTlsId;
    const accepted = { ...remote, dcmaps: ours?.dcmaps ?? [] };
    await this.apply(transport, next, accepted, { iceControlling: false, offerer: false, restart: !reuse });
    return built.sdp;
  }

  private failNegotiation(err: UeError, p: { transport: DcTransport }): void {
    if (p.transport !== this.current?.transport) void p.transport.close();
    this.pending = undefined;
    this.emit("failure", err);
  }

  private async apply(
    transport: DcTransport,
    next: AssociationState,
    remote: DcMedia,
    how: { iceControlling: boolean; offerer: boolean; restart: boolean },
  ): Promise<void> {
    const prev = this.current;
    const decision =
      prev && prev.transport === transport && !how.restart
        ? decideAssociation(prev.state, next)
        : { action: "new" as const, reasons: prev ? ["new transport (restart)"] : ["first negotiation"] };
    const ev: AssociationEvent = { action: decision.action, reasons: decision.reasons, role: next.role };
    if (next.localTlsId !== undefined) ev.localTlsId = next.localTlsId;
    if (next.remoteTlsId !== undefined) ev.remoteTlsId = next.remoteTlsId;
    this.emit("association", ev);
    this.log.info({ action: decision.action, reasons: decision.reasons }, "DTLS association decision (RFC 8842 §3)");

    if (decision.action === "reuse" && prev) {
      // RFC 8842 §3: same tls-id, fingerprints and roles: keep the association; open newly negotiated dcmaps
      this.current = { transport, state: next, media: remote };
      this.openChannels(transport, remote.dcmaps);
      this.connecting = prev.transport.state === "connected" ? Promise.resolve() : this.connecting;
      return;
    }
    if (prev && prev.transport === transport) {
      // the peer changed tls-id/fingerprint/role while we continued: werift cannot run a second DTLS
      // association over the same ICE transport, so the session must be re-offered with a restart.
      const e = new UeError(
        "E_STATE",
        `the peer asked for a new DTLS association (${decision.reasons.join("; ")}); re-offer with restart`,
      );
      this.emit("failure", e);
      throw e;
    }
    if (prev) void prev.transport.close();
    this.current = { transport, state: next, media: remote };
    this.openChannels(transport, remote.dcmaps);
    const params: RemoteTransportParams = {
      iceUfrag: remote.ice.ufrag ?? "",
      icePwd: remote.ice.pwd ?? "",
      iceLite: remote.ice.lite,
      candidates: remote.ice.candidates,
      ...(remote.connection ? { address: remote.connection.address } : {}),
      port: remote.port,
      fingerprints: remote.fingerprints.map((f) => ({ hash: f.hash, value: f.value })),
      sctpPort: remote.sctpPort,
      maxMessageSize: remote.maxMessageSize,
    };
    const run = transport.connect(params, { iceControlling: how.iceControlling, dtlsRole: next.role }).then(
      () => {
        const latched = transport.pathCounters?.latched;
        if (latched) {
          // a security decision: media now goes to an address the SDP did not name (opt-in, after authentication)
          this.opts.audit?.record({
            node: "ue",
            ue: this.opts.name ?? "ue",
            decision: "no-ice-latched",
            clause: "RFC 8122 §6",
            signalled: `${params.address ?? "?"}:${params.port ?? "?"}`,
            latched: `${latched.address}:${latched.port}`,
          });
        }
        if (this.current?.transport === transport) this.setState("connected");
      },
      (e: unknown) => {
        const err = e instanceof UeError ? e : new UeError("E_DTLS_FAILED", String(e), { cause: e });
        if (this.current?.transport === transport) {
          this.setState("failed");
          this.emit("failure", err);
        }
        throw err;
      },
    );
    this.connecting = run;
    run.catch(() => {});
    this.setState("connecting");
  }

  private openChannels(transport: DcTransport, dcmaps: DcMap[]): void {
    for (const d of dcmaps) {
      if (transport.channel(d.streamId)) continue;
      const ch = transport.openNegotiated({
        id: d.streamId,
        label: d.label ?? "",
        protocol: d.subprotocol ?? "",
        ordered: d.ordered ?? true, // RFC 8864 §5.1.1: ordered defaults to true
        ...(d.maxRetr !== undefined ? { maxRetransmits: d.maxRetr } : {}),
        ...(d.maxTime !== undefined ? { maxPacketLifeTime: d.maxTime } : {}),
      });
      this.emit("channel", ch);
    }
  }

  /** Opens an in-band (DCEP, RFC 8832) channel on the live association. */
  createChannel(label: string, opts: { protocol?: string; ordered?: boolean } = {}): DcChannel {
    const t = this.current?.transport;
    if (!t) throw new UeError("E_STATE", "no association yet");
    return t.createChannel(label, opts);
  }

  private setState(s: EndpointState): void {
    if (this._state === s) return;
    this._state = s;
    this.emit("state", s);
  }

  private assertOpen(): void {
    if (this.closed) throw new UeError("E_CLOSED", "endpoint is closed");
  }

  /** Closes every transport; frees sockets and timers. Idempotent. */
  async close(): Promise<void> {
    if (this.closed) return;
    this.closed = true;
    const ts = new Set<DcTransport>();
    if (this.current) ts.add(this.current.transport);
    if (this.pending) ts.add(this.pending.transport);
    await Promise.all([...ts].map((t) => t.close()));
    this.setState("closed");
  }
}
