/**
 * Registration authentication at the S-CSCF (RFC 3261 §10.3 steps 3-4 and §22.4; TS 24.229 §5.4.1.2; TS 33.203
 * §6.1): an unauthenticated REGISTER is challenged (401 with WWW-Authenticate: Digest with qop="auth" per configured
 * algorithm, and/or IMS AKA with algorithm=AKAv1-MD5 and nonce = base64(RAND ‖ AUTN ‖ server data)); an answer is
 * checked against the subscriber store (nonce MAC and age, nonce-count, response in constant time, AKA AUTS
 * re-synchronisation), then the To identity must belong to the authenticated private identity. Every decision is an
 * audit event. No I/O of its own: the store persists SQN changes.
 */
import type { AuditLog } from "../../log.ts";
import { akaResync, akaVector } from "../../sip/auth/aka.ts";
import {
  type DigestAlgorithm,
  digestAlgorithm,
  digestEquals,
  digestHa1,
  digestResponse,
  digestRspauth,
} from "../../sip/auth/digest.ts";
import {
  type DigestCredentials,
  formatAuthenticationInfo,
  formatChallenge,
  parseCredentials,
} from "../../sip/auth/digestHeader.ts";
import { f2345 } from "../../sip/auth/milenage.ts";
import { NonceCounter, NonceIssuer } from "../../sip/auth/nonce.ts";
import { isSipUri, parseUri, type SipHeader, type SipRequest, type SipSource, sipUriEquals } from "../../sip/index.ts";
import { ScscfError } from "./errors.ts";
import type { Subscriber, SubscriberStore } from "./subscribers.ts";

export type AuthScheme = "digest" | "aka";

export interface RegistrarAuthOptions {
  store: SubscriberStore;
  /** default ["digest", "aka"] */
  schemes?: readonly AuthScheme[];
  /** the Digest realm (RFC 3261 §22.1: the home domain); required */
  realm: string;
  /** Digest algorithms offered, preferred first (RFC 7616 §3.7, RFC 8760 §2.4); default ["SHA-256", "MD5"] */
  digestAlgorithms?: readonly string[];
  /** nonce lifetime; default 300 000 ms (then 401 stale=true) */
  nonceLifetimeMs?: number;
  /** HMAC key of the nonces; default random per process */
  nonceSecret?: Uint8Array;
  /** bad answers for one private identity answered 401 (a new challenge) before they get 403; default 3 */
  maxFailures?: number;
  /** how long failures are remembered; default 300 000 ms */
  failureWindowMs?: number;
  /** accept an RFC 2617 answer without qop (one use per nonce); default true (deployed MD5 clients) */
  allowNoQop?: boolean;
  /** bound of the nonce-count table; default 10 000 */
  maxNonces?: number;
  now?: () => number;
}

export type AuthDecision =
  | { kind: "ok"; impi: string; headers: SipHeader[] }
  | { kind: "reply"; status: number; reason: string; headers: SipHeader[] };

const AKA_PREFIX = 32; // RAND ‖ AUTN

export class RegistrarAuth {
  readonly realm: string;
  private readonly store: SubscriberStore;
  private readonly schemes: ReadonlySet<AuthScheme>;
  private readonly digestAlgs: DigestAlgorithm[];
  private readonly nonces: NonceIssuer;
  private readonly counts: NonceCounter;
  private readonly failures = new Map<string, { n: number; since: number }>();
  private readonly maxFailures: number;
  private readonly failureWindowMs: number;
  private readonly allowNoQop: boolean;
  private readonly now: () => number;
  private readonly audit: AuditLog | undefined;
  private readonly node: string;

  constructor(o: RegistrarAuthOptions, ctx: { audit?: AuditLog | undefined; node?: string } = {}) {
    this.store = o.store;
    this.realm = o.realm;
    this.schemes = new Set(o.schemes ?? ["digest", "aka"]);
    this.digestAlgs = (o.digestAlgorithms ?? ["SHA-256", "MD5"]).map((n) => {
      const a = digestAlgorithm(n);
      if (!a || a.aka) throw new ScscfError("E_SCSCF_CONFIG", `auth.digestAlgorithms: unsupported "${n}"`);
      return a;
    });
    this.now = o.now ?? Date.now;
    this.nonces = new NonceIssuer({
      lifetimeMs: o.nonceLifetimeMs ?? 300_000,
      now: this.now,
      ...(o.nonceSecret ? { secret: o.nonceSecret } : {}),
    });
    this.counts = new NonceCounter({ max: o.maxNonces ?? 10_000 });
    this.maxFailures = o.maxFailures ?? 3;
    this.failureWindowMs = o.failureWindowMs ?? 300_000;
    this.allowNoQop = o.allowNoQop ?? true;
    this.audit = ctx.audit;
    this.node = ctx.node ?? "scscf";
  }

