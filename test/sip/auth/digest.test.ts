import { describe, expect, it } from "vitest";
import {
  digestAlgorithm,
  digestEquals,
  digestHa1,
  digestResponse,
  digestRspauth,
  formatAuthenticationInfo,
  formatChallenge,
  formatCredentials,
  parseAuthenticationInfo,
  parseChallenge,
  parseCredentials,
} from "../../../src/sip/auth/index.ts";

const alg = (n: string) => {
  const a = digestAlgorithm(n);
  if (!a) throw new Error(`no ${n}`);
  return a;
};

describe("Digest response (RFC 7616 §3.4, RFC 2617)", () => {
  // RFC 7616 §3.9.1: the same request answered with SHA-256 and with MD5
  const base = {
    method: "GET",
    uri: "/dir/index.html",
    nonce: "7ypf/xlj9XXwfDPEoM4URrv/xwf94BcCAzFZH4GiTo0v",
    qop: "auth",
    nc: "00000001",
    cnonce: "f2/wE4q74E6zIJEtWaHKaf5wv/H5QzzpXusqGemxURZJ",
  };
  it("RFC 7616 §3.9.1 example, SHA-256", () => {
    const a = alg("SHA-256");
    const ha1 = digestHa1(a, "Mufasa", "http-auth@example.org", "Circle of Life");
    expect(digestResponse({ ...base, algorithm: a, ha1 })).toBe(
      "753927fa0e85d155564e2e272a28d1802ca10daf4496794697cf8db5856cb6c1",
    );
  });
  it("RFC 7616 §3.9.1 example, MD5", () => {
    const a = alg("MD5");
    const ha1 = digestHa1(a, "Mufasa", "http-auth@example.org", "Circle of Life");
    expect(digestResponse({ ...base, algorithm: a, ha1 })).toBe("8ca523f5e9506fed4657c9700eebdbec");
  });
  it("RFC 2617 §3.5 example (MD5, qop=auth)", () => {
    const a = alg("md5");
    const ha1 = digestHa1(a, "Mufasa", "testrealm@host.com", "Circle Of Life");
    const r = digestResponse({
      algorithm: a,
      ha1,
      method: "GET",
      uri: "/dir/index.html",
      nonce: "dcd98b7102dd2f0e8b11d0f600bfb0c093",
      qop: "auth",
      nc: "00000001",
      cnonce: "0a4f113b",
    });
    expect(r).toBe("6629fae49393a05397450978507c4ef1");
  });
  it("no qop (RFC 2617 §3.2.2.1): KD(HA1, nonce:HA2); -sess needs a cnonce; auth-int is refused", () => {
    const a = alg("MD5");
    const ha1 = digestHa1(a, "u", "r", "p");
    const r = digestResponse({ algorithm: a, ha1, method: "REGISTER", uri: "sip:r", nonce: "n" });
    expect(r).toMatch(/^[0-9a-f]{32}$/);
    expect(r).not.toBe(digestResponse({ algorithm: a, ha1, method: "REGISTER", uri: "sip:r", nonce: "m" }));
    expect(() =>
      digestResponse({ algorithm: alg("MD5-sess"), ha1, method: "REGISTER", uri: "sip:r", nonce: "n" }),
    ).toThrow(expect.objectContaining({ code: "E_AUTH_ALGORITHM" }));
    expect(() =>
      digestResponse({
        algorithm: a,
        ha1,
        method: "REGISTER",
        uri: "sip:r",
        nonce: "n",
        qop: "auth-int",
        nc: "00000001",
        cnonce: "c",
      }),
    ).toThrow(expect.objectContaining({ code: "E_AUTH_ALGORITHM" }));
    const s = digestResponse({
      algorithm: alg("SHA-512-256-sess"),
      ha1: digestHa1(alg("SHA-512-256"), "u", "r", "p"),
      method: "REGISTER",
      uri: "sip:r",
      nonce: "n",
      qop: "auth",
      nc: "00000001",
      cnonce: "c",
    });
    expect(s).toMatch(/^[0-9a-f]{64}$/);
    expect(
      digestRspauth({
        algorithm: a,
        ha1,
        uri: "sip:r",
        method: "REGISTER",
        nonce: "n",
        qop: "auth",
        nc: "00000001",
        cnonce: "c",
      }),
    ).not.toBe(
      digestResponse({
        algorithm: a,
        ha1,
        uri: "sip:r",
        method: "REGISTER",
        nonce: "n",
        qop: "auth",
        nc: "00000001",
        cnonce: "c",
      }),
    );
  });
  it("algorithm tokens are case-insensitive; unknown ones are undefined; absent is MD5", () => {
    expect(digestAlgorithm("sha-256")?.name).toBe("SHA-256");
    expect(digestAlgorithm(undefined)?.name).toBe("MD5");
    expect(digestAlgorithm("akav1-md5")?.aka).toBe(true);
    expect(digestAlgorithm("SHA-1")).toBeUndefined();
  });
  it("constant-time compare: equal, different, different length, case-insensitive", () => {
    expect(digestEquals("abcd", "ABCD")).toBe(true);
    expect(digestEquals("abcd", "abce")).toBe(false);
    expect(digestEquals("abcd", "abc")).toBe(false);
  });
});

