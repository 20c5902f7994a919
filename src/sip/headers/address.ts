/**
 * name-addr / addr-spec headers (RFC 3261 §20.10, §25.1): From, To, Contact, Route, Record-Route, Path. Pure, no I/O.
 */
import { fail, type SipErrorCode } from "../errors.ts";
import {
  formatParams,
  getParam,
  isQuotedString,
  isToken,
  isWs,
  parseDigits,
  parseParams,
  quote,
  type SipParam,
  splitList,
  unquote,
} from "../grammar.ts";
import { formatUri, parseUri, type Uri } from "../uri.ts";

/** name-addr or addr-spec with header parameters (From, To, Contact, Route, Record-Route, Path, ...). */
export interface NameAddr {
  /** decoded display name; undefined when absent */
  displayName?: string | undefined;
  uri: Uri;
  params: SipParam[];
}

/** RFC 3261 §25.1: display-name = *(token LWS) / quoted-string */
function parseDisplayName(s: string, code: SipErrorCode): string | undefined {
  const t = s.trim();
  if (t === "") return undefined;
  if (t.startsWith('"')) {
    if (!isQuotedString(t)) fail(code, "bad quoted display-name");
    return unquote(t);
  }
  const words = t.split(/[ \t]+/);
  for (const w of words) if (!isToken(w)) fail(code, `bad display-name token "${w}"`);
  return words.join(" ");
}

/**
 * Parses one name-addr / addr-spec with its parameters (RFC 3261 §20.10: in addr-spec form the parameters after the
 * URI belong to the header, and a URI with ",", "?" or ";" must be in angle brackets).
 */
export function parseNameAddr(value: string, code: SipErrorCode = "E_SIP_NAME_ADDR"): NameAddr {
  const s = value.trim();
  if (s === "") fail(code, "empty name-addr");
  let displayName: string | undefined;
  let uriText: string;
  let rest: string;
  let i = 0;
  if (s.startsWith('"')) {
    // quoted display-name
    i = 1;
    while (i < s.length && s[i] !== '"') i += s[i] === "\\" ? 2 : 1;
    if (i >= s.length) fail(code, "unterminated quoted display-name");
    displayName = parseDisplayName(s.slice(0, i + 1), code);
    i++;
    while (isWs(s[i])) i++;
    if (s[i] !== "<") fail(code, "quoted display-name not followed by <");
  } else {
    const lt = s.indexOf("<");
    if (lt >= 0) {
      displayName = parseDisplayName(s.slice(0, lt), code);
      i = lt;
    } else i = -1;
  }
  if (i >= 0) {
    const gt = s.indexOf(">", i);
    if (gt < 0) fail(code, "unterminated <");
    uriText = s.slice(i + 1, gt);
    rest = s.slice(gt + 1).trim();
    if (rest !== "" && !rest.startsWith(";")) fail(code, "junk after >");
  } else {
    const semi = s.indexOf(";");
    uriText = (semi < 0 ? s : s.slice(0, semi)).trim();
    rest = semi < 0 ? "" : s.slice(semi);
    if (/[\s,?]/.test(uriText)) fail(code, "addr-spec with space, comma or ? must be in angle brackets");
  }
  let uri: Uri;
  try {
    uri = parseUri(uriText);
  } catch (e) {
    fail(code, `bad URI in name-addr: ${(e as Error).message}`);
  }
  const params = parseParams(rest, code, "name-addr");
  return { displayName, uri, params };
}

/** Canonical form: quoted display name (when any), URI always in angle brackets, then parameters. */
export function formatNameAddr(na: NameAddr): string {
  const dn = na.displayName !== undefined ? `${quote(na.displayName)} ` : "";
  return `${dn}<${formatUri(na.uri)}>${formatParams(na.params)}`;
}

/** A comma list of name-addrs (Route, Record-Route, Path, Service-Route, P-Asserted-Identity). */
export function parseNameAddrList(value: string, code: SipErrorCode = "E_SIP_NAME_ADDR"): NameAddr[] {
  return splitList(value, code, "name-addr list").map((v) => parseNameAddr(v, code));
}

/** RFC 3261 §20.27 rec-route = name-addr (angle brackets required). */
export function parseRouteList(value: string): NameAddr[] {
  return splitList(value, "E_SIP_NAME_ADDR", "route list").map((v) => {
    if (!v.includes("<")) fail("E_SIP_NAME_ADDR", "Route/Record-Route/Path entries must be name-addr (<...>)");
    return parseNameAddr(v);
  });
}

/** Contact (RFC 3261 §20.10): "*" or a list of name-addrs with contact-params (q, expires, feature tags, ...). */
export type ContactValue = "*" | NameAddr[];

export function parseContact(value: string): ContactValue {
  if (value.trim() === "*") return "*";
  const list = parseNameAddrList(value);
  for (const c of list) {
    const q = getParam(c.params, "q");
    // RFC 3261 §25.1: qvalue = ( "0" [ "." 0*3DIGIT ] ) / ( "1" [ "." 0*3("0") ] )
    if (q !== undefined && (q === null || !/^(?:0(?:\.[0-9]{0,3})?|1(?:\.0{0,3})?)$/.test(q))) {
      fail("E_SIP_NAME_ADDR", "bad q value in Contact");
    }
    const exp = getParam(c.params, "expires");
    if (exp !== undefined && (exp === null || parseDigits(exp, 0xffffffff) === undefined)) {
      fail("E_SIP_NAME_ADDR", "bad expires in Contact");
    }
  }
  return list;
}

export function formatContact(c: ContactValue): string {
  return c === "*" ? "*" : c.map(formatNameAddr).join(", ");
}

/** From / To (RFC 3261 §20.20, §20.39): one name-addr; `tag` is a token. */
export function parseFromTo(value: string): NameAddr {
  const na = parseNameAddr(value);
  const tag = getParam(na.params, "tag");
  if (tag === null || (tag !== undefined && !isToken(tag))) fail("E_SIP_NAME_ADDR", "bad tag parameter");
  return na;
}
