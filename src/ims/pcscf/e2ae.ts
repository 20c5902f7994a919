/**
 * The e2ae media anchoring of the P-CSCF (IMS-ALG) on the IMS-AGW over Iq: the step tables of TR 29.828
 * §5.2.1.2.2 (MSRP originating, steps 1-21), §5.2.1.2.3 (MSRP terminating, steps 1-18), §5.2.1.3.2 (BFCP
 * originating) and §5.2.1.3.3 (BFCP terminating), and the release of what was reserved.
 *
 * One `E2aeSession` per offer/answer exchange that anchors at least one m-line; one AGW context (two terminations:
 * access toward the UE, core toward the IMS core) per anchored m-line. The SIP side (which message, which dialog,
 * when to release) is the node's business (node.ts); this module runs the Iq procedures and the SDP rewrites.
 *
 * | exchange            | Iq on the offer                                             | Iq on the answer                         |
 * |---------------------|-------------------------------------------------------------|------------------------------------------|
 * | originating (UE A)  | R core TCP/… (2-4); RC access TCP/TLS/… remote = UE A + fp(UE A), fp request (5-7) | C core remote = answerer (13-15); MSRP: C access TLS setup direction (16-18) |
 * | terminating (UE B)  | R access TCP/TLS/…, fp request, BFCP Establish TLS (2-4); RC core remote = offerer (5-7) | C access remote = UE B + fp(UE B) (14-16) |
 *
 * The IMS-AGW is injected (`IqClient`): this module never imports the AGW (DESIGN rule 1).
 */
import type { AuditEvent, Logger } from "../../log.ts";
import { AUDITED_EVENTS, isMediaFault } from "./agwEvents.ts";
import type { AlgDecision } from "./algTypes.ts";
import { bodyBytes } from "./bytes.ts";
import type { AlgConfig } from "./config.ts";
import {
  type AnchoredStream,
  type AnswerOutcome,
  type E2aeFamily,
  E2aeSession,
  type IqFailure,
  type OfferOutcome,
} from "./e2aeSession.ts";
import { CLAUSE, complement, iqFingerprints, PLAIN, sdpFingerprint, TLS, tcpEstablishment } from "./e2aeSteps.ts";
import type { IqClient, IqClientEvent, IqConnectionPoint } from "./iq.ts";
import { agwCodeOf, hostPort, IqProcedureError, IqTimeout } from "./iqProcedure.ts";
import { type AgwLegSdp, applyDecision, extractIqMedia, type IqMediaInfo } from "./rewrite.ts";

export interface E2aeAnchorOptions {
  iq: IqClient;
  config: AlgConfig;
  /** the P-CSCF's name, in every audit event */
  instance: string;
  logger: Logger;
  record(e: AuditEvent): void;
  /**
   * The AGW reported that an anchored stream's media is gone or never came (FAULT_EVENTS); called once per session.
   * The P-CSCF then releases the session (TS 24.229 §5.2.8).
   */
  onMediaFault?(session: E2aeSession, event: IqClientEvent): void;
}

export class E2aeAnchor {
  private readonly iq: IqClient;
  private readonly config: AlgConfig;
  private readonly log: Logger;
  private readonly instance: string;
  private readonly record: (e: AuditEvent) => void;
  private readonly sessions = new Set<E2aeSession>();
  private readonly byContext = new Map<string, E2aeSession>();
  private readonly releasing = new Set<Promise<unknown>>();
  private readonly offEvents: (() => void) | undefined;
  private readonly offState: (() => void) | undefined;
  private readonly onMediaFault: E2aeAnchorOptions["onMediaFault"];
  private readonly faulted = new WeakSet<E2aeSession>();
  private nextId = 1;
  private closed = false;

  constructor(opts: E2aeAnchorOptions) {
    this.iq = opts.iq;
    this.config = opts.config;
    this.log = opts.logger;
    this.instance = opts.instance;
    this.record = opts.record;
    this.onMediaFault = opts.onMediaFault;
    this.offEvents = opts.iq.onEvent?.((e) => this.onAgwEvent(e));
    // TS 23.334 (Iq): an AGW that lost our contexts (restart) cannot carry any anchored stream any more
    this.offState = opts.iq.onConnectionState?.((st) => {
      if (st.connected && st.resumed === false) this.onAgwLost();
    });
  }

