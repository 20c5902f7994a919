/**
 * SIP transport faults (issue 8 item 3, SIP part), on 127.0.0.1:
 *
 * - pcscf-restart-ws / pcscf-restart-tcp: S-CSCF + P-CSCF + two ImsUe (alice, bob) registered over WS / TCP; the
 *   P-CSCF is closed and, 500 ms later, a new one started on the same ports. Both UEs detect the flow failure (their connection
 *   closed, RFC 5626 §4.4), re-REGISTER at once and then with the RFC 5626 §4.5 back-off (base 1 s, max 8 s here; the
 *   RFC's defaults are 30 s / 1800 s), then alice calls bob with a data channel and one message goes through.
 * - tcp-slowloris / ws-slowloris: connections that never send, stall in the middle of a message, or trickle one byte
 *   every 500 ms, against a SIP transport layer with messageTimeoutMs 2 s (the default is 10 s); a well-behaved
 *   client is served meanwhile. Baseline in the same run: the same attack with the read deadline off (held until the
 *   idle timeout).
 * - tcp-half-close: a client sends a request and half-closes (FIN); the server answers 200 ms later on the
 *   half-closed connection (RFC 3261 §18.2.2), then closes it.
 *
 * Every wait is bounded; every node and socket is closed before a scenario returns.
 * `npx tsx -e 'import("./bench/faults/sip.ts").then(async (m) => console.log(await m.scenarios["tcp-slowloris"]()))'`
 */
import { connect, type Socket } from "node:net";
import { performance } from "node:perf_hooks";
import WebSocket from "ws";
import { Pcscf } from "../../src/ims/pcscf/index.ts";
import { Scscf } from "../../src/ims/scscf/index.ts";
import { AuditLog } from "../../src/log.ts";
import {
  createRequest,
  generateBranch,
  generateCallId,
  generateTag,
  type SipResponse,
  SipTransportLayer,
  type SipTransportProtocol,
  TransactionManager,
  type TransportLimits,
} from "../../src/sip/index.ts";
import { ImsUe, type UeCall } from "../../src/ue/index.ts";
import type { FaultResult, FaultScenario } from "./types.ts";
import { sleep, waitUntil, within } from "./util.ts";

const DOMAIN = "ims.example.com";
const TIMERS = { T1: 100, T2: 400, T4: 500, D: 500 };
const CHANNEL = { id: 1000, label: "chat", subprotocol: "msrp" };
/** the UEs' flow recovery in the restart scenarios (RFC 5626 §4.5 back-off, lab values) */
export const RESTART_RECOVERY = { baseMs: 1000, maxMs: 8000 };
/** how long the P-CSCF is down between its close and the new instance's start (a process restart) */
export const RESTART_GAP_MS = 500;

const now = () => performance.now();
const round = (ms: number) => Math.round(ms * 10) / 10;

// ---------------------------------------------------------------------------------------------------------------------
// P-CSCF restart

function pcscfOptions(scscf: Scscf, audit: AuditLog, ports: { udp: number; tcp: number; ws: number; core: number }) {
  return {
    name: "pcscf-a",
    access: { udp: ports.udp, tcp: ports.tcp, ws: ports.ws },
    core: { tcp: ports.core },
    scscf: scscf.uri("TCP"),
    audit,
    timers: TIMERS,
  };
}

