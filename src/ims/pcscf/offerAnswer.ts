/**
 * The glue between the SIP messages and the IMS-ALG (docs/pcscf.md): which message carries an offer or an answer
 * (RFC 3264 in INVITE, re-INVITE, UPDATE, 18x/2xx, ACK/PRACK — both directions) and in which direction, the verdict
 * on each body (algVerdict.ts), the 488 with a Warning for a refused offer, the cancel or the release for a refused
 * answer, the offers made in responses waiting for their answer in the ACK or PRACK, and for e2ae the hand-over to
 * the anchoring on the IMS-AGW (offerAnchoring.ts).
 */
import type { Logger } from "../../log.ts";
import type { SipResponse } from "../../sip/index.ts";
import type { ProxyCore, ProxyInterface, ProxyRequest, ProxyTransaction, ReplyOutcome } from "../../sip/proxy.ts";
import type { AlgDecision, Direction, SdpKind } from "./algTypes.ts";
import { type AlgVerdict, type Decided, sdpBody } from "./algVerdict.ts";
import type { E2aeAnchor } from "./e2ae.ts";
import type { TxData } from "./nodeTypes.ts";
import type { OfferAnchoring } from "./offerAnchoring.ts";
import type { SessionControl } from "./sessionControl.ts";

interface PendingOffer {
  decision: AlgDecision;
  direction: Direction;
  fromAccess: boolean;
  expires: number;
  /** the INVITE whose 2xx carried the offer (for a release when the answer in the ACK is refused) */
  ptx: ProxyTransaction<TxData>;
}

/** RFC 3264 / RFC 3311 / RFC 3262: requests that carry offers or answers. */
const OA_METHODS = new Set(["INVITE", "UPDATE", "PRACK", "ACK"]);

export interface OfferAnswerOptions {
  log: Logger;
  proxy: ProxyCore<TxData>;
  /** the access interface (its T1 bounds how long an offer in a response waits for its answer) */
  access: ProxyInterface;
  /** the e2ae anchoring on the IMS-AGW (undefined without an Iq binding, or with e2ae switched off) */
  e2ae: E2aeAnchor | undefined;
  verdict: AlgVerdict;
  anchoring: OfferAnchoring;
  sessions: SessionControl;
}

export class OfferAnswer {
  /** offers made in responses, waiting for their answer in the ACK or PRACK (by Call-ID) */
  private readonly pendingOffers = new Map<string, PendingOffer>();

  constructor(private readonly o: OfferAnswerOptions) {}

  /** Forgets the offers whose answer did not come in time. */
  purge(now: number): void {
    for (const [k, p] of this.pendingOffers) if (p.expires <= now) this.pendingOffers.delete(k);
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
    const r = this.o.verdict.decide(body, {
      direction,
      kind,
      callId: d.callId,
      caps: d.caps,
      anchorable: kind === "offer",
      ...(offer ? { offer } : {}),
    });
    if (kind === "offer") d.offer = { decision: r.decision, direction };
    if (!r.refuse && r.decision.anchors.e2ae.length > 0 && kind === "offer") return { anchor: r };
    this.o.verdict.audit(r, d.callId, req.method, body, r.refuse ? null : body);
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
      r = this.o.verdict.decide(body, {
        direction: d.offer.direction,
        kind: "answer",
        callId: d.callId,
        caps: d.caps,
        offer: d.offer.decision,
        anchorable: session !== undefined,
      });
      if (session && !r.refuse && r.decision.anchors.e2ae.length > 0) {
        const refused = this.o.anchoring.answer(res, ptx, session, body, r, sip);
        if (!refused) return undefined;
        r = { ...r, refuse: refused };
      } else this.o.verdict.audit(r, d.callId, sip, body, r.refuse ? null : body);
    } else {
      // RFC 3261 §13.2.1: an INVITE without offer gets the offer in the response; the answer comes in ACK/PRACK
      const direction: Direction = d.fromAccess ? "terminating" : "originating";
      r = this.o.verdict.decide(body, { direction, kind: "offer", callId: d.callId, caps: d.caps, anchorable: false });
      this.o.verdict.audit(r, d.callId, sip, body, r.refuse ? null : body);
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
}
