/**
 * The UE's e2ae streams through the IMS-AGW (in-process ImsAgw, driven through the Iq API as the IMS-ALG would):
 * access termination TLS with the UE's fingerprint in the remote descriptor, core termination plain TCP, and a
 * plain-TCP MSRP peer / BFCP floor control server on the core side. The test plays the P-CSCF's SDP rewrites.
 *
 * Shapes (TR 29.828): MSRP originating §5.2.1.2.2, MSRP terminating §5.2.1.2.3, BFCP originating §5.2.1.3.2,
 * BFCP terminating §5.2.1.3.3; then the refusals: wrong AGW fingerprint in the answer (the UE refuses, nothing is
 * sent) and wrong UE certificate (the AGW refuses, nothing is relayed).
 */
import net from "node:net";
import { afterEach, beforeEach, describe, expect, it } from "vitest";
import { ImsAgw } from "../../../src/ims/agw/agw.ts";
import type { IqEvent } from "../../../src/ims/agw/iqEvents.ts";
import type { AgwConnectionPoint } from "../../../src/ims/agw/iqTypes.ts";
import { AuditLog } from "../../../src/log.ts";
import type { Fingerprint } from "../../../src/sdp/index.ts";
import { generateSessionCertificate } from "../../../src/security/certificate.ts";
import { BfcpFloorServer } from "../../../src/ue/e2ae/bfcpFloorServer.ts";
import { E2aeEndpoint, type E2aeEndpointOptions } from "../../../src/ue/e2ae/endpoint.ts";
import type { E2aeError } from "../../../src/ue/e2ae/errors.ts";
import { newSessionId } from "../../../src/ue/e2ae/msrpGrammar.ts";
import { type MsrpMessage, MsrpSession } from "../../../src/ue/e2ae/msrpSession.ts";
import { buildE2aeAnswer, buildE2aeOffer, readE2aeMedia } from "../../../src/ue/e2ae/sdp.ts";
import {
  activeResources,
  LOOPBACK,
  leakedHandles,
  sleep,
  tamperFingerprint,
  toCore,
  toUe,
  waitFor,
  within,
} from "./helpers.ts";

let agw: ImsAgw;
let agwAudit: AuditLog;
let ueAudit: AuditLog;
let events: IqEvent[];
const cleanups: Array<() => unknown> = [];

beforeEach(() => {
  agwAudit = new AuditLog();
  ueAudit = new AuditLog();
  agw = new ImsAgw({ audit: agwAudit, timers: { handshakeMs: 5000, fingerprintWaitMs: 5000 } });
  events = [];
  agw.onEvent((e) => events.push(e));
});

afterEach(async () => {
  for (const c of cleanups.splice(0).reverse()) await c();
  await agw.close();
});

function ue(opts: Partial<E2aeEndpointOptions> & { kind: "msrp" | "bfcp" }): E2aeEndpoint {
  const e = new E2aeEndpoint({
    audit: ueAudit,
    timeouts: { establishMs: 8000, fingerprintWaitMs: 8000 },
    // the IMS-ALG rewrites a=path (host/port/scheme) and keeps the session-id: match on it (RFC 6714)
    msrp: { pathMatch: "session-id", acceptTypes: ["*"] },
    ...opts,
  });
  e.on("failure", () => {});
  cleanups.push(() => e.close());
  return e;
}

function fp(e: E2aeEndpoint): Fingerprint {
  return { hash: "sha-256", value: e.fingerprint.value };
}

function failure(e: E2aeEndpoint, ms = 6000): Promise<E2aeError> {
  return within(
    new Promise<E2aeError>((resolve) => {
      e.connected().catch((err: E2aeError) => resolve(err));
      e.once("failure", resolve);
    }),
    ms,
    "failure",
  );
}

function nextMessage(
  s: { once(ev: "message", f: (m: MsrpMessage) => void): unknown },
  ms = 6000,
): Promise<MsrpMessage> {
  return within(new Promise<MsrpMessage>((r) => s.once("message", r)), ms, "message");
}

// ---- core-side peers (plain TCP, no TLS: TR 29.828 step 8 "TCP/MSRP", "TCP/BFCP") -------------------------------

/** A plain-TCP MSRP endpoint of the IMS core. Its session starts once it has both a connection and the peer's path. */
class CoreMsrpPeer {
  readonly sessionId = newSessionId();
  server: net.Server | undefined;
  port = 9;
  session: MsrpSession | undefined;
  private sock: net.Socket | undefined;
  private remotePath: string[] | undefined;
  private readonly sockets: net.Socket[] = [];
  bytesIn = 0;

