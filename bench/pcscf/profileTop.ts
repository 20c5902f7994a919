/**
 * Summarises a V8 `.cpuprofile` (node --cpu-prof) as the top frames by self time and by inclusive time, in per cent
 * of the sampled time (idle and GC shown as their own rows). Used for the "Profile" section of docs/pcscf.md.
 *
 *   node --import tsx bench/pcscf/profileTop.ts FILE.cpuprofile [--top N] [--skip S] [--focus FN]
 *
 * `--skip S` leaves out the first S seconds of samples (module loading and warm-up of the forked server); `--focus FN`
 * keeps only the samples with function FN on the stack (what FN spends its time on).
 */
import { readFileSync } from "node:fs";
import { exitOnHelp } from "../cli.ts";

exitOnHelp(`usage: node --import tsx bench/pcscf/profileTop.ts FILE.cpuprofile [--top N] [--skip S] [--focus FN]

Prints the top frames of a V8 CPU profile by self and by inclusive time (per cent of samples).
`);

interface Node {
  id: number;
  callFrame: { functionName: string; url: string; lineNumber: number };
  children?: number[];
}
interface Profile {
  nodes: Node[];
  samples: number[];
  timeDeltas: number[];
}

const file = process.argv[2];
if (!file) {
  process.stderr.write("missing FILE.cpuprofile\n");
  process.exit(2);
}
const topIdx = process.argv.indexOf("--top");
const top = topIdx > 0 ? Number(process.argv[topIdx + 1]) : 25;
const skipIdx = process.argv.indexOf("--skip");
const skipUs = skipIdx > 0 ? Number(process.argv[skipIdx + 1]) * 1e6 : 0;
const focusIdx = process.argv.indexOf("--focus");
const focus = focusIdx > 0 ? process.argv[focusIdx + 1] : undefined;
const prof = JSON.parse(readFileSync(file, "utf8")) as Profile;
const byId = new Map<number, Node>(prof.nodes.map((n) => [n.id, n]));
const parent = new Map<number, number>();
for (const n of prof.nodes) for (const c of n.children ?? []) parent.set(c, n.id);

function label(n: Node): string {
  const f = n.callFrame;
  const url = f.url.replace(/^file:\/\//, "").replace(/^.*\/(src|vendor|node_modules|bench)\//, "$1/");
  const name = f.functionName || "(anonymous)";
  return url ? `${name} ${url}:${f.lineNumber + 1}` : name;
}

const self = new Map<string, number>();
const incl = new Map<string, number>();
let total = 0;
let elapsed = 0;
for (let i = 0; i < prof.samples.length; i++) {
  const id = prof.samples[i] ?? 0;
  const dt = prof.timeDeltas[i] ?? 0;
  elapsed += dt;
  if (elapsed < skipUs) continue;
  total += dt;
  const n = byId.get(id);
  if (!n) continue;
  if (focus !== undefined) {
    let inside = false;
    for (let cur: number | undefined = id; cur !== undefined && !inside; cur = parent.get(cur)) {
      inside = byId.get(cur)?.callFrame.functionName === focus;
    }
    if (!inside) continue;
  }
  const l = label(n);
  self.set(l, (self.get(l) ?? 0) + dt);
  const seen = new Set<string>();
  for (let cur: number | undefined = id; cur !== undefined; cur = parent.get(cur)) {
    const c = byId.get(cur);
    if (!c) break;
    const cl = label(c);
    if (seen.has(cl)) continue;
    seen.add(cl);
    incl.set(cl, (incl.get(cl) ?? 0) + dt);
  }
}
const idle = self.get("(idle)") ?? 0;
const busy = total - idle;
function print(title: string, m: Map<string, number>): void {
  process.stdout.write(
    `\n${title} (% of busy time; busy ${(busy / 1e6).toFixed(2)} s of ${(total / 1e6).toFixed(2)} s)\n`,
  );
  const rows = [...m.entries()]
    .filter(([l]) => l !== "(idle)" && l !== "(root)")
    .sort((a, b) => b[1] - a[1])
    .slice(0, top);
  for (const [l, t] of rows) process.stdout.write(`${((100 * t) / busy).toFixed(1).padStart(5)}%  ${l}\n`);
}
print("self", self);
print("inclusive", incl);
