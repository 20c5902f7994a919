/**
 * IMS-AGW faults and limits (issue 8 items 3 and 4, AGW part), on real sockets on 127.0.0.1, the AGW in this process:
 *
 * - agw-failed-handshakes: 600 failed TLS handshakes (garbage, a wrong certificate, a peer vanishing mid-handshake)
 *   on 30 access terminations, after an identical warm-up round; every one reported (tlsSessionEstablishmentFailure),
 *   nothing relayed; heap, fds and handles after the warm-up round and after the measured one (GC'd).
 * - agw-establishment-timeout: nobody connects (immediate, delayed/drop, delayed/hold with a parked connection, a TLS
 *   leg stuck in its handshake) → tcpEstablishmentTimeout at establishmentMs; half-done legs freed at once.
 * - agw-half-close: the UE sends FIN; it reaches the core, the core still answers, the core never sends its FIN →
 *   the relay ends at halfCloseMs, both peers get a RST.
 * - agw-relay-reset: the core resets its connection mid-relay → the UE gets a RST, relayEnded "error" cause "reset".
 * - agw-alg-vanishes: the IMS-ALG's Iq WebSocket drops (no close handshake) with 20 contexts (10 relaying) → the
 *   contexts are released after orphanGraceMs (audit E_AGW_ORPHAN), every socket freed.
 * - agw-alg-silent: the IMS-ALG stops answering pings (half-open Iq connection) → dropped by the heartbeat, orphans
 *   released.
 * - agw-iq-restart: the AGW restarts under a connected IqWsClient → requests fail at once with E_AGW_IQ_UNAVAILABLE,
 *   the client reconnects with back-off when the AGW is back (resumed: false).
 * - agw-limit: maxContexts (E_AGW_LIMIT on the reservation) and maxHandshakes (E_AGW_HANDSHAKE_LIMIT on the
 *   connection), each refusal audited.
 *
 * Every wait is bounded and every AGW, server, client and socket is closed before a scenario returns.
 * `npx tsx -e 'import("./bench/faults/agw.ts").then(async (m) => console.log(await m.scenarios["agw-limit"]()))'`
 */
import { readdirSync } from "node:fs";
import net from "node:net";
import tls from "node:tls";
import v8 from "node:v8";
import vm from "node:vm";
import WebSocket from "ws";
import { ImsAgw, type ImsAgwOptions } from "../../src/ims/agw/agw.ts";
import type { IqEvent, IqEventName } from "../../src/ims/agw/iqEvents.ts";
import type { AgwConnectionPoint, IqAgw } from "../../src/ims/agw/iqTypes.ts";
import { type IqConnectionState, IqWsClient } from "../../src/ims/agw/wsClient.ts";
import { IQ_SESSION_HEADER } from "../../src/ims/agw/wsCodec.ts";
import { IqWsServer } from "../../src/ims/agw/wsServer.ts";
import { AuditLog } from "../../src/log.ts";
import { generateSessionCertificate, type SessionCertificate } from "../../src/security/certificate.ts";
import type { FaultResult, FaultScenario } from "./types.ts";
import { sleep, waitUntil } from "./util.ts";

const HOST = "127.0.0.1";

v8.setFlagsFromString("--expose-gc");
const gc = vm.runInNewContext("gc") as () => void;

function fds(): number {
  try {
    return readdirSync("/proc/self/fd").length;
  } catch {
    return -1;
  }
}

function handles(): number {
  return process.getActiveResourcesInfo().filter((r) => r !== "Timeout" && r !== "Immediate").length;
}

async function snapshot(): Promise<{ heapKiB: number; fds: number; handles: number }> {
  for (let i = 0; i < 3; i++) {
    gc();
    await sleep(20);
  }
  return { heapKiB: Math.round(process.memoryUsage().heapUsed / 1024), fds: fds(), handles: handles() };
}

