/**
 * TCP establishment control (TR 29.828 §4.4.2.1.2 indications 1-5, §4.4.2.2): immediate, delayed/drop,
 * delayed/hold with source filtering (127.0.0.2 vs 127.0.0.1), SYN-triggers-connect interlinkage, explicit
 * connect, and the AGW as TLS client ("Establish (D)TLS session").
 */
import net from "node:net";
import tls from "node:tls";
import { afterEach, beforeEach, describe, expect, it } from "vitest";
import { ImsAgw } from "../../../src/ims/agw/agw.ts";
import { AuditLog } from "../../../src/log.ts";
import { fingerprintOf } from "../../../src/security/certificate.ts";
import {
  CorePeer,
  collect,
  EventRecorder,
  FOREIGN,
  LOOPBACK,
  newCertificate,
  outcome,
  sleep,
  tcpConnect,
  waitFor,
} from "./helpers.ts";

let agw: ImsAgw;
let audit: AuditLog;
let rec: EventRecorder;
const sockets: net.Socket[] = [];
const peers: CorePeer[] = [];

beforeEach(() => {
  audit = new AuditLog();
  agw = new ImsAgw({ audit, timers: { handshakeMs: 3000 } });
  rec = new EventRecorder(agw);
});

afterEach(async () => {
  for (const s of sockets.splice(0)) s.destroy();
  rec.stop();
  await agw.close();
  for (const p of peers.splice(0)) await p.close();
});

function track<T extends net.Socket>(s: T): T {
  sockets.push(s);
  s.on("error", () => {});
  return s;
}

/** An "access" UE on plain TCP (MSRP without TLS keeps these tests about TCP control only). */
async function contextWithDelayedCore(policy: "drop" | "hold") {
  const coreTerm = await agw.reserveAgwConnectionPoint({
    side: "core",
    transport: "TCP/MSRP",
    tcpEstablishmentInterlinkage: false,
    // TR 29.828 §4.4.2.1.2 indication 4: reserve, but ignore incoming SYNs
    tcpEstablishment: { mode: "delayed", policy },
  });
  const access = await agw.reserveAgwConnectionPoint({
    contextId: coreTerm.contextId,
    side: "access",
    transport: "TCP/MSRP",
  });
  const ue = track(await tcpConnect(access.localPort)); // immediate mode: accepted at once
  await rec.next("tcpConnectionEstablished", access.terminationId);
  const ueGot: Buffer[] = [];
  ue.on("data", (d: Buffer) => ueGot.push(d));
  return { coreTerm, access, ue, ueText: () => Buffer.concat(ueGot).toString() };
}

/** Connects from `from`; writes `text` if the connection survives; resolves how it ended. */
async function remotePeer(port: number, from: string, text: string) {
  const s = track(net.connect({ host: LOOPBACK, port, localAddress: from, allowHalfOpen: true }));
  const end = outcome(s, 1500); // a refusal may even surface as ECONNRESET on connect
  s.once("connect", () => s.write(text, () => {}));
  return { s, end };
}

