/**
 * Fault scenarios of issue 8 item 3, one after another, each bounded in time:
 *
 *   node --import tsx bench/faults.ts [--only name,name] [--list]
 *
 * Scenarios live in bench/faults/{dc,sip,agw,pcscf}.ts (each exports `scenarios`). Printed: one JSON line per
 * scenario (FaultResult + ms), then a table. Exit code 1 when a scenario did not behave as specified.
 */
import { cpus } from "node:os";
import type { FaultResult, FaultScenario } from "./faults/types.ts";

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
if (process.argv.includes("--list")) {
  for (const [n] of all) console.log(n);
  process.exit(0);
}
const i = process.argv.indexOf("--only");
const only = i >= 0 ? new Set((process.argv[i + 1] ?? "").split(",")) : undefined;
const results: (FaultResult & { ms: number })[] = [];
for (const [name, run] of all) {
  if (only && !only.has(name)) continue;
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
  console.log(JSON.stringify({ bench: "faults", ...row, cpus: cpus().length, node: process.version }));
}
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