async function pcscfRestart(transport: SipTransportProtocol): Promise<FaultResult> {
  const scenario = `pcscf-restart-${transport.toLowerCase()}`;
  const audit = new AuditLog({ max: 1000 });
  const closers: (() => Promise<void>)[] = [];
  try {
    const scscf = new Scscf({ tcp: 0, domains: [DOMAIN], timers: TIMERS, auth: false, trustedPcscfs: ["127.0.0.1"] });
    closers.push(() => scscf.close());
    await scscf.start();
    let pcscf = new Pcscf(pcscfOptions(scscf, audit, { udp: 0, tcp: 0, ws: 0, core: 0 }));
    closers.push(() => pcscf.close());
    await pcscf.start();
    const port = (side: "access" | "core", p: SipTransportProtocol) => pcscf.address(side, p)?.port ?? 0;
    const ports = { udp: port("access", "UDP"), tcp: port("access", "TCP"), ws: port("access", "WS") };
    const corePort = port("core", "TCP");
    const ue = async (user: string) => {
      const u = new ImsUe({
        aor: `sip:${user}@${DOMAIN}`,
        transport,
        outboundProxy: pcscf.uri("access", transport),
        timers: TIMERS,
        audit,
        dc: { channels: [CHANNEL] },
        flowRecovery: RESTART_RECOVERY,
      });
      closers.push(() => u.close());
      await u.start();
      await u.register();
      return u;
    };
    const alice = await ue("alice");
    const bob = await ue("bob");
    await sleep(RESTART_RECOVERY.baseMs + 50); // registered for longer than base-time: the first attempt is at once
    const before = {
      registered: 2,
      accessConnections: pcscf.access.layer.transport(transport)?.connectionCount() ?? 0,
    };
    const failedAt = new Map<string, number>();
    const registeredAt = new Map<string, number>();
    let attempts = 0;
    for (const [name, u] of [
      ["alice", alice],
      ["bob", bob],
    ] as const) {
      u.ua.on("flowFailed", () => failedAt.set(name, now()));
      u.ua.on("registered", () => registeredAt.set(name, now()));
      u.ua.on("registrationFailed", () => attempts++);
    }

    const t0 = now();
    await pcscf.close();
    await sleep(RESTART_GAP_MS);
    pcscf = new Pcscf(pcscfOptions(scscf, audit, { ...ports, core: corePort }));
    await pcscf.start();
    const up = now();
    const detected = await waitUntil(() => failedAt.size === 2, 5000);
    const recovered = await waitUntil(() => registeredAt.size === 2, 20_000);
    const detectMs = detected ? Math.max(...failedAt.values()) - t0 : undefined;
    const reRegisterMs = recovered ? Math.max(...registeredAt.values()) - up : undefined;
    const recoverMs = recovered ? Math.max(...registeredAt.values()) - t0 : undefined;

    let callOk = false;
    if (recovered) {
      const incoming = new Promise<UeCall>((r) => bob.once("incoming", r));
      const call = await within(alice.call(`sip:bob@${DOMAIN}`), 8000);
      const bcall = await within(incoming, 8000);
      const ca = call?.dc.channel(1000);
      const cb = bcall?.dc.channel(1000);
      if (call && bcall && ca && cb) {
        const open = (ch: typeof ca) =>
          ch.readyState === "open" ? Promise.resolve() : new Promise<void>((r) => ch.once("open", () => r()));
        await within(Promise.all([open(ca), open(cb)]), 8000);
        const got = new Promise<string>((r) => cb.once("message", (m) => r(String(m))));
        if (ca.readyState === "open") ca.send("after the restart");
        callOk = (await within(got, 5000)) === "after the restart";
        await within(call.hangup(), 5000);
      }
    }
    const after = {
      registered: [alice, bob].filter((u) => u.ua.registered !== undefined).length,
      accessConnections: pcscf.access.layer.transport(transport)?.connectionCount() ?? 0,
      failedAttempts: attempts,
      ...(reRegisterMs !== undefined ? { reRegisterMsAfterUp: round(reRegisterMs) } : {}),
    };
    const ok = detected && recovered && callOk;
    return {
      scenario,
      ok,
      code: "E_SIP_FLOW_FAILED",
      ...(detectMs !== undefined ? { detectMs: round(detectMs) } : {}),
      ...(recoverMs !== undefined ? { recoverMs: round(recoverMs) } : {}),
      before,
      after,
      detail: ok
        ? `P-CSCF down ${RESTART_GAP_MS} ms; both ${transport} UEs saw the flow fail after ${round(detectMs ?? 0)} ms and re-registered ${round(reRegisterMs ?? 0)} ms after the new P-CSCF was up (${round(recoverMs ?? 0)} ms after the fault; ${attempts} refused attempt(s) meanwhile; back-off base ${RESTART_RECOVERY.baseMs} ms, max ${RESTART_RECOVERY.maxMs} ms); then a call with a data channel: ok`
        : `detected=${detected} recovered=${recovered} callOk=${callOk}`,
    };
  } finally {
    for (const c of closers.reverse()) await c().catch(() => undefined);
  }
}

