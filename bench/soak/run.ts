/**
 * The soak: many data channel calls through one long-lived IMS core, the composition of test/ims/e2e-helpers.ts
 * (S-CSCF + P-CSCF(A) + P-CSCF(B), both with the IMS-ALG on, and two ImsUe), and the resource figures before and
 * after. Each call: INVITE (alice → P-CSCF(A) → S-CSCF → P-CSCF(B) → bob), both DTLS verdicts verified and channel
 * 1000 open on both sides, one message each way, BYE. Calls run with bounded concurrency; every step is bounded.
 *
 * Resources are read in a quiet state (no call in flight, every transaction past its 64·T1 retention, after GC):
 * heap used, the active handles of process.getActiveResourcesInfo() and the file descriptors of /proc/self/fd
 * (sockets counted apart). The baseline is taken after a warm-up: V8 keeps compiling optimised code for the first
 * ~1500 calls (+2.5 MB of "code" in a heap snapshot while strings, objects and arrays stay flat) and the bounded
 * audit ring fills, so what remains after the run is what the calls themselves leave behind.
 */
import { readdirSync, readlinkSync } from "node:fs";
import v8 from "node:v8";
import vm from "node:vm";
import { deadline } from "../../src/errors.ts";
import { Pcscf } from "../../src/ims/pcscf/index.ts";
import { Scscf } from "../../src/ims/scscf/index.ts";
import { AuditLog } from "../../src/log.ts";
import type { SipTransportProtocol } from "../../src/sip/index.ts";
import { type DcChannel, ImsUe, type UeCall } from "../../src/ue/index.ts";

export const DOMAIN = "ims.example.com";
/** the timers of test/ims/e2e-helpers.ts: loopback loses nothing; 64·T1 = 6.4 s of transaction retention */
export const TIMERS = { T1: 100, T2: 400, T4: 500, D: 500 };
const CHANNEL = { id: 1000, label: "chat", subprotocol: "msrp" };
const DC_TIMEOUTS = { gatherMs: 5000, iceMs: 8000, dtlsMs: 8000, sctpMs: 8000 };

export interface SoakOptions {
  calls: number;
  concurrency: number;
  warmup: number;
  maxSeconds: number;
  /** bound on one call, INVITE to BYE's end */
  callTimeoutMs: number;
  /** UE transport toward its P-CSCF (the core is TCP) */
  transport: SipTransportProtocol;
  /** SIP timers of every node and UE (default TIMERS); the quiet state waits 64·T1 + 1 s */
  timers?: typeof TIMERS;
  /** every `progressEvery` calls */
  onProgress?: (p: { done: number; ok: number; failed: number; elapsedS: number; callsPerSec: number }) => void;
  progressEvery?: number;
  /**
   * after every call (warm-up included) and at each phase change: "warm-up" / "calls" with the calls done in that
   * phase, "quiet state" while the resources are read, "closing"
   */
  onStep?: (phase: SoakPhase, done: number) => void;
}

export type SoakPhase = "starting" | "warm-up" | "quiet state" | "calls" | "closing";

export interface Resources {
  heapUsedMB: number;
  /** V8 code spaces (compiled code: grows while the JIT optimises, not with data) */
  heapCodeMB: number;
  /** heap used outside the code spaces: the objects, strings and arrays the calls could leave behind */
  heapDataMB: number;
  handles: number;
  handlesByType: Record<string, number>;
  fds: number;
  sockets: number;
}

export interface SoakResult {
  calls: number;
  ok: number;
  failed: number;
  failures: Record<string, number>;
  seconds: number;
  callsPerSec: number;
  setupMs: { p50: number; p90: number; p99: number; max: number };
  callMs: { p50: number; p99: number };
  before: Resources;
  after: Resources;
  /** after close of every node and UE, against the process before the network started */
  leakedAfterClose: Record<string, number>;
  /** heapUsed, code included */
  heapDeltaPct: number;
  /** heap outside the code spaces (the leak criterion) */
  heapDataDeltaPct: number;
  handlesDeltaPct: number;
  socketsDeltaPct: number;
  completed: boolean;
}

