/**
 * The IMS-ALG decision for one m-line of an offer or an answer (e2e / e2ae / e2DCe / none / refuse), with the clause
 * it follows; the body-level decision that runs it for every m-line is `decideSdp` (alg.ts).
 */

import type { Finding, MediaInfo } from "../../sdp/index.ts";
import type { AlgContext, Direction, MediaDecision, MediaDecisionKind } from "./algTypes.ts";
import {
  e2aeStepFor,
  familyOf,
  isSecured,
  isSecurityFinding,
  mechanismFor,
  type ReadIndications,
  readIndications,
} from "./mediaFacts.ts";

// What the IMS-AGW path needs beyond the security attributes: the peer address and (MSRP) a parseable a=path.
const ANCHOR_CODES: ReadonlySet<string> = new Set(["E_SDP_CONNECTION", "E_MSRP_PATH"]);

const SECURITY_ATTRS = ["3ge2ae", "fingerprint", "tls-id", "setup"];

function clauseE2aeOffer(m: MediaInfo, direction: Direction): string {
  if (m.kind === "msrp")
    return direction === "originating" ? "TR 29.828 §5.2.1.2.2 step 1" : "TR 29.828 §5.2.1.2.3 step 1";
  if (m.kind === "bfcp")
    return direction === "originating" ? "TR 29.828 §5.2.1.3.2 step 1" : "TR 29.828 §5.2.1.3.3 step 1";
  return "TS 33.328 §7.2.5 step 2; TS 33.328 §7.2.1";
}

function clauseE2aeAnswer(m: MediaInfo, direction: Direction): string {
  if (m.kind === "msrp")
    return direction === "originating" ? "TR 29.828 §5.2.1.2.2 step 19" : "TR 29.828 §5.2.1.2.3 step 17";
  if (m.kind === "bfcp")
    return direction === "originating" ? "TR 29.828 §5.2.1.3.2 step 17" : "TR 29.828 §5.2.1.3.3 step 17";
  return "TS 33.328 §7.2.1 (data channel rewrite provisional)";
}

const E2DCE_CLAUSE = "TS 33.328 §7.2.5 step 2; TS 33.328 §7.2.4 (e2DCe encoding provisional)";

export interface MediaInput {
  ctx: AlgContext;
  findings: Finding[];
  sessionSecurity: Finding[];
}

