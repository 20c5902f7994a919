/**
 * CI subset of bench/fuzz.ts for the running targets (docs/fuzz.md): mutated SIP over UDP and TCP to a real P-CSCF
 * (S-CSCF behind it, two registered UEs) and mutated SDP through DcEndpoint.acceptOffer / acceptAnswer. The P-CSCF
 * must answer 400 (with Warning) / 505 / 413 / 513 exactly where docs/sip.md says (for a proxy: only the headers it
 * reads, RFC 3261 §16.3 item 1; the oracle parses with `validate: "proxy"`), drop the rest, answer an OPTIONS
 * probe after every input, leak nothing; the UE must reject only with typed UeErrors and close cleanly.
 */
import fc from "fast-check";
import { describe, expect, it } from "vitest";
import { type FuzzTarget, runOne } from "../../bench/fuzz/oracle.ts";
import { pcscfTarget } from "../../bench/fuzz/targets/pcscf.ts";
import { ueTarget } from "../../bench/fuzz/targets/ue.ts";

const SEED = Number(process.env.FUZZ_SEED ?? 20261121);

/** Runs `numRuns` inputs through a started target (no shrinking: a node keeps state between inputs). */
async function fuzzRunning<I>(t: FuzzTarget<I>, numRuns: number): Promise<Record<string, unknown>> {
  await t.start?.();
  const codes = new Map<string, number>();
  try {
    await fc.assert(
      fc.asyncProperty(t.arbitrary, async (input) => {
        const r = await runOne(t, input);
        if (r.violation) throw r.violation;
        for (const c of r.outcome?.codes ?? []) codes.set(c, (codes.get(c) ?? 0) + 1);
      }),
      { seed: SEED, numRuns, endOnFailure: true },
    );
  } finally {
    const extra = (await t.stop?.()) ?? {};
    // nothing left behind: every socket and timer of the nodes / endpoints is gone
    expect(extra.leakedHandles).toEqual({});
  }
  return Object.fromEntries(codes);
}

describe("fuzz (CI subset): running nodes", () => {
  it("P-CSCF over UDP: answers 400/505/413/513 where documented, drops the rest, stays up", async () => {
    const codes = await fuzzRunning(pcscfTarget("UDP"), 600);
    // the run reached every documented class of answer
    expect(codes["answered:400"]).toBeGreaterThan(0);
    expect(codes.dropped).toBeGreaterThan(0);
    expect(codes.parsed).toBeGreaterThan(0);
  });

  it("P-CSCF over TCP: framing errors answered before the close, stays up", async () => {
    const codes = await fuzzRunning(pcscfTarget("TCP"), 300);
    expect(codes["answered:400"]).toBeGreaterThan(0);
  });

  it("UE: acceptOffer / acceptAnswer on mutated SDP reject only with typed UeErrors and close cleanly", async () => {
    const codes = await fuzzRunning(ueTarget(), 250);
    expect(codes.E_SDP_REMOTE).toBeGreaterThan(0);
  });
});
