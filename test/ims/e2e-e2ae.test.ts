/**
 * e2ae end to end (TR 29.828 §5.2.1.2.2/§5.2.1.2.3 MSRP, §5.2.1.3.2/§5.2.1.3.3 BFCP): UE A → P-CSCF(A) with its
 * IMS-AGW (originating steps) → S-CSCF → P-CSCF(B) with its own IMS-AGW (terminating steps) → UE B. Media:
 * UE A ⇄ TLS ⇄ AGW-A ⇄ plain TCP (the IMS core) ⇄ AGW-B ⇄ TLS ⇄ UE B; both UEs are `E2aeEndpoint`s that verify
 * the TLS peer against the signalled fingerprint (the AGW's), both AGWs verify the UE against the UE's fingerprint.
 * Real sockets on 127.0.0.1, every wait bounded, no handle left behind.
 */
import net from "node:net";
import { afterEach, describe, expect, it } from "vitest";
import { ImsAgw, type ImsAgwOptions } from "../../src/ims/agw/agw.ts";
import type { IqEvent } from "../../src/ims/agw/iqEvents.ts";
import { IqWsClient } from "../../src/ims/agw/wsClient.ts";
import { IqWsServer } from "../../src/ims/agw/wsServer.ts";
import type { IqClient, PcscfOptions } from "../../src/ims/pcscf/index.ts";
import { AuditLog } from "../../src/log.ts";
import { generateSessionCertificate } from "../../src/security/certificate.ts";
import type { SipCall, SipMessage } from "../../src/sip/index.ts";
import type { E2aeEndpoint } from "../../src/ue/e2ae/endpoint.ts";
import type { MsrpMessage } from "../../src/ue/e2ae/msrpSession.ts";
import type { UeCall } from "../../src/ue/ue.ts";
import { activeResources, expectNoLeaks, sleep, waitFor } from "../sip/helpers.ts";
import { within } from "../ue/e2ae/helpers.ts";
import { nextMessage as nextDcMessage, waitOpen } from "../ue/helpers.ts";
import { type E2aeCallMedia, E2aeUa, type E2aeUaOptions } from "./e2ae-ua.ts";
import { CHANNELS, type Core, DOMAIN, startCore, startUe } from "./e2e-helpers.ts";

type Ev = Record<string, unknown>;

const closers: (() => Promise<unknown>)[] = [];
afterEach(async () => {
  for (const c of closers.splice(0).reverse()) await c().catch(() => undefined);
});

interface Net {
  c: Core;
  agwA: ImsAgw;
  agwB: ImsAgw;
  agwAuditA: AuditLog;
  agwAuditB: AuditLog;
  eventsA: IqEvent[];
  eventsB: IqEvent[];
  ueAudit: AuditLog;
  /** every SIP message the S-CSCF received (requests from P-CSCF(A), responses from P-CSCF(B)) */
  atScscf: SipMessage[];
  ue(o: Omit<E2aeUaOptions, "pcscf" | "audit"> & { side: "a" | "b" }): Promise<E2aeUa>;
  close(): Promise<void>;
}

async function network(
  o: {
    pcscfA?: Partial<PcscfOptions>;
    pcscfB?: Partial<PcscfOptions>;
    agwA?: ImsAgwOptions;
    iqA?: false;
    /** one ImsAgw bound to both P-CSCFs (the embedded demo network's topology) */
    sharedAgw?: boolean;
  } = {},
): Promise<Net> {
  const agwAuditA = new AuditLog();
  const agwAuditB = new AuditLog();
  const timers = { handshakeMs: 5000, fingerprintWaitMs: 8000, holdMs: 8000 };
  const agwA = new ImsAgw({ audit: agwAuditA, timers, ...o.agwA });
  const agwB = o.sharedAgw ? agwA : new ImsAgw({ audit: agwAuditB, timers });
  const eventsA: IqEvent[] = [];
  const eventsB: IqEvent[] = [];
  agwA.onEvent((e) => eventsA.push(e));
  if (agwB !== agwA) agwB.onEvent((e) => eventsB.push(e));
  const c = await startCore({
    pcscfA: { ...(o.iqA === false ? {} : { iq: agwA }), ...o.pcscfA },
    pcscfB: { iq: agwB, ...o.pcscfB },
  });
  const atScscf: SipMessage[] = [];
  const off = c.scscf.iface.layer.onMessage((m) => atScscf.push(m));
  const ueAudit = new AuditLog();
  const ues: E2aeUa[] = [];
  const n: Net = {
    c,
    agwA,
    agwB,
    agwAuditA,
    agwAuditB,
    eventsA,
    eventsB,
    ueAudit,
    atScscf,
    async ue(u) {
      const ua = new E2aeUa({ ...u, pcscf: u.side === "a" ? c.a : c.b, audit: ueAudit });
      ues.push(ua);
      return ua.start();
    },
    async close() {
      for (const u of ues.splice(0)) await u.close();
      off();
      await c.close();
      await agwA.close();
      await agwB.close();
    },
  };
  closers.push(() => n.close());
  return n;
}

function algEvents(n: Net, instance: string, callId: string, kind?: "offer" | "answer"): Ev[] {
  return n.c.audit.events.filter(
    (e) =>
      e.event === "ims-alg-decision" &&
      e.instance === instance &&
      e.callId === callId &&
      (kind === undefined || e.kind === kind),
  ) as Ev[];
}

function nextMessage(e: E2aeEndpoint, ms = 8000): Promise<MsrpMessage> {
  return within(new Promise<MsrpMessage>((r) => e.once("message", r)), ms, "MSRP message");
}

function ends(media: E2aeCallMedia): E2aeEndpoint[] {
  return media.endpoints;
}

