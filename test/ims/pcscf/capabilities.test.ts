import fc from "fast-check";
import { describe, expect, it } from "vitest";
import {
  CapabilityStore,
  contactKey,
  mediasecCapabilities,
  mediasecServerEntries,
  parseSecurityHeader,
  registeredCapabilities,
  stripMediasec,
} from "../../../src/ims/pcscf/index.ts";

const IPSEC = "ipsec-3gpp;alg=hmac-sha-1-96;ealg=null;spi-c=1111;spi-s=2222;port-c=5062;port-s=5064;prot=esp;mod=trans";

describe("Security-Client parsing (RFC 3329 §2.2, TS 24.229 §7.2A.7 mediasec)", () => {
  const table: Array<{ value: string | string[]; caps: string[]; problems: string[] }> = [
    {
      value: "sdes-srtp;mediasec, msrp-tls;mediasec, bfcp-tls;mediasec",
      caps: ["sdes-srtp", "msrp-tls", "bfcp-tls"],
      problems: [],
    },
    { value: `${IPSEC}, msrp-tls;mediasec`, caps: ["msrp-tls"], problems: [] },
    { value: [IPSEC, "msrp-tls;mediasec", "bfcp-tls;mediasec"], caps: ["msrp-tls", "bfcp-tls"], problems: [] },
    { value: "MSRP-TLS ; MEDIASEC", caps: ["msrp-tls"], problems: [] },
    { value: "msrp-tls;q=0.5;mediasec", caps: ["msrp-tls"], problems: [] },
    {
      value: 'digest;d-alg=md5;d-ver="0123456789abcdef0123456789abcdef", msrp-tls;mediasec',
      caps: ["msrp-tls"],
      problems: [],
    },
    { value: "tls;q=0.2, msrp-tls", caps: [], problems: [] },
    { value: "dc-dtls;mediasec", caps: ["dc-dtls"], problems: [] },
    { value: "msrp-tls;mediasec=1", caps: ["msrp-tls"], problems: ["W_MEDIASEC_VALUE"] },
    { value: "msrp-tls;mediasec,, bfcp-tls;mediasec", caps: ["msrp-tls", "bfcp-tls"], problems: ["E_SECMECH_EMPTY"] },
    { value: "msrp tls;mediasec, bfcp-tls;mediasec", caps: ["bfcp-tls"], problems: ["E_SECMECH_SYNTAX"] },
    { value: "msrp-tls;;mediasec", caps: [], problems: ["E_SECMECH_SYNTAX"] },
    { value: "msrp-tls;q=2;mediasec", caps: [], problems: ["E_SECMECH_QVALUE"] },
    { value: 'digest;d-ver="XYZ";mediasec', caps: [], problems: ["E_SECMECH_DVER"] },
    { value: "msrp-tls;mediasec;x=a b", caps: [], problems: ["E_SECMECH_SYNTAX"] },
    { value: '"msrp-tls";mediasec', caps: [], problems: ["E_SECMECH_SYNTAX"] },
    { value: 'x;p="a,b";mediasec, bfcp-tls;mediasec', caps: ["x", "bfcp-tls"], problems: [] },
    { value: "x;host=[2001:db8::1];mediasec", caps: ["x"], problems: [] },
    { value: "", caps: [], problems: [] },
    { value: "msrp-tls;mediasec,\r\n bfcp-tls;mediasec", caps: ["msrp-tls", "bfcp-tls"], problems: [] },
  ];
  for (const row of table) {
    it(JSON.stringify(row.value), () => {
      const parsed = parseSecurityHeader(row.value);
      expect(parsed.problems.map((p) => p.code)).toEqual(row.problems);
      expect([...mediasecCapabilities(row.value)]).toEqual(row.caps);
    });
  }

  it("keeps parameters in order with values as written", () => {
    const [m] = parseSecurityHeader("ipsec-3gpp;ALG=hmac-sha-1-96;spi-c=1").mechanisms;
    expect(m).toEqual({
      mechanism: "ipsec-3gpp",
      params: [
        { name: "alg", value: "hmac-sha-1-96" },
        { name: "spi-c", value: "1" },
      ],
      mediasec: false,
      raw: "ipsec-3gpp;ALG=hmac-sha-1-96;spi-c=1",
    });
  });

  it("never throws on arbitrary input", () => {
    fc.assert(
      fc.property(fc.oneof(fc.string(), fc.array(fc.string())), (v) => {
        parseSecurityHeader(v);
        mediasecCapabilities(v);
        stripMediasec(v);
      }),
      { numRuns: 500 },
    );
  });
});