  /** Sessions holding AGW resources (tests, metrics). */
  get size(): number {
    return this.sessions.size;
  }

  /** Every AGW context this P-CSCF holds. */
  contextIds(): string[] {
    return [...this.byContext.keys()];
  }

  /** The sessions of a Call-ID (tests, ladders). */
  sessionsOf(callId: string): E2aeSession[] {
    return [...this.sessions].filter((s) => s.callId === callId);
  }

  // ---------------------------------------------------------------------------------------------------------------
  // the offer: Reserve / Reserve and Configure, then the rewrite (step 8)

  /**
   * Runs the offer steps for every e2ae m-line of `decision` (an offer decision with action "anchor") and rewrites
   * the offer for its receiver. On any failure every context reserved so far is released.
   */
  async anchorOffer(
    body: Uint8Array,
    decision: AlgDecision,
    dialog: { callId: string; fromTag: string | undefined; toTag: string | undefined },
  ): Promise<OfferOutcome> {
    const direction = decision.direction;
    const session = new E2aeSession(`e${this.nextId++}`, dialog.callId, direction, dialog.fromTag, dialog.toTag);
    this.sessions.add(session);
    const infos = extractIqMedia(body, "offer", {
      step: direction === "originating" ? "originating-offer" : "terminating-offer",
    });
    for (const mline of decision.anchors.e2ae) {
      const info = infos[mline];
      const family = info?.family;
      if (!info || (family !== "msrp" && family !== "bfcp")) {
        await this.release(session, "not an MSRP/BFCP m-line");
        return {
          ok: false,
          rewrite: { code: "E_REWRITE_MLINE", mline, message: "the IMS-AGW anchors TCP MSRP/BFCP streams only" },
        };
      }
      try {
        const stream =
          direction === "originating"
            ? await this.reserveOriginating(session, info, family)
            : await this.reserveTerminating(session, info, family);
        session.streams.push(stream);
      } catch (e) {
        const failure = this.failureOf(e, mline, CLAUSE[direction][family]);
        await this.release(session, `Iq failure: ${failure.procedure} ${failure.agwCode ?? failure.code}`);
        return { ok: false, failure };
      }
      if (this.closed) {
        await this.release(session, "P-CSCF closing");
        return {
          ok: false,
          failure: this.failureOf(new Error("the P-CSCF is closing"), mline, CLAUSE[direction][family]),
        };
      }
    }
    // step 8: the address information received from the IMS-AGW (and, toward the UE, its fingerprint)
    const legs = new Map<number, AgwLegSdp>();
    for (const s of session.streams) legs.set(s.mline, this.legSdp(s, direction === "originating" ? "core" : "access"));
    const r = applyDecision(body, decision, legs, this.config);
    if (!r.ok) {
      const p = r.problems[0];
      await this.release(session, `offer rewrite failed: ${p?.code ?? "?"}`);
      return {
        ok: false,
        rewrite: { code: p?.code ?? "E_REWRITE_MLINE", mline: p?.mline ?? 0, message: p?.message ?? "rewrite failed" },
      };
    }
    session.state = "offered";
    return { ok: true, session, body: bodyBytes(r.body), changes: r.changes };
  }

