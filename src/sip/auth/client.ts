/**
 * The UE side of registration authentication, as pure functions the registrator calls: pick the challenge of the
 * configured realm, compute the Authorization (Digest with a password, or IMS AKA with a USIM stand-in), and re-use
 * the last challenge with an increasing nonce-count for re-registrations. Credentials are only ever computed for the
 * realm the UE was configured with (RFC 3261 §22.4: credentials go to the realm that challenged; a UE never answers
 * a challenge from another realm, nor pre-emptively).
 */
import { randomBytes } from "node:crypto";
import { type AkaUeOptions, akaUeAuthenticate, parseAkaNonce } from "./aka.ts";
import { type DigestAlgorithm, digestAlgorithm, digestHa1, digestResponse, formatNc } from "./digest.ts";
import { type DigestChallenge, formatCredentials, parseChallenge } from "./digestHeader.ts";
import type { AuthErrorCode } from "./errors.ts";

export interface UeAuthCredentials {
  /** private identity: the Digest username (TS 33.203 §6.1: the IMPI) */
  impi: string;
  /** the registrar realm; challenges of any other realm are not answered */
  realm: string;
  /** Digest password (MD5 / SHA-256 / SHA-512-256) */
  password?: string;
  /** USIM stand-in for IMS AKA: K, OPc, the highest accepted SQN and the freshness window */
  aka?: AkaUeOptions;
}

/** What the UE keeps of an answered challenge to authenticate the next REGISTER without a new 401. */
export interface AuthCache {
  realm: string;
  nonce: string;
  algorithm: DigestAlgorithm;
  ha1: string;
  opaque?: string;
  qop?: "auth";
  /** last nonce-count used */
  nc: number;
}

export type ChallengeAnswer =
  | {
      kind: "answer";
      scheme: "digest" | "aka";
      /** the Authorization header value */
      authorization: string;
      cache: AuthCache;
      /** AKA: the SQN accepted (the caller persists it as the new SQN_MS) */
      sqn?: number;
    }
  /** AKA: MAC right, SQN stale: send this Authorization (with auts) to have the network re-synchronise */
  | { kind: "resync"; authorization: string; sqn: number }
  | { kind: "refuse"; code: AuthErrorCode; reason: string };

export interface RequestTarget {
  method: string;
  /** the Request-URI as sent (the digest-uri, RFC 3261 §22.4) */
  uri: string;
}

function cnonce(): string {
  return randomBytes(12).toString("hex");
}

function buildAuthorization(
  creds: UeAuthCredentials,
  ch: DigestChallenge,
  alg: DigestAlgorithm,
  ha1: string,
  target: RequestTarget,
  nc: number,
  extra: { auts?: string } = {},
): { authorization: string; qop?: "auth" } {
  // RFC 7616 §3.4: qop=auth when offered; RFC 2617 §3.2.2 compatibility: no qop when the server offered none
  // (answerChallenge only gets here when a qop list contains "auth")
  const qop = ch.qop === undefined ? undefined : ("auth" as const);
  const cn = qop ? cnonce() : undefined;
  const ncs = qop ? formatNc(nc) : undefined;
  const response = digestResponse({
    algorithm: alg,
    ha1,
    method: target.method,
    uri: target.uri,
    nonce: ch.nonce,
    qop,
    nc: ncs,
    cnonce: cn,
  });
  const authorization = formatCredentials({
    username: creds.impi,
    realm: ch.realm,
    nonce: ch.nonce,
    uri: target.uri,
    response,
    algorithm: alg.name,
    ...(cn !== undefined ? { cnonce: cn } : {}),
    ...(ch.opaque !== undefined ? { opaque: ch.opaque } : {}),
    ...(qop ? { qop } : {}),
    ...(ncs !== undefined ? { nc: ncs } : {}),
    ...(extra.auts !== undefined ? { auts: extra.auts } : {}),
  });
  return { authorization, ...(qop ? { qop } : {}) };
}

/**
 * Answers the challenges of a 401/407 (the WWW-Authenticate or Proxy-Authenticate values): the first challenge of the
 * configured realm whose algorithm the credentials can serve (RFC 7616 §3.7: the server lists its preference first).
 */
