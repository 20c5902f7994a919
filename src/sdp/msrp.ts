/** MSRP SDP codecs (RFC 4975 §8.1, §9): `a=path`, `a=accept-types`, `a=accept-wrapped-types`, MSRP URIs. */
import { type Parsed, type Problem, problem, result } from "./findings.ts";
import { isToken, parseUint, show } from "./text.ts";

/** RFC 4975 §8.1: the MSRP protos (fmt list is "*"). */
export const MSRP_PROTOS = ["TCP/MSRP", "TCP/TLS/MSRP"] as const;
export type MsrpProto = (typeof MSRP_PROTOS)[number];

export function isMsrpProto(proto: string): proto is MsrpProto {
  return (MSRP_PROTOS as readonly string[]).includes(proto);
}

export interface MsrpUriParam {
  name: string;
  value?: string;
}

export interface MsrpUri {
  /** RFC 4975 §6: msrps = MSRP over TLS. */
  scheme: "msrp" | "msrps";
  userinfo?: string;
  /** Host as written: reg-name, IPv4 address or "[IPv6]". */
  host: string;
  port?: number;
  sessionId?: string;
  /** RFC 4975 §9: transport = "tcp" / 1*ALPHANUM. */
  transport: string;
  params?: MsrpUriParam[];
}

