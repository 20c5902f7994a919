/**
 * The IMS-AGW under faults and at its limits (issue 8 items 3 and 4): every fault ends in a typed Iq event, the AGW
 * frees what it owns, and nothing leaks. Real sockets on 127.0.0.0/8; every wait is bounded.
 *
 * - failed / stalled TLS handshakes (garbage, wrong certificate, no ClientHello, stalled mid-handshake), 200 of them
 *   leaving nothing behind; per-termination and AGW-wide bounds on half-done legs (maxHandshakes)
 * - establishment timeout in immediate and delayed modes; relay idle timeout
 * - TCP half-close bounded by halfCloseMs; a RST on one leg is forwarded as a RST; TCP keep-alive on both legs
 * - release in the middle of a relay with bytes flowing
 * - the IMS-ALG vanishes (orphan release after a grace period, resumption within it, a silent connection); the AGW
 *   restarts (the client fails fast with E_AGW_IQ_UNAVAILABLE and reconnects)
 * - maxTerminations (E_AGW_LIMIT over Iq, audited)
 */
import { readdirSync } from "node:fs";
import net from "node:net";
import tls from "node:tls";
import { afterEach, describe, expect, it, vi } from "vitest";
import WebSocket from "ws";
import { DEFAULT_TIMERS, ImsAgw, type ImsAgwOptions } from "../../../src/ims/agw/agw.ts";
import type { AgwError } from "../../../src/ims/agw/iqErrors.ts";
import type { AgwConnectionPoint, IqAgw } from "../../../src/ims/agw/iqTypes.ts";
import { type IqConnectionState, IqWsClient, type IqWsClientOptions } from "../../../src/ims/agw/wsClient.ts";
import { IQ_SESSION_HEADER } from "../../../src/ims/agw/wsCodec.ts";
import { IqWsServer } from "../../../src/ims/agw/wsServer.ts";
import { AuditLog } from "../../../src/log.ts";
import type { SessionCertificate } from "../../../src/security/certificate.ts";
import {
  CorePeer,
  collect,
  EventRecorder,
  LOOPBACK,
  newCertificate,
  outcome,
  sleep,
  tcpConnect,
  ueConnect,
  waitFor,
} from "./helpers.ts";

const cleanups: (() => unknown)[] = [];
afterEach(async () => {
  for (const c of cleanups.splice(0).reverse()) await c();
});

/**
 * Resolves true once the AGW has closed its end of `s` (FIN, RST or close seen), false after `timeoutMs`. The test
 * peers run with allowHalfOpen, so a FIN alone does not close them: reading to the end is what counts.
 */
function gone(s: net.Socket, timeoutMs = 3000): Promise<boolean> {
  if (s.readableEnded || s.destroyed) return Promise.resolve(true);
  return new Promise((resolve) => {
    const t = setTimeout(() => resolve(false), timeoutMs);
    const done = () => {
      clearTimeout(t);
      resolve(true);
    };
    s.once("end", done).once("close", done).once("error", done);
    s.resume();
  });
}

function fdCount(): number {
  return readdirSync("/proc/self/fd").length;
}

function activeResources(): Record<string, number> {
  const out: Record<string, number> = {};
  for (const r of process.getActiveResourcesInfo()) out[r] = (out[r] ?? 0) + 1;
  return out;
}

function atMost(now: Record<string, number>, before: Record<string, number>): boolean {
  return Object.keys({ ...before, ...now }).every((k) => (now[k] ?? 0) <= (before[k] ?? 0));
}

function newAgw(opts: ImsAgwOptions = {}): { agw: ImsAgw; rec: EventRecorder; audit: AuditLog } {
  const audit = opts.audit ?? new AuditLog();
  const agw = new ImsAgw({ audit, ...opts });
  const rec = new EventRecorder(agw);
  cleanups.push(async () => {
    rec.stop();
    await agw.close();
  });
  return { agw, rec, audit };
}

async function newCore(): Promise<CorePeer> {
  const core = await CorePeer.start();
  cleanups.push(() => core.close());
  return core;
}

function track<T extends net.Socket>(s: T): T {
  s.on("error", () => {});
  cleanups.push(() => s.destroy());
  return s;
}

