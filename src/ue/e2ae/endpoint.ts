/**
 * `E2aeEndpoint`: one e2ae MSRP or BFCP stream of a UE (TR 29.828 §5.2.1.2.2/3 MSRP, §5.2.1.3.2/3 BFCP; TS 33.328
 * e2ae). It builds the UE's offer (TCP/TLS/…, a=3ge2ae:requested, its per-session certificate's fingerprint) or
 * answers an offer (a=3ge2ae:applied + the IMS-AGW's fingerprint), takes the TCP role from a=setup (RFC 4145 §4),
 * the TLS role from the MSRP/BFCP rules, and verifies the TLS peer against the fingerprint of the remote SDP before
 * a single MSRP/BFCP byte is sent or read (RFC 8122 §6). Every verdict is an audit event (node "ue").
 */

import type tls from "node:tls";
import { type Logger, silentLogger } from "../../log.ts";
import type { Fingerprint, FloorCtrlRole, SetupRole } from "../../sdp/index.ts";
import { validateAnswer, validateOffer } from "../../sdp/index.ts";
import { generateSessionCertificate, type SessionCertificate } from "../../security/certificate.ts";
import { verifyPeerCertificate } from "../../security/verify.ts";
import { TypedEmitter } from "../../sip/emitter.ts";
import { requireHardenedEngine } from "../engine.ts";
import type { BfcpClient, HelloResult } from "./bfcpClient.ts";
import type { FloorRequestState } from "./bfcpFloorInfo.ts";
import type { BfcpFloorServer } from "./bfcpFloorServer.ts";
import { startBfcpLeg } from "./bfcpLeg.ts";
import { type Candidate, E2aeConnector } from "./endpointConnector.ts";
import { findingsError, type LocalStream, localMediaOptions, makePlan, type Plan } from "./endpointPlan.ts";
import {
  DEFAULT_E2AE_TIMEOUTS,
  type E2aeEndpointEvents,
  type E2aeEndpointOptions,
  type E2aeState,
  type E2aeTimeouts,
  type E2aeVerdictEvent,
  type LegContext,
} from "./endpointTypes.ts";
import { E2aeError, toE2aeError } from "./errors.ts";
import { newSessionId } from "./msrpGrammar.ts";
import { startMsrpLeg } from "./msrpLeg.ts";
import type { MsrpSendOptions, MsrpSendResult, MsrpSession } from "./msrpSession.ts";
import {
  answerFloorCtrl,
  answerSetupFor,
  buildE2aeAnswer,
  buildE2aeMediaLines,
  buildE2aeOffer,
  type E2aeKind,
  type E2aeMedia,
  type E2aeMediaOptions,
  localTcpRole,
  readE2aeMedia,
} from "./sdp.ts";
import { e2aeVerdict, peerCertificateDer, plainAddress, type TlsRole } from "./tls.ts";

export {
  DEFAULT_E2AE_TIMEOUTS,
  type E2aeBfcpOptions,
  type E2aeEndpointEvents,
  type E2aeEndpointOptions,
  type E2aeMsrpOptions,
  type E2aeState,
  type E2aeTimeouts,
  type E2aeVerdictEvent,
} from "./endpointTypes.ts";

export class E2aeEndpoint extends TypedEmitter<E2aeEndpointEvents> {
  readonly kind: E2aeKind;
  readonly certificate: SessionCertificate;
  private readonly opts: E2aeEndpointOptions;
  private readonly timeouts: E2aeTimeouts;
  private readonly log: Logger;
  private readonly address: string;
  private readonly sessionId: string;
  private _state: E2aeState = "idle";
  private readonly connector: E2aeConnector;
  private ourOffer: { sdp: string; mline: number; setup: SetupRole; floorctrl: FloorCtrlRole[] } | undefined;
  private ourMedia: E2aeMediaOptions | undefined;
  private plan: Plan | undefined;
  private socket: tls.TLSSocket | undefined;
  private establishTimer: NodeJS.Timeout | undefined;
  private _msrp: MsrpSession | undefined;
  private _bfcpClient: BfcpClient | undefined;
  private _bfcpServer: BfcpFloorServer | undefined;
  private _verdict: E2aeVerdictEvent | undefined;
  private closing = false;
  private readonly ready: Promise<void>;
  private settleReady!: { resolve: () => void; reject: (e: E2aeError) => void };