function median(xs: number[]): number {
  if (xs.length === 0) return -1;
  const s = [...xs].sort((a, b) => a - b);
  return Math.round(s[Math.floor(s.length / 2)] ?? -1);
}

/** Records events with their arrival time. */
class Events {
  readonly list: { e: IqEvent; t: number }[] = [];
  private readonly off: () => void;
  constructor(iq: IqAgw) {
    this.off = iq.onEvent((e) => this.list.push({ e, t: performance.now() }));
  }
  of<N extends IqEventName>(name: N, terminationId?: string): { e: Extract<IqEvent, { event: N }>; t: number }[] {
    return this.list.filter(
      (x): x is { e: Extract<IqEvent, { event: N }>; t: number } =>
        x.e.event === name && (terminationId === undefined || x.e.terminationId === terminationId),
    );
  }
  stop(): void {
    this.off();
  }
}

/** A TCP peer on the core side that keeps every connection (allowHalfOpen, like a real MSRP/BFCP peer). */
async function corePeer(): Promise<{ port: number; sockets: net.Socket[]; close: () => Promise<void> }> {
  const sockets: net.Socket[] = [];
  const server = net.createServer({ allowHalfOpen: true }, (s) => {
    s.on("error", () => {});
    s.resume();
    sockets.push(s);
  });
  await new Promise<void>((r) => server.listen(0, HOST, () => r()));
  return {
    port: (server.address() as net.AddressInfo).port,
    sockets,
    close: async () => {
      for (const s of sockets) s.destroy();
      await new Promise<void>((r) => server.close(() => r()));
    },
  };
}

function connect(port: number): Promise<net.Socket> {
  return new Promise((resolve, reject) => {
    const s = net.connect({ host: HOST, port, allowHalfOpen: true });
    s.on("error", () => {});
    const t = setTimeout(() => {
      s.destroy();
      reject(new Error("connect timed out"));
    }, 3000);
    s.once("connect", () => {
      clearTimeout(t);
      resolve(s);
    });
    s.once("error", (e) => {
      clearTimeout(t);
      reject(e);
    });
  });
}

/** Resolves how a socket ended ("reset" for ECONNRESET/EPIPE), or "open" after `ms`. */
function ending(s: net.Socket, ms: number): Promise<{ how: "reset" | "error" | "end" | "open"; t: number }> {
  return new Promise((resolve) => {
    const timer = setTimeout(() => resolve({ how: "open", t: performance.now() }), ms);
    const done = (how: "reset" | "error" | "end") => {
      clearTimeout(timer);
      resolve({ how, t: performance.now() });
    };
    s.once("error", (e: NodeJS.ErrnoException) =>
      done(e.code === "ECONNRESET" || e.code === "EPIPE" ? "reset" : "error"),
    );
    s.once("end", () => done("end"));
    s.resume();
  });
}

function allZero(agw: ImsAgw): boolean {
  return Object.values(agw.resources()).every((v) => v === 0);
}

function resourcesOf(agw: ImsAgw): Record<string, number> {
  const r = agw.resources();
  return { ...r };
}

/** Originating e2ae context: core TCP toward `corePort`, access TLS expecting `ue`. */
async function e2ae(iq: IqAgw, corePort: number, ue: SessionCertificate) {
  const core = await iq.reserveAndConfigureAgwConnectionPoint({
    side: "core",
    transport: "TCP/MSRP",
    remote: { address: HOST, port: corePort, setup: "passive" },
  });
  const access = await iq.reserveAndConfigureAgwConnectionPoint({
    contextId: core.contextId,
    side: "access",
    transport: "TCP/TLS/MSRP",
    notifyTlsSessionEstablishmentFailureEvent: true,
    remote: { address: HOST, port: 9, setup: "active", certificateFingerprints: [ue.fingerprint] },
  });
  return { core, access };
}

