/**
 * Golden fixtures: real-stack SDPs (Chromium 156, werift 0.24.4, libdatachannel via node-datachannel) and
 * constructed 3GPP ones. Each test pins the parsed values and the exact finding list.
 */
import { describe, expect, it } from "vitest";
import {
  analyzeSdp,
  type Finding,
  inspectSdp,
  parseSdp,
  readDcMedia,
  readMedia,
  validateAnswer,
  validateOffer,
  writeSdp,
} from "../../src/sdp/index.ts";
import { fixture } from "./cases.ts";

const brief = (fs: Finding[]) => fs.map((f) => `${f.code}@${f.line ?? "-"}`);

const ALL = [
  "chromium-offer.sdp",
  "chromium-answer.sdp",
  "werift-offer.sdp",
  "werift-answer.sdp",
  "libdatachannel-offer.sdp",
  "libdatachannel-answer.sdp",
  "dcmtsi-offer.sdp",
  "dcmtsi-answer.sdp",
  "e2ae-msrp-offer.sdp",
  "e2ae-msrp-answer.sdp",
  "bfcp-tls-offer.sdp",
  "bfcp-tls-answer.sdp",
];

describe("every fixture", () => {
  for (const name of ALL) {
    it(`${name}: parses without structural findings and writes back byte-exact`, () => {
      const text = fixture(name);
      const parsed = parseSdp(text);
      expect(parsed.findings).toEqual([]);
      expect(parsed.eol).toBe("crlf");
      expect(writeSdp(parsed)).toBe(text);
      expect(parsed.lines.map((l) => l.text + l.eol).join("")).toBe(text);
    });
  }
});

describe("Chromium 156 offer", () => {
  const text = fixture("chromium-offer.sdp");

  it("keeps the 19-digit session id exactly (beyond 2^53)", () => {
    const m = analyzeSdp(text);
    expect(m.session.origin?.sessionId).toBe("1667440208966421026");
    expect(m.session.origin?.sessionVersion).toBe("2");
  });

  it("reads the data channel m-line", () => {
    const [dc, ...rest] = readDcMedia(text);
    expect(rest).toEqual([]);
    expect(dc).toEqual({
      mline: 0,
      mid: "0",
      port: 9,
      rejected: false,
      proto: "UDP/DTLS/SCTP",
      fmt: "webrtc-datachannel",
      connection: { netType: "IN", addrType: "IP4", address: "0.0.0.0" },
      setup: "actpass",
      fingerprints: [
        {
          hash: "sha-256",
          value: "0F:7D:98:96:3A:49:FA:8B:A5:38:49:69:5B:75:D0:09:79:AA:44:40:F7:CF:FD:E8:4F:5F:95:14:3E:F3:D5:73",
        },
      ],
      fingerprintLevel: "media",
      sctpPort: 5000,
      maxMessageSize: 262144,
      dcmaps: [],
      dcsas: [],
      reqApps: [],
      ice: {
        lite: false,
        ufrag: "npob",
        pwd: "7XtwCHr5gm21YFpf4rRj5wju",
        options: ["trickle"],
        candidates: [],
        endOfCandidates: false,
      },
      e2ae: [],
      indication: "none",
    });
    expect(dc?.tlsId).toBeUndefined();
  });

  it("validates with only the legacy no-tls-id warning (no tls-id is legal)", () => {
    const r = validateOffer(text);
    expect(r.ok).toBe(true);
    expect(brief(r.findings)).toEqual(["W_TLSID_MISSING@8"]);
  });

  it("fails the stricter e2e profile only for the missing tls-id", () => {
    const r = validateOffer(text, { e2eDc: true });
    expect(brief(r.findings)).toEqual(["W_TLSID_MISSING@8", "E_E2E_TLSID_MISSING@8"]);
  });
});