  constructor(opts: E2aeEndpointOptions) {
    super();
    this.opts = opts;
    this.kind = opts.kind;
    // fail closed before anything exists (src/ue/engine.ts)
    requireHardenedEngine({ audit: opts.audit, name: opts.name, transport: `e2ae-${opts.kind}` });
    this.timeouts = { ...DEFAULT_E2AE_TIMEOUTS, ...opts.timeouts };
    this.log = (opts.logger ?? silentLogger).child({ ue: opts.name ?? "ue", e2ae: opts.kind });
    this.address = opts.address ?? "127.0.0.1";
    this.sessionId = opts.msrp?.sessionId ?? newSessionId();
    this.certificate = opts.certificate ?? generateSessionCertificate();
    this.connector = new E2aeConnector(
      {
        kind: this.kind,
        address: this.address,
        certificate: this.certificate,
        timeouts: this.timeouts,
        log: this.log,
        endpoint: opts,
      },
      {
        plan: () => this.plan,
        closing: () => this.closing,
        refusesIncoming: () => this.closing || this.socket !== undefined || this._state === "failed",
        connecting: () => this._state === "connecting",
        verify: (c) => this.verifyCandidate(c),
        fail: (e) => this.fail(e),
      },
    );
    this.ready = new Promise<void>((resolve, reject) => {
      this.settleReady = { resolve, reject };
    });
    this.ready.catch(() => {});
  }

  get state(): E2aeState {
    return this._state;
  }
  /** Our fingerprint as signalled (RFC 8122 §5, SHA-256). */
  get fingerprint(): Fingerprint {
    return { hash: "sha-256", value: this.certificate.fingerprint.value };
  }
  get verdict(): E2aeVerdictEvent | undefined {
    return this._verdict;
  }
  /** The remote m-line as negotiated (after acceptOffer / acceptAnswer). */
  get remoteMedia(): E2aeMedia | undefined {
    return this.plan?.remote;
  }
  get tcpRole(): "active" | "passive" | undefined {
    return this.plan?.tcp;
  }
  get tlsRole(): TlsRole | undefined {
    return this.plan?.tls;
  }
  /** The listening port (0 when not listening). */
  get port(): number {
    return this.connector.port;
  }
  /** Our a=path (MSRP). */
  get localPath(): string[] {
    const m = this.ourMedia;
    return m?.kind === "msrp" ? m.path.map(String) : [];
  }
  /**
   * Our m-section (offer or answer) as SDP lines, for a UE that composes one body with several m-lines: send the
   * composed offer, then call `acceptAnswer(answer, { offer: composed })` (createOffer({ mline }) tells the index).
   */
  get localMediaLines(): string[] {
    return this.ourMedia ? buildE2aeMediaLines(this.ourMedia) : [];
  }
  get msrp(): MsrpSession | undefined {
    return this._msrp;
  }
  get bfcpClient(): BfcpClient | undefined {
    return this._bfcpClient;
  }
  get bfcpServer(): BfcpFloorServer | undefined {
    return this._bfcpServer;
  }
  /** BFCP: true when we are the floor control server after negotiation. */
  get isFloorServer(): boolean {
    return this.plan?.floorServer === true;
  }

  /** What our m-line is built from (endpointPlan.ts `localMediaOptions`). */
  private get local(): LocalStream {
    return {
      kind: this.kind,
      address: this.address,
      fingerprint: this.fingerprint,
      sessionId: this.sessionId,
      opts: this.opts,
    };
  }

  /** Resolves once the TLS peer is verified and the MSRP/BFCP session runs; rejects with the terminal error. */
  connected(): Promise<void> {
    return this.ready;
  }

  // ---- offer / answer ----------------------------------------------------------------------------------------