  get uri(): string {
    return `msrp://${LOOPBACK}:${this.port}/${this.sessionId};tcp`;
  }

  async listen(): Promise<void> {
    this.server = net.createServer((s) => this.adopt(s));
    await new Promise<void>((r) => this.server?.listen(0, LOOPBACK, () => r()));
    this.port = (this.server.address() as net.AddressInfo).port;
  }

  async connect(port: number): Promise<void> {
    const s = net.connect(port, LOOPBACK);
    await new Promise<void>((r, j) => {
      s.once("connect", () => r());
      s.once("error", j);
    });
    this.adopt(s);
  }

  private adopt(s: net.Socket): void {
    this.sockets.push(s);
    s.on("error", () => {});
    s.on("data", (d: Buffer) => {
      this.bytesIn += d.length;
    });
    s.pause();
    this.sock = s;
    this.maybeStart();
  }

  setRemotePath(path: string[]): void {
    this.remotePath = path;
    this.maybeStart();
  }

  private maybeStart(): void {
    if (!this.sock || !this.remotePath || this.session) return;
    this.session = new MsrpSession(this.sock, {
      localPath: [this.uri],
      remotePath: this.remotePath,
      pathMatch: "session-id",
      acceptTypes: ["*"],
      transactionTimeoutMs: 5000,
    });
    this.session.on("protocolError", () => {});
    this.sock.resume();
  }

  offer(): string {
    const r = buildE2aeOffer({
      connection: { address: LOOPBACK },
      media: [
        {
          kind: "msrp",
          tls: false,
          port: this.port,
          setup: "actpass",
          fingerprints: [],
          path: [this.uri],
          acceptTypes: ["*"],
        },
      ],
    });
    if (!r.ok) throw new Error(JSON.stringify(r.findings));
    return r.sdp;
  }

  answer(offer: string, setup: "active" | "passive"): string {
    const r = buildE2aeAnswer(offer, {
      connection: { address: LOOPBACK },
      media: {
        0: { kind: "msrp", tls: false, port: this.port, setup, fingerprints: [], path: [this.uri], acceptTypes: ["*"] },
      },
    });
    if (!r.ok) throw new Error(JSON.stringify(r.findings));
    return r.sdp;
  }

  async close(): Promise<void> {
    await this.session?.close();
    for (const s of this.sockets) s.destroy();
    const srv = this.server;
    if (srv) await new Promise<void>((r) => srv.close(() => r()));
  }
}

/** A plain-TCP BFCP floor control server of the IMS core. */
class CoreFloorServer {
  readonly fcs = new BfcpFloorServer({ conferenceId: 4321, floorIds: [1], userIds: [1234] });
  readonly server = net.createServer((s) => {
    this.sockets.push(s);
    s.on("error", () => {});
    s.on("data", (d: Buffer) => {
      this.bytesIn += d.length;
    });
    this.fcs.attach(s);
  });
  private readonly sockets: net.Socket[] = [];
  port = 0;
  bytesIn = 0;

  async listen(): Promise<void> {
    await new Promise<void>((r) => this.server.listen(0, LOOPBACK, () => r()));
    this.port = (this.server.address() as net.AddressInfo).port;
  }

  get connections(): number {
    return this.sockets.length;
  }

  sdp(kind: "offer" | "answer", offer?: string): string {
    const media = {
      kind: "bfcp" as const,
      tls: false,
      port: this.port,
      setup: kind === "offer" ? ("actpass" as const) : ("passive" as const),
      fingerprints: [],
      floorctrl: ["s-only" as const],
      confid: 4321,
      userid: 1234,
      floorIds: [1],
      bfcpver: [1],
    };
    const r =
      kind === "offer"
        ? buildE2aeOffer({ connection: { address: LOOPBACK }, media: [media] })
        : buildE2aeAnswer(offer ?? "", { connection: { address: LOOPBACK }, media: { 0: media } });
    if (!r.ok) throw new Error(JSON.stringify(r.findings));
    return r.sdp;
  }

  async close(): Promise<void> {
    await this.fcs.close();
    for (const s of this.sockets) s.destroy();
    await new Promise<void>((r) => this.server.close(() => r()));
  }
}

