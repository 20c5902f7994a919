/**
 * e2ae SDP on the UE: offer/answer builders for TCP/TLS/MSRP and TCP/TLS/BFCP (validated by src/sdp), readers on
 * the project's fixtures (the P-CSCF's terminating offers), the RFC 4145 / RFC 8856 role tables, and fast-check
 * build → read round trips.
 */
import { readFileSync } from "node:fs";
import fc from "fast-check";
import { afterEach, describe, expect, it } from "vitest";
import { readMedia, validateAnswer, validateOffer } from "../../../src/sdp/index.ts";
import { E2aeEndpoint } from "../../../src/ue/e2ae/endpoint.ts";
import {
  answerFloorCtrl,
  answerSetupFor,
  buildE2aeAnswer,
  buildE2aeOffer,
  localIsFloorServer,
  localTcpRole,
  localTlsRole,
  readE2aeMedia,
} from "../../../src/ue/e2ae/sdp.ts";

const FP = {
  hash: "sha-256" as const,
  value: Array.from({ length: 32 }, (_, i) => (i * 7).toString(16).toUpperCase().padStart(2, "0")).join(":"),
};
const fixture = (p: string) => readFileSync(new URL(`../../fixtures/${p}`, import.meta.url), "utf8");

const eps: E2aeEndpoint[] = [];
afterEach(async () => {
  await Promise.all(eps.splice(0).map((e) => e.close()));
});

describe("builders", () => {
  it("MSRP offer: m=message <port> TCP/TLS/MSRP *, path, accept-types, setup, connection, fingerprint, 3ge2ae", () => {
    const r = buildE2aeOffer({
      origin: { sessionId: "42" },
      connection: { address: "127.0.0.1" },
      media: [
        {
          kind: "msrp",
          port: 7654,
          setup: "actpass",
          fingerprints: [FP],
          path: ["msrps://127.0.0.1:7654/jshA7we;tcp"],
          acceptTypes: ["message/cpim", "text/plain"],
          acceptWrappedTypes: ["*"],
          e2ae: "requested",
        },
      ],
    });
    expect(r.ok).toBe(true);
    expect(r.sdp).toBe(
      [
        "v=0",
        "o=- 42 1 IN IP4 127.0.0.1",
        "s=-",
        "c=IN IP4 127.0.0.1",
        "t=0 0",
        "m=message 7654 TCP/TLS/MSRP *",
        "a=accept-types:message/cpim text/plain",
        "a=accept-wrapped-types:*",
        "a=path:msrps://127.0.0.1:7654/jshA7we;tcp",
        "a=setup:actpass",
        "a=connection:new",
        `a=fingerprint:sha-256 ${FP.value}`,
        "a=3ge2ae:requested",
        "",
      ].join("\r\n"),
    );
  });

  it("BFCP offer: m=application <port> TCP/TLS/BFCP *, floorctrl, confid, userid, floorid, bfcpver", () => {
    const r = buildE2aeOffer({
      connection: { address: "::1" },
      media: [
        {
          kind: "bfcp",
          port: 50000,
          setup: "actpass",
          fingerprints: [FP],
          floorctrl: ["c-s"],
          confid: 4321,
          userid: 1234,
          floorIds: [1, { floorId: "2", mstrm: ["11"] }],
          bfcpver: [1],
          e2ae: "requested",
        },
      ],
    });
    expect(r.ok).toBe(true);
    expect(r.sdp).toContain("c=IN IP6 ::1\r\n");
    expect(r.sdp).toContain(
      "m=application 50000 TCP/TLS/BFCP *\r\na=floorctrl:c-s\r\na=confid:4321\r\na=userid:1234\r\na=floorid:1\r\na=floorid:2 mstrm:11\r\na=bfcpver:1\r\n",
    );
    expect(readE2aeMedia(r.sdp)[0]).toMatchObject({
      kind: "bfcp",
      tls: true,
      indication: "e2ae-requested",
      bfcp: { floorctrl: ["c-s"], confid: "4321" },
    });
  });

  it("answer: other m-lines rejected with port 0 (RFC 3264 §6); validated against the offer", () => {
    const offer = fixture("pcscf/msrp-term-offer.out.sdp");
    const r = buildE2aeAnswer(offer, {
      connection: { address: "127.0.0.1" },
      media: {
        0: {
          kind: "msrp",
          port: 9,
          setup: "active",
          fingerprints: [FP],
          path: ["msrps://127.0.0.1:9/abcd;tcp"],
          acceptTypes: ["message/cpim"],
        },
      },
    });
    expect(r.ok).toBe(true);
    expect(readMedia(r.sdp).map((m) => `${m.media} ${m.port} ${m.proto}`)).toEqual([
      "message 9 TCP/TLS/MSRP",
      "audio 0 RTP/AVP",
    ]);
    expect(validateAnswer(offer, r.sdp).findings.filter((f) => f.severity === "error")).toEqual([]);
  });

  it("builders report findings instead of throwing (bad path, missing fingerprint on TLS)", () => {
    const bad = buildE2aeOffer({
      connection: { address: "127.0.0.1" },
      media: [
        { kind: "msrp", port: 1, setup: "actpass", fingerprints: [], path: ["http://x"], acceptTypes: ["text/plain"] },
      ],
    });
    expect(bad.ok).toBe(false);
    expect(bad.findings.map((f) => f.code)).toEqual(expect.arrayContaining(["E_MSRP_PATH", "E_FP_MISSING"]));
  });
});

