/**
 * P-CSCF under a one-source UDP flood, with the per-source rate limit on and off (docs/faults.md, "Limits"), and under
 * a TCP connection-exhaustion attack with the connection limits of before and of now (`--scenario connections`,
 * bench/limits/connections.ts), and the IMS-AGW under an Iq context flood with the per-controller quota off and on
 * (`--scenario iq`, bench/limits/iqFlood.ts, docs/agw.md "Iq security"):
 *
 *   node --import tsx bench/limits.ts [--scenario flood|connections|iq|all] [--flood-rate 20000] [--flood-ms 4000]
 *                                     [--flood-count 400000] [--conns 1100] [--sources 1] [--attempts 5]
 *                                     [--iq-count 3000] [--iq-max-contexts 2000] [--iq-quota 500]
 *
 * The P-CSCF runs in its own process (bench/limits/server.ts), the flooder in another (bench/limits/flood.ts: OPTIONS
 * from one UDP socket at --flood-rate per second, 0 = as fast as the socket takes them; bounded in count and time). Meanwhile a legitimate UE (this process, its own
 * socket) sends one OPTIONS every 20 ms and times the answer. Printed per mode: one JSON line, then a table —
 * what the flooder got (200 / 503 / nothing), the legitimate UE's round trip p50/p99/max and losses, the P-CSCF's
 * transactions in progress (peak), heap and CPU.
 */
import { type ChildProcess, fork } from "node:child_process";
import { createSocket } from "node:dgram";
import { cpus } from "node:os";
import { dirname, join } from "node:path";
import { fileURLToPath } from "node:url";
import { benchArgs, Progress } from "./cli.ts";
import { type ConnectionsResult, runConnections } from "./limits/connections.ts";
import { type IqFloodResult, runIqFlood } from "./limits/iqFlood.ts";

const FLAGS = benchArgs(
  `usage: node --import tsx bench/limits.ts [--scenario flood|connections|iq|all] [--flood-rate N] [--flood-ms MS]
                                     [--flood-count N] [--conns N] [--sources N] [--attempts N]
                                     [--iq-count N] [--iq-max-contexts N] [--iq-quota N]

flood: one source floods the P-CSCF with OPTIONS over UDP while a legitimate UE on another flow pings it every
20 ms; run with the per-source rate limit off, then on (docs/faults.md). P-CSCF, flooder and UE are three processes.

connections: --conns TCP connections from --sources loopback addresses (127.0.0.10 …) each send one OPTIONS and
idle, then a legitimate UE on 127.0.0.3 connects, REGISTERs and sends OPTIONS --attempts times; run with the
connection limits of before (one global cap, 300 s idle timeout, no eviction), then the defaults (docs/sip.md).

iq: one authenticated Iq controller reserves --iq-count contexts on an AGW of --iq-max-contexts while another
reserves and releases a context every 50 ms; per-controller quota off, then on (--iq-quota).

  --scenario S      flood, connections, iq or all (default all)
  --flood-rate N    OPTIONS per second; 0 = as fast as the socket takes them (default 20000)
  --flood-ms MS     flood duration (default 4000, at most 20000)
  --flood-count N   flood size bound (default 400000, at most 2000000)
  --conns N         idle attack connections (default 1100, at most 5000)
  --sources N       attacking source addresses (default 1, at most 200)
  --attempts N      registrations of the legitimate UE (default 5, at most 50)
  --iq-count N      contexts the Iq flooder asks for (default 3000, at most 20000)
  --iq-max-contexts N  the AGW's maxContexts (default 2000)
  --iq-quota N      per-controller context quota in the "on" run (default 500)

One JSON line per mode and a table per scenario on stdout; progress on stderr.
`,
  {
    scenario: "string",
    "flood-rate": "number",
    "flood-ms": "number",
    "flood-count": "number",
    conns: "number",
    sources: "number",
    attempts: "number",
    "iq-count": "number",
    "iq-max-contexts": "number",
    "iq-quota": "number",
  },
);
const SCENARIO = FLAGS.scenario ?? "all";
if (!["flood", "connections", "iq", "all"].includes(SCENARIO)) {
  process.stderr.write(`bench/limits.ts: --scenario must be flood, connections, iq or all, not ${SCENARIO}\n`);
  process.exit(2);
}
const HERE = join(dirname(fileURLToPath(import.meta.url)), "limits");
const positive = (v: number | undefined, def: number) => (v !== undefined && v > 0 ? v : def);
const FLOOD_MS = Math.min(positive(FLAGS["flood-ms"], 4000), 20_000);
const FLOOD_COUNT = Math.min(positive(FLAGS["flood-count"], 400_000), 2_000_000);
const FLOOD_RATE = FLAGS["flood-rate"] !== undefined ? Math.max(0, FLAGS["flood-rate"]) : 20_000;
const IQ_COUNT = Math.min(positive(FLAGS["iq-count"], 3000), 20_000);
const IQ_MAX_CONTEXTS = Math.min(positive(FLAGS["iq-max-contexts"], 2000), 20_000);
const IQ_QUOTA = Math.min(positive(FLAGS["iq-quota"], 500), IQ_MAX_CONTEXTS);

