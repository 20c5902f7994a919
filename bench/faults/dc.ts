/**
 * Data channel faults of the UE (issue 8 item 3, UE part) and the UE call limit (item 4), measured through a real
 * IMS core on 127.0.0.1: S-CSCF + P-CSCF(A) + P-CSCF(B) and UE A ("alice") in this process, UE B run as a child
 * process (`node bin/imsdc.mjs ue --config …`), so that "the peer vanishes" is a real SIGSTOP / SIGKILL.
 *
 * - dc-vanish-mid-handshake: B is stopped the moment A's ICE connection is up; A's DTLS handshake cannot complete
 *   (A is the DTLS server and needs B's flight 5) → E_DTLS_TIMEOUT after timeouts.dtlsMs, A's media freed at once,
 *   BYE sent, A's call ends when the BYE times out (RFC 3261 §17.1.2.2 Timer F, 64·T1).
 * - dc-vanish-mid-call: channel open, one message each way, B killed → RFC 7675 consent expires after
 *   timeouts.consentMs → E_CONSENT_EXPIRED, media freed, BYE sent, call ended by Timer F.
 * - dc-orderly-close (test only): B stops normally (SIGTERM → BYE, then SCTP ABORT + DTLS close_notify) → no failure.
 * - ue-busy: a UE with maxCalls 1 gets more INVITEs → 486 Busy Here (RFC 3261 §21.4.24), nothing allocated.
 *
 * Every wait is bounded; every node, socket and child process is closed before a scenario returns.
 * `npx tsx -e 'import("./bench/faults/dc.ts").then(async (m) => console.log(await m.scenarios["dc-vanish-mid-call"]()))'`
 */
import { type ChildProcess, spawn } from "node:child_process";
import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { dirname, join } from "node:path";
import { createInterface } from "node:readline";
import { fileURLToPath } from "node:url";
import { Pcscf } from "../../src/ims/pcscf/index.ts";
import { Scscf } from "../../src/ims/scscf/index.ts";
import { AuditLog } from "../../src/log.ts";
import type { TerminatedInfo } from "../../src/sip/index.ts";
import { type DcTimeouts, type EndpointState, ImsUe, type UeCall, type UeError } from "../../src/ue/index.ts";
import type { FaultResult, FaultScenario } from "./types.ts";
import { sleep, waitUntil, within } from "./util.ts";

export { waitUntil, within };

export const DOMAIN = "ims.example.com";
/** timers of the core and of B (test/ims/e2e-helpers.ts) */
export const TIMERS = { T1: 100, T2: 400, T4: 500, D: 500 };
/** A's timers: its BYE to a vanished peer ends after 64·T1 = 3.2 s (RFC 3261 §17.1.2.2 Timer F → 408) */
export const ALICE_TIMERS = { T1: 50, T2: 400, T4: 500, D: 500 };
/** A's data channel timeouts: DTLS 2 s; consent 3 s (RFC 7675: a check every 500 ms) */
export const ALICE_DC_TIMEOUTS: DcTimeouts = {
  gatherMs: 5000,
  iceMs: 5000,
  dtlsMs: 2000,
  sctpMs: 5000,
  consentMs: 3000,
};
export const CHANNEL = { id: 1000, label: "chat", subprotocol: "msrp" };
const ROOT = join(dirname(fileURLToPath(import.meta.url)), "..", "..");

/** UDP sockets open in this process (process.getActiveResourcesInfo(): one UDPWrap per bound dgram socket). */
export function udpSockets(): number {
  return process.getActiveResourcesInfo().filter((r) => r === "UDPWrap").length;
}

// ---------------------------------------------------------------------------------------------------------------------
// the rig: core + A in this process

export interface DcRig {
  scscf: Scscf;
  pcscfA: Pcscf;
  pcscfB: Pcscf;
  audit: AuditLog;
  alice: ImsUe;
  /** BYE requests of a call the S-CSCF received (every in-dialog request crosses it: it record-routes) */
  byes(callId: string): number;
  /** A UE in this process, registered through P-CSCF(B). */
  inProcessUe(user: string, extra?: Partial<ConstructorParameters<typeof ImsUe>[0]>): Promise<ImsUe>;
  close(): Promise<void>;
}

