/**
 * The e2ae media anchoring of the P-CSCF (IMS-ALG) on the IMS-AGW over Iq: the step tables of TR 29.828
 * §5.2.1.2.2 (MSRP originating, steps 1-21), §5.2.1.2.3 (MSRP terminating, steps 1-18), §5.2.1.3.2 (BFCP
 * originating) and §5.2.1.3.3 (BFCP terminating), and the release of what was reserved.
 *
 * One `E2aeSession` per offer/answer exchange that anchors at least one m-line; one AGW context (two terminations:
 * access toward the UE, core toward the IMS core) per anchored m-line. The SIP side (which message, which dialog,
 * when to release) is the node's business (offerAnswer.ts, offerAnchoring.ts, sessionControl.ts); this module runs
 * the Iq procedures and the SDP rewrites.
 *
 * | exchange            | Iq on the offer                                             | Iq on the answer                         |
 * |---------------------|-------------------------------------------------------------|------------------------------------------|
 * | originating (UE A)  | R core TCP/… (2-4); RC access TCP/TLS/… remote = UE A + fp(UE A), fp request (5-7) | C core remote = answerer (13-15); MSRP: C access TLS setup direction (16-18) |
 * | terminating (UE B)  | R access TCP/TLS/…, fp request, BFCP Establish TLS (2-4); RC core remote = offerer (5-7) | C access remote = UE B + fp(UE B) (14-16) |
 *
 * The IMS-AGW is injected (`IqClient`): this module never imports the AGW (DESIGN rule 1).
 *
 * The step tables themselves are e2aeOriginating.ts and e2aeTerminating.ts (on e2aeSteps.ts); the exchange's state
 * is e2aeSession.ts, the bounds and failures of one Iq procedure iqProcedure.ts, the AGW's events agwEvents.ts.
 */
import type { AuditEvent, Logger } from "../../log.ts";
import { AUDITED_EVENTS, isMediaFault } from "./agwEvents.ts";
import type { AlgDecision } from "./algTypes.ts";
import { bodyBytes } from "./bytes.ts";
import type { AlgConfig } from "./config.ts";
import { configureOriginatingAnswer, reserveOriginating } from "./e2aeOriginating.ts";
import {
  type AnchoredStream,
  type AnswerOutcome,
  E2aeSession,
  type IqFailure,
  type OfferOutcome,
} from "./e2aeSession.ts";
import { CLAUSE, legSdp, type StepContext } from "./e2aeSteps.ts";
import { configureTerminatingAnswer, reserveTerminating } from "./e2aeTerminating.ts";
import type { IqClient, IqClientEvent, IqConnectionPoint } from "./iq.ts";
import { agwCodeOf, failureOf, hostPort, IqProcedureError, withTimeout } from "./iqProcedure.ts";
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
            ? await reserveOriginating(this.steps(session), info, family)
            : await reserveTerminating(this.steps(session), info, family);
        session.streams.push(stream);
      } catch (e) {
        const failure = failureOf(e, mline, CLAUSE[direction][family]);
        await this.release(session, `Iq failure: ${failure.procedure} ${failure.agwCode ?? failure.code}`);
        return { ok: false, failure };
      }
      if (this.closed) {
        await this.release(session, "P-CSCF closing");
        return {
          ok: false,
          failure: failureOf(new Error("the P-CSCF is closing"), mline, CLAUSE[direction][family]),
        };
      }
    }
    // step 8: the address information received from the IMS-AGW (and, toward the UE, its fingerprint)
    const legs = new Map<number, AgwLegSdp>();
    for (const s of session.streams) legs.set(s.mline, legSdp(s, direction === "originating" ? "core" : "access"));
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

  // ---------------------------------------------------------------------------------------------------------------
  // the answer: the rewrite (steps 17/19) at once, the Configure procedures (13-18 / 14-16) in the background

  /**
   * Rewrites an answer of this exchange for its receiver (synchronous: the proxy relays responses at once) and
   * starts the Configure procedures of the answer (once per exchange). Streams the answer rejects are released.
   */
  answer(session: E2aeSession, body: Uint8Array, decision: AlgDecision): AnswerOutcome {
    const originating = session.direction === "originating";
    const legs = new Map<number, AgwLegSdp>();
    for (const s of session.streams) if (!s.released) legs.set(s.mline, legSdp(s, originating ? "access" : "core"));
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
        const x = this.steps(session);
        if (session.direction === "originating") await configureOriginatingAnswer(x, s, info, setup, clause);
        else await configureTerminatingAnswer(x, s, info, setup, clause);
      } catch (e) {
        // released meanwhile (BYE, CANCEL, close): nothing left to report
        if (session.state === "released") return undefined;
        return failureOf(e, s.mline, clause);
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
      await withTimeout(this.config.agw.iqTimeoutMs, this.iq.releaseAgwContext({ contextId }), () => undefined);
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

  /** The step tables' view of a session: its Iq procedures run through `call`. */
  private steps(session: E2aeSession): StepContext {
    return {
      iq: this.iq,
      agw: this.config.agw,
      call: (mline, procedure, clause, p) => this.call(session, mline, procedure, clause, p),
    };
  }

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
      cp = await withTimeout(this.config.agw.iqTimeoutMs, p, (late) => {
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
      ...(fp ? { agwFingerprint: `${fp.hash} ${fp.value}` } : {}),
    });
    return cp;
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
        const f = v as { hash?: unknown; value?: unknown };
        if (typeof f.hash === "string" && typeof f.value === "string") extra[k] = `${f.hash} ${f.value}`;
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
