/**
 * Data channel benchmark: setup time (offer to verified open), bulk throughput and a 1000-message burst, for our UE
 * (imsdc on hardened werift) with full ICE, as ICE-lite agents and without ICE, and for the baseline
 * node-datachannel (libdatachannel) in the same run. Each side of a pair is its own
 * process (IPC signalling). Prints one JSON line per figure, then a table.
 *
 *   node --import tsx bench/dc.ts [--runs 5] [--bulk-ms 5000] [--impl ours,ours-lite,ours-none,ndc]
 *
 * Bounded: every wait has a timeout; a pair that does not finish is reported as failed and killed.
 */
import { type ChildProcess, fork } from "node:child_process";
import { cpus } from "node:os";
import { fileURLToPath } from "node:url";
import { benchArgs, Progress } from "./cli.ts";

const IMPLS = ["ours", "ours-lite", "ours-none", "ndc"];
const DEFAULT_IMPLS = IMPLS;

const USAGE = `usage: node --import tsx bench/dc.ts [--runs N] [--warm N] [--bulk-ms MS] [--impl LIST] [--burst N]

Data channel benchmark on 127.0.0.1 (docs/bench.md): setup time (offer to verified open), bulk throughput and a
burst of small messages, in the same run for our UE (imsdc on the patched werift) in its three ICE modes and for
node-datachannel (libdatachannel). Each side of a pair is its own process (bench/dcPeer.ts).

  --runs N       fresh pairs for the setup and burst medians (default 5); a pair's first association is "cold"
  --warm N       further associations per setup pair in the same two processes, "warm" (default 3)
                 (ours also runs --runs fresh pairs whose processes called prewarmDcEngine() first: "prewarmed"
                 setup and burst)
  --bulk-ms MS   duration of the bulk transfer (default 5000)
  --impl LIST    implementations, in order (default ${DEFAULT_IMPLS.join(",")}):
                   ours       both UEs full ICE (WebRTC-style)
                   ours-lite  both UEs ICE-lite (TS 26.114 Annex A.17): no checks, c=/port (RFC 8445 §6.1.1)
                   ours-none  both UEs without ICE: DTLS/SCTP over plain UDP to c=/port (TS 24.186 §9.3)
                   ndc        node-datachannel (libdatachannel), full ICE
  --burst N      messages in the burst (default 1000)
  --cpu-prof DIR every peer process writes a V8 CPU profile into DIR (summarise with bench/pcscf/profileTop.ts)

One JSON line per figure, ratio lines ours / ndc with their goal (setup <= 1, bulk >= 0.8, burst <= 2)
and a table on stdout; progress on stderr. A full run takes about 2 min.
`;

interface Args {
  runs: number;
  warm: number;
  bulkMs: number;
  impls: string[];
  burst: number;
  cpuProf: string | undefined;
}

function parseArgs(): Args {
  const f = benchArgs(USAGE, {
    runs: "number",
    warm: "number",
    "bulk-ms": "number",
    impl: "list",
    burst: "number",
    "cpu-prof": "string",
  });
  const impls = f.impl ?? DEFAULT_IMPLS;
  const unknown = impls.filter((i) => !IMPLS.includes(i));
  if (unknown.length > 0) {
    process.stderr.write(`bench/dc.ts: unknown --impl ${unknown.join(", ")}\n${USAGE}`);
    process.exit(2);
  }
  cpuProfDir = f["cpu-prof"];
  return {
    runs: f.runs ?? 5,
    warm: f.warm ?? 3,
    bulkMs: f["bulk-ms"] ?? 5000,
    impls,
    burst: f.burst ?? 1000,
    cpuProf: cpuProfDir,
  };
}

/** one step per fresh pair: the setup runs, the bulk pair and the burst pair of each implementation */
let progress: Progress | undefined;
/** --cpu-prof: where the peer processes write their profiles */
let cpuProfDir: string | undefined;

type Msg = { type: string; [k: string]: unknown };
const PEER = fileURLToPath(new URL("./dcPeer.ts", import.meta.url));

/** every child still running: killed when the bench exits, also after an error */
const live = new Set<ChildProcess>();
process.on("exit", () => {
  for (const cp of live) cp.kill("SIGKILL");
});

