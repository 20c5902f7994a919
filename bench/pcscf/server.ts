/**
 * The P-CSCF under test, in its own process (forked by bench/pcscf.ts): one UDP interface, IMS-ALG on, every
 * request routed to the sipp UAS (`coreNextHop`), no registration required. Audit events are counted, not stored.
 * IPC: sends {type:"ready", port}; answers {type:"stats"} with the decision counts; exits on {type:"stop"}.
 */
import { writeHeapSnapshot } from "node:v8";
import { type AuditRecorder, Pcscf } from "../../src/ims/pcscf/index.ts";
import { exitOnHelp } from "../cli.ts";

exitOnHelp(`usage: node --import tsx bench/pcscf/server.ts '{"port":N,"uas":"HOST:PORT","transport":"udp"|"tcp"}'

The P-CSCF under test, forked by bench/pcscf.ts (run that instead); reports over IPC.
`);

interface Config {
  port: number;
  uas: string;
  transport: "udp" | "tcp";
}

const cfg = JSON.parse(process.argv[2] ?? "{}") as Config;
const counts: Record<string, number> = {};
const audit: AuditRecorder = {
  record(e) {
    const k = `${String(e.kind ?? e.event)}:${e.decision}`;
    counts[k] = (counts[k] ?? 0) + 1;
  },
};
const pcscf = new Pcscf({
  name: "pcscf-bench",
  access: cfg.transport === "tcp" ? { tcp: cfg.port } : { udp: cfg.port },
  coreNextHop: cfg.uas,
  requireRegistration: false,
  audit,
  // one sipp flow carries the whole load: the per-source limit would measure itself, not the proxy
  rateLimit: false,
  // like Kamailio's -b 4194304: a burst (or a GC pause) must not overflow the socket's receive queue
  limits: { maxConnections: 4096, udpBufferSize: 4 * 1024 * 1024 },
});

process.on("message", (m: { type?: string }) => {
  if (m.type === "stats") {
    const mem = process.memoryUsage();
    // with --expose-gc (PCSCF_BENCH_NODE_ARGS): the heap that is live, i.e. the transaction and dialog state held
    const gc = (globalThis as { gc?: () => void }).gc;
    gc?.();
    // what the held transactions and dialogs consist of (docs/pcscf.md "Transaction state")
    const snapshot = process.env.PCSCF_BENCH_HEAP_SNAPSHOT;
    if (snapshot) writeHeapSnapshot(snapshot);
    process.send?.({
      type: "stats",
      counts,
      pending: pcscf.pending,
      rssMiB: Math.round(mem.rss / 1048576),
      heapMiB: Math.round(mem.heapUsed / 1048576),
      ...(gc ? { heapAfterGcMiB: Math.round(process.memoryUsage().heapUsed / 1048576) } : {}),
    });
  } else if (m.type === "stop") {
    void pcscf.close().then(() => process.exit(0));
  }
});

await pcscf.start();
process.send?.({ type: "ready", port: pcscf.address("access", cfg.transport === "tcp" ? "TCP" : "UDP")?.port });
