/**
 * sipp (Debian sip-tester) for the interop tests: where it is, and a bounded runner. Each run goes under coreutils
 * `timeout` and sipp's own -timeout, binds 127.0.0.1 only, and is stopped by `stopAll()` (the tests' afterEach).
 */
import { type ChildProcess, execFileSync, spawn } from "node:child_process";

function findSipp(): string | undefined {
  try {
    return execFileSync("sh", ["-c", "command -v sipp"], { encoding: "utf8" }).trim() || undefined;
  } catch {
    return undefined;
  }
}

/** The sipp binary, or undefined (the caller skips loudly). */
export const SIPP = findSipp();

/** Warns loudly that `what` is skipped when sipp is missing. */
export function warnWithoutSipp(what: string): void {
  if (!SIPP) console.warn(`\n!!!!!!!!!! sipp NOT FOUND: ${what} SKIPPED (apt-get install -y sip-tester) !!!!!!!!!!\n`);
}

const procs: ChildProcess[] = [];

/** Runs sipp in `dir` with `args`, bounded by `seconds`; resolves with its exit code (124: coreutils timeout). */
export function runSipp(args: string[], dir: string, seconds = 20): Promise<number | null> {
  const p = spawn(
    "timeout",
    ["-k", "2", String(seconds), SIPP ?? "sipp", ...args, "-nostdin", "-timeout", `${seconds - 4}s`, "-i", "127.0.0.1"],
    { cwd: dir, stdio: "ignore" },
  );
  procs.push(p);
  return new Promise((resolve) => {
    p.on("close", (code) => resolve(code));
    p.on("error", () => resolve(-1));
  });
}

/** Stops every sipp this module started (SIGTERM, then waits for it). */
export async function stopAllSipp(): Promise<void> {
  for (const p of procs.splice(0)) {
    if (p.exitCode === null && p.signalCode === null) {
      const gone = new Promise((r) => p.once("close", r));
      p.kill("SIGTERM");
      await gone;
    }
  }
}