export function answerChallenge(
  creds: UeAuthCredentials,
  challengeValues: readonly string[],
  target: RequestTarget,
): ChallengeAnswer {
  let sawRealm = false;
  for (const v of challengeValues) {
    let ch: DigestChallenge;
    try {
      ch = parseChallenge(v);
    } catch {
      continue; // RFC 7235 §4.1: a client ignores challenges it cannot understand
    }
    // RFC 3261 §22.4: credentials are per realm; never hand them to another realm
    if (ch.realm !== creds.realm) continue;
    sawRealm = true;
    const alg = digestAlgorithm(ch.algorithm);
    if (!alg) continue;
    // RFC 7616 §3.3: a qop list without "auth" (auth-int only) cannot be answered here
    if (ch.qop !== undefined && !ch.qop.includes("auth")) continue;
    if (alg.aka) {
      if (!creds.aka) continue;
      let rand: Uint8Array;
      let autn: Uint8Array;
      try {
        ({ rand, autn } = parseAkaNonce(ch.nonce));
      } catch {
        return { kind: "refuse", code: "E_AUTH_NONCE", reason: "AKA nonce is not base64(RAND ‖ AUTN ‖ …)" };
      }
      const r = akaUeAuthenticate(creds.aka, rand, autn);
      if (r.kind === "mac-failure") {
        // TS 33.102 §6.3.3: a wrong MAC means the network is not authentic: no RES is released
        return { kind: "refuse", code: "E_AUTH_MAC", reason: "AKA: MAC in AUTN does not verify" };
      }
      if (r.kind === "sync-failure") {
        // RFC 3310 §3.2: with auts, the response is computed with an empty password
        const ha1 = digestHa1(alg, creds.impi, ch.realm, new Uint8Array(0));
        const a = buildAuthorization(creds, ch, alg, ha1, target, 1, { auts: Buffer.from(r.auts).toString("base64") });
        return { kind: "resync", authorization: a.authorization, sqn: r.sqn };
      }
      // RFC 3310 §3.3: the password is RES
      const ha1 = digestHa1(alg, creds.impi, ch.realm, r.res);
      const a = buildAuthorization(creds, ch, alg, ha1, target, 1);
      return {
        kind: "answer",
        scheme: "aka",
        authorization: a.authorization,
        sqn: r.sqn,
        cache: cacheOf(ch, alg, ha1, a.qop),
      };
    }
    if (creds.password === undefined) continue;
    const ha1 = digestHa1(alg, creds.impi, ch.realm, creds.password);
    const a = buildAuthorization(creds, ch, alg, ha1, target, 1);
    return { kind: "answer", scheme: "digest", authorization: a.authorization, cache: cacheOf(ch, alg, ha1, a.qop) };
  }
  return sawRealm
    ? { kind: "refuse", code: "E_AUTH_ALGORITHM", reason: `no challenge of realm "${creds.realm}" we can answer` }
    : { kind: "refuse", code: "E_AUTH_NO_CREDENTIALS", reason: `no challenge for realm "${creds.realm}"` };
}

function cacheOf(ch: DigestChallenge, alg: DigestAlgorithm, ha1: string, qop: "auth" | undefined): AuthCache {
  return {
    realm: ch.realm,
    nonce: ch.nonce,
    algorithm: alg,
    ha1,
    nc: 1,
    ...(ch.opaque !== undefined ? { opaque: ch.opaque } : {}),
    ...(qop ? { qop } : {}),
  };
}

/**
 * RFC 7616 §3.4 / §5.5: the next request under the same nonce (a re-registration): nc + 1. Without qop a nonce is
 * good for one request only (RFC 2617 §3.2.2), so there is nothing to re-use: undefined.
 */
export function reuseChallenge(
  impi: string,
  cache: AuthCache,
  target: RequestTarget,
): { authorization: string; cache: AuthCache } | undefined {
  if (cache.qop === undefined) return undefined;
  const nc = cache.nc + 1;
  const cn = cnonce();
  const ncs = formatNc(nc);
  const response = digestResponse({
    algorithm: cache.algorithm,
    ha1: cache.ha1,
    method: target.method,
    uri: target.uri,
    nonce: cache.nonce,
    qop: cache.qop,
    nc: ncs,
    cnonce: cn,
  });
  const authorization = formatCredentials({
    username: impi,
    realm: cache.realm,
    nonce: cache.nonce,
    uri: target.uri,
    response,
    algorithm: cache.algorithm.name,
    cnonce: cn,
    ...(cache.opaque !== undefined ? { opaque: cache.opaque } : {}),
    qop: cache.qop,
    nc: ncs,
  });
  return { authorization, cache: { ...cache, nc } };
}

/**
 * TS 24.229 §5.1.1.2.1: the Authorization of an initial IMS REGISTER before any challenge: the private identity and
 * realm with empty nonce and response, so the S-CSCF knows whom to challenge. Only toward the configured registrar.
 */
export function initialAuthorization(creds: UeAuthCredentials, uri: string): string {
  return formatCredentials({ username: creds.impi, realm: creds.realm, nonce: "", uri, response: "" });
}
