/**
 * THE acceptance matrix: every offerer × answerer pair of the UE's ICE modes (full, lite, none) completes a verified
 * data channel call (RFC 8445 §6.1.1 roles; both lite and anything facing "none" run without ICE, RFC 8839 §3.3.2/§3.3.3).
 */
import { describe, expect, it } from "vitest";
import { DcEndpoint } from "../../src/ue/dcEndpoint.ts";
import type { IceMode } from "../../src/ue/iceMode.ts";
import { nextMessage, waitOpen } from "./helpers.ts";

const CHANNELS = [{ id: 1000, label: "chat" }];
const MODES: IceMode[] = ["full", "lite", "none"];

function expectedPlan(offerer: IceMode, answerer: IceMode): "ice" | "direct" {
  if (offerer === "none" || answerer === "none") return "direct";
  if (offerer === "lite" && answerer === "lite") return "direct";
  return "ice";
}

describe("ICE modes: offerer × answerer", () => {
  for (const o of MODES) {
    for (const a of MODES) {
      it(`${o} offers, ${a} answers: verified channel, data both ways`, async () => {
        const alice = new DcEndpoint({ name: "alice", ice: o, channels: CHANNELS });
        const bob = new DcEndpoint({ name: "bob", ice: a });
        try {
          const offer = await alice.createOffer();
          // TS 26.114 Annex A.17: a lite UE signals a=ice-lite, ice2 and exactly one candidate = c=/port
          if (o === "lite") {
            expect(offer).toMatch(/^a=ice-lite\r$/m);
            expect(offer).toMatch(/^a=ice-options:ice2\r$/m);
            const cands = offer.match(/^a=candidate:.*$/gm) ?? [];
            expect(cands).toHaveLength(1);
            const port = /^m=application (\d+) /m.exec(offer)?.[1];
            const c = /^c=IN IP4 (\S+)/m.exec(offer)?.[1];
            expect(cands[0]).toContain(` ${c} ${port} typ host`);
          }
          if (o === "none") expect(offer).not.toMatch(/^a=(ice-ufrag|ice-pwd|candidate|ice-lite)/m);
          const answer = await bob.acceptOffer(offer);
          if (a === "none" || o === "none") expect(answer).not.toMatch(/^a=(ice-ufrag|ice-pwd|candidate|ice-lite)/m);
          if (a === "lite" && o !== "none") expect(answer).toMatch(/^a=ice-lite\r$/m);
          await alice.acceptAnswer(answer);
          await Promise.all([alice.connected(), bob.connected()]);
          expect(alice.verdict?.verified).toBe(true);
          expect(bob.verdict?.verified).toBe(true);
          expect(alice.transport?.icePlan?.kind).toBe(expectedPlan(o, a));
          expect(bob.transport?.icePlan?.kind).toBe(expectedPlan(o, a));
          const ca = alice.channel(1000);
          const cb = bob.channel(1000);
          if (!ca || !cb) throw new Error("channels missing");
          await Promise.all([waitOpen(ca), waitOpen(cb)]);
          const atB = nextMessage(cb);
          ca.send(`hello from ${o}`);
          expect(await atB).toBe(`hello from ${o}`);
          const atA = nextMessage(ca);
          cb.send(`hello from ${a}`);
          expect(await atA).toBe(`hello from ${a}`);
        } finally {
          await Promise.all([alice.close(), bob.close()]);
        }
      });
    }
  }
});