/** Originating e2ae (TR 29.828 §5.2.1.2.2): core TCP toward `corePort`, access TLS expecting `ue`'s certificate. */
async function e2ae(iq: IqAgw, corePort: number, ue: SessionCertificate) {
  const coreTerm = await iq.reserveAndConfigureAgwConnectionPoint({
    side: "core",
    transport: "TCP/MSRP",
    remote: { address: LOOPBACK, port: corePort, setup: "passive" },
  });
  const access = await iq.reserveAndConfigureAgwConnectionPoint({
    contextId: coreTerm.contextId,
    side: "access",
    transport: "TCP/TLS/MSRP",
    notifyTlsSessionEstablishmentFailureEvent: true,
    remote: { address: LOOPBACK, port: 9, setup: "active", certificateFingerprints: [ue.fingerprint] },
  });
  return { coreTerm, access };
}

/** Plain TCP on both legs: UE → access termination, the AGW connects to the core on interlinkage. */
async function tcpRelay(agw: ImsAgw, rec: EventRecorder, corePort: number) {
  const coreTerm = await agw.reserveAndConfigureAgwConnectionPoint({
    side: "core",
    transport: "TCP/MSRP",
    remote: { address: LOOPBACK, port: corePort, setup: "passive" },
  });
  const access = await agw.reserveAgwConnectionPoint({
    contextId: coreTerm.contextId,
    side: "access",
    transport: "TCP/MSRP",
  });
  const ue = track(await tcpConnect(access.localPort));
  await rec.next("relayStarted", access.terminationId);
  return { coreTerm, access, ue };
}

/** The first flight of a real TLS client (its ClientHello), captured from a throw-away listener. */
async function captureClientHello(): Promise<Buffer> {
  const srv = net.createServer();
  await new Promise<void>((r) => srv.listen(0, LOOPBACK, () => r()));
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
      const c = tls.connect({ host: LOOPBACK, port, rejectUnauthorized: false });
      c.on("error", () => {});
      c.once("close", () => c.destroy());
    });
  } finally {
    await new Promise<void>((r) => srv.close(() => r()));
  }
}

// -----------------------------------------------------------------------------------------------------------------

