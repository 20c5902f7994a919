import { describe, expect, it } from "vitest";
import {
  akaAuts,
  akaNonce,
  akaResync,
  akaUeAuthenticate,
  akaVector,
  answerChallenge,
  DEFAULT_SQN_WINDOW,
  digestAlgorithm,
  digestHa1,
  digestResponse,
  formatChallenge,
  nextSqn,
  parseAkaNonce,
  parseCredentials,
  reuseChallenge,
  sqnFresh,
  sqnFromBytes,
} from "../../../src/sip/auth/index.ts";

const h = (s: string) => new Uint8Array(Buffer.from(s, "hex"));
const x = (b: Uint8Array) => Buffer.from(b).toString("hex");

// TS 35.208 §4.3 test set 1
const K = h("465b5ce8b199b49faa5f0a2ee238a6bc");
const OPC = h("cd63cb71954a9f4e48a5994e37a02baf");
const RAND = h("23553cbe9637a89d218ae64dae47bf35");
const SQN = 0xff9bb4d0b607;
const AMF = h("b9b9");

describe("IMS AKA (TS 33.102 §6.3, RFC 3310)", () => {
  it("vector: AUTN = SQN ⊕ AK ‖ AMF ‖ MAC-A, XRES = f2 (test set 1)", () => {
    const v = akaVector({ k: K, opc: OPC }, SQN, AMF, RAND);
    // SQN ff9bb4d0b607 ⊕ AK aa689c648370 = 55f328b43577; MAC-A 4a9ffac354dfafb3
    expect(x(v.autn)).toBe("55f328b43577b9b94a9ffac354dfafb3");
    expect(x(v.xres)).toBe("a54211d5e3ba50bf");
    expect(x(v.ck)).toBe("b40ba9a3c58b2a05bbf0d987b21bf8cb");
    expect(x(v.ik)).toBe("f769bcd751044604127672711c6d3441");
  });

  it("nonce = base64(RAND ‖ AUTN ‖ server data) (RFC 3310 §3.1)", () => {
    const v = akaVector({ k: K, opc: OPC }, SQN, AMF, RAND);
    const n = akaNonce(v.rand, v.autn, h("0102"));
    const p = parseAkaNonce(n);
    expect(x(p.rand)).toBe(x(RAND));
    expect(x(p.autn)).toBe(x(v.autn));
    expect(x(p.serverData)).toBe("0102");
    expect(() => parseAkaNonce("AAAA")).toThrow(expect.objectContaining({ code: "E_AUTH_NONCE" }));
    expect(() => parseAkaNonce("%%")).toThrow(expect.objectContaining({ code: "E_AUTH_NONCE" }));
  });

  it("UE: MAC verifies and SQN is fresh → RES, and the accepted SQN", () => {
    const v = akaVector({ k: K, opc: OPC }, SQN, AMF, RAND);
    const r = akaUeAuthenticate({ k: K, opc: OPC, sqnMs: SQN - 32 }, v.rand, v.autn);
    expect(r).toMatchObject({ kind: "ok", sqn: SQN });
    if (r.kind === "ok") expect(x(r.res)).toBe("a54211d5e3ba50bf");
  });

  it("UE: a flipped MAC bit is a MAC failure (no RES, no AUTS)", () => {
    const v = akaVector({ k: K, opc: OPC }, SQN, AMF, RAND);
    v.autn[15] = (v.autn[15] ?? 0) ^ 1;
    expect(akaUeAuthenticate({ k: K, opc: OPC, sqnMs: 0 }, v.rand, v.autn)).toEqual({ kind: "mac-failure" });
  });

  it("UE: stale SQN (replayed vector, or beyond Δ) → sync failure with AUTS; the network recovers SQN_MS", () => {
    const v = akaVector({ k: K, opc: OPC }, SQN, AMF, RAND);
    const replay = akaUeAuthenticate({ k: K, opc: OPC, sqnMs: SQN }, v.rand, v.autn);
    expect(replay.kind).toBe("sync-failure");
    if (replay.kind !== "sync-failure") return;
    expect(replay.auts).toHaveLength(14);
    expect(akaResync({ k: K, opc: OPC }, v.rand, replay.auts)).toBe(SQN);
    // TS 33.102 Annex C.2.2: a jump beyond Δ is refused too
    const far = akaUeAuthenticate({ k: K, opc: OPC, sqnMs: 0, window: 1000 }, v.rand, v.autn);
    expect(far.kind).toBe("sync-failure");
    expect(sqnFresh(100, 0, 100)).toBe(true);
    expect(sqnFresh(101, 0, 100)).toBe(false);
    expect(sqnFresh(5, 5)).toBe(false);
    expect(DEFAULT_SQN_WINDOW).toBe(2 ** 33);
    expect(nextSqn(2 ** 48 - 32)).toBe(0);
  });

  it("network: AUTS vectors of TS 35.208 test set 20 (and a test USIM's AUTS) verify; a tampered one does not", () => {
    const k = h("90dca4eda45b53cf0f12d7c9c3bc6a89");
    const opc = h("cb9cccc4b9258e6dca4760379fb82581");
    const rand = h("9fddc72092c6ad036b6e464789315b78");
    // SQN_MS ⊕ AK* with AK* = f5* = 4f2039392ddc: SQN_MS = 1
    const auts = h("4f2039392ddd4bb4316ed4a14688");
    expect(akaResync({ k, opc }, rand, auts)).toBe(1);
    expect(x(akaAuts({ k, opc }, rand, 1))).toBe(x(auts));
    expect(akaResync({ k, opc }, new Uint8Array(16).fill(0xaa), h("43681ad3daf006bcde405a207267"))).toBeTypeOf(
      "number",
    );
    const bad = auts.slice();
    bad[13] = (bad[13] ?? 0) ^ 1;
    expect(akaResync({ k, opc }, rand, bad)).toBeUndefined();
    expect(() => akaResync({ k, opc }, rand, bad.slice(1))).toThrow(expect.objectContaining({ code: "E_AUTH_KEY" }));
    expect(sqnFromBytes(h("000000000020"))).toBe(32);
  });
});