async function incoming(ua: E2aeUa, ms = 5000): Promise<SipCall> {
  await waitFor(() => ua.incoming.length > 0, ms, "incoming call");
  const c = ua.incoming[0];
  if (!c) throw new Error("no incoming call");
  return c;
}

/** An Iq binding to an in-process AGW, with some procedures or subscriptions replaced (failures, injected events). */
function iqOver(agw: ImsAgw, over: Partial<IqClient> = {}): IqClient {
  return {
    reserveAgwConnectionPoint: (r) => agw.reserveAgwConnectionPoint(r),
    reserveAndConfigureAgwConnectionPoint: (r) => agw.reserveAndConfigureAgwConnectionPoint(r),
    configureAgwConnectionPoint: (r) => agw.configureAgwConnectionPoint(r),
    releaseAgwContext: (r) => agw.releaseAgwContext(r),
    onEvent: (l) => agw.onEvent(l),
    ...over,
  };
}

/** The Reason header of every BYE a UE receives, in order. */
function byeReasons(ua: E2aeUa): string[] {
  const reasons: string[] = [];
  ua.layer.onMessage((m) => {
    if (m.kind === "request" && m.method === "BYE") reasons.push(m.getHeader("Reason") ?? "");
  });
  return reasons;
}

function mediaOf(ua: E2aeUa, call: SipCall): E2aeCallMedia {
  const m = ua.media.get(call);
  if (!m) throw new Error("no media for the call");
  return m;
}

/** The AGW's fingerprint on m-line `mline` of the P-CSCF's anchored exchange (the answer to the fingerprint request). */
function agwFp(n: Net, side: "a" | "b", callId: string, mline: number): string {
  const s = (side === "a" ? n.c.a : n.c.b).e2aeSessions(callId)[0]?.stream(mline);
  if (!s) throw new Error(`no anchored stream ${mline} at P-CSCF(${side})`);
  return s.agwFingerprint.value;
}

function bodyText(m: SipMessage): string {
  return Buffer.from(m.body).toString("latin1");
}

async function allReleased(n: Net): Promise<void> {
  await waitFor(
    () => n.agwA.contextCount === 0 && n.agwB.contextCount === 0 && n.c.a.agwContexts().length === 0,
    5000,
    "every AGW context released",
  );
  expect(n.c.b.agwContexts()).toEqual([]);
}