export async function startDcRig(o: { dc?: Partial<DcTimeouts> } = {}): Promise<DcRig> {
  const audit = new AuditLog({ max: 1000 });
  const closers: (() => Promise<void>)[] = [];
  const closeAll = async () => {
    for (const c of closers.splice(0).reverse()) await c().catch(() => {});
  };
  try {
    const scscf = new Scscf({
      udp: 0,
      tcp: 0,
      domains: [DOMAIN],
      timers: TIMERS,
      auth: false,
      trustedPcscfs: ["127.0.0.1"],
    });
    await scscf.start();
    closers.push(() => scscf.close());
    const byes = new Map<string, number>();
    scscf.on("request", (req) => {
      if (req.method === "BYE") byes.set(req.callId(), (byes.get(req.callId()) ?? 0) + 1);
    });
    const mk = async (name: string) => {
      const p = new Pcscf({
        name,
        access: { udp: 0, tcp: 0 },
        core: { tcp: 0 },
        scscf: scscf.uri("TCP"),
        audit,
        timers: TIMERS,
      });
      await p.start();
      closers.push(() => p.close());
      return p;
    };
    const pcscfA = await mk("pcscf-a");
    const pcscfB = await mk("pcscf-b");
    const ue = async (user: string, pcscf: Pcscf, extra: Partial<ConstructorParameters<typeof ImsUe>[0]> = {}) => {
      const u = new ImsUe({
        aor: `sip:${user}@${DOMAIN}`,
        transport: "UDP",
        outboundProxy: pcscf.uri("access", "UDP"),
        timers: TIMERS,
        audit,
        ...extra,
      });
      await u.start();
      closers.push(() => u.close());
      await u.register();
      return u;
    };
    const alice = await ue("alice", pcscfA, {
      timers: ALICE_TIMERS,
      dc: { channels: [CHANNEL], timeouts: { ...ALICE_DC_TIMEOUTS, ...o.dc } },
    });
    return {
      scscf,
      pcscfA,
      pcscfB,
      audit,
      alice,
      byes: (callId) => byes.get(callId) ?? 0,
      inProcessUe: (user, extra) => ue(user, pcscfB, extra),
      close: closeAll,
    };
  } catch (e) {
    await closeAll();
    throw e;
  }
}

// ---------------------------------------------------------------------------------------------------------------------
// B: `imsdc ue` as a child process

export interface UeProcess {
  aor: string;
  pid: number;
  child: ChildProcess;
  /** the child's last stderr / stdout lines (diagnostics) */
  output: string[];
  exited: Promise<number | null>;
  signal(sig: NodeJS.Signals): void;
  /** SIGKILL if still running; removes its config. Idempotent. */
  close(): Promise<void>;
}

/** Starts `imsdc ue` registered through P-CSCF(B); resolves on its ready line (bounded by `timeoutMs`). */
export async function spawnUe(rig: DcRig, user: string, timeoutMs = 20_000): Promise<UeProcess> {
  const dir = mkdtempSync(join(tmpdir(), "imsdc-fault-"));
  const cfg = join(dir, `${user}.json`);
  const aor = `sip:${user}@${DOMAIN}`;
  writeFileSync(
    cfg,
    JSON.stringify({
      aor,
      transport: "UDP",
      outboundProxy: rig.pcscfB.uri("access", "UDP"),
      autoAnswer: true,
      echoPrefix: "echo: ",
      timers: TIMERS,
      dc: { channels: [CHANNEL] },
    }),
  );
  const child = spawn(
    process.execPath,
    [join(ROOT, "bin/imsdc.mjs"), "ue", "--config", cfg, "--json", "--log-level", "warn"],
    { cwd: ROOT, stdio: ["ignore", "pipe", "pipe"] },
  );
  const output: string[] = [];
  const keep = (line: string) => {
    output.push(line);
    if (output.length > 50) output.shift();
  };
  let exitCode: number | null | undefined;
  const exited = new Promise<number | null>((r) =>
    child.once("exit", (code) => {
      exitCode = code;
      r(code);
    }),
  );
  createInterface({ input: child.stderr }).on("line", keep);
  const stdout = createInterface({ input: child.stdout });
  const ready = new Promise<void>((resolve, reject) => {
    stdout.on("line", (line) => {
      keep(line);
      try {
        if ((JSON.parse(line) as { event?: string }).event === "ready") resolve();
      } catch {
        // a log line that is not JSON
      }
    });
    void exited.then((code) =>
      reject(new Error(`imsdc ue ${user} exited (${code}) before ready: ${output.join("\n")}`)),
    );
  });
  let closed = false;
  const proc: UeProcess = {
    aor,
    pid: child.pid ?? -1,
    child,
    output,
    exited,
    signal: (sig) => {
      if (exitCode === undefined) child.kill(sig);
    },
    close: async () => {
      if (closed) return;
      closed = true;
      if (exitCode === undefined) child.kill("SIGKILL");
      await within(exited, 5000);
      rmSync(dir, { recursive: true, force: true });
    },
  };
  const ok = await within(
    ready.then(() => true),
    timeoutMs,
  );
  if (!ok) {
    await proc.close();
    throw new Error(`imsdc ue ${user} not ready within ${timeoutMs} ms: ${output.join("\n")}`);
  }
  return proc;
}