  /** TR 29.828 §5.2.1.2.2 / §5.2.1.3.2 steps 2-7 (the originating UE's offer). */
  private async reserveOriginating(
    session: E2aeSession,
    info: IqMediaInfo,
    family: E2aeFamily,
  ): Promise<AnchoredStream> {
    const clause = CLAUSE.originating[family];
    const agw = this.config.agw;
    const address = info.address;
    if (address === null) throw new IqProcedureError("reserve", clause, `m-line ${info.mline} has no address`);
    // steps 2-4: "Reserve AGW Connection Point" for "TCP/MSRP" ("TCP/BFCP") media towards the core network; in
    // delayed mode the termination ignores SYNs until the answer gives the remote address (TR 29.828 §4.4.2.2)
    const core = await this.call(
      session,
      info.mline,
      "reserveAgwConnectionPoint",
      `${clause} steps 2-4`,
      this.iq.reserveAgwConnectionPoint({
        side: "core",
        transport: PLAIN[family],
        tcpEstablishment: tcpEstablishment(agw.tcpEstablishment.core),
        tcpEstablishmentInterlinkage: agw.interlinkage, // TR 29.828 §4.4.2.1.2 indication 3
      }),
    );
    // steps 5-7: "Reserve And Configure AGW Connection Point" for "TCP/TLS/MSRP" ("TCP/TLS/BFCP") towards the access
    // network; the remote descriptor carries the UE's address, port and fingerprint (the AGW verifies the UE's
    // certificate against it); the AGW communicates the fingerprint of its own certificate
    const access = await this.call(
      session,
      info.mline,
      "reserveAndConfigureAgwConnectionPoint",
      `${clause} steps 5-7`,
      this.iq.reserveAndConfigureAgwConnectionPoint({
        contextId: core.contextId,
        side: "access",
        transport: TLS[family],
        tcpEstablishment: tcpEstablishment(agw.tcpEstablishment.access),
        localCertificateFingerprintRequest: true,
        notifyTlsSessionEstablishmentFailureEvent: true,
        // BFCP: the AGW stands in for the SDP answerer toward UE A, and the answerer is the TLS server whatever the
        // TCP roles (RFC 8856 as docs/e2ae-ue.md applies it; UE A, the offerer, is TLS client); §5.2.1.3.2 has no
        // TLS-direction step, so the role is given here
        ...(family === "bfcp" ? { tlsRole: "server" as const } : {}),
        remote: {
          address,
          port: info.port,
          setup: info.effectiveSetup,
          certificateFingerprints: iqFingerprints(info.fingerprints),
        },
      }),
    );
    return this.stream(info, family, core.contextId, access, core, `${clause} steps 5-7`);
  }

  /** TR 29.828 §5.2.1.2.3 / §5.2.1.3.3 steps 2-7 (the offer toward the terminating UE). */
  private async reserveTerminating(
    session: E2aeSession,
    info: IqMediaInfo,
    family: E2aeFamily,
  ): Promise<AnchoredStream> {
    const clause = CLAUSE.terminating[family];
    const agw = this.config.agw;
    const address = info.address;
    if (address === null) throw new IqProcedureError("reserve", clause, `m-line ${info.mline} has no address`);
    // steps 2-4: "Reserve AGW Connection Point" for "TCP/TLS/MSRP" ("TCP/TLS/BFCP") towards the access network; the
    // AGW communicates its fingerprint; BFCP: "The IMS-ALG instructs the IMS-AGW to start the establishment of the
    // TLS session" (IE Establish (D)TLS session: the AGW is TLS client, §5.2.1.3.3 step 12)
    const access = await this.call(
      session,
      info.mline,
      "reserveAgwConnectionPoint",
      `${clause} steps 2-4`,
      this.iq.reserveAgwConnectionPoint({
        side: "access",
        transport: TLS[family],
        tcpEstablishment: tcpEstablishment(agw.tcpEstablishment.access),
        tcpEstablishmentInterlinkage: agw.interlinkage, // TR 29.828 §4.4.2.1.2 indication 3
        localCertificateFingerprintRequest: true,
        notifyTlsSessionEstablishmentFailureEvent: true,
        ...(family === "bfcp" ? { establishTlsSession: true } : {}),
      }),
    );
    // steps 5-7: "Reserve And Configure AGW Connection Point" for "TCP/MSRP" ("TCP/BFCP") towards the core network,
    // with the offerer's address, port and a=setup
    const core = await this.call(
      session,
      info.mline,
      "reserveAndConfigureAgwConnectionPoint",
      `${clause} steps 5-7`,
      this.iq.reserveAndConfigureAgwConnectionPoint({
        contextId: access.contextId,
        side: "core",
        transport: PLAIN[family],
        tcpEstablishment: tcpEstablishment(agw.tcpEstablishment.core),
        remote: { address, port: info.port, setup: info.effectiveSetup },
      }),
    );
    return this.stream(info, family, access.contextId, access, core, `${clause} steps 2-4`);
  }

