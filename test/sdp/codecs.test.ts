import fc from "fast-check";
import { describe, expect, it } from "vitest";
import {
  allowedAnswerSetups,
  allowedFloorCtrlAnswers,
  classifyStreamId,
  type DcMap,
  type DcSa,
  decodeDcString,
  encodeDcString,
  type FloorCtrlRole,
  type FloorId,
  fingerprintFromBytes,
  fingerprintToBytes,
  format3ge2ae,
  formatAcceptTypes,
  formatBfcpVer,
  formatConnection,
  formatDcMap,
  formatDcSa,
  formatFingerprint,
  formatFloorCtrl,
  formatFloorId,
  formatMaxMessageSize,
  formatMsrpPath,
  formatMsrpUri,
  formatQosHint,
  formatSctpPort,
  formatSetup,
  formatTlsId,
  generateTlsId,
  HASH_BYTES,
  type HashFunc,
  isAnswerConnectionAllowed,
  isAnswerSetupAllowed,
  isFloorCtrlAnswerAllowed,
  isTlsId,
  type MsrpUri,
  negotiatedDtlsRole,
  parse3ge2ae,
  parseAcceptTypes,
  parseBfcpVer,
  parseConfId,
  parseConnection,
  parseDcMap,
  parseDcSa,
  parseFingerprint,
  parseFloorCtrl,
  parseFloorId,
  parseMaxMessageSize,
  parseMsrpPath,
  parseMsrpUri,
  parseQosHint,
  parseSctpPort,
  parseSetup,
  parseTlsId,
  parseUserId,
  type QosHint,
  type SetupRole,
  securityIndication,
  selectFingerprints,
  toPlainDecimal,
  verifyFingerprint,
} from "../../src/sdp/index.ts";
import { FP1, FP256 } from "./cases.ts";

const codes = (r: { problems: Array<{ code: string }> }) => r.problems.map((p) => p.code);