describe("delayed establishment, policy drop (TR 29.828 §4.4.2.2; Editor's note: SYN dropped)", () => {
  it("refuses everything before Configure, filters foreign sources after, accepts the configured source's retry", async () => {
    const { coreTerm, ueText } = await contextWithDelayedCore("drop");
    // before Configure: the configured-to-be source and a foreign one are both refused
    const early = await remotePeer(coreTerm.localPort, LOOPBACK, "early-from-good\n");
    expect(await early.end).not.toBe("open");
    const foreign1 = await remotePeer(coreTerm.localPort, FOREIGN, "early-from-foreign\n");
    expect(await foreign1.end).not.toBe("open");
    const refusedDelayed = audit.events.filter((e) => e.decision === "connection-refused-delayed");
    expect(refusedDelayed.map((e) => e.peerAddress).sort()).toEqual([LOOPBACK, FOREIGN].sort());
    expect(refusedDelayed[0]?.clause).toContain("4.4.2.2");
    // steps 13-15: Configure with the remote address (indication 5: accept only from it)
    await agw.configureAgwConnectionPoint({
      contextId: coreTerm.contextId,
      terminationId: coreTerm.terminationId,
      remote: { address: LOOPBACK, port: 9, setup: "active" },
    });
    const foreign2 = await remotePeer(coreTerm.localPort, FOREIGN, "late-from-foreign\n");
    expect(await foreign2.end).not.toBe("open");
    const filtered = audit.events.filter((e) => e.decision === "source-filtered");
    expect(filtered).toHaveLength(1);
    expect(filtered[0]).toMatchObject({ peerAddress: FOREIGN, expectedAddress: LOOPBACK });
    // the peer retries ("normal TCP behaviour") and now gets through
    const retry = await remotePeer(coreTerm.localPort, LOOPBACK, "MSRP retry SEND\r\n");
    await waitFor(() => ueText().includes("MSRP retry SEND"), 3000, "retry relayed");
    expect(retry.s.destroyed).toBe(false);
    expect(ueText()).not.toContain("early");
    expect(ueText()).not.toContain("foreign");
    expect(rec.of("tcpConnectionRefused", coreTerm.terminationId).map((e) => e.reason)).toEqual([
      "delayed-not-configured",
      "delayed-not-configured",
      "source-filtered",
    ]);
  });
});

describe("delayed establishment, policy hold (Editor's note: SYN stored)", () => {
  it("parks early connections unread; Configure adopts the configured source and destroys the foreign one", async () => {
    const { coreTerm, ueText } = await contextWithDelayedCore("hold");
    const good = await remotePeer(coreTerm.localPort, LOOPBACK, "MSRP parked SEND\r\n");
    const evil = await remotePeer(coreTerm.localPort, FOREIGN, "MSRP evil SEND\r\n");
    await rec.next("tcpConnectionParked", coreTerm.terminationId, 3000, 2);
    await sleep(300);
    expect(ueText()).toBe(""); // parked: not a byte read or forwarded
    await agw.configureAgwConnectionPoint({
      contextId: coreTerm.contextId,
      terminationId: coreTerm.terminationId,
      remote: { address: LOOPBACK, port: 9, setup: "active" },
    });
    await waitFor(() => ueText() === "MSRP parked SEND\r\n", 3000, "parked data relayed");
    expect(await evil.end).not.toBe("open");
    expect(audit.events.filter((e) => e.decision === "source-filtered").map((e) => e.peerAddress)).toEqual([FOREIGN]);
    // after Configure a new foreign connection is refused at once; the relayed one stays up
    const late = await remotePeer(coreTerm.localPort, FOREIGN, "MSRP late SEND\r\n");
    expect(await late.end).not.toBe("open");
    good.s.write("more");
    expect(good.s.destroyed).toBe(false);
    await waitFor(() => ueText().endsWith("more"), 3000, "relay still up");
    expect(ueText()).not.toContain("evil");
    expect(ueText()).not.toContain("late");
  });

  it("a parked connection is bounded by the hold timer", async () => {
    agw = new ImsAgw({ audit, timers: { holdMs: 200 } });
    rec = new EventRecorder(agw);
    const { coreTerm } = await contextWithDelayedCore("hold");
    const p = await remotePeer(coreTerm.localPort, LOOPBACK, "x");
    await rec.next("tcpConnectionParked", coreTerm.terminationId);
    expect(await p.end).not.toBe("open");
    expect(rec.of("tcpConnectionRefused", coreTerm.terminationId)[0]?.reason).toBe("hold-timeout");
  });
});

