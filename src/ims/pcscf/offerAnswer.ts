/**
 * The glue between the SIP messages and the IMS-ALG (docs/pcscf.md): which message carries an offer or an answer
 * (RFC 3264 in INVITE, re-INVITE, UPDATE, 18x/2xx, ACK/PRACK — both directions), the decision on each body
 * (`decideSdp`, alg.ts) with the availability of e2ae / e2DCe checked after it (fail closed, DESIGN rule 4), the 488
 * with a Warning for a refused offer, the cancel or the release for a refused answer, one audit event per m-line, and
 * for e2ae the anchoring on the IMS-AGW (E2aeAnchor, e2ae.ts): the offer held until the Iq procedures are done and
 * rewritten, the answer rewritten at once and its Configure procedures run meanwhile.
 */
import type { AuditEvent, Logger } from "../../log.ts";
import type { SipMessage, SipResponse } from "../../sip/index.ts";
import type {
  ForwardOutcome,
  ProxyCore,
  ProxyInterface,
  ProxyRequest,
  ProxyTransaction,
  ReplyOutcome,
  RouteOutcome,
} from "../../sip/proxy.ts";
import type { Admission } from "./admission.ts";
import { decideSdp } from "./alg.ts";
import { auditEvents } from "./algAudit.ts";
import type { AlgDecision, Direction, SdpKind } from "./algTypes.ts";
import type { AlgConfig } from "./config.ts";
import type { E2aeAnchor } from "./e2ae.ts";
import type { E2aeSession, IqFailure } from "./e2aeSession.ts";
import type { AuditRecorder, TxData } from "./nodeTypes.ts";
import type { SessionControl } from "./sessionControl.ts";
import { formatWarningValue, warnText } from "./warning.ts";

interface PendingOffer {
  decision: AlgDecision;
  direction: Direction;
  fromAccess: boolean;
  expires: number;
  /** the INVITE whose 2xx carried the offer (for a release when the answer in the ACK is refused) */
  ptx: ProxyTransaction<TxData>;
}

/** One m-line that cannot be anchored: its code and text (the Warning says `<code>: <text> (m-line N)`). */
interface Unavailable {
  code: string;
  text: string;
}

/** The outcome of `decide`: the decision, the refusal if any, and the audit of it (recorded once the body left). */
interface Decided {
  decision: AlgDecision;
  refuse?: { status: number; reason: string; warning: string; codes: string[] };
  unavailable: Map<number, Unavailable>;
}

/** Iq errors that say "not now" (capacity, the Iq link down), answered 503 + Retry-After (RFC 3261 §21.5.4). */
const TEMPORARY_AGW_CODES: ReadonlySet<string> = new Set([
  "E_AGW_LIMIT",
  "E_AGW_IQ_UNAVAILABLE",
  "E_AGW_IQ_DISCONNECTED",
]);
/** RFC 3264 / RFC 3311 / RFC 3262: requests that carry offers or answers. */
const OA_METHODS = new Set(["INVITE", "UPDATE", "PRACK", "ACK"]);

/** The SDP body of a message, or undefined (only application/sdp bodies are offers/answers here). */
function sdpBody(m: SipMessage): Uint8Array | undefined {
  if (m.body.byteLength === 0) return undefined;
  let ct: ReturnType<SipMessage["contentType"]>;
  try {
    ct = m.contentType();
  } catch {
    return undefined;
  }
  return ct && ct.type === "application" && ct.subtype === "sdp" ? m.body : undefined;
}

export interface OfferAnswerOptions {
  /** the P-CSCF's name, in every audit event (`instance`) */
  name: string;
  log: Logger;
  /** the IMS-ALG configuration (the Warning agent, e2ae availability) */
  alg: AlgConfig;
  /** the audit sink: without one, no decision event is built */
  audit: AuditRecorder | undefined;
  record(e: AuditEvent): void;
  proxy: ProxyCore<TxData>;
  /** the access interface (its T1 bounds how long an offer in a response waits for its answer) */
  access: ProxyInterface;
  /** the e2ae anchoring on the IMS-AGW (undefined without an Iq binding, or with e2ae switched off) */
  e2ae: E2aeAnchor | undefined;
  sessions: SessionControl;
  admission: Admission;
  /** Retry-After (seconds) of a 503 for an AGW at its limit */
  retryAfter: number;
}

