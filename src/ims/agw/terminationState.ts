/**
 * The lifecycle of a termination as one state machine: the phases, the data that belongs to each, and the table of
 * allowed transitions, each with the clause that drives it. `assertTransition` is the only way between phases; an
 * edge not in the table is a `TerminationTransitionError` (E_AGW_STATE), never a silent no-op.
 *
 *   delayed ──Configure(remote)──► establishing ──leg ready──► ready ──both ready──► relaying
 *      │                               │                        │                      │
 *      └───establishment timer──► failed ◄┘          peer closed / fingerprint ──► closed ◄── relay ended
 *   every phase but released ──Release──► released
 *
 * Legs in TCP/TLS setup (several may race on one termination) are data of `delayed`/`establishing`; the Iq-visible
 * coarse state (`TerminationState`: reserved, connecting, tls-handshake, …) is derived from the phase and that data.
 */
import { AgwError } from "./iqErrors.ts";
import type { Leg } from "./tlsLeg.ts";

export const TERMINATION_PHASES = [
  /** delayed establishment before Configure gives the remote address: SYNs dropped or held (indication 4) */
  "delayed",
  /** listening (indication 1/5) and/or connecting (indication 2/3); legs in TCP/TLS setup */
  "establishing",
  /** one connection is ready (TLS: fingerprint verified); nothing flows yet */
  "ready",
  /** the context's relay carries this termination's connection */
  "relaying",
  /** the ready connection is gone (peer closed, relay ended, fingerprint reconfigured) */
  "closed",
  /** no (verified) connection within the establishment timer */
  "failed",
  /** released by the IMS-ALG: every socket and timer freed */
  "released",
] as const;
export type TerminationPhase = (typeof TERMINATION_PHASES)[number];

/** The current phase with the data that belongs to it. */
export type TerminationStatus =
  /** `connectPending`: a SYN was requested (indication 2/3) while the remote address was unknown */
  | { readonly phase: "delayed" | "establishing"; connectPending: boolean }
  | { readonly phase: "ready" | "relaying" | "closed"; readonly leg: Leg }
  | { readonly phase: "failed" | "released" };

const RELEASE = "TS 23.334 release of the AGW connection point (H.248 Subtract)";
const TIMEOUT = "local policy (establishmentMs): the IMS-ALG releases a termination that never connected";

/** Allowed transitions: from → to → the clause that drives the transition. */
const TERMINATION_TRANSITIONS: {
  readonly [F in TerminationPhase]: { readonly [T in TerminationPhase]?: string };
} = {
  delayed: {
    // TR 29.828 §4.4.2.2: the Configure with the remote address ends the delay (indication 5 from then on)
    establishing: "TR 29.828 §4.4.2.2, §4.4.2.1.2 indication 5",
    failed: TIMEOUT,
    released: RELEASE,
  },
  establishing: {
    // TR 29.828 §4.4.2.1.2 (TCP established); RFC 8122 §5.1/§6.2 (TLS: the certificate matches a fingerprint)
    ready: "TR 29.828 §4.4.2.1.2; RFC 8122 §5.1, §6.2",
    failed: TIMEOUT,
    released: RELEASE,
  },
  ready: {
    // RFC 8122 §6.2: data flows only once both legs are ready; TR 29.828 §5.2.1.2.2/§5.2.1.2.3: the AGW relays
    relaying: "RFC 8122 §6.2; TR 29.828 §5.2.1.2.2, §5.2.1.2.3",
    // RFC 9293 §3.6: the peer closed; RFC 8842 §3 / RFC 8122 §5.1: a reconfigured fingerprint no longer matches
    closed: "RFC 9293 §3.6; RFC 8842 §3; RFC 8122 §5.1",
    released: RELEASE,
  },
  relaying: {
    // RFC 9293 §3.6 (FIN/RST), or local policy (idleMs, halfCloseMs): the relay ended
    closed: "RFC 9293 §3.6; local policy (idleMs, halfCloseMs)",
    released: RELEASE,
  },
  closed: { released: RELEASE },
  failed: { released: RELEASE },
  released: {},
};

/** An edge that is not in `TERMINATION_TRANSITIONS`. */
export class TerminationTransitionError extends AgwError {
  constructor(
    readonly terminationId: string,
    readonly from: TerminationPhase,
    readonly to: TerminationPhase,
  ) {
    super("E_AGW_STATE", `termination ${terminationId}: no transition from ${from} to ${to}`);
  }
}

export function canTransition(from: TerminationPhase, to: TerminationPhase): boolean {
  return TERMINATION_TRANSITIONS[from][to] !== undefined;
}

/** The clause that drives `from` → `to`; throws `TerminationTransitionError` for an edge not in the table. */
export function assertTransition(terminationId: string, from: TerminationPhase, to: TerminationPhase): string {
  const clause = TERMINATION_TRANSITIONS[from][to];
  if (clause === undefined) throw new TerminationTransitionError(terminationId, from, to);
  return clause;
}
