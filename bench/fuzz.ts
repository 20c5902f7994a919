/**
 * Grammar-aware fuzzing of the SIP codec, the SDP layer, the IMS-ALG decision, a running P-CSCF (UDP and TCP) and
 * the UE's offer/answer path (docs/fuzz.md). Inputs are fast-check mutations of valid messages and bodies (the
 * fixtures and the src/sdp builders): dropped / duplicated / reordered lines and headers, boundary values, injected
 * CR/LF/NUL/UTF-8, lying Content-Length, split / concatenated / truncated messages, long tokens, nested quotes.
 *
 *   node --import tsx bench/fuzz.ts [--inputs 1000000] [--max-seconds 900] [--targets a,b,…] [--seed 1]
 *                                   [--jobs 2] [--stall-seconds 30] [--findings test/fuzz/findings|-]
 *   node --import tsx bench/fuzz.ts --replay <target>:<seed>:<chunk>[:<index>]   (no index: the whole chunk)
 *
 * Each target runs in its own child process (bench/fuzz/child.ts) with a share of the inputs and of the time; the
 * parent kills a child that sends no heartbeat for --stall-seconds (a hang: the last position is reported) and every
 * child at the global deadline. One JSON line per target on stdout (inputs, rejections by code, violations,
 * throughput), a total line, then a table. Exit 1 when any violation was found.
 */
import { type ChildProcess, fork } from "node:child_process";
import { fileURLToPath } from "node:url";
import { benchArgs, Progress } from "./cli.ts";
import type { Finding } from "./fuzz/run.ts";
import { isTargetName, TARGET_NAMES, type TargetName } from "./fuzz/targets/names.ts";

interface Args {
  inputs: number;
  maxSeconds: number;
  targets: TargetName[];
  seed: number;
  jobs: number;
  stallSeconds: number;
  findings: string;
  replay?: string;
}

/** Share of the inputs and of the time per target (inputs/s differ by two orders of magnitude). */
const PLAN: Record<TargetName, { inputs: number; time: number }> = {
  "sip-codec": { inputs: 0.36, time: 0.16 },
  "sip-framing": { inputs: 0.15, time: 0.07 },
  sdp: { inputs: 0.2, time: 0.25 },
  alg: { inputs: 0.2, time: 0.18 },
  "pcscf-udp": { inputs: 0.045, time: 0.09 },
  "pcscf-tcp": { inputs: 0.025, time: 0.09 },
  ue: { inputs: 0.02, time: 0.16 },
};

const USAGE = `usage: node --import tsx bench/fuzz.ts [--inputs N] [--max-seconds S] [--targets a,b,…] [--seed N]
                                      [--jobs N] [--stall-seconds S] [--findings DIR|-]
       node --import tsx bench/fuzz.ts --replay <target>:<seed>:<chunk>[:<index>]

Grammar-aware fuzzing (docs/fuzz.md): each target in a child process, a share of the inputs and of the time each.

  --inputs N          inputs over all targets (default 1000000)
  --max-seconds S     wall-clock bound of the whole campaign (default 900)
  --targets a,b,…     ${TARGET_NAMES.join(", ")} (default: all)
  --seed N            campaign seed; input (target, seed, chunk, index) is reproducible (default 1)
  --jobs N            children at a time (default 2)
  --stall-seconds S   a child without a heartbeat for S seconds is killed and reported as a hang (default 30)
  --findings DIR|-    where violating inputs are written (default test/fuzz/findings/; - = nowhere)
  --replay SPEC       rerun one input (or a whole chunk without :index) and print it

Output: one JSON line per target, a total line and a table on stdout; progress on stderr. Exit 1 on a violation.
`;

function parseArgs(): Args {
  const f = benchArgs(USAGE, {
    inputs: "number",
    "max-seconds": "number",
    targets: "list",
    seed: "number",
    jobs: "number",
    "stall-seconds": "number",
    findings: "string",
    replay: "string",
  });
  return {
    inputs: f.inputs ?? 1_000_000,
    maxSeconds: f["max-seconds"] ?? 900,
    targets: f.targets ? f.targets.filter(isTargetName) : [...TARGET_NAMES],
    seed: f.seed ?? 1,
    jobs: Math.max(1, f.jobs ?? 2),
    stallSeconds: f["stall-seconds"] ?? 30,
    findings: f.findings ?? fileURLToPath(new URL("../test/fuzz/findings/", import.meta.url)),
    ...(f.replay !== undefined ? { replay: f.replay } : {}),
  };
}

interface TargetResult {
  target: string;
  description?: string;
  inputs: number;
  accepted: number;
  rejected: number;
  violations: Record<string, number>;
  rejectionsByCode: Record<string, number>;
  seconds: number;
  cpuSeconds?: number;
  inputsPerSec: number;
  maxCallMs: number;
  unhandledRejections: number;
  findings: Finding[];
  extra: Record<string, unknown>;
  hang?: { chunk: number; index: number; replay: string };
}

