import { rmSync } from "node:fs";
import { afterAll, describe, expect, it } from "vitest";
import * as hardened from "#werift";
import { isImsdcError } from "../../src/errors.ts";
import { AuditLog } from "../../src/log.ts";
import { assertEngineHardened, inspectEngine, REQUIRED_HARDENING } from "../../src/ue/engine.ts";
import { pristineWeriftDir, pristineWeriftEsm } from "../package/pristine.ts";

afterAll(() => rmSync(pristineWeriftDir(), { recursive: true, force: true }));

describe("engine hardening guard (fail closed)", () => {
  it("the engine the UE loads (#werift → vendor/werift) is the hardened build", () => {
    const h = inspectEngine();
    expect(h).toMatchObject({ hardened: true, missing: [] });
    expect(h.found?.fixes).toEqual(expect.arrayContaining([...REQUIRED_HARDENING.fixes]));
    expect(inspectEngine(hardened).hardened).toBe(true);
  });

  it("an unpatched werift (published 0.24.4, patch reversed) trips the guard: E_ENGINE_UNHARDENED", async () => {
    const unpatched: unknown = await import(pristineWeriftEsm());
    expect(typeof (unpatched as { RTCDtlsTransport?: unknown }).RTCDtlsTransport).toBe("function");
    const h = inspectEngine(unpatched);
    expect(h.hardened).toBe(false);
    expect(h.missing).toEqual([...REQUIRED_HARDENING.fixes]);
    let refusal: unknown;
    let err: unknown;
    try {
      assertEngineHardened((x) => {
        refusal = x;
      }, unpatched);
    } catch (e) {
      err = e;
    }
    expect(isImsdcError(err, "E_ENGINE_UNHARDENED")).toBe(true);
    expect(String((err as Error).message)).toMatch(/no imsdc hardening marker/);
    expect(refusal).toMatchObject({ hardened: false });
  });

  it.each([
    ["an older marker version", { ...REQUIRED_HARDENING, version: 0 }],
    ["a marker for another werift", { ...REQUIRED_HARDENING, patch: "werift+0.25.0" }],
    ["a marker missing one fix", { ...REQUIRED_HARDENING, fixes: REQUIRED_HARDENING.fixes.slice(1) }],
    ["a malformed marker", { patch: 1 }],
  ])("%s is refused", (_name, marker) => {
    const h = inspectEngine({ ...hardened, IMSDC_HARDENING: marker });
    expect(h.hardened).toBe(false);
    expect(() => assertEngineHardened(undefined, { IMSDC_HARDENING: marker })).toThrow(/refusing to create/);
  });

  it("the refusal is one audit event with its reason", () => {
    const audit = new AuditLog();
    expect(() =>
      assertEngineHardened(
        (h) => audit.record({ node: "ue", decision: "engine-refused", clause: "RFC 8122 §6", reason: h.reason }),
        {},
      ),
    ).toThrow();
    expect(audit.events).toHaveLength(1);
    expect(audit.events[0]).toMatchObject({ decision: "engine-refused", reason: expect.stringContaining("marker") });
  });
});