interface Stats {
  refusals: Record<string, number>;
  transactions: number;
  peakTransactions: number;
  heapMiB: number;
  rssMiB: number;
  cpuMs: number;
}

function child(file: string, cfg: unknown): ChildProcess {
  return fork(join(HERE, file), [JSON.stringify(cfg)], {
    execArgv: ["--import", "tsx"],
    stdio: ["ignore", "inherit", "inherit", "ipc"],
  });
}

function next<T>(cp: ChildProcess, type: string, ms: number): Promise<T> {
  return new Promise<T>((resolve, reject) => {
    const t = setTimeout(() => reject(new Error(`no ${type} from child within ${ms} ms`)), ms);
    const on = (m: { type?: string }) => {
      if (m.type !== type) return;
      clearTimeout(t);
      cp.off("message", on);
      resolve(m as T);
    };
    cp.on("message", on);
  });
}

function pct(xs: number[], p: number): number {
  if (xs.length === 0) return Number.NaN;
  const s = [...xs].sort((a, b) => a - b);
  return s[Math.min(s.length - 1, Math.floor((p / 100) * s.length))] ?? Number.NaN;
}

const progress = new Progress("limits", { total: SCENARIO === "all" ? 6 : 2, unit: "modes" });

async function run(rateLimit: boolean) {
  const mode = `rate limit ${rateLimit ? "on" : "off"}`;
  progress.note(`${mode}: starting the P-CSCF`);
  const server = child("server.ts", { rateLimit });
  const { port } = await next<{ port: number }>(server, "ready", 20_000);
  const sock = createSocket("udp4");
  await new Promise<void>((r) => sock.bind(0, "127.0.0.1", () => r()));
  const me = sock.address().port;
  const sentAt = new Map<number, number>();
  const rtt: { during: boolean; ms: number }[] = [];
  let flooding = false;
  sock.on("message", (b) => {
    const m = /CSeq: (\d+) OPTIONS/.exec(b.toString("latin1"));
    const i = m ? Number(m[1]) : -1;
    const t0 = sentAt.get(i);
    if (t0 === undefined) return;
    sentAt.delete(i);
    rtt.push({ during: flooding, ms: performance.now() - t0 });
  });
  let seq = 0;
  const lostDuring = { n: 0 };
  const ping = setInterval(() => {
    // anything unanswered after 2 s is lost
    const now = performance.now();
    for (const [i, t0] of sentAt) {
      if (now - t0 > 2000) {
        sentAt.delete(i);
        lostDuring.n++;
      }
    }
    const i = ++seq;
    sentAt.set(i, performance.now());
    sock.send(
      `OPTIONS sip:127.0.0.1:${port} SIP/2.0\r\nVia: SIP/2.0/UDP 127.0.0.1:${me};branch=z9hG4bK-ue-${i};rport\r\n` +
        `Max-Forwards: 70\r\nFrom: <sip:alice@ims.example.com>;tag=ue${i}\r\nTo: <sip:127.0.0.1:${port}>\r\n` +
        `Call-ID: ue-${i}@bench\r\nCSeq: ${i} OPTIONS\r\nContent-Length: 0\r\n\r\n`,
      port,
      "127.0.0.1",
    );
  }, 20);
  await new Promise((r) => setTimeout(r, 1000));
  flooding = true;
  progress.note(`${mode}: flooding for ${FLOOD_MS} ms`);
  const flood = child("flood.ts", { port, count: FLOOD_COUNT, ms: FLOOD_MS, rate: FLOOD_RATE });
  const done = await next<{ sent: number; sendMs: number; answers: Record<string, number> }>(
    flood,
    "done",
    FLOOD_MS + 30_000,
  );
  const stats = await (async () => {
    server.send({ type: "stats" });
    return next<Stats>(server, "stats", 10_000);
  })();
  flooding = false;
  await new Promise((r) => setTimeout(r, 500));
  clearInterval(ping);
  sock.close();
  server.send({ type: "stop" });
  await new Promise((r) => server.once("exit", r));
  const during = rtt.filter((r) => r.during).map((r) => r.ms);
  const before = rtt.filter((r) => !r.during).map((r) => r.ms);
  const answered = Object.values(done.answers).reduce((a, b) => a + b, 0);
  return {
    bench: "limits",
    rateLimit,
    flood: {
      sent: done.sent,
      sendRate: Math.round(done.sent / (done.sendMs / 1000)),
      ok200: done.answers["200"] ?? 0,
      refused503: done.answers["503"] ?? 0,
      unanswered: done.sent - answered,
    },
    ue: {
      p50Before: +pct(before, 50).toFixed(2),
      p50: +pct(during, 50).toFixed(2),
      p99: +pct(during, 99).toFixed(2),
      max: +Math.max(...during, 0).toFixed(2),
      answered: during.length,
      lost: lostDuring.n,
    },
    pcscf: stats,
  };
}

