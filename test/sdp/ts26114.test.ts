/**
 * DCMTSI peers as 3GPP writes them: the TS 26.114 Annex A.17 example offer/answer (ICE-lite, SHA-1 fingerprint,
 * `a=tls-id: <value>` with a space) through the validator, the readers, the association decision and the UE's
 * answer builder. See test/fixtures/sdp/README.md for what the fixtures add to the spec text.
 */
import { describe, expect, it } from "vitest";
import {
  buildDcAnswer,
  decideAssociation,
  type Finding,
  fingerprintFromBytes,
  inspectSdp,
  negotiateDcMedia,
  parseSdp,
  parseTlsId,
  readDcMedia,
  validateAnswer,
  validateOffer,
  writeSdp,
} from "../../src/sdp/index.ts";
import { fixture } from "./cases.ts";

const brief = (fs: Finding[]) => fs.map((f) => `${f.code}@${f.line ?? "-"}`);

const OFFER = fixture("ts26114-a17-offer.sdp");
const ANSWER = fixture("ts26114-a17-answer.sdp");

describe("TS 26.114 Annex A.17 fixtures", () => {
  for (const [name, text] of [
    ["offer", OFFER],
    ["answer", ANSWER],
  ] as const) {
    it(`${name}: parses without structural findings and writes back byte-exact`, () => {
      const parsed = parseSdp(text);
      expect(parsed.findings).toEqual([]);
      expect(writeSdp(parsed)).toBe(text);
    });
  }

  it("offer (Table A.17.1): valid, exactly W_FP_SHA1, W_FP_NO_SHA256 and W_TLSID_LEADING_SPACE", () => {
    const v = validateOffer(OFFER);
    expect(v.ok).toBe(true);
    expect(brief(v.findings)).toEqual(["W_FP_SHA1@16", "W_FP_NO_SHA256@16", "W_TLSID_LEADING_SPACE@17"]);
    expect(v.findings.every((f) => f.severity === "warning")).toBe(true);
    expect(v.findings.find((f) => f.code === "W_FP_SHA1")?.clause).toBe("RFC 8122 §5");
    expect(v.findings.find((f) => f.code === "W_TLSID_LEADING_SPACE")?.clause).toBe(
      "RFC 8842 §4; TS 26.114 Annex A.17",
    );
  });

  it("answer (Table A.17.2) validates as an answer to the offer, with the same three warnings", () => {
    const v = validateAnswer(OFFER, ANSWER);
    expect(v.ok).toBe(true);
    expect(brief(v.findings)).toEqual(["W_FP_SHA1@15", "W_FP_NO_SHA256@15", "W_TLSID_LEADING_SPACE@16"]);
  });

  it("reads the ICE-lite data channel: normalised tls-id, sha-1 fingerprint, host candidate = c=/port", () => {
    const [dc, ...rest] = readDcMedia(OFFER);
    expect(rest).toEqual([]);
    expect(dc?.tlsId).toBe("abc3de65cddef001be82");
    expect(dc?.fingerprints).toEqual([
      { hash: "sha-1", value: "4A:AD:B9:B1:3F:82:18:3B:54:02:12:DF:3E:5D:49:6B:19:E5:7C:AB" },
    ]);
    expect(dc?.setup).toBe("actpass");
    expect(dc?.sctpPort).toBe(5000);
    expect(dc?.maxMessageSize).toBe(1024);
    expect(dc?.bandwidthAs).toBe(500);
    expect(dc?.dcmaps).toEqual([{ streamId: 0, subprotocol: "http" }]);
    expect(dc?.ice.lite).toBe(true);
    expect(dc?.ice.options).toEqual(["ice2"]);
    expect(dc?.ice.candidates).toEqual(["1 1 UDP 2130706431 192.0.2.156 52718 typ host"]);
    expect(dc?.connection?.address).toBe("192.0.2.156");
    expect(dc?.port).toBe(52718);
    const [ans] = readDcMedia(ANSWER);
    expect(ans?.tlsId).toBe("dcb3ae65cddef0532d42");
    expect(ans?.ice.lite).toBe(true);
    expect(ans?.ice.options).toBeUndefined();
  });

  it("the association decision uses the normalised tls-id (a re-offer without the space continues it)", () => {
    const [n] = negotiateDcMedia(OFFER, ANSWER, { localIsOfferer: false });
    expect(n?.accepted).toBe(true);
    expect(n?.association?.remoteTlsId).toBe("abc3de65cddef001be82");
    expect(n?.association?.localTlsId).toBe("dcb3ae65cddef0532d42");
    const reOffer = OFFER.replace("a=tls-id: abc3de65cddef001be82", "a=tls-id:abc3de65cddef001be82");
    const [again] = negotiateDcMedia(reOffer, ANSWER, { localIsOfferer: false });
    if (!n?.association || !again?.association) throw new Error("no association");
    expect(decideAssociation(n.association, again.association)).toEqual({ action: "reuse", reasons: [] });
  });

  it("the P-CSCF inspection sees the tls-id and keeps the body bytes (nothing rewritten)", () => {
    const i = inspectSdp(OFFER);
    expect(i.ok).toBe(true);
    expect(i.media[0]?.hasTlsId).toBe(true);
    expect(OFFER.slice(...(i.media[0]?.range ?? [0, 0]))).toContain("a=tls-id: abc3de65cddef001be82\r\n");
  });

  it("the UE's answer builder answers the A.17 offer: same dcmap, own tls-id, setup active, no error", () => {
    const fp = fingerprintFromBytes("sha-256", new Uint8Array(32).fill(7));
    const r = buildDcAnswer(OFFER, { fingerprints: [fp], connection: { address: "192.0.2.1" }, port: 52718 });
    expect(r.ok).toBe(true);
    expect(r.findings.filter((f) => f.severity === "error")).toEqual([]);
    const [dc] = readDcMedia(r.sdp ?? "");
    expect(dc?.dcmaps).toEqual([{ streamId: 0, subprotocol: "http" }]);
    expect(dc?.setup).toBe("active");
    expect(dc?.tlsId).toMatch(/^[A-Za-z0-9_-]{32}$/);
    expect(dc?.tlsId).not.toBe("abc3de65cddef001be82");
    // The builder writes the RFC 8842 §4 form, without the space.
    expect(r.sdp).toMatch(/\r\na=tls-id:[A-Za-z0-9_-]{32}\r\n/);
  });
});

