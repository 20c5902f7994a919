/**
 * BFCP codec (RFC 8855 §5): COMMON-HEADER and attribute bytes checked against hand-built PDUs, malformed PDUs with
 * their stable codes, fast-check round trips (grouped attributes included), stream framing at arbitrary cuts.
 */
import fc from "fast-check";
import { describe, expect, it } from "vitest";
import {
  attr,
  type BfcpAttribute,
  BfcpFramer,
  type BfcpMessage,
  BfcpPrimitive,
  decodeBfcp,
  encodeAttribute,
  encodeBfcp,
  RequestStatus,
} from "../../../src/ue/e2ae/bfcp.ts";
import { floorRequestInformation, readFloorRequestInformation } from "../../../src/ue/e2ae/bfcpFloorInfo.ts";
import { E2aeError } from "../../../src/ue/e2ae/errors.ts";

const hex = (s: string) => Buffer.from(s.replace(/\s+/g, ""), "hex");

function msg(primitive: number, attributes: BfcpAttribute[] = [], ids = { c: 1, t: 1, u: 1 }): BfcpMessage {
  return {
    version: 1,
    responder: false,
    primitive,
    conferenceId: ids.c,
    transactionId: ids.t,
    userId: ids.u,
    attributes,
  };
}

describe("encoding against hand-built PDUs (RFC 8855 §5.1, §5.2)", () => {
  it.each<[string, BfcpMessage, string]>([
    // Ver=1 R=0 F=0 | Hello(11) | length 0 | conf 1 | tid 1 | user 1
    ["Hello", msg(BfcpPrimitive.Hello), "200b0000 00000001 0001 0001"],
    [
      "FloorRequest, FLOOR-ID 1 (type 2, M=1 → 0x05, length 4)",
      msg(BfcpPrimitive.FloorRequest, [attr.floorId(1)], { c: 4321, t: 7, u: 1234 }),
      "20010001 000010e1 0007 04d2  0504 0001",
    ],
    [
      "HelloAck with SUPPORTED-PRIMITIVES (11 → 0x17) and SUPPORTED-ATTRIBUTES (10 → 0x15), padded",
      msg(BfcpPrimitive.HelloAck, [attr.supportedPrimitives([1, 2, 4, 11, 12]), attr.supportedAttributes([2, 3, 5])]),
      "200c0004 00000001 0001 0001  1707 0102040b0c 00  1505 04060a 000000",
    ],
    [
      "Error, ERROR-CODE 3 (type 6 → 0x0d, length 3, padded) + ERROR-INFO 'x' (type 7 → 0x0f)",
      { ...msg(BfcpPrimitive.Error, [attr.errorCode(3), attr.text("ERROR-INFO", "x")]), responder: true },
      "300d0002 00000001 0001 0001  0d0303 00  0f0378 00",
    ],
    [
      "FloorRequestStatus: FLOOR-REQUEST-INFORMATION{7, OVERALL-REQUEST-STATUS{7, REQUEST-STATUS Granted}, FLOOR-REQUEST-STATUS{1}}",
      msg(BfcpPrimitive.FloorRequestStatus, [floorRequestInformation(7, RequestStatus.Granted, [1])]),
      // FRI (15 → 0x1f) len 16: id 7, ORS (18 → 0x25) len 8: id 7, REQUEST-STATUS (5 → 0x0b) len 4: 3,0 ; FRS (17 → 0x23) len 4: id 1
      "20040004 00000001 0001 0001  1f10 0007  2508 0007 0b04 0300  2304 0001",
    ],
    [
      "PRIORITY 4 in the top 3 bits (type 4 → 0x09)",
      msg(BfcpPrimitive.FloorRequest, [attr.floorId(2), attr.priority(4)]),
      "20010002 00000001 0001 0001  0504 0002  0904 8000",
    ],
  ])("%s", (_n, m, bytes) => {
    const enc = encodeBfcp(m);
    expect(enc.toString("hex")).toBe(hex(bytes).toString("hex"));
    const dec = decodeBfcp(enc);
    expect(dec).not.toBeInstanceOf(E2aeError);
    expect(dec).toEqual(m);
  });

  it("reads a FloorRequestStatus back into a floor request state", () => {
    const st = readFloorRequestInformation(
      msg(BfcpPrimitive.FloorRequestStatus, [floorRequestInformation(9, RequestStatus.Pending, [1, 2], 3, "wait")]),
    );
    expect(st).toEqual({
      floorRequestId: 9,
      status: 1,
      statusName: "Pending",
      queuePosition: 3,
      floors: [{ floorId: 1 }, { floorId: 2 }],
      statusInfo: "wait",
      transactionId: 1,
    });
  });
});