  private record(decision: string, clause: string, fields: Record<string, unknown>): void {
    this.audit?.record({ node: this.node, decision, clause, realm: this.realm, ...fields });
  }

  /** Drops nonce-counts and failure records that can no longer matter. */
  purge(): void {
    const now = this.now();
    this.counts.purge(now - this.nonces.lifetimeMs);
    for (const [k, v] of this.failures) if (now - v.since > this.failureWindowMs) this.failures.delete(k);
  }

  /** Decides a REGISTER for `impu` (its canonical To AOR): "ok" with the authenticated private identity, or a reply. */
  authenticate(req: SipRequest, impu: string, source: SipSource): AuthDecision {
    const from = `${source.transport} ${source.host}:${source.port}`;
    let creds: DigestCredentials | undefined;
    for (const v of req.getHeaders("Authorization")) {
      let c: DigestCredentials;
      try {
        c = parseCredentials(v);
      } catch (e) {
        this.record("auth-malformed", "RFC 7616 §3.4", { impu, from, error: (e as Error).message });
        return { kind: "reply", status: 400, reason: "Malformed Authorization", headers: [] };
      }
      // RFC 3261 §22.4: the credentials for this registrar are those of its realm; others are for other servers
      if (c.realm === this.realm) {
        creds = c;
        break;
      }
    }
    if (!creds || (creds.nonce === "" && creds.response === "")) {
      // RFC 3261 §22.4 / TS 24.229 §5.4.1.2.1: no credentials (or an initial IMS REGISTER naming its IMPI): challenge
      const hint = creds?.username;
      this.record("auth-challenge", "RFC 3261 §22.4", { impu, from, ...(hint !== undefined ? { impi: hint } : {}) });
      return this.challenge(impu, hint, false);
    }
    const impi = creds.username;
    const sub = this.store.get(impi);
    const alg = digestAlgorithm(creds.algorithm);
    if (!alg || (alg.aka ? !this.schemes.has("aka") : !this.schemes.has("digest"))) {
      this.record("auth-algorithm", "RFC 7616 §3.7", { impu, impi, from, algorithm: creds.algorithm ?? "MD5" });
      return this.challenge(impu, impi, false);
    }
    // RFC 7616 §3.4.6 / RFC 2617 §3.2.2.5: the digest-uri must be the Request-URI
    if (!sameUri(creds.uri, req.uri)) {
      this.record("auth-uri-mismatch", "RFC 7616 §3.4.6", { impu, impi, from, uri: creds.uri });
      return { kind: "reply", status: 400, reason: "Authorization uri does not match the Request-URI", headers: [] };
    }
    if (!sub) return this.failed(impu, impi, from, "unknown private identity");
    if (creds.qop === undefined && (!this.allowNoQop || alg.aka)) {
      return this.failed(impu, impi, from, "qop missing");
    }
    if (creds.qop !== undefined && creds.qop !== "auth") return this.failed(impu, impi, from, `qop ${creds.qop}`);
    return alg.aka
      ? this.checkAka(req, impu, impi, sub, alg, creds, from)
      : this.checkDigest(req, impu, impi, sub, alg, creds, from);
  }

  private checkDigest(
    req: SipRequest,
    impu: string,
    impi: string,
    sub: Subscriber,
    alg: DigestAlgorithm,
    c: DigestCredentials,
    from: string,
  ): AuthDecision {
    if (!this.digestAlgs.some((a) => a.name === alg.name)) {
      this.record("auth-algorithm", "RFC 7616 §3.7", { impu, impi, from, algorithm: alg.name });
      return this.challenge(impu, impi, false);
    }
    const n = this.nonces.check(c.nonce, "digest", this.realm);
    if (n.status === "invalid") return this.failed(impu, impi, from, "nonce not issued here");
    const ha1 = this.ha1(sub, alg);
    if (ha1 === undefined) return this.failed(impu, impi, from, "no Digest credentials");
    return this.finish(req, impu, impi, alg, ha1, c, n, from, "digest");
  }

