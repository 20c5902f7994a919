/**
 * e2ae TLS termination at the IMS-AGW (TR 29.828 §5.2.1.2.2/§5.2.1.2.3): access TLS ↔ core TCP relay, fingerprint
 * verification of the UE certificate, terminating step 12 → 14 (handshake before the fingerprint is configured),
 * backpressure on a large transfer. Real sockets on 127.0.0.1.
 */
import { createHash } from "node:crypto";
import tls from "node:tls";
import { afterEach, beforeEach, describe, expect, it } from "vitest";
import { ImsAgw } from "../../../src/ims/agw/agw.ts";
import type { AgwConnectionPoint } from "../../../src/ims/agw/iqTypes.ts";
import { AuditLog } from "../../../src/log.ts";
import { fingerprintOf, type SessionCertificate } from "../../../src/security/certificate.ts";
import {
  CorePeer,
  closed,
  collect,
  EventRecorder,
  LOOPBACK,
  newCertificate,
  patternChunk,
  sleep,
  ueConnect,
  waitFor,
} from "./helpers.ts";

let agw: ImsAgw;
let audit: AuditLog;
let rec: EventRecorder;
let core: CorePeer;
const cleanups: (() => unknown)[] = [];

beforeEach(async () => {
  audit = new AuditLog();
  agw = new ImsAgw({ audit, timers: { handshakeMs: 3000, fingerprintWaitMs: 3000 } });
  rec = new EventRecorder(agw);
  core = await CorePeer.start();
});

afterEach(async () => {
  for (const c of cleanups.splice(0)) await c();
  rec.stop();
  await agw.close();
  await core.close();
});

/** Originating e2ae (TR 29.828 §5.2.1.2.2): steps 2-4, 5-7 and 13-15. */
async function originating(ue: SessionCertificate, opts: { configureCore?: boolean } = {}) {
  // steps 2-4: Reserve AGW Connection Point, core side, "TCP/MSRP"
  const coreTerm = await agw.reserveAgwConnectionPoint({ side: "core", transport: "TCP/MSRP" });
  // steps 5-7: Reserve and Configure AGW Connection Point, access side, UE address/port/fingerprint
  const access = await agw.reserveAndConfigureAgwConnectionPoint({
    contextId: coreTerm.contextId,
    side: "access",
    transport: "TCP/TLS/MSRP",
    localCertificateFingerprintRequest: true,
    notifyTlsSessionEstablishmentFailureEvent: true,
    remote: { address: LOOPBACK, port: 9, setup: "active", certificateFingerprints: [ue.fingerprint] },
  });
  if (opts.configureCore !== false) {
    // steps 13-15: Configure AGW Connection Point, core side, remote address from the SDP answer
    await agw.configureAgwConnectionPoint({
      contextId: coreTerm.contextId,
      terminationId: coreTerm.terminationId,
      remote: { address: LOOPBACK, port: core.port, setup: "passive" },
    });
  }
  return { coreTerm, access };
}

function expectAgwFingerprint(s: tls.TLSSocket, access: AgwConnectionPoint) {
  const der = s.getPeerX509Certificate()?.raw;
  expect(der).toBeDefined();
  expect(access.localCertificateFingerprint?.hash).toBe("sha-256");
  expect(fingerprintOf(der as Buffer).value).toBe(access.localCertificateFingerprint?.value);
}

