/**
 * One side of the data channel benchmark, run as a child process (`node --import tsx bench/dcPeer.ts <impl>`).
 * Speaks to the parent over IPC: {type:"offer"|"answer", sdp}, then runs the figure it is told to.
 * impl: "ndc" (node-datachannel / libdatachannel, the baseline) or "ours" (the imsdc UE on hardened werift).
 */
import { performance } from "node:perf_hooks";
import type { IceMode } from "../src/ue/iceMode.ts";
import { prewarmDcEngine } from "../src/ue/prewarm.ts";
import { exitOnHelp } from "./cli.ts";
import { makeNdcPeer } from "./peers/ndc.ts";
import { makeOursPeer } from "./peers/ours.ts";
import type { BenchPeer, ParentMsg } from "./peers/types.ts";

exitOnHelp(`usage: node --import tsx bench/dcPeer.ts ours|ours-lite|ours-none|ndc [prewarm]

One side of the data channel benchmark, forked by bench/dc.ts (run that instead): "ours" is the imsdc UE on the
patched werift with full ICE, "ours-lite" the same UE as an ICE-lite agent, "ours-none" without ICE (DTLS over plain
UDP to c=/port), "ndc" node-datachannel (libdatachannel). "prewarm": ours runs prewarmDcEngine() before it reports
ready. Signalling and commands come over IPC.
`);

const OURS: Record<string, IceMode> = { ours: "full", "ours-lite": "lite", "ours-none": "none" };

const impl = process.argv[2] ?? "ndc";
const send = (m: unknown) => process.send?.(m);
/** wall clock shared by both processes (ms since epoch, sub-ms resolution) */
const now = () => performance.timeOrigin + performance.now();

// the bench (parent) is gone, e.g. after an error or a timeout kill: do not linger with open sockets
process.on("disconnect", () => process.exit(0));

const makePeer = (): Promise<BenchPeer> => {
  const mode = OURS[impl];
  return mode ? makeOursPeer(mode) : makeNdcPeer();
};

async function main(): Promise<void> {
  // "prewarm": the UE app's start-up warm-up (src/ue/prewarm.ts) runs before the process reports ready
  const mode = OURS[impl];
  if (mode && process.argv[3] === "prewarm") await prewarmDcEngine({ ice: mode });
  let peer: BenchPeer = await makePeer();
  process.on("message", (raw: ParentMsg) => {
    const step =
      raw.type === "reset"
        ? // a warm association: the old peer goes, a new one (new certificate, new sockets) in the same process
          (async () => {
            await peer.close();
            peer = await makePeer();
            send({ type: "ready" });
          })()
        : handle(peer, raw);
    void step.catch((e: unknown) => {
      send({ type: "error", error: e instanceof Error ? e.message : String(e) });
    });
  });
  send({ type: "ready" });
}

let bulkExpect: (n: number) => void = () => {};

async function handle(peer: BenchPeer, m: ParentMsg): Promise<void> {
  switch (m.type) {
    case "makeOffer": {
      const t0 = now();
      const sdp = await peer.createOffer();
      send({ type: "offer", sdp, t0 });
      await peer.opened();
      send({ type: "open", side: "offerer", t: now() });
      return;
    }
    case "offer": {
      const sdp = await peer.acceptOffer(m.sdp);
      send({ type: "answer", sdp });
      await peer.opened();
      send({ type: "open", side: "answerer", t: now() });
      return;
    }
    case "answer":
      await peer.acceptAnswer(m.sdp);
      return;
    case "bulkSend": {
      const payload = Buffer.alloc(m.size, 0xab);
      peer.setLowThreshold(m.low);
      const t0 = performance.now();
      let sent = 0;
      await new Promise<void>((resolve) => {
        const pump = () => {
          while (peer.buffered() < m.high) {
            if (performance.now() - t0 >= m.durationMs) {
              resolve();
              return;
            }
            peer.send(payload);
            sent++;
          }
        };
        peer.onLow(pump);
        pump();
      });
      send({ type: "bulkSent", messages: sent, bytes: sent * m.size });
      return;
    }
    case "bulkRecv": {
      let bytes = 0;
      let msgs = 0;
      let first = 0;
      let last = 0;
      let expect = Number.POSITIVE_INFINITY;
      const check = () => {
        if (msgs >= expect) {
          expect = Number.POSITIVE_INFINITY;
          send({ type: "bulkDone", bytes, msgs, ms: last - first });
        }
      };
      bulkExpect = (n) => {
        expect = n;
        check();
      };
      peer.onMessage((d) => {
        if (!first) first = now();
        bytes += typeof d === "string" ? Buffer.byteLength(d) : d.length;
        msgs++;
        last = now();
        check();
      });
      send({ type: "bulkReady" });
      return;
    }
    case "bulkExpect":
      bulkExpect(m.count);
      return;
    case "burstSend": {
      send({ type: "burstStart", t: now() });
      for (let i = 0; i < m.count; i++) peer.send(`msg-${i}`);
      return;
    }
    case "burstRecv": {
      let n = 0;
      peer.onMessage(() => {
        if (++n === m.count) send({ type: "burstDone", t: now() });
      });
      send({ type: "burstReady" });
      return;
    }
    case "exit":
      await peer.close(true);
      process.exit(0);
  }
}

void main();
