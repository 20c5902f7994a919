/**
 * The IMS-ALG media-security decision of the P-CSCF, for every m-line of every offer and answer:
 *
 * - e2e   — no indication: the body is forwarded byte for byte (TS 33.328 §7.2.5 step 2; DESIGN rule 3);
 * - e2ae  — `a=3ge2ae:requested` on a TLS/DTLS m-line with the matching registered mediasec capability, or the
 *           RCS operator policy (TR 29.828 §5.2.1.2.2 NOTE 1), or a plain TCP/MSRP / TCP/BFCP offer from the core to
 *           a UE that registered the capability (§5.2.1.2.3 / §5.2.1.3.3 step 1): the IMS-AGW is put in the path;
 * - e2DCe — the (provisional, configurable) e2DCe indication on a data channel m-line (TS 33.328 §7.2.4);
 * - refuse — a malformed security attribute on a guarded m-line, or a scope the network cannot provide:
 *           488 Not Acceptable Here with a Warning carrying the finding code.
 *
 * Pure: no I/O. The types are algTypes.ts, the per-m-line decision mediaDecision.ts (on what mediaFacts.ts reads
 * from the m-line), the Warning values warning.ts and the audit events algAudit.ts (which hashes bodies with
 * node:crypto). See docs/pcscf-alg.md.
 */

import { analyzeSdp, type SdpModel, validateModel } from "../../sdp/index.ts";
import type { AlgContext, AlgDecision, MediaDecision } from "./algTypes.ts";
import { bodyText } from "./bytes.ts";
import { decideMedia } from "./mediaDecision.ts";
import { familyOf, isSecured, isSecurityFinding, mechanismFor, readIndications } from "./mediaFacts.ts";
import { refusal } from "./warning.ts";

// Body-level conditions under which no per-m-line decision can be trusted: unparsed (too large), or control
// characters (a lone CR may end a line for the receiver but not for us, hiding attribute lines).
const BODY_REFUSE_CODES: ReadonlySet<string> = new Set(["E_SDP_TOO_LARGE", "E_SDP_BINARY"]);

function attrNameOfLine(model: SdpModel, line: number | undefined): string | undefined {
  if (line === undefined) return undefined;
  const text = model.parsed.lines[line - 1]?.text ?? "";
  if (!text.startsWith("a=")) return undefined;
  const colon = text.indexOf(":");
  return colon < 0 ? text.slice(2) : text.slice(2, colon);
}

/**
 * Decides what the IMS-ALG does with an SDP offer or answer. Never throws; never modifies the body (the e2ae
 * rewrite is `rewrite.ts`). `body` is the raw SIP body (bytes, or a latin1 string with one char per byte).
 */
export function decideSdp(body: Uint8Array | string, ctx: AlgContext): AlgDecision {
  const text = bodyText(body);
  const cfg = ctx.config;
  const base = {
    direction: ctx.direction,
    kind: ctx.kind,
    callId: ctx.callId,
  };
  const model = analyzeSdp(text);

  // TS 33.328 §7.2.5 NOTE 2: without IMS-ALG, sessions are set up end to end; nothing is inspected or validated.
  if (!cfg.imsAlg) {
    const perMedia = model.media.map((m): MediaDecision => {
      const ind = readIndications(m, cfg);
      const secured = isSecured(m) || m.security === "srtp";
      return {
        mline: m.index,
        media: m.media,
        proto: m.proto,
        port: m.malformed ? null : m.port,
        family: familyOf(m),
        indications: ind.list,
        indication: ind.indication,
        mechanism: m.malformed ? null : mechanismFor(m, cfg),
        registeredCapability: false,
        decision: secured && !m.rejected ? "e2e" : "none",
        clause: "TS 33.328 §7.2.5 NOTE 2",
        reason: "P-CSCF without IMS-ALG: forwarded untouched",
        warnings: [],
        findings: [],
      };
    });
    return {
      direction: base.direction,
      kind: base.kind,
      callId: base.callId,
      action: "forward",
      forwardUnchanged: true,
      perMedia,
      anchors: { e2ae: [], e2dce: [] },
      warnings: [],
      findings: [],
      clause: "TS 33.328 §7.2.5 NOTE 2",
    };
  }

  // one analysis per body: the findings come from the model built above (validateSdp would parse the text again)
  const validation = validateModel(model, { role: ctx.kind });
  const findings = validation.findings;
  const bodyFindings = findings.filter((f) => f.mline === undefined);
  const bodyWarnings: string[] = [];

  const fatal = findings.find((f) => BODY_REFUSE_CODES.has(f.code));
  if (fatal) {
    // TS 33.328 §7.2.5 step 2 needs every m-line inspected; a body that cannot be read reliably is refused.
    return {
      direction: base.direction,
      kind: base.kind,
      callId: base.callId,
      action: "refuse",
      forwardUnchanged: false,
      perMedia: [],
      anchors: { e2ae: [], e2dce: [] },
      refuse: refusal(cfg.warnAgent, [{ code: fatal.code, text: `${fatal.code}: ${fatal.message}` }]),
      warnings: [],
      findings: bodyFindings,
      clause: fatal.clause,
    };
  }
  if (findings.some((f) => f.code === "E_3GE2AE_SESSION_LEVEL"))
    bodyWarnings.push("a=3ge2ae at session level is invalid and ignored (TS 24.229 §7.5.2.3: media-level attribute)");
  if (ctx.kind === "answer" && !ctx.offer)
    bodyWarnings.push("answer decided without the offer's decision: every m-line is treated as e2e/none");

  const sessionSecurity = bodyFindings.filter(isSecurityFinding);
  const perMedia = model.media.map((m) =>
    decideMedia(m, {
      ctx,
      findings: findings.filter((f) => f.mline === m.index),
      sessionSecurity: sessionSecurity.filter((f) => {
        const name = attrNameOfLine(model, f.line);
        // RFC 8122 §5 / RFC 4145 §4: a session-level value applies to m-lines without their own.
        return name === undefined || m.attrLine[name] === undefined;
      }),
    }),
  );

  const refused = perMedia.filter((p) => p.decision === "refuse");
  const anchors = {
    e2ae: perMedia.filter((p) => p.decision === "e2ae").map((p) => p.mline),
    e2dce: cfg.e2dce.action === "anchor" ? perMedia.filter((p) => p.decision === "e2dce").map((p) => p.mline) : [],
  };
  if (refused.length > 0) {
    return {
      direction: base.direction,
      kind: base.kind,
      callId: base.callId,
      action: "refuse",
      forwardUnchanged: false,
      perMedia,
      anchors,
      refuse: refusal(
        cfg.warnAgent,
        refused.map((p) => ({ code: p.refuseCode ?? "E_ALG", text: p.reason })),
      ),
      warnings: bodyWarnings,
      findings: bodyFindings,
      clause: refused[0]?.clause ?? "RFC 3261 §21.4.26",
    };
  }
  const anchor = anchors.e2ae.length > 0 || anchors.e2dce.length > 0;
  return {
    direction: base.direction,
    kind: base.kind,
    callId: base.callId,
    action: anchor ? "anchor" : "forward",
    forwardUnchanged: !anchor,
    perMedia,
    anchors,
    warnings: bodyWarnings,
    findings: bodyFindings,
    clause: anchor ? "TS 33.328 §7.2.5 step 2" : "TS 33.328 §7.2.5 step 2 (forwarded unchanged)",
  };
}
