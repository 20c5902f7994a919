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
 * Pure: no I/O. `auditEvents` hashes bodies with node:crypto. See docs/pcscf-alg.md.
 */

import type { AuditEvent } from "../../log.ts";
import { analyzeSdp, type Finding, type MediaInfo, type SdpModel, validateSdp } from "../../sdp/index.ts";
import { bodyText, sha256Hex } from "./bytes.ts";
import type { AlgConfig } from "./config.ts";

/**
 * Direction of the offer/answer exchange, seen from the served UE: "originating" = the served UE made the offer
 * (offer from the access side, answer from the core); "terminating" = the offer comes from the core toward the
 * served UE (answer from the access side). A re-INVITE from the far end in an originating dialog is "terminating".
 */
export type Direction = "originating" | "terminating";
export type SdpKind = "offer" | "answer";
export type MediaDecisionKind = "e2e" | "e2ae" | "e2dce" | "none" | "refuse";
/** forward: body unchanged; anchor: at least one m-line goes through the IMS-AGW (or a DC edge); refuse: 488. */
export type AlgAction = "forward" | "anchor" | "refuse";
/** The four e2ae SDP rewrites of TR 29.828 §5.2.1 (see rewrite.ts). */
export type E2aeStep = "originating-offer" | "originating-answer" | "terminating-offer" | "terminating-answer";
/** Media family the IMS-ALG distinguishes. */
export type MediaFamily = "dc" | "msrp" | "bfcp" | "other";
export type Indication = "e2ae-requested" | "e2dce-requested" | "e2ae-applied" | "none";

export interface AlgContext {
  direction: Direction;
  kind: SdpKind;
  callId: string;
  /** mediasec capabilities of the served UE's registered contact (capabilities.ts); empty when not registered. */
  capabilities: ReadonlySet<string>;
  config: AlgConfig;
  /** For answers: the decision taken on the offer of this exchange (the answer follows it per m-line). */
  offer?: AlgDecision;
}

export interface MediaDecision {
  /** 0-based m-line index. */
  mline: number;
  media: string;
  proto: string;
  /** null when the m= line is malformed. */
  port: number | null;
  family: MediaFamily;
  /** Indication attributes found on the m-line, as `name:value` (e.g. "3ge2ae:requested"). */
  indications: string[];
  indication: Indication;
  /** The mediasec mechanism that governs e2ae for this m-line (msrp-tls, bfcp-tls, the DC name), or null. */
  mechanism: string | null;
  /** The served UE registered `mechanism` and the P-CSCF supports it. */
  registeredCapability: boolean;
  decision: MediaDecisionKind;
  /** The clause the decision follows. */
  clause: string;
  /** Human-readable reason. */
  reason: string;
  /** For e2ae: which rewrite of TR 29.828 applies to this body. */
  step?: E2aeStep;
  /** For e2ae: chosen by the RCS operator policy (TR 29.828 §5.2.1.2.2 NOTE 1), not by an indication. */
  rcsPolicy?: boolean;
  /** For e2ae answers: the offer of this m-line carried `a=3ge2ae:requested` (drives `appliedInAnswer`). */
  requestedInOffer?: boolean;
  /** Non-fatal observations (ignored indications, ...). */
  warnings: string[];
  /** Findings of src/sdp for this m-line (plus session-level security findings that apply to it). */
  findings: Finding[];
  /** For refuse: the code that caused it (finding code or E_ALG_*). */
  refuseCode?: string;
}

export interface WarningValue {
  /** RFC 3261 §20.43 warn-code; 399 = miscellaneous warning, text meant for logs and humans. */
  code: 399;
  agent: string;
  text: string;
}

export interface AlgRefusal {
  status: 488;
  /** RFC 3261 §21.4.26. */
  reason: "Not Acceptable Here";
  /** Ready-to-send Warning header value (one warning-value per refused m-line, comma separated). */
  warning: string;
  warnings: WarningValue[];
  /** The codes that caused the refusal, in m-line order. */
  codes: string[];
}