describe("werift answer to the Chromium offer", () => {
  const offer = fixture("chromium-offer.sdp");
  const answer = fixture("werift-answer.sdp");

  it("keeps werift's ufrag candidate extension and reads effective values", () => {
    const [dc] = readDcMedia(answer);
    expect(dc?.setup).toBe("active");
    expect(dc?.maxMessageSize).toBe(65536);
    expect(dc?.ice.candidates).toEqual([
      "626da4e5384a0ce2d0d93678a 1 udp 2116026367 127.0.0.1 56083 typ host generation 0 ufrag 0080",
      "12efb64d1e37b75475c3d3c95 1 udp 1679818751 127.0.0.1 56083 typ srflx raddr 127.0.0.1 rport 56083",
    ]);
    expect(dc?.ice.endOfCandidates).toBe(true);
    expect(dc?.ice.ufrag).toBe("0080");
    expect(dc?.fingerprints[0]?.value.startsWith("54:C8:C2:FA")).toBe(true);
  });

  it("is a valid answer with no finding", () => {
    const r = validateAnswer(offer, answer);
    expect(r).toEqual({ ok: true, findings: [] });
  });
});

describe("werift offer and Chromium answer", () => {
  it("werift offer: only the no-tls-id warning", () => {
    expect(brief(validateOffer(fixture("werift-offer.sdp")).findings)).toEqual(["W_TLSID_MISSING@8"]);
  });

  it("Chromium answer without max-message-size gets the 64K default and no finding", () => {
    const answer = fixture("chromium-answer.sdp");
    const [dc] = readDcMedia(answer);
    expect(dc?.maxMessageSize).toBe(65536);
    expect(dc?.sctpPort).toBe(5000);
    expect(dc?.setup).toBe("active");
    expect(analyzeSdp(answer).session.origin?.sessionId).toBe("4037281585248997212");
    expect(validateAnswer(fixture("werift-offer.sdp"), answer)).toEqual({ ok: true, findings: [] });
  });
});

describe("libdatachannel (node-datachannel) offer and answer", () => {
  it("offer: session-level fingerprint applies to the m-line", () => {
    const text = fixture("libdatachannel-offer.sdp");
    const [dc] = readDcMedia(text);
    expect(dc?.fingerprintLevel).toBe("session");
    expect(dc?.fingerprints).toHaveLength(1);
    expect(dc?.fingerprints[0]?.hash).toBe("sha-256");
    expect(dc?.setup).toBe("actpass");
    expect(dc?.maxMessageSize).toBe(262144);
    expect(dc?.ice.candidates).toHaveLength(1);
    expect(dc?.ice.endOfCandidates).toBe(true);
    expect(dc?.connection?.address).toBe("127.0.0.1");
    expect(brief(validateOffer(text).findings)).toEqual(["W_TLSID_MISSING@9"]);
  });

  it("answer to the Chromium offer: setup active, no finding", () => {
    const r = validateAnswer(fixture("chromium-offer.sdp"), fixture("libdatachannel-answer.sdp"));
    expect(r).toEqual({ ok: true, findings: [] });
    expect(readDcMedia(fixture("libdatachannel-answer.sdp"))[0]?.setup).toBe("active");
  });
});