type ChildMessage =
  | { type: "progress"; chunk: number; index: number; done: number }
  | { type: "error"; message: string }
  | {
      type: "result";
      target: string;
      description: string;
      seconds: number;
      cpuSeconds: number;
      tally: {
        inputs: number;
        accepted: number;
        rejected: number;
        violations: Record<string, number>;
        rejectionsByCode: Record<string, number>;
        maxCallMs: number;
      };
      findings: Finding[];
      unhandledRejections: number;
      unhandledSamples: string[];
      extra: Record<string, unknown>;
    };

const CHILD = fileURLToPath(new URL("./fuzz/child.ts", import.meta.url));
const children = new Set<ChildProcess>();

/** inputs done per target (heartbeats of the running children, results of the finished ones) */
const doneBy = new Map<TargetName, number>();
let progress: Progress | undefined;
function showProgress(): void {
  if (!progress) return;
  let sum = 0;
  for (const n of doneBy.values()) sum += n;
  progress.set(sum, `running: ${[...running].join(", ") || "-"}`);
}
const running = new Set<TargetName>();

function runChild(name: TargetName, a: Args, quota: number, seconds: number): Promise<TargetResult> {
  return new Promise((resolve) => {
    const child = fork(CHILD, [name, String(a.seed), String(quota), String(seconds), a.findings], {
      execArgv: ["--import", "tsx", "--expose-gc", "--max-old-space-size=2048"],
      stdio: ["ignore", "ignore", "inherit", "ipc"],
    });
    children.add(child);
    let last = { chunk: 0, index: 0, done: 0, at: Date.now() };
    let result: TargetResult | undefined;
    const started = Date.now();
    running.add(name);
    const finish = (r: TargetResult) => {
      clearInterval(watch);
      children.delete(child);
      running.delete(name);
      doneBy.set(name, r.inputs);
      showProgress();
      resolve(r);
    };
    const failed = (why: string, hang: boolean): TargetResult => ({
      target: name,
      inputs: last.done + 1,
      accepted: 0,
      rejected: 0,
      violations: { [hang ? "hang" : "crash"]: 1 },
      rejectionsByCode: {},
      seconds: (Date.now() - started) / 1000,
      inputsPerSec: 0,
      maxCallMs: 0,
      unhandledRejections: 0,
      findings: [],
      extra: { error: why },
      ...(hang
        ? {
            hang: {
              chunk: last.chunk,
              index: last.index,
              // the last heartbeat; a synchronous hang is in this chunk or the next one
              replay: `node --import tsx bench/fuzz.ts --replay ${name}:${a.seed}:${last.chunk + 1}`,
            },
          }
        : {}),
    });
    // the watchdog: no heartbeat for stallSeconds = a hang (a synchronous loop blocks the child's timers)
    const watch = setInterval(() => {
      const silent = Date.now() - last.at;
      const over = Date.now() - started > (seconds + a.stallSeconds + 30) * 1000;
      if (silent > a.stallSeconds * 1000 || over) {
        child.kill("SIGKILL");
        finish(failed(over ? "past its deadline" : `no heartbeat for ${Math.round(silent / 1000)} s`, true));
      }
    }, 1000);
    child.on("message", (m: ChildMessage) => {
      if (m.type === "progress") {
        last = { chunk: m.chunk, index: m.index, done: m.done, at: Date.now() };
        doneBy.set(name, m.done);
        showProgress();
      } else if (m.type === "error") finish(failed(m.message, false));
      else {
        const t = m.tally;
        result = {
          target: m.target,
          description: m.description,
          inputs: t.inputs,
          accepted: t.accepted,
          rejected: t.rejected,
          violations: {
            ...t.violations,
            ...(m.unhandledRejections > 0 ? { "unhandled-rejection": m.unhandledRejections } : {}),
          },
          rejectionsByCode: t.rejectionsByCode,
          seconds: Math.round(m.seconds * 10) / 10,
          cpuSeconds: Math.round(m.cpuSeconds * 10) / 10,
          inputsPerSec: Math.round(t.inputs / m.seconds),
          maxCallMs: t.maxCallMs,
          unhandledRejections: m.unhandledRejections,
          findings: m.findings,
          extra: { ...m.extra, ...(m.unhandledSamples.length > 0 ? { unhandledSamples: m.unhandledSamples } : {}) },
        };
      }
    });
    child.on("exit", (code, signal) => {
      if (result) finish(result);
      else if (children.has(child)) finish(failed(`child exited (${code ?? signal})`, false));
    });
  });
}