export function decideMedia(m: MediaInfo, input: MediaInput): MediaDecision {
  const { ctx } = input;
  const cfg = ctx.config;
  const ind = readIndications(m, cfg);
  const family = familyOf(m);
  const mechanism = m.malformed ? null : mechanismFor(m, cfg);
  const supported = new Set(cfg.supportedMediasec.map((s) => s.toLowerCase()));
  const caps = new Set([...ctx.capabilities].map((s) => s.toLowerCase()));
  // TR 29.828 §5.2.1.2.2 step 1 / §5.2.1.2.3 step 1: the UE registered it and the P-CSCF indicated support.
  const registeredCapability = mechanism !== null && caps.has(mechanism) && supported.has(mechanism);
  const warnings: string[] = [];
  const findings = [...input.findings, ...input.sessionSecurity];
  const out = (
    decision: MediaDecisionKind,
    clause: string,
    reason: string,
    extra: Partial<MediaDecision> = {},
  ): MediaDecision => ({
    mline: m.index,
    media: m.media,
    proto: m.proto,
    port: m.malformed ? null : m.port,
    family,
    indications: ind.list,
    indication: ind.indication,
    mechanism,
    registeredCapability,
    decision,
    clause,
    reason,
    warnings,
    findings,
    ...extra,
  });
  const refuseWith = (code: string, clause: string, text: string): MediaDecision =>
    out("refuse", clause, text, { refuseCode: code });

  // RFC 8866 §5.14: a malformed m= line cannot be classified; if it carries security attributes, fail closed.
  if (m.malformed) {
    if (m.attributes.some((a) => SECURITY_ATTRS.includes(a.name) || a.name === cfg.e2dce.attribute)) {
      return refuseWith(
        "E_SDP_MLINE",
        "RFC 8866 §5.14",
        `E_SDP_MLINE: malformed m= line carrying security attributes (m-line ${m.index})`,
      );
    }
    return out("none", "RFC 8866 §5.14", "malformed m= line without security attributes: forwarded");
  }
  // RFC 3264 §6: port 0 = stream rejected/disabled; nothing to secure.
  if (m.rejected) {
    if (ctx.kind === "answer") {
      const offered = ctx.offer?.perMedia.find((p) => p.mline === m.index);
      if (offered?.decision === "e2ae") {
        // The AGW termination of a stream the answerer rejected is released; the proto is still restored.
        return out("e2ae", clauseE2aeAnswer(m, ctx.direction), "e2ae stream rejected by the answer (port 0)", {
          step: e2aeStepFor(ctx.direction, "answer"),
          requestedInOffer: offered.indication === "e2ae-requested",
        });
      }
    }
    return out("none", "RFC 3264 §6", "rejected m-line (port 0): forwarded");
  }

  for (const u of ind.unknown)
    warnings.push(`3ge2ae value "${u}" ignored (TS 24.229 §7.5.2.1: other values shall be ignored)`);

  // Guarded m-lines: data channels and TLS/DTLS MSRP/BFCP. Their security attributes must be well-formed before
  // anything is forwarded or the IMS-AGW is driven (RFC 8122 §5; RFC 4145 §4; RFC 8842 §4; rejecting first is a
  // design decision of this IMS-ALG, no clause orders it).
  const guarded = family === "dc" || ((family === "msrp" || family === "bfcp") && isSecured(m));
  if (guarded) {
    // RFC 8842 §5 / RFC 5763 §5: a DTLS data channel without a usable fingerprint cannot be authenticated at all.
    // (TLS MSRP/BFCP may authenticate by certificate host name instead, RFC 4975 §14; they need one only for e2ae.)
    // The specific syntax finding wins over the E_FP_MISSING it implies (a lone malformed fingerprint gives both).
    const bad = findings.find(isSecurityFinding) ?? findings.find((f) => f.code === "E_FP_MISSING" && family === "dc");
    if (bad) return refuseWith(bad.code, bad.clause, `${bad.code}: ${bad.message} (m-line ${m.index})`);
  }

  const decided =
    ctx.kind === "offer"
      ? decideOffer(m, ind, mechanism, registeredCapability, ctx, warnings)
      : decideAnswer(m, ind, ctx, warnings);
  if (decided.decision === "e2ae") {
    // The IMS-AGW needs the peer's address (RFC 8866 §5.7) and, for MSRP, a usable a=path
    // (RFC 4975 §8.1) to reserve and configure its terminations.
    const bad = findings.find(
      (f) =>
        f.severity === "error" && ANCHOR_CODES.has(f.code) && (f.code !== "E_MSRP_PATH" || cfg.msrpPath !== "keep"),
    );
    if (bad) return refuseWith(bad.code, bad.clause, `${bad.code}: ${bad.message} (m-line ${m.index})`);
    // TR 29.828 §5.2.1.2.2 steps 1/5-7, §5.2.1.2.3 steps 13-16: the AGW verifies the UE against its fingerprint.
    const noFp = isSecured(m) ? findings.find((f) => f.code === "E_FP_MISSING") : undefined;
    if (noFp) return refuseWith(noFp.code, noFp.clause, `${noFp.code}: ${noFp.message} (m-line ${m.index})`);
    if (!cfg.e2aeAvailable) {
      // Fail closed (DESIGN rule 4): e2ae applies but no IMS-AGW can be reached.
      return refuseWith("E_ALG_E2AE_UNAVAILABLE", decided.clause, `e2ae not available (m-line ${m.index})`);
    }
  }
  if (decided.decision === "refuse") return refuseWith(decided.refuseCode ?? "E_ALG", decided.clause, decided.reason);
  return out(decided.decision, decided.clause, decided.reason, decided.extra ?? {});
}

