/**
 * Codec of the Digest authentication headers: WWW-Authenticate / Proxy-Authenticate (challenge, RFC 7616 §3.3,
 * RFC 3261 §25.1 `challenge`), Authorization / Proxy-Authorization (credentials, RFC 7616 §3.4, RFC 3261 §25.1
 * `credentials`) and Authentication-Info (RFC 7616 §3.5, RFC 3261 §20.6), with the IMS AKA parameters of RFC 3310 §3
 * (auts) and TS 24.229 §7.2A.1 (integrity-protected). Parsing is lenient where deployed clients differ (a value may be
 * a token or a quoted-string); formatting follows the field rules of RFC 7616 §3.3 / §3.4 exactly.
 */
import { quote } from "../grammar.ts";
import { AuthError } from "./errors.ts";

/** RFC 7235 §2.1: auth-param = token BWS "=" BWS ( token / quoted-string ). Lower-cased names, unquoted values. */
interface AuthParams {
  scheme: string;
  params: Map<string, string>;
}

const TOKEN = /^[A-Za-z0-9\-.!%*_+`'~]+$/;

function fail(msg: string): never {
  throw new AuthError("E_AUTH_HEADER", msg);
}

/** Splits `Scheme a=b, c="d, e"` into the scheme and its parameters (RFC 7235 §2.1; duplicates refused). */
function parseAuthParams(value: string): AuthParams {
  const s = value.trim();
  const sp = s.search(/[ \t]/);
  const scheme = sp < 0 ? s : s.slice(0, sp);
  if (!TOKEN.test(scheme)) fail(`auth scheme "${scheme}" is not a token`);
  const params = new Map<string, string>();
  let i = sp < 0 ? s.length : sp;
  const skipWs = () => {
    while (i < s.length && (s[i] === " " || s[i] === "\t" || s[i] === "\r" || s[i] === "\n")) i++;
  };
  while (true) {
    skipWs();
    if (i >= s.length) break;
    const eq = s.indexOf("=", i);
    if (eq < 0) fail("auth-param without '='");
    const name = s.slice(i, eq).trim().toLowerCase();
    if (!TOKEN.test(name)) fail(`auth-param name "${name}" is not a token`);
    i = eq + 1;
    skipWs();
    let v: string;
    if (s[i] === '"') {
      // RFC 3261 §25.1: quoted-string with quoted-pair escapes
      v = "";
      i++;
      let closed = false;
      while (i < s.length) {
        const ch = s[i] ?? "";
        if (ch === "\\") {
          if (i + 1 >= s.length) break;
          v += s[i + 1];
          i += 2;
          continue;
        }
        if (ch === '"') {
          closed = true;
          i++;
          break;
        }
        if (ch === "\r" || ch === "\n") fail("CR/LF inside a quoted-string");
        v += ch;
        i++;
      }
      if (!closed) fail(`unterminated quoted-string in "${name}"`);
    } else {
      const start = i;
      while (i < s.length && s[i] !== "," && s[i] !== " " && s[i] !== "\t") i++;
      v = s.slice(start, i);
      if (!TOKEN.test(v)) fail(`auth-param "${name}" value is neither a token nor a quoted-string`);
    }
    // RFC 7235 §2.1: each parameter name MUST only occur once per challenge
    if (params.has(name)) fail(`auth-param "${name}" repeated`);
    params.set(name, v);
    skipWs();
    if (i >= s.length) break;
    if (s[i] !== ",") fail(`expected ',' after auth-param "${name}"`);
    i++;
  }
  return { scheme, params };
}

/** One Digest challenge (RFC 7616 §3.3; RFC 3310 §3.1 for AKA). */
export interface DigestChallenge {
  realm: string;
  nonce: string;
  /** token as received, e.g. "MD5", "SHA-256", "AKAv1-MD5"; absent means MD5 (RFC 7616 §3.3) */
  algorithm?: string;
  /** qop-options (RFC 7616 §3.3: quoted, comma-separated) */
  qop?: string[];
  opaque?: string;
  stale?: boolean;
  domain?: string;
  /** every parameter, names lower-cased (ck, ik, charset, userhash, extensions) */
  params: Map<string, string>;
}

/** One set of Digest credentials (RFC 7616 §3.4; RFC 3310 §3.2 / §3.4 auts; TS 24.229 integrity-protected). */
export interface DigestCredentials {
  username: string;
  realm: string;
  nonce: string;
  uri: string;
  response: string;
  algorithm?: string;
  cnonce?: string;
  opaque?: string;
  qop?: string;
  /** nonce-count: 8 hexadecimal digits */
  nc?: string;
  /** RFC 3310 §3.4: base64 of AUTS (synchronisation failure) */
  auts?: string;
  params: Map<string, string>;
}

export interface AuthenticationInfo {
  nextnonce?: string;
  qop?: string;
  rspauth?: string;
  cnonce?: string;
  nc?: string;
}

function need(p: Map<string, string>, name: string): string {
  const v = p.get(name);
  if (v === undefined) fail(`missing "${name}"`);
  return v;
}

function isDigest(scheme: string): boolean {
  return scheme.toLowerCase() === "digest";
}

/** RFC 7616 §3.3: parses one WWW-Authenticate / Proxy-Authenticate value with scheme Digest. */
export function parseChallenge(value: string): DigestChallenge {
  const { scheme, params: p } = parseAuthParams(value);
  if (!isDigest(scheme)) fail(`scheme "${scheme}" is not Digest`);
  const out: DigestChallenge = { realm: need(p, "realm"), nonce: need(p, "nonce"), params: p };
  const alg = p.get("algorithm");
  if (alg !== undefined) out.algorithm = alg;
  const qop = p.get("qop");
  // RFC 7616 §3.3: qop = "auth" / "auth-int" list
  if (qop !== undefined)
    out.qop = qop
      .split(",")
      .map((q) => q.trim())
      .filter((q) => q !== "");
  const opaque = p.get("opaque");
  if (opaque !== undefined) out.opaque = opaque;
  const stale = p.get("stale");
  // RFC 7616 §3.3: stale is case-insensitive "true"; anything else is false
  if (stale !== undefined) out.stale = stale.toLowerCase() === "true";
  const domain = p.get("domain");
  if (domain !== undefined) out.domain = domain;
  return out;
}

/** RFC 7616 §3.4 / RFC 3261 §22.4: parses one Authorization / Proxy-Authorization value with scheme Digest. */
export function parseCredentials(value: string): DigestCredentials {
  const { scheme, params: p } = parseAuthParams(value);
  if (!isDigest(scheme)) fail(`scheme "${scheme}" is not Digest`);
  const out: DigestCredentials = {
    username: need(p, "username"),
    realm: need(p, "realm"),
    nonce: need(p, "nonce"),
    uri: need(p, "uri"),
    // TS 24.229 §5.1.1.2.1: an initial IMS REGISTER carries the private identity with empty nonce and response
    response: p.get("response") ?? "",
    params: p,
  };
  for (const k of ["algorithm", "cnonce", "opaque", "qop", "nc", "auts"] as const) {
    const v = p.get(k);
    if (v !== undefined) out[k] = v;
  }
  // RFC 7616 §3.4: nc is exactly 8LHEX
  if (out.nc !== undefined && !/^[0-9a-fA-F]{8}$/.test(out.nc)) fail("nc is not 8 hexadecimal digits");
  // RFC 7616 §3.4: with qop, cnonce and nc are required
  if (out.qop !== undefined && (out.cnonce === undefined || out.nc === undefined)) fail("qop without cnonce or nc");
  return out;
}

/** RFC 7616 §3.5: parses Authentication-Info (no scheme; a bare auth-param list). */
export function parseAuthenticationInfo(value: string): AuthenticationInfo {
  const { params: p } = parseAuthParams(`X ${value}`);
  const out: AuthenticationInfo = {};
  for (const k of ["nextnonce", "qop", "rspauth", "cnonce", "nc"] as const) {
    const v = p.get(k);
    if (v !== undefined) out[k] = v;
  }
  return out;
}

function tokenOrFail(name: string, v: string): string {
  if (!TOKEN.test(v)) throw new AuthError("E_AUTH_HEADER", `${name} "${v}" is not a token`);
  return v;
}

/** RFC 7616 §3.3: realm, domain, nonce, opaque and qop quoted; stale and algorithm tokens. */
export function formatChallenge(c: Omit<DigestChallenge, "params"> & { extra?: [string, string][] }): string {
  const parts = [`realm=${quote(c.realm)}`];
  if (c.domain !== undefined) parts.push(`domain=${quote(c.domain)}`);
  parts.push(`nonce=${quote(c.nonce)}`);
  if (c.opaque !== undefined) parts.push(`opaque=${quote(c.opaque)}`);
  if (c.stale === true) parts.push("stale=true");
  if (c.algorithm !== undefined) parts.push(`algorithm=${tokenOrFail("algorithm", c.algorithm)}`);
  if (c.qop !== undefined && c.qop.length > 0) parts.push(`qop=${quote(c.qop.join(","))}`);
  for (const [k, v] of c.extra ?? []) parts.push(`${tokenOrFail("param", k)}=${quote(v)}`);
  return `Digest ${parts.join(", ")}`;
}

/** RFC 7616 §3.4: username, realm, nonce, uri, response, cnonce, opaque quoted; algorithm, qop, nc unquoted. */
export function formatCredentials(c: Omit<DigestCredentials, "params">): string {
  const parts = [
    `username=${quote(c.username)}`,
    `realm=${quote(c.realm)}`,
    `nonce=${quote(c.nonce)}`,
    `uri=${quote(c.uri)}`,
    `response=${quote(c.response)}`,
  ];
  if (c.algorithm !== undefined) parts.push(`algorithm=${tokenOrFail("algorithm", c.algorithm)}`);
  if (c.cnonce !== undefined) parts.push(`cnonce=${quote(c.cnonce)}`);
  if (c.opaque !== undefined) parts.push(`opaque=${quote(c.opaque)}`);
  if (c.qop !== undefined) parts.push(`qop=${tokenOrFail("qop", c.qop)}`);
  if (c.nc !== undefined) parts.push(`nc=${c.nc}`);
  // RFC 3310 §3.4: auts is a quoted base64 string
  if (c.auts !== undefined) parts.push(`auts=${quote(c.auts)}`);
  return `Digest ${parts.join(", ")}`;
}

/** RFC 7616 §3.5: nextnonce, rspauth, cnonce quoted; qop and nc unquoted. */
export function formatAuthenticationInfo(a: AuthenticationInfo): string {
  const parts: string[] = [];
  if (a.nextnonce !== undefined) parts.push(`nextnonce=${quote(a.nextnonce)}`);
  if (a.qop !== undefined) parts.push(`qop=${tokenOrFail("qop", a.qop)}`);
  if (a.rspauth !== undefined) parts.push(`rspauth=${quote(a.rspauth)}`);
  if (a.cnonce !== undefined) parts.push(`cnonce=${quote(a.cnonce)}`);
  if (a.nc !== undefined) parts.push(`nc=${a.nc}`);
  return parts.join(", ");
}
