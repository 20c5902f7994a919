import { afterEach, describe, expect, it } from "vitest";
import { SipRequestError } from "../../src/sip/index.ts";
import type { UeCall } from "../../src/ue/ue.ts";
import { activeResources, expectNoLeaks, waitFor } from "../sip/helpers.ts";
import { nextMessage, waitOpen } from "../ue/helpers.ts";
import { CHANNELS, DOMAIN, startCore, startUe } from "./e2e-helpers.ts";

const closers: (() => Promise<void>)[] = [];
afterEach(async () => {
  for (const c of closers.splice(0).reverse()) await c().catch(() => undefined);
});

type Ev = Record<string, unknown>;

async function rejection(p: Promise<unknown>): Promise<SipRequestError> {
  const e = await p.then(
    () => undefined,
    (x: unknown) => x,
  );
  if (!(e instanceof SipRequestError)) throw new Error(`expected a SIP rejection, got ${String(e)}`);
  return e;
}

function warningOf(e: SipRequestError): string {
  const res = e.response as { getHeader(n: string): string | undefined } | undefined;
  return res?.getHeader("Warning") ?? "";
}

describe("IMS-ALG at the P-CSCF, end to end", () => {
  it("REGISTER: Security-Client stops at the P-CSCF, Path added, mediasec kept per contact, Security-Server echoed", async () => {
    const before = activeResources();
    const c = await startCore();
    closers.push(() => c.close());
    const alice = await startUe(c.a, "alice", "TCP", c.audit, { mediasec: ["msrp-tls", "bfcp-tls", "sdes-srtp"] });
    closers.push(() => alice.close());
    const reg = c.scscfRequests.find((r) => r.req.method === "REGISTER");
    expect(reg).toBeDefined();
    expect(reg?.req.getHeader("Security-Client")).toBeUndefined();
    expect(reg?.req.getHeader("Security-Verify")).toBeUndefined();
    expect(reg?.req.getHeader("Path")).toMatch(/^<sip:p-[A-Za-z0-9_.-]+@127\.0\.0\.1:\d+;transport=tcp;lr>$/);
    expect(reg?.req.require()).toContain("path");
    // the capability store of P-CSCF(A) holds the mediasec mechanisms of the contact
    const stored = c.a.capabilities.contacts(`sip:alice@${DOMAIN}`);
    expect(stored).toHaveLength(1);
    expect([...(stored[0]?.capabilities ?? [])].sort()).toEqual(["bfcp-tls", "msrp-tls", "sdes-srtp"]);
    // TS 24.229 §7.2A.7: the ones the P-CSCF supports come back in Security-Server
    const ok = alice.ua.registered?.response;
    expect(ok?.getHeader("Security-Server")).toBe("msrp-tls;mediasec, bfcp-tls;mediasec");
    expect(alice.ua.registered?.serviceRoute[0]).toMatch(/^<sip:orig@127\.0\.0\.1:\d+;transport=tcp;lr>$/);
    // the S-CSCF keeps the contact with its feature tag and the Path
    const b = c.scscf.location.lookup(`sip:alice@${DOMAIN}`);
    expect(b).toHaveLength(1);
    expect(b[0]?.params.some((p) => p.name === "+sip.app-subtype")).toBe(true);
    expect(b[0]?.path[0]).toBe(reg?.req.getHeader("Path"));
    // de-registration clears both
    await alice.ua.unregister();
    expect(c.a.capabilities.contacts(`sip:alice@${DOMAIN}`)).toHaveLength(0);
    expect(c.a.registrations.size).toBe(0);
    expect(c.scscf.location.lookup(`sip:alice@${DOMAIN}`)).toHaveLength(0);
    await alice.close();
    await c.close();
    closers.splice(0);
    expect(await expectNoLeaks(before, 3000)).toEqual({});
  });

  it("e2ae requested on the DC m-line: decision e2ae, refused 488 with the Warning (no IMS-AGW bound)", async () => {
    const c = await startCore();
    closers.push(() => c.close());
    const alice = await startUe(c.a, "alice", "TCP", c.audit, {
      mediasec: ["msrp-tls", "bfcp-tls", "dc-dtls"],
      dc: { channels: CHANNELS, requestE2ae: true },
    });
    closers.push(() => alice.close());
    const bob = await startUe(c.b, "bob", "TCP", c.audit);
    closers.push(() => bob.close());
    let offered = 0;
    bob.on("incoming", () => offered++);
    const callP = alice.call(`sip:bob@${DOMAIN}`);
    const err = await rejection(callP);
    expect(err.status).toBe(488);
    expect(warningOf(err)).toMatch(/^399 pcscf-a "E_ALG_E2AE_UNAVAILABLE: e2ae not available \(m-line \d\)"$/);
    expect(offered).toBe(0);
    const ev = c.audit.events.filter((e) => e.instance === "pcscf-a" && e.proto === "UDP/DTLS/SCTP") as Ev[];
    expect(ev).toHaveLength(1);
    expect(ev[0]).toMatchObject({
      decision: "e2ae",
      kind: "offer",
      direction: "originating",
      indication: "e2ae-requested",
      registeredCapability: true,
      action: "refuse",
      status: 488,
      refuseCode: "E_ALG_E2AE_UNAVAILABLE",
      sha256Out: null,
    });
    expect(c.audit.events.some((e) => e.instance === "pcscf-b")).toBe(false);
  });

  it("e2ae requested without the registered capability: forwarded e2e (TS 33.328 §7.2.5 step 2)", async () => {
    const c = await startCore();
    closers.push(() => c.close());
    const alice = await startUe(c.a, "alice", "UDP", c.audit, { dc: { channels: CHANNELS, requestE2ae: true } });
    closers.push(() => alice.close());
    const bob = await startUe(c.b, "bob", "UDP", c.audit);
    closers.push(() => bob.close());
    const call = await alice.call(`sip:bob@${DOMAIN}`);
    const ev = c.audit.events.filter(
      (e) => e.instance === "pcscf-a" && e.proto === "UDP/DTLS/SCTP" && e.kind === "offer",
    );
    expect(ev[0]).toMatchObject({ decision: "e2e", indication: "e2ae-requested", registeredCapability: false });
    await call.hangup();
  });

  it("a malformed fingerprint on the DC m-line is refused at P-CSCF(A) with 488 and the finding code", async () => {
    const c = await startCore();
    closers.push(() => c.close());
    const alice = await startUe(c.a, "alice", "UDP", c.audit, { dc: { channels: CHANNELS } });
    closers.push(() => alice.close());
    const bob = await startUe(c.b, "bob", "UDP", c.audit);
    closers.push(() => bob.close());
    alice.on("call", (call) => {
      const orig = call.dc.createOffer.bind(call.dc);
      call.dc.createOffer = async (o) =>
        (await orig(o)).replace(/a=fingerprint:sha-256 (\S+)/, "a=fingerprint:sha-256 zz:$1");
    });
    const err = await rejection(alice.call(`sip:bob@${DOMAIN}`));
    expect(err.status).toBe(488);
    expect(warningOf(err)).toMatch(/^399 pcscf-a "E_FP_SYNTAX: /);
    const ev = c.audit.events.find((e) => e.instance === "pcscf-a" && e.proto === "UDP/DTLS/SCTP") as Ev | undefined;
    expect(ev).toMatchObject({ decision: "refuse", refuseCode: "E_FP_SYNTAX", status: 488, sha256Out: null });
  });

  it("a P-CSCF without IMS-ALG (imsAlg: false) still carries an e2e data channel call (NOTE 2)", async () => {
    const c = await startCore({ pcscfA: { alg: { imsAlg: false } }, pcscfB: { alg: { imsAlg: false } } });
    closers.push(() => c.close());
    const alice = await startUe(c.a, "alice", "TCP", c.audit, { dc: { channels: CHANNELS } });
    closers.push(() => alice.close());
    const bob = await startUe(c.b, "bob", "UDP", c.audit);
    closers.push(() => bob.close());
    const incoming = new Promise<UeCall>((r) => bob.once("incoming", r));
    const call = await alice.call(`sip:bob@${DOMAIN}`);
    const bcall = await incoming;
    await Promise.all([call.dc.connected(), bcall.dc.connected()]);
    expect(call.dc.verdict?.verified).toBe(true);
    expect(bcall.dc.verdict?.verified).toBe(true);
    const ca = call.dc.channel(1000);
    const cb = bcall.dc.channel(1000);
    if (!ca || !cb) throw new Error("channels missing");
    await Promise.all([waitOpen(ca), waitOpen(cb)]);
    const p = nextMessage(cb);
    ca.send("no IMS-ALG needed");
    expect(await p).toBe("no IMS-ALG needed");
    const ev = c.audit.events.filter((e) => e.callId === call.sip.callId) as Ev[];
    expect(ev.length).toBeGreaterThan(0);
    for (const e of ev) {
      expect(e.clause).toBe("TS 33.328 §7.2.5 NOTE 2");
      expect(e.bodyUnchanged).toBe(true);
    }
    await call.hangup();
  });

  it("a bad answer in the 2xx: the 2xx is forwarded, then the P-CSCF releases both sides with BYE + Reason", async () => {
    const c = await startCore();
    closers.push(() => c.close());
    const alice = await startUe(c.a, "alice", "TCP", c.audit, { dc: { channels: CHANNELS } });
    closers.push(() => alice.close());
    const bob = await startUe(c.b, "bob", "UDP", c.audit);
    closers.push(() => bob.close());
    bob.on("call", (call) => {
      const orig = call.dc.acceptOffer.bind(call.dc);
      call.dc.acceptOffer = async (o) =>
        (await orig(o)).replace(/a=fingerprint:sha-256 (\S+)/, "a=fingerprint:sha-256 zz:$1");
    });
    const byes: string[] = [];
    bob.layer.onMessage((m) => {
      if (m.kind === "request" && m.method === "BYE") byes.push(m.getHeader("Reason") ?? "");
    });
    const incoming = new Promise<UeCall>((r) => bob.once("incoming", r));
    const callP = alice.call(`sip:bob@${DOMAIN}`).catch((e: unknown) => e);
    const bcall = await incoming;
    const ended = await bcall.sip.terminated();
    expect(ended.reason).toBe("remote-bye");
    await callP;
    await waitFor(() => c.audit.events.some((e) => e.event === "session-release" && e.instance === "pcscf-b"), 3000);
    const rel = c.audit.events.find((e) => e.event === "session-release" && e.instance === "pcscf-b");
    expect(rel).toMatchObject({ decision: "release", byeDownstream: true, byeUpstream: true });
    // P-CSCF(B)'s BYE reaches UE B (maybe after the caller's own BYE, which its UA sends on the same bad answer)
    await waitFor(() => byes.some((r) => /^SIP;cause=488;text="E_FP_SYNTAX"$/.test(r)), 3000, "BYE with Reason");
    const ans = c.audit.events.find(
      (e) => e.instance === "pcscf-b" && e.kind === "answer" && e.proto === "UDP/DTLS/SCTP",
    ) as Ev | undefined;
    expect(ans).toMatchObject({ decision: "refuse", refuseCode: "E_FP_SYNTAX" });
  });

  it("a re-INVITE travels in-dialog through both P-CSCFs and its offer and answer are decided again", async () => {
    const c = await startCore();
    closers.push(() => c.close());
    const alice = await startUe(c.a, "alice", "TCP", c.audit, {
      dc: { channels: CHANNELS },
      hangupOnMediaFailure: false,
    });
    closers.push(() => alice.close());
    const bob = await startUe(c.b, "bob", "UDP", c.audit, { hangupOnMediaFailure: false });
    closers.push(() => bob.close());
    const incoming = new Promise<UeCall>((r) => bob.once("incoming", r));
    const call = await alice.call(`sip:bob@${DOMAIN}`);
    const bcall = await incoming;
    await bcall.sip.established();
    const r = await call.sip.reinvite();
    expect(r.status).toBe(200);
    const callId = call.sip.callId;
    const offers = (inst: string) =>
      c.audit.events.filter(
        (e) => e.instance === inst && e.callId === callId && e.kind === "offer" && e.proto === "UDP/DTLS/SCTP",
      ) as Ev[];
    // two offers each: the initial INVITE and the re-INVITE (in-dialog, through the double Record-Route)
    expect(offers("pcscf-a").map((e) => [e.sip, e.direction])).toEqual([
      ["INVITE", "originating"],
      ["INVITE", "originating"],
    ]);
    expect(offers("pcscf-b").map((e) => [e.sip, e.direction])).toEqual([
      ["INVITE", "terminating"],
      ["INVITE", "terminating"],
    ]);
    for (const e of c.audit.events.filter((x) => x.callId === callId)) expect(e.bodyUnchanged).toBe(true);
    await call.hangup();
  });

  it("CANCEL travels hop by hop: 200 to the CANCEL, 487 relayed to the caller", async () => {
    const c = await startCore();
    closers.push(() => c.close());
    const alice = await startUe(c.a, "alice", "WS", c.audit, { dc: { channels: CHANNELS } });
    closers.push(() => alice.close());
    const bob = await startUe(c.b, "bob", "TCP", c.audit, { autoAnswer: false });
    closers.push(() => bob.close());
    const incoming = new Promise<UeCall>((r) => bob.once("incoming", r));
    const sip = alice.ua.call(`sip:bob@${DOMAIN}`);
    await new Promise<void>((r) => sip.once("ringing", () => r()));
    const bcall = await incoming;
    sip.cancel();
    const [ea, eb] = await Promise.all([sip.terminated(), bcall.sip.terminated()]);
    expect(ea).toMatchObject({ reason: "local-cancel", status: 487 });
    expect(eb.reason).toBe("remote-cancel");
    await waitFor(() => c.a.pending === 0 && c.b.pending === 0 && c.scscf.pending === 0, 5000, "transactions done");
  });

  it("an unknown user gets 404 from the S-CSCF; a request from an unregistered UE gets 403 at the P-CSCF", async () => {
    const c = await startCore();
    closers.push(() => c.close());
    const alice = await startUe(c.a, "alice", "UDP", c.audit, { dc: { channels: CHANNELS } });
    closers.push(() => alice.close());
    const e404 = await rejection(alice.call(`sip:nobody@${DOMAIN}`));
    expect(e404.status).toBe(404);
    await alice.ua.unregister();
    const e403 = await rejection(alice.call(`sip:nobody@${DOMAIN}`));
    expect(e403.status).toBe(403);
  });
});