  private stream(
    info: IqMediaInfo,
    family: E2aeFamily,
    contextId: string,
    access: IqConnectionPoint,
    core: IqConnectionPoint,
    fpClause: string,
  ): AnchoredStream {
    const fp = access.localCertificateFingerprint;
    if (!fp || !sdpFingerprint(fp)) {
      throw new IqProcedureError(
        "reserve (access side)",
        fpClause,
        "the IMS-AGW answered the Local certificate fingerprint Request with no usable fingerprint",
      );
    }
    return { mline: info.mline, family, contextId, access, core, agwFingerprint: fp, released: false };
  }

  /** The AGW leg whose data goes into a body: toward the core the core termination, toward the UE the access one. */
  private legSdp(s: AnchoredStream, leg: "core" | "access"): AgwLegSdp {
    const p = leg === "core" ? s.core : s.access;
    const fp = sdpFingerprint(s.agwFingerprint);
    return {
      address: p.localAddress,
      port: p.localPort,
      ...(leg === "access" && fp ? { fingerprints: [fp] } : {}),
    };
  }

  // ---------------------------------------------------------------------------------------------------------------
  // the answer: the rewrite (steps 17/19) at once, the Configure procedures (13-18 / 14-16) in the background

  /**
   * Rewrites an answer of this exchange for its receiver (synchronous: the proxy relays responses at once) and
   * starts the Configure procedures of the answer (once per exchange). Streams the answer rejects are released.
   */
  answer(session: E2aeSession, body: Uint8Array, decision: AlgDecision): AnswerOutcome {
    const originating = session.direction === "originating";
    const legs = new Map<number, AgwLegSdp>();
    for (const s of session.streams)
      if (!s.released) legs.set(s.mline, this.legSdp(s, originating ? "access" : "core"));
    // every e2ae m-line of the answer must have a stream of the offer (same exchange, same m-line index)
    for (const p of decision.perMedia) {
      if (p.decision === "e2ae" && !session.stream(p.mline)) {
        return {
          ok: false,
          rewrite: { code: "E_REWRITE_MLINE", mline: p.mline, message: "answer m-line not anchored by the offer" },
        };
      }
    }
    // MSRP step 19 / BFCP step 17 (originating): TCP/TLS/…, the AGW's fingerprint, the AGW access address;
    // step 17 (terminating): TCP/…, the UE's fingerprint removed, the AGW core address
    const r = applyDecision(body, decision, legs, this.config);
    if (!r.ok) {
      const p = r.problems[0];
      return {
        ok: false,
        rewrite: { code: p?.code ?? "E_REWRITE_MLINE", mline: p?.mline ?? 0, message: p?.message ?? "rewrite failed" },
      };
    }
    let configured: Promise<IqFailure | undefined> = Promise.resolve(undefined);
    if (!session.answered) {
      session.answered = true;
      session.state = "answered";
      const infos = extractIqMedia(body, "answer", {
        step: originating ? "originating-answer" : "terminating-answer",
      });
      configured = this.configureOnAnswer(session, infos);
    }
    return { ok: true, body: bodyBytes(r.body), changes: r.changes, configured };
  }

