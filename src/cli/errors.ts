/**
 * Typed errors of the imsdc commands. Each maps to one exit code (src/cli/main.ts EXIT): usage and configuration
 * errors → 2, a feature that is not available yet → 5, everything else from the nodes → 3 unless the command says
 * otherwise.
 */
import { ImsdcError } from "../errors.ts";

export type CliErrorCode =
  | "E_USAGE" // bad command line
  | "E_CONFIG" // a --config file is unreadable, not JSON, or fails validation (see `problems`)
  | "E_NOT_AVAILABLE" // the command or scenario depends on a part that is not built yet
  | "E_TIMEOUT" // a bounded wait ran out
  | "E_WEB_BUILD"; // the demo page could not be built

export class CliError extends ImsdcError {
  declare readonly code: CliErrorCode;
  constructor(code: CliErrorCode, message: string, options?: { cause?: unknown }) {
    super(code, message, options);
  }
}

/** A usage error: the message goes to stderr with the command's usage text (exit 2). */
export class UsageError extends CliError {
  constructor(
    message: string,
    readonly showUsage = true,
  ) {
    super("E_USAGE", message);
  }
}

export interface ConfigProblem {
  /** JSON path of the offending value, e.g. "access.ws" or "dc.channels[0].id" */
  path: string;
  message: string;
}

/** An invalid --config file; lists every problem found, not only the first (exit 2). */
export class ConfigError extends CliError {
  readonly problems: readonly ConfigProblem[];
  constructor(
    readonly file: string,
    problems: readonly ConfigProblem[],
    options?: { cause?: unknown },
  ) {
    super(
      "E_CONFIG",
      `invalid configuration ${file}:\n${problems.map((p) => `  ${p.path || "(root)"}: ${p.message}`).join("\n")}`,
      options,
    );
    this.problems = problems;
  }
}
