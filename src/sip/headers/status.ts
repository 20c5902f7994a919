/** Headers that qualify a response: Warning (RFC 3261 §20.43) and Retry-After (§20.33). Pure, no I/O. */
import { fail } from "../errors.ts";
import {
  formatParams,
  getParam,
  isQuotedString,
  isToken,
  parseDigits,
  parseParams,
  quote,
  type SipParam,
  splitHostPort,
  splitList,
  unquote,
} from "../grammar.ts";

export interface Warning {
  /** warn-code = 3DIGIT */
  code: number;
  /** warn-agent = hostport / pseudonym */
  agent: string;
  /** decoded warn-text */
  text: string;
}

/** RFC 3261 §20.43: warning-value = warn-code SP warn-agent SP warn-text */
export function parseWarning(value: string): Warning[] {
  return splitList(value, "E_SIP_WARNING", "Warning").map((item) => {
    const m = /^([0-9]{3}) ([^ \t"]+) (".*")$/.exec(item);
    if (!m) fail("E_SIP_WARNING", "bad warning-value");
    const agent = m[2] ?? "";
    if (!splitHostPort(agent) && !isToken(agent)) fail("E_SIP_WARNING", "bad warn-agent");
    const text = m[3] ?? "";
    if (!isQuotedString(text)) fail("E_SIP_WARNING", "bad warn-text");
    return { code: Number(m[1]), agent, text: unquote(text) };
  });
}

export function formatWarning(list: readonly Warning[]): string {
  return list.map((w) => `${String(w.code).padStart(3, "0")} ${w.agent} ${quote(w.text)}`).join(", ");
}

export interface RetryAfter {
  seconds: number;
  comment?: string | undefined;
  params: SipParam[];
}

/** RFC 3261 §20.33: Retry-After = delta-seconds [ comment ] *( SEMI retry-param ) */
export function parseRetryAfter(value: string): RetryAfter {
  const v = value.trim();
  const m = /^([0-9]+)[ \t]*/.exec(v);
  if (!m) fail("E_SIP_RETRY_AFTER", "bad delta-seconds");
  const seconds = parseDigits(m[1] ?? "", 0xffffffff);
  if (seconds === undefined) fail("E_SIP_RETRY_AFTER", "delta-seconds too large");
  let i = m[0].length;
  let comment: string | undefined;
  if (v[i] === "(") {
    // RFC 3261 §25.1: comment = LPAREN *(ctext / quoted-pair / comment) RPAREN (nesting allowed)
    let depth = 0;
    const start = i;
    for (; i < v.length; i++) {
      const ch = v[i];
      if (ch === "\\") i++;
      else if (ch === "(") depth++;
      else if (ch === ")") {
        depth--;
        if (depth === 0) break;
      }
    }
    if (depth !== 0) fail("E_SIP_RETRY_AFTER", "unterminated comment");
    comment = v.slice(start + 1, i);
    i++;
  }
  const rest = v.slice(i).trim();
  if (rest !== "" && !rest.startsWith(";")) fail("E_SIP_RETRY_AFTER", "junk after delta-seconds");
  const params = parseParams(rest, "E_SIP_RETRY_AFTER", "Retry-After");
  const dur = getParam(params, "duration");
  if (dur !== undefined && (dur === null || parseDigits(dur, 0xffffffff) === undefined)) {
    fail("E_SIP_RETRY_AFTER", "bad duration");
  }
  return { seconds, comment, params };
}

export function formatRetryAfter(r: RetryAfter): string {
  return `${r.seconds}${r.comment !== undefined ? ` (${r.comment})` : ""}${formatParams(r.params)}`;
}