describe("access TLS ↔ core TCP relay", () => {
  it("relays both directions after verifying the UE certificate; audit says fingerprint-verified", async () => {
    const ueCert = newCertificate();
    const { coreTerm, access } = await originating(ueCert);
    expect(access.localPort).toBeGreaterThan(0);
    const ue = await ueConnect(access.localPort, ueCert);
    cleanups.push(() => ue.destroy());
    expectAgwFingerprint(ue, access); // the UE can check the AGW's fingerprint from the SDP answer
    ue.write("MSRP a786hjs2 SEND\r\n");
    await waitFor(() => core.text().includes("SEND"), 3000, "core receives");
    // interlinkage (indication 3): the UE's connection made the AGW connect to the core
    expect(core.connections).toBe(1);
    const established = rec.of("tcpConnectionEstablished", coreTerm.terminationId)[0];
    expect(established?.direction).toBe("outgoing");
    expect(established?.trigger).toBe("interlinkage");
    core.socket?.write("MSRP a786hjs2 200 OK\r\n");
    const back = await collect(ue, 22);
    expect(back.toString()).toBe("MSRP a786hjs2 200 OK\r\n");
    const verified = audit.events.filter((e) => e.decision === "fingerprint-verified");
    expect(verified).toHaveLength(1);
    expect(verified[0]).toMatchObject({
      node: "agw",
      contextId: access.contextId,
      terminationId: access.terminationId,
      peerAddress: LOOPBACK,
      presented: ueCert.fingerprint,
      expected: [ueCert.fingerprint],
    });
    expect(String(verified[0]?.clause)).toContain("RFC 8122");
    expect(rec.of("tlsSessionEstablished", access.terminationId)[0]?.role).toBe("server");
    expect(rec.of("relayStarted")).toHaveLength(2);
    const released = await agw.releaseAgwContext({ contextId: access.contextId });
    const a = released.terminations.find((t) => t.terminationId === access.terminationId);
    expect(a?.statistics).toEqual({ octetsReceived: 20, octetsSent: 22 });
    expect(await closed(ue)).toBe(true);
  });

  it("a Configure repeating the TLS role in use is accepted (steps 16-18 after the handshake); another role is not", async () => {
    const ueCert = newCertificate();
    const { access } = await originating(ueCert);
    const ue = await ueConnect(access.localPort, ueCert);
    cleanups.push(() => ue.destroy());
    await waitFor(() => rec.of("tlsSessionEstablished", access.terminationId).length === 1, 3000, "TLS up");
    // the role was resolved from the UE's a=setup:active (AGW = TLS server); the IMS-ALG's TLS setup direction
    // arrives afterwards and says the same
    const ids = { contextId: access.contextId, terminationId: access.terminationId };
    await expect(agw.configureAgwConnectionPoint({ ...ids, tlsRole: "server" })).resolves.toMatchObject(ids);
    await expect(agw.configureAgwConnectionPoint({ ...ids, tlsRole: "client" })).rejects.toMatchObject({
      code: "E_AGW_STATE",
    });
  });

  it("32 MiB each way arrive intact and in order; a slow core back-pressures the UE (bounded AGW buffers)", async () => {
    const ueCert = newCertificate();
    core.paused = true; // the core peer does not read at first
    const { access } = await originating(ueCert);
    const ue = await ueConnect(access.localPort, ueCert);
    cleanups.push(() => ue.destroy());
    await waitFor(() => core.socket !== undefined, 3000, "core connection");
    const coreSock = core.socket as NonNullable<typeof core.socket>;
    await rec.next("relayStarted");
    const TOTAL = 32 * 1024 * 1024;
    const CHUNK = 256 * 1024;
    const sendHash = createHash("sha256");
    const backHash = createHash("sha256");
    // UE → core, with backpressure on the UE side
    let sent = 0;
    let ueBlocked = 0;
    const pump = () => {
      while (sent < TOTAL) {
        const c = patternChunk(sent / CHUNK, CHUNK);
        sendHash.update(c);
        sent += c.length;
        if (!ue.write(c)) {
          ueBlocked++;
          ue.once("drain", pump);
          return;
        }
      }
      ue.end();
    };
    pump();
    // while the core does not read, the AGW must stop reading the UE: its own queues stay bounded
    await sleep(700);
    const view = agw.inspectContext(access.contextId);
    const coreView = view?.terminations.find((t) => t.side === "core");
    expect(coreView?.writableLength ?? 0).toBeLessThanOrEqual(2 * 1024 * 1024);
    expect(sent).toBeLessThan(TOTAL); // the UE is blocked by backpressure
    expect(ueBlocked).toBeGreaterThan(0);
    // core → UE, concurrently
    let back = 0;
    ue.on("data", (d: Buffer) => {
      back += d.length;
      backHash.update(d);
    });
    const coreSendHash = createHash("sha256");
    let coreSent = 0;
    const corePump = () => {
      while (coreSent < TOTAL) {
        const c = patternChunk(1_000_000 + coreSent / CHUNK, CHUNK);
        coreSendHash.update(c);
        coreSent += c.length;
        if (!coreSock.write(c)) {
          coreSock.once("drain", corePump);
          return;
        }
      }
      // the UE's TLS socket is not half-open capable: FIN only after everything arrived from it
      void waitFor(() => core.bytes >= TOTAL, 25_000, "core input").then(() => coreSock.end());
    };
    corePump();
    coreSock.resume();
    await waitFor(() => core.bytes >= TOTAL && back >= TOTAL, 25_000, "32 MiB both ways").catch((e) => {
      console.log({
        sent,
        coreSent,
        coreBytes: core.bytes,
        back,
        view: JSON.stringify(agw.inspectContext(access.contextId)),
      });
      throw e;
    });
    expect(core.bytes).toBe(TOTAL);
    expect(core.digest()).toBe(sendHash.digest("hex"));
    expect(back).toBe(TOTAL);
    expect(backHash.digest("hex")).toBe(coreSendHash.digest("hex"));
    // both sides sent FIN: half-close handled, the relay ends cleanly
    const ended = await rec.next("relayEnded", access.terminationId, 5000);
    expect(ended.reason).toBe("closed");
    expect(ended.statistics).toEqual({ octetsReceived: TOTAL, octetsSent: TOTAL });
  }, 40_000);

  it("half-close: the UE's FIN reaches the core while the core can still answer", async () => {
    const ueCert = newCertificate();
    const { access } = await originating(ueCert);
    const ue = await ueConnect(access.localPort, ueCert);
    cleanups.push(() => ue.destroy());
    ue.end("last words");
    await waitFor(() => core.socket?.readableEnded === true, 3000, "FIN at the core");
    expect(core.text()).toBe("last words");
    core.socket?.end("reply after FIN");
    const got = await collect(ue, 15);
    expect(got.toString()).toBe("reply after FIN");
    expect((await rec.next("relayEnded", access.terminationId)).reason).toBe("closed");
  });
});

