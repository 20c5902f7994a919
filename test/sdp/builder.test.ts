import fc from "fast-check";
import { describe, expect, it } from "vitest";
import {
  buildDcAnswer,
  buildDcMediaLines,
  buildDcOffer,
  type DcMap,
  type Fingerprint,
  fingerprintFromBytes,
  isTlsId,
  parseSdp,
  readDcMedia,
  readMedia,
  validateAnswer,
  validateOffer,
} from "../../src/sdp/index.ts";
import { FP256, FP256_B, fixture } from "./cases.ts";

const fpA: Fingerprint = { hash: "sha-256", value: FP256 };
const fpB: Fingerprint = { hash: "sha-256", value: FP256_B };
const dcmaps: DcMap[] = [
  { streamId: 1000, label: "chat", subprotocol: "msrp", ordered: true },
  { streamId: 1002, label: "sensor ✓", ordered: false, maxRetr: 3 },
];

describe("buildDcMediaLines", () => {
  it("writes the data channel m-section in order", () => {
    const lines = buildDcMediaLines({
      port: 52718,
      connection: { address: "2001:db8::1" },
      setup: "actpass",
      tlsId: "Xk3v9qT7LmP2sR8wZa1bC4dE",
      fingerprints: [fpA],
      dcmaps,
      dcsas: [{ streamId: 1000, attribute: "accept-types", value: "text/plain" }],
      qosHint: { loss: 0.01, latency: 100 },
      bandwidthAs: 500,
      ice: {
        ufrag: "abcd",
        pwd: "e5fa516fb518630e421934",
        candidates: ["a=candidate:1 1 udp 1 192.0.2.1 5000 typ host"],
        endOfCandidates: true,
      },
    });
    expect(lines).toEqual([
      "m=application 52718 UDP/DTLS/SCTP webrtc-datachannel",
      "c=IN IP6 2001:db8::1",
      "b=AS:500",
      "a=ice-ufrag:abcd",
      "a=ice-pwd:e5fa516fb518630e421934",
      "a=candidate:1 1 udp 1 192.0.2.1 5000 typ host",
      "a=end-of-candidates",
      "a=setup:actpass",
      "a=tls-id:Xk3v9qT7LmP2sR8wZa1bC4dE",
      `a=fingerprint:sha-256 ${FP256}`,
      "a=sctp-port:5000",
      "a=max-message-size:65536",
      "a=3gpp-qos-hint:loss=0.01;latency=100",
      'a=dcmap:1000 label="chat";subprotocol="msrp";ordered=true',
      'a=dcmap:1002 label="sensor %E2%9C%93";ordered=false;max-retr=3',
      "a=dcsa:1000 accept-types:text/plain",
    ]);
  });

  it("a rejected m-line is just the m= line", () => {
    expect(buildDcMediaLines({ port: 0, setup: "active", fingerprints: [fpA], mid: "1" })).toEqual([
      "m=application 0 UDP/DTLS/SCTP webrtc-datachannel",
      "a=mid:1",
    ]);
  });
});

