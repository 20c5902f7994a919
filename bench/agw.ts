/**
 * IMS-AGW benchmark: relay throughput and memory per idle TLS leg, each against its baseline measured in the same
 * run. Separate processes for client, relay and sink (anchors-measured.md §3 method); CPU from /proc/<pid>/stat.
 *
 * Throughput (same bytes, 64 KiB writes with drain backpressure, timer stops at the sink's 1-byte ack): every
 * measured run comes right after a baseline run (plain TCP relay), A B A C A D …, so the load of a shared machine
 * hits both runs of a pair alike; the ratio is the median of the per-pair ratios, printed with its spread.
 *   measured: IMS-AGW TLS↔TCP (e2ae, fingerprint verified) · IMS-AGW TCP↔TCP · naive Node TLS relay
 * Memory: N idle, verified access TLS legs held by one AGW process (client in another process); RSS delta after gc,
 * against a naive Node TLS server holding the same number of connections.
 * Prints one JSON line per figure (`{"figure":"agw.tls-relay.ratio","ours":…,"baseline":…,"ratio":…}`), then the
 * machine and the tables. Bounded: every wait has a timeout; children are killed by handle.
 */
import { type ChildProcess, execFileSync, fork } from "node:child_process";
import { readFileSync } from "node:fs";
import { cpus, loadavg } from "node:os";
import { fileURLToPath } from "node:url";
import { benchArgs, Progress } from "./cli.ts";

const USAGE = `usage: node --import tsx bench/agw.ts [--mib N] [--runs N] [--legs 1000,5000,10000] [--scopes a,b,…]
                                     [--only throughput|memory] [--chunk BYTES] [--verbose]
                                     [--relays a,b,…] [--compare DIR] [--cpu-prof DIR]

IMS-AGW benchmark (docs/agw.md), each figure against its baseline in the same run; client, relay and sink are
separate processes (bench/agw/roles.ts).

  --mib N          MiB sent per throughput run (default 1024)
  --runs N         pairs per measured relay: a baseline run (plain TCP relay) right before each measured run,
                   A B A C A D …; medians, min–max and the median of the per-pair ratios are printed (default 5)
  --legs a,b,…     idle verified TLS legs held for the memory figure (default 1000,5000,10000)
  --scopes a,b,…   certificate scopes for the memory figure: agw, termination, naive (default all three;
                   naive is the baseline of the ratio lines); with --compare also agw-b, termination-b.
                   Breakdown only: termination-pregen (certificates generated before the measurement) and
                   naive-noticket (the naive server without session tickets, as the AGW's TLS context)
  --only WHAT      throughput or memory (default both)
  --chunk BYTES    client write size (default 65536)
  --verbose        also print every run of every pair
  --settle-ms N    memory: a second measurement N ms after the first (3 s after the last leg), once V8's memory
                   reducer has shrunk the heap of an idle process (default 20000; 0 = none)
  --relays a,b,…   measured relays (default tls-relay,tcp-relay,node-tls-relay; with --compare also tls-relay-b)
  --compare DIR    A/B in the same run: DIR is another checkout of this repository (e.g. \`git archive\` of the commit
                   before a change, node_modules linked); its AGW is measured as tls-relay-b / tcp-relay-b,
                   each run paired with a baseline run like the others
  --cpu-prof DIR   the relay processes (AGW, plain and naive relays) write V8 CPU profiles into DIR
                   (summarise with bench/pcscf/profileTop.ts)

One JSON line per figure (agw.<relay>.ratio, agw.tls-leg-<scope>.kib: ours, baseline, ratio), then the machine
(CPU model, cores, Node, load average) and the tables on stdout; progress on stderr.
`;
const FLAGS = benchArgs(USAGE, {
  mib: "number",
  runs: "number",
  legs: "numbers",
  scopes: "list",
  only: "string",
  chunk: "number",
  verbose: "boolean",
  "settle-ms": "number",
  relays: "list",
  compare: "string",
  "cpu-prof": "string",
});

const ROLES = fileURLToPath(new URL("./agw/roles.ts", import.meta.url));
const HZ = Number(execFileSync("getconf", ["CLK_TCK"]).toString().trim()) || 100;

interface Args {
  mib: number;
  runs: number;
  legs: number[];
  only: string | undefined;
  chunk: number;
  scopes: string[];
  verbose: boolean;
  settleMs: number;
  relays: string[] | undefined;
  compare: string | undefined;
}