function leg(t: AgwConnectionPoint) {
  return { address: t.localAddress, port: t.localPort };
}

function agwFingerprint(t: AgwConnectionPoint): Fingerprint {
  const f = t.localCertificateFingerprint;
  if (!f) throw new Error("no local fingerprint in the response");
  return f;
}

// ---- MSRP originating ----------------------------------------------------------------------------------------------

/** TR 29.828 §5.2.1.2.2 up to the answer toward UE A (step 19); the core peer answers `coreSetup`. */
async function msrpOriginating(coreSetup: "active" | "passive") {
  const ueA = ue({ kind: "msrp", name: "ueA" });
  const offerA = await ueA.createOffer(); // step 1: TCP/TLS/MSRP, a=3ge2ae:requested, fp(UE A)
  const mA = readE2aeMedia(offerA)[0];
  expect(mA?.indication).toBe("e2ae-requested");
  // steps 2-4: Reserve AGW Connection Point, core side, "TCP/MSRP"
  const coreTerm = await agw.reserveAgwConnectionPoint({ side: "core", transport: "TCP/MSRP" });
  // steps 5-7: Reserve and Configure, access side, remote = UE A address/port/fingerprint; AGW fingerprint requested
  const access = await agw.reserveAndConfigureAgwConnectionPoint({
    contextId: coreTerm.contextId,
    side: "access",
    transport: "TCP/TLS/MSRP",
    localCertificateFingerprintRequest: true,
    notifyTlsSessionEstablishmentFailureEvent: true,
    remote: {
      address: mA?.address ?? LOOPBACK,
      port: mA?.port ?? 9,
      setup: "actpass",
      certificateFingerprints: [fp(ueA)],
    },
  });
  // step 8-9: the offer toward the core: TCP/MSRP, no 3ge2ae, no fingerprint, AGW core address
  const offerCore = toCore(offerA, 0, leg(coreTerm));
  expect(offerCore).not.toMatch(/3ge2ae|fingerprint|TLS|msrps/);
  const core = new CoreMsrpPeer();
  cleanups.push(() => core.close());
  if (coreSetup === "passive") await core.listen();
  const answerCore = core.answer(offerCore, coreSetup);
  core.setRemotePath(readE2aeMedia(offerCore)[0]?.msrp?.pathText ?? []);
  // step 10: an active remote peer sends its SYN; step 11: the AGW connects toward UE A (interlinkage)
  if (coreSetup === "active") await core.connect(coreTerm.localPort);
  // steps 13-15: Configure the core termination with the remote address of the answer
  await agw.configureAgwConnectionPoint({
    contextId: coreTerm.contextId,
    terminationId: coreTerm.terminationId,
    remote: { address: LOOPBACK, port: core.port, setup: coreSetup },
  });
  // step 19: the answer toward UE A: TCP/TLS/MSRP, the AGW's fingerprint, AGW access address
  const answerUe = toUe(answerCore, 0, leg(access), agwFingerprint(access));
  return { ueA, core, coreTerm, access, answerUe };
}

