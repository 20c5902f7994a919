/**
 * Per-controller quotas of the Iq WebSocket binding: contexts, terminations and reservations per second of one
 * IMS-ALG (one pinned certificate; one Iq session on an `insecure` loopback listener), so that one controller cannot
 * starve another of the AGW's capacity (`maxContexts` / `maxTerminations` stay the AGW-wide bounds). A refusal is
 * `E_AGW_QUOTA` (the P-CSCF answers 503 + Retry-After, RFC 3261 §21.5.4) and an audit event `quota`.
 */
import { AgwError } from "./iqErrors.ts";

/** One controller's quota. */
export interface IqQuota {
  /** contexts held at once (reserved, relaying, or waiting for a lost session's grace period) */
  readonly contexts: number;
  /** terminations held at once */
  readonly terminations: number;
  /** reservations (Reserve / Reserve and Configure) per second, sustained */
  readonly reservationsPerSecond: number;
  /** reservations allowed in a burst above the sustained rate */
  readonly reservationBurst: number;
}

/**
 * Defaults: a quarter of the AGW's default capacity (10 000 contexts) per controller, and a rate well above a
 * P-CSCF's session set-up rate (two reservations per anchored m-line).
 */
export const DEFAULT_IQ_QUOTA: IqQuota = {
  contexts: 2500,
  terminations: 5000,
  reservationsPerSecond: 100,
  reservationBurst: 200,
};

export type IqQuotaLimit = "contexts" | "terminations" | "reservationsPerSecond";

/** What one controller holds and may still do. */
export class ControllerLedger {
  /** reservations in progress that will add a context / a termination */
  pendingContexts = 0;
  pendingTerminations = 0;
  private tokens: number;
  private last: number;
  private readonly lastAudit = new Map<IqQuotaLimit, { at: number; suppressed: number }>();

  constructor(
    readonly key: string,
    /** the controller's name (pinned certificate) or "insecure:<session>" */
    readonly name: string,
    readonly quota: IqQuota,
    now = Date.now(),
  ) {
    this.tokens = quota.reservationBurst;
    this.last = now;
  }

  /**
   * The limit a new reservation would break (undefined: admitted, and one token of the rate is spent). `held` is
   * what the controller holds now; a reservation without a context id creates a context.
   */
  admit(
    held: { contexts: number; terminations: number },
    newContext: boolean,
    now = Date.now(),
  ): IqQuotaLimit | undefined {
    if (newContext && held.contexts + this.pendingContexts >= this.quota.contexts) return "contexts";
    if (held.terminations + this.pendingTerminations >= this.quota.terminations) return "terminations";
    this.tokens = Math.min(
      this.quota.reservationBurst,
      this.tokens + ((now - this.last) / 1000) * this.quota.reservationsPerSecond,
    );
    this.last = now;
    if (this.tokens < 1) return "reservationsPerSecond";
    this.tokens -= 1;
    return undefined;
  }

  valueOf(limit: IqQuotaLimit): number {
    return this.quota[limit];
  }

  /** At most one audit event per limit per second under a flood: how many were folded into this one, or undefined. */
  auditDue(limit: IqQuotaLimit, now = Date.now()): { suppressed: number } | undefined {
    const a = this.lastAudit.get(limit);
    if (a && now - a.at < 1000) {
      a.suppressed++;
      return undefined;
    }
    this.lastAudit.set(limit, { at: now, suppressed: 0 });
    return { suppressed: a?.suppressed ?? 0 };
  }
}

/** Checks a quota given in a config or by a caller (every field a positive integer). */
export function resolveQuota(q: Partial<IqQuota> | undefined): IqQuota {
  const out = { ...DEFAULT_IQ_QUOTA, ...(q ?? {}) };
  for (const [k, v] of Object.entries(out)) {
    if (!Number.isSafeInteger(v) || v < 1)
      throw new AgwError("E_AGW_INVALID_PARAM", `quota.${k} must be a positive integer`);
  }
  return out;
}