describe("readers on the project's fixtures", () => {
  it("the P-CSCF's terminating MSRP offer (TR 29.828 §5.2.1.2.3 step 8): applied + AGW fingerprint", () => {
    const [m] = readE2aeMedia(fixture("pcscf/msrp-term-offer.out.sdp"));
    expect(m).toMatchObject({
      kind: "msrp",
      tls: true,
      port: 41000,
      address: "192.0.2.1",
      setup: "actpass",
      indication: "e2ae-applied",
    });
    expect(m?.msrp?.pathText).toEqual(["msrps://192.0.2.1:41000/s8f7Wq2;tcp"]);
    expect(m?.fingerprints[0]?.hash).toBe("sha-256");
  });

  it("the P-CSCF's terminating BFCP offer (§5.2.1.3.3 step 8): c-s, confid/userid/floorid", () => {
    const [m] = readE2aeMedia(fixture("pcscf/bfcp-term-offer.out.sdp"));
    expect(m).toMatchObject({ kind: "bfcp", tls: true, indication: "e2ae-applied", address: "2001:db8:a::1" });
    expect(m?.bfcp).toMatchObject({
      floorctrl: ["c-s"],
      confid: "77",
      userid: "5",
      floorIds: [{ floorId: "2", mstrm: ["11"] }],
    });
  });

  it("an endpoint answers the P-CSCF's terminating offer (passive here: no connection leaves 127.0.0.1)", async () => {
    const offer = fixture("pcscf/msrp-term-offer.out.sdp");
    const e = new E2aeEndpoint({ kind: "msrp", answerSetup: "passive" });
    e.on("failure", () => {});
    eps.push(e);
    const answer = await e.acceptOffer(offer);
    expect(validateAnswer(offer, answer).ok).toBe(true);
    const [m] = readE2aeMedia(answer);
    expect(m).toMatchObject({ setup: "passive", port: e.port, tls: true, e2aeValues: [] });
    expect(e.remoteMedia?.indication).toBe("e2ae-applied");
    expect([e.tcpRole, e.tlsRole]).toEqual(["passive", "server"]);
  });

  it("an endpoint takes the c-only role for the P-CSCF's c-s BFCP offer and reads confid/userid from it", async () => {
    const offer = fixture("pcscf/bfcp-term-offer.out.sdp");
    const e = new E2aeEndpoint({ kind: "bfcp", answerSetup: "passive", address: "::1" });
    e.on("failure", () => {});
    eps.push(e);
    const answer = await e.acceptOffer(offer);
    expect(readE2aeMedia(answer)[0]?.bfcp?.floorctrl).toEqual(["c-only"]);
    expect(e.isFloorServer).toBe(false);
    expect(e.tlsRole).toBe("server"); // RFC 8856: the answerer is the TLS server
  });
});