  private async configureOnAnswer(session: E2aeSession, infos: IqMediaInfo[]): Promise<IqFailure | undefined> {
    const interlinkage = this.config.agw.interlinkage;
    for (const s of session.streams) {
      if (s.released) continue;
      const info = infos[s.mline];
      const clause = CLAUSE[session.direction][s.family];
      if (!info || info.rejected) {
        // RFC 3264 §6: a rejected stream (port 0) needs no AGW resources any more
        await this.releaseStream(session, s, "stream rejected in the answer");
        continue;
      }
      const setup = info.effectiveSetup; // RFC 4145 §4: an answer without a=setup is passive
      try {
        if (session.direction === "originating") {
          // steps 13-15: "Configure AGW Connection Point" toward the core with the answerer's address; in delayed
          // mode this is also "accept TCP SYN only from the indicated remote transport address" (indication 5)
          const agwCoreActive = complement(setup) === "active";
          await this.call(
            session,
            s.mline,
            "configureAgwConnectionPoint",
            `${clause} steps ${s.family === "msrp" ? "13-15" : "14-16"}`,
            this.iq.configureAgwConnectionPoint({
              contextId: s.contextId,
              terminationId: s.core.terminationId,
              remote: { ...(info.address !== null ? { address: info.address } : {}), port: info.port, setup },
              // without interlinkage the IMS-ALG requests the SYN itself (indication 2)
              ...(!interlinkage && agwCoreActive ? { tcpConnect: true } : {}),
            }),
          );
          // a=setup passes unchanged toward UE A: the answerer's role is the AGW access termination's role
          const agwAccessActive = setup === "active";
          const ueSetup = complement(setup);
          if (s.family === "msrp") {
            // steps 16-18: "configure the termination towards the access network with the TLS setup direction, in
            // accordance with the information in the a=setup attribute in the SDP answer" (TCP-active ⇒ TLS client,
            // RFC 4975 §5.4 / RFC 6135; step 21: the AGW starts TLS when it connects)
            await this.call(
              session,
              s.mline,
              "configureAgwConnectionPoint",
              `${clause} steps 16-18`,
              this.iq.configureAgwConnectionPoint({
                contextId: s.contextId,
                terminationId: s.access.terminationId,
                tlsRole: agwAccessActive ? "client" : "server",
                ...(ueSetup ? { remote: { setup: ueSetup } } : {}),
                ...(!interlinkage && agwAccessActive ? { tcpConnect: true } : {}),
              }),
            );
          } else if (!interlinkage && agwAccessActive) {
            // BFCP (§5.2.1.3.2 has no TLS-direction step; the role was given at steps 5-7): only the SYN request
            await this.call(
              session,
              s.mline,
              "configureAgwConnectionPoint",
              `${clause} step 11`,
              this.iq.configureAgwConnectionPoint({
                contextId: s.contextId,
                terminationId: s.access.terminationId,
                tcpConnect: true,
              }),
            );
          }
        } else {
          // steps 14-16: "Configure AGW Connection Point" toward UE B with its address and the fingerprint from the
          // answer: the AGW verifies UE B's certificate against it (and holds UE B's data until then, step 12)
          const agwAccessActive = complement(setup) === "active";
          await this.call(
            session,
            s.mline,
            "configureAgwConnectionPoint",
            `${clause} steps 14-16`,
            this.iq.configureAgwConnectionPoint({
              contextId: s.contextId,
              terminationId: s.access.terminationId,
              remote: {
                ...(info.address !== null ? { address: info.address } : {}),
                port: info.port,
                setup,
                certificateFingerprints: iqFingerprints(info.fingerprints),
              },
              ...(!interlinkage && agwAccessActive ? { tcpConnect: true } : {}),
            }),
          );
          // the offerer takes the opposite of UE B's role (a=setup passes unchanged toward the core): when UE B is
          // active the offerer is passive and the AGW core termination connects; without interlinkage it is asked to
          if (!interlinkage && setup === "active") {
            await this.call(
              session,
              s.mline,
              "configureAgwConnectionPoint",
              `${clause} step 11`,
              this.iq.configureAgwConnectionPoint({
                contextId: s.contextId,
                terminationId: s.core.terminationId,
                tcpConnect: true,
              }),
            );
          }
        }
      } catch (e) {
        // released meanwhile (BYE, CANCEL, close): nothing left to report
        if (session.state === "released") return undefined;
        return this.failureOf(e, s.mline, clause);
      }
    }
    return undefined;
  }

  // ---------------------------------------------------------------------------------------------------------------
  // dialog bookkeeping and release

  /** The 2xx of the exchange arrived: the dialog's To tag is known; older exchanges of the dialog are replaced. */
  establish(session: E2aeSession, toTag: string | undefined): void {
    if (session.state === "released") return;
    session.toTag ??= toTag;
    session.established = true;
    for (const other of this.sessions) {
      if (other === session || other.callId !== session.callId || !other.established) continue;
      if (other.inDialog(session.fromTag, session.toTag)) void this.release(other, "replaced by a new offer/answer");
    }
  }