export interface AlgDecision {
  action: AlgAction;
  /** true iff the body must leave exactly as it came (hash in = hash out). */
  forwardUnchanged: boolean;
  direction: Direction;
  kind: SdpKind;
  callId: string;
  perMedia: MediaDecision[];
  /** m-line indices to anchor: in the IMS-AGW (e2ae) or at a data channel edge (e2DCe with action "anchor"). */
  anchors: { e2ae: number[]; e2dce: number[] };
  refuse?: AlgRefusal;
  /** Body-level warnings. */
  warnings: string[];
  /** Body-level findings (not tied to one m-line). */
  findings: Finding[];
  /** Body-level clause (imsAlg off, body refused as a whole, ...). */
  clause: string;
}

// Error codes that make a security attribute on a guarded m-line unusable (RFC 8122 §5, RFC 4145 §4/§5,
// RFC 5763 §5, RFC 8842 §4, TS 24.229 §7.5.2.2).
const SECURITY_CODES: ReadonlySet<string> = new Set([
  "E_FP_SYNTAX",
  "E_FP_HASH_LEN",
  "E_FP_WEAK_HASH",
  "E_SETUP_VALUE",
  "E_SETUP_HOLDCONN_DTLS",
  "E_SETUP_OFFER_NOT_ACTPASS",
  "E_SETUP_ANSWER_ROLE",
  "E_TLSID_SYNTAX",
  "E_TLSID_DUPLICATE",
  "E_CONNECTION_VALUE",
  "E_3GE2AE_SYNTAX",
]);
// E_ATTR_DUPLICATE counts when the duplicated attribute is a security one (its clause names the RFC).
const SECURITY_DUP_CLAUSES = ["RFC 4145", "RFC 8122", "RFC 8842"];
// What the IMS-AGW path needs beyond the security attributes: the peer address and (MSRP) a parseable a=path.
const ANCHOR_CODES: ReadonlySet<string> = new Set(["E_SDP_CONNECTION", "E_MSRP_PATH"]);
// Body-level conditions under which no per-m-line decision can be trusted: unparsed (too large), or control
// characters (a lone CR may end a line for the receiver but not for us, hiding attribute lines).
const BODY_REFUSE_CODES: ReadonlySet<string> = new Set(["E_SDP_TOO_LARGE", "E_SDP_BINARY"]);
const SECURITY_ATTRS = ["3ge2ae", "fingerprint", "tls-id", "setup"];

/** The rewrite step for an exchange direction and SDP kind (TR 29.828 §5.2.1.2.2/.3 step 8, 19/17). */
export function e2aeStepFor(direction: Direction, kind: SdpKind): E2aeStep {
  return `${direction}-${kind}` as E2aeStep;
}

function familyOf(m: MediaInfo): MediaFamily {
  if (m.kind === "dc" || m.kind === "sctp") return "dc";
  if (m.kind === "msrp") return "msrp";
  if (m.kind === "bfcp") return "bfcp";
  return "other";
}

function isSecured(m: MediaInfo): boolean {
  return m.security === "tls" || m.security === "dtls";
}

/**
 * The mediasec mechanism governing e2ae for an m-line (TS 24.229 §7.2A.7 names; the DC name is configurable):
 * TCP/TLS/MSRP and TCP/MSRP → msrp-tls; TCP/TLS/BFCP and TCP/BFCP → bfcp-tls (TR 29.828 §5.2.1.2/§5.2.1.3 use TCP
 * only); DTLS/SCTP data channels → `dcE2aeMechanism`. Anything else: null (no e2ae rewrite exists here).
 */
export function mechanismFor(m: Pick<MediaInfo, "kind" | "proto">, config: AlgConfig): string | null {
  if (m.kind === "msrp") return "msrp-tls";
  if (m.kind === "bfcp" && (m.proto === "TCP/TLS/BFCP" || m.proto === "TCP/BFCP")) return "bfcp-tls";
  if (m.kind === "dc" || m.kind === "sctp") return config.dcE2aeMechanism;
  return null;
}

interface ReadIndications {
  list: string[];
  requested: boolean;
  applied: boolean;
  e2dce: boolean;
  /** 3ge2ae values that are neither requested/applied nor mapped to e2DCe. */
  unknown: string[];
  indication: Indication;
}