export class OfferAnswer {
  private readonly decisionConfig: AlgConfig;
  /** offers made in responses, waiting for their answer in the ACK or PRACK (by Call-ID) */
  private readonly pendingOffers = new Map<string, PendingOffer>();

  constructor(private readonly o: OfferAnswerOptions) {
    // the decision is taken as if e2ae were possible; availability (config + Iq binding) is checked after it, so the
    // audit shows decision "e2ae" for an e2ae request that is then refused
    this.decisionConfig = { ...o.alg, e2aeAvailable: true };
  }

  /** Forgets the offers whose answer did not come in time. */
  purge(now: number): void {
    for (const [k, p] of this.pendingOffers) if (p.expires <= now) this.pendingOffers.delete(k);
  }

  /**
   * Decides a body (TS 33.328 §7.2.5 step 2 and the e2ae/e2DCe branches). `anchorable`: the caller can anchor the
   * e2ae m-lines of this body on the IMS-AGW (an offer in a request, or the answer of an anchored offer); else they
   * are refused with E_ALG_E2AE_UNAVAILABLE (fail closed, DESIGN rule 4). The audit is left to the caller
   * (`auditDecision`), which knows the body that left.
   */
  private decide(
    body: Uint8Array,
    ctx: {
      direction: Direction;
      kind: SdpKind;
      callId: string;
      caps: ReadonlySet<string>;
      offer?: AlgDecision;
      anchorable?: boolean;
    },
  ): Decided {
    const decision = decideSdp(body, {
      direction: ctx.direction,
      kind: ctx.kind,
      callId: ctx.callId,
      capabilities: ctx.caps,
      config: this.decisionConfig,
      ...(ctx.offer ? { offer: ctx.offer } : {}),
    });
    let refuse: Decided["refuse"] = decision.refuse
      ? {
          status: decision.refuse.status,
          reason: decision.refuse.reason,
          warning: decision.refuse.warning,
          codes: decision.refuse.codes,
        }
      : undefined;
    const unavailable = new Map<number, Unavailable>();
    if (!refuse && decision.action === "anchor") {
      for (const m of decision.anchors.e2ae) {
        const family = decision.perMedia.find((p) => p.mline === m)?.family;
        const code = "E_ALG_E2AE_UNAVAILABLE";
        // fail closed (DESIGN rule 4): no IMS-AGW bound (or e2ae switched off), a stream the AGW cannot relay (it
        // has TCP terminations only: no DTLS/SCTP data channel edge), or an offer that cannot be anchored here
        if (!this.o.e2ae) unavailable.set(m, { code, text: "e2ae not available" });
        else if (family !== "msrp" && family !== "bfcp")
          unavailable.set(m, { code, text: "e2ae not available for this media (the IMS-AGW relays TCP MSRP/BFCP)" });
        else if (!ctx.anchorable)
          unavailable.set(m, {
            code,
            text:
              ctx.kind === "offer"
                ? "e2ae not available for an offer in a response"
                : "e2ae not available (no anchored offer for this answer)",
          });
      }
      // an anchored e2DCe needs a DC edge that does not exist
      for (const m of decision.anchors.e2dce)
        unavailable.set(m, { code: "E_ALG_E2DCE_UNAVAILABLE", text: "e2DCe not available" });
      if (unavailable.size > 0) refuse = this.refusalOf([...unavailable].map(([m, u]) => ({ ...u, mline: m })));
    }
    return refuse ? { decision, refuse, unavailable } : { decision, unavailable };
  }

