/** Per-stage timeouts of one data channel association and the consent freshness timing (RFC 7675 §5.1). */
export interface DcTimeouts {
  gatherMs: number;
  iceMs: number;
  dtlsMs: number;
  sctpMs: number;
  /**
   * RFC 7675 §5.1 consent freshness: the association fails (E_CONSENT_EXPIRED) when no consent check was answered for
   * this long. Checks go every min(5 s, consentMs / 6), randomised 0.8–1.2, so several fit in one expiry; keep that
   * interval above the path's round-trip time (a check is abandoned when the next one leaves). At least 1000.
   */
  consentMs: number;
}

export const DEFAULT_TIMEOUTS: DcTimeouts = {
  gatherMs: 5_000,
  iceMs: 10_000,
  dtlsMs: 10_000,
  sctpMs: 10_000,
  // RFC 7675 §5.1: consent expires after 30 s without an answered check
  consentMs: 30_000,
};

/** Lowest accepted `timeouts.consentMs` (its check interval is then 167 ms). */
export const MIN_CONSENT_MS = 1_000;

/** RFC 7675 §5.1: a check every 5 s by default; shorter expiries keep six checks per expiry. */
export function consentIntervalMs(consentMs: number): number {
  return Math.min(5_000, Math.round(consentMs / 6));
}
