/**
 * The command line shared by the bench scripts: `--help` / `-h` prints the usage on stdout and exits 0 before anything
 * runs; flags are parsed against a small spec (a bad flag is a usage error, exit 2); `Progress` reports a long run on
 * stderr, as a single-line bar on a terminal (redrawn with `\r`) and as a plain line otherwise, at least every 5 s.
 * stdout stays free for the JSON lines and tables the benches print.
 */

export type FlagKind = "string" | "number" | "boolean" | "list" | "numbers";

type FlagValue<K extends FlagKind> = K extends "number"
  ? number
  : K extends "boolean"
    ? boolean
    : K extends "list"
      ? string[]
      : K extends "numbers"
        ? number[]
        : string;

export type Flags<S extends Record<string, FlagKind>> = { [K in keyof S]?: FlagValue<S[K]> };

export type ParsedArgv<S extends Record<string, FlagKind>> =
  | { kind: "help" }
  | { kind: "error"; message: string }
  | { kind: "ok"; flags: Flags<S> };

/** `--help` or `-h` anywhere on the command line. */
export function wantsHelp(argv: readonly string[]): boolean {
  return argv.includes("--help") || argv.includes("-h");
}

/** Parses `--name value`, `--name=value` and boolean `--name` against `spec`. Pure: never prints, never exits. */
export function parseArgv<S extends Record<string, FlagKind>>(spec: S, argv: readonly string[]): ParsedArgv<S> {
  if (wantsHelp(argv)) return { kind: "help" };
  const flags: Record<string, unknown> = {};
  for (let i = 0; i < argv.length; i++) {
    const arg = argv[i] ?? "";
    if (!arg.startsWith("--")) return { kind: "error", message: `unexpected argument '${arg}'` };
    const eq = arg.indexOf("=");
    const name = eq > 0 ? arg.slice(2, eq) : arg.slice(2);
    const kind = Object.hasOwn(spec, name) ? spec[name] : undefined;
    if (kind === undefined) return { kind: "error", message: `unknown option --${name}` };
    if (kind === "boolean") {
      if (eq > 0) return { kind: "error", message: `--${name} takes no value` };
      flags[name] = true;
      continue;
    }
    let value: string | undefined;
    if (eq > 0) value = arg.slice(eq + 1);
    else {
      value = argv[i + 1];
      i++;
    }
    if (value === undefined || (eq < 0 && value.startsWith("--")))
      return { kind: "error", message: `--${name} needs a value` };
    if (kind === "string") flags[name] = value;
    else if (kind === "list") flags[name] = value.split(",").filter((s) => s !== "");
    else {
      const nums = (kind === "number" ? [value] : value.split(",")).map((s) => (s.trim() === "" ? Number.NaN : +s));
      if (nums.length === 0 || nums.some((n) => !Number.isFinite(n)))
        return { kind: "error", message: `--${name} needs ${kind === "number" ? "a number" : "numbers"}: '${value}'` };
      flags[name] = kind === "number" ? nums[0] : nums;
    }
  }
  return { kind: "ok", flags: flags as Flags<S> };
}

function scriptName(): string {
  const a = process.argv[1] ?? "bench";
  const i = a.lastIndexOf("/bench/");
  return i >= 0 ? a.slice(i + 1) : a;
}

function withNewline(s: string): string {
  return s.endsWith("\n") ? s : `${s}\n`;
}

/** For scripts without flags (children started by a bench with positional arguments): usage and exit 0 on --help. */
export function exitOnHelp(usage: string, argv: readonly string[] = process.argv.slice(2)): void {
  if (!wantsHelp(argv)) return;
  process.stdout.write(withNewline(usage));
  process.exit(0);
}

/** Flags of a bench script; `--help` / `-h`: usage on stdout, exit 0; a bad command line: message + usage, exit 2. */
export function benchArgs<S extends Record<string, FlagKind>>(
  usage: string,
  spec: S,
  argv: readonly string[] = process.argv.slice(2),
): Flags<S> {
  const r = parseArgv(spec, argv);
  if (r.kind === "ok") return r.flags;
  if (r.kind === "help") process.stdout.write(withNewline(usage));
  else process.stderr.write(`${scriptName()}: ${r.message}\n${withNewline(usage)}`);
  process.exit(r.kind === "help" ? 0 : 2);
}

// ---------------------------------------------------------------------------------------------------------------

export interface ProgressOptions {
  /** the amount of work, when known (a bar and a percentage) */
  total?: number;
  /** what is counted, e.g. "calls" */
  unit?: string;
  /** where it goes (default process.stderr) */
  stream?: Pick<NodeJS.WriteStream, "write"> & { isTTY?: boolean; columns?: number };
  /** draw a bar with `\r` (default: the stream is a terminal) */
  tty?: boolean;
  /** between two reports (default 500 ms on a terminal, 4 s otherwise: at least every 5 s either way) */
  intervalMs?: number;
  /** clock in ms (tests) */
  now?: () => number;
}