  /** A 488 (RFC 3261 §21.4.26) with one warning-value per item (RFC 3261 §20.43, warn-code 399). */
  private refusalOf(items: { code: string; text: string; mline: number }[]): NonNullable<Decided["refuse"]> {
    const warnings = items.map((i) => ({
      code: 399 as const,
      agent: this.o.alg.warnAgent,
      text: warnText(`${i.code}: ${i.text} (m-line ${i.mline})`),
    }));
    return {
      status: 488,
      reason: "Not Acceptable Here",
      warning: warnings.map(formatWarningValue).join(", "),
      codes: items.map((i) => i.code),
    };
  }

  /**
   * One audit event per m-line decision, with the body that left (`null`: none) and, per m-line, extra fields (the
   * Iq outcome of an anchored stream). `refuse` overrides the decision's own refusal (a refusal made here).
   */
  private auditDecision(
    d: Decided,
    callId: string,
    sip: string,
    bodyIn: Uint8Array,
    bodyOut: Uint8Array | null,
    extra?: ReadonlyMap<number, Record<string, unknown>>,
    refuse: Decided["refuse"] = d.refuse,
    refuseCodes?: ReadonlyMap<number, string>,
  ): void {
    if (!this.o.audit) return;
    for (const e of auditEvents(d.decision, { callId, bodyIn, bodyOut })) {
      // properties set in place: a `{ ...e, more }` spread costs ~10 µs per event in V8
      e.instance = this.o.name;
      e.sip = sip;
      if (refuse) {
        e.action = "refuse";
        e.status = refuse.status;
        e.warning = refuse.warning;
      }
      if (typeof e.mline === "number") {
        const code = refuseCodes?.get(e.mline) ?? d.unavailable.get(e.mline)?.code;
        if (code !== undefined) e.refuseCode = code;
        const x = extra?.get(e.mline);
        if (x) Object.assign(e, x);
      }
      this.o.record(e);
    }
  }

  /** Audit fields of the anchored streams of a session, per m-line (the Iq outcome, TR 29.828 steps 2-7). */
  private streamAudit(session: E2aeSession): Map<number, Record<string, unknown>> {
    const out = new Map<number, Record<string, unknown>>();
    for (const s of session.streams) {
      out.set(s.mline, {
        iq: "ok",
        agwSession: session.id,
        agwContextId: s.contextId,
        agwFingerprint: `${s.agwFingerprint.algorithm} ${s.agwFingerprint.value}`,
        agwAccess: `${s.access.localAddress}:${s.access.localPort}`,
        agwCore: `${s.core.localAddress}:${s.core.localPort}`,
      });
    }
    return out;
  }

  /** The IMS-ALG on a request body: the 488 to answer, the anchoring to run, or nothing (forward unchanged). */
  onRequest(pr: ProxyRequest, d: TxData): { reply?: ReplyOutcome; anchor?: Decided } {
    const req = pr.req;
    if (!OA_METHODS.has(req.method)) return {};
    const body = sdpBody(req);
    if (!body) return {};
    const pending = this.pendingOffers.get(d.callId);
    let kind: SdpKind = "offer";
    let direction: Direction = d.fromAccess ? "originating" : "terminating";
    let offer: AlgDecision | undefined;
    if ((req.method === "ACK" || req.method === "PRACK") && pending && pending.fromAccess !== d.fromAccess) {
      // RFC 3261 §13.2.1 / RFC 3262: the answer to an offer made in a response travels in the ACK (or PRACK)
      kind = "answer";
      direction = pending.direction;
      offer = pending.decision;
      this.pendingOffers.delete(d.callId);
    } else if (req.method === "ACK") {
      kind = "answer";
      direction = d.fromAccess ? "terminating" : "originating";
    }
    // an offer in a request can wait for the Iq procedures (the route is asynchronous); answers in ACK/PRACK answer
    // offers made in responses, which are never anchored
    const r = this.decide(body, {
      direction,
      kind,
      callId: d.callId,
      caps: d.caps,
      anchorable: kind === "offer",
      ...(offer ? { offer } : {}),
    });
    if (kind === "offer") d.offer = { decision: r.decision, direction };
    if (!r.refuse && r.decision.anchors.e2ae.length > 0 && kind === "offer") return { anchor: r };
    this.auditDecision(r, d.callId, req.method, body, r.refuse ? null : body);
    if (!r.refuse) return {};
    if (req.method === "ACK") {
      // an ACK cannot be refused: it is forwarded, then the session is released (TS 24.229 §5.2.8)
      if (kind === "answer" && pending)
        this.o.sessions.scheduleRelease(pending.ptx, r.refuse.warning, r.refuse.codes[0] ?? "E_ALG");
      return {};
    }
    this.o.log.info({ callId: d.callId, method: req.method, codes: r.refuse.codes }, "ims-alg: offer refused");
    return {
      reply: {
        kind: "reply",
        status: r.refuse.status,
        reason: r.refuse.reason,
        headers: [{ name: "Warning", value: r.refuse.warning }],
      },
    };
  }