describe("e2ae end to end: UE A → P-CSCF(A)+AGW-A → S-CSCF → P-CSCF(B)+AGW-B → UE B", () => {
  it("MSRP and BFCP in one INVITE: originating and terminating anchoring, TLS verified on all four legs, bytes both ways, BYE releases everything", async () => {
    const before = activeResources();
    const n = await network();
    const alice = await n.ue({ side: "a", user: "alice", kinds: ["msrp", "bfcp"] });
    const bob = await n.ue({ side: "b", user: "bob" });

    const { sip, media } = await alice.call("bob");
    const bcall = await incoming(bob);
    const bmedia = mediaOf(bob, bcall);
    await within(Promise.all([...ends(media), ...ends(bmedia)].map((e) => e.connected())), 10_000, "4 TLS legs");
    const callId = sip.callId;

    // --- the audit: e2ae at both P-CSCFs, with the Iq outcome (context, AGW fingerprint, terminations)
    for (const [inst, direction] of [
      ["pcscf-a", "originating"],
      ["pcscf-b", "terminating"],
    ] as const) {
      const offers = algEvents(n, inst, callId, "offer");
      const answers = algEvents(n, inst, callId, "answer");
      expect(offers.map((e) => [e.mline, e.proto, e.decision, e.direction, e.step])).toEqual([
        [0, direction === "originating" ? "TCP/TLS/MSRP" : "TCP/MSRP", "e2ae", direction, `${direction}-offer`],
        [1, direction === "originating" ? "TCP/TLS/BFCP" : "TCP/BFCP", "e2ae", direction, `${direction}-offer`],
      ]);
      expect(answers.map((e) => [e.mline, e.decision, e.step])).toEqual([
        [0, "e2ae", `${direction}-answer`],
        [1, "e2ae", `${direction}-answer`],
      ]);
      for (const e of [...offers, ...answers]) {
        expect(e).toMatchObject({ action: "anchor", bodyUnchanged: false, iq: "ok" });
        expect(e.agwContextId).toMatch(/^C\d+$/);
        expect(e.agwFingerprint).toMatch(/^sha-256 [0-9A-F]{2}(:[0-9A-F]{2}){31}$/);
      }
      expect(offers[0]?.agwContextId).not.toBe(offers[1]?.agwContextId); // one context per m-line
    }
    // the Iq ladder at P-CSCF(A): steps 2-4, 5-7 per m-line on the offer; 13-15 (+16-18 MSRP) / 14-16 on the answer
    const iqA = n.c.audit.events.filter((e) => e.event === "iq" && e.instance === "pcscf-a" && e.callId === callId);
    expect(iqA.map((e) => [e.mline, e.procedure, e.clause])).toEqual([
      [0, "reserveAgwConnectionPoint", "TR 29.828 §5.2.1.2.2 steps 2-4"],
      [0, "reserveAndConfigureAgwConnectionPoint", "TR 29.828 §5.2.1.2.2 steps 5-7"],
      [1, "reserveAgwConnectionPoint", "TR 29.828 §5.2.1.3.2 steps 2-4"],
      [1, "reserveAndConfigureAgwConnectionPoint", "TR 29.828 §5.2.1.3.2 steps 5-7"],
      [0, "configureAgwConnectionPoint", "TR 29.828 §5.2.1.2.2 steps 13-15"],
      [0, "configureAgwConnectionPoint", "TR 29.828 §5.2.1.2.2 steps 16-18"],
      [1, "configureAgwConnectionPoint", "TR 29.828 §5.2.1.3.2 steps 14-16"],
    ]);
    expect(iqA.every((e) => e.decision === "iq-ok")).toBe(true);
    const iqB = n.c.audit.events.filter((e) => e.event === "iq" && e.instance === "pcscf-b" && e.callId === callId);
    expect(iqB.every((e) => e.decision === "iq-ok")).toBe(true);
    expect(iqB.map((e) => [e.mline, e.procedure, e.clause])).toEqual([
      [0, "reserveAgwConnectionPoint", "TR 29.828 §5.2.1.2.3 steps 2-4"],
      [0, "reserveAndConfigureAgwConnectionPoint", "TR 29.828 §5.2.1.2.3 steps 5-7"],
      [1, "reserveAgwConnectionPoint", "TR 29.828 §5.2.1.3.3 steps 2-4"],
      [1, "reserveAndConfigureAgwConnectionPoint", "TR 29.828 §5.2.1.3.3 steps 5-7"],
      [0, "configureAgwConnectionPoint", "TR 29.828 §5.2.1.2.3 steps 14-16"],
      [1, "configureAgwConnectionPoint", "TR 29.828 §5.2.1.3.3 steps 14-16"],
    ]);

    // --- the IMS core sees plain TCP/MSRP and TCP/BFCP, no 3ge2ae, no fingerprint, AGW addresses (steps 8 and 17)
    const invite = n.atScscf.find((m) => m.kind === "request" && m.method === "INVITE");
    const ok = n.atScscf.find((m) => m.kind === "response" && m.status === 200 && m.cseq().method === "INVITE");
    for (const m of [invite, ok]) {
      if (!m) throw new Error("INVITE / 200 not seen at the S-CSCF");
      const sdp = bodyText(m);
      expect(sdp).toMatch(/^m=message \d+ TCP\/MSRP \*\r?$/m);
      expect(sdp).toMatch(/^m=application \d+ TCP\/BFCP \*\r?$/m);
      expect(sdp).not.toMatch(/3ge2ae|fingerprint|TLS|msrps:/);
    }
    const ctxA = n.c.a.e2aeSessions(callId)[0];
    const ctxB = n.c.b.e2aeSessions(callId)[0];
    expect(bodyText(invite as SipMessage)).toContain(`a=path:msrp://127.0.0.1:${ctxA?.stream(0)?.core.localPort}/`);
    expect(bodyText(ok as SipMessage)).toContain(`a=path:msrp://127.0.0.1:${ctxB?.stream(0)?.core.localPort}/`);

    // --- the terminating offer (step 8): TCP/TLS/…, a=3ge2ae:applied and AGW-B's fingerprint on both m-lines
    const offerB = bmedia.remote ?? "";
    expect(offerB.match(/^a=3ge2ae:applied\r?$/gm)).toHaveLength(2);
    expect(offerB).toContain(`a=fingerprint:sha-256 ${agwFp(n, "b", callId, 0)}`);
    expect(offerB).toContain(`a=fingerprint:sha-256 ${agwFp(n, "b", callId, 1)}`);
    expect(offerB).toMatch(/^m=message \d+ TCP\/TLS\/MSRP \*\r?$/m);
    // the originating answer (step 19 / BFCP step 17): TLS proto and AGW-A's fingerprint
    const answerA = media.remote ?? "";
    expect(answerA).toContain(`a=fingerprint:sha-256 ${agwFp(n, "a", callId, 0)}`);
    expect(answerA).toContain(`a=fingerprint:sha-256 ${agwFp(n, "a", callId, 1)}`);
    expect(answerA).not.toContain("3ge2ae"); // appliedInAnswer defaults to false (step 19 does not say so)

    // --- each UE verified its TLS peer against the AGW's fingerprint; each AGW verified its UE
    expect(media.msrp?.verdict).toMatchObject({ verified: true, presented: agwFp(n, "a", callId, 0) });
    expect(media.bfcp?.verdict).toMatchObject({ verified: true, presented: agwFp(n, "a", callId, 1) });
    expect(bmedia.msrp?.verdict).toMatchObject({ verified: true, presented: agwFp(n, "b", callId, 0) });
    expect(bmedia.bfcp?.verdict).toMatchObject({ verified: true, presented: agwFp(n, "b", callId, 1) });
    await waitFor(
      () =>
        n.agwAuditA.events.filter((e) => e.decision === "fingerprint-verified").length === 2 &&
        n.agwAuditB.events.filter((e) => e.decision === "fingerprint-verified").length === 2,
      5000,
      "both AGWs verified both UEs",
    );
    const presented = (a: AuditLog) =>
      a.events
        .filter((e) => e.decision === "fingerprint-verified")
        .map((e) => (e.presented as { value: string }).value);
    expect(presented(n.agwAuditA)).toEqual(
      expect.arrayContaining([media.msrp?.certificate.fingerprint.value, media.bfcp?.certificate.fingerprint.value]),
    );
    expect(presented(n.agwAuditB)).toEqual(
      expect.arrayContaining([bmedia.msrp?.certificate.fingerprint.value, bmedia.bfcp?.certificate.fingerprint.value]),
    );

    // --- MSRP: SEND/200 both ways, chunked (1024-octet chunks)
    const aMsrp = media.msrp as E2aeEndpoint;
    const bMsrp = bmedia.msrp as E2aeEndpoint;
    const big = "0123456789abcdef".repeat(400); // 6400 octets → 7 chunks
    const atB = nextMessage(bMsrp);
    const sent = await aMsrp.send(big, "text/plain");
    const gotB = await atB;
    expect(gotB.content.toString()).toBe(big);
    expect(gotB.chunks).toBe(7);
    expect(sent).toBeDefined();
    const atA = nextMessage(aMsrp);
    await bMsrp.send("hello alice, through two IMS-AGWs", "text/plain");
    expect((await atA).content.toString()).toBe("hello alice, through two IMS-AGWs");

    // --- BFCP: Hello/HelloAck, FloorRequest/FloorRequestStatus (UE B is the floor control server, s-only)
    const aBfcp = media.bfcp as E2aeEndpoint;
    expect(bmedia.bfcp?.isFloorServer).toBe(true);
    expect((await within(aBfcp.hello(), 5000, "HelloAck")).primitives.length).toBeGreaterThan(0);
    const st = await within(aBfcp.requestFloor(), 5000, "FloorRequestStatus");
    expect(st).toMatchObject({ statusName: "Granted", floors: [{ floorId: 1 }] });

    // --- the relays: two contexts per AGW, relaying
    const ids = { a: n.c.a.agwContexts(), b: n.c.b.agwContexts() };
    expect(ids.a).toHaveLength(2);
    expect(ids.b).toHaveLength(2);
    for (const id of ids.a) expect(n.agwA.inspectContext(id)?.relaying).toBe(true);
    for (const id of ids.b) expect(n.agwB.inspectContext(id)?.relaying).toBe(true);
    expect(n.c.audit.events.some((e) => e.event === "agw-event" && e.decision === "relayStarted")).toBe(true);

    // --- BYE releases every AGW context at both P-CSCFs
    await sip.hangup();
    await within(bcall.terminated(), 5000, "UE B's call ended");
    await allReleased(n);
    for (const id of ids.a) expect(n.agwA.hasContext(id)).toBe(false);
    for (const id of ids.b) expect(n.agwB.hasContext(id)).toBe(false);
    const rel = n.c.audit.events.filter((e) => e.event === "agw-release" && e.callId === callId);
    expect(rel.map((e) => [e.instance, e.reason, e.decision])).toEqual([
      ["pcscf-a", "BYE", "released"],
      ["pcscf-a", "BYE", "released"],
      ["pcscf-b", "BYE", "released"],
      ["pcscf-b", "BYE", "released"],
    ]);

    await n.close();
    closers.splice(0);
    expect(await expectNoLeaks(before, 4000)).toEqual({});
  });

  it("wrong UE certificate: AGW-A refuses UE A's TLS (fingerprint-mismatch), nothing is relayed toward UE B", async () => {
    const n = await network();
    const stranger = generateSessionCertificate().fingerprint.value;
    // UE A signals a fingerprint that is not its certificate's (TR 29.828 steps 5-7: the AGW verifies against it)
    const alice = await n.ue({
      side: "a",
      user: "alice",
      kinds: ["msrp"],
      mutateOffer: (sdp) => sdp.replace(/a=fingerprint:sha-256 \S+/, `a=fingerprint:sha-256 ${stranger}`),
    });
    const bob = await n.ue({ side: "b", user: "bob" });
    const { sip } = await alice.call("bob");
    const bcall = await incoming(bob);
    const bmedia = mediaOf(bob, bcall);
    await within((bmedia.msrp as E2aeEndpoint).connected(), 10_000, "UE B ↔ AGW-B");
    await waitFor(() => n.agwAuditA.events.some((e) => e.decision === "fingerprint-mismatch"), 8000, "AGW-A refusal");
    const mismatch = n.agwAuditA.events.find((e) => e.decision === "fingerprint-mismatch");
    expect(mismatch).toMatchObject({ expected: [{ hash: "sha-256", value: stranger }] });
    // the P-CSCF saw the Notify (D)TLS session establishment Failure Event of its context
    await waitFor(
      () =>
        n.c.audit.events.some(
          (e) =>
            e.event === "agw-event" &&
            e.instance === "pcscf-a" &&
            e.decision === "tlsSessionEstablishmentFailure" &&
            e.reason === "fingerprint-mismatch",
        ),
      3000,
      "failure event audited",
    );
    const [ctx] = n.c.a.agwContexts();
    expect(n.agwA.inspectContext(ctx ?? "")?.relaying).toBe(false);
    await sleep(300);
    expect(bmedia.msrp?.msrp?.stats.framesIn ?? 0).toBe(0); // not one MSRP frame from UE A
    await sip.hangup();
    await allReleased(n);
  });

  it("delayed TCP establishment (hold on the core side, drop on the access side): early SYNs parked/reset, strangers filtered, the session still works", async () => {
    const agw = { tcpEstablishment: { core: "delayed-hold", access: "delayed-drop" } } as const;
    const n = await network({ pcscfA: { alg: { agw } }, pcscfB: { alg: { agw } } });
    const alice = await n.ue({ side: "a", user: "alice", kinds: ["msrp"] });
    const bob = await n.ue({ side: "b", user: "bob", autoAnswer: false });
    const sip = alice.ua.call("sip:bob@ims.example.com");
    const bcall = await incoming(bob);
    // TR 29.828 §5.2.1.2.2 step 10 Editor's note: a SYN from a stranger before the answer: held, then filtered
    const invite = n.atScscf.find((m) => m.kind === "request" && m.method === "INVITE");
    const corePort = Number(/^m=message (\d+) /m.exec(bodyText(invite as SipMessage))?.[1]);
    const stranger = net.connect({ host: "127.0.0.1", port: corePort, localAddress: "127.0.0.2" });
    stranger.on("error", () => {});
    closers.push(async () => stranger.destroy());
    await waitFor(() => n.eventsA.some((e) => e.event === "tcpConnectionParked"), 3000, "parked");
    await bcall.answer();
    await within(sip.established(), 5000, "established");
    const media = mediaOf(alice, sip);
    const bmedia = mediaOf(bob, bcall);
    await within(Promise.all([...ends(media), ...ends(bmedia)].map((e) => e.connected())), 10_000, "TLS legs");
    expect(n.agwAuditA.events.some((e) => e.decision === "source-filtered" && e.peerAddress === "127.0.0.2")).toBe(
      true,
    );
    const atB = nextMessage(bmedia.msrp as E2aeEndpoint);
    await (media.msrp as E2aeEndpoint).send("delayed but delivered", "text/plain");
    expect((await atB).content.toString()).toBe("delayed but delivered");
    const atA = nextMessage(media.msrp as E2aeEndpoint);
    await (bmedia.msrp as E2aeEndpoint).send("and back", "text/plain");
    expect((await atA).content.toString()).toBe("and back");
    await sip.hangup();
    await allReleased(n);
  });

  it("interlinkage off: the P-CSCFs request every SYN themselves (indication 2); MSRP and BFCP still flow", async () => {
    const agw = { interlinkage: false };
    const n = await network({ pcscfA: { alg: { agw } }, pcscfB: { alg: { agw } } });
    const alice = await n.ue({ side: "a", user: "alice", kinds: ["msrp", "bfcp"] });
    const bob = await n.ue({ side: "b", user: "bob" });
    const { sip, media } = await alice.call("bob");
    const bmedia = mediaOf(bob, await incoming(bob));
    await within(Promise.all([...ends(media), ...ends(bmedia)].map((e) => e.connected())), 10_000, "TLS legs");
    const atB = nextMessage(bmedia.msrp as E2aeEndpoint);
    await (media.msrp as E2aeEndpoint).send("no interlinkage", "text/plain");
    expect((await atB).content.toString()).toBe("no interlinkage");
    expect((await (media.bfcp as E2aeEndpoint).requestFloor()).statusName).toBe("Granted");
    for (const evs of [n.eventsA, n.eventsB]) {
      const out = evs.filter((e) => e.event === "tcpConnectionEstablished" && e.direction === "outgoing");
      expect(out.length).toBeGreaterThan(0);
      for (const e of out) expect(e).toMatchObject({ trigger: "request" });
    }
    await sip.hangup();
    await allReleased(n);
  });
});