// ---------------------------------------------------------------------------------------------------------------------
// the faults

export interface DcFaultOutcome {
  /** the failure A's data channel reported (undefined: none within the bound) */
  failure?: { code: string; message: string } | undefined;
  /** every failure A's data channel reported (one expected) */
  failures: number;
  /** fault (SIGSTOP / SIGKILL / SIGTERM) → A's failure event, ms */
  detectMs?: number | undefined;
  /** fault → A's DcEndpoint closed and A's UDP sockets back to the count before the call, ms */
  releaseMs?: number | undefined;
  /** fault → A's SIP call terminated, ms */
  sipEndMs?: number | undefined;
  /** how A's SIP call ended */
  sipEnd?: TerminatedInfo | undefined;
  /** BYE requests of the call that crossed the S-CSCF */
  byes: number;
  /** A's DcEndpoint state at the end */
  endpointState: EndpointState;
  /** A's UDP sockets before the call, during it (fault time) and after the release */
  sockets: { before: number; during: number; after: number };
  /** one message each way went through before the fault (mid-call / orderly) */
  messagesExchanged?: boolean;
}

interface Watch {
  call: UeCall;
  failures: UeError[];
  failedAt?: number;
  iceConnected: Promise<void>;
}

/** Follows A's next call: its DcEndpoint's failures and the moment its ICE connection is up. */
function watchNextCall(alice: ImsUe, onIceConnected?: () => void): Promise<Watch> {
  return new Promise((resolve) => {
    alice.once("call", (call) => {
      const w: Watch = {
        call,
        failures: [],
        iceConnected: new Promise((r) => {
          const on = (s: string) => {
            if (s !== "connected") return;
            call.dc.off("ice", on);
            onIceConnected?.();
            r();
          };
          call.dc.on("ice", on);
        }),
      };
      call.dc.on("failure", (e) => {
        w.failures.push(e);
        w.failedAt ??= performance.now();
      });
      resolve(w);
    });
  });
}

/** Waits for A's release after a fault at `faultAt`; fills the common outcome fields. */
async function release(rig: DcRig, w: Watch, faultAt: number, before: number, during: number, boundMs: number) {
  const failed = await waitUntil(() => w.failures.length > 0, boundMs);
  const detectMs = failed && w.failedAt !== undefined ? w.failedAt - faultAt : undefined;
  // media first (at once on failure), then the SIP session (BYE, 408 when nobody answers: Timer F = 64·T1)
  const freed = await waitUntil(() => w.call.dc.state === "closed" && udpSockets() <= before, boundMs);
  const releaseMs = freed ? performance.now() - faultAt : undefined;
  const sipEnd = await within(w.call.sip.terminated(), 64 * ALICE_TIMERS.T1 + 3000);
  const sipEndMs = sipEnd ? performance.now() - faultAt : undefined;
  // the socket count after everything settled (also catches a late leak)
  await waitUntil(() => udpSockets() <= before, 2000);
  const f = w.failures[0];
  const out: DcFaultOutcome = {
    failure: f ? { code: f.code, message: f.message } : undefined,
    failures: w.failures.length,
    detectMs: detectMs !== undefined ? Math.round(detectMs) : undefined,
    releaseMs: releaseMs !== undefined ? Math.round(releaseMs) : undefined,
    sipEndMs: sipEndMs !== undefined ? Math.round(sipEndMs) : undefined,
    sipEnd,
    byes: rig.byes(w.call.sip.callId),
    endpointState: w.call.dc.state,
    sockets: { before, during, after: udpSockets() },
  };
  return out;
}