interface Decided {
  decision: MediaDecisionKind;
  clause: string;
  reason: string;
  refuseCode?: string;
  extra?: Partial<MediaDecision>;
}

function e2eOrNone(m: MediaInfo, clause: string, reason: string): Decided {
  const secured = isSecured(m) || m.security === "srtp";
  return secured
    ? { decision: "e2e", clause, reason }
    : { decision: "none", clause, reason: "no media-plane security on this m-line: forwarded" };
}

function decideOffer(
  m: MediaInfo,
  ind: ReadIndications,
  mechanism: string | null,
  registered: boolean,
  ctx: AlgContext,
  warnings: string[],
): Decided {
  const cfg = ctx.config;
  const step = e2aeStepFor(ctx.direction, "offer");
  const isDc = m.kind === "dc" || m.kind === "sctp";

  if (ctx.direction === "terminating") {
    // Indications in an offer from the core are not requests of the served UE (TS 33.328 §7.2.5 step 2 concerns the
    // UE's own offer); they are forwarded as they are and not acted upon.
    if (ind.requested || ind.e2dce)
      warnings.push(`${ind.list.join(", ")} in an offer from the core is not a request of the served UE; ignored`);
    const plain = m.proto === "TCP/MSRP" || m.proto === "TCP/BFCP";
    if (plain && mechanism !== null) {
      // TR 29.828 §5.2.1.2.3 / §5.2.1.3.3 step 1: TCP/MSRP (TCP/BFCP) offered and both the UE and the P-CSCF
      // indicated e2ae support at registration → anchor in the IMS-AGW.
      if (registered)
        return {
          decision: "e2ae",
          clause: clauseE2aeOffer(m, "terminating"),
          reason: `plain ${m.proto} offered to a UE that registered ${mechanism}: TLS toward the UE in the IMS-AGW`,
          extra: { step },
        };
      return {
        decision: "none",
        clause: clauseE2aeOffer(m, "terminating"),
        reason: `plain ${m.proto}; ${mechanism} not registered for the served UE: forwarded`,
      };
    }
    return e2eOrNone(m, "TS 33.328 §7.2.5 step 2", "no e2ae/e2DCe applies to this offer from the core: forwarded");
  }

  // ---- originating offer (from the served UE) -------------------------------------------------------------------
  if (ind.e2dce) {
    if (!isDc) {
      warnings.push("e2DCe indication on a non data channel m-line ignored (TS 33.328 §7.2.4 covers data channels)");
    } else {
      switch (cfg.e2dce.action) {
        case "reject-488":
          return {
            decision: "refuse",
            clause: E2DCE_CLAUSE,
            reason: `e2DCe not available (m-line ${m.index})`,
            refuseCode: "E_ALG_E2DCE_UNAVAILABLE",
          };
        case "forward":
          return { decision: "e2dce", clause: E2DCE_CLAUSE, reason: "e2DCe requested; forwarded unchanged by policy" };
        case "anchor":
          return {
            decision: "e2dce",
            clause: E2DCE_CLAUSE,
            reason: "e2DCe requested; anchor at the data channel edge",
          };
      }
    }
  }
  if (ind.applied) warnings.push("a=3ge2ae:applied from the UE has no meaning in its own offer; ignored");

  const rcs =
    cfg.rcsTerminateAllMsrpTls && m.proto === "TCP/TLS/MSRP" && m.kind === "msrp" && m.fingerprints.length > 0;
  if (ind.requested) {
    if (m.security === "srtp") {
      warnings.push(`e2ae for ${m.proto} (sdes-srtp) is not supported by this IMS-ALG; forwarded e2e`);
    } else if (!isSecured(m)) {
      // TS 23.334 §6.2.10: e2ae is TLS/DTLS terminated in the IMS-AGW; "requested" on a non-TLS/DTLS proto is ignored.
      warnings.push(`a=3ge2ae:requested on ${m.proto} (no TLS/DTLS) ignored`);
    } else if (mechanism === null) {
      warnings.push(`e2ae for ${m.proto} is not supported by this IMS-ALG; forwarded e2e`);
    } else if (registered) {
      // TR 29.828 §5.2.1.2.2 / §5.2.1.3.2 step 1: requested + P-CSCF indicated support at registration → anchor.
      return {
        decision: "e2ae",
        clause: clauseE2aeOffer(m, "originating"),
        reason: `a=3ge2ae:requested and ${mechanism} registered: TLS/DTLS terminated in the IMS-AGW`,
        extra: { step },
      };
    } else if (!rcs) {
      // TR 29.828 §5.2.1.2.2 / §5.2.1.3.2 step 1: requested without the matching registration → no e2ae (as is).
      warnings.push(`a=3ge2ae:requested but ${mechanism} not registered for this UE: forwarded e2e`);
      return e2eOrNone(m, clauseE2aeOffer(m, "originating"), "e2ae requested without registration: forwarded");
    }
  }
  if (rcs) {
    // TR 29.828 §5.2.1.2.2 NOTE 1: operator terminates TLS for every TCP/TLS/MSRP stream with a fingerprint.
    return {
      decision: "e2ae",
      clause: "TR 29.828 §5.2.1.2.2 NOTE 1",
      reason: "operator policy: TLS of every TCP/TLS/MSRP stream with a fingerprint terminated in the IMS-AGW",
      extra: { step, rcsPolicy: true },
    };
  }
  // TS 33.328 §7.2.5 step 2: no indication → forward towards the S-CSCF unchanged (e2e).
  return e2eOrNone(m, "TS 33.328 §7.2.5 step 2", "no security-scope indication: e2e, forwarded unchanged");
}

