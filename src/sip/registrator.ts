/**
 * Registration client of the user agent (RFC 3261 §10) with flow recovery (RFC 5626 §4.4 / §4.5, TS 24.229 §5.1.1.4).
 */
import type { FlowRecoveryOptions } from "./uaTypes.ts";

/** RFC 5626 §4.5 defaults (all flows failed): base-time 30 s, max-time 1800 s. */
export const FLOW_RECOVERY_DEFAULTS: Required<FlowRecoveryOptions> = { baseMs: 30_000, maxMs: 1_800_000 };

/**
 * RFC 5626 §4.5: wait-time = min(max-time, base-time · 2^consecutive-failures), randomised uniformly between 50 % and
 * 100 % of that value.
 */
export function flowRecoveryDelay(
  failures: number,
  baseMs: number,
  maxMs: number,
  random: () => number = Math.random,
): number {
  const wait = Math.min(maxMs, baseMs * 2 ** Math.min(Math.max(0, failures), 40));
  return Math.round(wait * (0.5 + 0.5 * random()));
}
