/**
 * CI subset of bench/soak.ts (docs/soak.md): 50 data channel calls through S-CSCF + two P-CSCFs + two ImsUe, four
 * at a time. Every call must succeed (INVITE, both DTLS verdicts verified, channel open, one message each way, BYE);
 * after the calls the active handles and sockets are back to the post-warm-up baseline, and closing the network
 * frees every handle it opened. The heap bound is loose here: 50 calls are inside V8's JIT warm-up (docs/soak.md);
 * the ±5 % figure is the bench's, after 1 000 warm-up calls.
 */
import { describe, expect, it } from "vitest";
import { soakWithCloseCheck } from "../../bench/soak/run.ts";

describe("soak (CI subset)", () => {
  it("50 calls: all succeed; handles and sockets back to baseline; nothing left after close", async () => {
    const r = await soakWithCloseCheck({
      calls: 50,
      concurrency: 4,
      warmup: 20,
      maxSeconds: 25,
      callTimeoutMs: 10_000,
      transport: "UDP",
      timers: { T1: 50, T2: 200, T4: 250, D: 250 },
    });
    expect(r.failures).toEqual({});
    expect(r.ok).toBe(50);
    expect(r.after.handlesByType).toEqual(r.before.handlesByType);
    expect(r.after.sockets).toBe(r.before.sockets);
    expect(r.leakedAfterClose).toEqual({});
    expect(r.after.heapUsedMB - r.before.heapUsedMB).toBeLessThan(6);
    expect(r.setupMs.p99).toBeLessThan(5000);
  }, 40_000);
});