/** Plain TCP relay: UE → access; the AGW connects to the core on interlinkage. */
async function tcpRelay(iq: IqAgw, ev: Events, corePort: number) {
  const core = await iq.reserveAndConfigureAgwConnectionPoint({
    side: "core",
    transport: "TCP/MSRP",
    remote: { address: HOST, port: corePort, setup: "passive" },
  });
  const access = await iq.reserveAgwConnectionPoint({
    contextId: core.contextId,
    side: "access",
    transport: "TCP/MSRP",
  });
  const ue = await connect(access.localPort);
  await waitUntil(() => ev.of("relayStarted", access.terminationId).length > 0, 3000);
  return { core, access, ue };
}

async function captureClientHello(): Promise<Buffer> {
  const srv = net.createServer();
  await new Promise<void>((r) => srv.listen(0, HOST, () => r()));
  const port = (srv.address() as net.AddressInfo).port;
  try {
    return await new Promise<Buffer>((resolve, reject) => {
      const t = setTimeout(() => reject(new Error("no ClientHello")), 3000);
      srv.once("connection", (s) => {
        s.once("data", (d: Buffer) => {
          clearTimeout(t);
          resolve(d);
          s.destroy();
        });
      });
      const c = tls.connect({ host: HOST, port, rejectUnauthorized: false });
      c.on("error", () => {});
    });
  } finally {
    await new Promise<void>((r) => srv.close(() => r()));
  }
}

/** One failed handshake of kind 0 (garbage), 1 (wrong certificate) or 2 (ClientHello, then vanish). */
async function failOnce(port: number, kind: number, attacker: SessionCertificate, hello: Buffer): Promise<void> {
  if (kind === 1) {
    const s = tls.connect({
      host: HOST,
      port,
      cert: attacker.certPem,
      key: attacker.keyPem,
      rejectUnauthorized: false,
    });
    s.on("error", () => {});
    await ending(s, 3000);
    s.destroy();
    return;
  }
  const s = await connect(port);
  if (kind === 0) {
    s.write("\x16\x03\x01\x00\x05not a TLS record");
    await ending(s, 3000);
  } else {
    s.write(hello);
    await sleep(2);
  }
  s.destroy();
}

// ---------------------------------------------------------------------------------------------------------------------

async function failedHandshakes(): Promise<FaultResult> {
  const scenario = "agw-failed-handshakes";
  const CONTEXTS = 30;
  const PER = 20;
  const core = await corePeer();
  const agw = new ImsAgw({ audit: new AuditLog({ max: 100 }), timers: { handshakeMs: 3000 } });
  const ev = new Events(agw);
  const ue = generateSessionCertificate();
  const attacker = generateSessionCertificate();
  const hello = await captureClientHello();
  try {
    const round = async (contexts: number, per: number) => {
      const points = await Promise.all(Array.from({ length: contexts }, () => e2ae(agw, core.port, ue)));
      const t0 = performance.now();
      const latencies: number[] = [];
      await Promise.all(
        points.map(async ({ access }, c) => {
          for (let i = 0; i < per; i++) {
            const start = performance.now();
            await failOnce(access.localPort, (c + i) % 3, attacker, hello);
            await waitUntil(() => ev.of("tlsSessionEstablishmentFailure", access.terminationId).length > i, 3000);
            const f = ev.of("tlsSessionEstablishmentFailure", access.terminationId)[i];
            if (f) latencies.push(f.t - start);
          }
        }),
      );
      const seconds = (performance.now() - t0) / 1000;
      for (const { access } of points) await agw.releaseAgwContext({ contextId: access.contextId });
      for (const s of core.sockets.splice(0)) s.destroy();
      return { latencies, seconds };
    };
    // Steady state: a first measured-size round warms the JIT and the allocator up; the figures compare the heap,
    // fds and handles after it with those after a second, identical round (a leak shows as growth per round).
    await round(CONTEXTS, PER);
    ev.list.length = 0;
    const before = await snapshot();
    const { latencies, seconds } = await round(CONTEXTS, PER);
    const failures = ev.of("tlsSessionEstablishmentFailure").length;
    const relayed = ev.of("relayStarted").length;
    const freed = allZero(agw);
    const reasons: Record<string, number> = {};
    for (const { e } of ev.of("tlsSessionEstablishmentFailure")) reasons[e.reason] = (reasons[e.reason] ?? 0) + 1;
    const detectMs = median(latencies);
    ev.list.length = 0; // the recorder's own copies are not the AGW's memory
    latencies.length = 0;
    await waitUntil(() => fds() <= before.fds, 3000);
    const after = await snapshot();
    const n = CONTEXTS * PER;
    return {
      scenario,
      ok: failures === n && relayed === 0 && freed && after.fds <= before.fds && after.handles <= before.handles,
      code: "tlsSessionEstablishmentFailure",
      detectMs,
      before,
      after: { ...after, heapDeltaKiB: after.heapKiB - before.heapKiB },
      detail:
        `${failures}/${n} failed handshakes reported (${Object.entries(reasons)
          .map(([k, v]) => `${k} ${v}`)
          .join(", ")}), ${relayed} relayed, ${Math.round(n / seconds)}/s; ` +
        `detectMs = median connect→event; AGW resources all zero after release: ${freed}`,
    };
  } finally {
    ev.stop();
    await agw.close();
    await core.close();
  }
}