function decideAnswer(m: MediaInfo, ind: ReadIndications, ctx: AlgContext, warnings: string[]): Decided {
  if (ind.list.length > 0) warnings.push(`${ind.list.join(", ")} in an answer is not acted upon`);
  const offer = ctx.offer;
  if (!offer) return e2eOrNone(m, "TS 33.328 §7.2.5 step 5", "answer without offer decision: forwarded unchanged");
  const o = offer.perMedia.find((p) => p.mline === m.index);
  if (!o) {
    warnings.push(`m-line ${m.index} has no counterpart in the offer (RFC 3264 §6)`);
    return e2eOrNone(m, "RFC 3264 §6", "m-line not in the offer: forwarded");
  }
  switch (o.decision) {
    case "e2ae": {
      const tlsExpected = ctx.direction === "terminating";
      if (tlsExpected !== isSecured(m))
        warnings.push(
          `answer proto ${m.proto} on an e2ae m-line; expected ${tlsExpected ? "a TLS/DTLS" : "a plain"} proto (RFC 3264 §6)`,
        );
      return {
        decision: "e2ae",
        clause: clauseE2aeAnswer(m, ctx.direction),
        reason: "answer to an e2ae offer: rewritten for the IMS-AGW",
        extra: { step: e2aeStepFor(ctx.direction, "answer"), requestedInOffer: o.indication === "e2ae-requested" },
      };
    }
    case "e2dce":
      return { decision: "e2dce", clause: E2DCE_CLAUSE, reason: "answer to an e2DCe m-line" };
    default:
      // TS 33.328 §7.2.5 steps 4-5: the answer with UE B's fingerprint/tls-id/setup passes unchanged.
      return e2eOrNone(m, "TS 33.328 §7.2.5 step 5", "answer to an e2e offer: forwarded unchanged");
  }
}
