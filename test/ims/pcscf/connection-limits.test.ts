/**
 * P-CSCF access side under a connection-exhaustion attack (src/sip/transport/limiter.ts): one or many sources open
 * idle TCP connections, each after one OPTIONS; a legitimate TCP UE on another loopback address keeps registering and
 * calling. Scaled down from the report (1 100 connections against a table of 1 024): table 64, 8 per source.
 */
import { connect, type Socket } from "node:net";
import { afterEach, describe, expect, it } from "vitest";
import { AuditLog } from "../../../src/log.ts";
import type { ConnectionClosedInfo, ConnectionRefusedInfo } from "../../../src/sip/index.ts";
import type { ImsUe } from "../../../src/ue/ue.ts";
import { type Core, DOMAIN, startCore, startUe } from "../e2e-helpers.ts";

const LIMITS = { maxConnections: 64, maxConnectionsPerSource: 8, evictIdleMs: 200 };

const closers: (() => Promise<unknown> | unknown)[] = [];
const sockets: Socket[] = [];
afterEach(async () => {
  for (const s of sockets.splice(0)) s.destroy();
  for (const c of closers.splice(0).reverse()) await c();
});

async function waitFor(cond: () => boolean, ms: number, what: string): Promise<void> {
  const end = Date.now() + ms;
  while (!cond()) {
    if (Date.now() > end) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 20));
  }
}

interface Attacker {
  socket: Socket;
  closed: () => boolean;
  answered: () => boolean;
}

/** One attacking connection from `from`: connects, sends one OPTIONS, then idles. Resolves once connected. */
function idleConnection(from: string, port: number, i: number): Promise<Attacker> {
  return new Promise((resolve) => {
    let closed = false;
    let answered = false;
    const s = connect({ host: "127.0.0.1", port, localAddress: from });
    sockets.push(s);
    s.on("error", () => undefined);
    s.on("close", () => {
      closed = true;
    });
    s.on("data", (d: Buffer) => {
      if (d.toString("latin1").startsWith("SIP/2.0 200")) answered = true;
    });
    const result = { socket: s, closed: () => closed, answered: () => answered };
    s.once("connect", () => {
      const lp = s.localPort ?? 0;
      s.write(
        `OPTIONS sip:127.0.0.1:${port} SIP/2.0\r\nVia: SIP/2.0/TCP ${from}:${lp};branch=z9hG4bK-atk-${i}\r\n` +
          `Max-Forwards: 70\r\nFrom: <sip:mallory@${DOMAIN}>;tag=m${i}\r\nTo: <sip:127.0.0.1:${port}>\r\n` +
          `Call-ID: atk-${i}@${from}\r\nCSeq: 1 OPTIONS\r\nContent-Length: 0\r\n\r\n`,
      );
      resolve(result);
    });
    s.once("close", () => resolve(result));
  });
}

describe("P-CSCF TCP connection limits under an idle-connection attack", () => {
  let core: Core;
  const ues: ImsUe[] = [];
  afterEach(async () => {
    for (const u of ues.splice(0)) await u.close();
    await core?.close();
  });

  it("one source, 100 idle connections: 8 admitted, the rest refused (per-source, audited); a UE on 127.0.0.3 registers and calls", async () => {
    core = await startCore({ pcscfA: { limits: LIMITS } });
    const port = core.a.address("access", "TCP")?.port ?? 0;
    const layer = core.a.access.layer;
    const refusals: ConnectionRefusedInfo[] = [];
    layer.onConnectionRefused((i) => refusals.push(i));
    const attack: Attacker[] = [];
    for (let i = 0; i < 100; i++) attack.push(await idleConnection("127.0.0.2", port, i));
    // every attacking connection is either answered (admitted) or closed (refused)
    await waitFor(() => attack.every((a) => a.closed() || a.answered()), 5000, "the attack settled");

    // the legitimate UE, from another address, during the attack
    const audit = new AuditLog();
    const alice = await startUe(core.a, "alice", "TCP", audit, { sipHost: "127.0.0.3" });
    ues.push(alice);
    const bob = await startUe(core.b, "bob", "UDP", audit);
    ues.push(bob);
    const call = await alice.call(`sip:bob@${DOMAIN}`);
    expect(call.sip.state).toBe("established");
    await call.hangup();
    expect((await alice.register()).expires).toBeGreaterThan(0);

    const admitted = attack.filter((a) => !a.closed());
    expect(admitted).toHaveLength(8);
    expect(admitted.every((a) => a.answered())).toBe(true);
    expect(refusals.length).toBe(92);
    expect(refusals[0]).toMatchObject({
      transport: "TCP",
      reason: "per-source",
      code: "E_SIP_SOURCE_LIMIT",
      limit: 8,
      open: 8,
      remote: { host: "127.0.0.2" },
    });
    expect(layer.connectionStats("TCP")).toMatchObject({
      maxFromOneSource: 8,
      refused: { "per-source": 92 },
      flows: 1,
    });
  }, 60_000);

  it("many sources fill the table: the idlest connection is evicted for each newcomer; a registered flow never is", async () => {
    core = await startCore({ pcscfA: { limits: LIMITS } });
    const port = core.a.address("access", "TCP")?.port ?? 0;
    const layer = core.a.access.layer;
    const closed: ConnectionClosedInfo[] = [];
    layer.onConnectionClosed((i) => closed.push(i));
    const audit = new AuditLog();
    // alice registers first: her connection is a registered flow (the 2xx to her REGISTER left on it)
    const alice = await startUe(core.a, "alice", "TCP", audit, { sipHost: "127.0.0.3" });
    ues.push(alice);
    const bob = await startUe(core.b, "bob", "UDP", audit);
    ues.push(bob);
    expect(layer.connectionStats("TCP")?.flows).toBe(1);
    const wave = async (base: number) => {
      const out: Attacker[] = [];
      for (let src = 0; src < 10; src++)
        for (let i = 0; i < 8; i++) out.push(await idleConnection(`127.0.0.${base + src}`, port, src * 8 + i));
      return out;
    };
    // 80 connections from 10 sources against a table of 64: eviction starts at 56
    await new Promise((r) => setTimeout(r, 250));
    const first = await wave(10);
    await new Promise((r) => setTimeout(r, 300));
    const second = await wave(30);
    await waitFor(() => (layer.connectionStats("TCP")?.evicted ?? 0) > 0, 5000, "evictions");
    const stats = layer.connectionStats("TCP");
    expect(stats?.open).toBeLessThanOrEqual(64);
    expect(stats?.evicted).toBeGreaterThan(0);
    // the oldest went first: more of the first wave is gone than of the second
    await waitFor(() => first.filter((a) => a.closed()).length > 0, 5000, "first wave evicted");
    expect(first.filter((a) => a.closed()).length).toBeGreaterThanOrEqual(second.filter((a) => a.closed()).length);
    const evictions = closed.filter((c) => c.reason === "evicted");
    expect(evictions.length).toBeGreaterThan(0);
    expect(evictions.every((c) => c.code === "E_SIP_EVICTED" && c.remote.host !== "127.0.0.3")).toBe(true);
    // alice's flow survived: she calls over it and refreshes her registration
    const call = await alice.call(`sip:bob@${DOMAIN}`);
    expect(call.sip.state).toBe("established");
    await call.hangup();
    expect((await alice.register()).expires).toBeGreaterThan(0);
    expect(closed.filter((c) => c.remote.host === "127.0.0.3")).toHaveLength(0);
  }, 60_000);
});