describe("failed TLS handshakes (TS 23.334 Notify (D)TLS session establishment Failure Event)", () => {
  it("garbage, a wrong certificate, no ClientHello, a partial and a stalled handshake: each closed with a reason", async () => {
    const { agw, rec } = newAgw({ timers: { handshakeMs: 300 } });
    const core = await newCore();
    const ueCert = newCertificate();
    const { access } = await e2ae(agw, core.port, ueCert);
    const T = access.terminationId;
    const failures = () => rec.of("tlsSessionEstablishmentFailure", T).length;

    // 1) garbage bytes instead of a ClientHello
    const garbage = track(await tcpConnect(access.localPort));
    garbage.write(Buffer.from("GET / HTTP/1.1\r\nHost: agw\r\n\r\n"));
    expect((await rec.next("tlsSessionEstablishmentFailure", T, 3000, 1)).reason).toBe("handshake-failed");
    expect(await gone(garbage, 3000)).toBe(true);

    // 2) a certificate other than the signalled one (RFC 8122 §5.1)
    const attacker = newCertificate();
    const wrong = track(
      tls.connect({
        host: LOOPBACK,
        port: access.localPort,
        cert: attacker.certPem,
        key: attacker.keyPem,
        rejectUnauthorized: false,
      }),
    );
    const f2 = await rec.next("tlsSessionEstablishmentFailure", T, 3000, 2);
    expect(f2.reason).toBe("fingerprint-mismatch");
    expect(f2.peerCertificateFingerprint).toEqual(attacker.fingerprint);
    expect(await gone(wrong, 3000)).toBe(true);

    // 3) TCP open, never a ClientHello
    const silent = track(await tcpConnect(access.localPort));
    expect((await rec.next("tlsSessionEstablishmentFailure", T, 3000, 3)).reason).toBe("handshake-timeout");
    expect(await gone(silent, 3000)).toBe(true);

    // 4) half a ClientHello, then silence
    const hello = await captureClientHello();
    const partial = track(await tcpConnect(access.localPort));
    partial.write(hello.subarray(0, 20));
    expect((await rec.next("tlsSessionEstablishmentFailure", T, 3000, 4)).reason).toBe("handshake-timeout");
    expect(await gone(partial, 3000)).toBe(true);

    // 5) a whole ClientHello: the AGW answers (ServerHello…) and the client never finishes the handshake
    const stalled = track(await tcpConnect(access.localPort));
    let answered = 0;
    stalled.on("data", (d: Buffer) => {
      answered += d.length;
    });
    stalled.write(hello);
    expect((await rec.next("tlsSessionEstablishmentFailure", T, 3000, 5)).reason).toBe("handshake-timeout");
    expect(answered).toBeGreaterThan(0); // it really was mid-handshake
    expect(await gone(stalled, 3000)).toBe(true);

    expect(failures()).toBe(5);
    expect(core.bytes).toBe(0);
    expect(rec.of("relayStarted")).toHaveLength(0);
    await waitFor(() => agw.resources().handshakes === 0 && agw.resources().candidates === 0, 3000, "legs freed");
    // the termination still listens for the genuine UE
    expect(agw.resources()).toMatchObject({ listeners: 1, handshakes: 0, candidates: 0 });
    await agw.releaseAgwContext({ contextId: access.contextId });
    expect(agw.resources()).toEqual({
      contexts: 0,
      terminations: 0,
      handshakes: 0,
      relays: 0,
      sockets: 0,
      listeners: 0,
      parked: 0,
      candidates: 0,
      timers: 0,
    });
  });

  it("the AGW as TLS client: a UE that accepts TCP and never answers the ClientHello hits handshake-timeout", async () => {
    const { agw, rec } = newAgw({ timers: { handshakeMs: 300 } });
    const mute = await newCore(); // accepts TCP, never speaks TLS
    const t = await agw.reserveAndConfigureAgwConnectionPoint({
      side: "access",
      transport: "TCP/TLS/BFCP",
      establishTlsSession: true,
      notifyTlsSessionEstablishmentFailureEvent: true,
      tcpConnect: true,
      remote: {
        address: LOOPBACK,
        port: mute.port,
        setup: "passive",
        certificateFingerprints: [newCertificate().fingerprint],
      },
    });
    const f = await rec.next("tlsSessionEstablishmentFailure", t.terminationId, 3000);
    expect(f.reason).toBe("handshake-timeout");
    await waitFor(() => mute.socket?.readableEnded === true || mute.socket?.destroyed === true, 3000, "leg closed");
    expect(agw.resources()).toMatchObject({ handshakes: 0, candidates: 0, sockets: 0 });
  });

  it("200 failed handshakes leave nothing behind: events, legs, fds and handles back to baseline", async () => {
    const core = await newCore();
    await sleep(50);
    const fdBefore = fdCount();
    const resBefore = activeResources();
    const { agw, rec, audit } = newAgw({ timers: { handshakeMs: 2000 } });
    const ueCert = newCertificate();
    const attacker = newCertificate();
    const hello = await captureClientHello();
    const CONTEXTS = 20;
    const PER = 10;
    const points = await Promise.all(Array.from({ length: CONTEXTS }, () => e2ae(agw, core.port, ueCert)));
    await Promise.all(
      points.map(async ({ access }, c) => {
        for (let i = 0; i < PER; i++) {
          const kind = (c + i) % 3;
          if (kind === 0) {
            const s = track(await tcpConnect(access.localPort));
            s.write("\x16\x03\x01\x00\x05hello garbage");
            await gone(s, 3000);
            s.destroy();
          } else if (kind === 1) {
            const s = track(
              tls.connect({
                host: LOOPBACK,
                port: access.localPort,
                cert: attacker.certPem,
                key: attacker.keyPem,
                rejectUnauthorized: false,
              }),
            );
            await gone(s, 3000);
            s.destroy();
          } else {
            const s = track(await tcpConnect(access.localPort));
            s.write(hello);
            await sleep(5);
            s.destroy(); // vanishes mid-handshake
          }
          await rec.next("tlsSessionEstablishmentFailure", access.terminationId, 3000, i + 1);
        }
      }),
    );
    expect(rec.of("tlsSessionEstablishmentFailure")).toHaveLength(CONTEXTS * PER);
    expect(rec.of("relayStarted")).toHaveLength(0);
    expect(core.bytes).toBe(0);
    const failedAudits = audit.events.filter(
      (e) => e.decision === "handshake-failed" || e.decision === "fingerprint-mismatch",
    );
    expect(failedAudits).toHaveLength(CONTEXTS * PER);
    await waitFor(() => agw.resources().handshakes === 0 && agw.resources().candidates === 0, 5000, "legs freed");
    // only the listeners and the core legs (connected by interlinkage) remain until the IMS-ALG releases
    expect(agw.resources()).toMatchObject({ contexts: CONTEXTS, handshakes: 0, candidates: 0, relays: 0 });
    for (const { access } of points) await agw.releaseAgwContext({ contextId: access.contextId });
    for (const s of core.sockets) s.destroy();
    expect(agw.resources()).toMatchObject({ contexts: 0, terminations: 0, sockets: 0, listeners: 0, timers: 0 });
    await waitFor(() => fdCount() <= fdBefore && atMost(activeResources(), resBefore), 5000, "fds at baseline").catch(
      (e) => {
        console.log({ fdBefore, fdAfter: fdCount(), resBefore, resAfter: activeResources() });
        throw e;
      },
    );
  }, 30_000);

  it("half-done legs are bounded per termination (limit) and AGW-wide (maxHandshakes, E_AGW_HANDSHAKE_LIMIT)", async () => {
    const { agw, rec, audit } = newAgw({
      maxCandidatesPerTermination: 2,
      maxHandshakes: 3,
      timers: { handshakeMs: 5000 },
    });
    const core = await newCore();
    const a = await e2ae(agw, core.port, newCertificate());
    const b = await e2ae(agw, core.port, newCertificate());
    // per termination: 2 silent connections fill it; the third is refused
    const a1 = track(await tcpConnect(a.access.localPort));
    const a2 = track(await tcpConnect(a.access.localPort));
    await waitFor(() => agw.resources().handshakes === 2, 3000, "2 handshakes");
    const a3 = track(net.connect(a.access.localPort, LOOPBACK));
    const a3end = outcome(a3, 3000);
    const r1 = await rec.next("tcpConnectionRefused", a.access.terminationId, 3000);
    expect(r1.reason).toBe("limit");
    expect(await a3end).toBe("error"); // reset, unread
    // AGW-wide: one more handshake fits (3), the next is refused with the overload code
    const b1 = track(await tcpConnect(b.access.localPort));
    await waitFor(() => agw.resources().handshakes === 3, 3000, "3 handshakes");
    const b2 = track(net.connect(b.access.localPort, LOOPBACK));
    const b2end = outcome(b2, 3000);
    const r2 = await rec.next("tcpConnectionRefused", b.access.terminationId, 3000);
    expect(r2).toMatchObject({ reason: "handshake-limit", code: "E_AGW_HANDSHAKE_LIMIT" });
    expect(await b2end).toBe("error"); // reset, unread
    expect(audit.events.filter((e) => e.decision === "handshake-limit")).toHaveLength(1);
    expect(audit.events.find((e) => e.decision === "handshake-limit")).toMatchObject({
      code: "E_AGW_HANDSHAKE_LIMIT",
      terminationId: b.access.terminationId,
    });
    expect(agw.resources().handshakes).toBe(3);
    // a slot frees as soon as a half-done leg's peer closes (FIN during the handshake), not at handshakeMs
    a1.destroy();
    await waitFor(() => agw.resources().handshakes === 2, 3000, "slot freed");
    expect(rec.of("tlsSessionEstablishmentFailure", a.access.terminationId)[0]).toMatchObject({
      reason: "handshake-failed",
      detail: "peer closed the connection during the TLS handshake",
    });
    b1.destroy();
    a2.destroy();
    await waitFor(() => agw.resources().handshakes === 0, 3000, "all slots freed");
    expect(rec.of("tlsSessionEstablishmentFailure")).toHaveLength(3);
  });
});