async function replay(spec: string): Promise<number> {
  // the target code is loaded here only: the campaign runs every target in a child process
  const { runOne } = await import("./fuzz/oracle.ts");
  const { chunkInputs } = await import("./fuzz/run.ts");
  const { makeTarget } = await import("./fuzz/targets/index.ts");
  const [name = "", seed = "1", chunk = "0", index] = spec.split(":");
  if (!isTargetName(name)) throw new Error(`unknown target ${name}`);
  const t = makeTarget(name);
  await t.start?.();
  if (index === undefined) {
    // a whole chunk (a hang is reported at chunk granularity: heartbeats run between chunks of synchronous targets)
    let bad = 0;
    for (const [i, x] of chunkInputs(t, Number(seed), Number(chunk)).entries()) {
      const r = await runOne(t, x);
      if (r.violation || r.ms > t.boundMs / 4) {
        bad++;
        console.log(JSON.stringify({ index: i, ms: Math.round(r.ms), violation: r.violation?.message }));
      }
    }
    await t.stop?.();
    return bad > 0 ? 1 : 0;
  }
  const input = chunkInputs(t, Number(seed), Number(chunk))[Number(index)];
  const rep = t.reproducer(input);
  console.log(JSON.stringify({ target: name, input, how: rep.note }));
  console.log(typeof rep.bytes === "string" ? rep.bytes : Buffer.from(rep.bytes).toString("latin1"));
  const r = await runOne(t, input);
  console.log(
    JSON.stringify({
      ms: Math.round(r.ms),
      outcome: r.outcome,
      violation: r.violation && { code: r.violation.code, message: r.violation.message, details: r.violation.details },
    }),
  );
  await t.stop?.();
  return r.violation ? 1 : 0;
}

function table(rows: TargetResult[]): string {
  const head = "| target | inputs | accepted | rejected | violations | inputs/s | max ms/call | top rejection codes |";
  const sep = "|---|---:|---:|---:|---|---:|---:|---|";
  const lines = rows.map((r) => {
    const v = Object.entries(r.violations)
      .map(([k, n]) => `${k} ${n}`)
      .join(", ");
    const top = Object.entries(r.rejectionsByCode)
      .slice(0, 5)
      .map(([k, n]) => `${k} ${n}`)
      .join(", ");
    return `| ${r.target} | ${r.inputs} | ${r.accepted} | ${r.rejected} | ${v || "0"} | ${r.inputsPerSec} | ${r.maxCallMs} | ${top} |`;
  });
  return [head, sep, ...lines].join("\n");
}

async function main(): Promise<number> {
  const a = parseArgs();
  if (a.replay) return replay(a.replay);
  progress = new Progress("fuzz", { total: a.inputs, unit: "inputs" }).start();
  const findings = a.findings === "-" ? "-" : a.findings;
  const args = { ...a, findings };
  const t0 = Date.now();
  const shareSum = a.targets.reduce((s, n) => s + PLAN[n].time, 0);
  const inputSum = a.targets.reduce((s, n) => s + PLAN[n].inputs, 0);
  // with --jobs J, J children run at once: each gets J times its sequential share of the wall clock
  const queue = [...a.targets];
  const results: TargetResult[] = [];
  const worker = async () => {
    for (let name = queue.shift(); name !== undefined; name = queue.shift()) {
      const quota = Math.max(1, Math.round((a.inputs * PLAN[name].inputs) / inputSum));
      const seconds = Math.max(5, (a.maxSeconds * a.jobs * PLAN[name].time) / shareSum - 5);
      const r = await runChild(name, args, quota, Math.min(seconds, a.maxSeconds - 10));
      console.log(JSON.stringify(r));
      results.push(r);
    }
  };
  await Promise.all(Array.from({ length: Math.min(a.jobs, a.targets.length) }, worker));
  progress.stop();
  results.sort((x, y) => a.targets.indexOf(x.target as TargetName) - a.targets.indexOf(y.target as TargetName));
  const total = results.reduce((s, r) => s + r.inputs, 0);
  const violations = results.reduce((s, r) => s + Object.values(r.violations).reduce((x, y) => x + y, 0), 0);
  const seconds = (Date.now() - t0) / 1000;
  console.log(
    JSON.stringify({
      total: true,
      inputs: total,
      violations,
      seconds: Math.round(seconds),
      inputsPerSec: Math.round(total / seconds),
      seed: a.seed,
      jobs: a.jobs,
      node: process.version,
    }),
  );
  console.log(`\n${table(results)}\n\ntotal: ${total} inputs in ${Math.round(seconds)} s, ${violations} violation(s)`);
  return violations > 0 ? 1 : 0;
}

const stop = () => {
  for (const c of children) c.kill("SIGKILL");
};
process.on("SIGINT", () => {
  stop();
  process.exit(130);
});
process.on("SIGTERM", () => {
  stop();
  process.exit(143);
});
main().then(
  (code) => {
    stop();
    process.exitCode = code;
  },
  (e: unknown) => {
    stop();
    console.error(e);
    process.exitCode = 2;
  },
);