describe("fingerprint mismatch (RFC 8122 §5.1: MUST NOT establish the TLS connection)", () => {
  it("a UE with the wrong certificate is refused; failure event; the core never gets a byte", async () => {
    const signalled = newCertificate();
    const attacker = newCertificate();
    const { access } = await originating(signalled);
    let ueClosed = false;
    let ue: tls.TLSSocket | undefined;
    try {
      ue = await ueConnect(access.localPort, attacker);
      cleanups.push(() => ue?.destroy());
      ue.on("error", () => {});
      ue.on("close", () => {
        ueClosed = true;
      });
      ue.write("MSRP evil SEND\r\n"); // TLS 1.3: the client may send before the server checked its certificate
    } catch {
      ueClosed = true; // refused during the handshake
    }
    const failure = await rec.next("tlsSessionEstablishmentFailure", access.terminationId);
    expect(failure.reason).toBe("fingerprint-mismatch");
    expect(failure.peerCertificateFingerprint).toEqual(attacker.fingerprint);
    await waitFor(() => ueClosed, 3000, "UE connection closed");
    await sleep(200);
    expect(core.bytes).toBe(0);
    expect(rec.of("relayStarted")).toHaveLength(0);
    const mismatch = audit.events.filter((e) => e.decision === "fingerprint-mismatch");
    expect(mismatch).toHaveLength(1);
    expect(mismatch[0]).toMatchObject({ presented: attacker.fingerprint, expected: [signalled.fingerprint] });
    // the termination keeps listening: the genuine UE still gets through afterwards
    const good = await ueConnect(access.localPort, signalled);
    cleanups.push(() => good.destroy());
    good.write("hello");
    await waitFor(() => core.text() === "hello", 3000, "genuine UE relayed");
  });

  it("without interlinkage, the core listener records nothing at all", async () => {
    const signalled = newCertificate();
    const coreTerm = await agw.reserveAndConfigureAgwConnectionPoint({
      side: "core",
      transport: "TCP/MSRP",
      tcpEstablishmentInterlinkage: false,
      remote: { address: LOOPBACK, port: core.port, setup: "passive" },
    });
    const access = await agw.reserveAndConfigureAgwConnectionPoint({
      contextId: coreTerm.contextId,
      side: "access",
      transport: "TCP/TLS/MSRP",
      notifyTlsSessionEstablishmentFailureEvent: true,
      remote: { address: LOOPBACK, port: 9, setup: "active", certificateFingerprints: [signalled.fingerprint] },
    });
    const ue = await ueConnect(access.localPort, newCertificate()).catch(() => undefined);
    ue?.on("error", () => {});
    ue?.write("x");
    await rec.next("tlsSessionEstablishmentFailure", access.terminationId);
    await sleep(200);
    ue?.destroy();
    expect(core.connections).toBe(0);
    expect(core.bytes).toBe(0);
  });

  it("the strongest signalled hash decides (RFC 8122 §5.1)", async () => {
    const ueCert = newCertificate();
    const other = newCertificate();
    // sha-256 matches but sha-512 (stronger) does not: refused
    const coreTerm = await agw.reserveAgwConnectionPoint({ side: "core", transport: "TCP" });
    const access = await agw.reserveAndConfigureAgwConnectionPoint({
      contextId: coreTerm.contextId,
      side: "access",
      transport: "TCP/TLS",
      notifyTlsSessionEstablishmentFailureEvent: true,
      remote: {
        address: LOOPBACK,
        port: 9,
        setup: "active",
        certificateFingerprints: [ueCert.fingerprintFor("sha-256"), other.fingerprintFor("sha-512")],
      },
    });
    const ue = await ueConnect(access.localPort, ueCert).catch(() => undefined);
    ue?.on("error", () => {});
    const f = await rec.next("tlsSessionEstablishmentFailure", access.terminationId);
    expect(f.reason).toBe("fingerprint-mismatch");
    const a = audit.events.find((e) => e.decision === "fingerprint-mismatch");
    expect(a?.presented).toEqual(ueCert.fingerprint);
    ue?.destroy();
  });
});