class Child {
  readonly cp: ChildProcess;
  private readonly queue: Msg[] = [];
  private waiters: { type: string; res: (m: Msg) => void }[] = [];
  constructor(impl: string, prewarm = false) {
    const prof = cpuProfDir ? ["--cpu-prof", "--cpu-prof-dir", cpuProfDir] : [];
    this.cp = fork(PEER, prewarm ? [impl, "prewarm"] : [impl], {
      execArgv: [...prof, "--import", "tsx"],
      stdio: ["ignore", "inherit", "inherit", "ipc"],
    });
    live.add(this.cp);
    this.cp.once("exit", () => live.delete(this.cp));
    this.cp.on("message", (m: Msg) => {
      if (m.type === "error") console.error(`[${impl}] peer error: ${String(m.error)}`);
      const w = this.waiters.find((x) => x.type === m.type);
      if (w) {
        this.waiters = this.waiters.filter((x) => x !== w);
        w.res(m);
      } else this.queue.push(m);
    });
  }
  send(m: Msg): void {
    this.cp.send(m);
  }
  wait(type: string, ms = 30_000): Promise<Msg> {
    const i = this.queue.findIndex((m) => m.type === type);
    if (i >= 0) return Promise.resolve(this.queue.splice(i, 1)[0] as Msg);
    return new Promise((res, rej) => {
      const t = setTimeout(() => rej(new Error(`timeout waiting for ${type}`)), ms);
      this.waiters.push({
        type,
        res: (m) => {
          clearTimeout(t);
          res(m);
        },
      });
    });
  }
  async stop(): Promise<void> {
    try {
      this.send({ type: "exit" });
    } catch {
      /* already gone */
    }
    await new Promise<void>((r) => {
      const t = setTimeout(() => {
        this.cp.kill("SIGKILL");
        r();
      }, 3000);
      this.cp.once("exit", () => {
        clearTimeout(t);
        r();
      });
    });
  }
}

/** One association between two peers that are ready: offer, answer, both open and verified. */
async function associate(a: Child, b: Child): Promise<number> {
  a.send({ type: "makeOffer" });
  const offer = await a.wait("offer");
  b.send({ type: "offer", sdp: offer.sdp });
  const answer = await b.wait("answer");
  a.send({ type: "answer", sdp: answer.sdp });
  const [oa, ob] = await Promise.all([a.wait("open"), b.wait("open")]);
  return Math.max(Number(oa.t), Number(ob.t)) - Number(offer.t0);
}

async function pair(impl: string, prewarm = false): Promise<{ a: Child; b: Child; setupMs: number }> {
  const a = new Child(impl, prewarm);
  const b = new Child(impl, prewarm);
  try {
    await Promise.all([a.wait("ready"), b.wait("ready")]);
    return { a, b, setupMs: await associate(a, b) };
  } catch (e) {
    // a pair that does not come up is killed, and the figure is reported as failed (NaN)
    await Promise.all([a.stop(), b.stop()]);
    throw e;
  }
}

/** A warm association in the same two processes: both close their peer and make a new one (new certificate). */
async function reassociate(p: { a: Child; b: Child }): Promise<number> {
  p.a.send({ type: "reset" });
  p.b.send({ type: "reset" });
  await Promise.all([p.a.wait("ready"), p.b.wait("ready")]);
  return associate(p.a, p.b);
}

/** runs one figure on a fresh pair; a failure is logged and yields undefined (the pair is stopped either way) */
async function withPair<T>(
  impl: string,
  what: string,
  fn: (p: { a: Child; b: Child; setupMs: number }) => Promise<T>,
  prewarm = false,
): Promise<T | undefined> {
  let p: { a: Child; b: Child; setupMs: number } | undefined;
  progress?.note(`${impl}: ${what}`);
  try {
    p = await pair(impl, prewarm);
    return await fn(p);
  } catch (e) {
    console.error(`[${impl}] ${what} failed: ${e instanceof Error ? e.message : String(e)}`);
    return undefined;
  } finally {
    if (p) await Promise.all([p.a.stop(), p.b.stop()]);
    progress?.add(1);
  }
}

const median = (xs: number[]) => {
  const s = xs.filter(Number.isFinite).sort((x, y) => x - y); // failed runs (NaN) are left out
  return s.length ? (s[Math.floor((s.length - 1) / 2)] as number) : Number.NaN;
};