/** gc() even without --expose-gc (the vitest worker): V8 flag set at run time, function taken from a new context. */
export function collectGarbage(): void {
  let gc = (globalThis as { gc?: () => void }).gc;
  if (typeof gc !== "function") {
    v8.setFlagsFromString("--expose-gc");
    gc = vm.runInNewContext("gc") as () => void;
  }
  gc();
  gc();
}

export function resources(): Resources {
  const byType: Record<string, number> = {};
  for (const r of process.getActiveResourcesInfo()) byType[r] = (byType[r] ?? 0) + 1;
  let fds = 0;
  let sockets = 0;
  try {
    for (const fd of readdirSync("/proc/self/fd")) {
      fds++;
      try {
        if (readlinkSync(`/proc/self/fd/${fd}`).startsWith("socket:")) sockets++;
      } catch {
        // the fd of the directory listing itself is gone by now
      }
    }
  } catch {
    // no /proc (not Linux): fds stay 0
  }
  let code = 0;
  for (const sp of v8.getHeapSpaceStatistics())
    if (sp.space_name === "code_space" || sp.space_name === "code_large_object_space") code += sp.space_used_size;
  const used = process.memoryUsage().heapUsed;
  const handles = Object.entries(byType)
    .filter(([k]) => k !== "TTYWrap" && k !== "FSReqCallback")
    .reduce((s, [, n]) => s + n, 0);
  return {
    heapUsedMB: Math.round((used / 2 ** 20) * 10) / 10,
    heapCodeMB: Math.round((code / 2 ** 20) * 10) / 10,
    heapDataMB: Math.round(((used - code) / 2 ** 20) * 10) / 10,
    handles,
    handlesByType: byType,
    fds,
    sockets,
  };
}

/** Resources in a quiet state: nothing in flight, retention timers run out, garbage collected. */
async function quietResources(drainMs: number): Promise<Resources> {
  await sleep(drainMs);
  collectGarbage();
  await sleep(50);
  collectGarbage();
  return resources();
}

function sleep(ms: number): Promise<void> {
  return new Promise((r) => setTimeout(r, ms));
}

/** The `deadline` rejection of a soak step. */
function soakTimeout(what: string): (ms: number) => SoakStepError {
  return (ms) => new SoakStepError(`${what} timed out after ${ms} ms`, "E_SOAK_TIMEOUT");
}

class SoakStepError extends Error {
  constructor(
    message: string,
    readonly code: string,
  ) {
    super(message);
  }
}

function codeOf(e: unknown): string {
  if (e && typeof e === "object" && "code" in e && typeof (e as { code: unknown }).code === "string")
    return (e as { code: string }).code;
  return e instanceof Error ? e.name : "unknown";
}

function nextMessage(ch: DcChannel, ms: number): Promise<string> {
  return deadline(
    new Promise<string>((resolve) => ch.once("message", (m) => resolve(String(m)))),
    ms,
    soakTimeout(`message on channel ${ch.id}`),
  );
}

function waitOpen(ch: DcChannel, ms: number): Promise<void> {
  if (ch.readyState === "open") return Promise.resolve();
  return deadline(new Promise<void>((r) => ch.once("open", () => r())), ms, soakTimeout(`channel ${ch.id} open`));
}

function percentile(sorted: readonly number[], p: number): number {
  if (sorted.length === 0) return Number.NaN;
  const i = Math.min(sorted.length - 1, Math.max(0, Math.ceil((p / 100) * sorted.length) - 1));
  return Math.round((sorted[i] ?? Number.NaN) * 10) / 10;
}

export interface Net {
  scscf: Scscf;
  a: Pcscf;
  b: Pcscf;
  alice: ImsUe;
  bob: ImsUe;
  incoming: Map<string, UeCall>;
  close(): Promise<void>;
}