describe("e2ae with one IMS-AGW bound to both P-CSCFs", () => {
  it("both P-CSCFs anchor on the same AGW (two contexts, AGW to itself over the core leg); BYE releases both", async () => {
    const n = await network({ sharedAgw: true });
    const alice = await n.ue({ side: "a", user: "alice", kinds: ["msrp"] });
    const bob = await n.ue({ side: "b", user: "bob" });
    const { sip, media } = await alice.call("bob");
    const bmedia = mediaOf(bob, await incoming(bob));
    await within(Promise.all([...ends(media), ...ends(bmedia)].map((e) => e.connected())), 10_000, "TLS legs");
    expect(n.agwA.contextCount).toBe(2);
    expect(n.c.a.agwContexts()).not.toEqual(n.c.b.agwContexts());
    const atA = nextMessage(media.msrp as E2aeEndpoint);
    await (bmedia.msrp as E2aeEndpoint).send("one AGW, two contexts", "text/plain");
    expect((await atA).content.toString()).toBe("one AGW, two contexts");
    await sip.hangup();
    await allReleased(n);
  });
});

describe("e2ae with ImsUe (data channel e2e + MSRP and BFCP e2ae in one body)", () => {
  it("the DC m-line passes byte for byte while the MSRP and BFCP m-lines are anchored on both AGWs", async () => {
    const n = await network();
    const e2ae = { msrp: { pathMatch: "session-id" as const, acceptTypes: ["*"] } };
    const alice = await startUe(n.c.a, "alice", "TCP", n.ueAudit, {
      dc: { channels: CHANNELS },
      media: ["dc", "msrp", "bfcp"],
      e2ae,
    });
    closers.push(() => alice.close());
    const bob = await startUe(n.c.b, "bob", "TCP", n.ueAudit, { e2ae });
    closers.push(() => bob.close());
    const inc = new Promise<UeCall>((r) => bob.once("incoming", r));
    const call = await alice.call(`sip:bob@${DOMAIN}`);
    const bcall = await inc;
    const streams = [call.msrp, call.bfcp, bcall.msrp, bcall.bfcp];
    await within(
      Promise.all([call.dc.connected(), bcall.dc.connected(), ...streams.map((e) => e?.connected())]),
      10_000,
      "DC + 4 TLS legs",
    );
    const callId = call.sip.callId;
    for (const inst of ["pcscf-a", "pcscf-b"]) {
      const offers = algEvents(n, inst, callId, "offer");
      expect(offers.map((e) => [e.media, e.decision, e.bodyUnchanged])).toEqual([
        ["application", "e2e", false],
        ["message", "e2ae", false],
        ["application", "e2ae", false],
      ]);
    }
    // the e2e data channel: both fingerprints are the UEs' own (no anchor in between)
    expect(call.dc.verdict?.verified).toBe(true);
    const ca = call.dc.channel(1000);
    const cb = bcall.dc.channel(1000);
    if (!ca || !cb) throw new Error("channels missing");
    await Promise.all([waitOpen(ca), waitOpen(cb)]);
    const dcMsg = nextDcMessage(cb);
    ca.send("data channel, end to end");
    expect(await dcMsg).toBe("data channel, end to end");
    // the e2ae streams: verified against the AGWs' fingerprints, bytes through both AGWs
    expect(call.msrp?.verdict).toMatchObject({ verified: true, presented: agwFp(n, "a", callId, 1) });
    expect(bcall.msrp?.verdict).toMatchObject({ verified: true, presented: agwFp(n, "b", callId, 1) });
    const atB = nextMessage(bcall.msrp as E2aeEndpoint);
    await call.msrp?.send("MSRP via ImsUe", "text/plain");
    expect((await atB).content.toString()).toBe("MSRP via ImsUe");
    expect((await (call.bfcp as E2aeEndpoint).requestFloor()).statusName).toBe("Granted");
    await call.hangup();
    await within(bcall.sip.terminated(), 5000, "UE B's call ended");
    await allReleased(n);
  });
});