describe("Digest header codec (RFC 7616 §3.3-§3.5, RFC 3261 §25.1)", () => {
  it("formats a challenge with the RFC 7616 §3.3 quoting and parses it back", () => {
    const v = formatChallenge({
      realm: 'ims "x"',
      nonce: "n0/+=",
      algorithm: "SHA-256",
      qop: ["auth"],
      stale: true,
      opaque: "o",
    });
    expect(v).toBe('Digest realm="ims \\"x\\"", nonce="n0/+=", opaque="o", stale=true, algorithm=SHA-256, qop="auth"');
    const c = parseChallenge(v);
    expect(c).toMatchObject({
      realm: 'ims "x"',
      nonce: "n0/+=",
      algorithm: "SHA-256",
      qop: ["auth"],
      stale: true,
      opaque: "o",
    });
  });
  it("parses what deployed clients send: quoted tokens, bare qop, odd spacing, scheme case", () => {
    const c = parseCredentials(
      'digest username="bob@ims.example.com",realm="ims.example.com" ,nonce="abc", uri="sip:ims.example.com",response="0123",algorithm="MD5", qop="auth", nc=00000001, cnonce="x"',
    );
    expect(c).toMatchObject({
      username: "bob@ims.example.com",
      algorithm: "MD5",
      qop: "auth",
      nc: "00000001",
      cnonce: "x",
    });
    const p = parseChallenge('Digest realm="r", nonce="n", qop="auth,auth-int"');
    expect(p.qop).toEqual(["auth", "auth-int"]);
    expect(p.algorithm).toBeUndefined();
  });
  it("credentials round-trip, with auts (RFC 3310 §3.4) quoted and nc/qop/algorithm as tokens (RFC 7616 §3.4)", () => {
    const v = formatCredentials({
      username: "bob",
      realm: "r",
      nonce: "n",
      uri: "sip:r",
      response: "00",
      algorithm: "AKAv1-MD5",
      cnonce: "c",
      qop: "auth",
      nc: "0000000a",
      auts: "AAAA",
    });
    expect(v).toBe(
      'Digest username="bob", realm="r", nonce="n", uri="sip:r", response="00", algorithm=AKAv1-MD5, cnonce="c", qop=auth, nc=0000000a, auts="AAAA"',
    );
    expect(parseCredentials(v)).toMatchObject({ auts: "AAAA", nc: "0000000a" });
  });
  it("an initial IMS REGISTER's Authorization (empty nonce and response, TS 24.229 §5.1.1.2.1) parses", () => {
    const c = parseCredentials('Digest username="bob@x", realm="x", nonce="", uri="sip:x", response=""');
    expect(c.nonce).toBe("");
    expect(c.response).toBe("");
  });
  it("Authentication-Info round-trip", () => {
    const v = formatAuthenticationInfo({ qop: "auth", rspauth: "ab", cnonce: "c", nc: "00000001", nextnonce: "nn" });
    expect(v).toBe('nextnonce="nn", qop=auth, rspauth="ab", cnonce="c", nc=00000001');
    expect(parseAuthenticationInfo(v)).toEqual({
      nextnonce: "nn",
      qop: "auth",
      rspauth: "ab",
      cnonce: "c",
      nc: "00000001",
    });
  });
  it.each([
    ['Basic realm="r"', "not Digest"],
    ['Digest realm="r"', "missing"],
    ['Digest realm="r", nonce="n', "unterminated"],
    ['Digest realm="r", realm="s", nonce="n"', "repeated"],
    ['Digest realm="r" nonce="n"', "expected ','"],
    ["Digest realm=a b", "expected ','"],
    ['Digest realm="r", nonce="n", qop=a"b', "neither"],
  ])("refuses %s with E_AUTH_HEADER (%s)", (v, msg) => {
    expect(() => parseChallenge(v)).toThrow(
      expect.objectContaining({ code: "E_AUTH_HEADER", message: expect.stringContaining(msg) }),
    );
  });
  it("refuses a bad nc and qop without cnonce (RFC 7616 §3.4)", () => {
    const base = 'Digest username="u", realm="r", nonce="n", uri="sip:r", response="0"';
    expect(() => parseCredentials(`${base}, qop=auth, nc=1, cnonce="c"`)).toThrow(
      expect.objectContaining({ code: "E_AUTH_HEADER" }),
    );
    expect(() => parseCredentials(`${base}, qop=auth, nc=00000001`)).toThrow(
      expect.objectContaining({ code: "E_AUTH_HEADER" }),
    );
  });
});