  /**
   * TR 29.828 §5.2.1.2.2 / §5.2.1.3.2 (originating) and §5.2.1.2.3 / §5.2.1.3.3 (terminating) steps 2-9: the Iq
   * procedures of the offer, the offer rewritten with the AGW's data (step 8), then forwarded (step 9). An Iq failure
   * releases what was reserved and answers 488 with a Warning naming the AGW's error code.
   */
  async anchorAndForward(
    pr: ProxyRequest,
    d: TxData,
    r: Decided,
    out: ForwardOutcome<TxData>,
  ): Promise<RouteOutcome<TxData>> {
    const e2ae = this.o.e2ae;
    const req = pr.req;
    const body = sdpBody(req);
    if (!e2ae || !body) return out; // not reached: algRequest anchors only with both
    let o: Awaited<ReturnType<E2aeAnchor["anchorOffer"]>>;
    try {
      o = await e2ae.anchorOffer(body, r.decision, { callId: d.callId, fromTag: req.fromTag(), toTag: req.toTag() });
    } catch (e) {
      // a bug, not an Iq failure (those are outcomes): nothing may be forwarded unanchored
      this.o.log.error({ err: e, callId: d.callId }, "e2ae: anchoring failed");
      return { kind: "reply", status: 500 };
    }
    if (!o.ok) {
      const item =
        "failure" in o
          ? {
              code: o.failure.code,
              mline: o.failure.mline,
              text: `${o.failure.procedure} failed: ${o.failure.agwCode ?? (o.failure.code === "E_ALG_IQ_TIMEOUT" ? "no answer" : "error")}: ${o.failure.message}`,
            }
          : { code: o.rewrite.code, mline: o.rewrite.mline, text: o.rewrite.message };
      const refuse = this.refusalOf([item]);
      // RFC 3261 §21.5.4: an IMS-AGW at capacity or unreachable is temporary — 503 + Retry-After rather than 488
      const agwCode = "failure" in o ? o.failure.agwCode : undefined;
      const full = agwCode !== undefined && TEMPORARY_AGW_CODES.has(agwCode);
      if (full) {
        refuse.status = 503;
        refuse.reason = "Service Unavailable";
      }
      const extra = new Map<number, Record<string, unknown>>();
      if ("failure" in o) {
        extra.set(o.failure.mline, {
          iq: "failed",
          iqProcedure: o.failure.procedure,
          iqClause: o.failure.clause,
          ...(o.failure.agwCode !== undefined ? { iqError: o.failure.agwCode } : {}),
        });
      }
      this.auditDecision(r, d.callId, req.method, body, null, extra, refuse, new Map([[item.mline, item.code]]));
      delete d.offer;
      this.o.log.info({ callId: d.callId, code: item.code, text: item.text }, "e2ae: offer refused");
      if (full && agwCode !== undefined) this.o.admission.count(agwCode);
      return {
        kind: "reply",
        status: refuse.status,
        reason: refuse.reason,
        headers: [
          { name: "Warning", value: refuse.warning },
          ...(full ? [{ name: "Retry-After", value: String(this.o.retryAfter) }] : []),
        ],
      };
    }
    req.setBody(o.body);
    d.anchor = o.session;
    this.auditDecision(r, d.callId, req.method, body, o.body, this.streamAudit(o.session));
    this.watchOfferTransaction(pr, o.session);
    return out;
  }