  private checkAka(
    req: SipRequest,
    impu: string,
    impi: string,
    sub: Subscriber,
    alg: DigestAlgorithm,
    c: DigestCredentials,
    from: string,
  ): AuthDecision {
    const aka = sub.aka;
    if (!aka) return this.failed(impu, impi, from, "no AKA credentials");
    // the nonce is bound to this realm and this private identity (nonce.ts)
    const n = this.nonces.check(c.nonce, "aka", `${this.realm}\0${impi}`, AKA_PREFIX);
    if (n.status === "invalid") return this.failed(impu, impi, from, "AKA nonce not issued here for this IMPI");
    const rand = n.prefix.slice(0, 16);
    if (c.auts !== undefined) {
      // RFC 3310 §3.4 / TS 33.102 §6.3.5: synchronisation failure: recover SQN_MS from AUTS, then challenge again
      const auts = /^[A-Za-z0-9+/]+={0,2}$/.test(c.auts) ? new Uint8Array(Buffer.from(c.auts, "base64")) : undefined;
      const sqnMs = auts?.length === 14 ? akaResync(aka, rand, auts) : undefined;
      if (sqnMs === undefined) return this.failed(impu, impi, from, "AUTS does not verify (MAC-S)");
      // RFC 3310 §3.2: with auts the response is computed with an empty password
      const ha1 = digestHa1(alg, impi, this.realm, new Uint8Array(0));
      if (!this.responseOk(req, alg, ha1, c)) return this.failed(impu, impi, from, "response with auts wrong");
      this.store.setSqn(impi, sqnMs);
      this.record("auth-aka-resync", "TS 33.102 §6.3.5", { impu, impi, from, sqnMs });
      return this.challenge(impu, impi, false, true);
    }
    // RFC 3310 §3.3: the password is RES = f2(K, RAND)
    const ha1 = digestHa1(alg, impi, this.realm, f2345(aka.k, aka.opc, rand).res);
    return this.finish(req, impu, impi, alg, ha1, c, n, from, "aka");
  }

  private responseOk(req: SipRequest, alg: DigestAlgorithm, ha1: string, c: DigestCredentials): boolean {
    let expected: string;
    try {
      expected = digestResponse({
        algorithm: alg,
        ha1,
        method: req.method,
        uri: c.uri,
        nonce: c.nonce,
        qop: c.qop,
        nc: c.nc,
        cnonce: c.cnonce,
      });
    } catch {
      return false;
    }
    return digestEquals(expected, c.response);
  }

  private finish(
    req: SipRequest,
    impu: string,
    impi: string,
    alg: DigestAlgorithm,
    ha1: string,
    c: DigestCredentials,
    n: { status: "ok" | "stale"; issuedAt: number },
    from: string,
    scheme: AuthScheme,
  ): AuthDecision {
    if (!this.responseOk(req, alg, ha1, c)) return this.failed(impu, impi, from, "wrong response");
    if (n.status === "stale") {
      // RFC 7616 §3.3: the credentials were right but the nonce expired: stale=true, no failure counted
      this.record("auth-stale", "RFC 7616 §3.3", { impu, impi, from, scheme });
      return this.challenge(impu, impi, true);
    }
    // RFC 7616 §3.4 / §5.5: the nonce-count must increase; without qop a nonce serves once (counted as 1)
    const nc = c.nc === undefined ? 1 : Number.parseInt(c.nc, 16);
    const used = this.counts.use(c.nonce, n.issuedAt, nc);
    if (used === "stale") {
      this.record("auth-stale", "RFC 7616 §3.3", { impu, impi, from, scheme, why: "nonce history dropped" });
      return this.challenge(impu, impi, true);
    }
    if (used === "replay") {
      this.record("auth-replay", "RFC 7616 §5.5", { impu, impi, from, scheme, nc: c.nc ?? null });
      return this.failed(impu, impi, from, "nonce-count replayed", false);
    }
    this.failures.delete(impi);
    // TS 24.229 §5.4.1.2.1: the public identity must belong to the authenticated private identity
    if (!this.store.owns(impi, impu)) {
      this.record("auth-impu-not-owned", "TS 24.229 §5.4.1.2.1", { impu, impi, from, scheme });
      return { kind: "reply", status: 403, reason: "Forbidden (public identity not owned)", headers: [] };
    }
    this.record("auth-ok", scheme === "aka" ? "TS 33.203 §6.1.1" : "RFC 3261 §22.4", { impu, impi, from, scheme });
    const headers: SipHeader[] = [];
    if (c.qop === "auth" && c.nc !== undefined && c.cnonce !== undefined) {
      // RFC 7616 §3.5 / RFC 3261 §20.6: Authentication-Info with rspauth lets the UE authenticate the registrar
      const rspauth = digestRspauth({
        algorithm: alg,
        ha1,
        method: req.method,
        uri: c.uri,
        nonce: c.nonce,
        qop: "auth",
        nc: c.nc,
        cnonce: c.cnonce,
      });
      headers.push({
        name: "Authentication-Info",
        value: formatAuthenticationInfo({ qop: "auth", rspauth, cnonce: c.cnonce, nc: c.nc }),
      });
    }
    return { kind: "ok", impi, headers };
  }