describe("MSRP through the IMS-AGW", () => {
  it.each(["active", "passive"] as const)(
    "originating (§5.2.1.2.2), remote peer %s: UE A verifies the AGW, SEND/200 both ways through the relay",
    async (coreSetup) => {
      const { ueA, core, access, answerUe } = await msrpOriginating(coreSetup);
      // steps 16-18 (TLS setup direction): the far end's a=setup passes unchanged; the UE's TCP role follows it
      await agw.configureAgwConnectionPoint({
        contextId: access.contextId,
        terminationId: access.terminationId,
        tlsRole: coreSetup === "active" ? "client" : "server",
      });
      await ueA.acceptAnswer(answerUe); // step 20
      await within(ueA.connected(), 8000, "UE A connected");
      expect(ueA.tcpRole).toBe(coreSetup === "active" ? "passive" : "active");
      expect(ueA.verdict).toMatchObject({ verified: true, presented: access.localCertificateFingerprint?.value });
      await waitFor(() => core.session !== undefined, 5000, "core session");
      const session = core.session as MsrpSession;
      const atCore = nextMessage(session);
      await ueA.send("hello core", "text/plain");
      expect((await atCore).content.toString()).toBe("hello core");
      const atUe = nextMessage(ueA);
      await session.send("hello UE A", "text/plain");
      expect((await atUe).content.toString()).toBe("hello UE A");
      // the AGW verified UE A's certificate against the fingerprint of steps 5-7
      expect(agwAudit.events.filter((e) => e.decision === "fingerprint-verified")).toHaveLength(1);
      expect(ueAudit.events).toEqual([
        expect.objectContaining({ node: "ue", ue: "ueA", decision: "fingerprint-verified" }),
      ]);
    },
  );

  it("terminating (§5.2.1.2.3): core offers TCP/MSRP, UE B gets TCP/TLS/MSRP + 3ge2ae:applied + fp(AGW), verifies it", async () => {
    const core = new CoreMsrpPeer();
    cleanups.push(() => core.close());
    await core.listen();
    const offerCore = core.offer(); // step 1
    // steps 2-4: access side first, the AGW's fingerprint requested
    const access = await agw.reserveAgwConnectionPoint({
      side: "access",
      transport: "TCP/TLS/MSRP",
      localCertificateFingerprintRequest: true,
      notifyTlsSessionEstablishmentFailureEvent: true,
    });
    // steps 5-7: core side with the offerer's address
    const coreTerm = await agw.reserveAndConfigureAgwConnectionPoint({
      contextId: access.contextId,
      side: "core",
      transport: "TCP/MSRP",
      remote: { address: LOOPBACK, port: core.port, setup: "actpass" },
    });
    // steps 8-9: the offer toward UE B
    const offerUe = toUe(offerCore, 0, leg(access), agwFingerprint(access), { applied: true });
    const ueB = ue({ kind: "msrp", name: "ueB" });
    const answerUe = await ueB.acceptOffer(offerUe);
    expect(ueB.remoteMedia?.indication).toBe("e2ae-applied");
    // step 10-12: UE B is active and TLS client; it verifies the AGW at once
    await within(ueB.connected(), 8000, "UE B verified the AGW");
    expect([ueB.tcpRole, ueB.tlsRole]).toEqual(["active", "client"]);
    await sleep(200);
    expect(core.bytesIn).toBe(0); // step 12: the AGW holds UE B's data until it knows fp(UE B)
    // step 13 → 14-16: Configure the access termination with UE B's fingerprint from the answer
    const fpB = readE2aeMedia(answerUe)[0]?.fingerprints[0];
    await agw.configureAgwConnectionPoint({
      contextId: access.contextId,
      terminationId: access.terminationId,
      remote: {
        address: LOOPBACK,
        port: 9,
        setup: "active",
        certificateFingerprints: [{ hash: "sha-256", value: fpB?.value ?? "" }],
      },
    });
    // steps 17-18: the answer toward the core: TCP/MSRP, no fingerprint
    const answerCore = toCore(answerUe, 0, leg(coreTerm));
    expect(answerCore).not.toMatch(/fingerprint|TLS/);
    core.setRemotePath(readE2aeMedia(answerCore)[0]?.msrp?.pathText ?? []);
    await waitFor(() => (core.session?.stats.framesIn ?? 0) >= 1, 5000, "UE B's bodiless SEND at the core");
    const session = core.session as MsrpSession;
    const atUe = nextMessage(ueB);
    await session.send("hi B", "text/plain");
    expect((await atUe).content.toString()).toBe("hi B");
    const atCore = nextMessage(session);
    await ueB.send("hi core", "text/plain");
    expect((await atCore).content.toString()).toBe("hi core");
    expect(events.some((e) => e.event === "relayStarted")).toBe(true);
  });

  it.each(["active", "passive"] as const)(
    "wrong AGW fingerprint in the answer (remote peer %s): UE A refuses with E_E2AE_FP_MISMATCH, nothing reaches the core",
    async (coreSetup) => {
      const { ueA, core, answerUe } = await msrpOriginating(coreSetup);
      await ueA.acceptAnswer(tamperFingerprint(answerUe));
      const err = await failure(ueA);
      expect(err.code).toBe("E_E2AE_FP_MISMATCH");
      expect(ueA.msrp).toBeUndefined();
      expect(ueAudit.events).toEqual([
        expect.objectContaining({
          node: "ue",
          decision: "peer-refused",
          code: "E_E2AE_FP_MISMATCH",
          clause: "RFC 8122 §6",
        }),
      ]);
      await sleep(300);
      expect(core.bytesIn).toBe(0); // not one MSRP byte from UE A
      expect(core.session?.stats.framesIn ?? 0).toBe(0);
      expect(core.session?.stats.messagesIn ?? 0).toBe(0);
    },
  );

  it("wrong UE certificate: the AGW refuses at step 14 (fingerprint-mismatch), nothing is relayed; UE B's stream ends", async () => {
    const core = new CoreMsrpPeer();
    cleanups.push(() => core.close());
    await core.listen();
    const access = await agw.reserveAgwConnectionPoint({
      side: "access",
      transport: "TCP/TLS/MSRP",
      localCertificateFingerprintRequest: true,
      notifyTlsSessionEstablishmentFailureEvent: true,
    });
    await agw.reserveAndConfigureAgwConnectionPoint({
      contextId: access.contextId,
      side: "core",
      transport: "TCP/MSRP",
      remote: { address: LOOPBACK, port: core.port, setup: "actpass" },
    });
    const ueB = ue({ kind: "msrp", name: "ueB" });
    await ueB.acceptOffer(toUe(core.offer(), 0, leg(access), agwFingerprint(access), { applied: true }));
    await within(ueB.connected(), 8000, "UE B connected");
    const stranger = generateSessionCertificate().fingerprint; // not UE B's certificate
    await agw.configureAgwConnectionPoint({
      contextId: access.contextId,
      terminationId: access.terminationId,
      remote: { certificateFingerprints: [stranger] },
    });
    expect((await failure(ueB)).code).toBe("E_E2AE_PEER_CLOSED");
    await waitFor(() => events.some((e) => e.event === "tlsSessionEstablishmentFailure"), 3000, "failure event");
    expect(events.find((e) => e.event === "tlsSessionEstablishmentFailure")).toMatchObject({
      reason: "fingerprint-mismatch",
    });
    expect(agwAudit.events.some((e) => e.decision === "fingerprint-mismatch")).toBe(true);
    await sleep(200);
    expect(core.bytesIn).toBe(0);
  });
});