// ---------------------------------------------------------------------------------------------------------------------
// slowloris

const te = new TextEncoder();

function rawOptions(callId: string, transport: "TCP" | "WS"): string {
  return (
    `OPTIONS sip:x@127.0.0.1 SIP/2.0\r\nVia: SIP/2.0/${transport} 127.0.0.1:9;branch=${generateBranch()}\r\n` +
    `Max-Forwards: 70\r\nFrom: <sip:a@example.com>;tag=${generateTag()}\r\nTo: <sip:x@example.com>\r\n` +
    `Call-ID: ${callId}\r\nCSeq: 1 OPTIONS\r\nContent-Length: 0\r\n\r\n`
  );
}

/** A SIP server (transport layer + transaction manager) answering every request with 200, after `delayMs`. */
async function sipServer(proto: "TCP" | "WS", limits: Partial<TransportLimits>, delayMs = 0) {
  const layer = new SipTransportLayer(proto === "TCP" ? { tcp: true, limits } : { ws: true, limits });
  await layer.start();
  const txm = new TransactionManager(layer, { timers: TIMERS });
  layer.onMessage((m, s) => txm.receive(m, s));
  txm.setUser({
    onRequest: (txn) => {
      const answer = () => {
        if (txn.state !== "terminated") txn.reply(200, undefined, { toTag: generateTag() });
      };
      if (delayMs > 0) setTimeout(answer, delayMs);
      else answer();
    },
  });
  const port = layer.address(proto)?.port ?? 0;
  const closes: number[] = [];
  layer.onConnectionClosed((i) => {
    if (i.reason === "message-timeout") closes.push(now());
  });
  return {
    layer,
    port,
    closes,
    count: () => layer.transport(proto)?.connectionCount() ?? 0,
    async close() {
      txm.close();
      await layer.close();
    },
  };
}

/** A well-behaved client: one OPTIONS round trip over a new TCP/WS connection of its own; true when 200 came back. */
async function legitRoundTrip(proto: "TCP" | "WS", port: number): Promise<boolean> {
  const layer = new SipTransportLayer(proto === "TCP" ? { tcp: true } : { ws: { listen: false } });
  await layer.start();
  const txm = new TransactionManager(layer, { timers: TIMERS });
  layer.onMessage((m, s) => txm.receive(m, s));
  try {
    const uri = `sip:x@127.0.0.1:${port}`;
    const req = createRequest({
      method: "OPTIONS",
      uri,
      from: `<sip:legit@example.com>;tag=${generateTag()}`,
      to: `<${uri}>`,
      callId: generateCallId(),
      cseq: 1,
    });
    const res = await within(
      new Promise<SipResponse>((resolve) =>
        txm.sendRequest(
          req,
          { transport: proto, host: "127.0.0.1", port },
          { onResponse: (r) => r.status >= 200 && resolve(r) },
        ),
      ),
      3000,
    );
    return res?.status === 200;
  } finally {
    txm.close();
    await layer.close();
  }
}

interface Attacker {
  closed: () => boolean;
  stop(): void;
}

