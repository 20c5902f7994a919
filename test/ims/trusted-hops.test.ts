/**
 * Trusted hops (RFC 3325 §5 / §9.1, TS 24.229 §5.1.1.2, §5.2.6.3.3, §5.4.3.2; RFC 5626 §5): the attacks of the
 * issue, on real sockets on 127.0.0.1, and the legitimate path that must keep working.
 */
import { afterEach, describe, expect, it } from "vitest";
import type { OriginatingInfo } from "../../src/ims/scscf/index.ts";
import type { SipRequest, SipTransportProtocol } from "../../src/sip/index.ts";
import { ImsUe, type UeCall } from "../../src/ue/ue.ts";
import { sleep } from "../sip/helpers.ts";
import { type Core, DOMAIN, startCore, startUe, TIMERS } from "./e2e-helpers.ts";

const closers: (() => Promise<void>)[] = [];
afterEach(async () => {
  for (const c of closers.splice(0).reverse()) await c().catch(() => undefined);
});

/** A UE-like attacker that sends its INVITE to `next` (not a P-CSCF it registered with), as `aor`. */
async function attacker(aor: string, next: string, transport: SipTransportProtocol): Promise<ImsUe> {
  const ue = new ImsUe({ aor, transport, outboundProxy: next, timers: TIMERS, acceptFrom: "any" });
  closers.push(() => ue.close());
  await ue.start();
  return ue;
}

/** INVITEs arriving at a UE's transport layer. */
function invitesAt(ue: ImsUe): SipRequest[] {
  const got: SipRequest[] = [];
  ue.layer.onMessage((m) => {
    if (m.kind === "request" && m.method === "INVITE") got.push(m);
  });
  return got;
}

async function core(): Promise<Core> {
  const c = await startCore();
  closers.push(() => c.close());
  return c;
}

describe("the UE accepts initial requests only over its registration flow", () => {
  for (const t of ["UDP", "TCP"] as const) {
    it(`an INVITE straight to bob's UE port (${t}) with a forged From: alice → 403, no answer, audit event`, async () => {
      const c = await core();
      const bob = await startUe(c.b, "bob", t, c.audit);
      closers.push(() => bob.close());
      let incoming = 0;
      bob.on("incoming", () => incoming++);
      const refused: unknown[] = [];
      bob.on("refused", (r) => refused.push(r));

      const mallory = await attacker(`sip:alice@${DOMAIN}`, `${bob.ua.contactUri(t)};lr`, t);
      const call = mallory.ua.call(`sip:bob@${DOMAIN}`, {
        headers: [{ name: "P-Asserted-Identity", value: `<sip:alice@${DOMAIN}>` }],
      });
      const end = await call.terminated();
      expect(end.status).toBe(403);
      expect(end.response?.getHeader("Warning")).toContain("E_SIP_UNTRUSTED_SOURCE");
      expect(incoming).toBe(0);
      expect(bob.activeCalls).toBe(0);
      expect(refused).toEqual([{ code: "E_SIP_UNTRUSTED_SOURCE", status: 403, callId: call.callId }]);
      const ev = c.audit.events.find((e) => e.node === "ue" && e.decision === "request-refused");
      expect(ev).toMatchObject({
        ue: `sip:bob@${DOMAIN}`,
        code: "E_SIP_UNTRUSTED_SOURCE",
        method: "INVITE",
        transport: t,
        status: 403,
      });
      expect(ev?.clause).toMatch(/^TS 24\.229 §5\.1\.1\.2/);
    });
  }

  it('acceptFrom: "any" (labs without a P-CSCF) still takes the direct INVITE', async () => {
    const c = await core();
    const bob = await startUe(c.b, "bob", "UDP", c.audit, { acceptFrom: "any" });
    closers.push(() => bob.close());
    const incoming = new Promise<UeCall>((r) => bob.once("incoming", r));
    const mallory = await attacker(`sip:alice@${DOMAIN}`, `${bob.ua.contactUri("UDP")};lr`, "UDP");
    const call = await mallory.call(`sip:bob@${DOMAIN}`);
    expect((await incoming).sip.callId).toBe(call.sip.callId);
    await call.hangup();
  });

  it("an unregistered UE with an outbound proxy refuses every initial request (no registration flow)", async () => {
    const c = await core();
    const bob = new ImsUe({ aor: `sip:bob@${DOMAIN}`, outboundProxy: c.b.uri("access", "UDP"), timers: TIMERS });
    closers.push(() => bob.close());
    await bob.start();
    const mallory = await attacker(`sip:alice@${DOMAIN}`, `${bob.ua.contactUri("UDP")};lr`, "UDP");
    const end = await mallory.ua.call(`sip:bob@${DOMAIN}`).terminated();
    expect(end.status).toBe(403);
  });
});