async function establishmentTimeout(): Promise<FaultResult> {
  const scenario = "agw-establishment-timeout";
  const MS = 1000;
  const agw = new ImsAgw({ timers: { establishmentMs: MS, handshakeMs: 10_000, holdMs: 10_000 } });
  const ev = new Events(agw);
  const clients: net.Socket[] = [];
  try {
    const t0 = performance.now();
    const terms: [string, AgwConnectionPoint][] = [
      ["immediate", await agw.reserveAgwConnectionPoint({ side: "core", transport: "TCP" })],
      [
        "delayed/drop",
        await agw.reserveAgwConnectionPoint({
          side: "core",
          transport: "TCP",
          tcpEstablishment: { mode: "delayed", policy: "drop" },
        }),
      ],
      [
        "delayed/hold+parked",
        await agw.reserveAgwConnectionPoint({
          side: "core",
          transport: "TCP",
          tcpEstablishment: { mode: "delayed", policy: "hold" },
        }),
      ],
      ["tls+handshaking", await agw.reserveAgwConnectionPoint({ side: "access", transport: "TCP/TLS" })],
    ];
    const hold = terms[2]?.[1];
    const tlsTerm = terms[3]?.[1];
    if (hold) clients.push(await connect(hold.localPort));
    if (tlsTerm) clients.push(await connect(tlsTerm.localPort));
    await waitUntil(() => agw.resources().parked === 1 && agw.resources().handshakes === 1, 3000);
    const during = resourcesOf(agw);
    const ends = clients.map((c) => ending(c, MS + 3000));
    const fired = await waitUntil(
      () => terms.every(([, t]) => ev.of("tcpEstablishmentTimeout", t.terminationId).length === 1),
      MS + 3000,
    );
    const detect = terms.map(([, t]) => (ev.of("tcpEstablishmentTimeout", t.terminationId)[0]?.t ?? 0) - t0);
    const lastEvent = Math.max(...terms.map(([, t]) => ev.of("tcpEstablishmentTimeout", t.terminationId)[0]?.t ?? 0));
    await waitUntil(() => agw.resources().sockets === 0, 3000);
    const freedAt = performance.now();
    const clientEnds = await Promise.all(ends);
    const after = resourcesOf(agw);
    const ok =
      fired &&
      after.sockets === 0 &&
      after.listeners === 0 &&
      after.timers === 0 &&
      clientEnds.every((e) => e.how !== "open");
    for (const [, t] of terms) await agw.releaseAgwContext({ contextId: t.contextId });
    return {
      scenario,
      ok: ok && allZero(agw),
      code: "tcpEstablishmentTimeout",
      detectMs: Math.round(Math.max(...detect)),
      releaseMs: Math.round(freedAt - lastEvent),
      before: during,
      after,
      detail:
        `establishmentMs ${MS}: event after ${detect.map((d) => Math.round(d)).join("/")} ms ` +
        `(${terms.map(([k]) => k).join(", ")}); parked and handshaking peers closed (${clientEnds
          .map((e) => e.how)
          .join(", ")}); listeners, sockets and timers freed before the IMS-ALG's release`,
    };
  } finally {
    for (const c of clients) c.destroy();
    ev.stop();
    await agw.close();
  }
}