  /**
   * Builds our offer (TR 29.828 §5.2.1.2.2 / §5.2.1.3.2 step 1): TCP/TLS/MSRP or TCP/TLS/BFCP, fmt "*", our
   * fingerprint, a=3ge2ae:requested, a=setup (actpass by default: we listen before the offer leaves).
   */
  async createOffer(opts: { mline?: number } = {}): Promise<string> {
    this.assertState("idle", "createOffer");
    const setup = this.opts.offerSetup ?? "actpass";
    // RFC 4145 §4: passive and actpass endpoints must be ready to accept before the offer is sent
    if (setup !== "active") await this.connector.startListening();
    const port = setup === "active" ? 9 : this.connector.port; // RFC 4145 §4: an active-only endpoint uses port 9
    const floorctrl = this.opts.bfcp?.floorctrl ?? ["c-only"];
    const media = localMediaOptions(
      this.local,
      port,
      setup,
      floorctrl,
      this.opts.requestE2ae === false ? undefined : "requested",
    );
    const built = buildE2aeOffer({
      origin: { address: this.address },
      connection: { address: this.address },
      media: [media],
    });
    if (!built.ok) {
      await this.connector.stopListening();
      throw findingsError("our own offer", built.findings);
    }
    this.ourMedia = media;
    this.ourOffer = { sdp: built.sdp, mline: opts.mline ?? 0, setup, floorctrl };
    this.setState("offered");
    return built.sdp;
  }

  /**
   * Applies the answer to our offer (TR 29.828 §5.2.1.2.2 steps 19-21): validates it, decides the TCP and TLS
   * roles and establishes the connection. Resolves when the answer is accepted; `connected()` gives the outcome.
   * An invalid or rejecting answer throws E_E2AE_SDP and fails the endpoint.
   */
  async acceptAnswer(answer: string, opts: { offer?: string } = {}): Promise<void> {
    this.assertState("offered", "acceptAnswer");
    const offer = this.ourOffer;
    if (!offer) throw new E2aeError("E_E2AE_STATE", "no offer");
    try {
      // RFC 3264 §6 / RFC 4145 §4: the answer must fit the offer (as sent) before anything is connected
      const v = validateAnswer(opts.offer ?? offer.sdp, answer);
      if (!v.ok) throw findingsError("answer", v.findings);
      const remote = readE2aeMedia(answer).find((m) => m.mline === offer.mline);
      if (!remote || remote.rejected || remote.kind !== this.kind)
        throw new E2aeError("E_E2AE_SDP", `the answer rejected the ${this.kind.toUpperCase()} m-line`);
      if (!remote.tls) throw new E2aeError("E_E2AE_SDP", `the answer uses ${remote.proto}, not TLS`);
      const tcp = localTcpRole({ offerSetup: offer.setup, answerSetup: remote.setup, localIsOfferer: true });
      if (!tcp) throw new E2aeError("E_E2AE_SDP", `answer setup ${remote.setup ?? "(none)"} gives no TCP connection`);
      const plan = makePlan(this.kind, this.opts, remote, tcp, true, offer.floorctrl);
      this.plan = plan;
    } catch (e) {
      const err = toE2aeError(e, "E_E2AE_SDP", "answer");
      this.fail(err);
      throw err;
    }
    this.beginEstablishment();
  }

  /**
   * Answers an offer (TR 29.828 §5.2.1.2.3 / §5.2.1.3.3 steps 9-13): the offer carries TCP/TLS/…, usually
   * a=3ge2ae:applied and the IMS-AGW's fingerprint. Returns our answer (our fingerprint, a=setup active by default)
   * and starts the connection; `connected()` gives the outcome.
   */
  async acceptOffer(offer: string, opts: { mline?: number } = {}): Promise<string> {
    this.assertState("idle", "acceptOffer");
    let media: E2aeMediaOptions;
    let plan: Plan;
    try {
      const v = validateOffer(offer);
      if (!v.ok) throw findingsError("offer", v.findings);
      const remote = readE2aeMedia(offer).find(
        (m) => m.kind === this.kind && !m.rejected && (opts.mline === undefined || m.mline === opts.mline),
      );
      if (!remote) throw new E2aeError("E_E2AE_SDP", `the offer has no usable ${this.kind.toUpperCase()} m-line`);
      // TS 33.328 e2ae / TR 29.828 step 8: the access leg toward the UE is TCP/TLS/…
      if (!remote.tls) throw new E2aeError("E_E2AE_SDP", `the offer uses ${remote.proto}, not TLS`);
      const setup = answerSetupFor(remote.setup, this.opts.answerSetup ?? "active");
      if (!setup) throw new E2aeError("E_E2AE_SDP", `offered setup ${remote.setup} allows no connection`);
      let floorctrl: FloorCtrlRole[] = [];
      if (this.kind === "bfcp") {
        const role = answerFloorCtrl(remote.bfcp?.floorctrl ?? [], this.opts.bfcp?.answerPrefer ?? "c-only");
        if (!role) throw new E2aeError("E_E2AE_SDP", "no floorctrl role fits the offer (RFC 8856 §5.1)");
        floorctrl = [role];
      }
      plan = makePlan(this.kind, this.opts, remote, setup, false, floorctrl);
      if (setup === "passive") await this.connector.startListening();
      media = localMediaOptions(this.local, setup === "active" ? 9 : this.connector.port, setup, floorctrl, undefined);
      const built = buildE2aeAnswer(offer, {
        origin: { address: this.address },
        connection: { address: this.address },
        media: { [remote.mline]: media },
      });
      if (!built.ok) throw findingsError("our answer", built.findings);
      this.ourMedia = media;
      this.plan = plan;
      this.beginEstablishment();
      return built.sdp;
    } catch (e) {
      const err = toE2aeError(e, "E_E2AE_SDP", "offer");
      await this.connector.stopListening();
      this.fail(err);
      throw err;
    }
  }

