/** The ICE decision per association (src/ue/iceMode.ts) and the ICE lines each mode writes. */
import { describe, expect, it } from "vitest";
import { localIceSdp, planIce } from "../../src/ue/iceMode.ts";

const FULL = { ufrag: "abcd", pwd: "0123456789012345678901", lite: false };
const LITE = { ...FULL, lite: true };
const NONE = { lite: false };
const LOCAL = {
  ufrag: "wxyz",
  pwd: "abcdefghijklmnopqrstuv",
  candidates: ["1 1 udp 1 127.0.0.1 4000 typ host", "2 1 udp 1 ::1 4002 typ host"],
};

describe("planIce", () => {
  it("RFC 8445 §6.1.1 roles: full↔full the offerer controls; full facing lite controls; lite never", () => {
    expect(planIce("full", FULL, true)).toMatchObject({ kind: "ice", controlling: true });
    expect(planIce("full", FULL, false)).toMatchObject({ kind: "ice", controlling: false });
    expect(planIce("full", LITE, false)).toMatchObject({ kind: "ice", controlling: true });
    expect(planIce("lite", FULL, true)).toMatchObject({ kind: "ice", controlling: false });
  });

  it("two lite agents run no checks (RFC 8445 §6.1.1); anything facing no ICE drops ICE (RFC 8839 §3.3.2/§3.3.3)", () => {
    expect(planIce("lite", LITE, true)).toMatchObject({ kind: "direct", reason: "both-lite" });
    expect(planIce("full", NONE, true)).toMatchObject({
      kind: "direct",
      reason: "remote-none",
      clause: "RFC 8839 §3.3.3",
    });
    expect(planIce("lite", NONE, false)).toMatchObject({
      kind: "direct",
      reason: "remote-none",
      clause: "RFC 8839 §3.3.2",
    });
    expect(planIce("none", FULL, true)).toMatchObject({ kind: "direct", reason: "local-none" });
    // credentials without a password are no ICE
    expect(planIce("full", { ufrag: "abcd", lite: false }, true)).toMatchObject({ kind: "direct" });
  });
});

describe("localIceSdp", () => {
  it("lite: a=ice-lite, ice2 and only the default (first) candidate", () => {
    const r = localIceSdp("lite", LOCAL);
    expect(r.iceLite).toBe(true);
    expect(r.ice?.options).toEqual(["ice2"]);
    expect(r.ice?.candidates).toEqual([LOCAL.candidates[0]]);
  });
  it("full: every candidate, no ice-lite; none: nothing", () => {
    expect(localIceSdp("full", LOCAL)).toMatchObject({ iceLite: false, ice: { candidates: LOCAL.candidates } });
    expect(localIceSdp("none", undefined)).toEqual({ iceLite: false });
  });
  it("RFC 8839 §3.3.2: an offer without ICE gets an answer without ICE, whatever our mode", () => {
    expect(localIceSdp("full", LOCAL, NONE)).toEqual({ iceLite: false });
    expect(localIceSdp("lite", LOCAL, NONE)).toEqual({ iceLite: false });
    expect(localIceSdp("lite", LOCAL, FULL).iceLite).toBe(true);
  });
});