describe("terminating step 12 → 14: the UE handshakes before the fingerprint is configured", () => {
  async function terminating() {
    // steps 2-4: access side first, local fingerprint requested, no remote fingerprint yet
    const access = await agw.reserveAgwConnectionPoint({
      side: "access",
      transport: "TCP/TLS/MSRP",
      localCertificateFingerprintRequest: true,
      notifyTlsSessionEstablishmentFailureEvent: true,
    });
    // steps 5-7: core side with the remote peer's address (offer from the core)
    await agw.reserveAndConfigureAgwConnectionPoint({
      contextId: access.contextId,
      side: "core",
      transport: "TCP/MSRP",
      remote: { address: LOOPBACK, port: core.port, setup: "passive" },
    });
    return access;
  }

  it("holds the UE's data until Configure brings the right fingerprint, then relays it", async () => {
    const ueCert = newCertificate();
    const access = await terminating();
    const ue = await ueConnect(access.localPort, ueCert); // step 10-12: UE B active, starts TLS
    cleanups.push(() => ue.destroy());
    ue.write("MSRP early SEND\r\n");
    await waitFor(
      () => agw.inspectContext(access.contextId)?.terminations[0]?.state === "awaiting-fingerprint",
      3000,
      "awaiting-fingerprint",
    );
    await sleep(300);
    expect(core.bytes).toBe(0); // nothing reaches the core before step 14
    expect(audit.events.filter((e) => e.decision.startsWith("fingerprint"))).toHaveLength(0);
    // steps 14-16: Configure AGW Connection Point with the UE's fingerprint from the SDP answer
    const r = await agw.configureAgwConnectionPoint({
      contextId: access.contextId,
      terminationId: access.terminationId,
      remote: { address: LOOPBACK, port: 9, setup: "active", certificateFingerprints: [ueCert.fingerprint] },
    });
    expect(["ready", "relaying"]).toContain(r.state);
    await waitFor(() => core.text() === "MSRP early SEND\r\n", 3000, "held data relayed");
    expect(audit.events.filter((e) => e.decision === "fingerprint-verified")).toHaveLength(1);
  });

  it("a wrong fingerprint at step 14 destroys the held connection; nothing was relayed", async () => {
    const access = await terminating();
    const ue = await ueConnect(access.localPort, newCertificate());
    ue.on("error", () => {});
    ue.write("MSRP early SEND\r\n");
    await waitFor(
      () => agw.inspectContext(access.contextId)?.terminations[0]?.state === "awaiting-fingerprint",
      3000,
      "awaiting-fingerprint",
    );
    await agw.configureAgwConnectionPoint({
      contextId: access.contextId,
      terminationId: access.terminationId,
      remote: { certificateFingerprints: [newCertificate().fingerprint] },
    });
    expect(await closed(ue)).toBe(true);
    expect((await rec.next("tlsSessionEstablishmentFailure", access.terminationId)).reason).toBe(
      "fingerprint-mismatch",
    );
    await sleep(200);
    expect(core.bytes).toBe(0);
  });

  it("the wait for the fingerprint is bounded (fingerprint-timeout)", async () => {
    agw = new ImsAgw({ audit, timers: { fingerprintWaitMs: 300 } });
    rec = new EventRecorder(agw);
    const access = await terminating();
    const ue = await ueConnect(access.localPort, newCertificate());
    ue.on("error", () => {});
    ue.write("data");
    const f = await rec.next("tlsSessionEstablishmentFailure", access.terminationId, 3000);
    expect(f.reason).toBe("fingerprint-timeout");
    expect(await closed(ue)).toBe(true);
    expect(core.bytes).toBe(0);
    expect(audit.events.some((e) => e.decision === "handshake-failed" && e.reason === "fingerprint-timeout")).toBe(
      true,
    );
  });
});