function tcpAttacker(port: number, kind: "silent" | "partial" | "trickle", proto: "TCP" | "WS"): Promise<Attacker> {
  return new Promise((resolve, reject) => {
    let closed = false;
    let timer: ReturnType<typeof setInterval> | undefined;
    const s: Socket = connect({ host: "127.0.0.1", port }, () => {
      const msg = te.encode(rawOptions(generateCallId(), proto));
      if (kind === "partial") s.write(msg.subarray(0, 50));
      if (kind === "trickle") {
        let i = 0;
        timer = setInterval(() => {
          if (!s.destroyed && i < msg.length) s.write(msg.subarray(i, ++i));
        }, 500);
      }
      resolve({
        closed: () => closed,
        stop: () => {
          clearInterval(timer);
          s.destroy();
        },
      });
    });
    s.on("error", () => undefined);
    s.on("close", () => {
      closed = true;
      clearInterval(timer);
    });
    s.once("error", reject);
  });
}

/** A WebSocket attacker: upgraded and silent, or upgraded then half a frame; "silent-tcp" never upgrades. */
function wsAttacker(port: number, kind: "silent-tcp" | "silent" | "partial"): Promise<Attacker> {
  if (kind === "silent-tcp") return tcpAttacker(port, "silent", "WS");
  return new Promise((resolve, reject) => {
    let closed = false;
    const ws = new WebSocket(`ws://127.0.0.1:${port}/`, "sip");
    ws.on("error", () => undefined);
    ws.once("error", reject);
    ws.on("close", () => {
      closed = true;
    });
    ws.once("open", () => {
      if (kind === "partial") {
        // a masked text frame header announcing 100 bytes, and 10 of them (RFC 6455 §5.2)
        const sock = (ws as unknown as { _socket: Socket })._socket;
        sock.write(Buffer.from([0x81, 0x80 | 100, 1, 2, 3, 4, ...new Array(10).fill(0x41)]));
      }
      resolve({ closed: () => closed, stop: () => ws.terminate() });
    });
  });
}

/** The same attack against a server with and without the read deadline. */
async function slowloris(proto: "TCP" | "WS"): Promise<FaultResult> {
  const scenario = `${proto.toLowerCase()}-slowloris`;
  const deadline = 2000;
  const perKind = 20;
  const tcpKinds = ["silent", "partial", "trickle"] as const;
  const wsKinds = ["silent-tcp", "silent", "partial"] as const;
  const kinds: readonly string[] = proto === "TCP" ? tcpKinds : wsKinds;
  const attack = async (port: number) => {
    const out: Attacker[] = [];
    for (let i = 0; i < perKind; i++) {
      if (proto === "TCP") for (const k of tcpKinds) out.push(await tcpAttacker(port, k, "TCP"));
      else for (const k of wsKinds) out.push(await wsAttacker(port, k));
    }
    return out;
  };
  // baseline: no read deadline (10 min), the idle timeout far away: every attacker is still held after 2 × deadline
  const base = await sipServer(proto, { messageTimeoutMs: 600_000, idleTimeoutMs: 600_000 });
  let baselineHeld = 0;
  try {
    const a = await attack(base.port);
    await sleep(2 * deadline);
    baselineHeld = a.filter((x) => !x.closed()).length;
    for (const x of a) x.stop();
  } finally {
    await base.close();
  }

  const srv = await sipServer(proto, { messageTimeoutMs: deadline, idleTimeoutMs: 600_000 });
  const attackers: Attacker[] = [];
  try {
    const t0 = now();
    attackers.push(...(await attack(srv.port)));
    await waitUntil(() => srv.count() >= (proto === "TCP" ? attackers.length : 2 * perKind), 3000);
    const held = srv.count();
    const legit = await legitRoundTrip(proto, srv.port);
    const allClosed = await waitUntil(() => attackers.every((x) => x.closed()), 3 * deadline + 5000);
    const releaseMs = now() - t0;
    await waitUntil(() => srv.count() === 0, 2000);
    const after = srv.count();
    const first = srv.closes.length > 0 ? Math.min(...srv.closes) - t0 : undefined;
    const ok = allClosed && after === 0 && legit;
    return {
      scenario,
      ok,
      code: "E_SIP_MESSAGE_TIMEOUT",
      ...(first !== undefined ? { detectMs: round(first) } : {}),
      releaseMs: round(releaseMs),
      before: { attackers: attackers.length, held, baselineHeldAfter2xDeadline: baselineHeld },
      after: { connections: after, stillOpenAttackers: attackers.filter((x) => !x.closed()).length },
      detail: `${attackers.length} attackers (${kinds.join(" / ")}, ${perKind} each) vs messageTimeoutMs ${deadline}: all closed ${round(releaseMs)} ms after the attack began, 0 left; a legit OPTIONS during the attack ${legit ? "answered 200" : "FAILED"}; without the deadline ${baselineHeld}/${attackers.length} still held after ${2 * deadline} ms`,
    };
  } finally {
    for (const x of attackers) x.stop();
    await srv.close();
  }
}

