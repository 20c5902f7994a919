/**
 * Iq security (docs/agw.md "Iq security", SECURITY.md): WSS with mutual TLS and pinned fingerprints, the insecure
 * rule, per-controller quotas under a context flood, the address policy (no listener on all interfaces, no relay
 * toward an address outside the configured networks), isolation between controllers, and the release of a lost
 * controller's contexts after the grace period. Real sockets on 127.0.0.1; 10.255.255.1 is only ever refused.
 */
import tls from "node:tls";
import { afterEach, describe, expect, it } from "vitest";
import WebSocket from "ws";
import { ImsAgw, type ImsAgwOptions } from "../../../src/ims/agw/agw.ts";
import { AgwError } from "../../../src/ims/agw/iqErrors.ts";
import type { IqPin } from "../../../src/ims/agw/iqTls.ts";
import type { IqAgw } from "../../../src/ims/agw/iqTypes.ts";
import { IqWsClient, type IqWsClientOptions } from "../../../src/ims/agw/wsClient.ts";
import { IqWsServer, type IqWsServerOptions } from "../../../src/ims/agw/wsServer.ts";
import { AuditLog } from "../../../src/log.ts";
import type { SessionCertificate } from "../../../src/security/certificate.ts";
import { CorePeer, EventRecorder, LOOPBACK, newCertificate, sleep, ueConnect, waitFor } from "./helpers.ts";

const AGW_CERT = newCertificate();
const PCSCF_A = newCertificate();
const PCSCF_B = newCertificate();
const STRANGER = newCertificate();
const pin = (name: string, c: SessionCertificate): IqPin => ({ name, fingerprint: c.fingerprint });

const cleanups: (() => Promise<unknown>)[] = [];
afterEach(async () => {
  for (const c of cleanups.splice(0).reverse()) await c().catch(() => {});
});

async function startAgw(agwOpts: ImsAgwOptions = {}, serverOpts: Partial<IqWsServerOptions> = {}) {
  const audit = new AuditLog();
  const agw = new ImsAgw({ audit, ...agwOpts });
  cleanups.push(() => agw.close());
  const server = await IqWsServer.listen({
    agw,
    pingIntervalMs: 0,
    tls: {
      certPem: AGW_CERT.certPem,
      keyPem: AGW_CERT.keyPem,
      controllers: [pin("pcscf-a", PCSCF_A), pin("pcscf-b", PCSCF_B)],
    },
    ...serverOpts,
  });
  cleanups.push(() => server.close());
  return { agw, audit, server };
}

async function controller(url: string, cert: SessionCertificate, opts: IqWsClientOptions = {}): Promise<IqWsClient> {
  const c = await IqWsClient.connect(url, {
    reconnect: false,
    pingIntervalMs: 0,
    connectTimeoutMs: 2000,
    tls: { certPem: cert.certPem, keyPem: cert.keyPem, agwFingerprints: [AGW_CERT.fingerprint] },
    ...opts,
  });
  cleanups.push(() => c.close());
  return c;
}

const codeOf = (e: unknown) => (e instanceof AgwError ? e.code : String(e));

/** TR 29.828 §5.2.1.2.2 steps 2-19 through one controller; resolves once the relay ran (and released it). */
async function originatingE2ae(iq: IqAgw, corePort: number) {
  const ueCert = newCertificate();
  const rec = new EventRecorder(iq);
  const coreTerm = await iq.reserveAgwConnectionPoint({ side: "core", transport: "TCP/MSRP" });
  const access = await iq.reserveAndConfigureAgwConnectionPoint({
    contextId: coreTerm.contextId,
    side: "access",
    transport: "TCP/TLS/MSRP",
    localCertificateFingerprintRequest: true,
    remote: { address: LOOPBACK, port: 9, setup: "active", certificateFingerprints: [ueCert.fingerprint] },
  });
  await iq.configureAgwConnectionPoint({
    contextId: coreTerm.contextId,
    terminationId: coreTerm.terminationId,
    remote: { address: LOOPBACK, port: corePort, setup: "passive" },
  });
  const ue = await ueConnect(access.localPort, ueCert);
  ue.write("MSRP legit SEND\r\n");
  await rec.next("relayStarted", access.terminationId);
  await iq.releaseAgwContext({ contextId: access.contextId });
  ue.destroy();
  rec.stop();
}