describe("malformed PDUs: typed errors, never thrown", () => {
  it.each<[string, string, string]>([
    ["shorter than the COMMON-HEADER", "200b0000 000000", "E_BFCP_TRUNCATED"],
    ["Ver 3", "600b0000 00000001 0001 0001", "E_BFCP_VERSION"],
    ["Ver 0", "000b0000 00000001 0001 0001", "E_BFCP_VERSION"],
    ["F bit on a reliable transport", "280b0000 00000001 0001 0001", "E_BFCP_HEADER"],
    ["payload length larger than the data", "20010002 00000001 0001 0001 0504 0001", "E_BFCP_TRUNCATED"],
    ["octets after the payload", "200b0000 00000001 0001 0001 00000000", "E_BFCP_LENGTH"],
    ["attribute length 1", "20010001 00000001 0001 0001 0501 0000", "E_BFCP_ATTRIBUTE"],
    ["attribute overruns the payload", "20010001 00000001 0001 0001 0508 0001", "E_BFCP_ATTRIBUTE"],
    ["FLOOR-ID of length 3", "20010001 00000001 0001 0001 0503 0100", "E_BFCP_ATTRIBUTE"],
    ["REQUEST-STATUS of length 6", "20040002 00000001 0001 0001 0b06 0300 0000 0000", "E_BFCP_ATTRIBUTE"],
    ["ERROR-CODE without its code octet", "200d0001 00000001 0001 0001 0d02 0000", "E_BFCP_ATTRIBUTE"],
    ["grouped attribute shorter than its id", "20040001 00000001 0001 0001 1f03 0000", "E_BFCP_ATTRIBUTE"],
    [
      "grouped member overruns the group",
      "20040003 00000001 0001 0001 1f08 0007 0b08 0300 0000 0000",
      "E_BFCP_ATTRIBUTE",
    ],
  ])("%s → %s", (_n, bytes, code) => {
    const r = decodeBfcp(hex(bytes));
    expect(r).toBeInstanceOf(E2aeError);
    expect((r as E2aeError).code).toBe(code);
  });

  it("unknown attributes are kept with their M bit (RFC 8855 §5.2)", () => {
    const r = decodeBfcp(hex("20010002 00000001 0001 0001 0504 0001 c904 abcd")) as BfcpMessage;
    expect(r.attributes[1]).toEqual({
      type: "UNKNOWN",
      code: 100,
      mandatory: true,
      contents: Uint8Array.from([0xab, 0xcd]),
    });
    expect(encodeBfcp(r).toString("hex")).toBe(hex("20010002 00000001 0001 0001 0504 0001 c904 abcd").toString("hex"));
  });

  it("encoding refuses values that do not fit (attribute > 255 octets, 17-bit ids)", () => {
    expect(() => encodeAttribute(attr.text("USER-URI", "x".repeat(254)))).toThrowError(
      expect.objectContaining({ code: "E_BFCP_ATTRIBUTE" }),
    );
    expect(() => encodeAttribute(attr.floorId(0x10000))).toThrowError(
      expect.objectContaining({ code: "E_BFCP_ATTRIBUTE" }),
    );
    expect(() => encodeBfcp({ ...msg(1), transactionId: -1 })).toThrowError(
      expect.objectContaining({ code: "E_BFCP_ATTRIBUTE" }),
    );
  });

  it("framer: a bad attribute is reported and skipped (length known); a bad version is fatal", () => {
    const f = new BfcpFramer();
    const bad = hex("20010001 00000001 0001 0001 0501 0000");
    const ok = encodeBfcp(msg(BfcpPrimitive.Hello));
    const ev = f.push(Buffer.concat([bad, ok]));
    expect(ev.map((e) => (e.type === "error" ? `${e.error.code}${e.fatal ? "!" : ""}` : "msg"))).toEqual([
      "E_BFCP_ATTRIBUTE",
      "msg",
    ]);
    const ev2 = f.push(hex("600b0000 00000001 0001 0001"));
    expect(ev2[0]).toMatchObject({ type: "error", fatal: true, header: { version: 3, transactionId: 1 } });
    expect(f.failed).toBe(true);
  });

  it("framer: an oversize message is fatal before it is buffered", () => {
    const f = new BfcpFramer({ maxMessageBytes: 1024 });
    const ev = f.push(hex("2001ffff 00000001 0001 0001"));
    expect(ev[0]).toMatchObject({ type: "error", fatal: true });
    expect((ev[0] as { error: E2aeError }).error.code).toBe("E_BFCP_TOO_LARGE");
  });

  it("never throws on arbitrary bytes", () => {
    fc.assert(
      fc.property(fc.array(fc.uint8Array({ maxLength: 200 }), { maxLength: 6 }), (parts) => {
        const f = new BfcpFramer();
        for (const p of parts) f.push(p);
        decodeBfcp(Buffer.concat(parts));
      }),
      { numRuns: 500 },
    );
  });
});

// ---- fast-check round trips -------------------------------------------------------------------------------------

