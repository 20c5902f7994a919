/**
 * The lab CA (src/security/localCa.ts): RFC 5280 extensions as the brief asks (basicConstraints cA + keyCertSign on
 * the CA; subjectAltName, serverAuth + clientAuth on node certificates), accepted by OpenSSL's own verifier
 * (`openssl verify -purpose sslserver / sslclient`) and by Node's TLS (a handshake with the CA as the only trust);
 * a certificate from another CA is refused by both.
 */
import { execFileSync } from "node:child_process";
import { X509Certificate } from "node:crypto";
import { mkdtempSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import tls from "node:tls";
import { describe, expect, it } from "vitest";
import { createLocalCa } from "../../src/security/localCa.ts";

function hasOpenssl(): boolean {
  try {
    execFileSync("openssl", ["version"], { stdio: "ignore" });
    return true;
  } catch {
    return false;
  }
}

describe("local CA", () => {
  const ca = createLocalCa({ commonName: "test CA" });
  const node = ca.issue("pcscf");

  it("a CA certificate (cA, keyCertSign) and node certificates with IP and DNS subjectAltNames", () => {
    const c = new X509Certificate(ca.certPem);
    const n = new X509Certificate(node.certPem);
    expect(c.ca).toBe(true);
    expect(n.ca).toBe(false);
    expect(n.checkIssued(c)).toBe(true);
    expect(n.verify(c.publicKey)).toBe(true);
    expect(n.subjectAltName).toContain("IP Address:127.0.0.1");
    expect(n.subjectAltName).toContain("DNS:localhost");
    expect(n.keyUsage).toEqual(expect.arrayContaining(["1.3.6.1.5.5.7.3.1", "1.3.6.1.5.5.7.3.2"]));
    expect(n.publicKey.asymmetricKeyDetails?.namedCurve).toBe("prime256v1");
    expect(n.checkHost("localhost")).toBe("localhost");
    expect(n.checkIP("127.0.0.1")).toBe("127.0.0.1");
    expect(n.checkIP("192.0.2.1")).toBeUndefined();
  });

  it.skipIf(!hasOpenssl())(
    "openssl verify accepts node certificates for TLS server and client use, and refuses another CA's",
    () => {
      const dir = mkdtempSync(join(tmpdir(), "imsdc-ca-"));
      writeFileSync(join(dir, "ca.pem"), ca.certPem);
      writeFileSync(join(dir, "node.pem"), node.certPem);
      writeFileSync(join(dir, "other.pem"), createLocalCa().issue("x").certPem);
      const text = execFileSync("openssl", ["x509", "-in", join(dir, "ca.pem"), "-noout", "-text"]).toString();
      expect(text).toMatch(/CA:TRUE/);
      expect(text).toMatch(/Certificate Sign/);
      for (const purpose of ["sslserver", "sslclient"]) {
        const out = execFileSync("openssl", [
          "verify",
          "-CAfile",
          join(dir, "ca.pem"),
          "-purpose",
          purpose,
          join(dir, "node.pem"),
        ]);
        expect(out.toString()).toMatch(/node\.pem: OK/);
      }
      expect(() =>
        execFileSync("openssl", ["verify", "-CAfile", join(dir, "ca.pem"), join(dir, "other.pem")], { stdio: "pipe" }),
      ).toThrow();
    },
  );

  it("Node's TLS completes a verified handshake with the CA as the only trust anchor", async () => {
    const server = tls.createServer({ cert: node.certPem, key: node.keyPem, minVersion: "TLSv1.2" }, (s) =>
      s.end("ok"),
    );
    await new Promise<void>((r) => server.listen(0, "127.0.0.1", () => r()));
    const port = (server.address() as { port: number }).port;
    try {
      const got = await new Promise<string>((resolve, reject) => {
        const c = tls.connect({ host: "127.0.0.1", port, ca: [ca.certPem] }, () => {
          expect(c.authorized).toBe(true);
        });
        let data = "";
        c.on("data", (d: Buffer) => {
          data += d.toString();
        });
        c.on("end", () => resolve(data));
        c.on("error", reject);
      });
      expect(got).toBe("ok");
    } finally {
      await new Promise<void>((r) => server.close(() => r()));
    }
  });
});
