import fc from "fast-check";
import * as sdpTransform from "sdp-transform";
import { describe, expect, it } from "vitest";
import {
  analyzeSdp,
  buildDcAnswer,
  DEFAULT_MAX_SDP_BYTES,
  inspectSdp,
  parseSdp,
  readDcMedia,
  splitLines,
  validateAnswer,
  validateOffer,
  writeSdp,
} from "../../src/sdp/index.ts";
import { DC_ATTRS, dcOffer, FP256, fixture } from "./cases.ts";

describe("line parser", () => {
  it("records 1-based line numbers, offsets and line endings of every line", () => {
    const text = "v=0\r\no=- 1 1 IN IP4 0.0.0.0\ns=-\r\nt=0 0";
    const p = parseSdp(text);
    expect(p.lines.map((l) => [l.line, l.type, l.value, l.eol, l.start, l.end])).toEqual([
      [1, "v", "0", "\r\n", 0, 3],
      [2, "o", "- 1 1 IN IP4 0.0.0.0", "\n", 5, 27],
      [3, "s", "-", "\r\n", 28, 31],
      [4, "t", "0 0", "", 33, 38],
    ]);
    expect(p.eol).toBe("mixed");
    expect(p.findings.map((f) => f.code)).toEqual(["W_SDP_MIXED_EOL"]);
  });

  it("tolerates LF-only bodies without any finding", () => {
    const lf = fixture("chromium-offer.sdp").replaceAll("\r\n", "\n");
    const p = parseSdp(lf);
    expect(p.eol).toBe("lf");
    expect(p.findings).toEqual([]);
    expect(validateOffer(lf).findings.map((f) => f.code)).toEqual(["W_TLSID_MISSING"]);
  });

  it("keeps unknown lines and attributes in order", () => {
    const text = dcOffer({ extra: ["a=x-unknown:1", "a=3gpp-req-app:foo", "y=bar"] });
    const p = parseSdp(text);
    const dc = p.media[1];
    expect(dc?.attributes.map((a) => a.name).slice(-2)).toEqual(["x-unknown", "3gpp-req-app"]);
    expect(dc?.lines.at(-1)?.text).toBe("y=bar");
    expect(writeSdp(p)).toBe(text);
  });

  it("records attribute line numbers and section ranges", () => {
    const text = dcOffer();
    const p = parseSdp(text);
    const fp = p.media[1]?.attributes.find((a) => a.name === "fingerprint");
    expect(fp).toEqual({ name: "fingerprint", value: `sha-256 ${FP256}`, line: 11, index: 10 });
    expect(text.slice(p.media[1]?.start, p.media[1]?.end).startsWith("m=application")).toBe(true);
    expect(p.session.end).toBe(p.media[0]?.start);
    expect(p.media.at(-1)?.end).toBe(text.length);
  });

  it("writes with normalised line endings on request", () => {
    const p = parseSdp("v=0\no=- 1 1 IN IP4 0.0.0.0\r\ns=-\nt=0 0\n");
    expect(writeSdp(p, { eol: "\r\n" })).toBe("v=0\r\no=- 1 1 IN IP4 0.0.0.0\r\ns=-\r\nt=0 0\r\n");
  });

  it("refuses bodies above the size limit without parsing", () => {
    const big = `v=0\r\n${"a=x\r\n".repeat(DEFAULT_MAX_SDP_BYTES / 5)}`;
    const p = parseSdp(big);
    expect(p.refused).toBe(true);
    expect(p.lines).toEqual([]);
    expect(p.findings.map((f) => f.code)).toEqual(["E_SDP_TOO_LARGE"]);
    expect(parseSdp(big, { maxBytes: 1 << 20 }).refused).toBe(false);
  });

  it("splitLines covers every character (property)", () => {
    fc.assert(
      fc.property(fc.string({ unit: "binary", maxLength: 300 }), (s) => {
        const parts = splitLines(s);
        expect(parts.map((l) => s.slice(l.start, l.end) + l.eol).join("")).toBe(s);
      }),
    );
  });

  it("writeSdp(parseSdp(x)) === x for arbitrary text (property)", () => {
    fc.assert(
      fc.property(fc.string({ unit: "binary", maxLength: 400 }), (s) => {
        expect(writeSdp(parseSdp(s))).toBe(s);
      }),
    );
  });
});

describe("never throws on arbitrary input (property)", () => {
  const sdpish = fc
    .array(
      fc.oneof(
        fc.constantFrom(
          ...dcOffer().split("\r\n"),
          "m=message 9 TCP/TLS/MSRP *",
          "a=3ge2ae:requested",
          "a=floorctrl:c-s",
          "a=path:msrps://h/x;tcp",
        ),
        fc.string({ unit: "binary", maxLength: 40 }),
        fc.constantFrom(...DC_ATTRS).map((l) => l.slice(0, Math.max(3, l.length - 5))),
      ),
      { maxLength: 40 },
    )
    .chain((lines) => fc.constantFrom("\r\n", "\n").map((eol) => lines.join(eol)));
  const anyText = fc.oneof(fc.string({ unit: "binary", maxLength: 500 }), sdpish);

  it("parse / analyze / validate / inspect / read / build-answer", () => {
    fc.assert(
      fc.property(anyText, anyText, (a, b) => {
        parseSdp(a);
        analyzeSdp(a);
        validateOffer(a);
        validateOffer(a, { e2eDc: true });
        validateAnswer(a, b);
        validateAnswer(b, a, { e2eDc: true });
        inspectSdp(a);
        readDcMedia(a);
        const r = buildDcAnswer(a, { port: 9, fingerprints: [], allowOfferErrors: true });
        expect(typeof r.ok).toBe("boolean");
      }),
      { numRuns: 300 },
    );
  });

  it("non-string input does not throw either", () => {
    for (const bad of [undefined, null, 42, {}, []] as unknown[]) {
      expect(validateOffer(bad as string).ok).toBe(false);
      expect(inspectSdp(bad as string).ok).toBe(false);
    }
  });
});

describe("digit-only values stay exact (the sdp-transform digit-to-number quirk)", () => {
  const text = dcOffer({
    attrs: DC_ATTRS.map((l) => (l.startsWith("a=tls-id") ? "a=tls-id:12345678901234567890" : l)),
  }).replace("o=- 3923741090 1", "o=- 9223372036854775807 18446744073709551615");

  it("our parser returns the exact strings", () => {
    const m = analyzeSdp(text);
    expect(m.session.origin?.sessionId).toBe("9223372036854775807");
    expect(m.session.origin?.sessionVersion).toBe("18446744073709551615");
    expect(readDcMedia(text)[0]?.tlsId).toBe("12345678901234567890");
  });

  it("sdp-transform returns number or string depending on the value; we always return the string", () => {
    // sdp-transform 3.0.0 converts safe integers to numbers and leaves larger ones as strings.
    const werift = sdpTransform.parse(fixture("werift-offer.sdp"));
    const chromium = sdpTransform.parse(fixture("chromium-offer.sdp"));
    expect(typeof werift.origin?.sessionId).toBe("number");
    expect(typeof chromium.origin?.sessionId).toBe("string");
    expect(analyzeSdp(fixture("werift-offer.sdp")).session.origin?.sessionId).toBe("22356784");
    // Our attributes only land in `invalid` there (and are written back at the end of the section).
    const parsed = sdpTransform.parse(text);
    expect(parsed.media[1]?.invalid?.map((x) => x.value)).toContain("tls-id:12345678901234567890");
  });
});
