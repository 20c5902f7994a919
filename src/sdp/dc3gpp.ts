/**
 * The 3GPP data channel attributes `a=3gpp-bdc-used-by` and `a=3gpp-req-app` (TS 26.114 §6.2.10, TS 24.186 §9.3).
 *
 * What the spec text fixes and this module relies on:
 * - TS 24.186 §9.3.3.2.1: the remote bootstrap data channel m-line (dcmap stream ids 100 and 110, subprotocol "http")
 *   carries `a=3gpp-bdc-used-by` whose `bdc-used-by` value is "sender" (the bootstrap channel between the originating
 *   UE and the terminating network) or "receiver" (between the terminating UE and the originating network); the IMS
 *   AS identifies the m-line it deletes or rewrites by that value.
 * - TS 24.186 §9.3: application data channels are the dcmap lines with stream ids from 1000 up and their associated
 *   `a=3gpp-req-app` lines (TS 26.114).
 *
 * The value grammars below are this module's reading (the ABNF of TS 26.114 §6.2.10 was not available when this was
 * written): both codecs keep the exact text (`raw`), the answer builder echoes that text byte for byte, and values
 * outside the known shapes are warnings, not errors, so a peer using a wider grammar still interoperates.
 */

import { MAX_STREAM_ID } from "./dcmap.ts";
import { type Parsed, type Problem, problem, result } from "./findings.ts";
import { isToken, show } from "./text.ts";

// ---- a=3gpp-bdc-used-by -----------------------------------------------------------------------------------------

/** TS 24.186 §9.3.3.2.1: the remote bootstrap data channel m-line has dcmap stream ids 100 and 110. */
export const REMOTE_BOOTSTRAP_STREAM_IDS: readonly number[] = [100, 110];

/** TS 24.186 §9.3.3.2.1: "sender" / "receiver"; "other" for any other token (kept, reported, ignored). */
export type BdcUsedByRole = "sender" | "receiver" | "other";

export interface BdcUsedBy {
  role: BdcUsedByRole;
  /** The attribute value exactly as written. */
  raw: string;
}

/** Parses the value of `a=3gpp-bdc-used-by:` (bdc-used-by = "sender" / "receiver" / token). */
export function parseBdcUsedBy(text: string): Parsed<BdcUsedBy> {
  if (!isToken(text)) {
    return result<BdcUsedBy>(undefined, [
      problem("E_BDC_USED_BY_SYNTAX", `3gpp-bdc-used-by ${show(text)} is not a token ("sender" / "receiver")`),
    ]);
  }
  const v = text.toLowerCase();
  // TS 24.186 §9.3.3.2.1: the values used are "sender" and "receiver".
  if (v === "sender" || v === "receiver") return result({ role: v, raw: text }, []);
  return result({ role: "other", raw: text }, [
    problem("W_BDC_USED_BY_UNKNOWN", `3gpp-bdc-used-by value ${show(text)} is neither "sender" nor "receiver"`),
  ]);
}

// ---- a=3gpp-req-app ---------------------------------------------------------------------------------------------

export interface ReqAppParam {
  name: string;
  /** The value exactly as written (token or quoted-string with its quotes); undefined for a bare name. */
  value?: string;
}

export interface ReqApp {
  /** The dcmap stream id of the application data channel this line belongs to (TS 24.186 §9.3: from 1000 up). */
  streamId: number;
  /** The requested data channel application, exactly as written (token or quoted-string). */
  appId: string;
  /** Further parameters, e.g. `app-dc-status=…`, in order. */
  params: ReqAppParam[];
  /** The attribute value exactly as written. */
  raw: string;
}

/** The optional parameter the answerer may change (TS 26.114 §6.2.10); every other part is echoed unchanged. */
export const REQ_APP_STATUS_PARAM = "app-dc-status";

const QUOTED = /^"(?:[^"\\\r\n]|\\[\x20-\x7e])*"$/;

function isTokenOrQuoted(s: string): boolean {
  return isToken(s) || QUOTED.test(s);
}

/** Splits on SP outside quoted-strings; undefined on an unterminated quote or an empty item. */
function splitSp(text: string): string[] | undefined {
  const out: string[] = [];
  let cur = "";
  let quoted = false;
  for (let i = 0; i < text.length; i++) {
    const c = text[i] ?? "";
    if (c === '"') quoted = !quoted;
    if (c === "\\" && quoted) {
      cur += c + (text[i + 1] ?? "");
      i++;
      continue;
    }
    if (c === " " && !quoted) {
      if (cur === "") return undefined;
      out.push(cur);
      cur = "";
      continue;
    }
    cur += c;
  }
  if (quoted || cur === "") return undefined;
  out.push(cur);
  return out;
}

/**
 * Parses the value of `a=3gpp-req-app:` read as `dcmap-stream-id SP app-id *(SP param)`, with app-id a token or a
 * quoted-string and param = token ["=" (token / quoted-string)]. The stream id ties the line to the dcmap of the
 * same m-line (TS 24.186 §9.3).
 */
export function parseReqApp(text: string): Parsed<ReqApp> {
  const m = /^(\d{1,5}) (.+)$/.exec(text);
  const parts = m ? splitSp(m[2] ?? "") : undefined;
  const bad = (why: string) =>
    result<ReqApp>(undefined, [problem("E_REQ_APP_SYNTAX", `3gpp-req-app ${show(text)} ${why}`)]);
  if (!m || !parts) return bad('is not "<stream-id> SP <app-id> *(SP <param>)"');
  const [appId, ...rest] = parts;
  if (appId === undefined || !isTokenOrQuoted(appId)) return bad("has an app-id that is neither a token nor quoted");
  const params: ReqAppParam[] = [];
  for (const p of rest) {
    const eq = p.indexOf("=");
    const name = eq < 0 ? p : p.slice(0, eq);
    const value = eq < 0 ? undefined : p.slice(eq + 1);
    if (!isToken(name) || (value !== undefined && !isTokenOrQuoted(value)))
      return bad(`has a parameter ${show(p, 30)} that is not token ["=" token / quoted-string]`);
    params.push(value === undefined ? { name } : { name, value });
  }
  const streamId = Number(m[1]);
  const problems: Problem[] = [];
  // RFC 8832 §6.4: stream id 65535 is reserved.
  if (streamId > MAX_STREAM_ID)
    problems.push(problem("E_DCMAP_ID_RANGE", `3gpp-req-app stream id ${streamId} is above ${MAX_STREAM_ID}`));
  return result({ streamId, appId, params, raw: text }, problems);
}

/** The parts an answer must repeat: everything but `app-dc-status` (TS 26.114 §6.2.10). */
export function reqAppIdentity(r: ReqApp): string {
  const params = r.params.filter((p) => p.name.toLowerCase() !== REQ_APP_STATUS_PARAM);
  return [
    String(r.streamId),
    r.appId,
    ...params.map((p) => (p.value === undefined ? p.name : `${p.name}=${p.value}`)),
  ].join(" ");
}