/** B is stopped (SIGSTOP) when A's ICE connects: A's DTLS handshake times out (E_DTLS_TIMEOUT). */
export async function vanishMidHandshake(rig: DcRig, bob: UeProcess): Promise<DcFaultOutcome> {
  const before = udpSockets();
  let faultAt = 0;
  let during = 0;
  const watching = watchNextCall(rig.alice, () => {
    // the fault, at the first moment B could still complete the handshake: it needs to answer after this point
    bob.signal("SIGSTOP");
    faultAt = performance.now();
    during = udpSockets();
  });
  const calling = rig.alice.call(bob.aor).catch(() => undefined);
  const w = await watching;
  await calling;
  const up = await within(
    w.iceConnected.then(() => true),
    ALICE_DC_TIMEOUTS.iceMs + 2000,
  );
  if (!up) throw new Error("A's ICE never connected: the fault could not be injected");
  const dtlsMs = ALICE_DC_TIMEOUTS.dtlsMs;
  return release(rig, w, faultAt, before, during, dtlsMs + 5000);
}

/** Sets up a call and sends one message each way (A → B, B's echo → A). */
async function establish(rig: DcRig, bob: UeProcess): Promise<{ w: Watch; exchanged: boolean }> {
  const watching = watchNextCall(rig.alice);
  const call = await rig.alice.call(bob.aor);
  const w = await watching;
  if (w.call !== call) throw new Error("unexpected call");
  await within(call.dc.connected(), 10_000);
  const ch = call.dc.channel(CHANNEL.id);
  if (!ch) return { w, exchanged: false };
  if (ch.readyState !== "open") await within(new Promise<void>((r) => ch.once("open", () => r())), 5000);
  const echoed = new Promise<boolean>((r) => {
    ch.on("message", (m) => {
      if ((typeof m === "string" ? m : m.toString("utf8")) === "echo: hello") r(true);
    });
  });
  ch.send("hello");
  const exchanged = (await within(echoed, 5000)) === true;
  return { w, exchanged };
}

/** Channel open, one message each way, then B is killed (SIGKILL): consent expires (E_CONSENT_EXPIRED). */
export async function vanishMidCall(rig: DcRig, bob: UeProcess): Promise<DcFaultOutcome> {
  const before = udpSockets();
  const { w, exchanged } = await establish(rig, bob);
  const during = udpSockets();
  bob.signal("SIGKILL");
  const faultAt = performance.now();
  const consentMs = ALICE_DC_TIMEOUTS.consentMs;
  const out = await release(rig, w, faultAt, before, during, consentMs + 5000);
  return { ...out, messagesExchanged: exchanged };
}

/** Channel open, one message each way, then B stops normally (SIGTERM: BYE, then its media closes). */
export async function orderlyClose(rig: DcRig, bob: UeProcess): Promise<DcFaultOutcome> {
  const before = udpSockets();
  const { w, exchanged } = await establish(rig, bob);
  const during = udpSockets();
  bob.signal("SIGTERM");
  const faultAt = performance.now();
  const freed = await waitUntil(() => w.call.dc.state === "closed" && udpSockets() <= before, 10_000);
  const releaseMs = freed ? Math.round(performance.now() - faultAt) : undefined;
  const sipEnd = await within(w.call.sip.terminated(), 10_000);
  await within(bob.exited, 10_000);
  // a failure would come within the ABORT grace (1 s) or the consent expiry: give it that long
  await sleep(1200);
  const f = w.failures[0];
  return {
    failure: f ? { code: f.code, message: f.message } : undefined,
    failures: w.failures.length,
    releaseMs,
    sipEnd,
    byes: rig.byes(w.call.sip.callId),
    endpointState: w.call.dc.state,
    sockets: { before, during, after: udpSockets() },
    messagesExchanged: exchanged,
  };
}

export interface BusyOutcome {
  /** calls placed beyond the callee's maxCalls */
  extra: number;
  /** final statuses of those calls at the caller */
  statuses: number[];
  /** `refused` events (E_UE_BUSY) at the callee */
  refused: number;
  /** DcEndpoints the callee created (its `call` events) for all calls, the established one included */
  calleeEndpoints: number;
  /** the first call stayed up */
  firstEstablished: boolean;
  /** UDP sockets with the first call up, and after the refused ones ended */
  sockets: { withFirstCall: number; after: number };
}