describe("UE answer to a challenge (RFC 3261 §22.4, RFC 3310 §3.2-§3.4)", () => {
  const REALM = "ims.example.com";
  const target = { method: "REGISTER", uri: "sip:ims.example.com" };

  it("Digest: answers the first challenge of its realm whose algorithm it has; the server can verify", () => {
    const chs = [
      formatChallenge({ realm: "evil.example.net", nonce: "e", algorithm: "MD5", qop: ["auth"] }),
      formatChallenge({ realm: REALM, nonce: "n1", algorithm: "SHA-1", qop: ["auth"] }),
      formatChallenge({ realm: REALM, nonce: "n2", algorithm: "SHA-256", qop: ["auth"] }),
      formatChallenge({ realm: REALM, nonce: "n3", algorithm: "MD5", qop: ["auth"] }),
    ];
    const a = answerChallenge({ impi: "bob@ims.example.com", realm: REALM, password: "pw" }, chs, target);
    expect(a.kind).toBe("answer");
    if (a.kind !== "answer") return;
    const c = parseCredentials(a.authorization);
    expect(c).toMatchObject({ realm: REALM, nonce: "n2", algorithm: "SHA-256", qop: "auth", nc: "00000001" });
    const alg = digestAlgorithm("SHA-256");
    if (!alg) throw new Error("alg");
    const expected = digestResponse({
      algorithm: alg,
      ha1: digestHa1(alg, "bob@ims.example.com", REALM, "pw"),
      method: "REGISTER",
      uri: target.uri,
      nonce: "n2",
      qop: "auth",
      nc: "00000001",
      cnonce: c.cnonce,
    });
    expect(c.response).toBe(expected);
    // re-registration: same nonce, nc 2
    const again = reuseChallenge("bob@ims.example.com", a.cache, target);
    expect(again && parseCredentials(again.authorization).nc).toBe("00000002");
  });

  it("never answers another realm (no credentials leave for a challenge it was not configured for)", () => {
    const a = answerChallenge(
      { impi: "bob", realm: REALM, password: "pw" },
      [formatChallenge({ realm: "evil.example.net", nonce: "e", qop: ["auth"] })],
      target,
    );
    expect(a).toMatchObject({ kind: "refuse", code: "E_AUTH_NO_CREDENTIALS" });
  });

  it("no qop offered: RFC 2617 form, and nothing to re-use", () => {
    const a = answerChallenge(
      { impi: "bob", realm: REALM, password: "pw" },
      [formatChallenge({ realm: REALM, nonce: "n" })],
      target,
    );
    if (a.kind !== "answer") throw new Error(a.kind);
    expect(parseCredentials(a.authorization).qop).toBeUndefined();
    expect(reuseChallenge("bob", a.cache, target)).toBeUndefined();
  });

  it("AKA: RES as the password; stale SQN → auts with an empty password; bad MAC → refuse", () => {
    const v = akaVector({ k: K, opc: OPC }, SQN, AMF, RAND);
    const ch = formatChallenge({
      realm: REALM,
      nonce: akaNonce(v.rand, v.autn),
      algorithm: "AKAv1-MD5",
      qop: ["auth"],
    });
    const creds = { impi: "bob@ims.example.com", realm: REALM, aka: { k: K, opc: OPC, sqnMs: SQN - 32 } };
    const ok = answerChallenge(creds, [ch], target);
    expect(ok).toMatchObject({ kind: "answer", scheme: "aka", sqn: SQN });
    if (ok.kind !== "answer") return;
    const c = parseCredentials(ok.authorization);
    const md5 = digestAlgorithm("AKAv1-MD5");
    if (!md5) throw new Error("alg");
    expect(c.response).toBe(
      digestResponse({
        algorithm: md5,
        ha1: digestHa1(md5, "bob@ims.example.com", REALM, v.xres),
        method: "REGISTER",
        uri: target.uri,
        nonce: c.nonce,
        qop: "auth",
        nc: "00000001",
        cnonce: c.cnonce,
      }),
    );
    const resync = answerChallenge({ ...creds, aka: { k: K, opc: OPC, sqnMs: SQN } }, [ch], target);
    expect(resync.kind).toBe("resync");
    if (resync.kind !== "resync") return;
    const rc = parseCredentials(resync.authorization);
    expect(akaResync({ k: K, opc: OPC }, RAND, new Uint8Array(Buffer.from(rc.auts ?? "", "base64")))).toBe(SQN);
    expect(rc.response).toBe(
      digestResponse({
        algorithm: md5,
        ha1: digestHa1(md5, "bob@ims.example.com", REALM, new Uint8Array(0)),
        method: "REGISTER",
        uri: target.uri,
        nonce: rc.nonce,
        qop: "auth",
        nc: "00000001",
        cnonce: rc.cnonce,
      }),
    );
    const wrongK = answerChallenge({ ...creds, aka: { k: OPC, opc: OPC, sqnMs: SQN - 32 } }, [ch], target);
    expect(wrongK).toMatchObject({ kind: "refuse", code: "E_AUTH_MAC" });
  });
});