async function benchImpl(impl: string, args: Args): Promise<Record<string, unknown>> {
  const cold: number[] = [];
  const warm: number[] = [];
  for (let i = 0; i < args.runs; i++) {
    await withPair(impl, `setup ${i + 1}/${args.runs}`, async (p) => {
      cold.push(p.setupMs);
      for (let w = 0; w < args.warm; w++) {
        const ms = await reassociate(p).catch((e: unknown) => {
          console.error(`[${impl}] warm setup failed: ${e instanceof Error ? e.message : String(e)}`);
          return Number.NaN;
        });
        warm.push(ms);
        if (Number.isNaN(ms)) break; // the pair's message queue is no longer in step: next fresh pair
      }
    });
    if (cold.length < i + 1) cold.push(Number.NaN);
  }
  // ours only: the first association in fresh processes that ran prewarmDcEngine() at start-up
  const prewarmed: number[] = [];
  if (impl !== "ndc") {
    for (let i = 0; i < args.runs; i++) {
      const ms = await withPair(impl, `prewarmed setup ${i + 1}/${args.runs}`, async (p) => p.setupMs, true);
      prewarmed.push(ms ?? Number.NaN);
    }
  }
  const out: Record<string, unknown> = {
    impl,
    prewarmedSetupMsMedian: prewarmed.length ? +median(prewarmed).toFixed(1) : Number.NaN,
    prewarmedSetupMsRuns: prewarmed.map((x) => +x.toFixed(1)),
    setupMsMedian: +median(cold).toFixed(1),
    setupMsRuns: cold.map((x) => +x.toFixed(1)),
    warmSetupMsMedian: +median(warm).toFixed(1),
    warmSetupMsRuns: warm.map((x) => +x.toFixed(1)),
  };
  console.log(JSON.stringify({ figure: "setup", impl, ms_median: out.setupMsMedian, runs: out.setupMsRuns }));
  console.log(
    JSON.stringify({ figure: "setup_warm", impl, ms_median: out.warmSetupMsMedian, runs: out.warmSetupMsRuns }),
  );
  if (prewarmed.length) {
    console.log(
      JSON.stringify({
        figure: "setup_prewarmed",
        impl,
        ms_median: out.prewarmedSetupMsMedian,
        runs: out.prewarmedSetupMsRuns,
      }),
    );
  }

  // bulk: 64 KiB messages for bulkMs, bufferedAmount high 1 MiB / low 256 KiB; rate = bytes / (last - first byte)
  {
    const size = 64 * 1024;
    const r = await withPair(impl, "bulk", async (p) => {
      p.b.send({ type: "bulkRecv" });
      await p.b.wait("bulkReady");
      p.a.send({ type: "bulkSend", size, high: 1 << 20, low: 256 << 10, durationMs: args.bulkMs });
      const sent = await p.a.wait("bulkSent", args.bulkMs + 30_000);
      p.b.send({ type: "bulkExpect", count: Number(sent.messages) });
      const done = await p.b.wait("bulkDone", 60_000).catch(() => undefined);
      const mbps = done ? Number(done.bytes) / 1e6 / (Number(done.ms) / 1000) : Number.NaN;
      return { mbps, messages: Number(sent.messages) };
    });
    out.bulkMBps = +(r?.mbps ?? Number.NaN).toFixed(2);
    console.log(JSON.stringify({ figure: "bulk_64KiB", impl, MBps: out.bulkMBps, messages: r?.messages ?? 0 }));
  }

  // burst: N small messages sent synchronously, on fresh pairs (median of --runs); ours also on prewarmed pairs
  for (const prewarm of impl === "ndc" ? [false] : [false, true]) {
    const runs: number[] = [];
    for (let i = 0; i < args.runs; i++) {
      const ms = await withPair(
        impl,
        `${prewarm ? "prewarmed burst" : "burst"} ${i + 1}/${args.runs}`,
        async (p) => {
          p.b.send({ type: "burstRecv", count: args.burst });
          await p.b.wait("burstReady");
          p.a.send({ type: "burstSend", count: args.burst });
          const start = await p.a.wait("burstStart");
          const done = await p.b.wait("burstDone", 60_000).catch(() => undefined);
          return done ? Number(done.t) - Number(start.t) : Number.NaN;
        },
        prewarm,
      );
      runs.push(ms ?? Number.NaN);
    }
    const key = prewarm ? "prewarmedBurstMs" : "burstMs";
    out[key] = +median(runs).toFixed(1);
    const figure = `burst_${args.burst}${prewarm ? "_prewarmed" : ""}`;
    console.log(JSON.stringify({ figure, impl, ms_median: out[key], runs: runs.map((x) => +x.toFixed(1)) }));
  }
  return out;
}