describe("buildDcOffer", () => {
  it("puts audio first, uses actpass and a fresh tls-id, and validates clean (also e2e profile)", () => {
    const r = buildDcOffer({
      origin: { sessionId: "9223372036854775807", address: "2001:db8:1::a" },
      connection: { address: "2001:db8:1::a" },
      audio: { port: 49152, bandwidthAs: 41 },
      dataChannels: [
        {
          port: 52718,
          fingerprints: [fpA],
          dcmaps: [
            { streamId: 0, subprotocol: "http" },
            { streamId: 10, subprotocol: "http" },
          ],
        },
        { port: 52720, fingerprints: [fpA], dcmaps, qosHint: { loss: 0.00001, latency: 300 } },
      ],
      e2eDc: true,
    });
    expect(r.findings).toEqual([]);
    expect(r.ok).toBe(true);
    expect(readMedia(r.sdp).map((m) => m.kind)).toEqual(["audio", "dc", "dc"]);
    const [boot, app] = readDcMedia(r.sdp);
    expect(boot?.setup).toBe("actpass");
    expect(isTlsId(boot?.tlsId ?? "")).toBe(true);
    expect(boot?.tlsId).not.toBe(app?.tlsId);
    expect(app?.dcmaps).toEqual(dcmaps);
    expect(app?.qosHint).toEqual({ loss: 0.00001, latency: 300 });
    expect(parseSdp(r.sdp).session.origin?.sessionId).toBe("9223372036854775807");
    expect(r.sdp.endsWith("\r\n")).toBe(true);
  });

  it("keeps a given tls-id, omits it with null (legacy) and places extra audio before the DC", () => {
    const keep = buildDcOffer({
      connection: { address: "192.0.2.1" },
      dataChannels: [{ port: 5000, fingerprints: [fpA], tlsId: "q7Ze0vKp-3LmWn_8RtYx+2Bs/9Hc" }],
    });
    expect(readDcMedia(keep.sdp)[0]?.tlsId).toBe("q7Ze0vKp-3LmWn_8RtYx+2Bs/9Hc");
    const legacy = buildDcOffer({
      connection: { address: "192.0.2.1" },
      dataChannels: [{ port: 5000, fingerprints: [fpA], tlsId: null }],
      extraMedia: ["m=audio 4000 RTP/AVP 0\na=rtpmap:0 PCMU/8000"],
    });
    expect(legacy.ok).toBe(true);
    expect(legacy.findings.map((f) => f.code)).toEqual(["W_TLSID_MISSING"]);
    expect(readMedia(legacy.sdp).map((m) => m.kind)).toEqual(["audio", "dc"]);
  });

  it("reports problems of bad options as findings instead of throwing", () => {
    const r = buildDcOffer({ dataChannels: [{ port: 5000, fingerprints: [], tlsId: "short" }] });
    expect(r.ok).toBe(false);
    expect(r.findings.map((f) => f.code)).toEqual(
      expect.arrayContaining(["E_TLSID_SYNTAX", "E_FP_MISSING", "E_SDP_CONNECTION"]),
    );
  });

  it("builder → parser round trip (property)", () => {
    const labelArb = fc.string({ unit: "grapheme", maxLength: 12 });
    const arb = fc.record({
      port: fc.integer({ min: 1, max: 65535 }),
      sctpPort: fc.integer({ min: 0, max: 65535 }),
      maxMessageSize: fc.integer({ min: 0, max: 2 ** 31 }),
      fps: fc.array(
        fc.constantFrom("sha-256", "sha-384", "sha-512").chain((h) =>
          fc
            .uint8Array({
              minLength: h === "sha-256" ? 32 : h === "sha-384" ? 48 : 64,
              maxLength: h === "sha-256" ? 32 : h === "sha-384" ? 48 : 64,
            })
            .map((b) => fingerprintFromBytes(h as "sha-256", b)),
        ),
        { minLength: 1, maxLength: 3 },
      ),
      ids: fc.uniqueArray(fc.integer({ min: 1000, max: 65534 }), { maxLength: 5 }),
      label: labelArb,
      ordered: fc.boolean(),
      ipv6: fc.boolean(),
    });
    fc.assert(
      fc.property(arb, (a) => {
        const maps: DcMap[] = a.ids.map((streamId) => ({ streamId, label: a.label, ordered: a.ordered }));
        const address = a.ipv6 ? "2001:db8::7" : "192.0.2.7";
        const r = buildDcOffer({
          connection: { address },
          audio: { port: 4000 },
          dataChannels: [
            { port: a.port, fingerprints: a.fps, sctpPort: a.sctpPort, maxMessageSize: a.maxMessageSize, dcmaps: maps },
          ],
        });
        expect(r.findings.filter((f) => f.severity === "error")).toEqual([]);
        const [dc] = readDcMedia(r.sdp);
        expect(dc?.port).toBe(a.port);
        expect(dc?.sctpPort).toBe(a.sctpPort);
        expect(dc?.maxMessageSize).toBe(a.maxMessageSize);
        expect(dc?.fingerprints).toEqual(a.fps);
        expect(dc?.dcmaps).toEqual(maps);
        expect(dc?.connection?.address).toBe(address);
        expect(dc?.setup).toBe("actpass");
      }),
      { numRuns: 150 },
    );
  });
});