  private ha1(sub: Subscriber, alg: DigestAlgorithm): string | undefined {
    if (sub.password !== undefined) return digestHa1(alg, sub.impi, this.realm, sub.password);
    // HA1 is H(username:realm:password) for a plain and a -sess algorithm alike (RFC 7616 §3.4.2)
    const base = alg.name.replace(/-sess$/i, "");
    return sub.ha1?.[this.realm]?.[base];
  }

  /** Bad credentials: a new challenge while under maxFailures, then 403 (TS 24.229 §5.4.1.2.2 / RFC 3261 §22.4). */
  private failed(impu: string, impi: string, from: string, why: string, audit = true): AuthDecision {
    const now = this.now();
    let f = this.failures.get(impi);
    if (!f || now - f.since > this.failureWindowMs) f = { n: 0, since: now };
    f.n++;
    this.failures.delete(impi);
    this.failures.set(impi, f);
    while (this.failures.size > 10_000) {
      const oldest = this.failures.keys().next().value;
      if (oldest === undefined) break;
      this.failures.delete(oldest);
    }
    if (f.n >= this.maxFailures) {
      this.record("auth-refused", "TS 24.229 §5.4.1.2.2", { impu, impi, from, why, failures: f.n });
      return { kind: "reply", status: 403, reason: "Forbidden", headers: [] };
    }
    if (audit) this.record("auth-failed", "RFC 3261 §22.4", { impu, impi, from, why, failures: f.n });
    return this.challenge(impu, impi, false);
  }

  /** 401 with one WWW-Authenticate per offered scheme/algorithm (RFC 3261 §22.4, RFC 7616 §3.7). */
  private challenge(impu: string, impiHint: string | undefined, stale: boolean, afterResync = false): AuthDecision {
    let impi = impiHint !== undefined && this.store.get(impiHint) ? impiHint : undefined;
    if (impi === undefined && impiHint === undefined) {
      const owners = this.store.impisOf(impu);
      if (owners.length === 1) impi = owners[0];
    }
    const sub = impi !== undefined ? this.store.get(impi) : undefined;
    const headers: SipHeader[] = [];
    if (this.schemes.has("aka") && sub?.aka && impi !== undefined) {
      // TS 33.203 §6.1.1 / RFC 3310 §3.1: a fresh vector per challenge (SQN_HE stepped and persisted by the store)
      const sqn = this.store.advanceSqn(impi);
      if (sqn !== undefined) {
        const v = akaVector(sub.aka, sqn, sub.aka.amf);
        const prefix = new Uint8Array(AKA_PREFIX);
        prefix.set(v.rand, 0);
        prefix.set(v.autn, 16);
        const nonce = this.nonces.issue("aka", `${this.realm}\0${impi}`, prefix);
        headers.push({
          name: "WWW-Authenticate",
          value: formatChallenge({ realm: this.realm, nonce, algorithm: "AKAv1-MD5", qop: ["auth"], stale }),
        });
      }
    }
    // Digest for subscribers with a password or HA1, and for unknown ones (so a 401 does not reveal who exists)
    if (this.schemes.has("digest") && !afterResync && (!sub || sub.password !== undefined || sub.ha1 !== undefined)) {
      const nonce = this.nonces.issue("digest", this.realm);
      for (const a of this.digestAlgs) {
        if (sub && sub.password === undefined && sub.ha1?.[this.realm]?.[a.name] === undefined) continue;
        headers.push({
          name: "WWW-Authenticate",
          value: formatChallenge({ realm: this.realm, nonce, algorithm: a.name, qop: ["auth"], stale }),
        });
      }
    }
    if (headers.length === 0) {
      this.record("auth-no-scheme", "TS 24.229 §5.4.1.2.1", { impu, ...(impiHint ? { impi: impiHint } : {}) });
      return { kind: "reply", status: 403, reason: "Forbidden (no authentication scheme for this identity)", headers };
    }
    return { kind: "reply", status: 401, reason: "Unauthorized", headers };
  }
}

function sameUri(a: string, b: string): boolean {
  if (a === b) return true;
  try {
    const x = parseUri(a);
    const y = parseUri(b);
    return isSipUri(x) && isSipUri(y) && sipUriEquals(x, y);
  } catch {
    return false;
  }
}