describe("immediate establishment and interlinkage (indications 1, 2, 3)", () => {
  it("immediate mode accepts at once; a peer-opened connection makes the AGW connect to the other side", async () => {
    const core = await CorePeer.start();
    peers.push(core);
    const coreTerm = await agw.reserveAndConfigureAgwConnectionPoint({
      side: "core",
      transport: "TCP/BFCP",
      remote: { address: LOOPBACK, port: core.port, setup: "passive" },
    });
    const access = await agw.reserveAgwConnectionPoint({
      contextId: coreTerm.contextId,
      side: "access",
      transport: "TCP/BFCP",
    });
    expect(core.connections).toBe(0); // nothing before a SYN
    const ue = track(await tcpConnect(access.localPort));
    const est = await rec.next("tcpConnectionEstablished", access.terminationId);
    expect(est.direction).toBe("incoming");
    await waitFor(() => core.connections === 1, 3000, "interlinked connect");
    expect(rec.of("tcpConnectionEstablished", coreTerm.terminationId)[0]?.trigger).toBe("interlinkage");
    ue.write(Buffer.from([0x20, 0x0d, 0, 0, 0, 0, 0, 1, 0, 1, 0, 1]));
    await waitFor(() => core.bytes === 12, 3000, "BFCP bytes relayed");
  });

  it("an interlinkage trigger waits for Configure when the other side's address is not known yet", async () => {
    const core = await CorePeer.start();
    peers.push(core);
    const coreTerm = await agw.reserveAgwConnectionPoint({ side: "core", transport: "TCP" });
    const access = await agw.reserveAgwConnectionPoint({
      contextId: coreTerm.contextId,
      side: "access",
      transport: "TCP",
    });
    const ue = track(await tcpConnect(access.localPort));
    ue.write("queued");
    await rec.next("tcpConnectionEstablished", access.terminationId);
    await sleep(100);
    expect(core.connections).toBe(0);
    await agw.configureAgwConnectionPoint({
      contextId: coreTerm.contextId,
      terminationId: coreTerm.terminationId,
      remote: { address: LOOPBACK, port: core.port },
    });
    await waitFor(() => core.text() === "queued", 3000, "connected after Configure");
  });

  it("without interlinkage only the explicit connect request (indication 2) sends a SYN, once", async () => {
    const core = await CorePeer.start();
    peers.push(core);
    const coreTerm = await agw.reserveAndConfigureAgwConnectionPoint({
      side: "core",
      transport: "TCP/MSRP",
      tcpEstablishmentInterlinkage: false,
      remote: { address: LOOPBACK, port: core.port, setup: "passive" },
    });
    const access = await agw.reserveAgwConnectionPoint({
      contextId: coreTerm.contextId,
      side: "access",
      transport: "TCP/MSRP",
    });
    const ue = track(await tcpConnect(access.localPort));
    await rec.next("tcpConnectionEstablished", access.terminationId);
    await sleep(200);
    expect(core.connections).toBe(0);
    const req = { contextId: coreTerm.contextId, terminationId: coreTerm.terminationId, tcpConnect: true } as const;
    await agw.configureAgwConnectionPoint(req);
    await agw.configureAgwConnectionPoint(req); // idempotent: "check … if it already sent a TCP SYN before"
    await waitFor(() => core.connections === 1, 3000, "explicit connect");
    core.socket?.write("from core");
    await waitFor(() => ue.readableLength > 0 || ue.bytesRead > 0, 3000, "relayed to UE");
    await sleep(200);
    expect(core.connections).toBe(1);
    expect(rec.of("tcpConnectionEstablished", coreTerm.terminationId)[0]?.trigger).toBe("request");
  });

  it("a failed explicit connect is reported (tcpConnectFailure)", async () => {
    const closedPort = await new Promise<number>((r) => {
      const s = net.createServer().listen(0, LOOPBACK, () => {
        const p = (s.address() as net.AddressInfo).port;
        s.close(() => r(p));
      });
    });
    const t = await agw.reserveAndConfigureAgwConnectionPoint({
      side: "core",
      transport: "TCP",
      tcpConnect: true,
      remote: { address: LOOPBACK, port: closedPort },
    });
    const f = await rec.next("tcpConnectFailure", t.terminationId);
    expect(f.reason).toBe("ECONNREFUSED");
  });

  it("the reserve→connect timer fires tcpEstablishmentTimeout and stops accepting", async () => {
    const t = await agw.reserveAgwConnectionPoint({ side: "core", transport: "TCP", timers: { establishmentMs: 150 } });
    await rec.next("tcpEstablishmentTimeout", t.terminationId, 2000);
    const s = net.connect(t.localPort, LOOPBACK);
    const how = await outcome(track(s), 1500);
    expect(how).toBe("error"); // ECONNREFUSED: the listener is gone
  });
});