// -----------------------------------------------------------------------------------------------------------------

describe("timeouts", () => {
  it("the establishment timer (default 180 s) fires in delayed drop and hold modes and frees half-done legs", async () => {
    expect(DEFAULT_TIMERS.establishmentMs).toBe(180_000);
    const { agw, rec } = newAgw({ timers: { establishmentMs: 300, handshakeMs: 10_000, holdMs: 10_000 } });
    const drop = await agw.reserveAgwConnectionPoint({
      side: "core",
      transport: "TCP",
      tcpEstablishment: { mode: "delayed", policy: "drop" },
    });
    const hold = await agw.reserveAgwConnectionPoint({
      side: "core",
      transport: "TCP",
      tcpEstablishment: { mode: "delayed", policy: "hold" },
    });
    const tlsTerm = await agw.reserveAgwConnectionPoint({ side: "access", transport: "TCP/TLS" });
    const parked = track(await tcpConnect(hold.localPort));
    await rec.next("tcpConnectionParked", hold.terminationId, 3000);
    const handshaking = track(await tcpConnect(tlsTerm.localPort));
    await waitFor(() => agw.resources().handshakes === 1, 3000, "handshake in progress");
    for (const t of [drop, hold, tlsTerm]) await rec.next("tcpEstablishmentTimeout", t.terminationId, 3000);
    expect(await gone(parked, 3000)).toBe(true);
    expect(await gone(handshaking, 3000)).toBe(true);
    expect(await outcome(track(net.connect(drop.localPort, LOOPBACK)), 2000)).toBe("error"); // listener gone
    await waitFor(() => agw.resources().sockets === 0, 3000, "sockets freed");
    expect(agw.resources()).toMatchObject({
      contexts: 3,
      listeners: 0,
      parked: 0,
      candidates: 0,
      handshakes: 0,
      timers: 0,
    });
    for (const t of [drop, hold, tlsTerm]) {
      expect(agw.inspectContext(t.contextId)?.terminations[0]?.state).toBe("failed");
    }
  });

  it("relay idle: idleTimeout on both terminations, relayEnded idle-timeout, both peers closed", async () => {
    const { agw, rec } = newAgw({ timers: { idleMs: 300 } });
    const core = await newCore();
    const { coreTerm, access, ue } = await tcpRelay(agw, rec, core.port);
    ue.write("one message");
    await waitFor(() => core.bytes === 11, 3000, "relayed");
    await rec.next("idleTimeout", access.terminationId, 3000);
    await rec.next("idleTimeout", coreTerm.terminationId, 3000);
    const ended = await rec.next("relayEnded", access.terminationId, 3000);
    expect(ended.reason).toBe("idle-timeout");
    expect(ended.statistics.octetsReceived).toBe(11);
    expect(await gone(ue, 3000)).toBe(true);
    expect(await gone(core.socket as net.Socket, 3000)).toBe(true);
    expect(agw.resources()).toMatchObject({ relays: 0, sockets: 0, timers: 0 });
  });
});