describe("capability intersection and Security-Server", () => {
  it("counts what both the UE and the P-CSCF support", () => {
    expect([...registeredCapabilities(["MSRP-TLS", "sdes-srtp"], ["msrp-tls", "bfcp-tls"])]).toEqual(["msrp-tls"]);
    expect(mediasecServerEntries(["msrp-tls", "BFCP-TLS", "msrp-tls"])).toEqual([
      "msrp-tls;mediasec",
      "bfcp-tls;mediasec",
    ]);
  });
});

describe("stripMediasec (Security-* toward the core)", () => {
  it("removes mediasec entries and keeps the rest as written", () => {
    const r = stripMediasec([`${IPSEC}, msrp-tls;mediasec`, "bfcp-tls;mediasec"]);
    expect(r).toEqual({
      kept: [IPSEC],
      removed: ["msrp-tls;mediasec", "bfcp-tls;mediasec"],
      value: IPSEC,
      problems: [],
    });
  });
  it("drops the header when nothing is left, and never forwards malformed entries", () => {
    expect(stripMediasec("msrp-tls;mediasec").value).toBeUndefined();
    const r = stripMediasec("tls;q=0.1, bad entry, sdes-srtp;mediasec");
    expect(r.kept).toEqual(["tls;q=0.1"]);
    expect(r.removed).toEqual(["bad entry", "sdes-srtp;mediasec"]);
    expect(r.problems.map((p) => p.code)).toEqual(["E_SECMECH_SYNTAX"]);
  });
});

describe("CapabilityStore", () => {
  let t = 1_000_000;
  const now = () => t;
  const aor = "sip:alice@ims.example";
  const c1 = contactKey({
    instance: '"<urn:uuid:00000000-0000-1000-8000-AABBCCDDEEFF>"',
    uri: "sip:alice@192.0.2.10:5060",
  });
  const c2 = contactKey({ uri: "sip:alice@192.0.2.11:5060" });

  it("keys contacts by instance (case-insensitive UUID) or URI", () => {
    expect(c1).toBe("instance:urn:uuid:00000000-0000-1000-8000-aabbccddeeff");
    expect(c2).toBe("uri:sip:alice@192.0.2.11:5060");
  });

  it("stores, expires, deletes and bounds", () => {
    t = 1_000_000;
    const s = new CapabilityStore({ now, maxEntries: 3 });
    s.set(aor, c1, mediasecCapabilities("msrp-tls;mediasec, bfcp-tls;mediasec"), 600);
    s.set(aor, c2, ["MSRP-TLS"], 60);
    expect([...s.capabilities(aor, c1)]).toEqual(["msrp-tls", "bfcp-tls"]);
    expect([...s.capabilities(aor, c2)]).toEqual(["msrp-tls"]);
    expect(s.contacts(aor).map((e) => e.contact)).toEqual([c1, c2]);
    expect(s.capabilities("sip:bob@ims.example", c1).size).toBe(0);
    t += 61_000;
    expect(s.get(aor, c2)).toBeUndefined();
    expect(s.contacts(aor).map((e) => e.contact)).toEqual([c1]);
    // expires 0 = de-registration
    expect(s.set(aor, c1, [], 0)).toBeUndefined();
    expect(s.get(aor, c1)).toBeUndefined();
    // bound: the oldest registration goes first
    for (let i = 0; i < 5; i++) s.set(aor, `uri:${i}`, ["msrp-tls"], 600);
    expect(s.size).toBe(3);
    expect(s.get(aor, "uri:0")).toBeUndefined();
    expect(s.get(aor, "uri:4")).toBeDefined();
    // re-registration refreshes the age
    s.set(aor, "uri:2", ["bfcp-tls"], 600);
    s.set(aor, "uri:9", ["msrp-tls"], 600);
    expect(s.get(aor, "uri:2")?.capabilities.has("bfcp-tls")).toBe(true);
    expect(s.get(aor, "uri:3")).toBeUndefined();
    expect(s.delete(aor)).toBe(3);
    expect(s.size).toBe(0);
  });

  it("purges expired entries before evicting live ones", () => {
    t = 5_000_000;
    const s = new CapabilityStore({ now, maxEntries: 2 });
    s.set(aor, "uri:a", ["msrp-tls"], 10);
    s.set(aor, "uri:b", ["msrp-tls"], 1000);
    t += 11_000;
    s.set(aor, "uri:c", ["msrp-tls"], 1000);
    expect(s.get(aor, "uri:b")).toBeDefined();
    expect(s.get(aor, "uri:c")).toBeDefined();
    expect(s.purgeExpired()).toBe(0);
    expect(s.delete(aor, "uri:b")).toBe(1);
    expect(s.delete(aor, "uri:b")).toBe(0);
  });
});
