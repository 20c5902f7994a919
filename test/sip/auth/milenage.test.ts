import { describe, expect, it } from "vitest";
import { f1, f2345, opcFromOp } from "../../../src/sip/auth/milenage.ts";
import { MILENAGE_SETS } from "./milenage-vectors.ts";

const h = (s: string) => new Uint8Array(Buffer.from(s, "hex"));
const x = (b: Uint8Array) => Buffer.from(b).toString("hex");

describe("MILENAGE (TS 35.206) against the conformance test data of TS 35.208 §4.3", () => {
  it("has every test set", () => {
    expect(MILENAGE_SETS).toHaveLength(20);
  });

  it.each(MILENAGE_SETS)("test set $set: OPc, f1, f1*, f2, f3, f4, f5, f5*", (t) => {
    const k = h(t.k);
    const opc = opcFromOp(k, h(t.op));
    expect(x(opc)).toBe(t.opc);
    const mac = f1(k, opc, h(t.rand), h(t.sqn), h(t.amf));
    expect(x(mac.macA)).toBe(t.f1);
    expect(x(mac.macS)).toBe(t.f1star);
    const o = f2345(k, opc, h(t.rand));
    expect(x(o.res)).toBe(t.f2);
    expect(x(o.ck)).toBe(t.f3);
    expect(x(o.ik)).toBe(t.f4);
    expect(x(o.ak)).toBe(t.f5);
    expect(x(o.akStar)).toBe(t.f5star);
  });

  it("refuses keys of the wrong length with E_AUTH_KEY", () => {
    expect(() => opcFromOp(new Uint8Array(15), new Uint8Array(16))).toThrow(
      expect.objectContaining({ code: "E_AUTH_KEY" }),
    );
    expect(() =>
      f1(new Uint8Array(16), new Uint8Array(16), new Uint8Array(16), new Uint8Array(5), new Uint8Array(2)),
    ).toThrow(expect.objectContaining({ code: "E_AUTH_KEY" }));
  });
});