async function halfClose(): Promise<FaultResult> {
  const scenario = "agw-half-close";
  const HALF = 1000;
  const core = await corePeer();
  const agw = new ImsAgw({ halfCloseMs: HALF });
  const ev = new Events(agw);
  let ue: net.Socket | undefined;
  try {
    const r = await tcpRelay(agw, ev, core.port);
    ue = r.ue;
    const coreSocket = core.sockets[0];
    if (!coreSocket) throw new Error("no core connection");
    const before = resourcesOf(agw);
    const ueEnd = ending(ue, HALF + 3000);
    let coreFinAt = 0;
    coreSocket.once("end", () => {
      coreFinAt = performance.now();
    });
    const got: Buffer[] = [];
    ue.on("data", (d: Buffer) => got.push(d));
    const t0 = performance.now();
    ue.end("last words");
    await waitUntil(() => coreFinAt > 0, 3000);
    coreSocket.write("answer after FIN");
    const reverse = await waitUntil(() => Buffer.concat(got).toString() === "answer after FIN", 3000);
    await waitUntil(() => ev.of("relayEnded", r.access.terminationId).length > 0, HALF + 3000);
    const ended = ev.of("relayEnded", r.access.terminationId)[0];
    const ueHow = await ueEnd;
    const coreEnd = ending(coreSocket, 3000);
    coreSocket.write("late");
    const coreHow = await coreEnd;
    const after = resourcesOf(agw);
    return {
      scenario,
      ok:
        coreFinAt > 0 &&
        reverse &&
        ended?.e.reason === "half-close-timeout" &&
        ueHow.how === "reset" &&
        coreHow.how === "reset" &&
        after.sockets === 0,
      code: ended?.e.reason ?? "none",
      detectMs: Math.round(coreFinAt - t0),
      releaseMs: Math.round((ended?.t ?? t0) - t0),
      before,
      after,
      detail:
        `UE FIN reached the core after ${Math.round(coreFinAt - t0)} ms; the core answered after the FIN (${reverse}); ` +
        `halfCloseMs ${HALF}: relay ended "${ended?.e.reason}", UE saw ${ueHow.how}, core saw ${coreHow.how}`,
    };
  } finally {
    ue?.destroy();
    ev.stop();
    await agw.close();
    await core.close();
  }
}

async function relayReset(): Promise<FaultResult> {
  const scenario = "agw-relay-reset";
  const core = await corePeer();
  const agw = new ImsAgw();
  const ev = new Events(agw);
  let ue: net.Socket | undefined;
  try {
    const r = await tcpRelay(agw, ev, core.port);
    ue = r.ue;
    ue.write("x");
    const coreSocket = core.sockets[0];
    if (!coreSocket) throw new Error("no core connection");
    const before = resourcesOf(agw);
    const ueEnd = ending(ue, 3000);
    const t0 = performance.now();
    coreSocket.resetAndDestroy();
    const how = await ueEnd;
    await waitUntil(() => ev.of("relayEnded", r.access.terminationId).length > 0, 3000);
    const ended = ev.of("relayEnded", r.access.terminationId)[0];
    const after = resourcesOf(agw);
    return {
      scenario,
      ok:
        how.how === "reset" &&
        ended?.e.reason === "error" &&
        ended.e.cause === "reset" &&
        ended.e.endedBy === r.core.terminationId,
      code: ended ? `${ended.e.reason}/${ended.e.cause}` : "none",
      detectMs: Math.round((ended?.t ?? t0) - t0),
      releaseMs: Math.round(how.t - t0),
      before,
      after,
      detail: `core RST → relayEnded "${ended?.e.reason}" cause "${ended?.e.cause}" endedBy ${ended?.e.endedBy === r.core.terminationId ? "core" : "?"} (${ended?.e.detail}); the UE saw ${how.how}`,
    };
  } finally {
    ue?.destroy();
    ev.stop();
    await agw.close();
    await core.close();
  }
}

