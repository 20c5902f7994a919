/**
 * Server nonces that need no per-challenge state (RFC 7616 §3.3 / §5.4: "the nonce ... might contain a time-stamp and a
 * private key" so the server can tell its own nonces and their age), and the nonce-count table that refuses replays
 * (RFC 7616 §3.4 / §5.5: nc must increase for each request with the same nonce).
 *
 * Token layout (then base64): prefix ‖ issued-at (8 bytes, ms since the epoch, big-endian) ‖ HMAC-SHA-256(secret,
 * label ‖ prefix ‖ issued-at ‖ binding) truncated to 16 bytes. The prefix is 8 random bytes for Digest, RAND ‖ AUTN
 * for IMS AKA (RFC 3310 §3.1 allows server-specific data after RAND ‖ AUTN); the binding is the realm (plus the
 * private identity for AKA), so a nonce minted for one realm or subscriber verifies for no other.
 */
import { createHmac, randomBytes, timingSafeEqual } from "node:crypto";

const MAC_LEN = 16;
const TS_LEN = 8;

export type NonceCheck =
  | { status: "ok"; prefix: Uint8Array; issuedAt: number }
  /** a genuine nonce older than its lifetime: answer 401 with stale=true (RFC 7616 §3.3) */
  | { status: "stale"; prefix: Uint8Array; issuedAt: number }
  /** not a nonce of this server (forged, other realm/subscriber, truncated) */
  | { status: "invalid" };

export interface NonceIssuerOptions {
  /** HMAC key; default 32 random bytes (nonces then die with the process) */
  secret?: Uint8Array;
  /** lifetime in ms; default 5 minutes */
  lifetimeMs?: number;
  now?: () => number;
}

export class NonceIssuer {
  readonly lifetimeMs: number;
  private readonly secret: Uint8Array;
  private readonly now: () => number;

  constructor(opts: NonceIssuerOptions = {}) {
    this.secret = opts.secret ?? randomBytes(32);
    this.lifetimeMs = opts.lifetimeMs ?? 300_000;
    this.now = opts.now ?? Date.now;
  }

  private mac(label: string, prefix: Uint8Array, ts: Uint8Array, binding: string): Buffer {
    return createHmac("sha256", this.secret)
      .update(label)
      .update(prefix)
      .update(ts)
      .update(binding)
      .digest()
      .subarray(0, MAC_LEN);
  }

  /** A new nonce (base64) carrying `prefix`, bound to `label` (the scheme) and `binding`. */
  issue(label: string, binding: string, prefix: Uint8Array = randomBytes(8)): string {
    const ts = Buffer.alloc(TS_LEN);
    ts.writeBigUInt64BE(BigInt(Math.max(0, Math.floor(this.now()))));
    return Buffer.concat([prefix, ts, this.mac(label, prefix, ts, binding)]).toString("base64");
  }

  /** Verifies a nonce of this server: its MAC, then its age (RFC 7616 §3.3 stale). */
  check(nonce: string, label: string, binding: string, prefixLen = 8): NonceCheck {
    if (!/^[A-Za-z0-9+/]+={0,2}$/.test(nonce)) return { status: "invalid" };
    const raw = Buffer.from(nonce, "base64");
    if (raw.length !== prefixLen + TS_LEN + MAC_LEN) return { status: "invalid" };
    const prefix = raw.subarray(0, prefixLen);
    const ts = raw.subarray(prefixLen, prefixLen + TS_LEN);
    const mac = raw.subarray(prefixLen + TS_LEN);
    if (!timingSafeEqual(mac, this.mac(label, prefix, ts, binding))) return { status: "invalid" };
    const issuedAt = Number(ts.readBigUInt64BE());
    const now = this.now();
    // a nonce from the future (clock stepped back, or another server's clock) is not ours to trust
    if (issuedAt > now + 5_000) return { status: "invalid" };
    const p = new Uint8Array(prefix);
    if (now - issuedAt > this.lifetimeMs) return { status: "stale", prefix: p, issuedAt };
    return { status: "ok", prefix: p, issuedAt };
  }
}

export type NonceCountCheck = "ok" | "replay" | "stale";

/**
 * RFC 7616 §3.4 / §5.5: the highest nonce-count seen per nonce; a request whose nc is not higher is a replay. Bounded:
 * beyond `max` entries the oldest is dropped, and any nonce issued no later than a dropped one is then answered
 * "stale" (a fresh challenge) instead of being accepted without its history.
 */
export class NonceCounter {
  private readonly seen = new Map<string, { nc: number; issuedAt: number }>();
  private droppedUpTo = Number.NEGATIVE_INFINITY;
  private readonly max: number;

  constructor(opts: { max?: number } = {}) {
    this.max = opts.max ?? 10_000;
  }

  get size(): number {
    return this.seen.size;
  }

  /** Records `nc` for `nonce` when it is higher than any seen before. */
  use(nonce: string, issuedAt: number, nc: number): NonceCountCheck {
    const e = this.seen.get(nonce);
    if (e) {
      if (nc <= e.nc) return "replay";
      e.nc = nc;
      return "ok";
    }
    if (issuedAt <= this.droppedUpTo) return "stale";
    if (nc < 1) return "replay";
    while (this.seen.size >= this.max) {
      const oldest = this.seen.entries().next().value;
      if (!oldest) break;
      this.seen.delete(oldest[0]);
      this.droppedUpTo = Math.max(this.droppedUpTo, oldest[1].issuedAt);
    }
    this.seen.set(nonce, { nc, issuedAt });
    return "ok";
  }

  /** Forgets nonces issued before `cutoff` (they are stale anyway). */
  purge(cutoff: number): void {
    for (const [k, v] of this.seen) {
      if (v.issuedAt < cutoff) {
        this.seen.delete(k);
        this.droppedUpTo = Math.max(this.droppedUpTo, v.issuedAt);
      }
    }
  }
}
