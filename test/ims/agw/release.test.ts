/**
 * Release frees every socket and timer: process.getActiveResourcesInfo() returns to its baseline after contexts in
 * every state (relaying, parked, awaiting fingerprint, connecting, listening) are released.
 */
import type net from "node:net";
import { describe, expect, it } from "vitest";
import { ImsAgw } from "../../../src/ims/agw/agw.ts";
import { CorePeer, EventRecorder, LOOPBACK, newCertificate, sleep, tcpConnect, ueConnect, waitFor } from "./helpers.ts";

function resources(): Record<string, number> {
  const out: Record<string, number> = {};
  for (const r of process.getActiveResourcesInfo()) out[r] = (out[r] ?? 0) + 1;
  return out;
}

describe("release", () => {
  it("frees every socket and timer of the AGW", async () => {
    const core = await CorePeer.start();
    const ueCert = newCertificate();
    await sleep(50);
    const before = resources();

    const agw = new ImsAgw({ timers: { idleMs: 60_000 } });
    const rec = new EventRecorder(agw);
    const clients: net.Socket[] = [];
    // 1) a relaying e2ae context (idle timer armed)
    const c1core = await agw.reserveAndConfigureAgwConnectionPoint({
      side: "core",
      transport: "TCP/MSRP",
      remote: { address: LOOPBACK, port: core.port, setup: "passive" },
    });
    const c1acc = await agw.reserveAndConfigureAgwConnectionPoint({
      contextId: c1core.contextId,
      side: "access",
      transport: "TCP/TLS/MSRP",
      remote: { address: LOOPBACK, port: 9, setup: "active", certificateFingerprints: [ueCert.fingerprint] },
    });
    const ue = await ueConnect(c1acc.localPort, ueCert);
    ue.on("error", () => {});
    clients.push(ue);
    await rec.next("relayStarted", c1acc.terminationId);
    // 2) delayed/hold with a parked connection (hold timer)
    const c2 = await agw.reserveAgwConnectionPoint({
      side: "core",
      transport: "TCP",
      tcpEstablishment: { mode: "delayed", policy: "hold" },
    });
    const parked = await tcpConnect(c2.localPort);
    parked.on("error", () => {});
    clients.push(parked);
    await rec.next("tcpConnectionParked", c2.terminationId);
    // 3) TLS up, waiting for the fingerprint (fingerprint timer)
    const c3 = await agw.reserveAgwConnectionPoint({ side: "access", transport: "TCP/TLS" });
    const early = await ueConnect(c3.localPort, newCertificate());
    early.on("error", () => {});
    clients.push(early);
    await waitFor(
      () => agw.inspectContext(c3.contextId)?.terminations[0]?.state === "awaiting-fingerprint",
      3000,
      "awaiting-fingerprint",
    );
    // 4) a silent TCP connection in TLS handshake (handshake timer)
    const c4 = await agw.reserveAgwConnectionPoint({ side: "access", transport: "TCP/TLS" });
    const silent = await tcpConnect(c4.localPort);
    silent.on("error", () => {});
    clients.push(silent);
    await waitFor(() => agw.inspectContext(c4.contextId)?.terminations[0]?.state === "tls-handshake", 3000, "hs");
    // 5) an outgoing connect toward a peer that never answers the SYN? (not on loopback) — a plain listener instead
    const c5 = await agw.reserveAgwConnectionPoint({ side: "core", transport: "TCP/BFCP" });
    expect(c5.state).toBe("reserved");

    const during = resources();
    expect(during.TCPServerWrap ?? 0).toBeGreaterThan(before.TCPServerWrap ?? 0);
    expect(during.Timeout ?? 0).toBeGreaterThan(before.Timeout ?? 0);

    for (const id of [c1core.contextId, c2.contextId, c3.contextId, c4.contextId, c5.contextId]) {
      const r = await agw.releaseAgwContext({ contextId: id });
      expect(r.contextId).toBe(id);
    }
    expect(agw.contextCount).toBe(0);
    for (const c of clients) c.destroy();
    for (const s of core.sockets) s.destroy();
    rec.stop();
    await waitFor(
      () => {
        const now = resources();
        return Object.keys({ ...before, ...now }).every((k) => (now[k] ?? 0) <= (before[k] ?? 0));
      },
      3000,
      "resources back to baseline",
    ).catch((e) => {
      console.log({ before, after: resources() });
      throw e;
    });
    await agw.close();
    await core.close();
  });

  it("releasing one termination of a relaying context tears the relay down and reports statistics", async () => {
    const core = await CorePeer.start();
    const agw = new ImsAgw();
    const rec = new EventRecorder(agw);
    try {
      const t1 = await agw.reserveAndConfigureAgwConnectionPoint({
        side: "core",
        transport: "TCP",
        remote: { address: LOOPBACK, port: core.port },
      });
      const t2 = await agw.reserveAgwConnectionPoint({ contextId: t1.contextId, side: "access", transport: "TCP" });
      const ue = await tcpConnect(t2.localPort);
      ue.on("error", () => {});
      ue.write("0123456789");
      await waitFor(() => core.bytes === 10, 3000, "relayed");
      const r = await agw.releaseAgwConnectionPoint({ contextId: t2.contextId, terminationId: t2.terminationId });
      expect(r.statistics).toEqual({ octetsReceived: 10, octetsSent: 0 });
      expect((await rec.next("relayEnded", t1.terminationId)).reason).toBe("released");
      expect(agw.hasContext(t1.contextId)).toBe(true); // t1 is still there
      await agw.releaseAgwConnectionPoint({ contextId: t1.contextId, terminationId: t1.terminationId });
      expect(agw.hasContext(t1.contextId)).toBe(false); // the context goes with its last termination
      ue.destroy();
    } finally {
      rec.stop();
      await agw.close();
      await core.close();
    }
  });

  it("a context holds two terminations; limits are enforced with typed errors", async () => {
    const agw = new ImsAgw({ maxContexts: 1 });
    try {
      const a = await agw.reserveAgwConnectionPoint({ side: "core", transport: "TCP" });
      await agw.reserveAgwConnectionPoint({ contextId: a.contextId, side: "access", transport: "TCP" });
      await expect(
        agw.reserveAgwConnectionPoint({ contextId: a.contextId, side: "access", transport: "TCP" }),
      ).rejects.toMatchObject({ code: "E_AGW_CONTEXT_FULL" });
      await expect(agw.reserveAgwConnectionPoint({ side: "core", transport: "TCP" })).rejects.toMatchObject({
        code: "E_AGW_LIMIT",
      });
      await expect(
        agw.reserveAgwConnectionPoint({ side: "core", transport: "TCP", localPort: a.localPort }),
      ).rejects.toMatchObject({ code: "E_AGW_LIMIT" });
      await expect(
        agw.configureAgwConnectionPoint({ contextId: a.contextId, terminationId: "T99" }),
      ).rejects.toMatchObject({ code: "E_AGW_UNKNOWN_TERMINATION" });
      await expect(
        agw.configureAgwConnectionPoint({
          contextId: a.contextId,
          terminationId: a.terminationId,
          establishTlsSession: true,
        }),
      ).rejects.toMatchObject({ code: "E_AGW_INVALID_PARAM" });
      await expect(
        agw.configureAgwConnectionPoint({ contextId: a.contextId, terminationId: a.terminationId, tcpConnect: true }),
      ).rejects.toMatchObject({ code: "E_AGW_INVALID_PARAM" });
    } finally {
      await agw.close();
    }
    const agw2 = new ImsAgw();
    try {
      const a = await agw2.reserveAgwConnectionPoint({ side: "core", transport: "TCP" });
      await expect(
        agw2.reserveAgwConnectionPoint({ side: "core", transport: "TCP", localPort: a.localPort }),
      ).rejects.toMatchObject({ code: "E_AGW_BIND" });
      expect(agw2.contextCount).toBe(1);
    } finally {
      await agw2.close();
    }
    await expect(agw2.reserveAgwConnectionPoint({ side: "core", transport: "TCP" })).rejects.toMatchObject({
      code: "E_AGW_CLOSED",
    });
  });
});
