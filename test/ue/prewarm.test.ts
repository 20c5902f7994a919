import { describe, expect, it } from "vitest";
import { createLogger } from "../../src/log.ts";
import { UeError } from "../../src/ue/errors.ts";
import { prewarmDcEngine } from "../../src/ue/prewarm.ts";
import { ImsUe } from "../../src/ue/ue.ts";

/** UDP sockets and timers this process holds (the warm-up must leave none behind) */
const udpSockets = () => process.getActiveResourcesInfo().filter((r) => r === "UDPWrap").length;

describe("prewarmDcEngine", () => {
  for (const ice of ["full", "none"] as const) {
    it(`runs one verified loopback association (ice ${ice}) and closes every socket`, async () => {
      const before = udpSockets();
      const r = await prewarmDcEngine({ ice });
      expect(r.ms).toBeGreaterThan(0);
      await new Promise((res) => setTimeout(res, 50));
      expect(udpSockets()).toBe(before);
    });
  }

  it("rejects with E_PREWARM_TIMEOUT when it cannot finish in time, and still closes both ends", async () => {
    const before = udpSockets();
    const err = await prewarmDcEngine({ timeoutMs: 1 }).then(
      () => undefined,
      (e: unknown) => e,
    );
    expect(err).toBeInstanceOf(UeError);
    expect((err as UeError).code).toBe("E_PREWARM_TIMEOUT");
    await new Promise((res) => setTimeout(res, 50));
    expect(udpSockets()).toBe(before);
  });

  it("ImsUe { prewarm: true } warms the engine in start()", async () => {
    const lines: { msg?: string; ms?: number }[] = [];
    const logger = createLogger({ destination: { write: (l: string) => void lines.push(JSON.parse(l)) } });
    const ue = new ImsUe({ aor: "sip:alice@ims.example.com", prewarm: true, ice: "none", logger });
    try {
      await ue.start();
      const warmed = lines.find((l) => l.msg === "data channel engine pre-warmed");
      expect(warmed?.ms).toBeGreaterThanOrEqual(0);
    } finally {
      await ue.close();
    }
  });
});