  // ---- connection establishment --------------------------------------------------------------------------------

  private beginEstablishment(): void {
    const plan = this.plan;
    if (!plan) return;
    this.setState("connecting");
    this.log.info(
      { tcp: plan.tcp, tls: plan.tls, remote: `${plan.remoteAddress}:${plan.remotePort}` },
      "e2ae roles decided (RFC 4145 §4)",
    );
    this.establishTimer = setTimeout(() => {
      if (this._state === "connecting")
        this.fail(new E2aeError("E_E2AE_TIMEOUT", `no verified connection within ${this.timeouts.establishMs} ms`));
    }, this.timeouts.establishMs);
    this.establishTimer.unref?.();
    if (plan.tcp === "active") {
      // we connect: no listener needed any more (RFC 4145 §4), nothing held can be ours
      void this.connector.stopListening();
      this.connector.dropAll();
      void this.connector.connectActive(plan);
      return;
    }
    for (const c of this.connector.held()) {
      if (c.sock) this.verifyCandidate(c);
    }
  }

  /** RFC 8122 §6: the certificate presented in the handshake must match the remote SDP's fingerprint. */
  private verifyCandidate(c: Candidate): void {
    const plan = this.plan;
    const sock = c.sock;
    if (!plan || !sock || this.socket) {
      this.connector.drop(c);
      return;
    }
    if (c.timer) clearTimeout(c.timer);
    const verdict = e2aeVerdict(verifyPeerCertificate(peerCertificateDer(sock), plan.remote.fingerprints));
    const ev: E2aeVerdictEvent = {
      ...verdict,
      tlsRole: plan.tls,
      peerAddress: plainAddress(c.raw.remoteAddress),
      peerPort: c.raw.remotePort ?? 0,
    };
    this._verdict = ev;
    this.audit(ev);
    this.emit("verdict", ev);
    if (!verdict.verified) {
      this.connector.drop(c);
      // RFC 8122 §6: no match ⇒ the connection is not used; fail closed (not a single MSRP/BFCP byte was exchanged)
      this.fail(
        new E2aeError(verdict.code ?? "E_E2AE_FP_MISMATCH", verdict.reason ?? "fingerprint mismatch", {
          details: { ...ev },
        }),
      );
      return;
    }
    this.connector.release(c);
    this.adopt(sock, plan);
  }

  private audit(v: E2aeVerdictEvent): void {
    this.opts.audit?.record({
      node: "ue",
      ue: this.opts.name ?? "ue",
      decision: v.verified ? "fingerprint-verified" : "peer-refused",
      clause: "RFC 8122 §6",
      protocol: this.kind,
      tlsRole: v.tlsRole,
      peerAddress: v.peerAddress,
      peerPort: v.peerPort,
      hash: v.hash,
      presented: v.presented,
      signalled: v.signalled,
      code: v.code,
      reason: v.reason,
    });
  }