describe("TLS handshake failures", () => {
  it("a client without a certificate fails (RFC 8122 §6.2); a non-TLS client fails; both audited", async () => {
    const ueCert = newCertificate();
    const { access } = await originating(ueCert);
    const { connect } = await import("node:tls");
    const noCert = connect({ host: LOOPBACK, port: access.localPort, rejectUnauthorized: false });
    noCert.on("error", () => {});
    const f1 = await rec.next("tlsSessionEstablishmentFailure", access.terminationId);
    expect(["no-peer-certificate", "handshake-failed"]).toContain(f1.reason);
    noCert.destroy();
    const { tcpConnect } = await import("./helpers.ts");
    const plain = await tcpConnect(access.localPort);
    plain.on("error", () => {});
    plain.write("GET / HTTP/1.0\r\n\r\n");
    const f2 = await rec.next("tlsSessionEstablishmentFailure", access.terminationId, 5000, 2);
    expect(f2.reason).toBe("handshake-failed");
    plain.destroy();
    expect(audit.events.filter((e) => e.decision === "handshake-failed").length).toBeGreaterThanOrEqual(2);
    expect(core.bytes).toBe(0);
  });

  it("a silent client hits the handshake timeout", async () => {
    agw = new ImsAgw({ audit, timers: { handshakeMs: 200 } });
    rec = new EventRecorder(agw);
    const { access } = await originating(newCertificate());
    const { tcpConnect } = await import("./helpers.ts");
    const silent = await tcpConnect(access.localPort);
    silent.on("error", () => {});
    const f = await rec.next("tlsSessionEstablishmentFailure", access.terminationId, 3000);
    expect(f.reason).toBe("handshake-timeout");
    await waitFor(() => silent.readableEnded || silent.destroyed, 3000, "AGW closed the silent connection");
  });
});

