/** The Via header (RFC 3261 §20.42, §25.1; RFC 3581 rport). Pure, no I/O. */
import { fail } from "../errors.ts";
import {
  formatParams,
  getParam,
  isHost,
  isIPv4,
  isIPv6,
  isToken,
  parseDigits,
  parseParams,
  type SipParam,
  splitHostPort,
  splitList,
} from "../grammar.ts";

export interface Via {
  /** sent-protocol name and version ("SIP", "2.0") */
  protocolName: string;
  protocolVersion: string;
  /** transport token, upper-case as written (UDP, TCP, TLS, SCTP, WS, WSS, ...) */
  transport: string;
  host: string;
  port?: number | undefined;
  params: SipParam[];
}

const isWsp = (c: string | undefined) => c === " " || c === "\t";

/** Drops trailing SP / HTAB in linear time (a `[ \t]+$` regex is quadratic over a long run of spaces). */
export function trimWspEnd(s: string): string {
  let b = s.length;
  while (b > 0 && isWsp(s[b - 1])) b--;
  return b === s.length ? s : s.slice(0, b);
}

/** The first COLON with its SWS (RFC 3261 §25.1) becomes ":" — `.replace(/[ \t]*:[ \t]*\/, ":")` in linear time. */
function swsColon(s: string): string {
  const c = s.indexOf(":");
  if (c < 0) return s;
  let a = c;
  while (a > 0 && isWsp(s[a - 1])) a--;
  let b = c + 1;
  while (b < s.length && isWsp(s[b])) b++;
  return `${s.slice(0, a)}:${s.slice(b)}`;
}

/** Parses one via-parm (RFC 3261 §20.42, §25.1; RFC 3581 rport). */
export function parseViaParm(text: string): Via {
  const s = text.trim();
  // RFC 3261 §25.1: sent-protocol = protocol-name SLASH protocol-version SLASH transport (SLASH = SWS "/" SWS)
  const m = /^([^\s/]+)[ \t]*\/[ \t]*([^\s/]+)[ \t]*\/[ \t]*([^\s/;]+)[ \t]+/.exec(s);
  // sent-by and params split without a regex: `([^;]+?)[ \t]*(;.*)?$` backtracked quadratically over a long run of
  // spaces inside sent-by (a 64 KiB Via took 16 s); same result: sent-by up to the first ";", trailing SP/HTAB off
  const rest = m ? s.slice(m[0].length) : "";
  const semi = rest.indexOf(";");
  const sentBy = semi < 0 ? rest : rest.slice(0, semi);
  const paramText = semi < 0 ? "" : rest.slice(semi);
  if (!m || sentBy === "" || /[\n\r\u2028\u2029]/.test(paramText)) fail("E_SIP_VIA", "bad sent-protocol / sent-by");
  const [, pname = "", pver = "", transport = ""] = m;
  if (!isToken(pname) || !isToken(pver) || !isToken(transport)) fail("E_SIP_VIA", "bad sent-protocol token");
  if (pname.toUpperCase() !== "SIP" || pver !== "2.0") fail("E_SIP_VIA", `unsupported sent-protocol ${pname}/${pver}`);
  // RFC 3261 §25.1: sent-by = host [ COLON port ]  (COLON allows SWS)
  const hp = splitHostPort(swsColon(trimWspEnd(sentBy)));
  if (!hp) fail("E_SIP_VIA", `bad sent-by "${sentBy}"`);
  const params = parseParams(paramText, "E_SIP_VIA", "Via");
  for (const p of params) {
    const name = p.name.toLowerCase();
    const v = p.value;
    if (name === "branch") {
      if (v === null || !isToken(v)) fail("E_SIP_VIA", "bad branch");
    } else if (name === "received") {
      // RFC 3261 §20.42: received = IPv4address / IPv6address (RFC 5118 §4.5: brackets tolerated)
      const addr = v?.startsWith("[") && v.endsWith("]") ? v.slice(1, -1) : v;
      if (addr === null || !(isIPv4(addr) || isIPv6(addr))) fail("E_SIP_VIA", "bad received");
    } else if (name === "rport") {
      // RFC 3581 §3: response-port = "rport" [EQUAL 1*DIGIT]
      if (v !== null && parseDigits(v, 65535) === undefined) fail("E_SIP_VIA", "bad rport");
    } else if (name === "ttl") {
      // RFC 3261 §25.1: ttl = 1*3DIGIT ; 0 to 255
      if (v === null || parseDigits(v, 255) === undefined || v.length > 3) fail("E_SIP_VIA", "bad ttl");
    } else if (name === "maddr") {
      if (v === null || !isHost(v)) fail("E_SIP_VIA", "bad maddr");
    }
  }
  return {
    protocolName: pname,
    protocolVersion: pver,
    transport: transport.toUpperCase(),
    host: hp.host,
    port: hp.port,
    params,
  };
}

export function parseVia(value: string): Via[] {
  return splitList(value, "E_SIP_VIA", "Via").map(parseViaParm);
}

export function formatVia(v: Via): string {
  const port = v.port !== undefined ? `:${v.port}` : "";
  return `${v.protocolName}/${v.protocolVersion}/${v.transport} ${v.host}${port}${formatParams(v.params)}`;
}

/** RFC 3261 §8.1.1.7: the branch of a compliant element begins with the magic cookie z9hG4bK. */
export const MAGIC_COOKIE = "z9hG4bK";

export function viaBranch(v: Via): string | undefined {
  const b = getParam(v.params, "branch");
  return b === null ? undefined : b;
}