// RFC 3986 §3.2: userinfo = *( unreserved / pct-encoded / sub-delims / ":" ) (";" excluded: it ends the authority here)
const USERINFO_RE = /^(?:[A-Za-z0-9\-._~!$&'()*+,=:]|%[0-9A-Fa-f]{2})*$/;
// RFC 3986 §3.2.2: reg-name = *( unreserved / pct-encoded / sub-delims ), IPv4address, IP-literal
const REGNAME_RE = /^(?:[A-Za-z0-9\-._~!$&'()*+,=]|%[0-9A-Fa-f]{2})+$/;
const IP_LITERAL_RE = /^\[(?:[0-9A-Fa-f:.]+|v[0-9A-Fa-f]+\.[A-Za-z0-9\-._~!$&'()*+,=:]+)\]$/;
// RFC 4975 §9: session-id = 1*( unreserved / "+" / "=" / "/" )
const SESSION_ID_RE = /^[A-Za-z0-9\-._~+=/]+$/;

/** Parses one MSRP URI (RFC 4975 §9 MSRP-URI ABNF). */
export function parseMsrpUri(text: string): Parsed<MsrpUri> {
  const bad = (why: string): Parsed<MsrpUri> =>
    result<MsrpUri>(undefined, [problem("E_MSRP_PATH", `MSRP URI ${show(text, 60)} ${why}`)]);
  // RFC 4975 §9: MSRP-URI = msrp-scheme "://" authority ["/" session-id] ";" transport *( ";" URI-parameter)
  const sm = /^(msrps?):\/\//i.exec(text);
  if (!sm) return bad('does not start with "msrp://" or "msrps://"');
  const scheme = (sm[1] ?? "").toLowerCase() as "msrp" | "msrps";
  const rest = text.slice(sm[0].length);
  const semi = rest.indexOf(";");
  if (semi < 0) return bad("has no ;transport");
  const beforeSemi = rest.slice(0, semi);
  const slash = beforeSemi.indexOf("/");
  const authority = slash < 0 ? beforeSemi : beforeSemi.slice(0, slash);
  const sessionId = slash < 0 ? undefined : beforeSemi.slice(slash + 1);
  const at = authority.lastIndexOf("@");
  const userinfo = at < 0 ? undefined : authority.slice(0, at);
  const hostport = at < 0 ? authority : authority.slice(at + 1);
  if (userinfo !== undefined && !USERINFO_RE.test(userinfo)) return bad("has an invalid userinfo");
  let host: string;
  let portText: string | undefined;
  if (hostport.startsWith("[")) {
    const close = hostport.indexOf("]");
    host = close < 0 ? hostport : hostport.slice(0, close + 1);
    const after = close < 0 ? "" : hostport.slice(close + 1);
    if (after !== "" && !after.startsWith(":")) return bad("has garbage after the IP literal");
    portText = after === "" ? undefined : after.slice(1);
    if (!IP_LITERAL_RE.test(host)) return bad("has an invalid IP literal");
  } else {
    const colon = hostport.lastIndexOf(":");
    host = colon < 0 ? hostport : hostport.slice(0, colon);
    portText = colon < 0 ? undefined : hostport.slice(colon + 1);
    if (!REGNAME_RE.test(host)) return bad("has an empty or invalid host");
  }
  let port: number | undefined;
  if (portText !== undefined) {
    port = parseUint(portText, 65535);
    if (port === undefined) return bad("has an invalid port");
  }
  if (sessionId !== undefined && !SESSION_ID_RE.test(sessionId)) return bad("has an invalid session-id");
  const segs = rest.slice(semi + 1).split(";");
  const transport = segs[0] ?? "";
  // RFC 4975 §9: transport = "tcp" / 1*ALPHANUM
  if (!/^[A-Za-z0-9]+$/.test(transport)) return bad("has an invalid transport");
  const params: MsrpUriParam[] = [];
  for (const seg of segs.slice(1)) {
    // RFC 4975 §9: URI-parameter = token ["=" token]
    const eq = seg.indexOf("=");
    const name = eq < 0 ? seg : seg.slice(0, eq);
    const value = eq < 0 ? undefined : seg.slice(eq + 1);
    if (!isToken(name) || (value !== undefined && !isToken(value)))
      return bad(`has an invalid parameter ${show(seg, 20)}`);
    params.push(value === undefined ? { name } : { name, value });
  }
  const uri: MsrpUri = { scheme, host, transport };
  if (userinfo !== undefined) uri.userinfo = userinfo;
  if (port !== undefined) uri.port = port;
  if (sessionId !== undefined) uri.sessionId = sessionId;
  if (params.length > 0) uri.params = params;
  return result(uri, []);
}

export function formatMsrpUri(u: MsrpUri): string {
  const user = u.userinfo === undefined ? "" : `${u.userinfo}@`;
  const port = u.port === undefined ? "" : `:${u.port}`;
  const sid = u.sessionId === undefined ? "" : `/${u.sessionId}`;
  const params = (u.params ?? []).map((p) => (p.value === undefined ? `;${p.name}` : `;${p.name}=${p.value}`)).join("");
  return `${u.scheme}://${user}${u.host}${port}${sid};${u.transport}${params}`;
}

/** RFC 4975 §9: path = path-label ":" path-list; path-list = MSRP-URI *(SP MSRP-URI). */
export function parseMsrpPath(text: string): Parsed<MsrpUri[]> {
  if (text === "") return result<MsrpUri[]>(undefined, [problem("E_MSRP_PATH", "a=path is empty")]);
  const uris: MsrpUri[] = [];
  const problems: Problem[] = [];
  for (const part of text.split(" ")) {
    const r = parseMsrpUri(part);
    problems.push(...r.problems);
    if (r.value) uris.push(r.value);
    // one invalid URI makes the whole path invalid: report it once, not once per SP (a 64 KiB line of spaces would
    // otherwise yield one finding per byte)
    if (r.problems.length > 0) break;
  }
  return problems.length > 0 ? result<MsrpUri[]>(undefined, problems) : result(uris, []);
}

export function formatMsrpPath(uris: readonly MsrpUri[]): string {
  return uris.map(formatMsrpUri).join(" ");
}

/** RFC 4975 §9: format-list = format-entry *( SP format-entry); format-entry = "*" / type "/" subtype / type "/" "*". */
function parseFormatList(
  text: string,
  code: "E_MSRP_ACCEPT_TYPES" | "E_MSRP_ACCEPT_WRAPPED_TYPES",
  name: string,
): Parsed<string[]> {
  const entries = text.split(" ");
  const badEntry = entries.find(
    (x) => !(x === "*" || /^[^/\s]+\/[^/\s]+$/.test(x)) || (x !== "*" && !x.split("/").every(isToken)),
  );
  if (text === "" || badEntry !== undefined) {
    return result<string[]>(undefined, [problem(code, `${name} ${show(text, 60)} is not a list of type/subtype`)]);
  }
  return result(entries, []);
}

export function parseAcceptTypes(text: string): Parsed<string[]> {
  return parseFormatList(text, "E_MSRP_ACCEPT_TYPES", "accept-types");
}

export function parseAcceptWrappedTypes(text: string): Parsed<string[]> {
  return parseFormatList(text, "E_MSRP_ACCEPT_WRAPPED_TYPES", "accept-wrapped-types");
}

export function formatAcceptTypes(types: readonly string[]): string {
  return types.join(" ");
}