  /** BYE (or a P-CSCF-initiated release): every exchange of the dialog is released. */
  releaseDialog(callId: string, tagA: string | undefined, tagB: string | undefined, reason: string): void {
    for (const s of this.sessions) {
      if (s.callId === callId && (tagA === undefined || s.inDialog(tagA, tagB))) void this.release(s, reason);
    }
  }

  /** Releases every context of the session (idempotent). Never throws. */
  release(session: E2aeSession, reason: string): Promise<void> {
    if (session.state === "released") return Promise.resolve();
    session.state = "released";
    this.sessions.delete(session);
    const contexts = [...session.contexts];
    for (const s of session.streams) s.released = true;
    const p = Promise.all(contexts.map((c) => this.releaseContext(session, c, reason))).then(() => undefined);
    this.track(p);
    return p;
  }

  private async releaseStream(session: E2aeSession, s: AnchoredStream, reason: string): Promise<void> {
    if (s.released) return;
    s.released = true;
    session.contexts.delete(s.contextId);
    await this.releaseContext(session, s.contextId, reason);
  }

  private async releaseContext(session: E2aeSession, contextId: string, reason: string): Promise<void> {
    this.byContext.delete(contextId);
    let outcome = "released";
    let agwCode: string | undefined;
    try {
      await this.withTimeout(this.iq.releaseAgwContext({ contextId }), () => undefined);
    } catch (e) {
      // E_AGW_UNKNOWN_CONTEXT: the AGW has already dropped it (released on its side, or restarted)
      agwCode = agwCodeOf(e);
      outcome = "release-failed";
      this.log.info({ contextId, err: e instanceof Error ? e.message : String(e) }, "e2ae: AGW context release failed");
    }
    this.record({
      node: "pcscf",
      instance: this.instance,
      event: "agw-release",
      decision: outcome,
      clause: "TS 23.334 release of the AGW context (H.248 Subtract)",
      callId: session.callId,
      session: session.id,
      contextId,
      reason,
      ...(agwCode !== undefined ? { agwCode } : {}),
    });
  }

  private track(p: Promise<unknown>): void {
    this.releasing.add(p);
    void p.finally(() => this.releasing.delete(p));
  }

  /** Releases every session (P-CSCF close): no AGW termination outlives the P-CSCF that reserved it. */
  async close(): Promise<void> {
    if (this.closed) return;
    this.closed = true;
    this.offEvents?.();
    this.offState?.();
    for (const s of [...this.sessions]) void this.release(s, "P-CSCF closed");
    await Promise.allSettled([...this.releasing]);
  }

  // ---------------------------------------------------------------------------------------------------------------
  // Iq calls

  /** One Iq procedure, bounded by `agw.iqTimeoutMs`, recorded in the audit log; a created context is remembered. */
  private async call(
    session: E2aeSession,
    mline: number,
    procedure: string,
    clause: string,
    p: Promise<IqConnectionPoint>,
  ): Promise<IqConnectionPoint> {
    let cp: IqConnectionPoint;
    try {
      cp = await this.withTimeout(p, (late) => {
        // the AGW answered after we gave up: what it reserved must not leak
        if (!session.contexts.has(late.contextId) || session.state === "released") {
          void this.iq.releaseAgwContext({ contextId: late.contextId }).catch(() => undefined);
        }
      });
    } catch (e) {
      const err = e instanceof IqProcedureError ? e : new IqProcedureError(procedure, clause, e);
      this.record({
        node: "pcscf",
        instance: this.instance,
        event: "iq",
        decision: "iq-failed",
        clause,
        callId: session.callId,
        session: session.id,
        mline,
        procedure,
        code: err.timeout ? "E_ALG_IQ_TIMEOUT" : "E_ALG_IQ_FAILED",
        ...(err.agwCode !== undefined ? { agwCode: err.agwCode } : {}),
        message: err.message,
      });
      throw err;
    }
    if (session.state === "released") {
      // released (BYE, CANCEL, close) while the procedure ran: a context it created must not stay behind
      if (!session.contexts.has(cp.contextId))
        void this.iq.releaseAgwContext({ contextId: cp.contextId }).catch(() => undefined);
      throw new IqProcedureError(procedure, clause, new Error("the session was released during the procedure"));
    }
    session.contexts.add(cp.contextId);
    this.byContext.set(cp.contextId, session);
    const fp = cp.localCertificateFingerprint;
    this.record({
      node: "pcscf",
      instance: this.instance,
      event: "iq",
      decision: "iq-ok",
      clause,
      callId: session.callId,
      session: session.id,
      mline,
      procedure,
      contextId: cp.contextId,
      terminationId: cp.terminationId,
      local: hostPort(cp),
      ...(fp ? { agwFingerprint: `${fp.algorithm} ${fp.value}` } : {}),
    });
    return cp;
  }

