/**
 * What the IMS-ALG reads from one m-line before deciding (alg.ts, mediaDecision.ts): its media family, the mediasec
 * mechanism that governs e2ae for it, its security-scope indications (`a=3ge2ae`, the e2DCe mapping) and whether a
 * finding of src/sdp makes one of its security attributes unusable.
 */

import type { Finding, MediaInfo } from "../../sdp/index.ts";
import type { Direction, E2aeStep, Indication, MediaFamily, SdpKind } from "./algTypes.ts";
import type { AlgConfig } from "./config.ts";

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

/** The rewrite step for an exchange direction and SDP kind (TR 29.828 §5.2.1.2.2/.3 step 8, 19/17). */
export function e2aeStepFor(direction: Direction, kind: SdpKind): E2aeStep {
  return `${direction}-${kind}` as E2aeStep;
}

export function familyOf(m: MediaInfo): MediaFamily {
  if (m.kind === "dc" || m.kind === "sctp") return "dc";
  if (m.kind === "msrp") return "msrp";
  if (m.kind === "bfcp") return "bfcp";
  return "other";
}

export function isSecured(m: MediaInfo): boolean {
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

export interface ReadIndications {
  list: string[];
  requested: boolean;
  applied: boolean;
  e2dce: boolean;
  /** 3ge2ae values that are neither requested/applied nor mapped to e2DCe. */
  unknown: string[];
  indication: Indication;
}

/** Reads the indications of one m-line: `a=3ge2ae` (TS 24.229 §7.5.2) and the configured e2DCe mapping. */
export function readIndications(m: MediaInfo, config: AlgConfig): ReadIndications {
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

export function isSecurityFinding(f: Finding): boolean {
  if (f.severity !== "error") return false;
  if (SECURITY_CODES.has(f.code)) return true;
  return f.code === "E_ATTR_DUPLICATE" && SECURITY_DUP_CLAUSES.some((c) => f.clause.startsWith(c));
}