  /**
   * The AGW resources of an offer go when its transaction ends without a 2xx, whoever generated the final response:
   * a CANCEL before the request left (487 here), a transport failure (500), Timer C or a timeout (408, RFC 3261
   * §16.8), or a transaction that died without any final response. Finals from downstream are handled in onResponse.
   */
  private watchOfferTransaction(pr: ProxyRequest, session: E2aeSession): void {
    const stx = pr.stx;
    if (!stx) return;
    const check = () => {
      const status = stx.lastResponse?.status;
      if (status !== undefined && status >= 200 && status < 300) return;
      if (status === undefined || status >= 300 || stx.state === "terminated")
        void this.o.e2ae?.release(
          session,
          status !== undefined && status >= 300 ? `final response ${status}` : "transaction ended without answer",
        );
    };
    stx.onTerminated(check);
    // the proxy applies the route outcome right after this promise settles (a 487 if a CANCEL came meanwhile)
    setImmediate(() => {
      if (stx.finalSent || stx.state === "terminated") check();
    });
  }

  /**
   * The IMS-ALG on a response body (the answer to the request's offer, or an offer when the request had none): a
   * refused answer in a provisional response cancels the branch (the caller gets the 488), in a 2xx the session is
   * released after it. Returns false when the response must not be forwarded.
   */
  onResponse(res: SipResponse, ptx: ProxyTransaction<TxData>, d: TxData): boolean | undefined {
    const session = d.anchor?.state === "released" ? undefined : d.anchor;
    // TR 29.828 §5.2.1: a failed offer/answer exchange (non-2xx final, incl. the 487 after CANCEL) needs no AGW
    if (session && res.status >= 300) void this.o.e2ae?.release(session, `final response ${res.status}`);
    const method = res.cseq().method;
    if (res.status >= 300 || !OA_METHODS.has(method)) return undefined;
    if (session && res.status >= 200) this.o.e2ae?.establish(session, res.toTag());
    const body = sdpBody(res);
    if (!body) return undefined;
    const sip = `${res.status} ${method}`;
    let r: Decided;
    if (d.offer) {
      r = this.decide(body, {
        direction: d.offer.direction,
        kind: "answer",
        callId: d.callId,
        caps: d.caps,
        offer: d.offer.decision,
        anchorable: session !== undefined,
      });
      if (session && !r.refuse && r.decision.anchors.e2ae.length > 0) {
        const refused = this.anchorAnswer(res, ptx, session, body, r, sip);
        if (!refused) return undefined;
        r = { ...r, refuse: refused };
      } else this.auditDecision(r, d.callId, sip, body, r.refuse ? null : body);
    } else {
      // RFC 3261 §13.2.1: an INVITE without offer gets the offer in the response; the answer comes in ACK/PRACK
      const direction: Direction = d.fromAccess ? "terminating" : "originating";
      r = this.decide(body, { direction, kind: "offer", callId: d.callId, caps: d.caps, anchorable: false });
      this.auditDecision(r, d.callId, sip, body, r.refuse ? null : body);
      if (!r.refuse) {
        this.pendingOffers.set(d.callId, {
          decision: r.decision,
          direction,
          fromAccess: !d.fromAccess,
          expires: Date.now() + 64 * this.o.access.txm.timers.T1,
          ptx,
        });
      }
    }
    const refuse = r.refuse;
    if (!refuse) return undefined;
    if (res.status < 200) {
      // the INVITE is still pending: the branch is cancelled and the caller gets the 488 (RFC 3261 §16.10, §21.4.26)
      ptx.replaceFinal = {
        kind: "reply",
        status: 488,
        reason: refuse.reason,
        headers: [{ name: "Warning", value: refuse.warning }],
      };
      this.o.proxy.cancel(ptx);
      this.o.log.info(
        { callId: d.callId, codes: refuse.codes },
        "ims-alg: provisional answer refused, branch cancelled",
      );
      return false;
    }
    // RFC 3261 §16.7 step 5/10: a 2xx cannot be refused; it is forwarded and the session released (TS 24.229 §5.2.8)
    this.o.sessions.scheduleRelease(ptx, refuse.warning, refuse.codes[0] ?? "E_ALG");
    return undefined;
  }

