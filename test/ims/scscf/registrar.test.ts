import { describe, expect, it } from "vitest";
import { canonicalAor, LocationService } from "../../../src/ims/scscf/index.ts";
import { createRequest, parseSipUri, type SipRequest } from "../../../src/sip/index.ts";

let clock = 1_000_000;
const now = () => clock;

function register(
  contact: string | undefined,
  opts: { expires?: number; cseq?: number; callId?: string; path?: string[]; supportedPath?: boolean } = {},
): SipRequest {
  return createRequest({
    method: "REGISTER",
    uri: "sip:ims.example.com",
    from: "<sip:alice@ims.example.com>;tag=r1",
    to: "<sip:alice@IMS.example.com>",
    callId: opts.callId ?? "reg-1",
    cseq: opts.cseq ?? 1,
    ...(contact !== undefined ? { contact } : {}),
    headers: [
      ...(opts.expires !== undefined ? [{ name: "Expires", value: String(opts.expires) }] : []),
      ...(opts.supportedPath !== false ? [{ name: "Supported", value: "path" }] : []),
      ...(opts.path ?? []).map((p) => ({ name: "Path", value: p })),
    ],
  });
}

const C1 = '<sip:alice@127.0.0.1:5555;transport=tcp>;+sip.app-subtype="webrtc-datachannel";q=0.5';
const C2 = "<sip:alice@127.0.0.1:6666>";
const PATH = "<sip:p-token@127.0.0.1:7000;transport=tcp;lr>";

describe("S-CSCF registrar (RFC 3261 §10.3)", () => {
  it("canonical AOR: sip:user@host, host lower-case, no port or parameters (step 5)", () => {
    expect(canonicalAor(parseSipUri("sip:Alice@IMS.Example.com:5070;transport=tcp"))).toBe("sip:Alice@ims.example.com");
  });

  it("stores bindings with their parameters and Path; the 200 lists every binding with expires", () => {
    const loc = new LocationService({ now });
    const r1 = loc.register(register(C1, { expires: 600, path: [PATH] }), [
      { name: "Service-Route", value: "<sip:orig@scscf;lr>" },
    ]);
    expect(r1.status).toBe(200);
    const r2 = loc.register(register(C2, { expires: 300, cseq: 2 }));
    const contacts = r2.headers.filter((h) => h.name === "Contact").map((h) => h.value);
    expect(contacts).toEqual([
      '<sip:alice@127.0.0.1:5555;transport=tcp>;+sip.app-subtype="webrtc-datachannel";q=0.5;expires=600',
      "<sip:alice@127.0.0.1:6666>;expires=300",
    ]);
    expect(r1.headers.find((h) => h.name === "Path")?.value).toBe(PATH);
    expect(r1.headers.find((h) => h.name === "Service-Route")?.value).toBe("<sip:orig@scscf;lr>");
    const b = loc.lookup("sip:alice@ims.example.com");
    // best first: q=1 (default) before q=0.5 (RFC 3261 §16.6 / §10.2.1.2)
    expect(b.map((x) => x.uri.port)).toEqual([6666, 5555]);
    expect(b[1]?.path).toEqual([PATH]);
    expect(b[1]?.params.map((p) => p.name)).toEqual(["+sip.app-subtype", "q"]);
  });

  it("expiry: bindings disappear when they expire; maxExpires caps the request", () => {
    const loc = new LocationService({ now, maxExpires: 1000 });
    const r = loc.register(register(C1, { expires: 99999 }));
    expect(r.headers.find((h) => h.name === "Contact")?.value).toMatch(/;expires=1000$/);
    clock += 999_000;
    expect(loc.lookup("sip:alice@ims.example.com")).toHaveLength(1);
    clock += 2000;
    expect(loc.lookup("sip:alice@ims.example.com")).toHaveLength(0);
    expect(loc.wasKnown("sip:alice@ims.example.com")).toBe(true);
  });

  it("423 Interval Too Brief with Min-Expires (step 6); expires=0 removes; Contact * with Expires: 0 removes all", () => {
    const loc = new LocationService({ now, minExpires: 60 });
    const r423 = loc.register(register(C1, { expires: 10 }));
    expect(r423.status).toBe(423);
    expect(r423.headers).toEqual([{ name: "Min-Expires", value: "60" }]);
    loc.register(register(C1, { expires: 600, cseq: 2 }));
    loc.register(register(C2, { expires: 600, cseq: 3 }));
    expect(loc.lookup("sip:alice@ims.example.com")).toHaveLength(2);
    const del = loc.register(register(`${C2};expires=0`, { cseq: 4 }));
    expect(del.status).toBe(200);
    expect(loc.lookup("sip:alice@ims.example.com")).toHaveLength(1);
    // RFC 3261 §10.2.2: "*" needs Expires: 0
    expect(loc.register(register("*", { cseq: 5 })).status).toBe(400);
    const all = loc.register(register("*", { expires: 0, cseq: 6 }));
    expect(all.status).toBe(200);
    expect(all.headers.some((h) => h.name === "Contact")).toBe(false);
    expect(loc.lookup("sip:alice@ims.example.com")).toHaveLength(0);
  });

  it("same Call-ID with a CSeq not higher than the stored one fails (step 7); a new Call-ID replaces", () => {
    const loc = new LocationService({ now });
    expect(loc.register(register(C1, { expires: 600, cseq: 5 })).status).toBe(200);
    expect(loc.register(register(C1, { expires: 600, cseq: 5 })).status).toBe(500);
    expect(loc.register(register(C1, { expires: 600, cseq: 1, callId: "other" })).status).toBe(200);
  });

  it("a REGISTER without Contact is a query: 200 with the current bindings", () => {
    const loc = new LocationService({ now });
    loc.register(register(C1, { expires: 600 }));
    const q = loc.register(register(undefined, { cseq: 2 }));
    expect(q.status).toBe(200);
    expect(q.headers.filter((h) => h.name === "Contact")).toHaveLength(1);
  });

  it("+sip.instance identifies a binding across contact addresses (RFC 5626 §6); bounded bindings per AOR", () => {
    const loc = new LocationService({ now, maxBindingsPerAor: 2 });
    const inst = ';+sip.instance="<urn:uuid:00000000-0000-1000-8000-AABBCCDDEEFF>"';
    loc.register(register(`<sip:alice@127.0.0.1:1111>${inst}`, { expires: 600, cseq: 1 }));
    loc.register(register(`<sip:alice@127.0.0.1:2222>${inst}`, { expires: 600, cseq: 2 }));
    expect(loc.lookup("sip:alice@ims.example.com").map((b) => b.uri.port)).toEqual([2222]);
    loc.register(register(C1, { expires: 600, cseq: 3 }));
    expect(loc.register(register(C2, { expires: 600, cseq: 4 })).status).toBe(403);
  });

  it("the Path is echoed in the 200 only when the UA supports path (RFC 3327 §5.3)", () => {
    const loc = new LocationService({ now });
    const r = loc.register(register(C1, { expires: 600, path: [PATH], supportedPath: false }));
    expect(r.headers.some((h) => h.name === "Path")).toBe(false);
    expect(loc.lookup("sip:alice@ims.example.com")[0]?.path).toEqual([PATH]);
  });
});
