/**
 * What an idle verified TLS leg holds: one AGW in this process, the TLS clients in a child (roles.ts memclient).
 * Prints `process.memoryUsage()` and RSS deltas per 1 000 legs and, with `--snapshot`, the heap-snapshot delta by
 * constructor (self size per leg, top 25): the profile behind docs/agw.md "Benchmarks".
 *
 *   node --expose-gc --import tsx bench/agw/heap.ts [--legs 1000] [--scope termination|agw] [--snapshot]
 */
import { type ChildProcess, fork } from "node:child_process";
import { readFileSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import { writeHeapSnapshot } from "node:v8";
import { ImsAgw } from "../../src/ims/agw/agw.ts";
import { AuditLog } from "../../src/log.ts";
import type { Fingerprint } from "../../src/sdp/index.ts";
import { benchArgs } from "../cli.ts";

const USAGE = `usage: node --expose-gc --import tsx bench/agw/heap.ts [--legs N] [--scope termination|agw] [--snapshot]

Holds N idle, verified access TLS legs in one AGW (this process; the clients run in a child) and prints what they
cost: RSS, heapUsed, external and arrayBuffers deltas per 1 000 legs; with --snapshot also the V8 heap delta per leg
by constructor (two heap snapshots, before and after).
`;
const FLAGS = benchArgs(USAGE, { legs: "number", scope: "string", snapshot: "boolean" });
const N = FLAGS.legs ?? 1000;
const scope = FLAGS.scope === "agw" ? "agw" : "termination";
const gc = (globalThis as { gc?: () => void }).gc;
if (!gc) {
  console.error("run with --expose-gc");
  process.exit(2);
}

type Msg = Record<string, unknown>;
function next(cp: ChildProcess): Promise<Msg> {
  return new Promise((resolve) => cp.once("message", (m: Msg) => resolve(m)));
}
async function ask(cp: ChildProcess, m: Msg): Promise<Msg> {
  const p = next(cp);
  cp.send(m);
  return p;
}

function rssKiB(): number {
  const m = /VmRSS:\s+(\d+)/.exec(readFileSync("/proc/self/status", "utf8"));
  return m ? Number(m[1]) : 0;
}
async function settle(): Promise<NodeJS.MemoryUsage & { rssKiB: number }> {
  for (let i = 0; i < 3; i++) {
    gc?.();
    await new Promise((r) => setTimeout(r, 200));
  }
  return { ...process.memoryUsage(), rssKiB: rssKiB() };
}

/** self size and count per constructor name, from a .heapsnapshot file */
function byConstructor(file: string): Map<string, { size: number; count: number }> {
  const snap = JSON.parse(readFileSync(file, "utf8")) as {
    snapshot: { meta: { node_fields: string[]; node_types: [string[]] } };
    nodes: number[];
    strings: string[];
  };
  const f = snap.snapshot.meta.node_fields;
  const types = snap.snapshot.meta.node_types[0];
  const [iType, iName, iSize] = [f.indexOf("type"), f.indexOf("name"), f.indexOf("self_size")];
  const out = new Map<string, { size: number; count: number }>();
  for (let i = 0; i < snap.nodes.length; i += f.length) {
    const type = types[snap.nodes[i + iType] ?? 0] ?? "?";
    const name =
      type === "object" || type === "native" ? (snap.strings[snap.nodes[i + iName] ?? 0] ?? "?") : `(${type})`;
    const e = out.get(name) ?? { size: 0, count: 0 };
    e.size += snap.nodes[i + iSize] ?? 0;
    e.count++;
    out.set(name, e);
  }
  return out;
}

const agw = new ImsAgw({
  audit: new AuditLog({ max: 100 }),
  certificateScope: scope,
  maxContexts: Math.max(20_000, N),
  timers: { establishmentMs: 600_000, handshakeMs: 120_000 },
});
const cli = fork(fileURLToPath(new URL("./roles.ts", import.meta.url)), ["memclient"], {
  execArgv: ["--import", "tsx"],
  stdio: ["ignore", "inherit", "inherit", "ipc"],
});
const { fingerprint } = await next(cli);
const snapDir = tmpdir();
const m0 = await settle();
const s0 = FLAGS.snapshot ? writeHeapSnapshot(join(snapDir, `agw-heap-0-${process.pid}.heapsnapshot`)) : undefined;
const ids: string[] = [];
for (let done = 0; done < N; done += 500) {
  const ports: number[] = [];
  for (let i = 0; i < Math.min(500, N - done); i++) {
    const t = await agw.reserveAndConfigureAgwConnectionPoint({
      side: "access",
      transport: "TCP/TLS/MSRP",
      remote: {
        address: "127.0.0.1",
        port: 9,
        setup: "active",
        certificateFingerprints: [fingerprint as Fingerprint],
      },
    });
    ids.push(t.contextId);
    ports.push(t.localPort);
  }
  await ask(cli, { cmd: "open", ports, conc: 100 });
}
for (let i = 0; i < 200; i++) {
  const ready = ids.filter((id) => agw.inspectContext(id)?.terminations[0]?.state === "ready").length;
  if (ready === N) break;
  await new Promise((r) => setTimeout(r, 100));
}
await new Promise((r) => setTimeout(r, 2000));
// AGW_HEAP_IDLE_MS: a longer idle time before the measurement (V8's memory reducer shrinks the heap when idle)
await new Promise((r) => setTimeout(r, Number(process.env.AGW_HEAP_IDLE_MS ?? 0)));
const m1 = await settle();
const per1k = (a: number, b: number) => Math.round(((b - a) / N) * 1000) / 1024;
console.log(
  JSON.stringify({
    figure: "agw.leg.memory",
    scope,
    legs: N,
    rssKiBPer1kLegs: Math.round((m1.rssKiB - m0.rssKiB) / (N / 1000)),
    heapUsedKiBPer1kLegs: Math.round(per1k(m0.heapUsed, m1.heapUsed)),
    heapTotalKiBPer1kLegs: Math.round(per1k(m0.heapTotal, m1.heapTotal)),
    externalKiBPer1kLegs: Math.round(per1k(m0.external, m1.external)),
    arrayBuffersKiBPer1kLegs: Math.round(per1k(m0.arrayBuffers, m1.arrayBuffers)),
  }),
);
if (s0) {
  const s1 = writeHeapSnapshot(join(snapDir, `agw-heap-1-${process.pid}.heapsnapshot`));
  const [a, b] = [byConstructor(s0), byConstructor(s1)];
  const rows = [...b.entries()]
    .map(([k, v]) => ({ k, size: v.size - (a.get(k)?.size ?? 0), count: v.count - (a.get(k)?.count ?? 0) }))
    .sort((x, y) => y.size - x.size)
    .slice(0, 25);
  console.log("| constructor | bytes/leg | objects/leg |\n|---|---|---|");
  for (const r of rows) console.log(`| ${r.k} | ${Math.round(r.size / N)} | ${(r.count / N).toFixed(1)} |`);
  if (process.env.AGW_HEAP_KEEP) console.log(`snapshots kept: ${s0} ${s1}`);
  else {
    rmSync(s0);
    rmSync(s1);
  }
}
cli.kill("SIGKILL");
await agw.close();
process.exit(0);
