import { describe, expect, it } from "vitest";
import {
  type AssociationState,
  answerTlsId,
  decideAssociation,
  type Fingerprint,
  isTlsId,
  negotiateDcMedia,
  offerTlsId,
} from "../../src/sdp/index.ts";
import { FP256, FP256_B, fixture, TLSID_A, TLSID_B } from "./cases.ts";

const fpA: Fingerprint = { hash: "sha-256", value: FP256 };
const fpB: Fingerprint = { hash: "sha-256", value: FP256_B };
const base: AssociationState = {
  localTlsId: TLSID_A,
  remoteTlsId: TLSID_B,
  localFingerprints: [fpA],
  remoteFingerprints: [fpB],
  role: "server",
};

describe("decideAssociation (RFC 8842 §3)", () => {
  it("new when there is no previous association", () => {
    expect(decideAssociation(undefined, base)).toEqual({ action: "new", reasons: ["no previous association"] });
  });

  it("reuse when nothing changed (fingerprint order and hex case do not matter)", () => {
    expect(decideAssociation(base, { ...base })).toEqual({ action: "reuse", reasons: [] });
    const two = { ...base, remoteFingerprints: [fpB, fpA] };
    expect(
      decideAssociation(two, { ...two, remoteFingerprints: [{ ...fpA, value: FP256.toLowerCase() }, fpB] }).action,
    ).toBe("reuse");
  });

  it("new when a tls-id changes", () => {
    expect(decideAssociation(base, { ...base, remoteTlsId: "zzzzzzzzzzzzzzzzzzzzzzzz" })).toEqual({
      action: "new",
      reasons: ["remote tls-id changed"],
    });
    expect(decideAssociation(base, { ...base, localTlsId: "zzzzzzzzzzzzzzzzzzzzzzzz" }).reasons).toEqual([
      "local tls-id changed",
    ]);
  });

  it("new when a fingerprint is added, removed or changed (even with the same tls-id)", () => {
    expect(decideAssociation(base, { ...base, remoteFingerprints: [fpB, fpA] }).reasons).toEqual([
      "remote fingerprint set changed",
    ]);
    expect(decideAssociation(base, { ...base, remoteFingerprints: [] }).reasons).toEqual([
      "remote fingerprint set changed",
    ]);
    expect(decideAssociation(base, { ...base, localFingerprints: [fpB] }).reasons).toEqual([
      "local fingerprint set changed",
    ]);
  });

  it("new when the DTLS role flips", () => {
    expect(decideAssociation(base, { ...base, role: "client" })).toEqual({
      action: "new",
      reasons: ["DTLS role changed (server -> client)"],
    });
  });

  it("without any tls-id, a transport change means a new association; with tls-id it does not", () => {
    const legacy: AssociationState = {
      localFingerprints: [fpA],
      remoteFingerprints: [fpB],
      role: "client",
      transport: "udp 192.0.2.1:5000",
    };
    expect(decideAssociation(legacy, { ...legacy, transport: "udp 192.0.2.9:5000" }).action).toBe("new");
    expect(decideAssociation({ ...base, transport: "a" }, { ...base, transport: "b" }).action).toBe("reuse");
  });

  it("collects several reasons", () => {
    const r = decideAssociation(base, { ...base, remoteTlsId: "yyyyyyyyyyyyyyyyyyyyyyyy", role: "client" });
    expect(r.reasons).toEqual(["remote tls-id changed", "DTLS role changed (server -> client)"]);
  });
});

