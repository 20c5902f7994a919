/** A small, strict command-line option parser shared by the imsdc commands (`--flag`, `--opt VALUE`, `--opt=VALUE`). */
import { UsageError } from "./errors.ts";

export type OptionKind = "boolean" | "string" | "port" | "ms";
export type OptionSpec = Readonly<Record<string, OptionKind>>;

type ValueOf<K extends OptionKind> = K extends "boolean" ? boolean : K extends "string" ? string : number;
export type ParsedOptions<S extends OptionSpec> = { -readonly [N in keyof S]?: ValueOf<S[N]> };

export interface ParsedArgs<S extends OptionSpec> {
  options: ParsedOptions<S>;
  positional: string[];
}

/** Parses `args` against `spec` (option names without the leading dashes). Throws UsageError. */
export function parseArgs<S extends OptionSpec>(args: readonly string[], spec: S, maxPositional = 0): ParsedArgs<S> {
  const options: Record<string, boolean | string | number> = {};
  const positional: string[] = [];
  for (let i = 0; i < args.length; i++) {
    const arg = args[i] ?? "";
    if (!arg.startsWith("--") || arg === "--") {
      if (arg.startsWith("-") && arg !== "-") throw new UsageError(`unknown option '${arg}'`);
      positional.push(arg);
      continue;
    }
    const eq = arg.indexOf("=");
    const name = arg.slice(2, eq >= 0 ? eq : undefined);
    const inline = eq >= 0 ? arg.slice(eq + 1) : undefined;
    const kind = Object.hasOwn(spec, name) ? spec[name] : undefined;
    if (kind === undefined) throw new UsageError(`unknown option '--${name}'`);
    if (kind === "boolean") {
      if (inline !== undefined) throw new UsageError(`--${name} takes no value`);
      options[name] = true;
      continue;
    }
    const v = inline ?? args[++i];
    if (v === undefined || v === "") throw new UsageError(`--${name} needs a value`);
    if (kind === "string") options[name] = v;
    else {
      const n = /^\d+$/.test(v) ? Number(v) : Number.NaN;
      if (kind === "port" && !(n >= 0 && n <= 65535))
        throw new UsageError(`--${name} must be a port 0-65535, not '${v}'`);
      if (kind === "ms" && !(n >= 1 && n <= 3_600_000))
        throw new UsageError(`--${name} must be 1-3600000 ms, not '${v}'`);
      options[name] = n;
    }
  }
  if (positional.length > maxPositional) throw new UsageError(`unexpected argument '${positional[maxPositional]}'`);
  return { options: options as ParsedOptions<S>, positional };
}

/** true when any of the help flags is present. */
export function wantsHelp(args: readonly string[]): boolean {
  return args.includes("--help") || args.includes("-h");
}
