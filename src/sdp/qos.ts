/**
 * `a=3gpp-qos-hint` codec (TS 26.114 Annex M.11 registration; media level). The clause holding its ABNF is not
 * named by the registration and was not available; the observed shape is `loss=<fraction>;latency=<ms>` and unknown
 * parameters are kept and ignored.
 */
import { type Parsed, type Problem, problem, result } from "./findings.ts";
import { isCanonicalUint, isToken, parseUint, show, toPlainDecimal } from "./text.ts";

export interface QosHintParam {
  name: string;
  value: string;
}

export interface QosHint {
  /** Desired maximum packet loss as a fraction in [0, 1] (maps to Desired-Max-Loss, TS 29.214 A.20). */
  loss?: number;
  /** Desired maximum latency in milliseconds (maps to Desired-Max-Latency, TS 29.214 A.20). */
  latency?: number;
  /** Unknown parameters, kept verbatim and ignored. */
  ext?: QosHintParam[];
}

const DECIMAL_RE = /^(\d+)(\.\d+)?$/;

export function parseQosHint(text: string): Parsed<QosHint> {
  if (text === "") return result<QosHint>(undefined, [problem("E_QOS_HINT_SYNTAX", "3gpp-qos-hint has no parameters")]);
  const hint: QosHint = {};
  const problems: Problem[] = [];
  const ext: QosHintParam[] = [];
  const seen = new Set<string>();
  // one syntax finding per attribute, not one per ";" (64 KiB of ";" would otherwise yield one finding per byte)
  let syntaxReported = false;
  const syntax = (message: string) => {
    if (!syntaxReported) problems.push(problem("E_QOS_HINT_SYNTAX", message));
    syntaxReported = true;
  };
  for (const part of text.split(";")) {
    const eq = part.indexOf("=");
    const name = eq < 0 ? part : part.slice(0, eq);
    const value = eq < 0 ? "" : part.slice(eq + 1);
    // TS 26.114 Annex M.11 (shape): param = name "=" value, parameters separated by ";"
    if (eq < 0 || !isToken(name) || !isToken(value)) {
      syntax(`3gpp-qos-hint parameter ${show(part, 40)} is not name=value`);
      continue;
    }
    const key = name.toLowerCase();
    if (seen.has(key)) {
      syntax(`3gpp-qos-hint parameter ${key} repeated`);
      continue;
    }
    seen.add(key);
    if (key === "loss") {
      // loss is a fraction of packets: a decimal in [0, 1].
      const n = DECIMAL_RE.test(value) ? Number(value) : Number.NaN;
      if (Number.isFinite(n) && n >= 0 && n <= 1) hint.loss = n;
      else
        problems.push(problem("E_QOS_HINT_VALUE", `3gpp-qos-hint loss=${show(value, 20)} is not a fraction in [0,1]`));
    } else if (key === "latency") {
      // latency is a positive integer number of milliseconds.
      const n = isCanonicalUint(value) ? parseUint(value, 0xffff_ffff, 1) : undefined;
      if (n !== undefined) hint.latency = n;
      else
        problems.push(
          problem("E_QOS_HINT_VALUE", `3gpp-qos-hint latency=${show(value, 20)} is not a positive integer`),
        );
    } else {
      // Unknown parameters are ignored (kept for re-serialisation).
      ext.push({ name, value });
    }
  }
  if (ext.length > 0) hint.ext = ext;
  if (
    problems.some((p) => p.code === "E_QOS_HINT_SYNTAX") &&
    hint.loss === undefined &&
    hint.latency === undefined &&
    ext.length === 0
  ) {
    return result<QosHint>(undefined, problems);
  }
  return result(hint, problems);
}

export function formatQosHint(hint: QosHint): string {
  const parts: string[] = [];
  if (hint.loss !== undefined) parts.push(`loss=${toPlainDecimal(hint.loss)}`);
  if (hint.latency !== undefined) parts.push(`latency=${hint.latency}`);
  for (const p of hint.ext ?? []) parts.push(`${p.name}=${p.value}`);
  return parts.join(";");
}