describe("tls-id leading space (RFC 8842 §4 grammar vs TS 26.114 Annex A.17)", () => {
  it("one or more leading spaces before a valid value: accepted, normalised, warned", () => {
    expect(parseTlsId(" abc3de65cddef001be82")).toEqual({
      ok: true,
      value: "abc3de65cddef001be82",
      problems: [
        {
          code: "W_TLSID_LEADING_SPACE",
          message:
            'tls-id " abc3de65cddef001be82" has 1 space(s) before the value; normalised to "abc3de65cddef001be82"',
        },
      ],
    });
    expect(parseTlsId("   abc3de65cddef001be82").value).toBe("abc3de65cddef001be82");
  });

  it("the space does not rescue an invalid value, and other whitespace stays an error", () => {
    for (const bad of [" abc3de65cddef001be8", " abc3de65cddef001be82 ", "\tabc3de65cddef001be82", " ", " a b"]) {
      const r = parseTlsId(bad);
      expect(r.ok, JSON.stringify(bad)).toBe(false);
      expect(r.problems.map((p) => p.code)).toEqual(["E_TLSID_SYNTAX"]);
    }
  });

  it("the RFC form has no finding", () => {
    expect(parseTlsId("abc3de65cddef001be82")).toEqual({ ok: true, value: "abc3de65cddef001be82", problems: [] });
  });
});
