/**
 * Soak of the embedded IMS core (docs/soak.md): `--calls` data channel calls through S-CSCF + P-CSCF(A) +
 * P-CSCF(B) + two ImsUe (the composition of test/ims/e2e-helpers.ts), `--concurrency` at a time, each call INVITE →
 * both DTLS verdicts verified and channel 1000 open → one message each way → BYE. Heap (after GC), active handles and
 * sockets (/proc/self/fd) are taken in a quiet state after `--warmup` calls and again after the run; the heap outside
 * V8's code spaces, the handles and the sockets must stay within ±`--tolerance` % (heapUsed with code is reported). Prints JSON lines (progress, result) and a table. Exit 1 when a call failed or a figure is
 * out of tolerance.
 *
 *   node --expose-gc --import tsx bench/soak.ts [--calls 10000] [--concurrency 6] [--warmup 1000]
 *                                               [--max-seconds 1200] [--transport UDP|TCP] [--tolerance 5]
 */

import type { SipTransportProtocol } from "../src/sip/index.ts";
import { benchArgs, Progress } from "./cli.ts";

const USAGE = `usage: node --expose-gc --import tsx bench/soak.ts [--calls N] [--concurrency N] [--warmup N]
                                                   [--max-seconds S] [--transport UDP|TCP] [--tolerance PCT]

Data channel calls through one long-lived IMS core (S-CSCF, two P-CSCFs, two UEs) and the process's heap, handles
and sockets after the warm-up and after the run (docs/soak.md).

  --calls N          measured calls (default 10000)
  --concurrency N    calls in flight (default 6)
  --warmup N         calls before the baseline is taken (default 1000)
  --max-seconds S    bound of the whole run (default 1200)
  --transport T      UE transport, UDP or TCP (default UDP)
  --tolerance PCT    allowed change of heap data, handles and sockets (default 5)

JSON lines (progress every 5 % of the calls, the result) and a table on stdout; a progress bar or line on stderr.
Exit 1 on FAIL.
`;

interface Args {
  calls: number;
  concurrency: number;
  warmup: number;
  maxSeconds: number;
  transport: SipTransportProtocol;
  tolerance: number;
}

function parseArgs(): Args {
  const f = benchArgs(USAGE, {
    calls: "number",
    concurrency: "number",
    warmup: "number",
    "max-seconds": "number",
    transport: "string",
    tolerance: "number",
  });
  return {
    calls: f.calls ?? 10_000,
    concurrency: f.concurrency ?? 6,
    warmup: f.warmup ?? 1000,
    maxSeconds: f["max-seconds"] ?? 1200,
    transport: f.transport?.toUpperCase() === "TCP" ? "TCP" : "UDP",
    tolerance: f.tolerance ?? 5,
  };
}

async function main(): Promise<number> {
  const a = parseArgs();
  // the IMS nodes and UEs load only once --help is out of the way
  const { soakWithCloseCheck } = await import("./soak/run.ts");
  const progress = new Progress("soak", { total: a.warmup + a.calls, unit: "calls" }).start();
  const r = await soakWithCloseCheck({
    calls: a.calls,
    concurrency: a.concurrency,
    warmup: a.warmup,
    maxSeconds: a.maxSeconds,
    callTimeoutMs: 20_000,
    transport: a.transport,
    progressEvery: Math.max(100, Math.round(a.calls / 20)),
    onProgress: (p) => console.log(JSON.stringify({ progress: true, ...p })),
    onStep: (phase, done) => {
      if (phase === "warm-up") progress.set(done, "warm-up");
      else if (phase === "calls") progress.set(a.warmup + done, "calls");
      else progress.note(phase === "quiet state" ? "quiet state: resources after GC" : phase);
    },
  });
  progress.stop();
  const within = (d: number) => Math.abs(d) <= a.tolerance;
  const ok =
    r.completed &&
    r.failed === 0 &&
    within(r.heapDataDeltaPct) &&
    within(r.handlesDeltaPct) &&
    within(r.socketsDeltaPct) &&
    Object.keys(r.leakedAfterClose).length === 0;
  console.log(
    JSON.stringify({
      result: true,
      ...r,
      concurrency: a.concurrency,
      warmup: a.warmup,
      transport: a.transport,
      tolerancePct: a.tolerance,
      pass: ok,
      node: process.version,
    }),
  );
  const row = (k: string, v: string) => `| ${k} | ${v} |`;
  console.log(
    [
      "",
      "| figure | value |",
      "|---|---|",
      row(
        "calls (ok / failed)",
        `${r.calls} (${r.ok} / ${r.failed})${r.completed ? "" : " — stopped at --max-seconds"}`,
      ),
      row("failures by code", JSON.stringify(r.failures)),
      row("calls/s", `${r.callsPerSec} (concurrency ${a.concurrency}, ${r.seconds} s)`),
      row(
        "setup ms p50 / p90 / p99 / max",
        `${r.setupMs.p50} / ${r.setupMs.p90} / ${r.setupMs.p99} / ${r.setupMs.max}`,
      ),
      row("whole call ms p50 / p99", `${r.callMs.p50} / ${r.callMs.p99}`),
      row("heap used MB before → after", `${r.before.heapUsedMB} → ${r.after.heapUsedMB} (${r.heapDeltaPct} %)`),
      row(
        "  of which data / code MB",
        `${r.before.heapDataMB} → ${r.after.heapDataMB} (${r.heapDataDeltaPct} %) / ${r.before.heapCodeMB} → ${r.after.heapCodeMB}`,
      ),
      row("active handles before → after", `${r.before.handles} → ${r.after.handles} (${r.handlesDeltaPct} %)`),
      row(
        "sockets (fds) before → after",
        `${r.before.sockets} (${r.before.fds}) → ${r.after.sockets} (${r.after.fds})`,
      ),
      row("handles left after close", JSON.stringify(r.leakedAfterClose)),
      row("verdict", ok ? "PASS" : "FAIL"),
    ].join("\n"),
  );
  return ok ? 0 : 1;
}

main().then(
  (code) => {
    process.exitCode = code;
  },
  (e: unknown) => {
    console.error(e);
    process.exitCode = 2;
  },
);
