/**
 * One fuzz target in its own process (forked by bench/fuzz.ts): its own heap, its own event loop, and a parent that
 * can kill it when it stops sending heartbeats (a hang). Reports progress every 250 ms and the result at the end.
 *
 *   argv: <target> <seed> <maxInputs> <maxSeconds> <findingsDir|->
 */

import { exitOnHelp } from "../cli.ts";
import type { Position } from "./run.ts";
import { isTargetName, TARGET_NAMES } from "./targets/names.ts";

exitOnHelp(`usage: node --import tsx bench/fuzz/child.ts <target> <seed> <maxInputs> <maxSeconds> <findingsDir|->

One fuzz target in its own process, forked by bench/fuzz.ts (run that instead). Heartbeats and the result go to the
parent over IPC. Targets: ${TARGET_NAMES.join(", ")}.
`);
// the targets load the SIP, SDP, P-CSCF and UE code: only once --help is out of the way
const { fuzzLoop } = await import("./run.ts");
const { makeTarget } = await import("./targets/index.ts");

const [name = "", seedS = "1", maxS = "1000", secsS = "10", dir = "-"] = process.argv.slice(2);
if (!isTargetName(name)) {
  process.send?.({ type: "error", message: `unknown target ${name}` });
  process.exit(2);
}
let unhandled = 0;
const unhandledSamples: string[] = [];
process.on("unhandledRejection", (r) => {
  unhandled++;
  if (unhandledSamples.length < 5) unhandledSamples.push(r instanceof Error ? `${r.name}: ${r.message}` : String(r));
});
let position: Position = { chunk: 0, index: 0, done: 0 };
const beat = setInterval(() => process.send?.({ type: "progress", ...position }), 250);
// the parent going away ends the run
process.on("disconnect", () => process.exit(3));

const t = makeTarget(name);
const cpu0 = process.cpuUsage();
await t.start?.();
const { tally, findings, seconds } = await fuzzLoop(t, {
  seed: Number(seedS),
  maxInputs: Number(maxS),
  maxSeconds: Number(secsS),
  ...(dir !== "-" ? { findingsDir: dir } : {}),
  onProgress: (p) => {
    position = p;
  },
});
const extra = (await t.stop?.()) ?? {};
const cpu = process.cpuUsage(cpu0);
clearInterval(beat);
process.send?.(
  {
    type: "result",
    target: name,
    description: t.description,
    seconds,
    cpuSeconds: (cpu.user + cpu.system) / 1e6,
    tally: tally.toJSON(),
    findings,
    unhandledRejections: unhandled,
    unhandledSamples,
    extra,
  },
  undefined,
  {},
  () => process.exit(0),
);
