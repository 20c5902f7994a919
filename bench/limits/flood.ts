/**
 * The flooding source (forked by bench/limits.ts): OPTIONS to the P-CSCF from one UDP socket, as fast as the socket
 * takes them, bounded in count and time; counts the answers by status. IPC: {type:"done", sent, answers}.
 */
import { createSocket } from "node:dgram";
import { exitOnHelp } from "../cli.ts";

exitOnHelp(`usage: node --import tsx bench/limits/flood.ts '{"port":N,"count":N,"ms":N,"rate":N}'

The flooding source, forked by bench/limits.ts (run that instead); reports over IPC.
`);

const { port, count, ms, rate } = JSON.parse(process.argv[2] ?? "{}") as {
  port: number;
  count: number;
  ms: number;
  /** datagrams per second; 0 = as fast as the socket takes them */
  rate: number;
};
const sock = createSocket("udp4");
sock.on("error", () => {}); // ECONNREFUSED etc.: a flooder does not care
const answers: Record<string, number> = {};
sock.on("message", (b) => {
  const m = /^SIP\/2\.0 (\d{3})/.exec(b.subarray(0, 16).toString("latin1"));
  const k = m?.[1] ?? "other";
  answers[k] = (answers[k] ?? 0) + 1;
});
await new Promise<void>((r) => sock.bind(0, "127.0.0.1", () => r()));
const me = sock.address().port;
const msg = (i: number) =>
  Buffer.from(
    `OPTIONS sip:127.0.0.1:${port} SIP/2.0\r\nVia: SIP/2.0/UDP 127.0.0.1:${me};branch=z9hG4bK-fl-${i};rport\r\n` +
      `Max-Forwards: 70\r\nFrom: <sip:flood@ims.example.com>;tag=fl${i}\r\nTo: <sip:127.0.0.1:${port}>\r\n` +
      `Call-ID: flood-${i}@bench\r\nCSeq: 1 OPTIONS\r\nContent-Length: 0\r\n\r\n`,
  );
const start = Date.now();
const end = start + ms;
let sent = 0;
await new Promise<void>((resolve) => {
  const burst = () => {
    // paced: what is due by now (at most 200 per turn of the event loop, so the answers are read meanwhile)
    const due = rate > 0 ? Math.min(count, Math.floor(((Date.now() - start) / 1000) * rate)) : count;
    for (let i = 0; i < 200 && sent < due; i++) sock.send(msg(sent++), port, "127.0.0.1");
    if (sent >= count || Date.now() >= end) resolve();
    else if (rate > 0 && sent >= due) setTimeout(burst, 1);
    else setImmediate(burst);
  };
  burst();
});
const sendMs = ms - Math.max(0, end - Date.now());
// answers still in flight
await new Promise((r) => setTimeout(r, 1500));
process.send?.({ type: "done", sent, sendMs, answers });
sock.close();
process.exit(0);
