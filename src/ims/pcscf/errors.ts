import { ImsdcError } from "../../errors.ts";

/** Stable codes of the P-CSCF (IMS-ALG) core (docs/pcscf-alg.md). */
export type PcscfErrorCode =
  | "E_CONFIG" // loadAlgConfig: the configuration object is invalid (see `problems`)
  | "E_REWRITE_ARGS" // a rewrite was called with arguments that break its contract (caller bug, not bad SDP)
  | "E_PCSCF_CONFIG"; // the P-CSCF node options are invalid (name, URIs, interfaces)

export class PcscfError extends ImsdcError {
  declare readonly code: PcscfErrorCode;
  readonly details?: Record<string, unknown>;

  constructor(code: PcscfErrorCode, message: string, options?: { cause?: unknown; details?: Record<string, unknown> }) {
    super(code, message, options);
    if (options?.details) this.details = options.details;
  }
}

/** One problem found in a configuration object: where (`path`, e.g. "e2dce.values[1]") and what. */
export interface ConfigProblem {
  path: string;
  message: string;
}

/** Thrown by `loadAlgConfig`; lists every problem found, not only the first. */
export class AlgConfigError extends PcscfError {
  readonly problems: readonly ConfigProblem[];

  constructor(problems: readonly ConfigProblem[]) {
    super("E_CONFIG", `invalid IMS-ALG configuration: ${problems.map((p) => `${p.path}: ${p.message}`).join("; ")}`, {
      details: { problems },
    });
    this.problems = problems;
  }
}