async function algVanishes(): Promise<FaultResult> {
  const scenario = "agw-alg-vanishes";
  const GRACE = 1000;
  const core = await corePeer();
  const audit = new AuditLog();
  const agw = new ImsAgw({ audit });
  const server = await IqWsServer.listen({ agw, insecure: true, orphanGraceMs: GRACE, pingIntervalMs: 0 });
  const alg = await IqWsClient.connect(server.url, { insecure: true, reconnect: false });
  const ev = new Events(agw);
  const ues: net.Socket[] = [];
  try {
    const fdsBefore = fds();
    for (let i = 0; i < 10; i++) {
      const r = await tcpRelay(alg, ev, core.port);
      ues.push(r.ue);
    }
    for (let i = 0; i < 10; i++) await alg.reserveAgwConnectionPoint({ side: "core", transport: "TCP" });
    const before = { ...resourcesOf(agw), fds: fds() };
    const t0 = performance.now();
    alg.dropConnection();
    await waitUntil(() => server.sessionCounts.detached === 1, 3000);
    const detected = performance.now();
    const stillThere = agw.contextCount;
    await waitUntil(() => agw.contextCount === 0 && allZero(agw), GRACE + 5000);
    const released = performance.now();
    for (const u of ues) u.destroy();
    for (const s of core.sockets) s.destroy();
    await waitUntil(() => fds() <= fdsBefore, 3000);
    const orphans = audit.events.filter((e) => e.decision === "orphan-released" && e.code === "E_AGW_ORPHAN").length;
    const after = { ...resourcesOf(agw), fds: fds() };
    return {
      scenario,
      ok: stillThere === 20 && orphans === 20 && allZero(agw) && after.fds <= fdsBefore,
      code: "E_AGW_ORPHAN",
      detectMs: Math.round(detected - t0),
      releaseMs: Math.round(released - t0),
      before,
      after,
      detail:
        `Iq WebSocket dropped without a close handshake; ${stillThere} contexts kept during orphanGraceMs ${GRACE}, ` +
        `then ${orphans} released (audit E_AGW_ORPHAN), ${ev.of("relayEnded").length / 2} relays ended "released"`,
    };
  } finally {
    for (const u of ues) u.destroy();
    ev.stop();
    await alg.close();
    await server.close();
    await agw.close();
    await core.close();
  }
}

