/**
 * The fault scenarios of docs/faults.md, one after another, each bounded in time:
 *
 *   node --import tsx bench/faults.ts [--only name,name] [--list]
 *
 * Scenarios live in bench/faults/{dc,sip,agw,pcscf}.ts (each exports `scenarios`). Printed: one JSON line per
 * scenario (FaultResult + ms), then a table. Exit code 1 when a scenario did not behave as specified.
 */
import { cpus } from "node:os";
import { benchArgs, Progress } from "./cli.ts";
import type { FaultResult, FaultScenario } from "./faults/types.ts";

const FLAGS = benchArgs(
  `usage: node --import tsx bench/faults.ts [--only name,name] [--list]

The fault scenarios (docs/faults.md), one after another, each bounded in time: a peer vanishes, a node restarts,
a connection stalls, the IMS-AGW loses its IMS-ALG … and what each node detects, releases and recovers.

  --only a,b   run only these scenarios
  --list       print the scenario names and exit

One JSON line per scenario and a table on stdout; progress on stderr. Exit 1 when a scenario misbehaved (~50 s).
`,
  { only: "list", list: "boolean" },
);

const MODULES = ["dc", "sip", "agw", "pcscf"] as const;
const BOUND_MS = 90_000;

const all: [string, FaultScenario][] = [];
for (const m of MODULES) {
  try {
    const mod = (await import(`./faults/${m}.ts`)) as { scenarios: Record<string, FaultScenario> };
    for (const [name, s] of Object.entries(mod.scenarios)) all.push([name, s]);
  } catch (e) {
    // a module that does not load is a failed scenario, not a crash of the run
    const detail = `bench/faults/${m}.ts did not load: ${e instanceof Error ? e.message.split("\n")[0] : String(e)}`;
    all.push([`${m}:load`, async () => ({ scenario: `${m}:load`, ok: false, detail })]);
  }
}
if (FLAGS.list === true) {
  for (const [n] of all) console.log(n);
  process.exit(0);
}
const only = FLAGS.only ? new Set(FLAGS.only) : undefined;
const results: (FaultResult & { ms: number })[] = [];
const selected = all.filter(([name]) => !only || only.has(name));
const progress = new Progress("faults", { total: selected.length, unit: "scenarios" }).start();
for (const [name, run] of selected) {
  progress.note(name);
  const t0 = performance.now();
  let r: FaultResult;
  try {
    r = await Promise.race([
      run(),
      new Promise<FaultResult>((res) =>
        setTimeout(
          () => res({ scenario: name, ok: false, detail: `no result within ${BOUND_MS} ms` }),
          BOUND_MS,
        ).unref(),
      ),
    ]);
  } catch (e) {
    r = { scenario: name, ok: false, detail: `threw: ${e instanceof Error ? e.message : String(e)}` };
  }
  const row = { ...r, ms: Math.round(performance.now() - t0) };
  results.push(row);
  progress.add(1, `${name}: ${r.ok ? "ok" : "MISBEHAVED"}`);
  console.log(JSON.stringify({ bench: "faults", ...row, cpus: cpus().length, node: process.version }));
}
progress.stop();
const fmt = (o?: Record<string, number>) =>
  o
    ? Object.entries(o)
        .map(([k, v]) => `${k} ${v}`)
        .join(", ")
    : "";
console.log("");
console.log("| scenario | ok | code | detected (ms) | released (ms) | recovered (ms) | before | after | detail |");
console.log("|---|---|---|---|---|---|---|---|---|");
for (const r of results) {
  console.log(
    `| ${r.scenario} | ${r.ok ? "yes" : "**NO**"} | ${r.code ?? ""} | ${r.detectMs ?? ""} | ${r.releaseMs ?? ""} | ${r.recoverMs ?? ""} | ${fmt(r.before)} | ${fmt(r.after)} | ${r.detail} |`,
  );
}
process.exit(results.every((r) => r.ok) ? 0 : 1);
