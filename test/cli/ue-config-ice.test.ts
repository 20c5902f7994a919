/** `imsdc ue` config: the `ice` field (full | lite | none) is validated and reaches the UE. */
import { describe, expect, it } from "vitest";
import { validateUeConfig } from "../../src/cli/config.ts";
import { ConfigError } from "../../src/cli/errors.ts";

const BASE = { aor: "sip:alice@ims.example", outboundProxy: "sip:127.0.0.1:5060" };

describe("ue config: ice", () => {
  it("accepts full, lite and none; absent means the default (full)", () => {
    for (const ice of ["full", "lite", "none"] as const) expect(validateUeConfig({ ...BASE, ice }, "f").ice).toBe(ice);
    expect(validateUeConfig(BASE, "f").ice).toBeUndefined();
  });

  it("refuses any other value with the path of the problem", () => {
    try {
      validateUeConfig({ ...BASE, ice: "partial" }, "ue.json");
      expect.unreachable();
    } catch (e) {
      expect(e).toBeInstanceOf(ConfigError);
      expect(String((e as Error).message)).toMatch(/ice.*must be full, lite or none/);
    }
  });
});
