/**
 * P-CSCF call-rate benchmark: sipp UAC → proxy → sipp UAS, INVITE / 100 / 180 / 200 / ACK / BYE / 200 with a data
 * channel SDP (bench/pcscf/*.xml), ramping the call rate, for our P-CSCF (IMS-ALG on: every offer and answer is
 * decided, e2e, forwarded byte for byte) and for Kamailio (minimal stateful record-routing proxy,
 * bench/pcscf/kamailio.cfg, 4 children, -m 4096 -M 16) in the same run. The highest rate with zero failed calls is
 * the figure; the ratio ours / Kamailio is printed. After each ramp one more step runs at 80 % of that system's highest
 * rate with per-call round-trip tracing (sipp -trace_rtt): the p50 / p99 call-setup latency (INVITE sent → 200 OK).
 *
 * Figures (one JSON line each): {"figure":"pcscf.ratio","metric":"max_cps_zero_failed","ours","baseline","ratio"}
 * (ours / Kamailio) and {"figure":"pcscf.ratio","metric":"cpu_ms_per_call","rate","ours","baseline","ratio"}
 * (Kamailio / ours, at the highest rate both passed: above 1 means we use less CPU per call). CPU per call is the
 * proxy's utime + stime (/proc/<pid>/stat; Kamailio with its worker processes) over the calls that completed, so
 * it holds on a loaded machine better than calls/s does.
 *
 *   node --import tsx bench/pcscf.ts [--rates 500,1000,1500,...] [--secs 10] [--systems ours,kamailio]
 *                                    [--retries 1] [--pause 3] [--warmup 3]
 *
 * One JSON line per step and per figure on stdout, then a table. Bounded: every sipp run has -m, -timeout and a
 * coreutils `timeout`; the whole run has a deadline; every process started here is stopped by its PID at the end.
 * Needs `sipp` (Debian sip-tester) and, for the baseline, `kamailio` (Debian kamailio).
 */
