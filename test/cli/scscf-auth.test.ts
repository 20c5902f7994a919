import { describe, expect, it } from "vitest";
import { validateScscfConfig } from "../../src/cli/config.ts";

describe("imsdc scscf: the auth section (docs/auth.md)", () => {
  it("is required; false opts out explicitly", () => {
    expect(() => validateScscfConfig({ tcp: 0 }, "/etc/imsdc/scscf.json")).toThrow(/auth: is required/);
    expect(validateScscfConfig({ tcp: 0, auth: false }, "/etc/imsdc/scscf.json").auth).toBe(false);
  });
  it("resolves the store against the configuration file and validates the options", () => {
    const c = validateScscfConfig(
      { tcp: 0, auth: { store: "subs.json", schemes: ["aka"], realm: "r", nonceLifetimeMs: 60000, maxFailures: 5 } },
      "/etc/imsdc/scscf.json",
    );
    expect(c.auth).toEqual({
      store: "/etc/imsdc/subs.json",
      schemes: ["aka"],
      realm: "r",
      nonceLifetimeMs: 60000,
      maxFailures: 5,
    });
    expect(() =>
      validateScscfConfig({ tcp: 0, auth: { store: "s", schemes: ["basic"], bogus: 1 } }, "/x.json"),
    ).toThrow(/auth\.schemes.*auth\.bogus|auth\.bogus.*auth\.schemes/s);
    expect(() => validateScscfConfig({ tcp: 0, auth: {} }, "/x.json")).toThrow(/auth\.store: is required/);
  });
});