describe("the S-CSCF accepts originating requests only from trusted P-CSCFs", () => {
  for (const t of ["UDP", "TCP"] as const) {
    it(`an INVITE to the S-CSCF's core port (${t}) from an untrusted source → 403 + Warning + audit, bob untouched`, async () => {
      const c = await core();
      const bob = await startUe(c.b, "bob", "UDP", c.audit);
      closers.push(() => bob.close());
      const atBob = invitesAt(bob);
      const mallory = await attacker(`sip:alice@${DOMAIN}`, c.scscf.uri(t), t);
      const call = mallory.ua.call(`sip:bob@${DOMAIN}`, {
        headers: [{ name: "P-Asserted-Identity", value: `<sip:alice@${DOMAIN}>` }],
      });
      const end = await call.terminated();
      expect(end.status).toBe(403);
      expect(end.response?.getHeader("Warning")).toContain("E_SCSCF_UNTRUSTED_SOURCE");
      await sleep(100);
      expect(atBob).toHaveLength(0);
      const ev = c.audit.events.find((e) => e.node === "scscf" && e.decision === "request-refused");
      expect(ev).toMatchObject({ code: "E_SCSCF_UNTRUSTED_SOURCE", method: "INVITE", transport: t, status: 403 });
      expect(ev?.callId).toBe(call.callId);
    });
  }

  it("registered UEs still call each other; the S-CSCF serves the caller as the P-CSCF's assertion", async () => {
    const c = await core();
    const orig: OriginatingInfo[] = [];
    c.scscf.on("originating", (o) => orig.push(o));
    const alice = await startUe(c.a, "alice", "TCP", c.audit);
    closers.push(() => alice.close());
    const bob = await startUe(c.b, "bob", "UDP", c.audit);
    closers.push(() => bob.close());
    const incoming = new Promise<UeCall>((r) => bob.once("incoming", r));
    const call = await alice.call(`sip:bob@${DOMAIN}`);
    await incoming;
    expect(orig.map((o) => [o.method, o.servedUser])).toEqual([["INVITE", `<sip:alice@${DOMAIN}>`]]);
    expect(orig[0]?.trustedBy.by).toBe("predicate");
    await call.hangup();
  });
});

describe("the P-CSCF asserts the identity the UE registered", () => {
  it("a UE's own P-Asserted-Identity is removed and replaced; its P-Preferred-Identity of another user is ignored", async () => {
    const c = await core();
    const alice = await startUe(c.a, "alice", "UDP", c.audit);
    closers.push(() => alice.close());
    const bob = await startUe(c.b, "bob", "UDP", c.audit);
    closers.push(() => bob.close());
    const atBob = invitesAt(bob);
    const incoming = new Promise<UeCall>((r) => bob.once("incoming", r));
    const call = alice.ua.call(`sip:bob@${DOMAIN}`, {
      headers: [
        { name: "P-Asserted-Identity", value: `<sip:carol@${DOMAIN}>` },
        { name: "P-Preferred-Identity", value: `<sip:carol@${DOMAIN}>` },
      ],
    });
    await incoming;
    const atScscf = c.scscfRequests.find((r) => r.req.method === "INVITE")?.req;
    expect(atScscf?.getHeaders("P-Asserted-Identity")).toEqual([`<sip:alice@${DOMAIN}>`]);
    expect(atScscf?.hasHeader("P-Preferred-Identity")).toBe(false);
    expect(atBob[0]?.getHeaders("P-Asserted-Identity")).toEqual([`<sip:alice@${DOMAIN}>`]);
    expect(atBob[0]?.hasHeader("P-Preferred-Identity")).toBe(false);
    await call.hangup();
  });

  it('privacy "id": the asserted identity does not leave the trust domain toward the callee UE', async () => {
    const c = await core();
    const alice = await startUe(c.a, "alice", "UDP", c.audit);
    closers.push(() => alice.close());
    const bob = await startUe(c.b, "bob", "UDP", c.audit);
    closers.push(() => bob.close());
    const atBob = invitesAt(bob);
    const incoming = new Promise<UeCall>((r) => bob.once("incoming", r));
    const call = alice.ua.call(`sip:bob@${DOMAIN}`, { headers: [{ name: "Privacy", value: "id" }] });
    await incoming;
    // inside the trust domain the S-CSCF still sees who calls
    const atScscf = c.scscfRequests.find((r) => r.req.method === "INVITE")?.req;
    expect(atScscf?.getHeaders("P-Asserted-Identity")).toEqual([`<sip:alice@${DOMAIN}>`]);
    expect(atBob[0]?.hasHeader("P-Asserted-Identity")).toBe(false);
    await call.hangup();
  });
});
