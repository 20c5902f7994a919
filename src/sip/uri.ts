/**
 * URIs (RFC 3261 §19.1, §25.1; tel: RFC 3966). SIP and SIPS URIs are parsed into parts that keep their escaped
 * form, so that formatUri(parseUri(s)) reproduces a canonical equivalent; other absolute URIs are kept opaque.
 */
import { fail } from "./errors.ts";
import { formatParams, isHost, isToken, parseDigits, type SipParam } from "./grammar.ts";

export interface SipUri {
  scheme: "sip" | "sips";
  /** user part in its escaped form (RFC 3261 §19.1.2) */
  user?: string | undefined;
  password?: string | undefined;
  /** hostname, IPv4 address or IPv6 reference with brackets */
  host: string;
  port?: number | undefined;
  /** uri-parameters in order, values escaped */
  params: SipParam[];
  /** headers (`?a=b&c=d`) in order, escaped */
  headers: { name: string; value: string }[];
}

export interface TelUri {
  scheme: "tel";
  /** global (+...) or local number with visual separators as written */
  number: string;
  params: SipParam[];
}

/** Any other absoluteURI (RFC 3261 §25.1 absoluteURI), kept opaque. */
export interface AbsoluteUri {
  scheme: string;
  /** everything after "scheme:" */
  opaque: string;
}

export type Uri = SipUri | TelUri | AbsoluteUri;

export function isSipUri(u: Uri): u is SipUri {
  return u.scheme === "sip" || u.scheme === "sips";
}

export function isTelUri(u: Uri): u is TelUri {
  return u.scheme === "tel";
}