export async function startNet(transport: SipTransportProtocol, timers: typeof TIMERS = TIMERS): Promise<Net> {
  const audit = new AuditLog({ max: 1000 });
  const started: { close(): Promise<void> }[] = [];
  try {
    const scscf = new Scscf({ udp: 0, tcp: 0, domains: [DOMAIN], timers, auth: false, trustedPcscfs: ["127.0.0.1"] });
    started.push(scscf);
    await scscf.start();
    const mk = async (name: string) => {
      const p = new Pcscf({
        name,
        access: { udp: 0, tcp: 0, ws: 0 },
        core: { tcp: 0 },
        scscf: scscf.uri("TCP"),
        audit,
        timers,
        // one UE pair carries the load of many UEs here (~200 requests/s from alice's flow at 60 calls/s)
        rateLimit: { rate: 5000, burst: 10_000 },
      });
      started.push(p);
      await p.start();
      return p;
    };
    const a = await mk("pcscf-a");
    const b = await mk("pcscf-b");
    const ue = async (user: string, p: Pcscf) => {
      const u = new ImsUe({
        aor: `sip:${user}@${DOMAIN}`,
        transport,
        outboundProxy: p.uri("access", transport),
        timers,
        audit,
        dc: { channels: [CHANNEL], timeouts: DC_TIMEOUTS },
        // --concurrency bounds the calls in flight, not the UE's own limit (default 16)
        maxCalls: 10_000,
      });
      started.push(u);
      await u.start();
      await u.register();
      return u;
    };
    const alice = await ue("alice", a);
    const bob = await ue("bob", b);
    const incoming = new Map<string, UeCall>();
    bob.on("incoming", (c) => incoming.set(c.sip.callId, c));
    return {
      scscf,
      a,
      b,
      alice,
      bob,
      incoming,
      async close() {
        for (const s of started.reverse()) await s.close().catch(() => undefined);
      },
    };
  } catch (e) {
    for (const s of started.reverse()) await s.close().catch(() => undefined);
    throw e;
  }
}

/** One call: INVITE, both verdicts verified and channel 1000 open both sides, one message each way, BYE. */
export async function oneCall(net: Net, n: number, timeoutMs: number): Promise<{ setupMs: number; callMs: number }> {
  const t0 = performance.now();
  const end = t0 + timeoutMs;
  const left = () => Math.max(1, end - performance.now());
  let call: UeCall | undefined;
  let bcall: UeCall | undefined;
  try {
    call = await deadline(net.alice.call(`sip:bob@${DOMAIN}`), left(), soakTimeout("INVITE to 200/ACK"));
    const callId = call.sip.callId;
    for (let i = 0; i < 200 && !net.incoming.has(callId); i++) await sleep(5);
    bcall = net.incoming.get(callId);
    if (!bcall) throw new SoakStepError("no incoming call at bob", "E_SOAK_NO_INCOMING");
    await deadline(Promise.all([call.dc.connected(), bcall.dc.connected()]), left(), soakTimeout("ICE + DTLS + SCTP"));
    // RFC 8122 §6: both peers verified against the signalled fingerprints
    if (call.dc.verdict?.verified !== true || bcall.dc.verdict?.verified !== true)
      throw new SoakStepError("a DTLS verdict is not verified", "E_SOAK_NOT_VERIFIED");
    const ca = call.dc.channel(CHANNEL.id);
    const cb = bcall.dc.channel(CHANNEL.id);
    if (!ca || !cb) throw new SoakStepError("channel 1000 missing", "E_SOAK_NO_CHANNEL");
    await Promise.all([waitOpen(ca, left()), waitOpen(cb, left())]);
    const setupMs = performance.now() - t0;
    const toB = nextMessage(cb, left());
    ca.send(`ping ${n}`);
    if ((await toB) !== `ping ${n}`) throw new SoakStepError("A→B message mismatch", "E_SOAK_MESSAGE");
    const toA = nextMessage(ca, left());
    cb.send(`pong ${n}`);
    if ((await toA) !== `pong ${n}`) throw new SoakStepError("B→A message mismatch", "E_SOAK_MESSAGE");
    await deadline(call.hangup(), left(), soakTimeout("BYE"));
    await deadline(bcall.sip.terminated(), left(), soakTimeout("release at bob"));
    return { setupMs, callMs: performance.now() - t0 };
  } catch (e) {
    // leave nothing behind: a failed call is released like a good one
    await call?.hangup().catch(() => undefined);
    await bcall?.hangup().catch(() => undefined);
    throw e;
  } finally {
    if (call) net.incoming.delete(call.sip.callId);
  }
}

