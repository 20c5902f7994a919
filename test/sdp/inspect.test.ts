import { createHash } from "node:crypto";
import fc from "fast-check";
import { describe, expect, it } from "vitest";
import {
  editMediaSection,
  editSdpMedia,
  insertAttributes,
  inspectSdp,
  joinSections,
  readMedia,
  removeAttributes,
  replaceAttributes,
  replaceMediaSection,
  setConnectionLine,
  setMediaPort,
  setMediaProto,
  splitSections,
  validateOffer,
} from "../../src/sdp/index.ts";
import { FP256_B, fixture } from "./cases.ts";

const sha = (s: string) => createHash("sha256").update(Buffer.from(s, "latin1")).digest("hex");

describe("inspectSdp (byte-preserving, P-CSCF)", () => {
  it("reports per m-line facts with exact ranges and does not touch the body", () => {
    const body = fixture("dcmtsi-offer.sdp");
    const before = sha(body);
    const r = inspectSdp(body);
    expect(sha(body)).toBe(before);
    expect(r.ok).toBe(true);
    expect(
      r.media.map((m) => [
        m.index,
        m.media,
        m.port,
        m.proto,
        m.fmt,
        m.hasFingerprint,
        m.hasTlsId,
        m.hasSetup,
        m.indication,
      ]),
    ).toEqual([
      [0, "audio", 49152, "RTP/AVP", "116 100", false, false, false, "none"],
      [1, "application", 52718, "UDP/DTLS/SCTP", "webrtc-datachannel", true, true, true, "none"],
      [2, "application", 52720, "UDP/DTLS/SCTP", "webrtc-datachannel", true, true, true, "none"],
    ]);
    expect(r.sessionRange[0]).toBe(0);
    expect(r.sessionRange[1]).toBe(r.media[0]?.range[0]);
    for (const m of r.media) expect(body.slice(m.range[0], m.range[1]).startsWith(`m=${m.media} `)).toBe(true);
    expect(r.media.at(-1)?.range[1]).toBe(body.length);
  });

  it("reads 3ge2ae values (unknown ones ignored) and flags a session-level one", () => {
    const body = fixture("e2ae-msrp-offer.sdp").replace(
      "a=3ge2ae:requested",
      "a=3ge2ae:requested\r\na=3ge2ae:x-future",
    );
    const r = inspectSdp(body);
    expect(r.media[0]?.e2ae).toEqual(["requested", "x-future"]);
    expect(r.media[0]?.indication).toBe("e2ae-requested");
    expect(r.media[0]?.findings.map((f) => f.code)).toEqual(["W_3GE2AE_UNKNOWN", "W_3GE2AE_DUPLICATE"]);
    const bad = inspectSdp(fixture("e2ae-msrp-offer.sdp").replace("t=0 0\r\n", "t=0 0\r\na=3ge2ae:requested\r\n"));
    expect(bad.ok).toBe(false);
    expect(bad.findings.map((f) => f.code)).toContain("E_3GE2AE_SESSION_LEVEL");
    expect(
      inspectSdp(fixture("e2ae-msrp-offer.sdp").replace("requested", "e2dce"), { e2dceValues: ["e2dce"] }).media[0]
        ?.indication,
    ).toBe("e2dce-requested");
  });

  it("a session-level fingerprint counts for every m-line (libdatachannel)", () => {
    const r = inspectSdp(fixture("libdatachannel-offer.sdp"));
    expect(r.media[0]?.hasFingerprint).toBe(true);
    expect(r.media[0]?.fingerprintAtMediaLevel).toBe(false);
  });

  it("works on latin1 bodies with high bytes (one char per byte)", () => {
    const body = fixture("chromium-offer.sdp").replace("s=-", "s=caf\u00e9 \u00ff");
    const r = inspectSdp(body);
    expect(r.media[0]?.range[1]).toBe(body.length);
    expect(r.ok).toBe(true);
  });
});

