/**
 * In-process A/B of the P-CSCF's per-message SIP work against an older checkout: both builds' `src/sip` are imported
 * into one process and measured alternately (the order flips every round), so machine load hits both alike. Parsing
 * of the bench's INVITE, 200 OK and BYE (messages.ts; ours also at the proxy level, RFC 3261 §16.3 item 1), and
 * `SipTransportLayer.sendRequest` / `sendResponse` over UDP to a sink in another process (only the sender's CPU is
 * counted). CPU time from process.cpuUsage (user + system); the median over the rounds is printed.
 *
 *   node --import tsx bench/pcscf/ab.ts --before DIR [--n N] [--rounds R]
 */
import { spawn } from "node:child_process";
import { resolve } from "node:path";
import { fileURLToPath } from "node:url";
import type * as Sip from "../../src/sip/index.ts";
import { benchArgs } from "../cli.ts";
import { BYE, INVITE, OK } from "./messages.ts";

const USAGE = `usage: node --import tsx bench/pcscf/ab.ts --before DIR [--n N] [--rounds R]

CPU µs per parse (INVITE, 200 OK, BYE) and per UDP send through the transport layer, this checkout vs DIR (an older
checkout: git archive REV | tar -x -C DIR, node_modules linked), alternating in one process. One JSON line per op.
  --before DIR   the older checkout (required)
  --n N          operations per measurement (default 20000)
  --rounds R     measurements per op and build; the median is printed (default 9)
`;

const flags = benchArgs(USAGE, { before: "string", n: "number", rounds: "number" });
if (flags.before === undefined) {
  process.stderr.write(`ab.ts: --before DIR is required\n${USAGE}`);
  process.exit(2);
}
const N = flags.n ?? 20000;
const ROUNDS = flags.rounds ?? 9;
const here = resolve(fileURLToPath(import.meta.url), "../../..");
const builds: [string, string][] = [
  ["before", resolve(flags.before)],
  ["ours", here],
];

type Op = () => unknown;
interface Case {
  op: string;
  build: string;
  run: Op;
  /** sends settle asynchronously: yield to the loop every 32 */
  async: boolean;
}

// the sink in its own process: only the sender's CPU is counted here
const sink = spawn(
  process.execPath,
  [
    "-e",
    `const s=require("node:dgram").createSocket("udp4");s.on("message",()=>{});` +
      `s.bind(0,"127.0.0.1",()=>{s.setRecvBufferSize(8<<20);console.log(s.address().port)})`,
  ],
  { stdio: ["ignore", "pipe", "inherit"] },
);
const port: number = await new Promise((r) => sink.stdout.once("data", (d) => r(Number(String(d).trim()))));

const cases: Case[] = [];
const layers: Sip.SipTransportLayer[] = [];
for (const [build, dir] of builds) {
  const sip = (await import(`${dir}/src/sip/index.ts`)) as typeof Sip;
  const parse = (b: Uint8Array, validate?: "proxy") => () =>
    sip.parseMessage(b, validate ? { datagram: true, validate } : { datagram: true });
  for (const [name, bytes] of [
    ["INVITE", INVITE],
    ["200", OK],
    ["BYE", BYE],
  ] as const) {
    cases.push({ op: `parse ${name}`, build, run: parse(bytes), async: false });
    // an older build may not know the proxy level (it would read it as "mandatory"): ours only
    if (build === "ours") cases.push({ op: `parse ${name} proxy`, build, run: parse(bytes, "proxy"), async: false });
  }
  const layer = new sip.SipTransportLayer({ udp: true, limits: { udpBufferSize: 4 << 20 } });
  await layer.start();
  layers.push(layer);
  const req = sip.parseMessage(BYE, { datagram: true }) as Sip.SipRequest;
  const res = sip.parseMessage(OK, { datagram: true }) as Sip.SipResponse;
  res.removeFirstValue("Via");
  res.setTopVia({ ...res.topVia(), host: "127.0.0.1", port, params: [] });
  const target = { transport: "UDP" as const, host: "127.0.0.1", port };
  const source = { ...target, localHost: "127.0.0.1", localPort: 1 };
  const fail = (e: unknown) => process.stderr.write(`send failed: ${String(e)}\n`);
  cases.push({ op: "send request", build, run: () => layer.sendRequest(req, target).catch(fail), async: true });
  cases.push({ op: "send response", build, run: () => layer.sendResponse(res, source).catch(fail), async: true });
}

const tick = () => new Promise((r) => setImmediate(r));
async function measure(c: Case): Promise<number> {
  const c0 = process.cpuUsage();
  for (let i = 0; i < N; i++) {
    c.run();
    if (c.async && i % 32 === 31) await tick();
  }
  if (c.async) await tick();
  const d = process.cpuUsage(c0);
  return (d.user + d.system) / N;
}

for (const c of cases) for (let i = 0; i < Math.min(3000, N); i++) c.run();
await tick();
const samples = new Map<Case, number[]>();
for (let round = 0; round < ROUNDS; round++) {
  for (const c of round % 2 === 0 ? cases : [...cases].reverse()) {
    const v = await measure(c);
    samples.set(c, [...(samples.get(c) ?? []), v]);
  }
}
const median = (v: number[]) => [...v].sort((a, b) => a - b)[Math.floor(v.length / 2)] ?? Number.NaN;
const byOp = new Map<string, Record<string, number>>();
for (const [c, v] of samples) byOp.set(c.op, { ...byOp.get(c.op), [c.build]: Math.round(median(v) * 100) / 100 });
for (const [op, r] of byOp) {
  const line: Record<string, unknown> = { bench: "pcscf-ab", op, n: N, rounds: ROUNDS, cpuUsPerOp: r };
  if (r.before !== undefined && r.ours !== undefined) line.ratio = Math.round((r.ours / r.before) * 1000) / 1000;
  process.stdout.write(`${JSON.stringify(line)}\n`);
}
for (const l of layers) await l.close();
sink.kill();