// -----------------------------------------------------------------------------------------------------------------

describe("TCP half-close, reset and keep-alive on a relay (RFC 9293)", () => {
  it("a FIN is forwarded, the other direction still flows, and halfCloseMs bounds the half-open relay", async () => {
    const { agw, rec } = newAgw({ halfCloseMs: 400 });
    const core = await newCore();
    const { access, ue } = await tcpRelay(agw, rec, core.port);
    const ueEnd = outcome(ue, 5000);
    ue.end("bye from UE");
    await waitFor(() => core.socket?.readableEnded === true, 3000, "FIN forwarded to the core");
    expect(core.text()).toBe("bye from UE");
    core.socket?.write("still talking");
    expect((await collect(ue, 13, 3000)).toString()).toBe("still talking");
    // the core never sends its FIN: the relay ends at halfCloseMs and both connections are closed
    const ended = await rec.next("relayEnded", access.terminationId, 3000);
    expect(ended.reason).toBe("half-close-timeout");
    // the open direction was cut mid-stream: both peers see an abort (RST), not a clean end
    expect(await ueEnd).toBe("error");
    const coreEnd = outcome(core.socket as net.Socket, 3000); // it already read our FIN: its next write meets the RST
    core.socket?.write("late");
    expect(await coreEnd).toBe("error");
    expect(agw.resources()).toMatchObject({ relays: 0, sockets: 0 });
  });

  it("a RST from the core is forwarded to the UE as a RST; the event names the side and the cause", async () => {
    const { agw, rec } = newAgw();
    const core = await newCore();
    const { coreTerm, access, ue } = await tcpRelay(agw, rec, core.port);
    ue.write("x");
    await waitFor(() => core.bytes === 1, 3000, "relayed");
    const how = outcome(ue, 3000);
    let ueError = "";
    ue.on("error", (e: NodeJS.ErrnoException) => {
      ueError = e.code ?? "";
    });
    core.socket?.resetAndDestroy();
    expect(await how).toBe("error");
    expect(ueError).toBe("ECONNRESET");
    const ended = await rec.next("relayEnded", access.terminationId, 3000);
    expect(ended).toMatchObject({ reason: "error", cause: "reset", endedBy: coreTerm.terminationId });
    expect(ended.detail).toContain("ECONNRESET");
    expect(agw.resources()).toMatchObject({ relays: 0, sockets: 0 });
  });

  it("a RST from a TLS UE reaches the core as a RST (the abort crosses the TLS termination)", async () => {
    const { agw, rec } = newAgw();
    const core = await newCore();
    const ueCert = newCertificate();
    const { access } = await e2ae(agw, core.port, ueCert);
    const raw = track(await tcpConnect(access.localPort));
    const ue = track(tls.connect({ socket: raw, cert: ueCert.certPem, key: ueCert.keyPem, rejectUnauthorized: false }));
    ue.write("hello");
    await waitFor(() => core.bytes === 5, 3000, "relayed");
    const coreSocket = core.socket as net.Socket;
    let coreError = "";
    coreSocket.on("error", (e: NodeJS.ErrnoException) => {
      coreError = e.code ?? "";
    });
    const how = outcome(coreSocket, 3000);
    raw.resetAndDestroy(); // the UE's TCP under its TLS session aborts
    expect(await how).toBe("error");
    expect(coreError).toBe("ECONNRESET");
    const ended = await rec.next("relayEnded", access.terminationId, 3000);
    expect(ended).toMatchObject({ reason: "error", cause: "reset", endedBy: access.terminationId });
  });

  it("TCP keep-alive is enabled on both legs (configurable; 0 = off)", async () => {
    const spy = vi.spyOn(net.Socket.prototype, "setKeepAlive");
    cleanups.push(() => spy.mockRestore());
    const core = await newCore();
    const { agw, rec } = newAgw({ keepAliveMs: 1234 });
    const { coreTerm, access } = await tcpRelay(agw, rec, core.port);
    const armed = spy.mock.contexts
      .map((s, i) => ({ s: s as net.Socket, args: spy.mock.calls[i] }))
      .filter(({ args }) => args?.[0] === true && args?.[1] === 1234);
    // the UE's leg (accepted on the access port) and the core leg (connected to the core peer)
    expect(armed.some(({ s }) => s.localPort === access.localPort)).toBe(true);
    expect(armed.some(({ s }) => s.remotePort === core.port)).toBe(true);
    expect(coreTerm.terminationId).not.toBe(access.terminationId);

    spy.mockClear();
    const off = newAgw({ keepAliveMs: 0 });
    await tcpRelay(off.agw, off.rec, core.port);
    expect(spy.mock.calls.filter((c) => c[0] === true)).toHaveLength(0);
  });
});