describe("DCMTSI offer/answer (constructed per TS 26.114 §6.2.10 / TS 24.186)", () => {
  const offer = fixture("dcmtsi-offer.sdp");
  const answer = fixture("dcmtsi-answer.sdp");

  it("reads audio first, then the bootstrap and the application data channel m-lines", () => {
    expect(readMedia(offer).map((m) => m.kind)).toEqual(["audio", "dc", "dc"]);
    const [boot, app] = readDcMedia(offer);
    expect(boot?.dcmaps).toEqual([
      { streamId: 0, label: "bootstrap", subprotocol: "http", ordered: true },
      { streamId: 10, label: "bootstrap-ext", subprotocol: "http", ordered: true },
    ]);
    expect(boot?.tlsId).toBe("Xk3v9qT7LmP2sR8wZa1bC4dE");
    expect(boot?.bandwidthAs).toBe(500);
    expect(app?.tlsId).toBe("q7Ze0vKp-3LmWn_8RtYx+2Bs/9Hc");
    expect(app?.dcmaps).toEqual([
      { streamId: 1000, label: "chat", subprotocol: "msrp", ordered: true },
      { streamId: 1002, label: "sensor ✓", ordered: false, maxRetr: 3, priority: 256 },
    ]);
    expect(app?.dcsas).toEqual([{ streamId: 1000, attribute: "accept-types", value: "message/cpim text/plain" }]);
    expect(app?.qosHint).toEqual({ loss: 0.01, latency: 100 });
    expect(app?.connection).toEqual({ netType: "IN", addrType: "IP6", address: "2001:db8:1::a" });
  });

  it("offer passes the e2e profile with no finding", () => {
    expect(validateOffer(offer, { e2eDc: true })).toEqual({ ok: true, findings: [] });
  });

  it("answer passes against the offer, also with the e2e profile", () => {
    expect(validateAnswer(offer, answer)).toEqual({ ok: true, findings: [] });
    expect(validateAnswer(offer, answer, { e2eDc: true })).toEqual({ ok: true, findings: [] });
    expect(readDcMedia(answer).map((d) => [d.setup, d.tlsId])).toEqual([
      ["active", "p9Q2wE5rT8yU1iO4aS7dF0gH"],
      ["active", "Vb7Nq2Lx9Tz4Kp1Rw6Ys3Hd8"],
    ]);
  });
});

describe("e2ae MSRP offer (TR 29.828 §5.2.1.2, seed CR 2)", () => {
  const offer = fixture("e2ae-msrp-offer.sdp");

  it("reads proto, path, accept types, fingerprint and the requested indication", () => {
    const [m] = readMedia(offer);
    expect(m?.kind).toBe("msrp");
    expect(m?.security).toBe("tls");
    expect(m?.proto).toBe("TCP/TLS/MSRP");
    expect(m?.fmts).toEqual(["*"]);
    expect(m?.msrp).toEqual({
      acceptTypes: ["message/cpim", "text/plain"],
      acceptWrappedTypes: ["*"],
      path: [{ scheme: "msrps", host: "192.0.2.10", port: 7654, sessionId: "jshA7we", transport: "tcp" }],
    });
    // RFC 8122 §5: "SHA-256" is the same hash-func as "sha-256".
    expect(m?.fingerprints[0]?.hash).toBe("sha-256");
    expect(m?.setup).toBe("actpass");
    expect(m?.connectionAttr).toBe("new");
    expect(m?.e2ae).toEqual([{ indicator: "requested", raw: "requested" }]);
  });

  it("validates without finding; the P-CSCF inspection sees e2ae-requested", () => {
    expect(validateOffer(offer)).toEqual({ ok: true, findings: [] });
    const i = inspectSdp(offer);
    expect(i.media.map((m) => [m.indication, m.hasFingerprint, m.hasSetup, m.hasTlsId])).toEqual([
      ["e2ae-requested", true, true, false],
    ]);
  });

  it("answer (AGW fingerprint, setup active, port 9) is valid", () => {
    expect(validateAnswer(offer, fixture("e2ae-msrp-answer.sdp"))).toEqual({ ok: true, findings: [] });
  });
});

describe("BFCP over TLS offer (RFC 8856)", () => {
  const offer = fixture("bfcp-tls-offer.sdp");

  it("reads the BFCP attributes", () => {
    const [b, a, v] = readMedia(offer);
    expect([b?.kind, a?.kind, v?.kind]).toEqual(["bfcp", "audio", "video"]);
    expect(b?.bfcp).toEqual({
      floorctrl: ["s-only"],
      confid: "4321",
      userid: "1234",
      floorids: [
        { floorId: "1", mstrm: ["10"] },
        { floorId: "2", mstrm: ["11"] },
      ],
      bfcpver: [2, 1],
    });
    expect(b?.e2ae.map((x) => x.indicator)).toEqual(["requested"]);
  });

  it("offer and answer validate without finding", () => {
    expect(validateOffer(offer)).toEqual({ ok: true, findings: [] });
    expect(validateAnswer(offer, fixture("bfcp-tls-answer.sdp"))).toEqual({ ok: true, findings: [] });
  });
});