describe("the AGW as TLS client (TS 23.334 'Establish (D)TLS session')", () => {
  /** The UE as TLS server with its own certificate; records the AGW's client certificate fingerprint. */
  async function ueTlsServer(cert = newCertificate()) {
    const seen: string[] = [];
    const got: Buffer[] = [];
    const server = tls.createServer(
      { cert: cert.certPem, key: cert.keyPem, requestCert: true, rejectUnauthorized: false },
      (s) => {
        const der = s.getPeerX509Certificate()?.raw;
        if (der) seen.push(fingerprintOf(der).value);
        s.on("error", () => {});
        s.on("data", (d: Buffer) => got.push(d));
        s.write("hello from UE B");
        sockets.push(s);
      },
    );
    await new Promise<void>((r) => server.listen(0, LOOPBACK, () => r()));
    const port = (server.address() as net.AddressInfo).port;
    return { server, port, cert, seen, text: () => Buffer.concat(got).toString() };
  }

  it("connects out, handshakes as client, verifies the UE's server certificate, relays", async () => {
    const ue = await ueTlsServer();
    const core = await CorePeer.start();
    peers.push(core);
    try {
      const coreTerm = await agw.reserveAndConfigureAgwConnectionPoint({
        side: "core",
        transport: "TCP/BFCP",
        remote: { address: LOOPBACK, port: core.port, setup: "passive" },
        tcpConnect: true,
      });
      const access = await agw.reserveAndConfigureAgwConnectionPoint({
        contextId: coreTerm.contextId,
        side: "access",
        transport: "TCP/TLS/BFCP",
        establishTlsSession: true,
        localCertificateFingerprintRequest: true,
        remote: { address: LOOPBACK, port: ue.port, setup: "passive", certificateFingerprints: [ue.cert.fingerprint] },
        tcpConnect: true,
      });
      const est = await rec.next("tlsSessionEstablished", access.terminationId);
      expect(est.role).toBe("client");
      expect(est.peerCertificateFingerprint).toEqual(ue.cert.fingerprint);
      await waitFor(() => core.text() === "hello from UE B", 3000, "UE data at the core");
      expect(ue.seen).toEqual([access.localCertificateFingerprint?.value]); // the AGW presented its certificate
      core.socket?.write("floor granted");
      await waitFor(() => ue.text() === "floor granted", 3000, "core data at the UE");
    } finally {
      for (const x of sockets.splice(0)) x.destroy();
      await new Promise<void>((r) => ue.server.close(() => r()));
    }
  });

  it("MSRP originating with an active remote peer (§5.2.1.2.2 steps 10, 11, 21): SYN on core ⇒ AGW connects to UE A as TLS client", async () => {
    const ue = await ueTlsServer(); // UE A offered actpass: it listens
    try {
      const coreTerm = await agw.reserveAgwConnectionPoint({ side: "core", transport: "TCP/MSRP" }); // steps 2-4
      const access = await agw.reserveAndConfigureAgwConnectionPoint({
        contextId: coreTerm.contextId,
        side: "access",
        transport: "TCP/TLS/MSRP",
        localCertificateFingerprintRequest: true,
        remote: { address: LOOPBACK, port: ue.port, setup: "actpass", certificateFingerprints: [ue.cert.fingerprint] },
      }); // steps 5-7
      const remotePeerSock = track(await tcpConnect(coreTerm.localPort)); // step 10: the remote peer is active
      const got: Buffer[] = [];
      remotePeerSock.on("data", (d: Buffer) => got.push(d));
      // step 11: interlinkage sends the SYN toward UE A; step 21: the AGW (TCP-active) is TLS client
      const est = await rec.next("tlsSessionEstablished", access.terminationId);
      expect(est.role).toBe("client");
      expect(rec.of("tcpConnectionEstablished", access.terminationId)[0]?.trigger).toBe("interlinkage");
      await waitFor(() => ue.seen.length > 0, 3000, "UE A's side of the handshake"); // TLS 1.3: client finishes first
      expect(ue.seen).toEqual([access.localCertificateFingerprint?.value]);
      await waitFor(() => Buffer.concat(got).toString() === "hello from UE B", 3000, "UE A data at the remote peer");
      remotePeerSock.write("MSRP x SEND\r\n");
      await waitFor(() => ue.text() === "MSRP x SEND\r\n", 3000, "remote data at UE A");
    } finally {
      for (const x of sockets.splice(0)) x.destroy();
      await new Promise<void>((r) => ue.server.close(() => r()));
    }
  });

  it("a UE server with the wrong certificate is refused and nothing is relayed", async () => {
    const ue = await ueTlsServer();
    const core = await CorePeer.start();
    peers.push(core);
    try {
      const coreTerm = await agw.reserveAndConfigureAgwConnectionPoint({
        side: "core",
        transport: "TCP",
        remote: { address: LOOPBACK, port: core.port },
        tcpConnect: true,
      });
      const access = await agw.reserveAndConfigureAgwConnectionPoint({
        contextId: coreTerm.contextId,
        side: "access",
        transport: "TCP/TLS",
        establishTlsSession: true,
        notifyTlsSessionEstablishmentFailureEvent: true,
        remote: { address: LOOPBACK, port: ue.port, certificateFingerprints: [newCertificate().fingerprint] },
        tcpConnect: true,
      });
      const f = await rec.next("tlsSessionEstablishmentFailure", access.terminationId);
      expect(f.reason).toBe("fingerprint-mismatch");
      await sleep(200);
      expect(core.bytes).toBe(0);
    } finally {
      for (const x of sockets.splice(0)) x.destroy();
      await new Promise<void>((r) => ue.server.close(() => r()));
    }
  });

  it("BFCP terminating (§5.2.1.3.3 steps 10-14): UE B opens TCP, the AGW starts TLS, verifies at Configure", async () => {
    const core = await CorePeer.start();
    peers.push(core);
    const ueCert = newCertificate();
    // steps 2-4: access side, "Establish (D)TLS session", local fingerprint requested
    const access = await agw.reserveAgwConnectionPoint({
      side: "access",
      transport: "TCP/TLS/BFCP",
      establishTlsSession: true,
      localCertificateFingerprintRequest: true,
    });
    // steps 5-7: core side
    await agw.reserveAndConfigureAgwConnectionPoint({
      contextId: access.contextId,
      side: "core",
      transport: "TCP/BFCP",
      remote: { address: LOOPBACK, port: core.port, setup: "passive" },
    });
    // step 10: UE B is TCP-active; step 12: the AGW (TLS client) starts the handshake on that connection
    const raw = track(await tcpConnect(access.localPort));
    const ueTls = track(
      new tls.TLSSocket(raw, {
        isServer: true,
        cert: ueCert.certPem,
        key: ueCert.keyPem,
        requestCert: true,
        rejectUnauthorized: false,
      }),
    );
    await new Promise<void>((r) => ueTls.once("secure", () => r()));
    ueTls.write(Buffer.from([0x20, 0x0d, 0, 0, 0, 0, 0, 1, 0, 1, 0, 1])); // BFCP Hello
    await sleep(200);
    expect(core.bytes).toBe(0); // step 12: wait until step 14 to verify
    // steps 14-16: Configure with UE B's fingerprint from the SDP answer
    await agw.configureAgwConnectionPoint({
      contextId: access.contextId,
      terminationId: access.terminationId,
      remote: { address: LOOPBACK, port: 9, setup: "active", certificateFingerprints: [ueCert.fingerprint] },
    });
    await waitFor(() => core.bytes === 12, 3000, "Hello relayed");
    expect(rec.of("tlsSessionEstablished", access.terminationId)[0]?.role).toBe("client");
    core.socket?.write(Buffer.from([0x20, 0x0e, 0, 0, 0, 0, 0, 1, 0, 1, 0, 1]));
    const back = await collect(ueTls, 12);
    expect(back[1]).toBe(0x0e);
  });
});