// -----------------------------------------------------------------------------------------------------------------

describe("release in the middle of a relay (BYE at the P-CSCF ⇒ Release procedures)", () => {
  it("frees sockets and timers while bytes are flowing; relayEnded says released", async () => {
    const core = await newCore();
    await sleep(50);
    const fdBefore = fdCount();
    const resBefore = activeResources();
    const { agw, rec } = newAgw({ timers: { idleMs: 60_000 } });
    const ueCert = newCertificate();
    const { coreTerm, access } = await e2ae(agw, core.port, ueCert);
    const ue = track(await ueConnect(access.localPort, ueCert));
    await rec.next("relayStarted", access.terminationId, 3000);
    // the UE streams as fast as the relay takes it; the core answers a little
    let stop = false;
    const chunk = Buffer.alloc(64 * 1024, 0x4d);
    const pump = async () => {
      while (!stop && !ue.destroyed) {
        if (!ue.write(chunk)) await new Promise<void>((r) => ue.once("drain", () => r()).once("close", () => r()));
      }
    };
    const pumping = pump();
    core.socket?.write("200 OK\r\n");
    await waitFor(() => core.bytes > 4 * 1024 * 1024, 10_000, "4 MiB relayed");
    const r = await agw.releaseAgwContext({ contextId: access.contextId });
    stop = true;
    expect(r.terminations).toHaveLength(2);
    const endedA = await rec.next("relayEnded", access.terminationId, 3000);
    const endedC = await rec.next("relayEnded", coreTerm.terminationId, 3000);
    expect(endedA.reason).toBe("released");
    expect(endedC.reason).toBe("released");
    expect(endedA.statistics.octetsReceived).toBeGreaterThan(4 * 1024 * 1024);
    expect(agw.resources()).toEqual({
      contexts: 0,
      terminations: 0,
      handshakes: 0,
      relays: 0,
      sockets: 0,
      listeners: 0,
      parked: 0,
      candidates: 0,
      timers: 0,
    });
    expect(await gone(ue, 3000)).toBe(true);
    await pumping;
    for (const s of core.sockets) s.destroy();
    await waitFor(() => fdCount() <= fdBefore && atMost(activeResources(), resBefore), 3000, "baseline").catch((e) => {
      console.log({ fdBefore, fdAfter: fdCount(), resBefore, resAfter: activeResources() });
      throw e;
    });
  }, 20_000);
});

// -----------------------------------------------------------------------------------------------------------------

async function wsPair(
  serverOpts: { orphanGraceMs?: number; pingIntervalMs?: number; port?: number } = {},
  agwOpts: ImsAgwOptions = {},
) {
  const { agw, rec, audit } = newAgw(agwOpts);
  const server = await IqWsServer.listen({ agw, insecure: true, pingIntervalMs: 0, ...serverOpts });
  cleanups.push(() => server.close());
  return { agw, rec, audit, server };
}

async function client(url: string, opts: IqWsClientOptions = {}): Promise<IqWsClient> {
  const c = await IqWsClient.connect(url, { insecure: true, reconnectMinMs: 20, reconnectMaxMs: 200, ...opts });
  cleanups.push(() => c.close());
  return c;
}