describe("role tables", () => {
  it.each<[string | undefined, "active" | "passive", string | undefined]>([
    ["actpass", "active", "active"],
    ["actpass", "passive", "passive"],
    ["active", "active", "passive"],
    ["passive", "passive", "active"],
    [undefined, "active", "passive"], // RFC 4145 §4: no a=setup in an offer = active
    ["holdconn", "active", undefined],
  ])("RFC 4145 §4: offer %s (preferring %s) → answer %s", (offered, pref, want) => {
    expect(answerSetupFor(offered as never, pref)).toBe(want);
  });

  it.each<[string | undefined, string | undefined, boolean, string | undefined]>([
    ["actpass", "active", true, "passive"],
    ["actpass", "passive", true, "active"],
    ["actpass", "active", false, "active"],
    ["active", undefined, true, "active"], // RFC 4145 §4: answer default passive
    ["passive", "passive", true, undefined],
    ["actpass", "holdconn", true, undefined],
  ])("local TCP role: offer %s / answer %s (local offerer %s) → %s", (o, a, off, want) => {
    expect(localTcpRole({ offerSetup: o as never, answerSetup: a as never, localIsOfferer: off })).toBe(want);
  });

  it("TLS roles: MSRP follows TCP; BFCP: the answerer is the TLS server whatever the TCP role", () => {
    expect(localTlsRole("msrp", "active", true)).toBe("client");
    expect(localTlsRole("msrp", "passive", false)).toBe("server");
    expect(localTlsRole("bfcp", "active", false)).toBe("server");
    expect(localTlsRole("bfcp", "passive", true)).toBe("client");
  });

  it("RFC 8856 §5.1 floorctrl", () => {
    expect(answerFloorCtrl(["c-s"])).toBe("c-only");
    expect(answerFloorCtrl(["c-s"], "s-only")).toBe("s-only");
    expect(answerFloorCtrl(["c-only"])).toBe("s-only");
    expect(answerFloorCtrl(["s-only"], "s-only")).toBe("c-only");
    expect(answerFloorCtrl([])).toBe("s-only"); // no floorctrl = the offerer is a client
    expect(localIsFloorServer(["c-s"], ["c-only"])).toBe(true);
    expect(localIsFloorServer(["c-s"], ["s-only"])).toBe(false);
    expect(localIsFloorServer(["s-only"], ["c-only"])).toBe(true);
  });
});

describe("round trips (fast-check)", () => {
  const hexPair = fc.integer({ min: 0, max: 255 }).map((n) => n.toString(16).toUpperCase().padStart(2, "0"));
  const fpArb = fc
    .array(hexPair, { minLength: 32, maxLength: 32 })
    .map((a) => ({ hash: "sha-256" as const, value: a.join(":") }));
  const sidArb = fc.stringMatching(/^[A-Za-z0-9]{4,24}$/);

  it("MSRP: read(build(options)) gives the options back; the offer validates", () => {
    fc.assert(
      fc.property(
        fc.integer({ min: 1, max: 65535 }),
        fc.constantFrom("actpass" as const, "active" as const, "passive" as const),
        fpArb,
        sidArb,
        fc.subarray(["message/cpim", "text/plain", "application/im-iscomposing+xml", "*"], { minLength: 1 }),
        (port, setup, fp, sid, types) => {
          const path = `msrps://127.0.0.1:${port}/${sid};tcp`;
          const r = buildE2aeOffer({
            connection: { address: "127.0.0.1" },
            media: [
              { kind: "msrp", port, setup, fingerprints: [fp], path: [path], acceptTypes: types, e2ae: "requested" },
            ],
          });
          expect(validateOffer(r.sdp).ok).toBe(true);
          expect(readE2aeMedia(r.sdp)[0]).toMatchObject({
            port,
            setup,
            fingerprints: [fp],
            msrp: { pathText: [path], acceptTypes: types },
            indication: "e2ae-requested",
          });
        },
      ),
      { numRuns: 150 },
    );
  });

  it("BFCP: read(build(options)) gives the options back", () => {
    fc.assert(
      fc.property(
        fc.constantFrom(["c-only"] as const, ["s-only"] as const, ["c-s"] as const),
        fc.integer({ min: 0, max: 0xffff_ffff }),
        fc.integer({ min: 0, max: 0xffff }),
        fc.uniqueArray(fc.integer({ min: 0, max: 0xffff }), { minLength: 1, maxLength: 4 }),
        fpArb,
        (floorctrl, confid, userid, floors, fp) => {
          const r = buildE2aeOffer({
            connection: { address: "127.0.0.1" },
            media: [
              {
                kind: "bfcp",
                port: 5000,
                setup: "actpass",
                fingerprints: [fp],
                floorctrl: [...floorctrl],
                confid,
                userid,
                floorIds: floors,
                bfcpver: [1],
              },
            ],
          });
          expect(r.ok).toBe(true);
          expect(readE2aeMedia(r.sdp)[0]?.bfcp).toEqual({
            floorctrl: [...floorctrl],
            confid: String(confid),
            userid: String(userid),
            floorIds: floors.map((f) => ({ floorId: String(f), mstrm: [] })),
            bfcpver: [1],
          });
        },
      ),
      { numRuns: 150 },
    );
  });
});
