/**
 * Every bench script answers `--help` with a usage text and exit 0, at once and without running anything (no JSON
 * figure line, nothing on stderr); `-h` is the same test (bench/cli.ts `wantsHelp`) on one script of each kind.
 * Scripts: bench/*.ts (bench/cli.ts is the shared module, not a script) and every file under bench/'s subfolders
 * that reads process.argv (the children the benches fork).
 */
import { spawn } from "node:child_process";
import { readdirSync, readFileSync } from "node:fs";
import { join, relative } from "node:path";
import { fileURLToPath } from "node:url";
import { beforeAll, describe, expect, it } from "vitest";

const ROOT = fileURLToPath(new URL("../..", import.meta.url));
const BENCH = join(ROOT, "bench");
/** "returned within a few seconds": a tsx start is ~1 s; a script that starts its run is killed at KILL_MS */
const BOUND_MS = 10_000;
const KILL_MS = 20_000;

function tsFiles(dir: string): string[] {
  return readdirSync(dir, { withFileTypes: true }).flatMap((e) =>
    e.isDirectory() ? tsFiles(join(dir, e.name)) : e.name.endsWith(".ts") ? [join(dir, e.name)] : [],
  );
}

const SCRIPTS = tsFiles(BENCH)
  .filter((f) => {
    const rel = relative(BENCH, f);
    if (rel === "cli.ts") return false;
    return !rel.includes("/") || readFileSync(f, "utf8").includes("process.argv");
  })
  .map((f) => relative(ROOT, f))
  .sort();

interface Run {
  code: number | null;
  signal: NodeJS.Signals | null;
  stdout: string;
  stderr: string;
  ms: number;
}

function run(script: string, args: string[]): Promise<Run> {
  return new Promise((resolve) => {
    const t0 = performance.now();
    const cp = spawn(process.execPath, ["--import", "tsx", script, ...args], {
      cwd: ROOT,
      stdio: ["ignore", "pipe", "pipe"],
      env: { ...process.env, NO_COLOR: "1" },
    });
    let stdout = "";
    let stderr = "";
    cp.stdout.on("data", (b: Buffer) => {
      stdout += b.toString();
    });
    cp.stderr.on("data", (b: Buffer) => {
      stderr += b.toString();
    });
    const kill = setTimeout(() => cp.kill("SIGKILL"), KILL_MS);
    cp.on("close", (code, signal) => {
      clearTimeout(kill);
      resolve({ code, signal, stdout, stderr, ms: performance.now() - t0 });
    });
  });
}

/** Runs the jobs two at a time (a 2-core machine shared with other test files). */
async function pool<T>(jobs: (() => Promise<T>)[], width = 2): Promise<T[]> {
  const out: T[] = new Array(jobs.length);
  let next = 0;
  const worker = async () => {
    for (let i = next++; i < jobs.length; i = next++) out[i] = await (jobs[i] as () => Promise<T>)();
  };
  await Promise.all(Array.from({ length: width }, worker));
  return out;
}

const results = new Map<string, Run>();
const CASES = [
  ...SCRIPTS.map((s) => [s, "--help"] as const),
  ["bench/fuzz.ts", "-h"] as const,
  ["bench/fuzz/child.ts", "-h"] as const,
];

describe("bench scripts answer --help (and -h) without running", () => {
  beforeAll(async () => {
    await pool(
      CASES.map(
        ([s, flag]) =>
          async () =>
            results.set(`${s} ${flag}`, await run(s, [flag])),
      ),
    );
  }, 120_000);

  it("finds the scripts: every bench/*.ts and the forked children", () => {
    for (const s of [
      "bench/agw.ts",
      "bench/dc.ts",
      "bench/dcPeer.ts",
      "bench/faults.ts",
      "bench/fuzz.ts",
      "bench/limits.ts",
      "bench/pcscf.ts",
      "bench/soak.ts",
      "bench/agw/roles.ts",
      "bench/fuzz/child.ts",
      "bench/limits/flood.ts",
      "bench/limits/server.ts",
      "bench/pcscf/server.ts",
    ])
      expect(SCRIPTS).toContain(s);
    expect(SCRIPTS).not.toContain("bench/cli.ts");
  });

  for (const [script, flag] of CASES)
    it(`${script} ${flag}`, () => {
      const r = results.get(`${script} ${flag}`);
      expect(r, "not run").toBeDefined();
      if (!r) return;
      expect({ code: r.code, signal: r.signal, stderr: r.stderr }).toEqual({ code: 0, signal: null, stderr: "" });
      expect(r.stdout).toMatch(new RegExp(`^usage: node (--expose-gc )?--import tsx ${script.replace(/\./g, "\\.")}`));
      expect(r.stdout, "a JSON figure line: the script ran").not.toMatch(/^\{/m);
      expect(r.ms).toBeLessThan(BOUND_MS);
    });

  it("a bad option is a usage error (exit 2, message and usage on stderr), and nothing runs", async () => {
    const r = await run("bench/faults.ts", ["--no-such-option"]);
    expect(r.code).toBe(2);
    expect(r.stdout).toBe("");
    expect(r.stderr).toMatch(/^bench\/faults\.ts: unknown option --no-such-option\nusage: /);
  });
});