async function main(): Promise<void> {
  const args = parseArgs();
  console.log(JSON.stringify({ figure: "machine", cpus: cpus().length, cpu: cpus()[0]?.model, node: process.version }));
  const rows: Record<string, unknown>[] = [];
  const pairs = args.impls.reduce((n, i) => n + (i === "ndc" ? 2 * args.runs + 1 : 4 * args.runs + 1), 0);
  progress = new Progress("dc", { total: pairs, unit: "pairs" }).start();
  for (const impl of args.impls) rows.push(await benchImpl(impl, args));
  progress.stop();
  printRatios(rows);
  console.log(
    "\n| impl | setup ms, cold (median) | prewarmed | warm | bulk 64 KiB MB/s | burst %d msgs ms | prewarmed |".replace(
      "%d",
      String(args.burst),
    ),
  );
  console.log("|---|---|---|---|---|---|---|");
  for (const r of rows) {
    const pre = Number.isNaN(r.prewarmedSetupMsMedian) ? "–" : r.prewarmedSetupMsMedian;
    const burstPre = r.prewarmedBurstMs ?? "–";
    console.log(
      `| ${r.impl} | ${r.setupMsMedian} | ${pre} | ${r.warmSetupMsMedian} | ${r.bulkMBps} | ${r.burstMs} | ${burstPre} |`,
    );
  }
}

/** the performance goals, as ratios ours / libdatachannel of the same run */
const GOALS: {
  metric: string;
  key: string;
  base?: string;
  /** the per-run figures: min of ours and of the baseline printed too (libdatachannel's setup is bimodal) */
  runs?: [ours: string, base: string];
  goal: string;
  met: (r: number) => boolean;
}[] = [
  {
    metric: "setup_cold_ms",
    key: "setupMsMedian",
    runs: ["setupMsRuns", "setupMsRuns"],
    goal: "<= 1",
    met: (r) => r <= 1,
  },
  {
    metric: "setup_warm_ms",
    key: "warmSetupMsMedian",
    runs: ["warmSetupMsRuns", "warmSetupMsRuns"],
    goal: "<= 1",
    met: (r) => r <= 1,
  },
  // ours after prewarmDcEngine() against libdatachannel's first association (it has nothing to warm)
  {
    metric: "setup_prewarmed_ms",
    key: "prewarmedSetupMsMedian",
    base: "setupMsMedian",
    runs: ["prewarmedSetupMsRuns", "setupMsRuns"],
    goal: "<= 1",
    met: (r) => r <= 1,
  },
  { metric: "bulk_MBps", key: "bulkMBps", goal: ">= 0.8", met: (r) => r >= 0.8 },
  { metric: "burst_ms", key: "burstMs", goal: "<= 2", met: (r) => r <= 2 },
  { metric: "burst_prewarmed_ms", key: "prewarmedBurstMs", base: "burstMs", goal: "<= 2", met: (r) => r <= 2 },
];

const minOf = (xs: unknown): number => {
  const v = Array.isArray(xs) ? xs.map(Number).filter(Number.isFinite) : [];
  return v.length ? Math.min(...v) : Number.NaN;
};

/** one machine-readable line per figure of each of our modes: ratio = ours / ndc (same run) */
function printRatios(rows: Record<string, unknown>[]): void {
  const base = rows.find((r) => r.impl === "ndc");
  if (!base) return;
  for (const r of rows) {
    if (r === base) continue;
    for (const g of GOALS) {
      const ours = Number(r[g.key]);
      const baseline = Number(base[g.base ?? g.key]);
      const ratio = +(ours / baseline).toFixed(2);
      const met = Number.isFinite(ratio) ? g.met(ratio) : false;
      const mins = g.runs ? { oursMin: minOf(r[g.runs[0]]), baselineMin: minOf(base[g.runs[1]]) } : {};
      console.log(
        JSON.stringify({
          figure: "dc.ratio",
          metric: g.metric,
          impl: r.impl,
          ours,
          baseline,
          ratio,
          goal: g.goal,
          met,
          ...mins,
        }),
      );
    }
  }
}

void main().then(
  () => process.exit(0),
  (e: unknown) => {
    console.error(e);
    process.exit(1);
  },
);
