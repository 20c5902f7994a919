/**
 * The e2ae anchoring of an offer/answer exchange on the IMS-AGW, tied to its SIP transaction (TR 29.828 §5.2.1): the
 * offer in a request held until its Iq procedures are done and rewritten with the AGW's data (503 + Retry-After for an
 * AGW at capacity, 488 for any other Iq failure), the AGW resources released when the transaction ends without a 2xx;
 * the answer rewritten at once for its receiver and its Configure procedures run meanwhile, a failure of which
 * cancels the INVITE or releases the session (TS 24.229 §5.2.8). The Iq procedures themselves: e2ae.ts.
 */
import type { Logger } from "../../log.ts";
import type { SipResponse } from "../../sip/index.ts";
import type { ForwardOutcome, ProxyCore, ProxyRequest, ProxyTransaction, RouteOutcome } from "../../sip/proxy.ts";
import type { Admission } from "./admission.ts";
import { type AlgVerdict, type Decided, sdpBody } from "./algVerdict.ts";
import type { E2aeAnchor } from "./e2ae.ts";
import type { E2aeSession, IqFailure } from "./e2aeSession.ts";
import type { TxData } from "./nodeTypes.ts";
import type { SessionControl } from "./sessionControl.ts";

/**
 * Iq errors that say "not now" (capacity, this P-CSCF's quota on the AGW, the Iq link down), answered 503 +
 * Retry-After (RFC 3261 §21.5.4). Everything else (E_AGW_ADDRESS_POLICY included) is a 488.
 */
const TEMPORARY_AGW_CODES: ReadonlySet<string> = new Set([
  "E_AGW_LIMIT",
  "E_AGW_QUOTA",
  "E_AGW_IQ_UNAVAILABLE",
  "E_AGW_IQ_DISCONNECTED",
]);

export interface OfferAnchoringOptions {
  log: Logger;
  /** the e2ae anchoring on the IMS-AGW (undefined without an Iq binding, or with e2ae switched off) */
  e2ae: E2aeAnchor | undefined;
  verdict: AlgVerdict;
  proxy: ProxyCore<TxData>;
  sessions: SessionControl;
  admission: Admission;
  /** Retry-After (seconds) of a 503 for an AGW at its limit */
  retryAfter: number;
}

export class OfferAnchoring {
  constructor(private readonly o: OfferAnchoringOptions) {}

  /**
   * TR 29.828 §5.2.1.2.2 / §5.2.1.3.2 (originating) and §5.2.1.2.3 / §5.2.1.3.3 (terminating) steps 2-9: the Iq
   * procedures of the offer, the offer rewritten with the AGW's data (step 8), then forwarded (step 9). An Iq failure
   * releases what was reserved and answers 488 with a Warning naming the AGW's error code.
   */
  async offer(pr: ProxyRequest, d: TxData, r: Decided, out: ForwardOutcome<TxData>): Promise<RouteOutcome<TxData>> {
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
      const refuse = this.o.verdict.refusalOf([item]);
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
      this.o.verdict.audit(r, d.callId, req.method, body, null, extra, refuse, new Map([[item.mline, item.code]]));
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
    this.o.verdict.audit(r, d.callId, req.method, body, o.body, this.o.verdict.streamAudit(o.session));
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
      const status = stx.lastStatus;
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
   * The answer of an anchored exchange: rewritten at once for its receiver (MSRP step 19 / BFCP step 17 toward the
   * originating UE, step 17 toward the core), the Configure procedures (13-18 / 14-16) sent meanwhile. Returns the
   * refusal when the answer cannot be rewritten (the caller then cancels or releases like any refused answer).
   */
  answer(
    res: SipResponse,
    ptx: ProxyTransaction<TxData>,
    session: E2aeSession,
    body: Uint8Array,
    r: Decided,
    sip: string,
  ): Decided["refuse"] {
    const e2ae = this.o.e2ae;
    if (!e2ae)
      return this.o.verdict.refusalOf([{ code: "E_ALG_E2AE_UNAVAILABLE", text: "e2ae not available", mline: 0 }]);
    const a = e2ae.answer(session, body, r.decision);
    if (!a.ok) {
      const refuse = this.o.verdict.refusalOf([
        { code: a.rewrite.code, text: a.rewrite.message, mline: a.rewrite.mline },
      ]);
      this.o.verdict.audit(
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
    this.o.verdict.audit(r, session.callId, sip, body, a.body, this.o.verdict.streamAudit(session));
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
    const refuse = this.o.verdict.refusalOf([
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