function parseArgs(): Args {
  return {
    mib: FLAGS.mib ?? 1024,
    runs: Math.max(1, FLAGS.runs ?? 5),
    legs: FLAGS.legs ?? [1000, 5000, 10000],
    only: FLAGS.only,
    chunk: FLAGS.chunk ?? 65536,
    scopes: FLAGS.scopes ?? ["agw", "termination", "naive"],
    verbose: FLAGS.verbose ?? false,
    settleMs: FLAGS["settle-ms"] ?? 20_000,
    relays: FLAGS.relays,
    compare: FLAGS.compare,
  };
}

/** one step per throughput run and per memory figure */
let progress: Progress | undefined;

const children = new Set<ChildProcess>();
const CPU_PROF = FLAGS["cpu-prof"];
function spawnRole(args: string[], gc = false, roles = ROLES, profile = false): ChildProcess {
  const prof = profile && CPU_PROF ? ["--cpu-prof", "--cpu-prof-dir", CPU_PROF] : [];
  const cp = fork(roles, args, {
    execArgv: ["--import", "tsx", ...(gc ? ["--expose-gc"] : []), ...prof],
    stdio: ["ignore", "inherit", "inherit", "ipc"],
  });
  children.add(cp);
  cp.once("exit", () => children.delete(cp));
  return cp;
}
function killAll(): void {
  for (const c of children) c.kill("SIGKILL");
}
process.on("exit", killAll);

type Msg = Record<string, unknown>;
function next(cp: ChildProcess, timeoutMs: number, what: string): Promise<Msg> {
  return new Promise((resolve, reject) => {
    const t = setTimeout(() => {
      cp.off("message", on);
      reject(new Error(`timeout waiting for ${what}`));
    }, timeoutMs);
    const on = (m: Msg) => {
      clearTimeout(t);
      cp.off("message", on);
      if (typeof m.error === "string") reject(new Error(`${what}: ${m.error}`));
      else resolve(m);
    };
    cp.on("message", on);
  });
}
async function ask(cp: ChildProcess, msg: Msg, timeoutMs: number, what: string): Promise<Msg> {
  const p = next(cp, timeoutMs, what);
  cp.send(msg);
  return p;
}
async function stop(cp: ChildProcess): Promise<void> {
  if (cp.exitCode !== null) return;
  const exited = new Promise<void>((r) => cp.once("exit", () => r()));
  cp.send({ cmd: "exit" });
  await Promise.race([exited, new Promise((r) => setTimeout(r, 3000))]);
  if (cp.exitCode === null) cp.kill("SIGKILL");
}

async function disconnect(cp: ChildProcess): Promise<void> {
  if (cp.exitCode !== null) return;
  const exited = new Promise<void>((r) => cp.once("exit", () => r()));
  cp.disconnect();
  await Promise.race([exited, new Promise((r) => setTimeout(r, 3000))]);
  if (cp.exitCode === null) cp.kill("SIGKILL");
}

function ticks(pid: number | undefined): number {
  if (!pid) return 0;
  const f = readFileSync(`/proc/${pid}/stat`, "utf8");
  const r = f.slice(f.lastIndexOf(")") + 2).split(" ");
  return Number(r[11]) + Number(r[12]);
}

const median = (xs: number[]) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)] ?? Number.NaN;
const round = (x: number, d = 1) => Math.round(x * 10 ** d) / 10 ** d;

interface Figure {
  figure: string;
  [k: string]: unknown;
}
const figures: Figure[] = [];
function emit(f: Figure): void {
  figures.push(f);
  console.log(JSON.stringify(f));
}

// ---------------------------------------------------------------------------------------------------------------
// Throughput
// ---------------------------------------------------------------------------------------------------------------

type Scenario = {
  /** the key of its ratio line: `agw.<key>.ratio` */
  key: string;
  name: string;
  kind: "tcp" | "tls";
  relay: "plain-relay" | "node-tls-relay" | "agw-tcp" | "agw-tls" | "agw-b-tcp" | "agw-b-tls";
};

