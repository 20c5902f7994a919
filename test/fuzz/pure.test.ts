/**
 * CI subset of bench/fuzz.ts for the in-process targets (docs/fuzz.md): grammar-aware mutations of the SIP and SDP
 * fixtures and builder output through the SIP codec, the TCP framer, the SDP layer and the IMS-ALG decision.
 * Oracle: no crash, no untyped exception, no masked internal error, bounded time, the documented invariants.
 * A fixed seed keeps CI deterministic; FUZZ_SEED=<n> explores other inputs (the failure message prints the seed).
 */
import fc from "fast-check";
import { describe, expect, it } from "vitest";
import { type FuzzTarget, runOne } from "../../bench/fuzz/oracle.ts";
import { corpus } from "../../bench/fuzz/seeds.ts";
import {
  algTarget,
  checkSipBytes,
  sdpTarget,
  sipCodecTarget,
  sipFramingTarget,
} from "../../bench/fuzz/targets/pure.ts";
import { latin1Bytes } from "../../bench/fuzz/values.ts";

const SEED = Number(process.env.FUZZ_SEED ?? 20261121);

async function fuzz<I>(t: FuzzTarget<I>, numRuns: number): Promise<void> {
  await fc.assert(
    fc.asyncProperty(t.arbitrary, async (input) => {
      const r = await runOne(t, input);
      if (r.violation) throw r.violation;
    }),
    { seed: SEED, numRuns },
  );
}

describe("fuzz (CI subset): in-process targets", () => {
  it("every seed as it is passes the oracle (the corpus is sound)", () => {
    const c = corpus();
    expect(c.sipMessages.length).toBeGreaterThan(70);
    expect(c.sdpBodies.length).toBeGreaterThan(25);
    for (const m of c.sipMessages) {
      for (const datagram of [true, false]) checkSipBytes(latin1Bytes(m.text), datagram, m.name);
    }
    for (let body = 0; body < c.sdpBodies.length; body++) sdpTarget.run({ from: "body", pair: 0, body, ops: [] });
    for (let pair = 0; pair < c.pairs.length; pair++) {
      for (const from of ["offer", "answer"] as const) sdpTarget.run({ from, pair, body: 0, ops: [] });
      for (const kind of ["offer", "answer"] as const)
        algTarget.run({ pair, kind, ops: [], mutatedOfferDecision: false, rcs: false });
    }
  });

  it("sip-codec: parseMessage throws only typed SipParseErrors; 400 answers always build", async () => {
    await fuzz(sipCodecTarget, 4000);
  });

  it("sip-framing: the TCP framer never throws and stays bounded, whatever the chunking", async () => {
    await fuzz(sipFramingTarget, 1200);
  });

  it("sdp: parse / validate / inspect / read / negotiate / build-answer never throw; bytes preserved", async () => {
    await fuzz(sdpTarget, 1200);
  });

  it("alg: decideSdp / applyDecision / rewriteE2ae / extractIqMedia: no throw, other sections byte-identical", async () => {
    await fuzz(algTarget, 1500);
  });
});
