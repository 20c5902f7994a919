/**
 * Generates the Iq credentials of the example configs (docs/agw.md "Iq security"): one ECDSA P-256 self-signed
 * certificate and PKCS#8 key each for the IMS-AGW and the two P-CSCFs, written to examples/configs/iq/ (git-ignored;
 * keys mode 0600). The configs pin each other by these certificates (`controllers[].cert`, `agw.tls.agwCert`).
 *
 *   node --import tsx examples/configs/iq-credentials.ts [DIR]
 */
import { chmodSync, mkdirSync, writeFileSync } from "node:fs";
import { dirname, join } from "node:path";
import { fileURLToPath } from "node:url";
import { generateSessionCertificate } from "../../src/security/certificate.ts";

const dir = process.argv[2] ?? join(dirname(fileURLToPath(import.meta.url)), "iq");
mkdirSync(dir, { recursive: true });
for (const name of ["agw", "pcscf-a", "pcscf-b"]) {
  const c = generateSessionCertificate({ commonName: `imsdc-iq-${name}`, validityDays: 365 });
  writeFileSync(join(dir, `${name}.crt`), c.certPem);
  writeFileSync(join(dir, `${name}.key`), c.keyPem, { mode: 0o600 });
  chmodSync(join(dir, `${name}.key`), 0o600);
  process.stdout.write(`${name}: ${c.fingerprint.hash} ${c.fingerprint.value}\n`);
}