const BASELINE: Scenario = {
  key: "plain-relay",
  name: "plain TCP relay (baseline: net + pipe)",
  kind: "tcp",
  relay: "plain-relay",
};
/** each measured scenario runs right after a baseline run (A B A C A D …), so drift hits both sides of a pair */
const MEASURED: Scenario[] = [
  { key: "tls-relay", name: "IMS-AGW TLS<->TCP (e2ae, fingerprint verified)", kind: "tls", relay: "agw-tls" },
  { key: "tcp-relay", name: "IMS-AGW TCP<->TCP", kind: "tcp", relay: "agw-tcp" },
  {
    key: "node-tls-relay",
    name: "naive Node TLS relay (tls server + pipe, no checks)",
    kind: "tls",
    relay: "node-tls-relay",
  },
  { key: "tls-relay-b", name: "IMS-AGW TLS<->TCP, --compare checkout", kind: "tls", relay: "agw-b-tls" },
  { key: "tcp-relay-b", name: "IMS-AGW TCP<->TCP, --compare checkout", kind: "tcp", relay: "agw-b-tcp" },
];

function measured(a: Args): Scenario[] {
  const want = a.relays ?? ["tls-relay", ...(a.compare ? ["tls-relay-b"] : []), "tcp-relay", "node-tls-relay"];
  const out = want.map((k) => MEASURED.find((sc) => sc.key === k));
  if (out.some((sc) => sc === undefined)) throw new Error(`--relays: one of ${MEASURED.map((sc) => sc.key)}`);
  if (!a.compare && out.some((sc) => sc?.relay.startsWith("agw-b"))) throw new Error("tls-relay-b needs --compare");
  return out as Scenario[];
}

interface Run {
  MBps: number;
  seconds: number;
  relayCpuPct: number;
  relayCpuSPerGB: number;
  sinkCpuPct: number;
  clientCpuPct: number;
  protocol?: string;
  cipher?: string;
}

/** median, min, max and the spread (max − min) / median of a sample */
function stats(xs: number[]): { median: number; min: number; max: number; spreadPct: number } {
  const med = median(xs);
  const min = Math.min(...xs);
  const max = Math.max(...xs);
  return {
    median: round(med, 2),
    min: round(min, 2),
    max: round(max, 2),
    spreadPct: Math.round((100 * (max - min)) / med),
  };
}

