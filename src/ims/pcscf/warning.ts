/**
 * The Warning header values of the IMS-ALG refusals (RFC 3261 §20.43, warn-code 399) and the 488 they go with
 * (RFC 3261 §21.4.26).
 */

import type { AlgRefusal, WarningValue } from "./algTypes.ts";

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

export function refusal(agent: string, items: ReadonlyArray<{ code: string; text: string }>): AlgRefusal {
  const warnings: WarningValue[] = items.map((i) => ({ code: 399, agent, text: warnText(i.text) }));
  return {
    status: 488, // RFC 3261 §21.4.26: the session description is not acceptable here
    reason: "Not Acceptable Here",
    warning: warnings.map(formatWarningValue).join(", "),
    warnings,
    codes: items.map((i) => i.code),
  };
}
