/**
 * `imsdc call --scenario hijack` against the embedded network with registration authentication on: the REGISTER
 * hijack and the binding wipe are refused with 401/403 and bob's binding stays; the direct INVITE's outcome is
 * reported as it happened, and the exit code follows it (0 only when every attack failed).
 */
import { describe, expect, it } from "vitest";
import type { CallResult } from "../../src/cli/call.ts";
import type { HijackAttack } from "../../src/cli/callHijack.ts";
import { EXIT, main } from "../../src/cli/main.ts";
import { memoryIo } from "./helpers.ts";

describe("imsdc call --scenario hijack", () => {
  it("--json: REGISTER hijack and binding wipe refused by the S-CSCF, audited; exit code matches the attacks", async () => {
    const io = memoryIo();
    const code = await main(["call", "--scenario", "hijack", "--json", "--timeout", "20000"], io);
    const r = JSON.parse(io.out()) as CallResult;
    const attacks = r.attacks as HijackAttack[];
    const by = (a: HijackAttack["attack"]) => attacks.find((x) => x.attack === a);
    for (const a of ["register-hijack", "binding-wipe"] as const) {
      const x = by(a);
      expect(x?.refused).toBe(true);
      expect(x?.steps[0]?.status).toBe(401);
      expect([401, 403]).toContain(x?.steps[1]?.status);
      expect(x?.detail).toMatch(/binding intact/);
    }
    const inv = by("direct-invite");
    expect(inv).toBeDefined();
    // the exit code is derived from what happened, never assumed
    const all = attacks.every((a) => a.refused);
    expect(code).toBe(all ? EXIT.OK : EXIT.SECURITY);
    expect(r.ok).toBe(all);
    if (!all) expect(inv?.detail).toMatch(/ACCEPTED.*trusted hops/);
    // the S-CSCF's decisions reach the result's ladder as audit events
    expect(r.ladder.some((l) => /REGISTER/.test(l.label))).toBe(true);
  });

  it("text: the ladder shows the S-CSCF's auth decisions and one line per attack", async () => {
    const io = memoryIo();
    await main(["call", "--scenario", "hijack", "--timeout", "20000"], io);
    const out = io.out();
    expect(out).toMatch(/S-CSCF\s+auth-challenge sip:bob@ims\.example\.com/);
    expect(out).toMatch(/S-CSCF\s+auth-(failed|refused)/);
    expect(out).toMatch(/refused +register-hijack: bob's binding intact/);
    expect(out).toMatch(/refused +binding-wipe/);
    expect(out).toMatch(/direct-invite/);
  });
});
