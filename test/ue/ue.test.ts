import { afterEach, describe, expect, it } from "vitest";
import { AuditLog } from "../../src/log.ts";
import type { SipTransportProtocol } from "../../src/sip/transport/types.ts";
import { ImsUe, type UeCall } from "../../src/ue/ue.ts";
import { activeResources, expectNoLeaks } from "../sip/helpers.ts";
import { nextMessage, waitOpen } from "./helpers.ts";

const TIMERS = { T1: 100, T2: 400, T4: 500, D: 500 };
const CHANNELS = [{ id: 1000, label: "chat", subprotocol: "msrp" }];

function contactUri(ue: ImsUe, user: string, proto: SipTransportProtocol): string {
  const a = ue.layer.address(proto);
  if (!a) throw new Error("no address");
  return `sip:${user}@${a.host}:${a.port};transport=${proto.toLowerCase()}`;
}

const closers: (() => Promise<void>)[] = [];
afterEach(async () => {
  for (const c of closers.splice(0).reverse()) await c();
});

describe("UE = SIP user agent + data channel endpoint", () => {
  for (const proto of ["UDP", "TCP"] as const) {
    it(`INVITE/200/ACK over ${proto} carries the DC offer/answer; the DC opens verified; BYE frees it`, async () => {
      const before = activeResources();
      const audit = new AuditLog();
      const alice = new ImsUe({
        aor: "sip:alice@ims.example.com",
        transport: proto,
        timers: TIMERS,
        audit,
        dc: { channels: CHANNELS },
      });
      const bob = new ImsUe({ aor: "sip:bob@ims.example.com", transport: proto, timers: TIMERS, audit });
      await alice.start();
      await bob.start();
      closers.push(
        () => alice.close(),
        () => bob.close(),
      );
      const incoming = new Promise<UeCall>((r) => bob.once("incoming", r));
      const call = await alice.call(contactUri(bob, "bob", proto));
      const bcall = await incoming;
      await Promise.all([call.dc.connected(), bcall.dc.connected()]);
      expect(call.dc.verdict?.verified).toBe(true);
      expect(bcall.dc.verdict?.verified).toBe(true);
      const ca = call.dc.channel(1000);
      const cb = bcall.dc.channel(1000);
      if (!ca || !cb) throw new Error("channels missing");
      await Promise.all([waitOpen(ca), waitOpen(cb)]);
      const p = nextMessage(cb);
      ca.send("over SIP-negotiated DTLS");
      expect(await p).toBe("over SIP-negotiated DTLS");
      const q = nextMessage(ca);
      cb.send("and back");
      expect(await q).toBe("and back");
      expect(audit.events.filter((e) => e.decision === "fingerprint-verified")).toHaveLength(2);
      await call.hangup();
      const ended = await bcall.sip.terminated();
      expect(ended.reason).toBeDefined();
      expect(bcall.dc.state).toBe("closed");
      await alice.close();
      await bob.close();
      closers.splice(0);
      expect(await expectNoLeaks(before, 3000)).toEqual({});
    });
  }

  it("an offer with a malformed fingerprint is refused with 488 before any media", async () => {
    const alice = new ImsUe({ aor: "sip:alice@ims.example.com", timers: TIMERS, dc: { channels: CHANNELS } });
    const bob = new ImsUe({ aor: "sip:bob@ims.example.com", timers: TIMERS });
    await alice.start();
    await bob.start();
    closers.push(
      () => alice.close(),
      () => bob.close(),
    );
    // corrupt alice's offer on its way out
    alice.on("call", (c) => {
      const orig = c.dc.createOffer.bind(c.dc);
      c.dc.createOffer = async (o) =>
        (await orig(o)).replace(/a=fingerprint:sha-256 (\S+)/, "a=fingerprint:sha-256 zz:$1");
    });
    const err = await alice.call(contactUri(bob, "bob", "UDP")).then(
      () => undefined,
      (e: unknown) => e,
    );
    expect(String(err)).toMatch(/488/);
  });
});
