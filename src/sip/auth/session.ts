/**
 * `UeAuthenticator`: the UE's registration credentials and the state of its answers (RFC 3261 §22.4, RFC 7616,
 * RFC 3310, TS 24.229 §5.1.1.2). It answers only challenges of its configured realm and only when the registrator hands
 * it a 401/407 received on its own registration flow (it never offers credentials to anyone else); it re-uses the last
 * challenge with nc + 1 for re-registrations (RFC 7616 §3.4), re-synchronises once on a MAC-valid but stale SQN
 * (TS 33.102 §6.3.5) and checks rspauth (RFC 7616 §3.5) on the 200.
 */

import {
  type AuthCache,
  answerChallenge,
  initialAuthorization,
  reuseChallenge,
  type UeAuthCredentials,
} from "./client.ts";
import { digestEquals, digestRspauth } from "./digest.ts";
import { parseAuthenticationInfo, parseChallenge, parseCredentials } from "./digestHeader.ts";
import { AuthError } from "./errors.ts";
import type { AuthRetry, AuthTarget, RegistrationAuthenticator } from "./types.ts";

export interface UeAuthenticatorOptions extends UeAuthCredentials {
  /**
   * TS 24.229 §5.1.1.2.1: send the private identity (empty nonce/response) in the first REGISTER so an IMS AKA
   * registrar knows whom to challenge; default true when AKA credentials are configured.
   */
  initialAuthorization?: boolean;
  /** called with SQN_MS whenever the SIM stand-in accepts a new SQN (persist it) */
  onSqn?: (sqn: number) => void;
  /** the 200 must carry a verifying rspauth when the answer used qop=auth; default false (rspauth is optional) */
  requireRspauth?: boolean;
}

export class UeAuthenticator implements RegistrationAuthenticator {
  readonly realm: string;
  private readonly creds: UeAuthCredentials;
  private readonly opts: UeAuthenticatorOptions;
  private cache: AuthCache | undefined;
  /** nonce and cnonce/nc of the last Authorization sent (to check rspauth, and to detect a refused answer) */
  private last: { nonce: string; cnonce?: string; nc?: string; reused: boolean } | undefined;
  private resynced = false;

  constructor(o: UeAuthenticatorOptions) {
    if (o.password === undefined && o.aka === undefined) {
      throw new AuthError("E_AUTH_NO_CREDENTIALS", "UE authentication needs a password or AKA credentials");
    }
    this.realm = o.realm;
    this.creds = { ...o, ...(o.aka ? { aka: { ...o.aka } } : {}) };
    this.opts = o;
  }

  /** SQN_MS of the SIM stand-in (undefined without AKA). */
  get sqnMs(): number | undefined {
    return this.creds.aka?.sqnMs;
  }

  authorize(target: AuthTarget): string | undefined {
    if (this.cache) {
      const r = reuseChallenge(this.creds.impi, this.cache, target);
      if (r) {
        this.cache = r.cache;
        this.remember(r.authorization, true);
        return r.authorization;
      }
    }
    if (this.opts.initialAuthorization ?? this.creds.aka !== undefined) {
      return initialAuthorization(this.creds, target.uri);
    }
    return undefined;
  }

  onChallenge(challenges: readonly string[], target: AuthTarget): AuthRetry {
    const ours = challenges.filter((v) => {
      try {
        return parseChallenge(v).realm === this.realm;
      } catch {
        return false;
      }
    });
    // RFC 7616 §3.3: a new challenge without stale=true right after we answered one refuses our credentials (a
    // re-used challenge may just have been forgotten by the registrar: that one gets a fresh answer)
    const stale = ours.some((v) => parseChallenge(v).stale === true);
    if (this.last !== undefined && !this.last.reused && !stale) {
      this.reset();
      return { kind: "refuse", code: "E_AUTH_REFUSED", reason: "the registrar refused the credentials" };
    }
    const a = answerChallenge(this.creds, ours, target);
    if (a.kind === "refuse") {
      this.reset();
      return { kind: "refuse", code: a.code, reason: a.reason };
    }
    if (a.kind === "resync") {
      // TS 33.102 §6.3.5: one re-synchronisation per registration; a second stale SQN means something is wrong
      if (this.resynced) {
        return { kind: "refuse", code: "E_AUTH_SYNC", reason: "AKA: SQN still not fresh after re-synchronisation" };
      }
      this.resynced = true;
      this.cache = undefined;
      this.last = undefined;
      return { kind: "retry", authorization: a.authorization };
    }
    this.cache = a.cache;
    this.remember(a.authorization, false);
    if (a.sqn !== undefined && this.creds.aka) {
      this.creds.aka.sqnMs = a.sqn;
      this.opts.onSqn?.(a.sqn);
    }
    return { kind: "retry", authorization: a.authorization };
  }

  onSuccess(authenticationInfo: string | undefined, target: AuthTarget): boolean {
    this.resynced = false;
    const last = this.last;
    // the next REGISTER starts from the cache: a 401 to it is not a refusal of a fresh answer
    if (this.last) this.last = { ...this.last, reused: true };
    if (!this.cache || !last || last.cnonce === undefined || last.nc === undefined) return true;
    if (authenticationInfo === undefined) return this.opts.requireRspauth !== true;
    let info: ReturnType<typeof parseAuthenticationInfo>;
    try {
      info = parseAuthenticationInfo(authenticationInfo);
    } catch {
      return false;
    }
    if (info.rspauth === undefined) return this.opts.requireRspauth !== true;
    // RFC 7616 §3.5: rspauth = KD(HA1, nonce:nc:cnonce:qop:H(":" uri)), echoing our cnonce and nc
    if (info.cnonce !== undefined && info.cnonce !== last.cnonce) return false;
    const expected = digestRspauth({
      algorithm: this.cache.algorithm,
      ha1: this.cache.ha1,
      method: target.method,
      uri: target.uri,
      nonce: last.nonce,
      qop: "auth",
      nc: last.nc,
      cnonce: last.cnonce,
    });
    return digestEquals(expected, info.rspauth);
  }

  reset(): void {
    this.cache = undefined;
    this.last = undefined;
    this.resynced = false;
  }

  private remember(authorization: string, reused: boolean): void {
    const c = parseCredentials(authorization);
    this.last = {
      reused,
      nonce: c.nonce,
      ...(c.cnonce !== undefined ? { cnonce: c.cnonce } : {}),
      ...(c.nc !== undefined ? { nc: c.nc } : {}),
    };
  }
}