progress.start();
const want = (name: string) => SCENARIO === "all" || SCENARIO === name;
if (want("flood")) await floodScenario();
if (want("connections")) await connectionsScenario();
if (want("iq")) await iqScenario();
progress.stop();
process.exit(0);

async function connectionsScenario(): Promise<void> {
  const conns = Math.min(positive(FLAGS.conns, 1100), 5000);
  const sources = Math.min(positive(FLAGS.sources, 1), 200);
  const attempts = Math.min(positive(FLAGS.attempts, 5), 50);
  const results: ConnectionsResult[] = [];
  for (const mode of ["before", "default"] as const) {
    const r = await runConnections(mode, { conns, sources, attempts, onNote: (s) => progress.note(s) });
    progress.add(1);
    console.log(JSON.stringify({ ...r, cpus: cpus().length, node: process.version }));
    results.push(r);
  }
  console.log("");
  console.log(
    "| connection limits | attack conns (sources) | attack held | attack refused | UE registered | UE OPTIONS answered | UE REGISTER p50 / max (ms) | evicted | refused per-source / global |",
  );
  console.log("|---|---|---|---|---|---|---|---|---|");
  for (const r of results) {
    const refused = (r.pcscf?.refused ?? {}) as Record<string, number>;
    console.log(
      `| ${r.limits === "before" ? "before (1024 global, 300 s idle)" : "default (32/source, evict near full, 32 s unregistered idle)"} | ${r.attack.conns} (${r.attack.sources}) | ${r.attack.admitted} | ${r.attack.refused} | ${r.ue.registered}/${r.ue.attempts} | ${r.ue.answered}/${r.ue.attempts} | ${r.ue.rttP50} / ${r.ue.rttMax} | ${String(r.pcscf?.evicted ?? 0)} | ${refused["per-source"] ?? 0} / ${refused.global ?? 0} |`,
    );
  }
  console.log("");
}

async function floodScenario(): Promise<void> {
  const results = [];
  for (const on of [false, true]) {
    const r = await run(on);
    progress.add(1);
    console.log(JSON.stringify({ ...r, floodRate: FLOOD_RATE, cpus: cpus().length, node: process.version }));
    results.push(r);
  }
  console.log("");
  console.log(
    "| rate limit | flood sent (rate/s) | flood 200 | flood 503 | flood unanswered | UE rtt p50 / p99 / max (ms) | UE lost | P-CSCF peak transactions | heap MiB | CPU ms |",
  );
  console.log("|---|---|---|---|---|---|---|---|---|---|");
  for (const r of results) {
    console.log(
      `| ${r.rateLimit ? "on (200/s, burst 400)" : "off"} | ${r.flood.sent} (${r.flood.sendRate}) | ${r.flood.ok200} | ${r.flood.refused503} | ${r.flood.unanswered} | ${r.ue.p50} / ${r.ue.p99} / ${r.ue.max} | ${r.ue.lost} | ${r.pcscf.peakTransactions} | ${r.pcscf.heapMiB} | ${r.pcscf.cpuMs} |`,
    );
  }
  console.log("");
}

async function iqScenario(): Promise<void> {
  const iqResults: IqFloodResult[] = [];
  for (const quota of ["off", IQ_QUOTA] as const) {
    progress.note(`iq: quota ${quota}, ${IQ_COUNT} reservations asked`);
    const r = await runIqFlood({ count: IQ_COUNT, maxContexts: IQ_MAX_CONTEXTS, quota });
    progress.add(1);
    console.log(JSON.stringify({ ...r, cpus: cpus().length, node: process.version }));
    iqResults.push(r);
  }
  if (iqResults.length > 0) {
    console.log("");
    console.log(
      "| Iq quota | flood asked | flood ok | flood E_AGW_QUOTA | flood other | legit ok | legit failed | legit rtt p50 / p99 / max (ms) | AGW peak contexts | AGW peak listeners | RSS MiB |",
    );
    console.log("|---|---|---|---|---|---|---|---|---|---|---|");
    for (const r of iqResults) {
      console.log(
        `| ${r.quota} | ${r.flood.sent} | ${r.flood.ok} | ${r.flood.quota} | ${JSON.stringify(r.flood.other)} | ${r.legit.ok} | ${JSON.stringify(r.legit.failed)} | ${r.legit.p50} / ${r.legit.p99} / ${r.legit.max} | ${r.agw.peakContexts} | ${r.agw.peakListeners} | ${r.agw.rssMiB} |`,
      );
    }
  }
}
