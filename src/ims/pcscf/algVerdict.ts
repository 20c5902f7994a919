/**
 * The IMS-ALG verdict on one SDP body as the P-CSCF takes it (offerAnswer.ts): `decideSdp` (alg.ts) run as if e2ae
 * were possible, then the availability of what it asks for — an IMS-AGW bound over Iq for e2ae, a stream the AGW can
 * relay, an offer that can be anchored here, a DC edge for e2DCe (fail closed, DESIGN rule 4); the 488 with one
 * Warning value per refused m-line; and one audit event per m-line decision, recorded once the body has left.
 */
import type { AuditEvent } from "../../log.ts";
import type { SipMessage } from "../../sip/index.ts";
import { decideSdp } from "./alg.ts";
import { auditEvents } from "./algAudit.ts";
import type { AlgDecision, Direction, SdpKind } from "./algTypes.ts";
import type { AlgConfig } from "./config.ts";
import type { E2aeSession } from "./e2aeSession.ts";
import type { AuditRecorder } from "./nodeTypes.ts";
import { formatWarningValue, warnText } from "./warning.ts";

/** One m-line that cannot be anchored: its code and text (the Warning says `<code>: <text> (m-line N)`). */
interface Unavailable {
  code: string;
  text: string;
}

/** The outcome of `decide`: the decision, the refusal if any, and the audit of it (recorded once the body left). */
export interface Decided {
  decision: AlgDecision;
  refuse?: { status: number; reason: string; warning: string; codes: string[] };
  unavailable: Map<number, Unavailable>;
}

/** The SDP body of a message, or undefined (only application/sdp bodies are offers/answers here). */
export function sdpBody(m: SipMessage): Uint8Array | undefined {
  if (m.body.byteLength === 0) return undefined;
  let ct: ReturnType<SipMessage["contentType"]>;
  try {
    ct = m.contentType();
  } catch {
    return undefined;
  }
  return ct && ct.type === "application" && ct.subtype === "sdp" ? m.body : undefined;
}

export interface AlgVerdictOptions {
  /** the P-CSCF's name, in every audit event (`instance`) */
  name: string;
  /** the IMS-ALG configuration (the Warning agent, e2ae availability) */
  alg: AlgConfig;
  /** an IMS-AGW is bound over Iq and e2ae is on (E2aeAnchor exists) */
  e2ae: boolean;
  /** the audit sink: without one, no decision event is built */
  audit: AuditRecorder | undefined;
  record(e: AuditEvent): void;
}

export class AlgVerdict {
  private readonly decisionConfig: AlgConfig;

  constructor(private readonly o: AlgVerdictOptions) {
    // the decision is taken as if e2ae were possible; availability (config + Iq binding) is checked after it, so the
    // audit shows decision "e2ae" for an e2ae request that is then refused
    this.decisionConfig = { ...o.alg, e2aeAvailable: true };
  }

  /**
   * Decides a body (TS 33.328 §7.2.5 step 2 and the e2ae/e2DCe branches). `anchorable`: the caller can anchor the
   * e2ae m-lines of this body on the IMS-AGW (an offer in a request, or the answer of an anchored offer); else they
   * are refused with E_ALG_E2AE_UNAVAILABLE (fail closed, DESIGN rule 4). The audit is left to the caller
   * (`auditDecision`), which knows the body that left.
   */
  decide(
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
  refusalOf(items: { code: string; text: string; mline: number }[]): NonNullable<Decided["refuse"]> {
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
  audit(
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
  streamAudit(session: E2aeSession): Map<number, Record<string, unknown>> {
    const out = new Map<number, Record<string, unknown>>();
    for (const s of session.streams) {
      out.set(s.mline, {
        iq: "ok",
        agwSession: session.id,
        agwContextId: s.contextId,
        agwFingerprint: `${s.agwFingerprint.hash} ${s.agwFingerprint.value}`,
        agwAccess: `${s.access.localAddress}:${s.access.localPort}`,
        agwCore: `${s.core.localAddress}:${s.core.localPort}`,
      });
    }
    return out;
  }
}
