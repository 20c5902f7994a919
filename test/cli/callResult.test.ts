/**
 * `imsdc call` result and ladder from a trace: an e2ae verdict counts as "the AGW's" only when the certificate the UE
 * verified is the one its own P-CSCF signalled for the IMS-AGW (TR 29.828 §5.2.1.2.2 step 8); a verified peer that
 * is someone else is shown as such, never as the AGW.
 */
import { describe, expect, it } from "vitest";
import { e2aeVerdict, result } from "../../src/cli/callResult.ts";
import { renderLadder } from "../../src/cli/ladder.ts";
import type { DemoEvent } from "../../src/demo/events.ts";

const AGW_A = "AA:01:02:03:04:05:06:07:08:09:0A:0B:0C:0D:0E:0F:10:11:12:13:14:15:16:17:18:19:1A:1B:1C:1D:1E:1F";
const OTHER = "BB:01:02:03:04:05:06:07:08:09:0A:0B:0C:0D:0E:0F:10:11:12:13:14:15:16:17:18:19:1A:1B:1C:1D:1E:1F";

function trace(presented: string): DemoEvent[] {
  return [
    {
      type: "audit",
      t: 10,
      event: {
        node: "pcscf",
        event: "ims-alg-decision",
        instance: "pcscf-a",
        kind: "offer",
        decision: "e2ae",
        action: "anchor",
        proto: "TCP/TLS/MSRP",
        mline: 0,
        iq: "ok",
        agwContextId: "C1",
        agwFingerprint: `sha-256 ${AGW_A}`,
        clause: "TR 29.828 §5.2.1.2.2 step 1",
        ts: "",
      },
    },
    {
      type: "ue",
      t: 20,
      ue: "ueA",
      what: "e2ae-verdict",
      data: { protocol: "msrp", verified: true, hash: "sha-256", presented, signalled: [presented] },
    },
    {
      type: "ue",
      t: 30,
      ue: "ueA",
      what: "e2ae-exchange",
      data: { protocol: "msrp", method: "SEND", status: 200, response: "200 OK", text: "hello bob" },
    },
  ];
}

describe("e2ae verdicts and exchanges in the result and the ladder", () => {
  it("the AGW's certificate: agwMatches, the ladder says the IMS-AGW's; the SEND/200 is the first message", () => {
    const events = trace(AGW_A);
    expect(e2aeVerdict(events, "ueA")).toMatchObject({
      peer: "IMS-AGW",
      verified: true,
      agwFingerprint: `sha-256 ${AGW_A}`,
      agwMatches: true,
    });
    const run = { ok: true, exitCode: 0, outcome: "e2ae-verified", message: "", t0: 0, timings: {}, net: { events } };
    const r = result("e2ae-msrp", run, "");
    expect(r.verdicts.ueA?.agwMatches).toBe(true);
    expect(r.verdicts.ueB).toBeUndefined();
    expect(r.firstMessage).toEqual({
      aToB: { text: "hello bob", ms: 30, protocol: "msrp", method: "SEND", status: 200, response: "200 OK" },
    });
    expect(r.decisions[0]).toMatchObject({ pcscf: "pcscf-a", agwFingerprint: `sha-256 ${AGW_A}`, iq: "ok" });
    const ladder = renderLadder(events, 0, { color: false });
    expect(ladder).toMatch(/P-CSCF\(A\)\s+IMS-ALG offer: e2ae → anchored on the IMS-AGW \(TCP\/TLS\/MSRP, context C1/);
    expect(ladder).toMatch(/UE A\s+MSRP TLS peer verified: certificate AA:01…1E:1F .*, the IMS-AGW's/);
    expect(ladder).toMatch(/UE A\s+MSRP SEND "hello bob" → 200 OK, through the IMS-AGW/);
  });

  it("a verified peer that is not the signalled AGW: agwMatches false, the ladder says so", () => {
    const events = trace(OTHER);
    expect(e2aeVerdict(events, "ueA")).toMatchObject({ verified: true, agwMatches: false });
    const ladder = renderLadder(events, 0, { color: false });
    expect(ladder).toMatch(/MSRP TLS peer verified: certificate BB:01…1E:1F .*NOT the IMS-AGW's/);
    expect(ladder).not.toMatch(/, the IMS-AGW's/);
  });
});