describe("buildDcAnswer", () => {
  const offer = fixture("dcmtsi-offer.sdp");

  it("answers the DCMTSI offer: same proto, setup active, new tls-ids, echoed dcmaps, audio rejected", () => {
    const r = buildDcAnswer(offer, {
      connection: { address: "2001:db8:2::b" },
      port: 49172,
      fingerprints: [fpB],
      e2eDc: true,
      // RFC 8864 §5.2: the answerer supports the offered accept-types subprotocol attribute and accepts it as offered
      dcsaSupport: ["accept-types"],
    });
    expect(r.findings).toEqual([]);
    expect(r.ok).toBe(true);
    const sdp = r.sdp ?? "";
    expect(validateAnswer(offer, sdp, { e2eDc: true })).toEqual({ ok: true, findings: [] });
    expect(readDcMedia(sdp)[1]?.dcsas).toEqual([
      { streamId: 1000, attribute: "accept-types", value: "message/cpim text/plain" },
    ]);
    const media = readMedia(sdp);
    expect(media.map((m) => [m.media, m.port, m.proto])).toEqual([
      ["audio", 0, "RTP/AVP"],
      ["application", 49172, "UDP/DTLS/SCTP"],
      ["application", 49172, "UDP/DTLS/SCTP"],
    ]);
    expect(media[0]?.fmts).toEqual(["116", "100"]);
    const [boot, app] = readDcMedia(sdp);
    expect(boot?.setup).toBe("active");
    expect(app?.dcmaps).toEqual(readDcMedia(offer)[1]?.dcmaps);
    expect(isTlsId(app?.tlsId ?? "")).toBe(true);
    expect(app?.tlsId).not.toBe(readDcMedia(offer)[1]?.tlsId);
    expect(r.media.map((m) => [m.mline, m.accepted, m.tlsId?.action, m.streamIds])).toEqual([
      [0, false, undefined, []],
      [1, true, "new", [0, 10]],
      [2, true, "new", [1000, 1002]],
    ]);
  });

  it("RFC 8864 §5.2: an offered dcsa the answerer does not support is left out and reported (W_DCSA_NOT_ANSWERED)", () => {
    const r = buildDcAnswer(offer, { connection: { address: "2001:db8:2::b" }, port: 49172, fingerprints: [fpB] });
    expect(r.ok).toBe(true);
    expect(r.findings.map((f) => [f.code, f.severity, f.mline])).toEqual([["W_DCSA_NOT_ANSWERED", "warning", 2]]);
    expect(r.findings[0]?.message).toContain("stream id 1000");
    expect(readDcMedia(r.sdp ?? "")[1]?.dcsas).toEqual([]);
  });

  it("RFC 8864 §5.2: the answerer's own dcsa answers the offered attribute; a predicate selects supported ones", () => {
    const own = buildDcAnswer(offer, {
      connection: { address: "2001:db8:2::b" },
      port: 49172,
      fingerprints: [fpB],
      dcsas: [{ streamId: 1000, attribute: "accept-types", value: "text/plain" }],
    });
    expect(own.findings).toEqual([]);
    expect(readDcMedia(own.sdp ?? "")[1]?.dcsas).toEqual([
      { streamId: 1000, attribute: "accept-types", value: "text/plain" },
    ]);
    const seen: Array<[number, string, string | undefined]> = [];
    const pred = buildDcAnswer(offer, {
      connection: { address: "2001:db8:2::b" },
      port: 49172,
      fingerprints: [fpB],
      dcsaSupport: (sa, map) => {
        seen.push([sa.streamId, sa.attribute, map.subprotocol]);
        return map.subprotocol === "msrp";
      },
    });
    expect(seen).toEqual([[1000, "accept-types", "msrp"]]);
    expect(pred.findings).toEqual([]);
    // a data channel that is not accepted takes its dcsa lines with it, without a finding
    const subset = buildDcAnswer(offer, {
      connection: { address: "2001:db8:2::b" },
      port: 49172,
      fingerprints: [fpB],
      perMedia: { 2: { acceptStreamIds: [1002] } },
    });
    expect(subset.findings).toEqual([]);
    expect(readDcMedia(subset.sdp ?? "")[1]?.dcsas).toEqual([]);
  });

  it("uses caller-supplied sections for other m-lines, per-m-line overrides, subsets and passive", () => {
    const audio = "m=audio 49170 RTP/AVP 116\r\na=rtpmap:116 AMR-WB/16000\r\n";
    const r = buildDcAnswer(offer, {
      connection: { address: "2001:db8:2::b" },
      port: 49172,
      fingerprints: [fpB],
      setup: "passive",
      otherMedia: { 0: audio },
      perMedia: {
        1: { reject: true },
        2: { port: 49174, acceptStreamIds: [1002], dcsas: [{ streamId: 1000, attribute: "x" }] },
      },
    });
    expect(r.ok).toBe(true);
    const sdp = r.sdp ?? "";
    expect(readMedia(sdp).map((m) => m.port)).toEqual([49170, 0, 49174]);
    const app = readDcMedia(sdp)[1];
    expect(app?.setup).toBe("passive");
    expect(app?.dcmaps.map((d) => d.streamId)).toEqual([1002]);
    expect(app?.dcsas).toEqual([]);
    expect(validateAnswer(offer, sdp).ok).toBe(true);
  });

  it("continues an association: repeats the previous tls-id when the offerer's is unchanged", () => {
    const offerApp = readDcMedia(offer)[1];
    const r = buildDcAnswer(offer, {
      connection: { address: "2001:db8:2::b" },
      port: 49172,
      fingerprints: [fpB],
      perMedia: { 2: { previous: { remoteTlsId: offerApp?.tlsId ?? "", localTlsId: "Vb7Nq2Lx9Tz4Kp1Rw6Ys3Hd8" } } },
    });
    expect(readDcMedia(r.sdp ?? "")[1]?.tlsId).toBe("Vb7Nq2Lx9Tz4Kp1Rw6Ys3Hd8");
    expect(r.media[2]?.tlsId?.action).toBe("reuse");
    const changed = buildDcAnswer(offer, {
      connection: { address: "2001:db8:2::b" },
      port: 49172,
      fingerprints: [fpB],
      perMedia: {
        2: { previous: { remoteTlsId: "OLDOLDOLDOLDOLDOLDOLDOLD", localTlsId: "Vb7Nq2Lx9Tz4Kp1Rw6Ys3Hd8" } },
      },
    });
    expect(changed.media[2]?.tlsId?.action).toBe("new");
    expect(readDcMedia(changed.sdp ?? "")[1]?.tlsId).not.toBe("Vb7Nq2Lx9Tz4Kp1Rw6Ys3Hd8");
  });

  it("answers Chromium: no tls-id (RFC 8842 §5.3), mid and BUNDLE echoed, ICE included", () => {
    const chrome = fixture("chromium-offer.sdp");
    const r = buildDcAnswer(chrome, {
      connection: { address: "0.0.0.0" },
      port: 9,
      fingerprints: [fpB],
      ice: {
        ufrag: "abcd",
        pwd: "e5fa516fb518630e421934",
        candidates: ["1 1 udp 2122260223 127.0.0.1 40000 typ host"],
        endOfCandidates: true,
      },
    });
    expect(r.findings).toEqual([]);
    const sdp = r.sdp ?? "";
    expect(sdp).toContain("a=group:BUNDLE 0\r\n");
    expect(sdp).toContain("a=mid:0\r\n");
    expect(sdp).not.toContain("a=tls-id");
    expect(r.media[0]?.tlsId?.action).toBe("omit");
    expect(validateAnswer(chrome, sdp)).toEqual({ ok: true, findings: [] });
  });

  it("answers the legacy DTLS/SCTP form in kind", () => {
    const legacy = fixture("chromium-offer.sdp")
      .replace("m=application 9 UDP/DTLS/SCTP webrtc-datachannel", "m=application 9 DTLS/SCTP 5000")
      .replace("a=sctp-port:5000\r\n", "a=sctpmap:5000 webrtc-datachannel 1024\r\n");
    const r = buildDcAnswer(legacy, { connection: { address: "0.0.0.0" }, port: 9, fingerprints: [fpB] });
    const sdp = r.sdp ?? "";
    expect(sdp).toContain("m=application 9 DTLS/SCTP 5000\r\n");
    expect(sdp).toContain("a=sctpmap:5000 webrtc-datachannel 1024\r\n");
    expect(sdp).not.toContain("a=sctp-port");
    expect(validateAnswer(legacy, sdp).findings.filter((f) => f.severity === "error")).toEqual([]);
  });

  it("refuses an offer with errors unless told otherwise", () => {
    const bad = fixture("chromium-offer.sdp").replace(/a=fingerprint:.*\r\n/, "");
    const r = buildDcAnswer(bad, { connection: { address: "0.0.0.0" }, port: 9, fingerprints: [fpB] });
    expect(r.ok).toBe(false);
    expect(r.sdp).toBeUndefined();
    expect(r.findings.map((f) => f.code)).toContain("E_FP_MISSING");
    const forced = buildDcAnswer(bad, {
      connection: { address: "0.0.0.0" },
      port: 9,
      fingerprints: [fpB],
      allowOfferErrors: true,
    });
    expect(forced.sdp).toBeDefined();
    expect(forced.ok).toBe(true);
  });

  it("the answer parses back into the offered values (property)", () => {
    fc.assert(
      fc.property(
        fc.uniqueArray(fc.integer({ min: 1000, max: 65534 }), { minLength: 1, maxLength: 6 }),
        fc.boolean(),
        (ids, passive) => {
          const o = buildDcOffer({
            connection: { address: "192.0.2.1" },
            audio: { port: 4000 },
            dataChannels: [
              { port: 5000, fingerprints: [fpA], dcmaps: ids.map((streamId) => ({ streamId, label: `c${streamId}` })) },
            ],
          });
          const keep = ids.filter((_, i) => i % 2 === 0);
          const a = buildDcAnswer(o.sdp, {
            connection: { address: "192.0.2.2" },
            port: 6000,
            fingerprints: [fpB],
            setup: passive ? "passive" : "active",
            acceptStreamIds: keep,
          });
          expect(a.ok).toBe(true);
          const [dc] = readDcMedia(a.sdp ?? "");
          expect(dc?.dcmaps.map((d) => d.streamId)).toEqual(keep);
          expect(dc?.setup).toBe(passive ? "passive" : "active");
          expect(validateOffer(o.sdp).ok).toBe(true);
        },
      ),
      { numRuns: 60 },
    );
  });
});