// ---- BFCP -----------------------------------------------------------------------------------------------------------

describe("BFCP through the IMS-AGW", () => {
  it("originating (§5.2.1.3.2): UE A (c-only, TLS client) → AGW (answerer side, TLS server) → core floor server", async () => {
    const ueA = ue({ kind: "bfcp", name: "ueA" });
    const offerA = await ueA.createOffer(); // step 1
    const mA = readE2aeMedia(offerA)[0];
    const coreTerm = await agw.reserveAgwConnectionPoint({ side: "core", transport: "TCP/BFCP" }); // steps 2-4
    const access = await agw.reserveAndConfigureAgwConnectionPoint({
      contextId: coreTerm.contextId,
      side: "access",
      transport: "TCP/TLS/BFCP",
      localCertificateFingerprintRequest: true,
      notifyTlsSessionEstablishmentFailureEvent: true,
      remote: {
        address: mA?.address ?? LOOPBACK,
        port: mA?.port ?? 9,
        setup: "actpass",
        certificateFingerprints: [fp(ueA)],
      },
    }); // steps 5-7
    const offerCore = toCore(offerA, 0, leg(coreTerm)); // steps 8-9
    expect(offerCore).toContain("TCP/BFCP");
    const server = new CoreFloorServer();
    cleanups.push(() => server.close());
    await server.listen();
    const answerCore = server.sdp("answer", offerCore); // s-only, confid/userid/floorid, passive
    // steps 14-16: core remote address; the AGW is the SDP answerer toward UE A ⇒ TLS server (RFC 8856)
    await agw.configureAgwConnectionPoint({
      contextId: coreTerm.contextId,
      terminationId: coreTerm.terminationId,
      remote: { address: LOOPBACK, port: server.port, setup: "passive" },
    });
    await agw.configureAgwConnectionPoint({
      contextId: access.contextId,
      terminationId: access.terminationId,
      tlsRole: "server",
    });
    const answerUe = toUe(answerCore, 0, leg(access), agwFingerprint(access)); // steps 17-18
    await ueA.acceptAnswer(answerUe);
    await within(ueA.connected(), 8000, "UE A connected");
    expect([ueA.tcpRole, ueA.tlsRole, ueA.isFloorServer]).toEqual(["active", "client", false]);
    const hello = await within(ueA.hello(), 5000, "HelloAck through the AGW");
    expect(hello.primitives).toContain(1);
    const st = await ueA.requestFloor();
    expect(st).toMatchObject({ statusName: "Granted", floors: [{ floorId: 1 }] });
    expect(server.fcs.holders().get(1)).toBe(st.floorRequestId);
    expect(server.connections).toBe(1);
    expect(events.find((e) => e.event === "tlsSessionEstablished")).toMatchObject({ role: "server" });
  });

  it("terminating (§5.2.1.3.3): UE B opens TCP, the AGW starts TLS (Establish TLS session), UE B verifies it as TLS server", async () => {
    const server = new CoreFloorServer();
    cleanups.push(() => server.close());
    await server.listen();
    const offerCore = server.sdp("offer"); // step 1: TCP/BFCP s-only
    // steps 2-4: access side, "Establish (D)TLS session", AGW fingerprint requested
    const access = await agw.reserveAgwConnectionPoint({
      side: "access",
      transport: "TCP/TLS/BFCP",
      establishTlsSession: true,
      localCertificateFingerprintRequest: true,
      notifyTlsSessionEstablishmentFailureEvent: true,
    });
    const coreTerm = await agw.reserveAndConfigureAgwConnectionPoint({
      contextId: access.contextId,
      side: "core",
      transport: "TCP/BFCP",
      remote: { address: LOOPBACK, port: server.port, setup: "actpass" },
    }); // steps 5-7
    const offerUe = toUe(offerCore, 0, leg(access), agwFingerprint(access), { applied: true }); // step 8
    const ueB = ue({ kind: "bfcp", name: "ueB" });
    const answerUe = await ueB.acceptOffer(offerUe); // steps 9-10, 13
    expect(readE2aeMedia(answerUe)[0]?.bfcp?.floorctrl).toEqual(["c-only"]);
    await within(ueB.connected(), 8000, "UE B verified the AGW"); // step 12
    expect([ueB.tcpRole, ueB.tlsRole]).toEqual(["active", "server"]);
    // steps 14-16: UE B's fingerprint from the answer
    const fpB = readE2aeMedia(answerUe)[0]?.fingerprints[0];
    await agw.configureAgwConnectionPoint({
      contextId: access.contextId,
      terminationId: access.terminationId,
      remote: {
        address: LOOPBACK,
        port: 9,
        setup: "active",
        certificateFingerprints: [{ hash: "sha-256", value: fpB?.value ?? "" }],
      },
    });
    expect(toCore(answerUe, 0, leg(coreTerm))).not.toContain("fingerprint"); // step 17
    expect(await within(ueB.hello(), 5000, "HelloAck")).toMatchObject({ primitives: expect.arrayContaining([1, 2]) });
    const st = await ueB.requestFloor();
    expect(st.statusName).toBe("Granted");
    expect(events.find((e) => e.event === "tlsSessionEstablished")).toMatchObject({ role: "client" });
  });

  it("wrong AGW fingerprint: the BFCP participant refuses before any PDU; the floor server sees no BFCP", async () => {
    const server = new CoreFloorServer();
    cleanups.push(() => server.close());
    await server.listen();
    const access = await agw.reserveAgwConnectionPoint({
      side: "access",
      transport: "TCP/TLS/BFCP",
      establishTlsSession: true,
      localCertificateFingerprintRequest: true,
    });
    await agw.reserveAndConfigureAgwConnectionPoint({
      contextId: access.contextId,
      side: "core",
      transport: "TCP/BFCP",
      remote: { address: LOOPBACK, port: server.port, setup: "actpass" },
    });
    const ueB = ue({ kind: "bfcp", name: "ueB" });
    await ueB.acceptOffer(
      tamperFingerprint(toUe(server.sdp("offer"), 0, leg(access), agwFingerprint(access), { applied: true })),
    );
    expect((await failure(ueB)).code).toBe("E_E2AE_FP_MISMATCH");
    expect(ueB.bfcpClient).toBeUndefined();
    await sleep(200);
    expect(server.bytesIn).toBe(0);
  });
});

describe("resources", () => {
  it("an MSRP stream through the AGW leaves no socket behind", async () => {
    const before = activeResources();
    const { ueA, core, access, answerUe } = await msrpOriginating("active");
    await agw.configureAgwConnectionPoint({
      contextId: access.contextId,
      terminationId: access.terminationId,
      tlsRole: "client",
    });
    await ueA.acceptAnswer(answerUe);
    await within(ueA.connected(), 8000, "connected");
    await ueA.send("x", "text/plain");
    await ueA.close();
    await core.close();
    await agw.releaseAgwContext({ contextId: access.contextId });
    expect(await leakedHandles(before)).toEqual({});
  });
});
