/**
 * `WebDigestAuthenticator`: a Digest-only registration authenticator on WebCrypto (crypto.subtle), for the browser
 * page (RFC 3261 §22.4, RFC 7616 with algorithm SHA-256 and qop=auth). Browser-safe: no Node built-in. WebCrypto has
 * no MD5, so it answers SHA-256 challenges only (the S-CSCF offers SHA-256 first, RFC 7616 §3.7). Like
 * `UeAuthenticator`, it answers only its configured realm, re-uses the last challenge with nc + 1 and checks rspauth.
 */
import { formatCredentials, parseAuthenticationInfo, parseChallenge } from "./digestHeader.ts";
import type { AuthRetry, AuthTarget, RegistrationAuthenticator } from "./types.ts";

export interface WebDigestOptions {
  /** the Digest username (TS 33.203 §6.1: the IMPI) */
  impi: string;
  realm: string;
  password: string;
}

async function sha256Hex(s: string): Promise<string> {
  const d = new Uint8Array(await globalThis.crypto.subtle.digest("SHA-256", new TextEncoder().encode(s)));
  return Array.from(d, (b) => b.toString(16).padStart(2, "0")).join("");
}

function randomHex(n: number): string {
  return Array.from(globalThis.crypto.getRandomValues(new Uint8Array(n)), (b) => b.toString(16).padStart(2, "0")).join(
    "",
  );
}

/** the same length and every byte compared, whatever the first difference */
function sameHex(a: string, b: string): boolean {
  if (a.length !== b.length) return false;
  let d = 0;
  for (let i = 0; i < a.length; i++) d |= a.charCodeAt(i) ^ b.charCodeAt(i);
  return d === 0;
}

interface Cache {
  nonce: string;
  opaque?: string;
  ha1: string;
  nc: number;
  cnonce: string;
}

export class WebDigestAuthenticator implements RegistrationAuthenticator {
  readonly realm: string;
  private cache: Cache | undefined;
  /** the last Authorization answered a new challenge (not a re-use): a new challenge now refuses it */
  private fresh = false;

  constructor(private readonly o: WebDigestOptions) {
    this.realm = o.realm;
  }

  async authorize(target: AuthTarget): Promise<string | undefined> {
    if (!this.cache) return undefined;
    this.cache.nc++;
    this.cache.cnonce = randomHex(12);
    this.fresh = false;
    return this.build(this.cache, target);
  }

  async onChallenge(challenges: readonly string[], target: AuthTarget): Promise<AuthRetry> {
    if (globalThis.crypto?.subtle === undefined) {
      // W3C WebCrypto: crypto.subtle exists only in secure contexts (https, or http://localhost / 127.0.0.1)
      return { kind: "refuse", code: "E_AUTH_NO_CREDENTIALS", reason: "WebCrypto unavailable: not a secure context" };
    }
    for (const v of challenges) {
      let ch: ReturnType<typeof parseChallenge>;
      try {
        ch = parseChallenge(v);
      } catch {
        continue; // RFC 7235 §4.1: challenges we cannot understand are ignored
      }
      // RFC 3261 §22.4: credentials only for the configured realm; RFC 7616 §3.3: qop=auth, SHA-256 here
      if (ch.realm !== this.realm || (ch.algorithm ?? "MD5").toUpperCase() !== "SHA-256") continue;
      if (!ch.qop?.includes("auth")) continue;
      // RFC 7616 §3.3: a new challenge without stale=true right after a fresh answer refuses the credentials
      if (this.fresh && ch.stale !== true) {
        this.reset();
        return { kind: "refuse", code: "E_AUTH_REFUSED", reason: "the registrar refused the credentials" };
      }
      // RFC 7616 §3.4.2: HA1 = H(username:realm:password)
      const ha1 = await sha256Hex(`${this.o.impi}:${ch.realm}:${this.o.password}`);
      this.cache = {
        nonce: ch.nonce,
        ...(ch.opaque !== undefined ? { opaque: ch.opaque } : {}),
        ha1,
        nc: 1,
        cnonce: randomHex(12),
      };
      this.fresh = true;
      return { kind: "retry", authorization: await this.build(this.cache, target) };
    }
    this.reset();
    return { kind: "refuse", code: "E_AUTH_NO_CREDENTIALS", reason: `no SHA-256 challenge of realm ${this.realm}` };
  }

  async onSuccess(authenticationInfo: string | undefined, target: AuthTarget): Promise<boolean> {
    this.fresh = false;
    const c = this.cache;
    if (!c || authenticationInfo === undefined) return true;
    let info: ReturnType<typeof parseAuthenticationInfo>;
    try {
      info = parseAuthenticationInfo(authenticationInfo);
    } catch {
      return false;
    }
    if (info.rspauth === undefined) return true;
    if (info.cnonce !== undefined && info.cnonce !== c.cnonce) return false;
    // RFC 7616 §3.5: rspauth = KD(HA1, nonce:nc:cnonce:qop:H(":" uri))
    const ha2 = await sha256Hex(`:${target.uri}`);
    const expected = await sha256Hex(`${c.ha1}:${c.nonce}:${nc8(c.nc)}:${c.cnonce}:auth:${ha2}`);
    return sameHex(expected, info.rspauth.toLowerCase());
  }

  reset(): void {
    this.cache = undefined;
    this.fresh = false;
  }

  private async build(c: Cache, target: AuthTarget): Promise<string> {
    // RFC 7616 §3.4.1: response = KD(HA1, nonce:nc:cnonce:qop:HA2), HA2 = H(method:uri)
    const ha2 = await sha256Hex(`${target.method}:${target.uri}`);
    const response = await sha256Hex(`${c.ha1}:${c.nonce}:${nc8(c.nc)}:${c.cnonce}:auth:${ha2}`);
    return formatCredentials({
      username: this.o.impi,
      realm: this.realm,
      nonce: c.nonce,
      uri: target.uri,
      response,
      algorithm: "SHA-256",
      cnonce: c.cnonce,
      ...(c.opaque !== undefined ? { opaque: c.opaque } : {}),
      qop: "auth",
      nc: nc8(c.nc),
    });
  }
}

function nc8(n: number): string {
  return n.toString(16).padStart(8, "0");
}
