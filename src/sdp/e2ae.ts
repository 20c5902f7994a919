/**
 * `a=3ge2ae` codec (TS 24.229 §7.5.2) and the mapping of the wire values to the abstract security-scope indications
 * of TS 33.328 (§7.2.1 e2ae, §7.2.4 e2DCe). TS 24.229 §7.5.2 defines only "requested" and "applied" ("Other values
 * shall be ignored"): no text defines the wire form of the e2DCe indication, so it is configurable.
 */
import { type Parsed, problem, result } from "./findings.ts";
import { isToken, show } from "./text.ts";

/** TS 24.229 §7.5.2.2: indicator = "requested" / "applied" / token. */
export type E2aeValue = "requested" | "applied";

export interface E2ae {
  /** "requested" / "applied", or "other" for any other token (which shall be ignored, TS 24.229 §7.5.2.1). */
  indicator: E2aeValue | "other";
  /** The token exactly as written. */
  raw: string;
}

export function parse3ge2ae(text: string): Parsed<E2ae> {
  // TS 24.229 §7.5.2.2: 3ge2ae-attribute = "a=3ge2ae:" indicator; indicator = "requested" / "applied" / token
  if (!isToken(text))
    return result<E2ae>(undefined, [problem("E_3GE2AE_SYNTAX", `3ge2ae value ${show(text)} is not a token`)]);
  const v = text.toLowerCase();
  if (v === "requested" || v === "applied") return result<E2ae>({ indicator: v, raw: text }, []);
  // TS 24.229 §7.5.2.1: only "requested" and "applied" are defined; other values shall be ignored.
  return result<E2ae>({ indicator: "other", raw: text }, [
    problem("W_3GE2AE_UNKNOWN", `3ge2ae value ${show(text)} is not requested/applied and is ignored`),
  ]);
}

export function format3ge2ae(v: E2ae | E2aeValue): string {
  return typeof v === "string" ? v : v.indicator === "other" ? v.raw : v.indicator;
}

/** Abstract security-scope indications of TS 33.328 (§7.2.5 step 2) read from one m-line. */
export type SecurityIndication = "e2ae-requested" | "e2dce-requested" | "e2ae-applied" | "none";

export interface IndicationOptions {
  /**
   * 3ge2ae tokens that mean "e2DCe-security for IMS data channel requested by UE". The wire encoding is
   * defined by neither TS 33.328 §7.2.4 nor TS 24.229 §7.5.2, so none is mapped by default.
   */
  e2dceValues?: readonly string[];
}

/**
 * Maps the 3ge2ae values present on one m-line to the indication the P-CSCF acts on. Unknown values are ignored
 * (TS 24.229 §7.5.2.1); `requested` wins over `applied` when both appear.
 */
export function securityIndication(values: readonly string[], opts: IndicationOptions = {}): SecurityIndication {
  const lower = values.map((v) => v.toLowerCase());
  const e2dce = (opts.e2dceValues ?? []).map((v) => v.toLowerCase());
  if (lower.some((v) => e2dce.includes(v))) return "e2dce-requested";
  if (lower.includes("requested")) return "e2ae-requested";
  if (lower.includes("applied")) return "e2ae-applied";
  return "none";
}