describe("section split / join", () => {
  it("splits into session + m-sections with line endings kept", () => {
    const body = fixture("bfcp-tls-offer.sdp");
    const s = splitSections(body);
    expect(s.session.text.endsWith("t=0 0\r\n")).toBe(true);
    expect(s.media.map((m) => m.text.split("\r\n")[0])).toEqual([
      "m=application 50000 TCP/TLS/BFCP *",
      "m=audio 50002 RTP/AVP 0",
      "m=video 50004 RTP/AVP 31",
    ]);
    expect(joinSections(s)).toBe(body);
  });

  it("join(split(x)) === x for arbitrary text (property)", () => {
    const chunk = fc.oneof(
      fc.string({ unit: "binary", maxLength: 30 }),
      fc.constantFrom("m=audio 1 RTP/AVP 0", "\r\n", "\n", "m=", "\r", "a=x"),
    );
    fc.assert(
      fc.property(fc.array(chunk, { maxLength: 30 }), (parts) => {
        const body = parts.join("");
        expect(joinSections(splitSections(body))).toBe(body);
      }),
      { numRuns: 500 },
    );
  });

  it("editing one m-section leaves every other byte identical (property)", () => {
    const bodies = ["dcmtsi-offer.sdp", "bfcp-tls-offer.sdp", "e2ae-msrp-offer.sdp", "chromium-offer.sdp"].map(fixture);
    fc.assert(
      fc.property(
        fc.constantFrom(...bodies),
        fc.nat(),
        fc.string({ unit: "binary", maxLength: 50 }),
        (body, k, replacement) => {
          const s = splitSections(body);
          const i = k % s.media.length;
          const out = replaceMediaSection(body, i, replacement);
          const t = splitSections(body);
          const start = t.media[i]?.start ?? 0;
          const end = t.media[i]?.end ?? 0;
          expect(out.slice(0, start)).toBe(body.slice(0, start));
          expect(out.slice(start + replacement.length)).toBe(body.slice(end));
        },
      ),
    );
  });
});

describe("section editor (P-CSCF rewrites)", () => {
  const body = fixture("e2ae-msrp-offer.sdp");
  const sec = splitSections(body).media[0]?.text ?? "";

  it("rewrites the e2ae offer toward the core: plain proto, no 3ge2ae, no fingerprint, AGW address", () => {
    const core = editSdpMedia(body, 0, {
      proto: "TCP/MSRP",
      port: 30000,
      connection: "IN IP4 198.51.100.1",
      remove: ["3ge2ae", "fingerprint"],
    });
    const [m] = readMedia(core);
    expect(m?.proto).toBe("TCP/MSRP");
    expect(m?.port).toBe(30000);
    expect(m?.connection?.address).toBe("198.51.100.1");
    expect(m?.e2ae).toEqual([]);
    expect(m?.fingerprints).toEqual([]);
    expect(core.startsWith(splitSections(body).session.text)).toBe(true);
    expect(core).toContain("m=message 30000 TCP/MSRP *\r\nc=IN IP4 198.51.100.1\r\na=accept-types");
  });

  it("inserts applied + AGW fingerprint toward the terminating UE", () => {
    const out = editMediaSection(sec, {
      insert: ["a=3ge2ae:applied", `a=fingerprint:sha-256 ${FP256_B}`],
      remove: ["3ge2ae", "fingerprint"],
    });
    expect(out.endsWith(`a=3ge2ae:applied\r\na=fingerprint:sha-256 ${FP256_B}\r\n`)).toBe(true);
    const full = replaceMediaSection(body, 0, out);
    expect(validateOffer(full).ok).toBe(true);
  });

  it("line-level helpers keep untouched lines byte-identical", () => {
    expect(setMediaPort(sec, 9).split("\r\n").slice(1)).toEqual(sec.split("\r\n").slice(1));
    expect(setMediaProto(sec, "TCP/MSRP").split("\r\n")[0]).toBe("m=message 7654 TCP/MSRP *");
    expect(setConnectionLine(sec, null)).toBe(sec);
    const withC = setConnectionLine(sec, "IN IP4 192.0.2.99");
    expect(withC.split("\r\n")[1]).toBe("c=IN IP4 192.0.2.99");
    expect(setConnectionLine(withC, null)).toBe(sec);
    expect(removeAttributes(sec, (name, value) => name === "3ge2ae" && value === "requested")).toBe(
      sec.replace("a=3ge2ae:requested\r\n", ""),
    );
    expect(replaceAttributes(sec, "setup", ["a=setup:passive"])).toBe(
      sec.replace("a=setup:actpass", "a=setup:passive"),
    );
    expect(insertAttributes(sec, ["a=x:1"], { after: "path" })).toContain(
      "a=path:msrps://192.0.2.10:7654/jshA7we;tcp\r\na=x:1\r\n",
    );
  });

  it("keeps LF-only sections LF and a missing final line ending missing", () => {
    const lf = "m=message 9 TCP/MSRP *\na=path:msrp://h:9/s;tcp";
    expect(insertAttributes(lf, ["a=accept-types:text/plain"])).toBe(
      "m=message 9 TCP/MSRP *\na=path:msrp://h:9/s;tcp\na=accept-types:text/plain",
    );
    expect(removeAttributes(`${lf}\na=x`, "x")).toBe(lf);
  });
});