function states(c: IqWsClient): IqConnectionState[] {
  const out: IqConnectionState[] = [];
  c.onConnectionState((s) => out.push(s));
  return out;
}

describe("the IMS-ALG vanishes (Iq over WebSocket)", () => {
  it("a lost session's contexts are released after orphanGraceMs, audited with E_AGW_ORPHAN", async () => {
    const { agw, audit, server } = await wsPair({ orphanGraceMs: 500 });
    const core = await newCore();
    const alg = await client(server.url, { reconnect: false });
    const ueCert = newCertificate();
    const { access } = await e2ae(alg, core.port, ueCert);
    const other = await alg.reserveAgwConnectionPoint({ side: "core", transport: "TCP" });
    const ue = track(await ueConnect(access.localPort, ueCert));
    await waitFor(() => agw.resources().relays === 1, 3000, "relaying");
    alg.dropConnection(); // no close handshake: the IMS-ALG's host died
    await waitFor(() => server.sessionCounts.orphanTimers === 1, 3000, "session detached");
    expect(agw.hasContext(access.contextId)).toBe(true); // within the grace period
    await waitFor(() => agw.contextCount === 0, 5000, "orphans released");
    const orphans = audit.events.filter((e) => e.decision === "orphan-released");
    expect(orphans.map((e) => e.contextId).sort()).toEqual([access.contextId, other.contextId].sort());
    expect(orphans.every((e) => e.code === "E_AGW_ORPHAN")).toBe(true);
    expect(await gone(ue, 3000)).toBe(true);
    expect(server.sessionCounts).toEqual({ sessions: 0, detached: 0, orphanTimers: 0 });
    expect(agw.resources()).toMatchObject({ contexts: 0, sockets: 0, listeners: 0, timers: 0 });
  });

  it("a session that reconnects within the grace period keeps its contexts and gets their events again", async () => {
    const { agw, audit, server } = await wsPair({ orphanGraceMs: 10_000 });
    const alg = await client(server.url);
    const seen = states(alg);
    const events: string[] = [];
    alg.onEvent((e) => events.push(`${e.event}:${e.terminationId}`));
    const t = await alg.reserveAgwConnectionPoint({ side: "core", transport: "TCP" });
    alg.dropConnection();
    await waitFor(() => seen.some((s) => s.connected), 5000, "reconnected");
    expect(seen[0]).toEqual({ connected: false, reason: "connection lost" });
    expect(seen.find((s) => s.connected)).toEqual({ connected: true, resumed: true, contexts: 1 });
    expect(server.sessionCounts).toEqual({ sessions: 1, detached: 0, orphanTimers: 0 });
    expect(agw.hasContext(t.contextId)).toBe(true);
    const p = await alg.configureAgwConnectionPoint({ contextId: t.contextId, terminationId: t.terminationId });
    expect(p.terminationId).toBe(t.terminationId);
    track(await tcpConnect(t.localPort));
    await waitFor(() => events.includes(`tcpConnectionEstablished:${t.terminationId}`), 3000, "event after resume");
    expect(audit.events.filter((e) => e.decision === "orphan-released")).toHaveLength(0);
  });

  it("a silent IMS-ALG (no pong) is detected by the heartbeat and its contexts are released", async () => {
    const { agw, audit, server } = await wsPair({ orphanGraceMs: 100, pingIntervalMs: 100 });
    const ws = new WebSocket(server.url, {
      autoPong: false,
      headers: { [IQ_SESSION_HEADER]: "silent-alg-0123456789" },
    });
    cleanups.push(() => ws.terminate());
    const replies: { id?: number; result?: AgwConnectionPoint }[] = [];
    ws.on("message", (d: WebSocket.RawData) => replies.push(JSON.parse(String(d))));
    await new Promise<void>((r) => ws.once("open", () => r()));
    ws.send(
      JSON.stringify({ id: 1, procedure: "reserveAgwConnectionPoint", params: { side: "core", transport: "TCP" } }),
    );
    await waitFor(() => replies.some((m) => m.id === 1), 3000, "reserved");
    const contextId = replies.find((m) => m.id === 1)?.result?.contextId;
    expect(agw.hasContext(String(contextId))).toBe(true);
    await waitFor(() => ws.readyState === WebSocket.CLOSED, 5000, "dropped by the heartbeat");
    await waitFor(() => !agw.hasContext(String(contextId)), 5000, "released");
    expect(audit.events.find((e) => e.decision === "orphan-released")).toMatchObject({
      contextId,
      code: "E_AGW_ORPHAN",
    });
  });

  it("a context belongs to its session: another IMS-ALG cannot name it (E_AGW_UNKNOWN_CONTEXT)", async () => {
    const { agw, server } = await wsPair();
    const a = await client(server.url);
    const b = await client(server.url);
    const t = await a.reserveAgwConnectionPoint({ side: "core", transport: "TCP" });
    const err = (await b.releaseAgwContext({ contextId: t.contextId }).catch((e: unknown) => e)) as AgwError;
    expect(err.code).toBe("E_AGW_UNKNOWN_CONTEXT");
    const err2 = (await b
      .configureAgwConnectionPoint({ contextId: t.contextId, terminationId: t.terminationId })
      .catch((e: unknown) => e)) as AgwError;
    expect(err2.code).toBe("E_AGW_UNKNOWN_CONTEXT");
    expect(agw.hasContext(t.contextId)).toBe(true);
    await a.releaseAgwContext({ contextId: t.contextId });
    expect(agw.hasContext(t.contextId)).toBe(false);
  });

  it("the AGW restarts: requests fail fast with E_AGW_IQ_UNAVAILABLE; the client reconnects (resumed: false)", async () => {
    const first = await wsPair();
    const port = first.server.port;
    const alg = await client(first.server.url, { timeoutMs: 10_000 });
    const seen = states(alg);
    await alg.reserveAgwConnectionPoint({ side: "core", transport: "TCP" });
    await first.server.close();
    await first.agw.close();
    await waitFor(() => !alg.connected, 3000, "client saw the drop");
    // during the outage: a typed error at once, not a 10 s request timeout
    const during = (await Promise.race([
      alg.reserveAgwConnectionPoint({ side: "core", transport: "TCP" }).catch((e: unknown) => e),
      sleep(2000).then(() => "hung"),
    ])) as AgwError | string;
    expect(typeof during === "string" ? during : during.code).toBe("E_AGW_IQ_UNAVAILABLE");
    const second = await wsPair({ port });
    await waitFor(() => alg.connected && seen.some((s) => s.connected), 5000, "reconnected");
    expect(seen.find((s) => s.connected)).toEqual({ connected: true, resumed: false, contexts: 0 });
    const r = await alg.reserveAgwConnectionPoint({ side: "core", transport: "TCP" });
    expect(second.agw.hasContext(r.contextId)).toBe(true);
  });
});