describe("Iq mutual authentication (WSS, pinned fingerprints)", () => {
  it("a pinned controller connects; the URL is wss://", async () => {
    const { server } = await startAgw();
    expect(server.url).toMatch(/^wss:\/\/127\.0\.0\.1:\d+\/$/);
    const a = await controller(server.url, PCSCF_A);
    const p = await a.reserveAgwConnectionPoint({ side: "core", transport: "TCP" });
    expect(p.contextId).toMatch(/^C\d+$/);
  });

  it("an unpinned client certificate is cut after the handshake, audited, and gets no session", async () => {
    const { server, audit } = await startAgw();
    const e = await controller(server.url, STRANGER).catch((x: unknown) => x);
    expect(e).toBeInstanceOf(AgwError);
    expect(["E_AGW_IQ_DISCONNECTED", "E_AGW_IQ_AUTH"]).toContain(codeOf(e));
    await waitFor(() => audit.events.some((x) => x.decision === "iq-auth-refused"), 2000, "audit");
    const refusal = audit.events.find((x) => x.decision === "iq-auth-refused");
    expect(refusal?.reason).toBe("certificate-not-pinned");
    expect(refusal?.peerCertificateFingerprint).toBe(`sha-256 ${STRANGER.fingerprint.value}`);
    expect(server.sessionCounts.sessions).toBe(0);
  });

  it("a client without a certificate cannot upgrade (TLS without a client certificate, then a WebSocket)", async () => {
    const { server, audit } = await startAgw();
    const ws = new WebSocket(server.url, { rejectUnauthorized: false });
    const outcome = await new Promise<string>((resolve) => {
      ws.once("open", () => resolve("open"));
      ws.once("error", () => resolve("error"));
      ws.once("close", () => resolve("closed"));
    });
    expect(outcome).not.toBe("open");
    await waitFor(() => audit.events.some((x) => x.reason === "no-certificate"), 2000, "audit no-certificate");
    expect(server.sessionCounts.sessions).toBe(0);
  });

  it("a raw TLS client without a certificate is closed before any HTTP answer", async () => {
    const { server } = await startAgw();
    const s = tls.connect({ host: LOOPBACK, port: server.port, rejectUnauthorized: false });
    cleanups.push(async () => s.destroy());
    let answer = "";
    s.on("data", (d: Buffer) => {
      answer += d.toString();
    });
    s.on("error", () => {});
    s.once("secureConnect", () =>
      s.write("GET / HTTP/1.1\r\nHost: x\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n\r\n"),
    );
    await new Promise<void>((r) => s.once("close", () => r()));
    expect(answer).toBe("");
  });

  it("the controller refuses an AGW whose certificate is not the pinned one (E_AGW_IQ_AUTH)", async () => {
    const { server } = await startAgw();
    const e = await controller(server.url, PCSCF_A, {
      tls: { certPem: PCSCF_A.certPem, keyPem: PCSCF_A.keyPem, agwFingerprints: [STRANGER.fingerprint] },
    }).catch((x: unknown) => x);
    expect(codeOf(e)).toBe("E_AGW_IQ_AUTH");
    expect(server.sessionCounts.sessions).toBe(0);
  });

  it("plain ws:// needs insecure: true AND loopback; wss:// needs credentials", async () => {
    const agw = new ImsAgw();
    cleanups.push(() => agw.close());
    const noFlag = await IqWsServer.listen({ agw }).catch((x: unknown) => x);
    expect(codeOf(noFlag)).toBe("E_AGW_IQ_INSECURE");
    const allIfs = await IqWsServer.listen({ agw, host: "0.0.0.0", insecure: true }).catch((x: unknown) => x);
    expect(codeOf(allIfs)).toBe("E_AGW_IQ_INSECURE");
    const ok = await IqWsServer.listen({ agw, insecure: true, pingIntervalMs: 0 });
    cleanups.push(() => ok.close());
    expect(ok.url).toMatch(/^ws:\/\//);
    expect(codeOf(await IqWsClient.connect(ok.url).catch((x: unknown) => x))).toBe("E_AGW_IQ_INSECURE");
    expect(codeOf(await IqWsClient.connect("ws://192.0.2.1:1/", { insecure: true }).catch((x: unknown) => x))).toBe(
      "E_AGW_IQ_INSECURE",
    );
    expect(codeOf(await IqWsClient.connect("wss://127.0.0.1:1/").catch((x: unknown) => x))).toBe("E_AGW_INVALID_PARAM");
    const noPins = await IqWsServer.listen({
      agw,
      tls: { certPem: AGW_CERT.certPem, keyPem: AGW_CERT.keyPem, controllers: [] },
    }).catch((x: unknown) => x);
    expect(codeOf(noPins)).toBe("E_AGW_INVALID_PARAM");
    const badKey = await IqWsServer.listen({
      agw,
      tls: { certPem: AGW_CERT.certPem, keyPem: PCSCF_A.keyPem, controllers: [pin("a", PCSCF_A)] },
    }).catch((x: unknown) => x);
    expect(codeOf(badKey)).toBe("E_AGW_CERT");
  });
});

describe("per-controller quotas", () => {
  it("a context flood is refused past the quota while another controller's e2ae call succeeds", {
    timeout: 20_000,
  }, async () => {
    const { agw, audit, server } = await startAgw(
      { maxContexts: 60 },
      { quota: { contexts: 50, terminations: 100, reservationsPerSecond: 10_000, reservationBurst: 10_000 } },
    );
    const attacker = await controller(server.url, PCSCF_B);
    const legit = await controller(server.url, PCSCF_A);
    // 120 reservations in waves of 40 (the binding keeps at most 64 requests in flight per connection)
    const results: string[] = [];
    for (let wave = 0; wave < 3; wave++) {
      const r = await Promise.all(
        Array.from({ length: 40 }, () =>
          attacker.reserveAgwConnectionPoint({ side: "core", transport: "TCP" }).then(
            () => "ok",
            (e: unknown) => codeOf(e),
          ),
        ),
      );
      results.push(...r);
    }
    expect(results.filter((r) => r === "ok")).toHaveLength(50);
    expect(results.filter((r) => r === "E_AGW_QUOTA")).toHaveLength(70);
    expect(agw.contextCount).toBe(50);
    const q = audit.events.find((e) => e.decision === "quota");
    expect(q).toMatchObject({ code: "E_AGW_QUOTA", controller: "pcscf-b", limit: "contexts", value: 50 });
    // the attacker keeps its socket (and its 50 contexts); the legitimate controller still gets its call through
    expect(attacker.connected).toBe(true);
    const core = await CorePeer.start();
    cleanups.push(() => core.close());
    await originatingE2ae(legit, core.port);
    await waitFor(() => core.text().includes("MSRP legit SEND"), 3000, "relayed for the legitimate controller");
    expect(agw.contextCount).toBe(50);
  });

  it("terminations and the reservation rate are bounded per controller", async () => {
    const { server, audit } = await startAgw(
      {},
      { quota: { contexts: 100, terminations: 3, reservationsPerSecond: 1, reservationBurst: 100 } },
    );
    const a = await controller(server.url, PCSCF_A);
    const c1 = await a.reserveAgwConnectionPoint({ side: "core", transport: "TCP" });
    await a.reserveAgwConnectionPoint({ contextId: c1.contextId, side: "access", transport: "TCP" });
    await a.reserveAgwConnectionPoint({ side: "core", transport: "TCP" });
    const e = await a.reserveAgwConnectionPoint({ side: "core", transport: "TCP" }).catch((x: unknown) => x);
    expect(codeOf(e)).toBe("E_AGW_QUOTA");
    expect(audit.events.some((x) => x.decision === "quota" && x.limit === "terminations")).toBe(true);

    const { server: s2, audit: audit2 } = await startAgw(
      {},
      { quota: { contexts: 100, terminations: 200, reservationsPerSecond: 1, reservationBurst: 5 } },
    );
    const b = await controller(s2.url, PCSCF_B);
    const burst = await Promise.all(
      Array.from({ length: 8 }, () =>
        b.reserveAgwConnectionPoint({ side: "core", transport: "TCP" }).then(
          () => "ok",
          (x: unknown) => codeOf(x),
        ),
      ),
    );
    expect(burst.filter((r) => r === "ok")).toHaveLength(5);
    expect(burst.filter((r) => r === "E_AGW_QUOTA")).toHaveLength(3);
    expect(audit2.events.some((x) => x.decision === "quota" && x.limit === "reservationsPerSecond")).toBe(true);
  });
});

describe("address policy", () => {
  it('localAddress "0.0.0.0" (and any address but the side\'s interface) is refused; nothing is bound', async () => {
    const { agw, audit, server } = await startAgw();
    const a = await controller(server.url, PCSCF_A);
    for (const localAddress of ["0.0.0.0", "::", "127.0.0.2"]) {
      const e = await a
        .reserveAgwConnectionPoint({ side: "access", transport: "TCP", localAddress })
        .catch((x: unknown) => x);
      expect(codeOf(e)).toBe("E_AGW_ADDRESS_POLICY");
    }
    expect(agw.resources()).toMatchObject({ contexts: 0, terminations: 0, listeners: 0, sockets: 0 });
    expect(audit.events.filter((x) => x.decision === "address-refused" && x.which === "local")).toHaveLength(3);
    // the in-process binding follows the same policy
    const inProc = await agw
      .reserveAgwConnectionPoint({ side: "core", transport: "TCP", localAddress: "0.0.0.0" })
      .catch((x: unknown) => x);
    expect(codeOf(inProc)).toBe("E_AGW_ADDRESS_POLICY");
  });

  it("a remote address outside the configured networks (10.255.255.1) is refused before any connection", async () => {
    const { agw, audit, server } = await startAgw();
    const a = await controller(server.url, PCSCF_A);
    const e = await a
      .reserveAndConfigureAgwConnectionPoint({
        side: "core",
        transport: "TCP",
        tcpConnect: true,
        remote: { address: "10.255.255.1", port: 80 },
      })
      .catch((x: unknown) => x);
    expect(codeOf(e)).toBe("E_AGW_ADDRESS_POLICY");
    expect(agw.resources()).toMatchObject({ contexts: 0, terminations: 0, sockets: 0 });
    // Configure of an existing termination: same policy
    const t = await a.reserveAgwConnectionPoint({ side: "core", transport: "TCP" });
    const e2 = await a
      .configureAgwConnectionPoint({
        contextId: t.contextId,
        terminationId: t.terminationId,
        tcpConnect: true,
        remote: { address: "::ffff:10.255.255.1", port: 80 },
      })
      .catch((x: unknown) => x);
    expect(codeOf(e2)).toBe("E_AGW_ADDRESS_POLICY");
    expect(agw.resources().sockets).toBe(0);
    const refusals = audit.events.filter((x) => x.decision === "address-refused" && x.which === "remote");
    expect(refusals).toHaveLength(2);
    expect(refusals[0]).toMatchObject({ code: "E_AGW_ADDRESS_POLICY", side: "core", address: "10.255.255.1" });
  });

  it("configured networks (CIDR) allow what they list, per side", async () => {
    const agw = new ImsAgw({ accessNetworks: ["127.0.0.0/8"], coreNetworks: ["192.0.2.0/24"] });
    cleanups.push(() => agw.close());
    const core = await agw
      .reserveAndConfigureAgwConnectionPoint({
        side: "core",
        transport: "TCP",
        remote: { address: "192.0.2.7", port: 9 },
      })
      .catch((x: unknown) => x);
    expect(core).not.toBeInstanceOf(Error);
    const coreLoop = await agw
      .reserveAndConfigureAgwConnectionPoint({ side: "core", transport: "TCP", remote: { address: LOOPBACK, port: 9 } })
      .catch((x: unknown) => x);
    expect(codeOf(coreLoop)).toBe("E_AGW_ADDRESS_POLICY");
    expect(() => new ImsAgw({ coreNetworks: ["10.0.0.0/33"] })).toThrow(/prefix length/);
  });
});

describe("isolation between controllers", () => {
  it("another controller cannot see, configure or release a context, nor take over a session id", async () => {
    const { agw, server } = await startAgw();
    const sessionId = "shared-session-id-0001";
    const a = await controller(server.url, PCSCF_A, { sessionId });
    const states: { resumed?: boolean; contexts?: number }[] = [];
    const pa = await a.reserveAgwConnectionPoint({ side: "core", transport: "TCP" });
    const b = await IqWsClient.connect(server.url, {
      reconnect: false,
      pingIntervalMs: 0,
      sessionId,
      tls: { certPem: PCSCF_B.certPem, keyPem: PCSCF_B.keyPem, agwFingerprints: [AGW_CERT.fingerprint] },
    });
    cleanups.push(() => b.close());
    b.onConnectionState((s) => states.push(s as { resumed?: boolean; contexts?: number }));
    const conf = await b
      .configureAgwConnectionPoint({ contextId: pa.contextId, terminationId: pa.terminationId })
      .catch((x: unknown) => x);
    expect(codeOf(conf)).toBe("E_AGW_UNKNOWN_CONTEXT");
    const rel = await b.releaseAgwContext({ contextId: pa.contextId }).catch((x: unknown) => x);
    expect(codeOf(rel)).toBe("E_AGW_UNKNOWN_CONTEXT");
    // same session id, other controller: two sessions; A's connection and context are untouched
    expect(server.sessionCounts.sessions).toBe(2);
    expect(a.connected).toBe(true);
    expect(agw.hasContext(pa.contextId)).toBe(true);
    await b.close();
    await sleep(50);
    expect(agw.hasContext(pa.contextId)).toBe(true);
  });

  it("a lost controller's contexts are released after the grace period; a reconnection within it keeps them", async () => {
    const { agw, audit, server } = await startAgw({}, { orphanGraceMs: 300 });
    const a = await controller(server.url, PCSCF_A, { sessionId: "pcscf-a-session-0001" });
    const p = await a.reserveAgwConnectionPoint({ side: "core", transport: "TCP" });
    a.dropConnection();
    await sleep(100);
    const again = await controller(server.url, PCSCF_A, { sessionId: "pcscf-a-session-0001" });
    await sleep(400);
    expect(agw.hasContext(p.contextId)).toBe(true);
    again.dropConnection();
    await waitFor(() => !agw.hasContext(p.contextId), 3000, "orphan release");
    expect(audit.events.some((e) => e.decision === "orphan-released" && e.controller === "pcscf-a")).toBe(true);
  });
});
