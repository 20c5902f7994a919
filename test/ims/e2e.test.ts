import { afterEach, describe, expect, it } from "vitest";
import type { SipTransportProtocol } from "../../src/sip/index.ts";
import type { UeCall } from "../../src/ue/ue.ts";
import { activeResources, expectNoLeaks } from "../sip/helpers.ts";
import { nextMessage, waitOpen } from "../ue/helpers.ts";
import { CHANNELS, type Core, DOMAIN, sha256, startCore, startUe } from "./e2e-helpers.ts";

const closers: (() => Promise<void>)[] = [];
afterEach(async () => {
  for (const c of closers.splice(0).reverse()) await c().catch(() => undefined);
});

type Ev = Record<string, unknown>;

function algEvents(core: Core, instance: string, callId: string): Ev[] {
  return core.audit.events.filter(
    (e) => e.event === "ims-alg-decision" && e.instance === instance && e.callId === callId,
  ) as Ev[];
}

describe("UE A → P-CSCF(A) → S-CSCF → P-CSCF(B) → UE B", () => {
  const cases: [SipTransportProtocol, SipTransportProtocol, SipTransportProtocol][] = [
    ["UDP", "UDP", "UDP"],
    ["TCP", "TCP", "TCP"],
    ["WS", "TCP", "WS"],
  ];
  for (const [ta, core, tb] of cases) {
    it(`e2e data channel: A over ${ta}, core over ${core}, B over ${tb}; bodies byte for byte on both P-CSCFs`, async () => {
      const before = activeResources();
      const c = await startCore({ core });
      closers.push(() => c.close());
      const alice = await startUe(c.a, "alice", ta, c.audit, { dc: { channels: CHANNELS } });
      closers.push(() => alice.close());
      const bob = await startUe(c.b, "bob", tb, c.audit);
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
      ca.send("hello through two P-CSCFs");
      expect(await p).toBe("hello through two P-CSCFs");
      const q = nextMessage(ca);
      cb.send("and back");
      expect(await q).toBe("and back");

      // the offer and answer bodies: what A sent = what B got, and the other way round
      const offer = call.sip.localSdp;
      const answer = bcall.sip.localSdp;
      expect(offer && bcall.sip.remoteSdp && sha256(bcall.sip.remoteSdp)).toBe(offer && sha256(offer));
      expect(answer && call.sip.remoteSdp && sha256(call.sip.remoteSdp)).toBe(answer && sha256(answer));
      const callId = call.sip.callId;
      for (const inst of ["pcscf-a", "pcscf-b"]) {
        const ev = algEvents(c, inst, callId);
        const offers = ev.filter((e) => e.kind === "offer");
        const answers = ev.filter((e) => e.kind === "answer");
        expect(offers.length).toBeGreaterThan(0);
        expect(answers.length).toBeGreaterThan(0);
        for (const e of ev) {
          expect(e.sha256In).toBe(e.sha256Out);
          expect(e.bodyUnchanged).toBe(true);
        }
        const dcOffer = offers.find((e) => e.proto === "UDP/DTLS/SCTP");
        const dcAnswer = answers.find((e) => e.proto === "UDP/DTLS/SCTP");
        expect(dcOffer?.decision).toBe("e2e");
        expect(dcAnswer?.decision).toBe("e2e");
        expect(dcOffer?.sha256In).toBe(offer && sha256(offer));
        expect(dcAnswer?.sha256In).toBe(answer && sha256(answer));
      }
      expect(algEvents(c, "pcscf-a", callId).find((e) => e.kind === "offer")?.direction).toBe("originating");
      expect(algEvents(c, "pcscf-b", callId).find((e) => e.kind === "offer")?.direction).toBe("terminating");

      await call.hangup();
      await bcall.sip.terminated();
      await alice.close();
      await bob.close();
      await c.close();
      closers.splice(0);
      expect(await expectNoLeaks(before, 3000)).toEqual({});
    });
  }
});
