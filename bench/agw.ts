/**
 * IMS-AGW benchmark: relay throughput and memory per idle TLS leg, each against its baseline measured in the same
 * run. Separate processes for client, relay and sink (anchors-measured.md §3 method); CPU from /proc/<pid>/stat.
 *
 *   node --import tsx bench/agw.ts [--mib 256] [--runs 3] [--legs 1000,5000,10000] [--scopes termination,agw]
 *                                  [--only throughput|memory]
 *
 * Throughput scenarios (same bytes, 64 KiB writes with drain backpressure, timer stops at the sink's 1-byte ack):
 *   plain TCP relay (baseline) · IMS-AGW TCP↔TCP · IMS-AGW TLS↔TCP (e2ae, fingerprint verified) · naive Node TLS relay
 * Memory: N idle, verified access TLS legs held by one AGW process (client in another process); RSS delta after gc.
 * Prints one JSON line per figure, then a table. Bounded: every wait has a timeout; children are killed by handle.
 */
import { type ChildProcess, execFileSync, fork } from "node:child_process";
import { readFileSync } from "node:fs";
import { cpus } from "node:os";
import { fileURLToPath } from "node:url";
import { benchArgs, Progress } from "./cli.ts";

const USAGE = `usage: node --import tsx bench/agw.ts [--mib N] [--runs N] [--legs 1000,5000,10000] [--scopes a,b,…]
                                     [--only throughput|memory] [--chunk BYTES]

IMS-AGW benchmark (docs/agw.md), each figure against its baseline in the same run; client, relay and sink are
separate processes (bench/agw/roles.ts).

  --mib N          MiB sent per throughput run (default 256)
  --runs N         runs per throughput scenario, round-robin; the median is reported (default 3)
  --legs a,b,…     idle verified TLS legs held for the memory figure (default 1000,5000,10000)
  --scopes a,b,…   certificate scopes for the memory figure: termination, agw, naive (default all three)
  --only WHAT      throughput or memory (default both)
  --chunk BYTES    client write size (default 65536)

One JSON line per figure and a table on stdout; progress on stderr.
`;
const FLAGS = benchArgs(USAGE, {
  mib: "number",
  runs: "number",
  legs: "numbers",
  scopes: "list",
  only: "string",
  chunk: "number",
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
}

function parseArgs(): Args {
  return {
    mib: FLAGS.mib ?? 256,
    runs: FLAGS.runs ?? 3,
    legs: FLAGS.legs ?? [1000, 5000, 10000],
    only: FLAGS.only,
    chunk: FLAGS.chunk ?? 65536,
    scopes: FLAGS.scopes ?? ["termination", "agw", "naive"],
  };
}

/** one step per throughput run and per memory figure */
let progress: Progress | undefined;

const children = new Set<ChildProcess>();
function spawnRole(args: string[], gc = false): ChildProcess {
  const cp = fork(ROLES, args, {
    execArgv: ["--import", "tsx", ...(gc ? ["--expose-gc"] : [])],
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
  name: string;
  kind: "tcp" | "tls";
  relay: "plain-relay" | "node-tls-relay" | "agw-tcp" | "agw-tls";
};

const SCENARIOS: Scenario[] = [
  { name: "plain TCP relay (baseline: net + pipe)", kind: "tcp", relay: "plain-relay" },
  { name: "IMS-AGW TCP<->TCP", kind: "tcp", relay: "agw-tcp" },
  { name: "IMS-AGW TLS<->TCP (e2ae, fingerprint verified)", kind: "tls", relay: "agw-tls" },
  { name: "naive Node TLS relay (tls server + pipe, no checks)", kind: "tls", relay: "node-tls-relay" },
];

async function throughput(a: Args): Promise<void> {
  const total = a.mib * 1024 * 1024;
  const sink = spawnRole(["sink", String(total)]);
  const sinkPort = Number((await next(sink, 20_000, "sink")).port);
  const plain = spawnRole(["plain-relay", String(sinkPort)]);
  const plainPort = Number((await next(plain, 20_000, "plain relay")).port);
  const nodeTls = spawnRole(["node-tls-relay", String(sinkPort)]);
  const nodeTlsPort = Number((await next(nodeTls, 20_000, "node tls relay")).port);
  const agw = spawnRole(["agw"]);
  await next(agw, 20_000, "agw");
  const relayOf: Record<Scenario["relay"], ChildProcess> = {
    "plain-relay": plain,
    "node-tls-relay": nodeTls,
    "agw-tcp": agw,
    "agw-tls": agw,
  };
  const medians: Record<string, number> = {};
  const runsOf = new Map<Scenario, Msg[]>(SCENARIOS.map((sc) => [sc, []]));
  // round-robin over the scenarios, so drift of this noisy VM hits all of them alike
  for (let i = 0; i < a.runs; i++) {
    for (const sc of SCENARIOS) {
      progress?.note(`${sc.name}, run ${i + 1}/${a.runs}`);
      const cl = spawnRole(["client", sc.kind, String(total), String(a.chunk)]);
      const fp = (await next(cl, 20_000, "client fingerprint")).fingerprint;
      let port: number;
      let contextId: string | undefined;
      if (sc.relay === "agw-tcp" || sc.relay === "agw-tls") {
        const r = await ask(agw, { cmd: "context", kind: sc.kind, sinkPort, fingerprint: fp }, 20_000, "context");
        port = Number(r.port);
        contextId = String(r.contextId);
      } else {
        port = sc.relay === "plain-relay" ? plainPort : nodeTlsPort;
      }
      const relay = relayOf[sc.relay];
      const r0 = ticks(relay.pid);
      const s0 = ticks(sink.pid);
      const result = next(cl, 120_000, `${sc.name} run ${i + 1}`);
      cl.send({ port });
      const r = await result;
      const seconds = Number(r.seconds);
      const relayCpuS = (ticks(relay.pid) - r0) / HZ;
      const sinkCpuS = (ticks(sink.pid) - s0) / HZ;
      runsOf.get(sc)?.push({
        MBps: round(Number(r.MBps)),
        seconds: round(seconds, 3),
        relayCpuPct: Math.round((100 * relayCpuS) / seconds),
        relayCpuSPerGB: round(relayCpuS / (total / 1e9), 2),
        sinkCpuPct: Math.round((100 * sinkCpuS) / seconds),
        clientCpuPct: Math.round((100 * Number(r.clientCpuS)) / seconds),
        ...(r.protocol ? { protocol: r.protocol, cipher: r.cipher } : {}),
      });
      if (contextId) await ask(agw, { cmd: "release", contextId }, 20_000, "agw release");
      progress?.add(1);
      await new Promise((res) => setTimeout(res, 200));
    }
  }
  for (const sc of SCENARIOS) {
    const runs = runsOf.get(sc) ?? [];
    const med = median(runs.map((x) => Number(x.MBps)));
    medians[sc.relay] = med;
    emit({
      figure: "throughput",
      scenario: sc.name,
      bytesPerRun: total,
      medianMBps: med,
      medianRelayCpuSPerGB: median(runs.map((x) => Number(x.relayCpuSPerGB))),
      runs,
    });
  }
  const base = medians["plain-relay"] ?? Number.NaN;
  for (const k of ["agw-tcp", "agw-tls", "node-tls-relay"] as const) {
    emit({
      figure: "throughput-ratio",
      scenario: SCENARIOS.find((s) => s.relay === k)?.name,
      vsBaseline: round((medians[k] ?? Number.NaN) / base, 2),
      goal: k === "agw-tls" ? 0.9 : undefined,
    });
  }
  for (const c of [sink, plain, nodeTls]) c.kill("SIGTERM");
  await stop(agw);
}

// ---------------------------------------------------------------------------------------------------------------
// Memory per idle TLS leg
// ---------------------------------------------------------------------------------------------------------------

async function memory(a: Args): Promise<void> {
  for (const scope of a.scopes)
    for (const n of a.legs) {
      progress?.note(`memory: ${n} legs, certificate scope ${scope}`);
      await memoryOne(n, scope);
      progress?.add(1);
    }
}

async function memoryOne(n: number, scope: string): Promise<void> {
  {
    // "naive": a plain Node TLS server with one certificate and one listener (the floor, same run)
    const agw = spawnRole(scope === "naive" ? ["tls-holder"] : ["agw", scope], true);
    await next(agw, 20_000, "agw");
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
    emit({
      figure: "memory",
      certificateScope: scope,
      legs: n,
      legsReady: ready,
      failed,
      agwRssDeltaKiB: agwKiB,
      agwKiBPerLeg: round(agwKiB / n, 2),
      agwHeapBPerLeg: Math.round((Number(a1.heapUsed) - Number(a0.heapUsed)) / n),
      agwExternalBPerLeg: Math.round((Number(a1.external) - Number(a0.external)) / n),
      clientKiBPerConn: round((Number(c1.rssKiB) - Number(c0.rssKiB)) / n, 2),
      legsPerSecond: Math.round(n / setupSeconds),
      handshakesPerSecondClientView: Math.round(n / handshakeSeconds),
      goalKiBPerLeg: 64,
    });
    await stop(cli);
    await stop(agw);
    await new Promise((r) => setTimeout(r, 1000));
  }
}

// ---------------------------------------------------------------------------------------------------------------

async function main(): Promise<void> {
  const a = parseArgs();
  const guard = setTimeout(() => {
    console.error("bench: global timeout");
    killAll();
    process.exit(2);
  }, 30 * 60_000);
  guard.unref();
  emit({
    figure: "machine",
    node: process.version,
    cpus: cpus().length,
    cpu: cpus()[0]?.model,
    hwm: Number(process.env.AGW_HWM ?? 256 * 1024),
  });
  const steps =
    (a.only !== "memory" ? a.runs * SCENARIOS.length : 0) +
    (a.only !== "throughput" ? a.scopes.length * a.legs.length : 0);
  progress = new Progress("agw", { total: steps, unit: "steps" }).start();
  if (a.only !== "memory") await throughput(a);
  if (a.only !== "throughput") await memory(a);
  progress.stop();

  console.log("\n| figure | value | vs baseline / goal |\n|---|---|---|");
  const base = figures.find((f) => f.figure === "throughput" && String(f.scenario).startsWith("plain"));
  for (const f of figures) {
    if (f.figure === "throughput") {
      const ratio = base ? Number(f.medianMBps) / Number(base.medianMBps) : Number.NaN;
      console.log(
        `| ${f.scenario} | ${f.medianMBps} MB/s (median of ${a.runs}); relay ${f.medianRelayCpuSPerGB} CPU-s/GB | ${round(ratio, 2)}x |`,
      );
    } else if (f.figure === "memory") {
      const what =
        f.certificateScope === "naive"
          ? "naive Node TLS server (baseline)"
          : `AGW, certificate per ${f.certificateScope}`;
      console.log(
        `| ${f.legs} idle TLS legs, ${what} | ${f.agwKiBPerLeg} KiB/leg (AGW RSS), ${f.legsPerSecond} legs/s | goal <= 64 KiB |`,
      );
    }
  }
  killAll();
}

main().catch((e: unknown) => {
  console.error(e);
  killAll();
  process.exit(1);
});