// RFC 3261 §25.1 character classes
const UNRESERVED = "A-Za-z0-9\\-_.!~*'()";
const ESCAPED = "%[0-9A-Fa-f]{2}";
/** user = 1*( unreserved / escaped / user-unreserved ); user-unreserved = "&" / "=" / "+" / "$" / "," / ";" / "?" / "/" */
const USER_RE = new RegExp(`^(?:[${UNRESERVED}&=+$,;?/]|${ESCAPED})+$`);
/** password = *( unreserved / escaped / "&" / "=" / "+" / "$" / "," ) */
const PASSWORD_RE = new RegExp(`^(?:[${UNRESERVED}&=+$,]|${ESCAPED})*$`);
/** paramchar = param-unreserved / unreserved / escaped; param-unreserved = "[" / "]" / "/" / ":" / "&" / "+" / "$" */
const PARAMCHARS_RE = new RegExp(`^(?:[${UNRESERVED}[\\]/:&+$]|${ESCAPED})+$`);
/** hname/hvalue chars: hnv-unreserved = "[" / "]" / "/" / "?" / ":" / "+" / "$" (hvalue may be empty) */
const HNV_RE = new RegExp(`^(?:[${UNRESERVED}[\\]/?:+$]|${ESCAPED})*$`);
/** RFC 3261 §25.1: scheme = ALPHA *( ALPHA / DIGIT / "+" / "-" / "." ) */
const SCHEME_RE = /^[A-Za-z][A-Za-z0-9+\-.]*$/;
/** RFC 3966 §3: phonedigit-hex / visual-separator, and "+" for global numbers */
const TEL_RE = /^(?:\+[0-9\-.()]*[0-9][0-9\-.()]*|[0-9A-Fa-f*#\-.()]*[0-9A-Fa-f*#][0-9A-Fa-f*#\-.()]*)$/;
/** RFC 3261 §25.1 absoluteURI: no whitespace, no quotes, no angle brackets */
const OPAQUE_RE = /^[^\s"<>]+$/;

function parseUriParams(s: string): SipParam[] {
  const out: SipParam[] = [];
  if (s === "") return out;
  for (const piece of s.split(";")) {
    const eq = piece.indexOf("=");
    const name = eq < 0 ? piece : piece.slice(0, eq);
    if (!PARAMCHARS_RE.test(name)) fail("E_SIP_URI", `bad uri-parameter name "${name}"`);
    if (eq < 0) out.push({ name, value: null });
    else {
      const value = piece.slice(eq + 1);
      if (!PARAMCHARS_RE.test(value)) fail("E_SIP_URI", `bad value for uri-parameter ${name}`);
      out.push({ name, value });
    }
  }
  return out;
}

function parseSipUriRest(scheme: "sip" | "sips", rest: string): SipUri {
  let userinfo: string | undefined;
  let hostpart = rest;
  const at = rest.indexOf("@");
  if (at >= 0) {
    userinfo = rest.slice(0, at);
    hostpart = rest.slice(at + 1);
  }
  let user: string | undefined;
  let password: string | undefined;
  if (userinfo !== undefined) {
    // RFC 3261 §25.1 userinfo = ( user / telephone-subscriber ) [ ":" password ] "@"
    const colon = userinfo.indexOf(":");
    user = colon < 0 ? userinfo : userinfo.slice(0, colon);
    if (colon >= 0) password = userinfo.slice(colon + 1);
    if (!USER_RE.test(user)) fail("E_SIP_URI", "bad user part");
    if (password !== undefined && !PASSWORD_RE.test(password)) fail("E_SIP_URI", "bad password");
  }
  const q = hostpart.indexOf("?");
  const headersPart = q < 0 ? undefined : hostpart.slice(q + 1);
  const beforeHeaders = q < 0 ? hostpart : hostpart.slice(0, q);
  const semi = beforeHeaders.indexOf(";");
  const hostport = semi < 0 ? beforeHeaders : beforeHeaders.slice(0, semi);
  const paramsPart = semi < 0 ? "" : beforeHeaders.slice(semi + 1);
  let host: string;
  let portText: string | undefined;
  if (hostport.startsWith("[")) {
    const close = hostport.indexOf("]");
    if (close < 0) fail("E_SIP_URI", "unterminated IPv6 reference");
    host = hostport.slice(0, close + 1);
    const after = hostport.slice(close + 1);
    if (after !== "") {
      if (!after.startsWith(":")) fail("E_SIP_URI", "junk after IPv6 reference");
      portText = after.slice(1);
    }
  } else {
    const colon = hostport.indexOf(":");
    host = colon < 0 ? hostport : hostport.slice(0, colon);
    if (colon >= 0) portText = hostport.slice(colon + 1);
  }
  if (!isHost(host)) fail("E_SIP_URI", `bad host "${host}"`);
  let port: number | undefined;
  if (portText !== undefined) {
    port = parseDigits(portText, 65535);
    if (port === undefined) fail("E_SIP_URI", `bad port "${portText}"`);
  }
  const params = parseUriParams(paramsPart);
  const headers: { name: string; value: string }[] = [];
  if (headersPart !== undefined) {
    // RFC 3261 §25.1 headers = "?" header *( "&" header ); header = hname "=" hvalue
    for (const h of headersPart.split("&")) {
      const eq = h.indexOf("=");
      if (eq <= 0) fail("E_SIP_URI", "bad URI header");
      const name = h.slice(0, eq);
      const value = h.slice(eq + 1);
      if (!HNV_RE.test(name) || !HNV_RE.test(value)) fail("E_SIP_URI", "bad URI header characters");
      headers.push({ name, value });
    }
  }
  return { scheme, user, password, host, port, params, headers };
}

/** Parses any URI a SIP message can carry; throws SipParseError E_SIP_URI. */
export function parseUri(text: string): Uri {
  const colon = text.indexOf(":");
  if (colon <= 0) fail("E_SIP_URI", "URI has no scheme");
  const scheme = text.slice(0, colon);
  if (!SCHEME_RE.test(scheme)) fail("E_SIP_URI", `bad URI scheme "${scheme}"`);
  const rest = text.slice(colon + 1);
  if (rest === "") fail("E_SIP_URI", "empty URI");
  if (/[\s<>"]/.test(rest)) fail("E_SIP_URI", "whitespace, quote or angle bracket inside URI");
  const lower = scheme.toLowerCase();
  if (lower === "sip" || lower === "sips") return parseSipUriRest(lower, rest);
  if (lower === "tel") {
    const semi = rest.indexOf(";");
    const num = semi < 0 ? rest : rest.slice(0, semi);
    if (!TEL_RE.test(num)) fail("E_SIP_URI", "bad telephone-subscriber");
    const params = parseUriParams(semi < 0 ? "" : rest.slice(semi + 1));
    // RFC 3966 §5.1.5: a local number requires phone-context
    if (!num.startsWith("+") && !params.some((p) => p.name.toLowerCase() === "phone-context")) {
      fail("E_SIP_URI", "local tel number without phone-context");
    }
    return { scheme: "tel", number: num, params };
  }
  if (!OPAQUE_RE.test(rest)) fail("E_SIP_URI", "bad absolute URI");
  return { scheme: lower, opaque: rest };
}

/** Parses a URI and requires sip: or sips:. */
export function parseSipUri(text: string): SipUri {
  const u = parseUri(text);
  if (!isSipUri(u)) fail("E_SIP_URI", `not a SIP URI: ${u.scheme}`);
  return u;
}

export function formatUri(u: Uri): string {
  if (isSipUri(u)) {
    let s = `${u.scheme}:`;
    if (u.user !== undefined) s += u.password !== undefined ? `${u.user}:${u.password}@` : `${u.user}@`;
    s += u.host;
    if (u.port !== undefined) s += `:${u.port}`;
    s += formatParams(u.params);
    if (u.headers.length > 0) s += `?${u.headers.map((h) => `${h.name}=${h.value}`).join("&")}`;
    return s;
  }
  if (isTelUri(u)) return `tel:${u.number}${formatParams(u.params)}`;
  const a = u as AbsoluteUri;
  return `${a.scheme}:${a.opaque}`;
}

/** Percent-decodes an escaped URI component (RFC 3261 §19.1.2); invalid escapes are left as they are. */
export function unescapeUriPart(s: string): string {
  return s.replace(/((?:%[0-9A-Fa-f]{2})+)/g, (m) => {
    try {
      return decodeURIComponent(m);
    } catch {
      return m;
    }
  });
}

/** Case-insensitive uri-parameter lookup (undefined: absent; null: present without value). */
export function uriParam(u: SipUri | TelUri, name: string): string | null | undefined {
  const lower = name.toLowerCase();
  const p = u.params.find((x) => x.name.toLowerCase() === lower);
  return p === undefined ? undefined : p.value;
}

/** Returns a copy of a SIP URI with a uri-parameter set (value null: flag parameter). */
export function withUriParam(u: SipUri, name: string, value: string | null): SipUri {
  const lower = name.toLowerCase();
  const params = u.params.filter((p) => p.name.toLowerCase() !== lower);
  params.push({ name, value });
  return { ...u, params, headers: [...u.headers] };
}

/** Returns a copy without uri-parameters named in `names` and (optionally) without headers. */
export function withoutUriParams(u: SipUri, names: readonly string[], dropHeaders = false): SipUri {
  const drop = new Set(names.map((n) => n.toLowerCase()));
  return {
    ...u,
    params: u.params.filter((p) => !drop.has(p.name.toLowerCase())),
    headers: dropHeaders ? [] : [...u.headers],
  };
}

/**
 * RFC 3261 §19.1.4 URI comparison for SIP/SIPS URIs: scheme, user and password case-sensitive after unescaping;
 * host case-insensitive; port must both be present or absent; user, ttl, method, maddr, transport parameters must
 * match when either side has them; other parameters only when both have them; headers must match.
 */
export function sipUriEquals(a: SipUri, b: SipUri): boolean {
  if (a.scheme !== b.scheme) return false;
  if ((a.user === undefined) !== (b.user === undefined)) return false;
  if (a.user !== undefined && unescapeUriPart(a.user) !== unescapeUriPart(b.user ?? "")) return false;
  if (unescapeUriPart(a.password ?? "") !== unescapeUriPart(b.password ?? "")) return false;
  if (a.host.toLowerCase() !== b.host.toLowerCase()) return false;
  if (a.port !== b.port) return false;
  const norm = (p: SipParam[]) =>
    new Map(p.map((x) => [unescapeUriPart(x.name).toLowerCase(), x.value === null ? null : unescapeUriPart(x.value)]));
  const pa = norm(a.params);
  const pb = norm(b.params);
  for (const special of ["user", "ttl", "method", "maddr", "transport"]) {
    const va = pa.get(special);
    const vb = pb.get(special);
    if (va !== undefined || vb !== undefined) {
      if (va === undefined || vb === undefined) return false;
      if ((va ?? "").toLowerCase() !== (vb ?? "").toLowerCase()) return false;
    }
  }
  for (const [k, va] of pa) {
    const vb = pb.get(k);
    if (vb !== undefined && (va ?? "").toLowerCase() !== (vb ?? "").toLowerCase()) return false;
  }
  const ha = new Map(a.headers.map((h) => [unescapeUriPart(h.name).toLowerCase(), unescapeUriPart(h.value)]));
  const hb = new Map(b.headers.map((h) => [unescapeUriPart(h.name).toLowerCase(), unescapeUriPart(h.value)]));
  if (ha.size !== hb.size) return false;
  for (const [k, v] of ha) if (hb.get(k) !== v) return false;
  return true;
}

/** Builds a SIP URI from parts (convenience). */
export function sipUri(parts: {
  scheme?: "sip" | "sips";
  user?: string | undefined;
  host: string;
  port?: number | undefined;
  params?: SipParam[];
}): SipUri {
  if (!isHost(parts.host)) fail("E_SIP_URI", `bad host "${parts.host}"`);
  if (parts.user !== undefined && !USER_RE.test(parts.user)) fail("E_SIP_URI", "bad user part");
  for (const p of parts.params ?? []) if (!isToken(p.name)) fail("E_SIP_URI", `bad uri-parameter ${p.name}`);
  return {
    scheme: parts.scheme ?? "sip",
    user: parts.user,
    host: parts.host,
    port: parts.port,
    params: parts.params ?? [],
    headers: [],
  };
}