import { type ChildProcess, execFileSync, fork, spawn } from "node:child_process";
import { createSocket } from "node:dgram";
import { mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { cpus, loadavg, tmpdir } from "node:os";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import { benchArgs, Progress } from "./cli.ts";

const USAGE = `usage: node --import tsx bench/pcscf.ts [--rates 500,1000,…] [--secs S] [--systems ours,kamailio]
                                       [--retries N] [--pause S] [--warmup S] [--deadline-min M] [--latency-secs S]

Call-rate ramp, sipp UAC → proxy → sipp UAS over UDP with a data channel SDP, for our P-CSCF (IMS-ALG on) and for
Kamailio in the same run (docs/pcscf.md). The figure is the highest rate with zero failed calls, and ours / Kamailio;
also CPU ms per call (Kamailio / ours) and the p50 / p99 setup latency at 80 % of each system's highest rate.

  --rates a,b,…     call rates to ramp through (default 500,1000,1250,1500,1750,2000,2500,…,6000)
  --secs S          seconds per step (default 10)
  --systems a,b     ours, kamailio (default both; kamailio is skipped when not installed)
  --retries N       extra attempts of a failed step (default 1)
  --pause S         seconds between steps (default 3)
  --warmup S        seconds of warm-up at 200 cps before the ramp (default 3; 0 = none)
  --deadline-min M  bound of the whole run in minutes (default 25)
  --latency-secs S  seconds of the latency step at 80 % of the highest rate (default 5; 0 = none)
  --before DIR      also run system "before": DIR/bench/pcscf/server.ts, an older checkout of this repository
                    (git archive REV | tar -x -C DIR; node_modules linked), in the same run as ours and Kamailio

Needs sipp (Debian sip-tester) and, for the baseline, kamailio. JSON lines and a table on stdout; progress on stderr.
`;
const FLAGS = benchArgs(USAGE, {
  rates: "numbers",
  secs: "number",
  systems: "list",
  retries: "number",
  pause: "number",
  warmup: "number",
  "deadline-min": "number",
  "latency-secs": "number",
  before: "string",
});

interface Args {
  rates: number[];
  secs: number;
  systems: string[];
  retries: number;
  pause: number;
  warmup: number;
  deadlineMin: number;
  latencySecs: number;
  before: string | undefined;
}

function parseArgs(): Args {
  return {
    rates: FLAGS.rates ?? [500, 1000, 1250, 1500, 1750, 2000, 2500, 3000, 3500, 4000, 4500, 5000, 5500, 6000],
    secs: FLAGS.secs ?? 10,
    systems: FLAGS.systems ?? ["ours", "kamailio"],
    retries: FLAGS.retries ?? 1,
    pause: FLAGS.pause ?? 3,
    warmup: FLAGS.warmup ?? 3,
    deadlineMin: FLAGS["deadline-min"] ?? 25,
    latencySecs: FLAGS["latency-secs"] ?? 5,
    before: FLAGS.before,
  };
}

/** steps of the ramp (an upper bound: a ramp stops at the first rate that fails) */
let progress: Progress | undefined;

const HERE = fileURLToPath(new URL("./pcscf/", import.meta.url));
const HZ = Number(execFileSync("getconf", ["CLK_TCK"], { encoding: "utf8" }).trim()) || 100;
const started: ChildProcess[] = [];

function emit(o: Record<string, unknown>): void {
  process.stdout.write(`${JSON.stringify(o)}\n`);
}

function which(cmd: string): string | undefined {
  try {
    return execFileSync("sh", ["-c", `command -v ${cmd}`], { encoding: "utf8" }).trim() || undefined;
  } catch {
    return undefined;
  }
}

const sleep = (ms: number) => new Promise<void>((r) => setTimeout(r, ms));

/** ppid and utime + stime (clock ticks) of a process, from /proc/<pid>/stat. */
function procStat(pid: number | string): { ppid: number; ticks: number } | undefined {
  try {
    const line = readFileSync(`/proc/${pid}/stat`, "utf8");
    const rest = line.slice(line.lastIndexOf(")") + 2).split(" ");
    // after "comm) ": [0]=state [1]=ppid ... [11]=utime [12]=stime
    return { ppid: Number(rest[1]), ticks: Number(rest[11]) + Number(rest[12]) };
  } catch {
    return undefined;
  }
}

function childPids(pid: number): number[] {
  return readdirSync("/proc")
    .filter((s) => /^\d+$/.test(s))
    .filter((p) => procStat(p)?.ppid === pid)
    .map(Number);
}

/** CPU ticks of a pid, plus those of its direct children when `tree` (kamailio's worker processes). */
function cpuTicks(pid: number, tree = false): number {
  let sum = procStat(pid)?.ticks ?? 0;
  if (tree) for (const c of childPids(pid)) sum += procStat(c)?.ticks ?? 0;
  return sum;
}

/** A UDP port free on 127.0.0.1. */
async function freePort(): Promise<number> {
  for (let i = 0; i < 50; i++) {
    const port = 20000 + Math.floor(Math.random() * 40000);
    const ok = await new Promise<boolean>((resolve) => {
      const s = createSocket("udp4");
      s.once("error", () => {
        s.close();
        resolve(false);
      });
      s.bind(port, "127.0.0.1", () => s.close(() => resolve(true)));
    });
    if (ok) return port;
  }
  throw new Error("no free UDP port");
}

/** Resolves once something listens on the UDP port (bind fails with EADDRINUSE). */
async function waitBound(port: number, ms: number): Promise<boolean> {
  const end = Date.now() + ms;
  while (Date.now() < end) {
    const inUse = await new Promise<boolean>((resolve) => {
      const s = createSocket("udp4");
      s.once("error", () => {
        s.close();
        resolve(true);
      });
      s.bind(port, "127.0.0.1", () => s.close(() => resolve(false)));
    });
    if (inUse) return true;
    await sleep(100);
  }
  return false;
}

function stop(cp: ChildProcess | undefined): Promise<void> {
  if (!cp || cp.exitCode !== null || cp.signalCode !== null || cp.pid === undefined) return Promise.resolve();
  return new Promise((resolve) => {
    const t = setTimeout(() => {
      cp.kill("SIGKILL");
      resolve();
    }, 3000);
    cp.once("exit", () => {
      clearTimeout(t);
      resolve();
    });
    cp.kill("SIGTERM");
  });
}

interface StepResult {
  rate: number;
  calls: number;
  ok: number;
  failed: number;
  retrans: number;
  wallS: number;
  achievedCps: number;
  cpu: Record<string, number>;
  /** proxy CPU (utime + stime) per completed call, ms */
  cpuMsPerCall: number;
  rtdHist: number[];
  /** call-setup latency (INVITE sent → 200 OK received) percentiles, ms, when traced */
  setupMs?: { p50: number; p99: number; n: number };
  outOfCall: number;
}

interface System {
  name: string;
  port: number;
  /** pid whose CPU counts as the proxy's (with children for kamailio) */
  pid: number;
  tree: boolean;
  stop(): Promise<void>;
  stats?(): Promise<unknown>;
}

async function startUas(dir: string, port: number): Promise<ChildProcess> {
  const uas = spawn(
    "sipp",
    [
      "-sf",
      join(HERE, "uas_rr.xml"),
      "-i",
      "127.0.0.1",
      "-p",
      String(port),
      "-t",
      "u1",
      "-nostdin",
      "-buff_size",
      "8388608",
      "-default_behaviors",
      "all,-abortunexp",
      "-trace_err",
      "-error_file",
      join(dir, `uas-${port}.err`),
    ],
    { stdio: "ignore" },
  );
  started.push(uas);
  if (!(await waitBound(port, 5000))) throw new Error("sipp UAS did not start");
  return uas;
}

async function startOurs(port: number, uasPort: number, tree?: string): Promise<System> {
  const cp = fork(
    tree !== undefined ? join(tree, "bench", "pcscf", "server.ts") : join(HERE, "server.ts"),
    [JSON.stringify({ port, uas: `sip:127.0.0.1:${uasPort}`, transport: "udp" })],
    {
      execArgv: ["--import", "tsx", ...(process.env.PCSCF_BENCH_NODE_ARGS?.split(" ").filter(Boolean) ?? [])],
      stdio: ["ignore", "inherit", "inherit", "ipc"],
    },
  );
  started.push(cp);
  await new Promise<void>((resolve, reject) => {
    const t = setTimeout(() => reject(new Error("P-CSCF did not start")), 15000);
    cp.once("message", () => {
      clearTimeout(t);
      resolve();
    });
    cp.once("exit", (c) => reject(new Error(`P-CSCF exited with ${c}`)));
  });
  return {
    name: tree !== undefined ? "before" : "ours",
    port,
    pid: cp.pid ?? 0,
    tree: false,
    stats: () =>
      new Promise((resolve) => {
        const t = setTimeout(() => resolve(undefined), 2000);
        cp.once("message", (m) => {
          clearTimeout(t);
          resolve(m);
        });
        cp.send({ type: "stats" });
      }),
    stop: async () => {
      if (cp.connected) cp.send({ type: "stop" });
      await Promise.race([new Promise((r) => cp.once("exit", r)), sleep(3000)]);
      await stop(cp);
    },
  };
}

async function startKamailio(dir: string, port: number, uasPort: number): Promise<System> {
  const mpath = ["/usr/lib/x86_64-linux-gnu/kamailio/modules/", "/usr/lib/kamailio/modules/"].find((p) => {
    try {
      readFileSync(join(p, "tm.so"));
      return true;
    } catch {
      return false;
    }
  });
  if (!mpath) throw new Error("kamailio modules (tm.so) not found");
  const cfg = readFileSync(join(HERE, "kamailio.cfg"), "utf8")
    .replaceAll("@LISTEN_PORT@", String(port))
    .replaceAll("@UAS_URI@", `sip:127.0.0.1:${uasPort}`)
    .replaceAll("@MPATH@", mpath);
  const file = join(dir, "kamailio.cfg");
  writeFileSync(file, cfg);
  const cp = spawn("kamailio", ["-f", file, "-DD", "-E", "-m", "4096", "-M", "16", "-b", "4194304", "-w", dir], {
    stdio: ["ignore", "ignore", "pipe"],
  });
  started.push(cp);
  let err = "";
  cp.stderr?.on("data", (d: Buffer) => {
    if (err.length < 4000) err += d.toString();
  });
  if (!(await waitBound(port, 10000))) throw new Error(`kamailio did not start: ${err.slice(0, 500)}`);
  await sleep(500);
  return { name: "kamailio", port, pid: cp.pid ?? 0, tree: true, stop: () => stop(cp) };
}

/** p50 / p99 of the response times sipp traced with -trace_rtt (`<scenario>_<pid>_rtt.csv` in its cwd). */
function rttPercentiles(dir: string): { p50: number; p99: number; n: number } | undefined {
  const values: number[] = [];
  for (const f of readdirSync(dir).filter((n) => n.endsWith("_rtt.csv"))) {
    const lines = readFileSync(join(dir, f), "utf8").trim().split("\n");
    const head = (lines[0] ?? "").split(";");
    const col = head.findIndex((h) => h.startsWith("response_time"));
    if (col < 0) continue;
    for (const l of lines.slice(1)) {
      const v = Number(l.split(";")[col]);
      if (Number.isFinite(v)) values.push(v);
    }
  }
  if (values.length === 0) return undefined;
  values.sort((a, b) => a - b);
  const at = (q: number) => values[Math.min(values.length - 1, Math.floor(q * values.length))] ?? 0;
  return { p50: Math.round(at(0.5) * 1000) / 1000, p99: Math.round(at(0.99) * 1000) / 1000, n: values.length };
}

async function runStep(
  dir: string,
  sys: System,
  uas: ChildProcess,
  rate: number,
  secs: number,
  traceRtt = false,
): Promise<StepResult> {
  const calls = Math.max(1, Math.round(rate * secs));
  const uacPort = await freePort();
  const rttDir = join(dir, `rtt-${sys.name}-${Date.now()}`);
  if (traceRtt) mkdirSync(rttDir);
  const csv = join(dir, `${sys.name}-${rate}-${Date.now()}.csv`);
  const limit = secs * 3 + 20;
  const k0 = cpuTicks(sys.pid, sys.tree);
  const u0 = cpuTicks(uas.pid ?? 0);
  const t0 = Date.now();
  const uac = spawn(
    "timeout",
    [
      "-k",
      "5",
      String(limit + 10),
      "sipp",
      "-sf",
      join(HERE, "uac_dc.xml"),
      "-s",
      "dc",
      "-i",
      "127.0.0.1",
      "-p",
      String(uacPort),
      "-t",
      "u1",
      "-r",
      String(rate),
      "-rp",
      "1000",
      "-m",
      String(calls),
      "-l",
      "30000",
      "-buff_size",
      "8388608",
      "-nostdin",
      "-timeout",
      `${limit}s`,
      "-recv_timeout",
      "10000",
      "-default_behaviors",
      "all,-abortunexp",
      "-trace_stat",
      "-stf",
      csv,
      "-fd",
      "1",
      ...(traceRtt ? ["-trace_rtt", "-rtt_freq", "1"] : []),
      `127.0.0.1:${sys.port}`,
    ],
    { stdio: "ignore", ...(traceRtt ? { cwd: rttDir } : {}) },
  );
  started.push(uac);
  // the UAC's CPU is sampled while it runs (its /proc entry goes with it)
  let uacTicks = 0;
  const sampler = setInterval(() => {
    // the UAC runs under coreutils timeout: sample its child (sipp)
    for (const p of childPids(uac.pid ?? 0)) uacTicks = Math.max(uacTicks, cpuTicks(p));
  }, 250);
  await new Promise<void>((resolve) => uac.once("exit", () => resolve()));
  clearInterval(sampler);
  const wallS = (Date.now() - t0) / 1000;
  const k1 = cpuTicks(sys.pid, sys.tree);
  const u1 = cpuTicks(uas.pid ?? 0);
  let ok = 0;
  let failed = calls;
  let retrans = 0;
  let outOfCall = 0;
  let hist: number[] = [];
  try {
    const lines = readFileSync(csv, "utf8").trim().split("\n");
    const head = (lines[0] ?? "").split(";");
    const last = (lines[lines.length - 1] ?? "").split(";");
    const get = (k: string) => Number(last[head.indexOf(k)] ?? Number.NaN);
    ok = get("SuccessfulCall(C)");
    failed = get("FailedCall(C)");
    retrans = get("Retransmissions(C)");
    outOfCall = get("OutOfCallMsgs(C)");
    hist = head.flatMap((h, i) => (h.startsWith("ResponseTimeRepartition1_") ? [Number(last[i])] : []));
    // calls sipp never completed count as failed
    failed = Math.max(failed, calls - ok);
  } catch {
    // no CSV: every call failed
  }
  const setupMs = traceRtt ? rttPercentiles(rttDir) : undefined;
  const pct = (ticks: number) => Math.round((100 * ticks) / HZ / wallS);
  return {
    rate,
    calls,
    ok,
    failed,
    retrans,
    wallS: Math.round(wallS * 10) / 10,
    achievedCps: Math.round(ok / Math.max(1, wallS - 0.5)),
    cpu: { proxy: pct(k1 - k0), sippUas: pct(u1 - u0), sippUac: pct(uacTicks) },
    cpuMsPerCall: ok > 0 ? Math.round((1e6 * (k1 - k0)) / HZ / ok) / 1000 : 0,
    rtdHist: hist,
    ...(setupMs ? { setupMs } : {}),
    outOfCall,
  };
}

async function ramp(
  args: Args,
  dir: string,
  name: string,
): Promise<{ max: number; steps: StepResult[]; cpuMsPerCall: Record<number, number>; latency?: StepResult }> {
  const uasPort = await freePort();
  const port = await freePort();
  const uas = await startUas(dir, uasPort);
  let sys: System | undefined;
  const steps: StepResult[] = [];
  const cpuMsPerCall: Record<number, number> = {};
  let max = 0;
  let latency: StepResult | undefined;
  try {
    sys =
      name === "ours"
        ? await startOurs(port, uasPort)
        : name === "before" && args.before !== undefined
          ? await startOurs(port, uasPort, args.before)
          : await startKamailio(dir, port, uasPort);
    if (args.warmup > 0) {
      progress?.note(`${name}: warm-up at 200 cps for ${args.warmup} s`);
      const w = await runStep(dir, sys, uas, 200, args.warmup);
      emit({ bench: "pcscf", system: name, step: "warmup", ...w });
      await sleep(args.pause * 1000);
    }
    for (const rate of args.rates) {
      let r: StepResult | undefined;
      for (let attempt = 0; attempt <= args.retries; attempt++) {
        progress?.note(
          `${name} @ ${rate} cps for ${args.secs} s, attempt ${attempt + 1}; highest passed ${max || "-"}`,
        );
        r = await runStep(dir, sys, uas, rate, args.secs);
        emit({ bench: "pcscf", system: name, step: "ramp", attempt, ...r });
        await sleep(args.pause * 1000);
        if (r.failed === 0) break;
      }
      progress?.add(1);
      if (!r || r.failed > 0) break;
      max = rate;
      steps.push(r);
      cpuMsPerCall[rate] = r.cpuMsPerCall;
    }
    if (max > 0 && args.latencySecs > 0) {
      const rate = Math.max(1, Math.round(0.8 * max));
      progress?.note(`${name}: setup latency at ${rate} cps (80 % of ${max}) for ${args.latencySecs} s`);
      latency = await runStep(dir, sys, uas, rate, args.latencySecs, true);
      emit({ bench: "pcscf", system: name, step: "latency", ...latency });
      await sleep(args.pause * 1000);
    }
    if (sys.stats) emit({ bench: "pcscf", system: name, step: "stats", stats: await sys.stats() });
  } finally {
    await sys?.stop();
    await stop(uas);
  }
  return latency ? { max, steps, cpuMsPerCall, latency } : { max, steps, cpuMsPerCall };
}

async function main(): Promise<void> {
  const args = parseArgs();
  const deadline = setTimeout(() => {
    emit({ bench: "pcscf", error: `deadline of ${args.deadlineMin} min reached; stopping` });
    void Promise.all(started.map((c) => stop(c))).then(() => process.exit(2));
  }, args.deadlineMin * 60_000);
  deadline.unref();
  if (!which("sipp")) {
    emit({ bench: "pcscf", error: "sipp not found: apt-get install -y sip-tester" });
    process.exitCode = 1;
    return;
  }
  const systems = [...(args.before !== undefined ? ["before"] : []), ...args.systems].filter((s) => {
    if (s === "kamailio" && !which("kamailio")) {
      emit({ bench: "pcscf", system: "kamailio", error: "kamailio not found: apt-get install -y kamailio; skipped" });
      return false;
    }
    return true;
  });
  const dir = mkdtempSync(join(tmpdir(), "pcscf-bench-"));
  const cpu = cpus()[0]?.model ?? "?";
  emit({
    bench: "pcscf",
    machine: { cpus: cpus().length, model: cpu, node: process.version },
    rates: args.rates,
    secs: args.secs,
    transport: "udp",
  });
  const results: Record<string, Awaited<ReturnType<typeof ramp>>> = {};
  progress = new Progress("pcscf", { total: systems.length * args.rates.length, unit: "steps" }).start();
  try {
    for (const [i, s] of systems.entries()) {
      results[s] = await ramp(args, dir, s);
      emit({ bench: "pcscf", figure: "max_cps_zero_failures", system: s, cps: results[s].max });
      progress.set((i + 1) * args.rates.length); // the ramp stopped at its first failed rate: the rest is skipped
    }
  } finally {
    progress.stop();
    await Promise.all(started.map((c) => stop(c)));
    rmSync(dir, { recursive: true, force: true });
    clearTimeout(deadline);
  }
  const ours = results.ours?.max ?? 0;
  const kam = results.kamailio?.max ?? 0;
  // CPU per call at the highest rate both passed (the same load for both)
  const common = Object.keys(results.ours?.cpuMsPerCall ?? {})
    .map(Number)
    .filter((r) => results.kamailio?.cpuMsPerCall[r] !== undefined);
  const cpuRate = common.length > 0 ? Math.max(...common) : undefined;
  const oursMs = cpuRate !== undefined ? results.ours?.cpuMsPerCall[cpuRate] : undefined;
  const kamMs = cpuRate !== undefined ? results.kamailio?.cpuMsPerCall[cpuRate] : undefined;
  const round2 = (x: number) => Math.round(100 * x) / 100;
  if (results.ours && results.kamailio) {
    emit({
      figure: "pcscf.ratio",
      metric: "max_cps_zero_failed",
      ours,
      baseline: kam,
      ratio: kam > 0 ? round2(ours / kam) : null,
    });
    emit({
      figure: "pcscf.ratio",
      metric: "cpu_ms_per_call",
      rate: cpuRate ?? null,
      ours: oursMs ?? null,
      baseline: kamMs ?? null,
      ratio: oursMs && kamMs ? round2(kamMs / oursMs) : null,
    });
  }
  // tables
  const print = (rows: string[][]) => {
    const w = rows[0]?.map((_, i) => Math.max(...rows.map((r) => (r[i] ?? "").length))) ?? [];
    for (const r of rows) process.stdout.write(`${r.map((c, i) => c.padEnd(w[i] ?? 0)).join(" | ")}\n`);
    process.stdout.write("\n");
  };
  print([
    ["machine", "value"],
    ["CPU model", cpu],
    ["cores", String(cpus().length)],
    ["node", process.version],
    [
      "load average (1, 5, 15 min) at the end",
      loadavg()
        .map((l) => l.toFixed(1))
        .join(", "),
    ],
  ]);
  const rows: string[][] = [
    [
      "system",
      "max cps (0 failed)",
      "proxy CPU ms/call (at rate)",
      "proxy CPU % at max",
      "setup p50 / p99 ms (at cps)",
    ],
  ];
  for (const [s, r] of Object.entries(results)) {
    const last = r.steps[r.steps.length - 1];
    const per = Object.entries(r.cpuMsPerCall)
      .map(([rate, ms]) => `${ms}@${rate}`)
      .join(" ");
    const lat = r.latency?.setupMs ? `${r.latency.setupMs.p50} / ${r.latency.setupMs.p99} (${r.latency.rate})` : "-";
    rows.push([s, String(r.max), per, last ? `${last.cpu.proxy}%` : "-", lat]);
  }
  if (results.ours && results.kamailio) {
    rows.push(["ratio cps ours / kamailio", kam > 0 ? (ours / kam).toFixed(2) : "-", "", "", ""]);
    rows.push([
      "ratio CPU/call kamailio / ours",
      "",
      oursMs && kamMs ? `${(kamMs / oursMs).toFixed(2)} @${cpuRate}` : "-",
      "",
      "",
    ]);
  }
  print(rows);
}

await main();