async function throughput(a: Args): Promise<void> {
  const total = a.mib * 1024 * 1024;
  const sink = spawnRole(["sink", String(total)]);
  const sinkPort = Number((await next(sink, 60_000, "sink")).port);
  const plain = spawnRole(["plain-relay", String(sinkPort)], false, ROLES, true);
  const plainPort = Number((await next(plain, 60_000, "plain relay")).port);
  const nodeTls = spawnRole(["node-tls-relay", String(sinkPort)], false, ROLES, true);
  const nodeTlsPort = Number((await next(nodeTls, 60_000, "node tls relay")).port);
  const agw = spawnRole(["agw"], false, ROLES, true);
  await next(agw, 60_000, "agw");
  const agwB = a.compare ? spawnRole(["agw"], false, `${a.compare}/bench/agw/roles.ts`, true) : agw;
  if (a.compare) await next(agwB, 60_000, "agw (--compare)");
  const relayOf: Record<Scenario["relay"], ChildProcess> = {
    "plain-relay": plain,
    "node-tls-relay": nodeTls,
    "agw-tcp": agw,
    "agw-tls": agw,
    "agw-b-tcp": agwB,
    "agw-b-tls": agwB,
  };

  async function runOnce(sc: Scenario, label: string): Promise<Run> {
    progress?.note(label);
    const cl = spawnRole(["client", sc.kind, String(total), String(a.chunk)]);
    const fp = (await next(cl, 60_000, "client fingerprint")).fingerprint;
    let port: number;
    let contextId: string | undefined;
    const relay = relayOf[sc.relay];
    if (sc.relay.startsWith("agw")) {
      const r = await ask(relay, { cmd: "context", kind: sc.kind, sinkPort, fingerprint: fp }, 60_000, "context");
      port = Number(r.port);
      contextId = String(r.contextId);
    } else {
      port = sc.relay === "plain-relay" ? plainPort : nodeTlsPort;
    }
    const r0 = ticks(relay.pid);
    const s0 = ticks(sink.pid);
    const result = next(cl, 300_000, label);
    cl.send({ port });
    const r = await result;
    const seconds = Number(r.seconds);
    const relayCpuS = (ticks(relay.pid) - r0) / HZ;
    const sinkCpuS = (ticks(sink.pid) - s0) / HZ;
    if (contextId) await ask(relay, { cmd: "release", contextId }, 60_000, "agw release");
    progress?.add(1);
    await new Promise((res) => setTimeout(res, 200));
    return {
      MBps: round(Number(r.MBps)),
      seconds: round(seconds, 3),
      relayCpuPct: Math.round((100 * relayCpuS) / seconds),
      relayCpuSPerGB: round(relayCpuS / (total / 1e9), 2),
      sinkCpuPct: Math.round((100 * sinkCpuS) / seconds),
      clientCpuPct: Math.round((100 * Number(r.clientCpuS)) / seconds),
      ...(r.protocol ? { protocol: String(r.protocol), cipher: String(r.cipher) } : {}),
    };
  }

  const scenarios = measured(a);
  const pairs = new Map<Scenario, { base: Run; ours: Run }[]>(scenarios.map((sc) => [sc, []]));
  for (let i = 0; i < a.runs; i++) {
    for (const sc of scenarios) {
      const base = await runOnce(BASELINE, `round ${i + 1}/${a.runs}: baseline before ${sc.key}`);
      const ours = await runOnce(sc, `round ${i + 1}/${a.runs}: ${sc.name}`);
      pairs.get(sc)?.push({ base, ours });
    }
  }
  for (const sc of scenarios) {
    const ps = pairs.get(sc) ?? [];
    const ours = stats(ps.map((p) => p.ours.MBps));
    const base = stats(ps.map((p) => p.base.MBps));
    const ratios = stats(ps.map((p) => p.ours.MBps / p.base.MBps));
    const last = ps.at(-1)?.ours;
    // the machine-readable line: medians of the paired runs and the median of the per-pair ratios
    emit({
      figure: `agw.${sc.key}.ratio`,
      ours: ours.median,
      baseline: base.median,
      ratio: ratios.median,
      unit: "MB/s",
      scenario: sc.name,
      baselineScenario: BASELINE.name,
      runs: ps.length,
      bytesPerRun: total,
      oursSpread: ours,
      baselineSpread: base,
      ratioSpread: ratios,
      relayCpuSPerGB: {
        ours: median(ps.map((p) => p.ours.relayCpuSPerGB)),
        baseline: median(ps.map((p) => p.base.relayCpuSPerGB)),
      },
      ...(last?.cipher ? { protocol: last.protocol, cipher: last.cipher } : {}),
      ...(sc.key === "tls-relay" ? { goal: 0.9 } : {}),
      ...(sc.relay.startsWith("agw-b") ? { checkout: a.compare } : {}),
    });
    if (a.verbose) emit({ figure: `agw.${sc.key}.runs`, pairs: ps });
  }
  // a disconnect lets the relays exit on their own, so --cpu-prof writes their profiles (SIGTERM would not)
  await Promise.all([sink, plain, nodeTls].map((c) => disconnect(c)));
  await stop(agw);
  if (agwB !== agw) await stop(agwB);
}

// ---------------------------------------------------------------------------------------------------------------
// Memory per idle TLS leg
// ---------------------------------------------------------------------------------------------------------------

async function memory(a: Args): Promise<void> {
  for (const n of a.legs) {
    const byScope = new Map<string, Figure>();
    for (const scope of a.scopes) {
      progress?.note(`memory: ${n} legs, certificate scope ${scope}`);
      byScope.set(scope, await memoryOne(n, scope, a.settleMs));
      progress?.add(1);
    }
    const naive = byScope.get("naive");
    for (const [scope, f] of byScope) {
      if (scope.startsWith("naive")) continue;
      // the machine-readable line: KiB per idle verified leg against the naive Node TLS server in the same run
      emit({
        figure: `agw.tls-leg-${scope}.kib`,
        ours: f.agwKiBPerLeg,
        baseline: naive?.agwKiBPerLeg ?? null,
        ratio: naive ? round(Number(f.agwKiBPerLeg) / Number(naive.agwKiBPerLeg), 2) : null,
        unit: "KiB/leg (AGW RSS)",
        legs: n,
        certificateScope: scope,
        baselineScenario: "naive Node TLS server, one certificate, requestCert",
        goal: 32,
      });
      if (f.agwKiBPerLegSettled === undefined) continue;
      // the same, measured again once the idle processes have settled (--settle-ms)
      emit({
        figure: `agw.tls-leg-${scope}.settled.kib`,
        ours: f.agwKiBPerLegSettled,
        baseline: naive?.agwKiBPerLegSettled ?? null,
        ratio: naive ? round(Number(f.agwKiBPerLegSettled) / Number(naive.agwKiBPerLegSettled), 2) : null,
        unit: "KiB/leg (AGW RSS)",
        legs: n,
        settleMs: a.settleMs,
        certificateScope: scope,
        baselineScenario: "naive Node TLS server, one certificate, requestCert",
        goal: 32,
      });
    }
  }
}

