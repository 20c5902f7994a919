/**
 * The UE on an unpatched werift: `#werift` is replaced by the published 0.24.4 (patch reversed). Creating a data
 * channel endpoint or an e2ae endpoint must fail closed with E_ENGINE_UNHARDENED and one audit event each; no socket,
 * no certificate, no offer.
 */
import { rmSync } from "node:fs";
import { afterAll, describe, expect, it, vi } from "vitest";
import { isImsdcError } from "../../src/errors.ts";
import { AuditLog } from "../../src/log.ts";
import { DcEndpoint } from "../../src/ue/dcEndpoint.ts";
import { E2aeEndpoint } from "../../src/ue/e2ae/index.ts";
import { pristineWeriftDir } from "../package/pristine.ts";

vi.mock("#werift", async () => {
  const { pristineWeriftEsm: esm } = await import("../package/pristine.ts");
  // a vitest module mock throws on reading an export it lacks; plain Node reads `undefined` from the namespace
  return { ...(await import(esm())), IMSDC_HARDENING: undefined };
});

afterAll(() => rmSync(pristineWeriftDir(), { recursive: true, force: true }));

describe("UE on an unpatched werift", () => {
  it("the mocked engine really is the unpatched one", async () => {
    const w = (await import("#werift")) as Record<string, unknown>;
    expect(w.IMSDC_HARDENING).toBeUndefined();
    expect(typeof w.RTCSctpTransport).toBe("function");
  });

  it("DcEndpoint refuses: E_ENGINE_UNHARDENED, audited", () => {
    const audit = new AuditLog();
    let err: unknown;
    try {
      new DcEndpoint({ audit, name: "sip:alice@ims.example.com" });
    } catch (e) {
      err = e;
    }
    expect(isImsdcError(err, "E_ENGINE_UNHARDENED")).toBe(true);
    expect(audit.events).toEqual([
      expect.objectContaining({
        node: "ue",
        decision: "engine-refused",
        transport: "data-channel",
        ue: "sip:alice@ims.example.com",
      }),
    ]);
  });

  it.each(["msrp", "bfcp"] as const)("E2aeEndpoint (%s) refuses: E_ENGINE_UNHARDENED, audited", (kind) => {
    const audit = new AuditLog();
    expect(() => new E2aeEndpoint({ kind, audit })).toThrow(expect.objectContaining({ code: "E_ENGINE_UNHARDENED" }));
    expect(audit.events).toEqual([expect.objectContaining({ decision: "engine-refused", transport: `e2ae-${kind}` })]);
  });
});