describe("e2ae failures and releases", () => {
  it("an Iq failure (AGW-A full: E_AGW_LIMIT on the second m-line) → 503 + Retry-After naming the AGW code; the first context is released", async () => {
    const n = await network({ agwA: { maxContexts: 1 } });
    const alice = await n.ue({ side: "a", user: "alice", kinds: ["msrp", "bfcp"] });
    const bob = await n.ue({ side: "b", user: "bob" });
    const err = await alice.call("bob").then(
      () => undefined,
      (e: unknown) => e as { status?: number; response?: SipMessage },
    );
    // RFC 3261 §21.5.4: capacity is temporary → 503 with Retry-After (an Iq error of another kind stays 488)
    expect(err?.status).toBe(503);
    expect(err?.response?.getHeader("Retry-After")).toBe("5");
    expect(err?.response?.getHeader("Warning")).toMatch(
      /^399 pcscf-a "E_ALG_IQ_FAILED: reserveAgwConnectionPoint failed: E_AGW_LIMIT: limit of \d+ (contexts|terminations) reached \(m-line 1\)"$/,
    );
    expect(bob.incoming).toHaveLength(0);
    await allReleased(n);
    const ev = n.c.audit.events.find((e) => e.event === "ims-alg-decision" && e.mline === 1 && e.kind === "offer");
    expect(ev).toMatchObject({
      decision: "e2ae",
      action: "refuse",
      status: 503,
      refuseCode: "E_ALG_IQ_FAILED",
      iq: "failed",
      iqError: "E_AGW_LIMIT",
      iqClause: "TR 29.828 §5.2.1.3.2 steps 2-4",
      sha256Out: null,
    });
    expect(n.c.audit.events.some((e) => e.event === "agw-release" && e.instance === "pcscf-a")).toBe(true);
  });

  it("the AGW's per-controller quota (E_AGW_QUOTA) → 503 + Retry-After; its address policy (E_AGW_ADDRESS_POLICY) → 488", async () => {
    for (const [code, status] of [
      ["E_AGW_QUOTA", 503],
      ["E_AGW_ADDRESS_POLICY", 488],
    ] as const) {
      const inner = new ImsAgw({ timers: { handshakeMs: 5000 } });
      closers.push(() => inner.close());
      const iq = iqOver(inner, {
        reserveAgwConnectionPoint: () => Promise.reject(Object.assign(new Error("refused by the AGW"), { code })),
      });
      const n = await network({ pcscfA: { iq } });
      const alice = await n.ue({ side: "a", user: "alice", kinds: ["msrp"] });
      await n.ue({ side: "b", user: "bob" });
      const err = await alice.call("bob").then(
        () => undefined,
        (e: unknown) => e as { status?: number; response?: SipMessage },
      );
      expect(err?.status).toBe(status);
      expect(err?.response?.getHeader("Retry-After")).toBe(status === 503 ? "5" : undefined);
      expect(err?.response?.getHeader("Warning")).toContain(code);
    }
  });

  it("a Configure failure on the answer (2xx already relayed) → BYE to both ends with Reason; contexts released", async () => {
    const inner = new ImsAgw({ timers: { handshakeMs: 5000 } });
    closers.push(() => inner.close());
    // an Iq binding whose Configure AGW Connection Point fails (TR 29.828 steps 13-15 cannot be performed)
    const iq = iqOver(inner, {
      configureAgwConnectionPoint: () =>
        Promise.reject(Object.assign(new Error("termination is gone"), { code: "E_AGW_STATE" })),
    });
    const n = await network({ pcscfA: { iq } });
    const alice = await n.ue({ side: "a", user: "alice", kinds: ["msrp"] });
    const bob = await n.ue({ side: "b", user: "bob" });
    const reasons = byeReasons(bob);
    const sip = alice.ua.call("sip:bob@ims.example.com");
    const ended = await within(sip.terminated(), 8000, "released by P-CSCF(A)");
    expect(ended.reason).toBe("remote-bye");
    await waitFor(() => reasons.some((r) => r === 'SIP;cause=488;text="E_ALG_IQ_FAILED"'), 3000, "BYE at UE B");
    await waitFor(() => inner.contextCount === 0 && n.agwB.contextCount === 0, 3000, "contexts released");
    expect(
      n.c.audit.events.find((e) => e.event === "iq" && e.decision === "iq-failed" && e.instance === "pcscf-a"),
    ).toMatchObject({ procedure: "configureAgwConnectionPoint", agwCode: "E_AGW_STATE" });
  });

  it("an IMS-AGW media fault (relay idle timeout) → the P-CSCF releases the session: BYE both ways with Reason, contexts and sessions gone", async () => {
    const n = await network({
      agwA: { timers: { handshakeMs: 5000, fingerprintWaitMs: 8000, holdMs: 8000, idleMs: 600 } },
    });
    const alice = await n.ue({ side: "a", user: "alice", kinds: ["msrp"] });
    const bob = await n.ue({ side: "b", user: "bob" });
    const byes: { at: string; reason: string; cseq: number }[] = [];
    for (const [at, u] of [
      ["alice", alice],
      ["bob", bob],
    ] as const) {
      u.layer.onMessage((m) => {
        if (m.kind === "request" && m.method === "BYE")
          byes.push({ at, reason: m.getHeader("Reason") ?? "", cseq: m.cseq().seq });
      });
    }
    const { sip } = await alice.call("bob");
    expect(n.c.a.sessions.size).toBe(1);
    await waitFor(() => n.eventsA.some((e) => e.event === "relayStarted"), 5000, "MSRP relayed by AGW-A");
    // nothing flows: AGW-A's relay goes idle, reports it, and P-CSCF(A) ends the session (TS 24.229 §5.2.8)
    const ended = await within(sip.terminated(), 8000, "alice's call released by P-CSCF(A)");
    expect(ended.reason).toBe("remote-bye");
    await waitFor(() => byes.length === 2, 5000, "BYE at both UEs");
    expect(byes.map((b) => b.reason)).toEqual([
      'SIP;cause=503;text="E_ALG_AGW_IDLE: IMS-AGW idleTimeout"',
      'SIP;cause=503;text="E_ALG_AGW_IDLE: IMS-AGW idleTimeout"',
    ]);
    // TS 24.229 §5.2.8.1.2: the CSeq stored for each direction, plus one (INVITE 1 → BYE 2 toward bob; 1 toward alice)
    expect(byes.find((b) => b.at === "bob")?.cseq).toBe(2);
    expect(byes.find((b) => b.at === "alice")?.cseq).toBe(1);
    await allReleased(n);
    expect(n.c.a.sessions.size).toBe(0);
    expect(n.c.a.refusals.get("E_ALG_AGW_IDLE")).toBe(1);
    const rel = n.c.audit.events.find((e) => e.event === "session-release" && e.instance === "pcscf-a");
    expect(rel).toMatchObject({ byeDownstream: true, byeUpstream: true });
  });

  it("the IMS-AGW restarts (Iq over WebSocket): P-CSCF(A) releases the anchored session with BYE; during the outage a new offer gets 503", async () => {
    const agw1 = new ImsAgw({ timers: { handshakeMs: 5000 } });
    let relaying = false;
    agw1.onEvent((e) => {
      if (e.event === "relayStarted") relaying = true;
    });
    const server1 = await IqWsServer.listen({ agw: agw1, port: 0, insecure: true });
    const port = Number(new URL(server1.url).port);
    const iq = await IqWsClient.connect(server1.url, { insecure: true, reconnectMinMs: 50, reconnectMaxMs: 200 });
    let agw2: ImsAgw | undefined;
    let server2: IqWsServer | undefined;
    closers.push(async () => {
      await iq.close();
      await server2?.close();
      await agw2?.close();
      await server1.close();
      await agw1.close();
    });
    const n = await network({ pcscfA: { iq } });
    const alice = await n.ue({ side: "a", user: "alice", kinds: ["msrp"] });
    const bob = await n.ue({ side: "b", user: "bob" });
    const reasons = byeReasons(bob);
    const { sip } = await alice.call("bob");
    expect(agw1.contextCount).toBe(1);
    await waitFor(() => relaying, 5000, "MSRP relayed by the first AGW (Configure done)");
    // the AGW process dies (no Iq release reaches it), and comes back empty on the same port
    await server1.close();
    await agw1.close();
    await waitFor(() => !iq.connected, 3000, "Iq link down");
    const during = await alice.call("bob").then(
      () => undefined,
      (e: unknown) => e as { status?: number; response?: SipMessage },
    );
    // RFC 3261 §21.5.4: the AGW unreachable is temporary → 503 + Retry-After, nothing anchored, nothing forwarded
    expect(during?.status).toBe(503);
    expect(during?.response?.getHeader("Retry-After")).toBe("5");
    expect(during?.response?.getHeader("Warning")).toMatch(/E_AGW_IQ_UNAVAILABLE/);
    agw2 = new ImsAgw({ timers: { handshakeMs: 5000 } });
    server2 = await IqWsServer.listen({ agw: agw2, port, insecure: true });
    const ended = await within(sip.terminated(), 8000, "released after the AGW died");
    expect(ended.reason).toBe("remote-bye");
    await waitFor(() => reasons.length === 1, 3000, "BYE at UE B");
    // whoever notices first releases: P-CSCF(B) when AGW-B's relay toward the dead AGW-A breaks (RST), or P-CSCF(A)
    // when its Iq link comes back to an AGW that no longer knows its contexts
    expect(reasons[0]).toMatch(/^SIP;cause=503;text="E_ALG_AGW_(RELAY_ENDED|RESTARTED): /);
    await waitFor(() => n.c.a.sessions.size === 0 && n.c.b.sessions.size === 0, 3000, "sessions gone");
    await waitFor(() => iq.connected, 5000, "Iq link back");
    expect(n.c.a.agwContexts()).toEqual([]);
    expect(n.agwB.contextCount).toBe(0);
  });

  it("a tlsSessionEstablishmentFailure on an anchored context (a stranger on the AGW port) releases nothing; idleTimeout does", async () => {
    const agw = new ImsAgw({ timers: { handshakeMs: 5000 } });
    closers.push(() => agw.close());
    const listeners = new Set<(e: IqEvent) => void>();
    agw.onEvent((e) => {
      for (const l of listeners) l(e);
    });
    const iq = iqOver(agw, {
      onEvent: (l) => {
        listeners.add(l);
        return () => listeners.delete(l);
      },
    });
    const n = await network({ pcscfA: { iq } });
    const alice = await n.ue({ side: "a", user: "alice", kinds: ["msrp"] });
    const bob = await n.ue({ side: "b", user: "bob" });
    const { sip, media } = await alice.call("bob");
    await waitFor(() => agw.resources().relays === 1, 5000, "relaying");
    const stream = n.c.a.e2aeSessions(sip.callId)[0]?.stream(0);
    if (!stream) throw new Error("no anchored stream");
    const push = (event: string) => {
      for (const l of listeners)
        l({
          event,
          contextId: stream.contextId,
          terminationId: stream.access.terminationId,
          reason: "handshake-failed",
        } as unknown as IqEvent);
    };
    // anyone who reaches the AGW port can fail a handshake: that must not end the call (DESIGN rule 8)
    push("tlsSessionEstablishmentFailure");
    await sleep(300);
    expect(sip.ended()).toBe(false);
    expect(n.c.a.sessions.size).toBe(1);
    const bcall = bob.incoming[0];
    const bMsrp = bcall ? bob.media.get(bcall)?.msrp : undefined;
    if (!bMsrp || !media.msrp) throw new Error("no MSRP endpoints");
    const atB = nextMessage(bMsrp);
    await media.msrp.send("still here", "text/plain");
    expect((await atB).content.toString()).toBe("still here");
    // a media fault does (the same path the AGW's own idleTimeout takes)
    push("idleTimeout");
    expect((await within(sip.terminated(), 5000, "released")).reason).toBe("remote-bye");
  });

  it("an Iq link that comes back with resumed:false (the AGW lost the contexts) → BYE both ways with E_ALG_AGW_RESTARTED", async () => {
    const agw = new ImsAgw({ timers: { handshakeMs: 5000 } });
    closers.push(() => agw.close());
    const states = new Set<(s: { connected: boolean; resumed?: boolean }) => void>();
    const iq = iqOver(agw, {
      onConnectionState: (l) => {
        states.add(l);
        return () => states.delete(l);
      },
    });
    const n = await network({ pcscfA: { iq } });
    const alice = await n.ue({ side: "a", user: "alice", kinds: ["msrp"] });
    const bob = await n.ue({ side: "b", user: "bob" });
    const reasons = byeReasons(bob);
    const { sip } = await alice.call("bob");
    await waitFor(() => agw.resources().relays === 1, 5000, "relaying");
    // a reconnection that was not a resumption (TS 23.334 Iq: the AGW restarted)
    for (const l of states) l({ connected: true, resumed: false });
    expect((await within(sip.terminated(), 5000, "released by P-CSCF(A)")).reason).toBe("remote-bye");
    const restarted = 'SIP;cause=503;text="E_ALG_AGW_RESTARTED: IMS-AGW agwRestarted"';
    await waitFor(() => reasons.includes(restarted), 3000, "BYE at UE B");
    // P-CSCF(B) may release too, on its own AGW's relayEnded when the anchored path died (TS 24.229 §5.2.8): UE B may
    // get that BYE first; each BYE it gets carries one of the two reasons, and P-CSCF(A)'s is among them
    for (const r of reasons)
      expect([restarted, 'SIP;cause=503;text="E_ALG_AGW_RELAY_ENDED: IMS-AGW relayEnded"']).toContain(r);
    expect(n.c.a.refusals.get("E_ALG_AGW_RESTARTED")).toBe(1);
    await allReleased(n);
    expect(agw.contextCount).toBe(0);
  });

  it("without an Iq binding e2ae stays refused with 488 E_ALG_E2AE_UNAVAILABLE", async () => {
    const n = await network({ iqA: false });
    expect(n.c.a.alg.e2aeAvailable).toBe(false);
    expect(n.c.b.alg.e2aeAvailable).toBe(true); // an Iq binding makes e2ae available by default
    const alice = await n.ue({ side: "a", user: "alice", kinds: ["msrp"] });
    await n.ue({ side: "b", user: "bob" });
    const err = await alice.call("bob").then(
      () => undefined,
      (e: unknown) => e as { status?: number; response?: SipMessage },
    );
    expect(err?.status).toBe(488);
    expect(err?.response?.getHeader("Warning")).toBe(
      '399 pcscf-a "E_ALG_E2AE_UNAVAILABLE: e2ae not available (m-line 0)"',
    );
    expect(n.agwA.contextCount).toBe(0);
  });

  it("CANCEL, a 486 and Timer C release the AGW contexts of both P-CSCFs", async () => {
    const n = await network({ pcscfA: { timerC: 1500 } });
    const alice = await n.ue({ side: "a", user: "alice", kinds: ["msrp", "bfcp"] });
    const bob = await n.ue({ side: "b", user: "bob", autoAnswer: false });

    // CANCEL (RFC 3261 §16.10): 487 relayed; TR 29.828 resources released
    const s1 = alice.ua.call("sip:bob@ims.example.com");
    await new Promise<void>((r) => s1.once("ringing", () => r()));
    expect(n.agwA.contextCount).toBe(2);
    expect(n.agwB.contextCount).toBe(2);
    s1.cancel();
    expect((await within(s1.terminated(), 5000, "cancelled")).status).toBe(487);
    await allReleased(n);

    // a non-2xx final (486 Busy Here from UE B)
    const s2 = alice.ua.call("sip:bob@ims.example.com");
    await new Promise<void>((r) => s2.once("ringing", () => r()));
    const b2 = bob.incoming[1];
    b2?.reject(486);
    expect((await within(s2.terminated(), 5000, "rejected")).status).toBe(486);
    await allReleased(n);

    // Timer C at P-CSCF(A) (RFC 3261 §16.8): the branch is cancelled, the 487 releases everything
    const s3 = alice.ua.call("sip:bob@ims.example.com");
    expect((await within(s3.terminated(), 8000, "Timer C")).status).toBe(487);
    await allReleased(n);
    const reasons = n.c.audit.events.filter((e) => e.event === "agw-release").map((e) => e.reason);
    expect(reasons).toContain("final response 487");
    expect(reasons).toContain("final response 486");
  });

  it("closing a P-CSCF releases the contexts it holds", async () => {
    const n = await network();
    const alice = await n.ue({ side: "a", user: "alice", kinds: ["msrp"] });
    const bob = await n.ue({ side: "b", user: "bob" });
    await alice.call("bob");
    expect(n.agwA.contextCount).toBe(1);
    await n.c.a.close();
    expect(n.agwA.contextCount).toBe(0);
    expect(n.c.audit.events.some((e) => e.event === "agw-release" && e.reason === "P-CSCF closed")).toBe(true);
    // P-CSCF(A) is gone: a BYE would only time out
    await alice.close({ hangup: false });
    await bob.close({ hangup: false });
  });
});