let compareDir: string | undefined;
async function memoryOne(n: number, scope: string, settleMs: number): Promise<Figure> {
  {
    // "naive": a plain Node TLS server with one certificate and one listener (the floor, same run)
    // "<scope>-b": the AGW of the --compare checkout, in the same run
    const b = scope.endsWith("-b");
    if (b && !compareDir) throw new Error(`scope ${scope} needs --compare`);
    const roles = b ? `${compareDir}/bench/agw/roles.ts` : ROLES;
    const base = b ? scope.slice(0, -2) : scope;
    const role =
      base === "naive" ? ["tls-holder"] : base === "naive-noticket" ? ["tls-holder", "noticket"] : ["agw", base];
    const agw = spawnRole(role, true, roles);
    await next(agw, 20_000, "agw");
    if (base === "termination-pregen") await ask(agw, { cmd: "pregen", n }, 600_000, "pregenerate certificates");
    const cli = spawnRole(["memclient"], true);
    const { fingerprint } = await next(cli, 20_000, "memclient");
    await new Promise((r) => setTimeout(r, 500));
    const a0 = await ask(agw, { cmd: "mem" }, 20_000, "agw mem");
    const c0 = await ask(cli, { cmd: "mem" }, 20_000, "client mem");
    const t0 = Date.now();
    const BATCH = 500;
    let opened = 0;
    let failed = 0;
    let handshakeSeconds = 0;
    for (let done = 0; done < n; done += BATCH) {
      const k = Math.min(BATCH, n - done);
      const { ports } = await ask(agw, { cmd: "reserveLegs", n: k, fingerprint }, 120_000, "reserve legs");
      const r = await ask(cli, { cmd: "open", ports, conc: 100 }, 300_000, "open legs");
      opened += Number(r.opened) - opened;
      failed += Number(r.failed);
      handshakeSeconds += Number(r.seconds);
      progress?.note(`memory: ${scope}, ${done + k}/${n} legs opened`);
    }
    let ready = 0;
    const deadline = Date.now() + 60_000;
    while (Date.now() < deadline) {
      ready = Number((await ask(agw, { cmd: "ready" }, 20_000, "ready")).ready);
      if (ready >= n - failed) break;
      await new Promise((r) => setTimeout(r, 250));
    }
    const setupSeconds = (Date.now() - t0) / 1000;
    await new Promise((r) => setTimeout(r, 3000)); // idle: TLS 1.3 tickets etc. settle
    const a1 = await ask(agw, { cmd: "mem" }, 30_000, "agw mem");
    const c1 = await ask(cli, { cmd: "mem" }, 30_000, "client mem");
    const agwKiB = Number(a1.rssKiB) - Number(a0.rssKiB);
    let a2: Msg | undefined;
    if (settleMs > 0) {
      progress?.note(`memory: ${scope}, ${n} legs, settling ${settleMs / 1000} s`);
      await new Promise((r) => setTimeout(r, settleMs));
      a2 = await ask(agw, { cmd: "mem" }, 30_000, "agw mem");
    }
    const f: Figure = {
      figure: "memory",
      certificateScope: scope,
      legs: n,
      legsReady: ready,
      failed,
      agwRssDeltaKiB: agwKiB,
      agwKiBPerLeg: round(agwKiB / n, 2),
      agwHeapBPerLeg: Math.round((Number(a1.heapUsed) - Number(a0.heapUsed)) / n),
      agwHeapTotalBPerLeg: Math.round((Number(a1.heapTotal) - Number(a0.heapTotal)) / n),
      ...(a2
        ? {
            agwKiBPerLegSettled: round((Number(a2.rssKiB) - Number(a0.rssKiB)) / n, 2),
            agwHeapTotalBPerLegSettled: Math.round((Number(a2.heapTotal) - Number(a0.heapTotal)) / n),
          }
        : {}),
      agwExternalBPerLeg: Math.round((Number(a1.external) - Number(a0.external)) / n),
      clientKiBPerConn: round((Number(c1.rssKiB) - Number(c0.rssKiB)) / n, 2),
      legsPerSecond: Math.round(n / setupSeconds),
      handshakesPerSecondClientView: Math.round(n / handshakeSeconds),
    };
    emit(f);
    await stop(cli);
    await stop(agw);
    await new Promise((r) => setTimeout(r, 1000));
    return f;
  }
}