/** Reads the indications of one m-line: `a=3ge2ae` (TS 24.229 §7.5.2) and the configured e2DCe mapping. */
function readIndications(m: MediaInfo, config: AlgConfig): ReadIndications {
  const map = config.e2dce;
  const mapped = new Set(map.values.map((v) => v.toLowerCase()));
  const list: string[] = [];
  let requested = false;
  let applied = false;
  let e2dce = false;
  const unknown: string[] = [];
  for (const a of m.attributes) {
    if (a.name === "3ge2ae") {
      const v = a.value ?? "";
      list.push(`3ge2ae:${v}`);
      const lv = v.toLowerCase();
      if (map.attribute === "3ge2ae" && mapped.has(lv)) e2dce = true;
      // TS 24.229 §7.5.2.2: indicator = "requested" / "applied" / token (ABNF literals are case-insensitive)
      else if (lv === "requested") requested = true;
      else if (lv === "applied") applied = true;
      // TS 24.229 §7.5.2.1: other values shall be ignored.
      else unknown.push(v);
    } else if (a.name === map.attribute) {
      list.push(a.value === undefined ? a.name : `${a.name}:${a.value}`);
      if (mapped.size === 0 || (a.value !== undefined && mapped.has(a.value.toLowerCase()))) e2dce = true;
    }
  }
  const indication: Indication = e2dce
    ? "e2dce-requested"
    : requested
      ? "e2ae-requested"
      : applied
        ? "e2ae-applied"
        : "none";
  return { list, requested, applied, e2dce, unknown, indication };
}

function isSecurityFinding(f: Finding): boolean {
  if (f.severity !== "error") return false;
  if (SECURITY_CODES.has(f.code)) return true;
  return f.code === "E_ATTR_DUPLICATE" && SECURITY_DUP_CLAUSES.some((c) => f.clause.startsWith(c));
}

function attrNameOfLine(model: SdpModel, line: number | undefined): string | undefined {
  if (line === undefined) return undefined;
  const text = model.parsed.lines[line - 1]?.text ?? "";
  if (!text.startsWith("a=")) return undefined;
  const colon = text.indexOf(":");
  return colon < 0 ? text.slice(2) : text.slice(2, colon);
}

/** Warning text per RFC 3261 §20.43 (quoted-string): printable ASCII only, `"` and `\` escaped, bounded. */
export function warnText(text: string, max = 200): string {
  let t = "";
  for (const ch of text.length > max ? `${text.slice(0, max)}...` : text) {
    const c = ch.charCodeAt(0);
    t += c < 0x20 || c > 0x7e ? "?" : ch;
  }
  return t;
}

/** Formats one warning-value: `399 agent "text"` (RFC 3261 §20.43). */
export function formatWarningValue(w: WarningValue): string {
  return `${w.code} ${w.agent} "${warnText(w.text).replace(/[\\"]/g, (c) => `\\${c}`)}"`;
}

function refusal(agent: string, items: ReadonlyArray<{ code: string; text: string }>): AlgRefusal {
  const warnings: WarningValue[] = items.map((i) => ({ code: 399, agent, text: warnText(i.text) }));
  return {
    status: 488, // RFC 3261 §21.4.26: the session description is not acceptable here
    reason: "Not Acceptable Here",
    warning: warnings.map(formatWarningValue).join(", "),
    warnings,
    codes: items.map((i) => i.code),
  };
}

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

  const validation = validateSdp(text, { role: ctx.kind });
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

interface MediaInput {
  ctx: AlgContext;
  findings: Finding[];
  sessionSecurity: Finding[];
}

