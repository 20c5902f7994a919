/**
 * One fault scenario's outcome, as `bench/faults.ts` prints it (JSON line + table). Every scenario is bounded in time
 * and cleans up after itself; `ok` says whether the system behaved as specified (README "Faults").
 */
export interface FaultResult {
  /** short name, e.g. "dc-vanish-mid-call" */
  scenario: string;
  /** the system did what it must (session failed with the expected code, resources freed, BYE sent …) */
  ok: boolean;
  /** the typed code the failure surfaced with (E_DTLS_TIMEOUT, E_PEER_GONE …) */
  code?: string;
  /** time from the fault to its detection (ms) */
  detectMs?: number;
  /** time from the fault to every resource freed / the session released (ms) */
  releaseMs?: number;
  /** time from the fault until service is back (e.g. UEs re-registered after a P-CSCF restart) (ms) */
  recoverMs?: number;
  /** resources before / after (sockets, handles, contexts, terminations …), free-form counts */
  before?: Record<string, number>;
  after?: Record<string, number>;
  /** one line for humans */
  detail: string;
}

/** A module under bench/faults/ exports `scenarios`: each runs one fault and resolves with its result. */
export type FaultScenario = () => Promise<FaultResult>;