/** A callee with maxCalls 1 holds one call; `extra` more INVITEs are each answered 486 Busy Here. */
export async function busyCallee(rig: DcRig, extra = 3): Promise<BusyOutcome> {
  const carol = await rig.inProcessUe("carol", { maxCalls: 1 });
  let refused = 0;
  let calleeEndpoints = 0;
  carol.on("refused", (r) => {
    if (r.code === "E_UE_BUSY" && r.status === 486) refused++;
  });
  carol.on("call", () => {
    calleeEndpoints++;
  });
  const first = await rig.alice.call(carol.opts.aor);
  await within(first.dc.connected(), 10_000);
  await waitUntil(() => carol.activeCalls === 1, 2000);
  const withFirstCall = udpSockets();
  const statuses: number[] = [];
  for (let i = 0; i < extra; i++) {
    const watching = watchNextCall(rig.alice);
    const status = await rig.alice.call(carol.opts.aor).then(
      () => 200,
      (e: unknown) => (e instanceof Error && "status" in e ? Number((e as { status: unknown }).status) : 0),
    );
    statuses.push(status);
    const w = await watching;
    await within(w.call.sip.terminated(), 5000);
  }
  await waitUntil(() => udpSockets() <= withFirstCall, 3000);
  const after = udpSockets();
  const firstEstablished = first.sip.state === "established";
  await first.hangup();
  return { extra, statuses, refused, calleeEndpoints, firstEstablished, sockets: { withFirstCall, after } };
}

// ---------------------------------------------------------------------------------------------------------------------
// scenarios (bench/faults.ts)

async function withRigAndBob<T>(user: string, run: (rig: DcRig, bob: UeProcess) => Promise<T>): Promise<T> {
  const rig = await startDcRig();
  try {
    const bob = await spawnUe(rig, user);
    try {
      return await run(rig, bob);
    } finally {
      await bob.close();
    }
  } finally {
    await rig.close();
  }
}

function fault(scenario: string, code: string, o: DcFaultOutcome): FaultResult {
  const freed = o.sockets.after <= o.sockets.before && o.endpointState === "closed";
  const ok = o.failure?.code === code && o.failures === 1 && freed && o.byes >= 1 && o.sipEnd !== undefined;
  return {
    scenario,
    ok,
    ...(o.failure ? { code: o.failure.code } : {}),
    ...(o.detectMs !== undefined ? { detectMs: o.detectMs } : {}),
    ...(o.releaseMs !== undefined ? { releaseMs: o.releaseMs } : {}),
    before: { udpSockets: o.sockets.before },
    after: { udpSockets: o.sockets.after, byes: o.byes },
    detail:
      `${o.failure?.code ?? "no failure"}; UDP sockets ${o.sockets.before} → ${o.sockets.during} in the call → ` +
      `${o.sockets.after}; media freed ${o.releaseMs ?? "never"} ms after the fault, ` +
      `BYE ×${o.byes}, SIP call ended ${o.sipEndMs ?? "never"} ms after it (${o.sipEnd?.reason ?? "-"} ` +
      `${o.sipEnd?.status ?? ""}); DTLS ${ALICE_DC_TIMEOUTS.dtlsMs} ms, consent ${ALICE_DC_TIMEOUTS.consentMs} ms, ` +
      `Timer F ${64 * ALICE_TIMERS.T1} ms`,
  };
}

export const scenarios: Record<string, FaultScenario> = {
  "dc-vanish-mid-handshake": () =>
    withRigAndBob("bob-hs", async (rig, bob) =>
      fault("dc-vanish-mid-handshake", "E_DTLS_TIMEOUT", await vanishMidHandshake(rig, bob)),
    ),
  "dc-vanish-mid-call": () =>
    withRigAndBob("bob-call", async (rig, bob) =>
      fault("dc-vanish-mid-call", "E_CONSENT_EXPIRED", await vanishMidCall(rig, bob)),
    ),
  "ue-busy": async () => {
    const rig = await startDcRig();
    try {
      const o = await busyCallee(rig, 3);
      const busy = o.statuses.filter((s) => s === 486).length;
      const ok =
        busy === o.extra &&
        o.refused === o.extra &&
        o.calleeEndpoints === 1 &&
        o.firstEstablished &&
        o.sockets.after <= o.sockets.withFirstCall;
      return {
        scenario: "ue-busy",
        ok,
        code: "E_UE_BUSY",
        before: { udpSockets: o.sockets.withFirstCall },
        after: { udpSockets: o.sockets.after, busy486: busy, refused: o.refused, calleeEndpoints: o.calleeEndpoints },
        detail: `callee maxCalls 1: ${busy}/${o.extra} extra INVITEs answered 486 (statuses ${o.statuses.join(",")}), ${o.calleeEndpoints} DcEndpoint created, first call ${o.firstEstablished ? "kept" : "lost"}`,
      };
    } finally {
      await rig.close();
    }
  },
};