  /**
   * The answer of an anchored exchange: rewritten at once for its receiver (MSRP step 19 / BFCP step 17 toward the
   * originating UE, step 17 toward the core), the Configure procedures (13-18 / 14-16) sent meanwhile. Returns the
   * refusal when the answer cannot be rewritten (the caller then cancels or releases like any refused answer).
   */
  private anchorAnswer(
    res: SipResponse,
    ptx: ProxyTransaction<TxData>,
    session: E2aeSession,
    body: Uint8Array,
    r: Decided,
    sip: string,
  ): Decided["refuse"] {
    const e2ae = this.o.e2ae;
    if (!e2ae) return this.refusalOf([{ code: "E_ALG_E2AE_UNAVAILABLE", text: "e2ae not available", mline: 0 }]);
    const a = e2ae.answer(session, body, r.decision);
    if (!a.ok) {
      const refuse = this.refusalOf([{ code: a.rewrite.code, text: a.rewrite.message, mline: a.rewrite.mline }]);
      this.auditDecision(
        r,
        session.callId,
        sip,
        body,
        null,
        undefined,
        refuse,
        new Map([[a.rewrite.mline, a.rewrite.code]]),
      );
      void e2ae.release(session, `answer rewrite failed: ${a.rewrite.code}`);
      return refuse;
    }
    res.setBody(a.body);
    this.auditDecision(r, session.callId, sip, body, a.body, this.streamAudit(session));
    a.configured.then(
      (f) => {
        if (f) this.onConfigureFailure(ptx, session, f);
      },
      (e: unknown) => this.o.log.error({ err: e }, "e2ae: configure failed unexpectedly"),
    );
    return undefined;
  }

  /**
   * A Configure procedure of the answer failed: the AGW cannot carry the stream. The resources are released; a
   * pending INVITE is cancelled and answered 488 with the Warning, an accepted one is released with BYE
   * (TS 24.229 §5.2.8, as for a refused answer in a 2xx).
   */
  private onConfigureFailure(ptx: ProxyTransaction<TxData>, session: E2aeSession, f: IqFailure): void {
    void this.o.e2ae?.release(session, `Iq failure: ${f.procedure} ${f.agwCode ?? f.code}`);
    const refuse = this.refusalOf([
      {
        code: f.code,
        mline: f.mline,
        text: `${f.procedure} failed: ${f.agwCode ?? (f.code === "E_ALG_IQ_TIMEOUT" ? "no answer" : "error")}: ${f.message}`,
      },
    ]);
    this.o.log.info({ callId: session.callId, code: f.code, agwCode: f.agwCode }, "e2ae: Configure failed");
    if (ptx.finalSent === undefined) {
      ptx.replaceFinal = {
        kind: "reply",
        status: 488,
        reason: refuse.reason,
        headers: [{ name: "Warning", value: refuse.warning }],
      };
      this.o.proxy.cancel(ptx);
    } else if (ptx.finalSent >= 200 && ptx.finalSent < 300)
      this.o.sessions.scheduleRelease(ptx, refuse.warning, f.code);
  }
}