// ---------------------------------------------------------------------------------------------------------------

function machine(): Figure {
  const load = loadavg().map((x) => round(x, 2));
  return {
    figure: "machine",
    cpu: cpus()[0]?.model ?? "?",
    cores: cpus().length,
    node: process.version,
    openssl: process.versions.openssl,
    loadavg: load,
    hwm: Number(process.env.AGW_HWM ?? 256 * 1024),
  };
}

function printTables(a: Args, m0: Figure, m1: Figure): void {
  console.log("\n| machine | |\n|---|---|");
  console.log(`| CPU | ${m0.cpu}, ${m0.cores} cores |`);
  console.log(`| Node / OpenSSL | ${m0.node} / ${m0.openssl} |`);
  console.log(`| load average (1, 5, 15 min) at start / end | ${String(m0.loadavg)} / ${String(m1.loadavg)} |`);
  const ratios = figures.filter((f) => /^agw\.(tls|tcp|node-tls)-relay(-b)?\.ratio$/.test(f.figure));
  if (ratios.length) {
    const mb = (s: unknown) => {
      const x = s as { median: number; min: number; max: number; spreadPct: number };
      return `${x.median} (${x.min}–${x.max}, ±${Math.round(x.spreadPct / 2)} %)`;
    };
    console.log(
      `\n| relay, ${a.mib} MiB per run, ${a.runs} pairs (baseline run right before each) | MB/s median (min–max) | baseline MB/s | ratio: median of pairs (min–max) | relay CPU-s/GB ours / baseline |`,
    );
    console.log("|---|---|---|---|---|");
    for (const f of ratios) {
      const r = f.ratioSpread as { median: number; min: number; max: number };
      const cpu = f.relayCpuSPerGB as { ours: number; baseline: number };
      const goal = f.goal !== undefined ? ` (goal ≥ ${f.goal})` : "";
      console.log(
        `| ${f.scenario}${f.cipher ? `, ${f.protocol} ${f.cipher}` : ""} | ${mb(f.oursSpread)} | ${mb(f.baselineSpread)} | **${r.median}×** (${r.min}–${r.max})${goal} | ${cpu.ours} / ${cpu.baseline} |`,
      );
    }
  }
  const mem = figures.filter((f) => f.figure === "memory");
  if (mem.length) {
    console.log(
      "\n| idle verified TLS legs held by one AGW process | legs | KiB/leg (AGW RSS), 3 s / settled | heap B/leg | legs/s |",
    );
    console.log("|---|---|---|---|---|");
    for (const f of mem) {
      const what =
        f.certificateScope === "naive"
          ? "naive Node TLS server (baseline)"
          : `AGW, certificate per ${f.certificateScope}`;
      const kib = `${f.agwKiBPerLeg} / ${f.agwKiBPerLegSettled ?? "–"}`;
      console.log(`| ${what} | ${f.legs} | ${kib} | ${f.agwHeapBPerLeg} | ${f.legsPerSecond} |`);
    }
  }
}

async function main(): Promise<void> {
  const a = parseArgs();
  const guard = setTimeout(() => {
    console.error("bench: global timeout");
    killAll();
    process.exit(2);
  }, 60 * 60_000);
  guard.unref();
  const m0 = machine();
  emit(m0);
  const steps =
    (a.only !== "memory" ? 2 * a.runs * measured(a).length : 0) +
    (a.only !== "throughput" ? a.scopes.length * a.legs.length : 0);
  progress = new Progress("agw", { total: steps, unit: "steps" }).start();
  if (a.only !== "memory") await throughput(a);
  compareDir = a.compare;
  if (a.only !== "throughput") await memory(a);
  progress.stop();
  const m1 = { ...machine(), figure: "machine-end" };
  emit(m1);
  printTables(a, m0, m1);
  killAll();
}

main().catch((e: unknown) => {
  console.error(e);
  killAll();
  process.exit(1);
});