function decideMedia(m: MediaInfo, input: MediaInput): MediaDecision {
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
  // anything is forwarded or the IMS-AGW is driven (specs.md §6 P-CSCF 5; RFC 8122 §5; RFC 4145 §4; RFC 8842 §4).
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
      // specs.md §4.6 / TS 23.334 §6.2.10: "requested" on a non-TLS/DTLS proto is ignored.
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
      // specs.md §4.6: requested without the matching registration → no e2ae (forward as is).
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

// ---- audit ------------------------------------------------------------------------------------------------------

export interface AuditBodies {
  /** Overrides the decision's Call-ID. */
  callId?: string;
  bodyIn: Uint8Array | string;
  /** The body sent on; undefined/null when none was (refused). */
  bodyOut?: Uint8Array | string | null;
}

/**
 * One audit event per m-line decision (one body-level event when there is no m-line): node "pcscf", Call-ID,
 * m-line index, indications, registered capability, decision, clause and the SHA-256 of the body in and out.
 */
export function auditEvents(decision: AlgDecision, bodies: AuditBodies): AuditEvent[] {
  const sha256In = sha256Hex(bodies.bodyIn);
  const out = bodies.bodyOut;
  // the same bytes forwarded (the e2e case) need no second hash
  const sha256Out = out === undefined || out === null ? null : out === bodies.bodyIn ? sha256In : sha256Hex(out);
  const callId = bodies.callId ?? decision.callId;
  const refuse = decision.refuse;
  // Every event is one object literal of a fixed shape: a `{ ...common, ... }` spread followed by many properties
  // costs about 10 µs per object in V8 (measured), which the P-CSCF pays on every offer and answer.
  const event = (d: {
    decision: string;
    clause: string;
    mline: number | null;
    media: string | null;
    proto: string | null;
    indications: string[];
    indication: string;
    mechanism: string | null;
    registeredCapability: boolean;
    step?: E2aeStep | undefined;
    rcsPolicy?: boolean | undefined;
    refuseCode?: string | undefined;
    reason: string;
    warnings: string[];
    findings: string[];
  }): AuditEvent => {
    const e: AuditEvent = {
      node: "pcscf",
      event: "ims-alg-decision",
      callId,
      direction: decision.direction,
      kind: decision.kind,
      action: decision.action,
      sha256In,
      sha256Out,
      bodyUnchanged: sha256Out === sha256In,
      status: refuse?.status,
      warning: refuse?.warning,
      decision: d.decision,
      clause: d.clause,
      mline: d.mline,
      media: d.media,
      proto: d.proto,
      indications: d.indications,
      indication: d.indication,
      mechanism: d.mechanism,
      registeredCapability: d.registeredCapability,
      step: d.step,
      rcsPolicy: d.rcsPolicy,
      refuseCode: d.refuseCode,
      reason: d.reason,
      warnings: d.warnings,
      findings: d.findings,
    };
    // absent optional fields are not keys of the event (JSON and toEqual see the same object as before)
    if (e.status === undefined) delete e.status;
    if (e.warning === undefined) delete e.warning;
    if (e.step === undefined) delete e.step;
    if (e.rcsPolicy === undefined) delete e.rcsPolicy;
    if (e.refuseCode === undefined) delete e.refuseCode;
    return e;
  };
  if (decision.perMedia.length === 0) {
    return [
      event({
        decision: decision.action === "refuse" ? "refuse" : "none",
        clause: decision.clause,
        mline: null,
        media: null,
        proto: null,
        indications: [],
        indication: "none",
        mechanism: null,
        registeredCapability: false,
        reason: refuse?.warnings[0]?.text ?? "no m-line in the body",
        warnings: decision.warnings,
        findings: decision.findings.map((f) => f.code),
      }),
    ];
  }
  return decision.perMedia.map((p) =>
    event({
      decision: p.decision,
      clause: p.clause,
      mline: p.mline,
      media: p.media,
      proto: p.proto,
      indications: p.indications,
      indication: p.indication,
      mechanism: p.mechanism,
      registeredCapability: p.registeredCapability,
      step: p.step,
      rcsPolicy: p.rcsPolicy ? true : undefined,
      refuseCode: p.refuseCode,
      reason: p.reason,
      warnings: decision.warnings.length === 0 ? p.warnings : [...decision.warnings, ...p.warnings],
      findings: p.findings.length === 0 ? [] : [...new Set(p.findings.map((f) => f.code))],
    }),
  );
}