describe("answerTlsId / offerTlsId (RFC 8842 §5.2, §5.3)", () => {
  const gen = () => "GENERATEDGENERATEDGENERATED";

  it("omits the tls-id when the offer has none", () => {
    expect(answerTlsId({ offerTlsId: undefined, previous: { localTlsId: TLSID_A, remoteTlsId: TLSID_B } })).toEqual({
      tlsId: undefined,
      action: "omit",
      reason: "the offer has no tls-id",
    });
  });

  it("new for an initial offer, for a changed offerer tls-id, or when forced", () => {
    expect(answerTlsId({ offerTlsId: TLSID_B, generate: gen }).action).toBe("new");
    expect(answerTlsId({ offerTlsId: TLSID_B, generate: gen }).tlsId).toBe("GENERATEDGENERATEDGENERATED");
    expect(
      answerTlsId({ offerTlsId: "changedchangedchanged1", previous: { localTlsId: TLSID_A, remoteTlsId: TLSID_B } })
        .action,
    ).toBe("new");
    expect(
      answerTlsId({ offerTlsId: TLSID_B, previous: { localTlsId: TLSID_A, remoteTlsId: TLSID_B }, forceNew: true })
        .action,
    ).toBe("new");
    expect(isTlsId(answerTlsId({ offerTlsId: TLSID_B }).tlsId ?? "")).toBe(true);
  });

  it("repeats the previous answerer tls-id when the offerer continues", () => {
    expect(answerTlsId({ offerTlsId: TLSID_B, previous: { localTlsId: TLSID_A, remoteTlsId: TLSID_B } })).toEqual({
      tlsId: TLSID_A,
      action: "reuse",
      reason: "continuing the existing association",
    });
  });

  it("offerTlsId: new for a new association, else the previous value", () => {
    expect(offerTlsId({ newAssociation: true, previousLocalTlsId: TLSID_A, generate: gen }).tlsId).toBe(
      "GENERATEDGENERATEDGENERATED",
    );
    expect(offerTlsId({ newAssociation: false, previousLocalTlsId: TLSID_A }).tlsId).toBe(TLSID_A);
    expect(offerTlsId({ newAssociation: false }).action).toBe("new");
  });
});

describe("negotiateDcMedia", () => {
  const offer = fixture("dcmtsi-offer.sdp");
  const answer = fixture("dcmtsi-answer.sdp");

  it("offerer view: server role (answer active), peer fingerprint and tls-id, agreed channels", () => {
    const [boot, app] = negotiateDcMedia(offer, answer, { localIsOfferer: true });
    expect(boot?.mline).toBe(1);
    expect(app?.accepted).toBe(true);
    expect(app?.localRole).toBe("server");
    expect(app?.channels.map((c) => c.streamId)).toEqual([1000, 1002]);
    expect(app?.remote?.maxMessageSize).toBe(65536);
    expect(app?.association).toEqual({
      localTlsId: "q7Ze0vKp-3LmWn_8RtYx+2Bs/9Hc",
      remoteTlsId: "Vb7Nq2Lx9Tz4Kp1Rw6Ys3Hd8",
      localFingerprints: [{ hash: "sha-256", value: FP256 }],
      remoteFingerprints: app?.answer?.fingerprints,
      role: "server",
      transport: "UDP/DTLS/SCTP 2001:db8:2::b:49174",
    });
  });

  it("answerer view: client role; the same exchange again means reuse", () => {
    const first = negotiateDcMedia(offer, answer, { localIsOfferer: false });
    const again = negotiateDcMedia(offer, answer, { localIsOfferer: false });
    expect(first[1]?.localRole).toBe("client");
    expect(first[1]?.remote?.tlsId).toBe("q7Ze0vKp-3LmWn_8RtYx+2Bs/9Hc");
    expect(decideAssociation(first[1]?.association, again[1]?.association as AssociationState).action).toBe("reuse");
  });

  it("Chromium offer + werift answer: no tls-id, werift is the DTLS client", () => {
    const [n] = negotiateDcMedia(fixture("chromium-offer.sdp"), fixture("werift-answer.sdp"), {
      localIsOfferer: false,
    });
    expect(n?.localRole).toBe("client");
    expect(n?.association?.remoteTlsId).toBeUndefined();
    expect(n?.remote?.maxMessageSize).toBe(262144);
  });

  it("a rejected answer m-line is not accepted", () => {
    const rejected = answer.replace("m=application 49174 UDP", "m=application 0 UDP");
    const [, app] = negotiateDcMedia(offer, rejected, { localIsOfferer: true });
    expect(app?.accepted).toBe(false);
    expect(app?.localRole).toBeUndefined();
  });
});
