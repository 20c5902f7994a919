/**
 * Per-source admission control of the P-CSCF's access side: a token bucket per source (RFC 3261 §21.5.4 503 Service
 * Unavailable + Retry-After, RFC 3261 §20.33, for what exceeds it). Checked before a server transaction exists, so a
 * flood costs one map lookup and one stateless answer per request — never transaction state (RFC 3261 §16.11).
 */

export interface RateLimitConfig {
  /** sustained requests per second per source */
  rate: number;
  /** bucket depth: requests a source may send at once */
  burst: number;
  /**
   * what a "source" is: "flow" = transport + address + port (default; a lab runs many UEs on one address), "address" =
   * the IP address alone (a UE that hops ports)
   */
  key: "flow" | "address";
  /** sources tracked at once; the least recently seen is forgotten beyond it (bounds memory under spoofed floods) */
  maxSources: number;
}

export const DEFAULT_RATE_LIMIT: RateLimitConfig = { rate: 200, burst: 400, key: "flow", maxSources: 100_000 };

interface Bucket {
  tokens: number;
  at: number;
  /** refusals since the episode began (0: not refusing) */
  refused: number;
  /** 503 answers left in this second (answers are rate-limited too: beyond them requests are dropped) */
  answers: number;
  answersAt: number;
}

/** What to do with one request: admit it, answer 503 with Retry-After (seconds), or drop it silently. */
export type Admission =
  | { admit: true }
  | { admit: false; answer: true; retryAfter: number; first: boolean }
  | { admit: false; answer: false; first: boolean };

/** An episode of refusals that ended (the source is back under its limit, or forgotten): for one summary log line. */
export interface RefusalEpisode {
  source: string;
  refused: number;
}

export class SourceRateLimiter {
  private readonly buckets = new Map<string, Bucket>();
  refusedTotal = 0;
  droppedTotal = 0;

  constructor(
    readonly config: RateLimitConfig,
    private readonly onEpisodeEnd: (e: RefusalEpisode) => void = () => {},
    private readonly now: () => number = Date.now,
  ) {}

  get tracked(): number {
    return this.buckets.size;
  }

  keyOf(source: { transport: string; host: string; port: number }): string {
    return this.config.key === "address" ? source.host : `${source.transport}|${source.host}|${source.port}`;
  }

  check(key: string): Admission {
    const t = this.now();
    let b = this.buckets.get(key);
    if (b) {
      // Map order = recency: re-inserting keeps the least recently seen source first (evicted first)
      this.buckets.delete(key);
      b.tokens = Math.min(this.config.burst, b.tokens + ((t - b.at) / 1000) * this.config.rate);
      b.at = t;
    } else {
      if (this.buckets.size >= this.config.maxSources) this.evictOldest();
      b = { tokens: this.config.burst, at: t, refused: 0, answers: 0, answersAt: t };
    }
    this.buckets.set(key, b);
    if (b.tokens >= 1) {
      b.tokens -= 1;
      if (b.refused > 0) {
        this.onEpisodeEnd({ source: key, refused: b.refused });
        b.refused = 0;
      }
      return { admit: true };
    }
    const first = b.refused === 0;
    b.refused++;
    this.refusedTotal++;
    if (t - b.answersAt >= 1000) {
      b.answersAt = t;
      b.answers = 0;
    }
    // one answer per admitted request rate at most: a flooder gets 503s at the rate it is allowed, the rest is dropped
    if (b.answers < Math.max(1, this.config.rate)) {
      b.answers++;
      // RFC 3261 §20.33: Retry-After in whole seconds — when the bucket holds a token again
      const retryAfter = Math.max(1, Math.ceil((1 - b.tokens) / this.config.rate));
      return { admit: false, answer: true, retryAfter, first };
    }
    this.droppedTotal++;
    return { admit: false, answer: false, first };
  }

  private evictOldest(): void {
    const oldest = this.buckets.entries().next();
    if (oldest.done) return;
    const [key, b] = oldest.value;
    this.buckets.delete(key);
    if (b.refused > 0) this.onEpisodeEnd({ source: key, refused: b.refused });
  }

  /** Ends every open episode (close / periodic sweep of idle sources). */
  sweep(idleMs: number): void {
    const t = this.now();
    for (const [key, b] of this.buckets) {
      if (t - b.at < idleMs) continue;
      this.buckets.delete(key);
      if (b.refused > 0) this.onEpisodeEnd({ source: key, refused: b.refused });
    }
  }
}