// ---------------------------------------------------------------------------------------------------------------------
// half-close

async function tcpHalfClose(): Promise<FaultResult> {
  const answerDelay = 200;
  const srv = await sipServer("TCP", {}, answerDelay);
  const closedAt: number[] = [];
  srv.layer.onConnectionClosed(() => closedAt.push(now()));
  let sock: Socket | undefined;
  try {
    const s = await new Promise<Socket>((resolve, reject) => {
      const c = connect({ host: "127.0.0.1", port: srv.port, allowHalfOpen: true }, () => resolve(c));
      c.once("error", reject);
    });
    sock = s;
    const data: Buffer[] = [];
    let gotAt: number | undefined;
    let serverFinAt: number | undefined;
    s.on("data", (d) => {
      data.push(d);
      gotAt ??= now();
    });
    s.on("end", () => {
      serverFinAt = now();
    });
    s.on("error", () => undefined);
    s.write(rawOptions(generateCallId(), "TCP"));
    const before = { connections: 0 };
    await waitUntil(() => srv.count() === 1, 2000);
    before.connections = srv.count();
    const fin = now();
    s.end();
    await waitUntil(() => serverFinAt !== undefined && closedAt.length === 1 && srv.count() === 0, 5000);
    const text = Buffer.concat(data).toString();
    const answered = text.startsWith("SIP/2.0 200 ");
    const after = srv.count();
    const ok = answered && serverFinAt !== undefined && after === 0;
    // detection: the server's report of the FIN (onConnectionClosed, "peer-closed"); release: its own FIN
    const detectMs = closedAt[0] !== undefined ? closedAt[0] - fin : undefined;
    const releaseMs = serverFinAt !== undefined ? serverFinAt - fin : undefined;
    return {
      scenario: "tcp-half-close",
      ok,
      ...(detectMs !== undefined ? { detectMs: round(detectMs) } : {}),
      ...(releaseMs !== undefined ? { releaseMs: round(releaseMs) } : {}),
      before,
      after: { connections: after },
      detail: ok
        ? `request then FIN: the server saw the FIN after ${round(detectMs ?? 0)} ms, wrote the 200 ${answerDelay} ms after the request on the half-closed connection (RFC 3261 §18.2.2; it arrived ${round((gotAt ?? fin) - fin)} ms after the FIN), then closed its side ${round(releaseMs ?? 0)} ms after the FIN; 0 connections left`
        : `answered=${answered} serverFin=${serverFinAt !== undefined} connections=${after}`,
    };
  } finally {
    sock?.destroy();
    await srv.close();
  }
}

export const scenarios: Record<string, FaultScenario> = {
  "pcscf-restart-ws": () => pcscfRestart("WS"),
  "pcscf-restart-tcp": () => pcscfRestart("TCP"),
  "tcp-slowloris": () => slowloris("TCP"),
  "ws-slowloris": () => slowloris("WS"),
  "tcp-half-close": () => tcpHalfClose(),
};