  private withTimeout<T>(p: Promise<T>, onLate: (v: T) => void): Promise<T> {
    const ms = this.config.agw.iqTimeoutMs;
    return new Promise<T>((resolve, reject) => {
      let done = false;
      const t = setTimeout(() => {
        done = true;
        reject(new IqTimeout(`no answer from the IMS-AGW within ${ms} ms`));
      }, ms);
      p.then(
        (v) => {
          if (done) onLate(v);
          else {
            done = true;
            clearTimeout(t);
            resolve(v);
          }
        },
        (e: unknown) => {
          if (done) return;
          done = true;
          clearTimeout(t);
          reject(e);
        },
      );
    });
  }

  private failureOf(e: unknown, mline: number, clause: string): IqFailure {
    const err = e instanceof IqProcedureError ? e : new IqProcedureError("Iq", clause, e);
    return {
      code: err.timeout ? "E_ALG_IQ_TIMEOUT" : "E_ALG_IQ_FAILED",
      procedure: err.procedure,
      mline,
      agwCode: err.agwCode,
      message: err.message,
      clause: err.clause,
    };
  }

  /** The AGW came back without our contexts: every anchored session has lost its media. */
  private onAgwLost(): void {
    const live = [...this.sessions].filter((s) => s.state !== "released");
    this.log.warn({ sessions: live.length }, "e2ae: the IMS-AGW lost its contexts (restart)");
    for (const s of live) {
      if (this.onMediaFault && !this.faulted.has(s)) {
        this.faulted.add(s);
        this.onMediaFault(s, { event: "agwRestarted", contextId: "", terminationId: "" });
      } else void this.release(s, "the IMS-AGW lost its contexts");
    }
  }

  private onAgwEvent(e: IqClientEvent): void {
    const session = this.byContext.get(e.contextId);
    if (!session) return;
    if (this.onMediaFault && isMediaFault(e) && !this.faulted.has(session) && session.state !== "released") {
      this.faulted.add(session);
      this.log.info({ callId: session.callId, event: e.event, contextId: e.contextId }, "e2ae: media fault reported");
      try {
        this.onMediaFault(session, e);
      } catch (err) {
        this.log.error({ err }, "e2ae: media fault handler failed");
      }
    }
    if (!AUDITED_EVENTS.has(e.event)) return;
    const extra: Record<string, unknown> = {};
    for (const [k, v] of Object.entries(e)) {
      if (k === "event" || k === "contextId" || k === "terminationId") continue;
      if (typeof v === "string" || typeof v === "number" || typeof v === "boolean") extra[k] = v;
      else if (k === "peerCertificateFingerprint" && typeof v === "object" && v !== null) {
        const f = v as { algorithm?: unknown; value?: unknown };
        if (typeof f.algorithm === "string" && typeof f.value === "string") extra[k] = `${f.algorithm} ${f.value}`;
      }
    }
    this.record({
      node: "pcscf",
      instance: this.instance,
      event: "agw-event",
      decision: e.event,
      clause: "TS 23.334 Iq event (informative)",
      callId: session.callId,
      session: session.id,
      contextId: e.contextId,
      terminationId: e.terminationId,
      ...extra,
    });
  }
}