describe("certificate scope", () => {
  it("distinct certificates by default (scope 'termination'); one shared certificate with certificateScope 'agw'", async () => {
    const fps = async (a: ImsAgw) => {
      const out: string[] = [];
      for (let i = 0; i < 2; i++) {
        const t = await a.reserveAgwConnectionPoint({
          side: "access",
          transport: "TCP/TLS",
          localCertificateFingerprintRequest: true,
        });
        out.push(t.localCertificateFingerprint?.value ?? "");
      }
      return out;
    };
    const perTermination = new ImsAgw();
    try {
      const [p1, p2] = await fps(perTermination);
      expect(p1).not.toBe(p2);
    } finally {
      await perTermination.close();
    }
    const shared = new ImsAgw({ certificateScope: "agw" });
    try {
      const [s1, s2] = await fps(shared);
      expect(s1).toBe(s2);
      // and it works: a UE verifies against it and is verified
      const ueCert = newCertificate();
      const t = await shared.reserveAndConfigureAgwConnectionPoint({
        side: "access",
        transport: "TCP/TLS",
        localCertificateFingerprintRequest: true,
        remote: { address: LOOPBACK, port: 9, setup: "active", certificateFingerprints: [ueCert.fingerprint] },
      });
      const r = new EventRecorder(shared);
      const ue = await ueConnect(t.localPort, ueCert);
      expectAgwFingerprint(ue, t);
      expect(t.localCertificateFingerprint?.value).toBe(s1);
      await r.next("tlsSessionEstablished", t.terminationId);
      ue.destroy();
      r.stop();
    } finally {
      await shared.close();
    }
  });
});

describe("cipher suite", () => {
  // RFC 8446 §9.1 / RFC 9325 §4.2: AES-128-GCM first, in the AGW's order even when the UE prefers AES-256-GCM
  for (const [maxVersion, cipher] of [
    ["TLSv1.3", "TLS_AES_128_GCM_SHA256"],
    ["TLSv1.2", "ECDHE-ECDSA-AES128-GCM-SHA256"],
  ] as const)
    it(`${maxVersion}: the AGW's preference (${cipher}) wins over the client's`, async () => {
      const ueCert = newCertificate();
      const t = await agw.reserveAndConfigureAgwConnectionPoint({
        side: "access",
        transport: "TCP/TLS",
        remote: { address: LOOPBACK, port: 9, setup: "active", certificateFingerprints: [ueCert.fingerprint] },
      });
      const r = new EventRecorder(agw);
      const ue = await ueConnect(t.localPort, ueCert, { maxVersion });
      try {
        // a Node/OpenSSL client lists AES-256-GCM before AES-128-GCM (the default list starts with it)
        expect(tls.DEFAULT_CIPHERS.split(":")[0]).toBe("TLS_AES_256_GCM_SHA384");
        expect(ue.getProtocol()).toBe(maxVersion);
        expect(ue.getCipher().standardName).toBe(
          maxVersion === "TLSv1.3" ? cipher : "TLS_ECDHE_ECDSA_WITH_AES_128_GCM_SHA256",
        );
        expect(ue.getCipher().name).toBe(cipher);
        await r.next("tlsSessionEstablished", t.terminationId);
      } finally {
        ue.destroy();
        r.stop();
      }
    });
});
