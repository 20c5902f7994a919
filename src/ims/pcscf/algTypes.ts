/**
 * The types of the IMS-ALG media-security decision (alg.ts): the exchange direction and SDP kind, the per-m-line
 * decision, the refusal and the Warning values it carries. See docs/pcscf-alg.md.
 */

import type { Finding } from "../../sdp/index.ts";
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
