/** src/security/certificate.ts: per-session ECDSA P-256 certificates, self-test, RFC 8122 fingerprints. */
import { createHash, generateKeyPairSync, X509Certificate } from "node:crypto";
import { describe, expect, it } from "vitest";
import { isImsdcError } from "../../src/errors.ts";
import { fingerprintFromBytes, parseFingerprint } from "../../src/sdp/index.ts";
import {
  CERTIFICATE_HASHES,
  fingerprintOf,
  generateSessionCertificate,
  loadSessionCertificate,
} from "../../src/security/certificate.ts";
import { verifyPeerCertificate } from "../../src/security/verify.ts";
import { loadWerift } from "./harness.ts";

/** The signalled fingerprint as the SDP codec reads it (case-insensitive hash name and hex, RFC 8122 §5). */
const signalled = (text: string) => parseFingerprint(text).value;
const matches = (der: Buffer, fp: Parameters<typeof verifyPeerCertificate>[1][number] | undefined): boolean =>
  verifyPeerCertificate(der, fp ? [fp] : [], { hashes: CERTIFICATE_HASHES }).verified;

const expectCode = (fn: () => unknown, code: string): void => {
  try {
    fn();
  } catch (e) {
    expect(isImsdcError(e, code), String(e)).toBe(true);
    return;
  }
  throw new Error(`expected ${code}`);
};

describe("session certificates", () => {
  it("generates a self-signed ECDSA P-256 certificate with a PKCS#8 key", () => {
    const now = new Date("2026-01-01T00:00:00Z");
    const c = generateSessionCertificate({ now, validityDays: 2 });
    const x = new X509Certificate(c.certPem);
    expect(x.publicKey.asymmetricKeyType).toBe("ec");
    expect(x.publicKey.asymmetricKeyDetails?.namedCurve).toBe("prime256v1");
    expect(x.verify(x.publicKey)).toBe(true);
    expect(x.subject).toBe(x.issuer);
    expect(c.keyPem).toContain("-----BEGIN PRIVATE KEY-----");
    expect(c.notBefore.getTime()).toBe(now.getTime() - 3_600_000);
    expect(c.notAfter.getTime() - c.notBefore.getTime()).toBe(2 * 86_400_000);
    expect(generateSessionCertificate().fingerprint.value).not.toBe(c.fingerprint.value);
  });

  it("fingerprints are hashes of the DER in uppercase colon-hex (RFC 8122 §5) and match werift and Node", async () => {
    const c = generateSessionCertificate();
    expect(c.fingerprints.map((f) => f.hash)).toEqual(["sha-256", "sha-384", "sha-512"]);
    for (const [alg, hash, len] of [
      ["sha-256", "sha256", 32],
      ["sha-384", "sha384", 48],
      ["sha-512", "sha512", 64],
    ] as const) {
      const fp = c.fingerprintFor(alg);
      expect(fp.value).toMatch(new RegExp(`^[0-9A-F]{2}(:[0-9A-F]{2}){${len - 1}}$`));
      expect(fp.value).toBe(fingerprintFromBytes(alg, createHash(hash).update(c.der).digest()).value);
      expect(matches(c.der, fp)).toBe(true);
      expect(matches(c.der, signalled(`${alg.toUpperCase()} ${fp.value.toLowerCase()}`))).toBe(true);
    }
    expect(c.fingerprint.value).toBe(new X509Certificate(c.certPem).fingerprint256);
    expect(fingerprintOf(c.certPem)).toEqual(c.fingerprint);
    const w = await loadWerift();
    const rtc = new w.RTCCertificate(c.keyPem, c.certPem, c.signatureHash);
    expect(rtc.getFingerprints()[0]?.value).toBe(c.fingerprint.value);
    expect(matches(generateSessionCertificate().der, c.fingerprint)).toBe(false);
  });

  it("self-test rejects a key that does not belong to the certificate (E_CERT_SELFTEST)", () => {
    const a = generateSessionCertificate();
    const b = generateSessionCertificate();
    expectCode(() => loadSessionCertificate(a.certPem, b.keyPem), "E_CERT_SELFTEST");
    expect(loadSessionCertificate(a.certPem, a.keyPem).fingerprint).toEqual(a.fingerprint);
  });

  it("rejects non-PKCS#8, non-P-256 keys and unparsable certificates", () => {
    const a = generateSessionCertificate();
    const { privateKey } = generateKeyPairSync("ec", { namedCurve: "P-256" });
    const sec1 = privateKey.export({ type: "sec1", format: "pem" }).toString();
    expectCode(() => loadSessionCertificate(a.certPem, sec1), "E_CERT_KEY_FORMAT");
    const p384 = generateKeyPairSync("ec", { namedCurve: "P-384" })
      .privateKey.export({ type: "pkcs8", format: "pem" })
      .toString();
    expectCode(() => loadSessionCertificate(a.certPem, p384), "E_CERT_KEY_FORMAT");
    expectCode(() => loadSessionCertificate("not a certificate", a.keyPem), "E_CERT_PARSE");
  });

  it("validates signalled fingerprints", () => {
    const c = generateSessionCertificate();
    const sha1 = fingerprintOf(c.der, "sha-1");
    expect(matches(c.der, sha1)).toBe(false); // a hash the certificate verifier does not accept
    expect(parseFingerprint("sha-256 AB:CD").problems.map((p) => p.code)).toContain("E_FP_HASH_LEN");
    expect(parseFingerprint("sha-256 ZZ").problems.map((p) => p.code)).toContain("E_FP_SYNTAX");
    expect(signalled(`SHA-256 ${Array(32).fill("0a").join(":")}`)?.value).toBe(Array(32).fill("0A").join(":"));
  });
});
