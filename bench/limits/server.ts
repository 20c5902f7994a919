/**
 * The P-CSCF under a flood, in its own process (forked by bench/limits.ts): access UDP, core TCP toward an S-CSCF that
 * is never needed (the load is OPTIONS to the P-CSCF itself, answered by it through a server transaction).
 * IPC: sends {type:"ready", port}; answers {type:"stats"} with refusals, transactions in progress, heap and CPU.
 */
import { Pcscf } from "../../src/ims/pcscf/index.ts";
import { exitOnHelp } from "../cli.ts";

exitOnHelp(`usage: node --import tsx bench/limits/server.ts '{"rateLimit":true|false}'

The P-CSCF under a flood, forked by bench/limits.ts (run that instead); reports over IPC.
`);

const cfg = JSON.parse(process.argv[2] ?? "{}") as { rateLimit: boolean };
const pcscf = new Pcscf({
  name: "pcscf-limits",
  access: { udp: 0 },
  core: { tcp: 0 },
  scscf: "sip:127.0.0.1:9;transport=tcp;lr",
  ...(cfg.rateLimit ? {} : { rateLimit: false }),
});
let peakTx = 0;
const sampler = setInterval(() => {
  peakTx = Math.max(peakTx, pcscf.access.txm.size);
}, 50);
await pcscf.start();
const cpu0 = process.cpuUsage();
process.send?.({ type: "ready", port: pcscf.address("access", "UDP")?.port ?? 0 });
process.on("message", (m: { type?: string }) => {
  if (m.type === "stats") {
    const cpu = process.cpuUsage(cpu0);
    process.send?.({
      type: "stats",
      refusals: Object.fromEntries(pcscf.refusals),
      transactions: pcscf.access.txm.size,
      peakTransactions: Math.max(peakTx, pcscf.access.txm.size),
      heapMiB: Math.round(process.memoryUsage().heapUsed / 1048576),
      rssMiB: Math.round(process.memoryUsage().rss / 1048576),
      cpuMs: Math.round((cpu.user + cpu.system) / 1000),
    });
  } else if (m.type === "stop") {
    clearInterval(sampler);
    void pcscf.close().then(() => process.exit(0));
  }
});