// -----------------------------------------------------------------------------------------------------------------

describe("limits", () => {
  it("maxTerminations: a reservation beyond it gets E_AGW_LIMIT over Iq, audited; a release makes room", async () => {
    const { agw, audit, server } = await wsPair({}, { maxTerminations: 3 });
    const alg = await client(server.url);
    const a = await alg.reserveAgwConnectionPoint({ side: "core", transport: "TCP" });
    await alg.reserveAgwConnectionPoint({ contextId: a.contextId, side: "access", transport: "TCP" });
    const b = await alg.reserveAgwConnectionPoint({ side: "core", transport: "TCP" });
    const inContext = (await alg
      .reserveAgwConnectionPoint({ contextId: b.contextId, side: "access", transport: "TCP" })
      .catch((e: unknown) => e)) as AgwError;
    expect(inContext.code).toBe("E_AGW_LIMIT");
    const fresh = (await alg
      .reserveAgwConnectionPoint({ side: "core", transport: "TCP" })
      .catch((e: unknown) => e)) as AgwError;
    expect(fresh.code).toBe("E_AGW_LIMIT");
    expect(agw.resources()).toMatchObject({ contexts: 2, terminations: 3 });
    const limits = audit.events.filter((e) => e.decision === "limit");
    expect(limits).toHaveLength(2);
    expect(limits[0]).toMatchObject({ code: "E_AGW_LIMIT", limit: "maxTerminations", value: 3 });
    await alg.releaseAgwContext({ contextId: a.contextId });
    const c = await alg.reserveAgwConnectionPoint({ contextId: b.contextId, side: "access", transport: "TCP" });
    expect(c.contextId).toBe(b.contextId);
    expect(agw.resources().terminations).toBe(2);
  });

  it("maxContexts: E_AGW_LIMIT, audited", async () => {
    const { audit, agw } = newAgw({ maxContexts: 1 });
    await agw.reserveAgwConnectionPoint({ side: "core", transport: "TCP" });
    await expect(agw.reserveAgwConnectionPoint({ side: "core", transport: "TCP" })).rejects.toMatchObject({
      code: "E_AGW_LIMIT",
    });
    expect(audit.events.find((e) => e.decision === "limit")).toMatchObject({ limit: "maxContexts", value: 1 });
  });
});
