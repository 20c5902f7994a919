/**
 * One fingerprint vocabulary across the public entries: the peer-certificate check and the certificate digest are
 * exported by imsdc/security only, and no entry exports a name that means something else in another entry (or
 * shadows a name of a module it re-exports with `export *`).
 */
import { describe, expect, it } from "vitest";
import * as agw from "../../src/ims/agw/index.ts";
import * as sdp from "../../src/sdp/index.ts";
import * as security from "../../src/security/index.ts";
import * as e2ae from "../../src/ue/e2ae/index.ts";
import * as ue from "../../src/ue/index.ts";

const ENTRIES: Record<string, Record<string, unknown>> = { agw, sdp, security, ue };

describe("public entries", () => {
  it("verifyPeerCertificate and fingerprintOf are exported by imsdc/security only", () => {
    expect(typeof security.verifyPeerCertificate).toBe("function");
    expect(typeof security.fingerprintOf).toBe("function");
    for (const name of ["verifyPeerCertificate", "fingerprintOf", "derFingerprint", "fingerprintOfDer"]) {
      const where = Object.entries(ENTRIES)
        .filter(([, m]) => name in m)
        .map(([e]) => e);
      expect(where, name).toEqual(name.startsWith("verify") || name === "fingerprintOf" ? ["security"] : []);
    }
  });

  it("a name exported by several entries is the same value in each", () => {
    const seen = new Map<string, { entry: string; value: unknown }>();
    const clashes: string[] = [];
    for (const [entry, m] of Object.entries(ENTRIES)) {
      for (const [name, value] of Object.entries(m)) {
        const first = seen.get(name);
        if (!first) seen.set(name, { entry, value });
        else if (first.value !== value) clashes.push(`${name}: ${first.entry} ≠ ${entry}`);
      }
    }
    expect(clashes).toEqual([]);
  });

  it("imsdc/ue does not shadow a name of the e2ae entry it re-exports", () => {
    const ueExports: Record<string, unknown> = ue;
    const shadowed = Object.entries(e2ae)
      .filter(([name, value]) => ueExports[name] !== value)
      .map(([name]) => name);
    expect(shadowed).toEqual([]);
  });

  it("the SDP codec and the certificate digest speak the same Fingerprint", () => {
    const c = security.generateSessionCertificate();
    expect(c.fingerprint).toEqual(security.fingerprintOf(c.der));
    expect(sdp.parseFingerprint(sdp.formatFingerprint(c.fingerprint)).value).toEqual(c.fingerprint);
    const v = security.verifyPeerCertificate(c.der, [c.fingerprint]);
    expect(v).toMatchObject({ verified: true, outcome: "verified", hash: "sha-256", presented: c.fingerprint });
  });
});