async function runCalls(
  net: Net,
  count: number,
  o: SoakOptions,
  deadline: number,
  stats: { setup: number[]; call: number[]; ok: number; failures: Map<string, number>; done: number },
  phase: SoakPhase,
): Promise<void> {
  let next = 0;
  const t0 = performance.now();
  const worker = async () => {
    while (next < count && performance.now() < deadline) {
      const n = next++;
      try {
        const r = await oneCall(net, n, o.callTimeoutMs);
        stats.setup.push(r.setupMs);
        stats.call.push(r.callMs);
        stats.ok++;
      } catch (e) {
        const code = codeOf(e);
        stats.failures.set(code, (stats.failures.get(code) ?? 0) + 1);
      }
      stats.done++;
      o.onStep?.(phase, stats.done);
      const every = o.progressEvery ?? 1000;
      if (o.onProgress && stats.done % every === 0) {
        const s = (performance.now() - t0) / 1000;
        o.onProgress({
          done: stats.done,
          ok: stats.ok,
          failed: stats.done - stats.ok,
          elapsedS: Math.round(s),
          callsPerSec: Math.round((stats.done / s) * 10) / 10,
        });
      }
    }
  };
  await Promise.all(Array.from({ length: Math.max(1, o.concurrency) }, worker));
}

const pct = (a: number, b: number) => (a === 0 ? (b === 0 ? 0 : 100) : Math.round(((b - a) / a) * 1000) / 10);

/** Runs the soak; never throws for a failed call (they are counted), only for a network that does not start. */
export async function runSoak(o: SoakOptions): Promise<SoakResult> {
  const start = performance.now();
  const deadline = start + o.maxSeconds * 1000;
  const timers = o.timers ?? TIMERS;
  o.onStep?.("starting", 0);
  const net = await startNet(o.transport, timers);
  const drainMs = 64 * timers.T1 + 1000;
  try {
    const warm = { setup: [], call: [], ok: 0, failures: new Map<string, number>(), done: 0 };
    const { onProgress: _quiet, ...warmOpts } = o;
    await runCalls(net, o.warmup, warmOpts, deadline, warm, "warm-up");
    o.onStep?.("quiet state", warm.done);
    const before = await quietResources(drainMs);
    const stats = { setup: [] as number[], call: [] as number[], ok: 0, failures: new Map<string, number>(), done: 0 };
    const t0 = performance.now();
    await runCalls(net, o.calls, o, deadline, stats, "calls");
    const seconds = (performance.now() - t0) / 1000;
    o.onStep?.("quiet state", stats.done);
    const after = await quietResources(drainMs);
    const setup = [...stats.setup].sort((x, y) => x - y);
    const callMs = [...stats.call].sort((x, y) => x - y);
    return {
      calls: stats.done,
      ok: stats.ok,
      failed: stats.done - stats.ok,
      failures: Object.fromEntries(stats.failures),
      seconds: Math.round(seconds * 10) / 10,
      callsPerSec: Math.round((stats.done / seconds) * 10) / 10,
      setupMs: {
        p50: percentile(setup, 50),
        p90: percentile(setup, 90),
        p99: percentile(setup, 99),
        max: percentile(setup, 100),
      },
      callMs: { p50: percentile(callMs, 50), p99: percentile(callMs, 99) },
      before,
      after,
      leakedAfterClose: {},
      heapDeltaPct: pct(before.heapUsedMB, after.heapUsedMB),
      heapDataDeltaPct: pct(before.heapDataMB, after.heapDataMB),
      handlesDeltaPct: pct(before.handles, after.handles),
      socketsDeltaPct: pct(before.sockets, after.sockets),
      completed: stats.done >= o.calls,
    };
  } finally {
    o.onStep?.("closing", 0);
    await net.close();
  }
}

/** Runs a soak, then checks that closing the network freed every handle it opened (against the process before). */
export async function soakWithCloseCheck(o: SoakOptions): Promise<SoakResult> {
  const before = new Map(Object.entries(resources().handlesByType));
  const r = await runSoak(o);
  const t0 = Date.now();
  let leaked: Record<string, number> = {};
  for (;;) {
    leaked = {};
    for (const [k, v] of Object.entries(resources().handlesByType)) {
      const d = v - (before.get(k) ?? 0);
      if (d > 0 && k !== "TTYWrap" && k !== "FSReqCallback") leaked[k] = d;
    }
    if (Object.keys(leaked).length === 0 || Date.now() - t0 > 5000) break;
    await sleep(50);
  }
  return { ...r, leakedAfterClose: leaked };
}