// ---- arbitraries ------------------------------------------------------------------------------------------------
const hashArb = fc.constantFrom<HashFunc>("sha-1", "sha-224", "sha-256", "sha-384", "sha-512");
const fingerprintArb = hashArb.chain((hash) =>
  fc.uint8Array({ minLength: HASH_BYTES[hash], maxLength: HASH_BYTES[hash] }).map((b) => fingerprintFromBytes(hash, b)),
);
const setupArb = fc.constantFrom<SetupRole>("active", "passive", "actpass", "holdconn");
const tlsIdArb = fc.stringMatching(/^[A-Za-z0-9+/_-]{20,255}$/);
const tokenArb = fc.stringMatching(/^[A-Za-z0-9!#$&'*+\-.^_`|~]{1,12}$/);
const wellFormed = (s: string) => decodeDcString(encodeDcString(s)) === s;
const textArb = fc.string({ unit: "binary", maxLength: 24 }).filter(wellFormed);
const dcMapArb: fc.Arbitrary<DcMap> = fc
  .record(
    {
      streamId: fc.integer({ min: 0, max: 65534 }),
      label: textArb,
      subprotocol: textArb,
      ordered: fc.boolean(),
      rel: fc.oneof(
        fc.constant(undefined),
        fc.record({ maxRetr: fc.integer({ min: 0, max: 0xffffffff }) }),
        fc.record({ maxTime: fc.integer({ min: 0, max: 0xffffffff }) }),
      ),
      priority: fc.integer({ min: 0, max: 65535 }),
      ext: fc.array(
        fc.record({
          name: tokenArb.filter(
            (n) => !["label", "subprotocol", "ordered", "max-retr", "max-time", "priority"].includes(n.toLowerCase()),
          ),
          value: tokenArb,
        }),
        { maxLength: 2 },
      ),
    },
    { requiredKeys: ["streamId"] },
  )
  .map((r) => {
    const d: DcMap = { streamId: r.streamId };
    if (r.label !== undefined) d.label = r.label;
    if (r.subprotocol !== undefined) d.subprotocol = r.subprotocol;
    if (r.ordered !== undefined) d.ordered = r.ordered;
    if (r.rel && "maxRetr" in r.rel) d.maxRetr = r.rel.maxRetr;
    if (r.rel && "maxTime" in r.rel) d.maxTime = r.rel.maxTime;
    if (r.priority !== undefined) d.priority = r.priority;
    const seen = new Set<string>();
    const ext = (r.ext ?? []).filter((x) => !seen.has(x.name.toLowerCase()) && seen.add(x.name.toLowerCase()));
    if (ext.length > 0) d.ext = ext;
    return d;
  });
const hostArb = fc.oneof(
  fc.ipV4(),
  fc.domain(),
  fc.ipV6().map((a) => `[${a}]`),
);
const msrpUriArb: fc.Arbitrary<MsrpUri> = fc
  .record(
    {
      scheme: fc.constantFrom<"msrp" | "msrps">("msrp", "msrps"),
      host: hostArb,
      port: fc.integer({ min: 0, max: 65535 }),
      sessionId: fc.stringMatching(/^[A-Za-z0-9\-._~+=/]{1,20}$/),
      transport: fc.stringMatching(/^[A-Za-z0-9]{1,6}$/),
      params: fc.array(fc.record({ name: tokenArb, value: tokenArb }, { requiredKeys: ["name"] }), {
        minLength: 1,
        maxLength: 2,
      }),
    },
    { requiredKeys: ["scheme", "host", "transport"] },
  )
  .map((r) => {
    const u: MsrpUri = { scheme: r.scheme, host: r.host, transport: r.transport };
    if (r.port !== undefined) u.port = r.port;
    if (r.sessionId !== undefined) u.sessionId = r.sessionId;
    if (r.params !== undefined)
      u.params = r.params.map((p) => (p.value === undefined ? { name: p.name } : { name: p.name, value: p.value }));
    return u;
  });

// ---- fingerprint --------------------------------------------------------------------------------------------------
describe("a=fingerprint (RFC 8122 §5)", () => {
  it("parses Chromium's value and normalises the hash name case", () => {
    const r = parseFingerprint(`SHA-256 ${FP256}`);
    expect(r).toEqual({ ok: true, value: { hash: "sha-256", value: FP256 }, problems: [] });
  });

  it("accepts lower-case hex leniently with a warning and normalises", () => {
    const r = parseFingerprint(`sha-256 ${FP256.toLowerCase()}`);
    expect(r.ok).toBe(true);
    expect(r.value?.value).toBe(FP256);
    expect(codes(r)).toEqual(["W_FP_LOWERCASE"]);
  });

  it("checks byte length per hash", () => {
    for (const [hash, n] of Object.entries(HASH_BYTES)) {
      const ok = Array.from({ length: n }, () => "AB").join(":");
      expect(parseFingerprint(`${hash} ${ok}`).ok).toBe(true);
      // RFC 8122 §5: SHA-1 is a defined hash function, reported with W_FP_SHA1 (SHA-256 preferred).
      const sha1 = hash === "sha-1" ? ["W_FP_SHA1"] : [];
      expect(codes(parseFingerprint(`${hash} ${ok}:CD`))).toEqual([...sha1, "E_FP_HASH_LEN"]);
    }
  });

  it("accepts SHA-1 (upper-case hash name as TS 26.114 Annex A.17 writes it) with W_FP_SHA1", () => {
    const r = parseFingerprint(`SHA-1 ${FP1}`);
    expect(r.ok).toBe(true);
    expect(r.value).toEqual({ hash: "sha-1", value: FP1 });
    expect(codes(r)).toEqual(["W_FP_SHA1"]);
    expect(codes(parseFingerprint(`sha-256 ${FP256}`))).toEqual([]);
  });

  it("refuses md2/md5 and ignores unknown hash tokens", () => {
    expect(codes(parseFingerprint("md5 AB:CD"))).toEqual(["E_FP_WEAK_HASH"]);
    expect(codes(parseFingerprint("MD2 AB:CD"))).toEqual(["E_FP_WEAK_HASH"]);
    const u = parseFingerprint(`sha3-512 ${FP256}`);
    expect(u.value).toBeUndefined();
    expect(codes(u)).toEqual(["W_FP_UNKNOWN_HASH"]);
  });

  it("rejects trailing colons, empty groups and odd digits", () => {
    for (const bad of [
      `sha-256 ${FP256}:`,
      "sha-256 AB::CD",
      "sha-256 ABC:DE",
      "sha-256",
      "sha-256  AB",
      " sha-256 AB",
    ]) {
      expect(parseFingerprint(bad).ok, bad).toBe(false);
    }
  });

  it("selects the strongest hash set and verifies a digest in constant-time comparison", () => {
    const a = fingerprintFromBytes("sha-256", new Uint8Array(32).fill(1));
    const b = fingerprintFromBytes("sha-512", new Uint8Array(64).fill(2));
    const c = fingerprintFromBytes("sha-1", new Uint8Array(20).fill(3));
    expect(selectFingerprints([c, a, b])?.hash).toBe("sha-512");
    expect(selectFingerprints([])).toBeUndefined();
    expect(verifyFingerprint([a, b], { "sha-512": new Uint8Array(64).fill(2) }).ok).toBe(true);
    expect(verifyFingerprint([a, b], { "sha-512": new Uint8Array(64).fill(9) }).ok).toBe(false);
    // RFC 8122 §5.1: the strongest offered hash is used; a sha-256 digest alone does not do.
    expect(verifyFingerprint([a, b], { "sha-256": new Uint8Array(32).fill(1) }).ok).toBe(false);
    expect(verifyFingerprint([], {}).ok).toBe(false);
  });

  it("round-trips (property)", () => {
    fc.assert(
      fc.property(fingerprintArb, (fp) => {
        const r = parseFingerprint(formatFingerprint(fp));
        expect(r.ok).toBe(true);
        expect(r.value).toEqual(fp);
        expect(fingerprintFromBytes(fp.hash, fingerprintToBytes(fp))).toEqual(fp);
      }),
    );
  });
});

// ---- setup / connection ----------------------------------------------------------------------------------------------
describe("a=setup and a=connection (RFC 4145)", () => {
  it("parses case-insensitively and rejects other tokens", () => {
    expect(parseSetup("ACTPASS").value).toBe("actpass");
    expect(codes(parseSetup("both"))).toEqual(["E_SETUP_VALUE"]);
    expect(codes(parseSetup(""))).toEqual(["E_SETUP_VALUE"]);
  });

  it("implements the RFC 4145 §4 table and the RFC 5763 §5 DTLS restriction", () => {
    expect(allowedAnswerSetups("actpass")).toEqual(["active", "passive", "holdconn"]);
    expect(allowedAnswerSetups("actpass", true)).toEqual(["active", "passive"]);
    expect(allowedAnswerSetups("active")).toEqual(["passive", "holdconn"]);
    expect(allowedAnswerSetups("holdconn")).toEqual(["holdconn"]);
    expect(isAnswerSetupAllowed("passive", "active")).toBe(true);
    expect(isAnswerSetupAllowed("passive", "passive")).toBe(false);
    expect(isAnswerSetupAllowed("actpass", "holdconn", true)).toBe(false);
  });

  it("derives the DTLS role (active = client)", () => {
    expect(negotiatedDtlsRole({ offerSetup: "actpass", answerSetup: "active", localIsOfferer: true })).toBe("server");
    expect(negotiatedDtlsRole({ offerSetup: "actpass", answerSetup: "active", localIsOfferer: false })).toBe("client");
    expect(negotiatedDtlsRole({ offerSetup: "actpass", answerSetup: "passive", localIsOfferer: true })).toBe("client");
    expect(negotiatedDtlsRole({ offerSetup: undefined, answerSetup: undefined, localIsOfferer: true })).toBe("client");
    expect(negotiatedDtlsRole({ offerSetup: "passive", answerSetup: "passive", localIsOfferer: true })).toBeUndefined();
  });

  it("connection table (RFC 4145 §5.2)", () => {
    expect(isAnswerConnectionAllowed("new", "existing")).toBe(false);
    expect(isAnswerConnectionAllowed("existing", "new")).toBe(true);
    expect(isAnswerConnectionAllowed(undefined, undefined)).toBe(true);
    expect(codes(parseConnection("reuse"))).toEqual(["E_CONNECTION_VALUE"]);
  });

  it("round-trip properties", () => {
    fc.assert(
      fc.property(setupArb, (s) => {
        expect(parseSetup(formatSetup(s)).value).toBe(s);
      }),
    );
    fc.assert(
      fc.property(fc.constantFrom<"new" | "existing">("new", "existing"), (c) => {
        expect(parseConnection(formatConnection(c)).value).toBe(c);
      }),
    );
  });
});

// ---- tls-id ---------------------------------------------------------------------------------------------------------
describe("a=tls-id (RFC 8842 §4)", () => {
  it("accepts 20-255 tls-id-chars and keeps digit-only values as strings", () => {
    expect(parseTlsId("12345678901234567890").value).toBe("12345678901234567890");
    expect(parseTlsId("a".repeat(255)).ok).toBe(true);
    expect(codes(parseTlsId("a".repeat(19)))).toEqual(["E_TLSID_SYNTAX"]);
    expect(codes(parseTlsId("a".repeat(256)))).toEqual(["E_TLSID_SYNTAX"]);
    expect(codes(parseTlsId("abcdefghij1234567890="))).toEqual(["E_TLSID_SYNTAX"]);
  });

  it("generates >= 120 random bits from the tls-id alphabet", () => {
    const ids = new Set(Array.from({ length: 200 }, () => generateTlsId()));
    expect(ids.size).toBe(200);
    for (const id of ids) {
      expect(id).toHaveLength(32);
      expect(isTlsId(id)).toBe(true);
    }
    expect(generateTlsId(24)).toHaveLength(24);
    expect(generateTlsId(5)).toHaveLength(20); // clamped to the 120-bit minimum
  });

  it("round-trips (property)", () => {
    fc.assert(
      fc.property(tlsIdArb, (id) => {
        expect(parseTlsId(formatTlsId(id)).value).toBe(id);
      }),
    );
  });
});

// ---- sctp ------------------------------------------------------------------------------------------------------------
describe("a=sctp-port / a=max-message-size (RFC 8841 §5, §6)", () => {
  it("parses and range-checks", () => {
    expect(parseSctpPort("5000").value).toBe(5000);
    expect(parseSctpPort("65536").ok).toBe(false);
    expect(parseMaxMessageSize("0").value).toBe(0);
    expect(parseMaxMessageSize("262144").value).toBe(262144);
    expect(parseMaxMessageSize("99999999999999999999").ok).toBe(false);
  });

  it("round-trip properties", () => {
    fc.assert(
      fc.property(fc.integer({ min: 0, max: 65535 }), (p) => {
        expect(parseSctpPort(formatSctpPort(p)).value).toBe(p);
      }),
    );
    fc.assert(
      fc.property(fc.integer({ min: 0, max: Number.MAX_SAFE_INTEGER }), (n) => {
        expect(parseMaxMessageSize(formatMaxMessageSize(n)).value).toBe(n);
      }),
    );
  });
});

// ---- dcmap / dcsa ---------------------------------------------------------------------------------------------------
describe("a=dcmap / a=dcsa (RFC 8864 §5.1, §5.2)", () => {
  it("parses the RFC 8864 §5.1.1 examples", () => {
    expect(parseDcMap('2 subprotocol="msrp";ordered=true;label="msrp"').value).toEqual({
      streamId: 2,
      subprotocol: "msrp",
      ordered: true,
      label: "msrp",
    });
    expect(parseDcMap('3 label="Label 1";ordered=false;max-retr=5;priority=128').value).toEqual({
      streamId: 3,
      label: "Label 1",
      ordered: false,
      maxRetr: 5,
      priority: 128,
    });
    expect(parseDcMap('4 label="foo%09bar";ordered=true;max-time=15000').value).toEqual({
      streamId: 4,
      label: "foo\tbar",
      ordered: true,
      maxTime: 15000,
    });
  });

  it("decodes %-escaped UTF-8 and escapes '\"', '%' and non-ASCII when formatting", () => {
    expect(encodeDcString('a"b%c ✓')).toBe("a%22b%25c %E2%9C%93");
    expect(decodeDcString("a%22b%25c %E2%9C%93")).toBe('a"b%c ✓');
    expect(decodeDcString("%C3")).toBeUndefined(); // truncated UTF-8
    expect(decodeDcString('a"b')).toBeUndefined();
  });

  it("keeps unknown ext-opts, including quoted ones with ';' inside", () => {
    const r = parseDcMap('5 label="a;b";x-foo="q;\\"z";x-bar=1');
    expect(r.ok).toBe(true);
    expect(r.value).toEqual({
      streamId: 5,
      label: "a;b",
      ext: [
        { name: "x-foo", value: '"q;\\"z"' },
        { name: "x-bar", value: "1" },
      ],
    });
    expect(formatDcMap(r.value!)).toBe('5 label="a;b";x-foo="q;\\"z";x-bar=1');
  });

  it("flags max-retr with max-time, ranges and syntax, still returning the stream id", () => {
    const r = parseDcMap("7 max-retr=1;max-time=2");
    expect(codes(r)).toEqual(["E_DCMAP_RETR_AND_TIME"]);
    expect(r.value?.streamId).toBe(7);
    expect(codes(parseDcMap("65535"))).toEqual(["E_DCMAP_ID_RANGE"]);
    expect(codes(parseDcMap("7 priority=65536"))).toEqual(["E_DCMAP_VALUE_RANGE"]);
    expect(codes(parseDcMap("123456"))).toEqual(["E_DCMAP_SYNTAX"]);
    expect(codes(parseDcMap("7 "))).toEqual(["E_DCMAP_SYNTAX"]);
  });

  it("classifies 3GPP stream ids", () => {
    expect([0, 10, 100, 110, 1000, 5, 999].map(classifyStreamId)).toEqual([
      "bootstrap-local",
      "bootstrap-local",
      "bootstrap-remote",
      "bootstrap-remote",
      "application",
      "reserved",
      "reserved",
    ]);
  });

  it("dcsa parses attribute and value", () => {
    expect(parseDcSa("2 accept-types:text/plain").value).toEqual({
      streamId: 2,
      attribute: "accept-types",
      value: "text/plain",
    });
    expect(parseDcSa("2 recvonly").value).toEqual({ streamId: 2, attribute: "recvonly" });
    expect(codes(parseDcSa("2"))).toEqual(["E_DCSA_SYNTAX"]);
  });

  it("dcmap round-trips incl. %-escaped UTF-8 labels (property)", () => {
    fc.assert(
      fc.property(dcMapArb, (d) => {
        const r = parseDcMap(formatDcMap(d));
        expect(r.problems).toEqual([]);
        expect(r.value).toEqual(d);
      }),
      { numRuns: 300 },
    );
  });

  it("dcsa round-trips (property)", () => {
    const dcsaArb: fc.Arbitrary<DcSa> = fc
      .record({
        streamId: fc.integer({ min: 0, max: 65534 }),
        attribute: tokenArb,
        value: fc.option(fc.stringMatching(/^[\x21-\x7e ]{0,20}$/), { nil: undefined }),
      })
      .map((r) =>
        r.value === undefined
          ? { streamId: r.streamId, attribute: r.attribute }
          : { streamId: r.streamId, attribute: r.attribute, value: r.value },
      );
    fc.assert(
      fc.property(dcsaArb, (s) => {
        expect(parseDcSa(formatDcSa(s)).value).toEqual(s);
      }),
    );
  });
});

// ---- qos-hint --------------------------------------------------------------------------------------------------------
describe("a=3gpp-qos-hint (TS 26.114 Annex M.11)", () => {
  it("parses loss/latency and ignores unknown params", () => {
    expect(parseQosHint("loss=0.00001;latency=300").value).toEqual({ loss: 0.00001, latency: 300 });
    expect(parseQosHint("latency=1000;x-jitter=5").value).toEqual({
      latency: 1000,
      ext: [{ name: "x-jitter", value: "5" }],
    });
    expect(codes(parseQosHint("loss=2"))).toEqual(["E_QOS_HINT_VALUE"]);
    expect(codes(parseQosHint("latency=-3"))).toEqual(["E_QOS_HINT_VALUE"]);
  });

  it("formats tiny losses without exponent notation", () => {
    expect(toPlainDecimal(1e-7)).toBe("0.0000001");
    expect(toPlainDecimal(1.5e-9)).toBe("0.0000000015");
    expect(formatQosHint({ loss: 0.000002, latency: 1000 })).toBe("loss=0.000002;latency=1000");
  });

  it("round-trips (property)", () => {
    const qosArb: fc.Arbitrary<QosHint> = fc
      .record(
        {
          loss: fc.double({ min: 0, max: 1, noNaN: true, noDefaultInfinity: true }),
          latency: fc.integer({ min: 1, max: 0xffffffff }),
        },
        { requiredKeys: [] },
      )
      .filter((q) => q.loss !== undefined || q.latency !== undefined)
      .map((q) => {
        const h: QosHint = {};
        if (q.loss !== undefined) h.loss = Object.is(q.loss, -0) ? 0 : q.loss;
        if (q.latency !== undefined) h.latency = q.latency;
        return h;
      });
    fc.assert(
      fc.property(qosArb, (q) => {
        expect(parseQosHint(formatQosHint(q)).value).toEqual(q);
      }),
    );
  });
});

// ---- 3ge2ae ---------------------------------------------------------------------------------------------------------
describe("a=3ge2ae (TS 24.229 §7.5.2)", () => {
  it("reads requested/applied, ignores other tokens with a warning", () => {
    expect(parse3ge2ae("requested").value).toEqual({ indicator: "requested", raw: "requested" });
    expect(parse3ge2ae("Applied").value?.indicator).toBe("applied");
    const o = parse3ge2ae("e2dce");
    expect(o.ok).toBe(true);
    expect(o.value?.indicator).toBe("other");
    expect(codes(o)).toEqual(["W_3GE2AE_UNKNOWN"]);
    expect(codes(parse3ge2ae(""))).toEqual(["E_3GE2AE_SYNTAX"]);
  });

  it("maps values to the TS 33.328 indications, e2DCe configurable", () => {
    expect(securityIndication(["requested"])).toBe("e2ae-requested");
    expect(securityIndication(["applied"])).toBe("e2ae-applied");
    expect(securityIndication(["e2dce"])).toBe("none");
    expect(securityIndication(["e2dce"], { e2dceValues: ["e2dce"] })).toBe("e2dce-requested");
    expect(securityIndication([])).toBe("none");
  });

  it("round-trips (property)", () => {
    fc.assert(
      fc.property(fc.oneof(fc.constantFrom("requested", "applied"), tokenArb), (t) => {
        const r = parse3ge2ae(t);
        expect(r.value?.raw).toBe(t);
        expect(parse3ge2ae(format3ge2ae(r.value!)).value).toEqual(r.value);
      }),
    );
  });
});

// ---- MSRP -----------------------------------------------------------------------------------------------------------
describe("MSRP path / accept-types (RFC 4975 §9)", () => {
  it("parses RFC 4975 style URIs", () => {
    expect(parseMsrpUri("msrps://atlanta.example.com:7654/jshA7we;tcp").value).toEqual({
      scheme: "msrps",
      host: "atlanta.example.com",
      port: 7654,
      sessionId: "jshA7we",
      transport: "tcp",
    });
    expect(parseMsrpUri("msrp://bob@[2001:db8::1]:9/s;tcp;x=y").value).toEqual({
      scheme: "msrp",
      userinfo: "bob",
      host: "[2001:db8::1]",
      port: 9,
      sessionId: "s",
      transport: "tcp",
      params: [{ name: "x", value: "y" }],
    });
    expect(parseMsrpPath("msrp://relay.example:1/a;tcp msrps://ua.example/b;tcp").value).toHaveLength(2);
    for (const bad of [
      "msrps://host/s",
      "sip:host;tcp",
      "msrps://;tcp",
      "msrps://host:x/s;tcp",
      "msrps://host/s p;tcp",
      "msrps://host/s;t-c-p",
    ]) {
      expect(parseMsrpUri(bad).ok, bad).toBe(false);
    }
  });

  it("accept-types", () => {
    expect(parseAcceptTypes("message/cpim text/* *").value).toEqual(["message/cpim", "text/*", "*"]);
    expect(parseAcceptTypes("text").ok).toBe(false);
    expect(parseAcceptTypes("").ok).toBe(false);
  });

  it("round-trips (property)", () => {
    fc.assert(
      fc.property(msrpUriArb, (u) => {
        expect(parseMsrpUri(formatMsrpUri(u)).value).toEqual(u);
      }),
    );
    fc.assert(
      fc.property(fc.array(msrpUriArb, { minLength: 1, maxLength: 3 }), (p) => {
        expect(parseMsrpPath(formatMsrpPath(p)).value).toEqual(p);
      }),
    );
    const typeArb = fc.oneof(
      fc.constant("*"),
      fc.tuple(tokenArb, tokenArb).map(([a, b]) => `${a}/${b}`),
    );
    fc.assert(
      fc.property(fc.array(typeArb, { minLength: 1, maxLength: 4 }), (t) => {
        expect(parseAcceptTypes(formatAcceptTypes(t)).value).toEqual(t);
      }),
    );
  });
});

// ---- BFCP -------------------------------------------------------------------------------------------------------------
describe("BFCP attributes (RFC 8856 §5)", () => {
  it("parses floorctrl, confid, userid, floorid (incl. legacy m-stream:) and bfcpver", () => {
    expect(parseFloorCtrl("c-only s-only").value).toEqual(["c-only", "s-only"]);
    expect(parseFloorCtrl("c-only c-only").ok).toBe(false);
    expect(parseConfId("4321").value).toBe("4321");
    expect(parseConfId("4294967296").ok).toBe(false);
    expect(parseUserId("65535").value).toBe("65535");
    expect(parseFloorId("1 mstrm:10 11").value).toEqual({ floorId: "1", mstrm: ["10", "11"] });
    expect(parseFloorId("2 m-stream:12").value).toEqual({ floorId: "2", mstrm: ["12"], legacy: true });
    expect(parseFloorId("3").value).toEqual({ floorId: "3", mstrm: [] });
    expect(parseBfcpVer("2 1").value).toEqual([2, 1]);
  });

  it("implements the floorctrl offer/answer table", () => {
    expect(allowedFloorCtrlAnswers(["c-s"])).toEqual(["c-only", "s-only"]);
    expect(allowedFloorCtrlAnswers(["c-only"])).toEqual(["s-only"]);
    expect(isFloorCtrlAnswerAllowed(["s-only"], ["c-only"])).toBe(true);
    expect(isFloorCtrlAnswerAllowed(["s-only"], ["s-only"])).toBe(false);
    expect(isFloorCtrlAnswerAllowed(["c-s"], ["c-only", "s-only"])).toBe(false);
  });

  it("round-trips (property)", () => {
    const roleSet = fc.subarray<FloorCtrlRole>(["c-only", "s-only", "c-s"], { minLength: 1 });
    fc.assert(
      fc.property(roleSet, (r) => {
        expect(parseFloorCtrl(formatFloorCtrl(r)).value).toEqual(r);
      }),
    );
    const floorArb: fc.Arbitrary<FloorId> = fc
      .record({
        id: fc.integer({ min: 0, max: 65535 }),
        mstrm: fc.array(tokenArb, { maxLength: 3 }),
        legacy: fc.boolean(),
      })
      .map((r) =>
        r.legacy && r.mstrm.length > 0
          ? { floorId: String(r.id), mstrm: r.mstrm, legacy: true }
          : { floorId: String(r.id), mstrm: r.mstrm },
      );
    fc.assert(
      fc.property(floorArb, (f) => {
        expect(parseFloorId(formatFloorId(f)).value).toEqual(f);
      }),
    );
    fc.assert(
      fc.property(fc.array(fc.integer({ min: 1, max: 255 }), { minLength: 1, maxLength: 3 }), (v) => {
        expect(parseBfcpVer(formatBfcpVer(v)).value).toEqual(v);
      }),
    );
    fc.assert(
      fc.property(fc.integer({ min: 0, max: 0xffffffff }), (n) => {
        expect(parseConfId(String(n)).value).toBe(String(n));
      }),
    );
    fc.assert(
      fc.property(fc.integer({ min: 0, max: 0xffff }), (n) => {
        expect(parseUserId(String(n)).value).toBe(String(n));
      }),
    );
  });
});

describe("sha-1 helper sanity", () => {
  it("FP1 is a 20-byte value", () => {
    expect(parseFingerprint(`sha-1 ${FP1}`).ok).toBe(true);
  });
});