  private adopt(sock: tls.TLSSocket, plan: Plan): void {
    this.socket = sock;
    if (this.establishTimer) clearTimeout(this.establishTimer);
    // one TCP connection per stream (RFC 4145 §5 connection:new): no more listening, no other candidates
    void this.connector.stopListening();
    this.connector.dropAll();
    const onGone = (err: E2aeError | undefined) => {
      if (this.closing || this._state === "closed" || this._state === "failed") return;
      this.fail(err ?? new E2aeError("E_E2AE_PEER_CLOSED", "the peer closed the connection"));
    };
    try {
      const leg: LegContext = { sock, plan, log: this.log, events: this, onGone };
      if (this.kind === "msrp") this._msrp = startMsrpLeg(leg, this.ourMedia, this.opts.msrp ?? {});
      else {
        const bfcp = startBfcpLeg(leg, this.opts.bfcp ?? {});
        this._bfcpServer = bfcp.server;
        this._bfcpClient = bfcp.client;
      }
    } catch (e) {
      this.fail(toE2aeError(e, "E_E2AE_SDP", "session"));
      return;
    }
    this.setState("connected");
    this.settleReady.resolve();
  }

  // ---- application API -----------------------------------------------------------------------------------------

  /** MSRP: sends one message (chunked); resolves on the 200s (RFC 4975 §7.1.1). */
  send(content: string | Uint8Array, contentType: string, opts: MsrpSendOptions = {}): Promise<MsrpSendResult> {
    const s = this._msrp;
    if (!s) return Promise.reject(new E2aeError("E_E2AE_STATE", "no MSRP session (not connected, or not MSRP)"));
    return s.send(content, contentType, opts);
  }

  /** BFCP participant: Hello → HelloAck (RFC 8855 §5.3.11). */
  hello(): Promise<HelloResult> {
    const c = this._bfcpClient;
    if (!c) return Promise.reject(new E2aeError("E_E2AE_STATE", "not a connected BFCP participant"));
    return c.hello();
  }

  /** BFCP participant: FloorRequest for `floorIds` (default: the floors of the server's SDP). */
  requestFloor(floorIds?: number[]): Promise<FloorRequestState> {
    const c = this._bfcpClient;
    if (!c) return Promise.reject(new E2aeError("E_E2AE_STATE", "not a connected BFCP participant"));
    const floors = floorIds ?? this.plan?.floorIds ?? [];
    return c.requestFloor(floors);
  }

  /** BFCP participant: FloorRelease. */
  releaseFloor(floorRequestId: number): Promise<FloorRequestState> {
    const c = this._bfcpClient;
    if (!c) return Promise.reject(new E2aeError("E_E2AE_STATE", "not a connected BFCP participant"));
    return c.releaseFloor(floorRequestId);
  }

  // ---- state -----------------------------------------------------------------------------------------------------

  private assertState(want: E2aeState, what: string): void {
    if (this.closing || this._state === "closed") throw new E2aeError("E_E2AE_CLOSED", "endpoint is closed");
    if (this._state !== want) throw new E2aeError("E_E2AE_STATE", `${what}() in state ${this._state}`);
  }

  private setState(s: E2aeState): void {
    if (this._state === s) return;
    this._state = s;
    this.emit("state", s);
  }

  private fail(err: E2aeError): void {
    if (this._state === "failed" || this._state === "closed") return;
    this.log.warn({ code: err.code, err: err.message }, "e2ae stream failed");
    this.setState("failed");
    this.settleReady.reject(err);
    this.emit("failure", err);
    void this.teardown();
  }

  private async teardown(): Promise<void> {
    if (this.establishTimer) clearTimeout(this.establishTimer);
    this.connector.dropAll();
    await this.connector.stopListening();
    const tasks: Promise<unknown>[] = [];
    if (this._msrp) tasks.push(this._msrp.close());
    if (this._bfcpClient) tasks.push(this._bfcpClient.close());
    if (this._bfcpServer) tasks.push(this._bfcpServer.close());
    await Promise.allSettled(tasks);
    const s = this.socket;
    if (s && !s.destroyed) {
      await new Promise<void>((r) => {
        const t = setTimeout(() => {
          s.destroy();
          r();
        }, 1000);
        t.unref?.();
        s.once("close", () => {
          clearTimeout(t);
          r();
        });
        s.end();
      });
    }
  }

  /** Closes the stream: session, connection, listener, timers. Idempotent; never throws. */
  async close(): Promise<void> {
    if (this.closing) return;
    this.closing = true;
    if (this._state !== "failed") this.settleReady.reject(new E2aeError("E_E2AE_CLOSED", "endpoint closed"));
    await this.teardown();
    this.setState("closed");
  }
}