async function algSilent(): Promise<FaultResult> {
  const scenario = "agw-alg-silent";
  const PING = 500;
  const GRACE = 500;
  const audit = new AuditLog();
  const agw = new ImsAgw({ audit });
  const server = await IqWsServer.listen({ agw, insecure: true, orphanGraceMs: GRACE, pingIntervalMs: PING });
  const ws = new WebSocket(server.url, { autoPong: false, headers: { [IQ_SESSION_HEADER]: "silent-alg-bench-0001" } });
  try {
    const replies: { id?: number; result?: { contextId?: string } }[] = [];
    ws.on("message", (d: WebSocket.RawData) => replies.push(JSON.parse(String(d))));
    ws.on("error", () => {});
    await new Promise<void>((r, j) => {
      ws.once("open", () => r());
      ws.once("error", j);
    });
    for (let id = 1; id <= 5; id++) {
      ws.send(
        JSON.stringify({ id, procedure: "reserveAgwConnectionPoint", params: { side: "core", transport: "TCP" } }),
      );
    }
    await waitUntil(() => replies.filter((m) => m.id !== undefined).length === 5, 3000);
    const before = resourcesOf(agw);
    const t0 = performance.now(); // the IMS-ALG goes silent from here (it never answers a ping)
    await waitUntil(() => ws.readyState === WebSocket.CLOSED, 4 * PING + 2000);
    const detected = performance.now();
    await waitUntil(() => agw.contextCount === 0, GRACE + 3000);
    const released = performance.now();
    const orphans = audit.events.filter((e) => e.decision === "orphan-released").length;
    return {
      scenario,
      ok: ws.readyState === WebSocket.CLOSED && orphans === 5 && allZero(agw),
      code: "E_AGW_ORPHAN",
      detectMs: Math.round(detected - t0),
      releaseMs: Math.round(released - t0),
      before,
      after: resourcesOf(agw),
      detail: `no pong for a ping interval (${PING} ms) ⇒ Iq connection dropped; ${orphans} contexts released after orphanGraceMs ${GRACE}`,
    };
  } finally {
    ws.terminate();
    await server.close();
    await agw.close();
  }
}

async function iqRestart(): Promise<FaultResult> {
  const scenario = "agw-iq-restart";
  let agw = new ImsAgw();
  let server = await IqWsServer.listen({ agw, insecure: true, pingIntervalMs: 0 });
  const port = server.port;
  const alg = await IqWsClient.connect(server.url, {
    insecure: true,
    reconnectMinMs: 100,
    reconnectMaxMs: 2000,
    timeoutMs: 10_000,
  });
  const states: { s: IqConnectionState; t: number }[] = [];
  alg.onConnectionState((s) => states.push({ s, t: performance.now() }));
  try {
    await alg.reserveAgwConnectionPoint({ side: "core", transport: "TCP" });
    const t0 = performance.now();
    await server.close();
    await agw.close();
    await waitUntil(() => !alg.connected, 3000);
    const detected = performance.now();
    const q0 = performance.now();
    const err = await alg.reserveAgwConnectionPoint({ side: "core", transport: "TCP" }).then(
      () => undefined,
      (e: unknown) => e as { code?: string },
    );
    const failFastMs = performance.now() - q0;
    await sleep(1000); // the outage
    agw = new ImsAgw();
    server = await IqWsServer.listen({ agw, insecure: true, port, pingIntervalMs: 0 });
    const back = performance.now();
    await waitUntil(() => alg.connected && states.some((x) => x.s.connected), 5000);
    const reconnected = states.find((x) => x.s.connected);
    const r = await alg.reserveAgwConnectionPoint({ side: "core", transport: "TCP" }).catch(() => undefined);
    const resumed = reconnected?.s.connected ? reconnected.s.resumed : undefined;
    return {
      scenario,
      ok: err?.code === "E_AGW_IQ_UNAVAILABLE" && reconnected !== undefined && resumed === false && r !== undefined,
      code: err?.code ?? "none",
      detectMs: Math.round(detected - t0),
      releaseMs: reconnected ? Math.round(reconnected.t - back) : -1,
      detail:
        `a request during the outage failed in ${failFastMs.toFixed(1)} ms with ${err?.code} (request timeout 10 s); ` +
        `after the 1 s outage the client reconnected ${reconnected ? Math.round(reconnected.t - back) : "?"} ms after the AGW was back ` +
        `(releaseMs), resumed: ${resumed} (the restarted AGW does not know the session)`,
    };
  } finally {
    await alg.close();
    await server.close();
    await agw.close();
  }
}