type WriteFn = (chunk: string | Uint8Array, ...rest: unknown[]) => boolean;

/**
 * Progress of a long run. The script moves it (`set`, `add`, `note`); a timer (unref'd, so it neither keeps the
 * process alive nor shows up in `process.getActiveResourcesInfo()`) reports it. On a terminal whatever the script
 * writes to stdout or stderr first erases the bar, which the next tick redraws.
 */
export class Progress {
  done = 0;
  total: number | undefined;
  private text = "";
  private readonly started: number;
  private readonly tty: boolean;
  private readonly out: ProgressOptions["stream"] & object;
  private readonly now: () => number;
  private timer: ReturnType<typeof setInterval> | undefined;
  private shown = false;
  private readonly restore: (() => void)[] = [];

  constructor(
    readonly label: string,
    private readonly opts: ProgressOptions = {},
  ) {
    this.out = opts.stream ?? process.stderr;
    this.tty = opts.tty ?? this.out.isTTY === true;
    this.total = opts.total;
    this.now = opts.now ?? (() => performance.now());
    this.started = this.now();
  }

  /** Sets the amount done (and optionally what is going on now). */
  set(done: number, note?: string): this {
    this.done = done;
    if (note !== undefined) this.text = note;
    return this;
  }

  add(n = 1, note?: string): this {
    return this.set(this.done + n, note);
  }

  /** What is going on now, e.g. "ours @ 1500 cps, attempt 1". */
  note(text: string): this {
    this.text = text;
    return this;
  }

  /** The report as plain text: `[label] 1200/11000 calls (10.9 %) · 34 s · note`. */
  line(): string {
    const secs = Math.round((this.now() - this.started) / 1000);
    const unit = this.opts.unit ? ` ${this.opts.unit}` : "";
    const count =
      this.total !== undefined && this.total > 0
        ? `${this.done}/${this.total}${unit} (${((100 * Math.min(this.done, this.total)) / this.total).toFixed(1)} %)`
        : `${this.done}${unit}`;
    return `[${this.label}] ${count} · ${secs} s${this.text ? ` · ${this.text}` : ""}`;
  }

  /** The single-line bar for a terminal of `columns` columns (no line break; never wider than the terminal). */
  bar(columns = 80): string {
    const width = 20;
    const frac = this.total !== undefined && this.total > 0 ? Math.min(1, this.done / this.total) : undefined;
    const filled = frac === undefined ? 0 : Math.round(frac * width);
    const bar = frac === undefined ? "" : `${"█".repeat(filled)}${"░".repeat(width - filled)} `;
    const s = `[${this.label}] ${bar}${this.line().slice(this.label.length + 3)}`;
    const max = Math.max(10, columns - 1);
    return s.length > max ? `${s.slice(0, max - 1)}…` : s;
  }

  /** Reports now. */
  report(): void {
    const write = this.rawWrite();
    if (this.tty) {
      write(`\r${this.bar(this.out.columns || 80)}\x1b[K`);
      this.shown = true;
    } else write(`${this.line()}\n`);
  }

  /** Starts the periodic report (and reports at once). */
  start(): this {
    if (this.timer) return this;
    if (this.tty) this.guardTerminal();
    this.report();
    this.timer = setInterval(() => this.report(), this.opts.intervalMs ?? (this.tty ? 500 : 4000));
    this.timer.unref();
    return this;
  }

  /** Stops reporting; erases the bar and prints one last plain line (`final`, or the state). */
  stop(final?: string): void {
    if (this.timer) clearInterval(this.timer);
    this.timer = undefined;
    this.erase();
    for (const r of this.restore.splice(0)) r();
    this.rawWrite()(`${final ?? this.line()}\n`);
  }

  private erase(): void {
    if (!this.shown) return;
    this.shown = false;
    this.rawWrite()("\r\x1b[K");
  }

  private original: WriteFn | undefined;
  private rawWrite(): WriteFn {
    return this.original ?? (this.out.write.bind(this.out) as WriteFn);
  }

  /** While the bar is up, a write to stdout or stderr first erases it (the next tick redraws it). */
  private guardTerminal(): void {
    const streams = new Set<NodeJS.WriteStream | typeof this.out>([this.out]);
    if (this.out === process.stderr && process.stdout.isTTY) streams.add(process.stdout);
    for (const s of streams) {
      const prev = s.write;
      const orig = s.write.bind(s) as WriteFn;
      if (s === this.out) this.original = orig;
      const patched: WriteFn = (chunk, ...rest) => {
        this.erase();
        return orig(chunk, ...rest);
      };
      (s as { write: WriteFn }).write = patched;
      this.restore.push(() => {
        s.write = prev;
        if (s === this.out) this.original = undefined;
      });
    }
  }
}