const u16 = fc.integer({ min: 0, max: 0xffff });
const m = fc.boolean();
const textArb = fc.string({ unit: "grapheme", maxLength: 20 });
const leafArb: fc.Arbitrary<BfcpAttribute> = fc.oneof(
  fc.record({
    type: fc.constantFrom("BENEFICIARY-ID" as const, "FLOOR-ID" as const, "FLOOR-REQUEST-ID" as const),
    mandatory: m,
    value: u16,
  }),
  fc.record({ type: fc.constant("PRIORITY" as const), mandatory: m, priority: fc.integer({ min: 0, max: 7 }) }),
  fc.record({
    type: fc.constant("REQUEST-STATUS" as const),
    mandatory: m,
    status: fc.integer({ min: 0, max: 255 }),
    queuePosition: fc.integer({ min: 0, max: 255 }),
  }),
  fc.record({
    type: fc.constant("ERROR-CODE" as const),
    mandatory: m,
    code: fc.integer({ min: 0, max: 255 }),
    details: fc.uint8Array({ maxLength: 8 }),
  }),
  fc.record({
    type: fc.constantFrom(
      "ERROR-INFO" as const,
      "PARTICIPANT-PROVIDED-INFO" as const,
      "STATUS-INFO" as const,
      "USER-DISPLAY-NAME" as const,
      "USER-URI" as const,
    ),
    mandatory: m,
    text: textArb,
  }),
  fc.record({
    type: fc.constant("SUPPORTED-ATTRIBUTES" as const),
    mandatory: m,
    attributes: fc.array(fc.integer({ min: 0, max: 127 }), { maxLength: 20 }),
  }),
  fc.record({
    type: fc.constant("SUPPORTED-PRIMITIVES" as const),
    mandatory: m,
    primitives: fc.array(fc.integer({ min: 0, max: 255 }), { maxLength: 20 }),
  }),
  fc.record({
    type: fc.constant("UNKNOWN" as const),
    code: fc.integer({ min: 19, max: 127 }),
    mandatory: m,
    contents: fc.uint8Array({ maxLength: 12 }),
  }),
);
const attrArb: fc.Arbitrary<BfcpAttribute> = fc.letrec<{ a: BfcpAttribute }>((tie) => ({
  a: fc.oneof(
    { depthSize: "small", withCrossShrink: true },
    leafArb,
    fc.record({
      type: fc.constantFrom(
        "BENEFICIARY-INFORMATION" as const,
        "FLOOR-REQUEST-INFORMATION" as const,
        "REQUESTED-BY-INFORMATION" as const,
        "FLOOR-REQUEST-STATUS" as const,
        "OVERALL-REQUEST-STATUS" as const,
      ),
      mandatory: m,
      id: u16,
      attributes: fc.array(tie("a"), { maxLength: 3 }),
    }),
  ),
})).a;

function fits(a: BfcpAttribute): boolean {
  try {
    encodeAttribute(a);
    return true;
  } catch {
    return false;
  }
}

const messageArb: fc.Arbitrary<BfcpMessage> = fc.record({
  version: fc.constantFrom(1, 2),
  responder: fc.boolean(),
  primitive: fc.integer({ min: 0, max: 255 }),
  conferenceId: fc.integer({ min: 0, max: 0xffff_ffff }),
  transactionId: u16,
  userId: u16,
  attributes: fc.array(attrArb.filter(fits), { maxLength: 6 }),
});

describe("round trips (fast-check)", () => {
  it("decode(encode(m)) = m", () => {
    fc.assert(
      fc.property(messageArb, (msg) => {
        const enc = encodeBfcp(msg);
        // RFC 8855 §5.1/§5.2: whole 4-octet words; Payload Length counts them
        expect(enc.length % 4).toBe(0);
        expect(enc.readUInt16BE(2) * 4).toBe(enc.length - 12);
        expect(decodeBfcp(enc)).toEqual(msg);
      }),
      { numRuns: 500 },
    );
  });

  it("a stream cut at arbitrary points frames the same messages", () => {
    fc.assert(
      fc.property(
        fc.array(messageArb, { minLength: 1, maxLength: 5 }),
        fc.array(fc.integer({ min: 1, max: 40 }), { minLength: 1, maxLength: 10 }),
        (msgs, cuts) => {
          const stream = Buffer.concat(msgs.map((x) => encodeBfcp(x)));
          const f = new BfcpFramer();
          const got: BfcpMessage[] = [];
          let off = 0;
          let i = 0;
          while (off < stream.length) {
            const n = cuts[i++ % cuts.length] ?? 1;
            for (const e of f.push(stream.subarray(off, off + n))) {
              if (e.type === "message") got.push(e.message);
              else throw e.error;
            }
            off += n;
          }
          expect(got).toEqual(msgs);
        },
      ),
      { numRuns: 200 },
    );
  });
});