async function limits(): Promise<FaultResult> {
  const scenario = "agw-limit";
  const MAX_CONTEXTS = 100;
  const MAX_HANDSHAKES = 16;
  const SILENT = 40;
  const audit = new AuditLog();
  const opts: ImsAgwOptions = {
    audit,
    maxContexts: MAX_CONTEXTS,
    maxHandshakes: MAX_HANDSHAKES,
    maxCandidatesPerTermination: 4,
    timers: { handshakeMs: 10_000 },
  };
  const agw = new ImsAgw(opts);
  const ev = new Events(agw);
  const clients: net.Socket[] = [];
  try {
    const tlsTerms: AgwConnectionPoint[] = [];
    for (let i = 0; i < MAX_CONTEXTS; i++) {
      const t = await agw.reserveAgwConnectionPoint({ side: "access", transport: i < 10 ? "TCP/TLS" : "TCP" });
      if (i < 10) tlsTerms.push(t);
    }
    const q0 = performance.now();
    const refused = await agw.reserveAgwConnectionPoint({ side: "core", transport: "TCP" }).then(
      () => undefined,
      (e: unknown) => e as { code?: string },
    );
    const refusalMs = performance.now() - q0;
    // 40 silent TLS clients over 10 terminations (4 each): 16 handshakes fit, 24 are reset
    for (let i = 0; i < SILENT; i++) {
      const t = tlsTerms[i % tlsTerms.length];
      if (!t) continue;
      const s = net.connect({ host: HOST, port: t.localPort });
      s.on("error", () => {});
      clients.push(s);
    }
    await waitUntil(() => ev.of("tcpConnectionRefused").length + agw.resources().handshakes === SILENT, 5000);
    const hsRefused = ev.of("tcpConnectionRefused").filter((x) => x.e.code === "E_AGW_HANDSHAKE_LIMIT").length;
    const during = resourcesOf(agw);
    const audited = {
      limit: audit.events.filter((e) => e.decision === "limit").length,
      handshakeLimit: audit.events.filter((e) => e.decision === "handshake-limit").length,
    };
    for (const c of clients) c.destroy();
    await waitUntil(() => agw.resources().handshakes === 0, 3000);
    const ids = new Set(tlsTerms.map((t) => t.contextId));
    await agw.close();
    return {
      scenario,
      ok:
        refused?.code === "E_AGW_LIMIT" &&
        during.handshakes === MAX_HANDSHAKES &&
        hsRefused === SILENT - MAX_HANDSHAKES &&
        audited.limit === 1 &&
        audited.handshakeLimit === hsRefused &&
        allZero(agw),
      code: `${refused?.code ?? "none"}, E_AGW_HANDSHAKE_LIMIT`,
      detectMs: Math.round(refusalMs * 10) / 10,
      before: { contexts: MAX_CONTEXTS, tlsTerminations: ids.size, silentClients: SILENT },
      after: {
        ...during,
        refusedHandshakes: hsRefused,
        auditLimit: audited.limit,
        auditHandshakeLimit: audited.handshakeLimit,
      },
      detail:
        `maxContexts ${MAX_CONTEXTS}: reservation ${MAX_CONTEXTS + 1} refused ${refused?.code} in ${refusalMs.toFixed(2)} ms (detectMs); ` +
        `maxHandshakes ${MAX_HANDSHAKES}: ${SILENT} silent TLS clients ⇒ ${during.handshakes} in handshake, ${hsRefused} reset with E_AGW_HANDSHAKE_LIMIT; all audited`,
    };
  } finally {
    for (const c of clients) c.destroy();
    ev.stop();
    await agw.close();
  }
}

export const scenarios: Record<string, FaultScenario> = {
  "agw-failed-handshakes": failedHandshakes,
  "agw-establishment-timeout": establishmentTimeout,
  "agw-half-close": halfClose,
  "agw-relay-reset": relayReset,
  "agw-alg-vanishes": algVanishes,
  "agw-alg-silent": algSilent,
  "agw-iq-restart": iqRestart,
  "agw-limit": limits,
};
