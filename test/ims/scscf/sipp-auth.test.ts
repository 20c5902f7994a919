/**
 * Interop: sipp (Debian sip-tester) registers with HTTP Digest through the P-CSCF to the auth-enabled S-CSCF, the
 * way a lab engineer would (test/fixtures/sipp/register_digest.xml: 401, then sipp's [authentication] keyword with
 * MD5 and qop=auth). Skipped loudly without sipp. A wrong password is refused: sipp fails and no binding exists.
 */
import { mkdtempSync, readFileSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterEach, describe, expect, it } from "vitest";
import { Pcscf } from "../../../src/ims/pcscf/index.ts";
import { MemorySubscriberStore, Scscf } from "../../../src/ims/scscf/index.ts";
import { AuditLog } from "../../../src/log.ts";
import { runSipp, SIPP, stopAllSipp, warnWithoutSipp } from "../../sipp.ts";

const FIXTURE = join(import.meta.dirname, "../../fixtures/sipp/register_digest.xml");
const DOMAIN = "ims.example.com";

warnWithoutSipp("sipp Digest REGISTER test");

const dirs: string[] = [];
const closers: (() => Promise<void>)[] = [];
afterEach(async () => {
  await stopAllSipp();
  for (const c of closers.splice(0).reverse()) await c();
  for (const d of dirs.splice(0)) rmSync(d, { recursive: true, force: true });
});

async function network(password: string) {
  const audit = new AuditLog({ max: 500 });
  const store = new MemorySubscriberStore([{ impi: `alice@${DOMAIN}`, impus: [`sip:alice@${DOMAIN}`], password }]);
  // sipp's [authentication] computes MD5 (RFC 2617 / RFC 7616 §3.4); RFC 7616 §3.7: offer what the client can do
  const scscf = new Scscf({ tcp: 0, domains: [DOMAIN], audit, auth: { store, digestAlgorithms: ["MD5"] } });
  await scscf.start();
  closers.push(() => scscf.close());
  const pcscf = new Pcscf({ name: "pcscf-sipp", access: { udp: 0 }, core: { tcp: 0 }, scscf: scscf.uri("TCP"), audit });
  await pcscf.start();
  closers.push(() => pcscf.close());
  return { scscf, pcscf, audit, port: pcscf.address("access", "UDP")?.port ?? 0 };
}

async function run(password: string) {
  const dir = mkdtempSync(join(tmpdir(), "imsdc-sipp-auth-"));
  dirs.push(dir);
  const { scscf, audit, port } = await network(password);
  const stat = join(dir, "reg.csv");
  const code = await runSipp(
    [
      "-sf",
      FIXTURE,
      "-t",
      "u1",
      "-m",
      "1",
      "-auth_uri",
      DOMAIN,
      "-trace_stat",
      "-stf",
      stat,
      "-fd",
      "1",
      `127.0.0.1:${port}`,
    ],
    dir,
  );
  const lines = readFileSync(stat, "utf8").trim().split("\n");
  const head = (lines[0] ?? "").split(";");
  const last = (lines[lines.length - 1] ?? "").split(";");
  return { code, scscf, audit, get: (k: string) => last[head.indexOf(k)] };
}

describe.skipIf(!SIPP)("sipp REGISTER with Digest → P-CSCF → S-CSCF", () => {
  it("401, then sipp's [authentication] answer (MD5, qop=auth) → 200; alice bound, auth-ok audited", async () => {
    const r = await run("lab-only-alice-pw");
    expect(r.get("SuccessfulCall(C)")).toBe("1");
    expect(r.code).toBe(0);
    expect(r.scscf.location.lookup(`sip:alice@${DOMAIN}`)).toHaveLength(1);
    expect(r.audit.events.find((e) => e.decision === "auth-ok")).toMatchObject({ scheme: "digest" });
  }, 30_000);

  it("the S-CSCF holds another password: sipp's answer is refused, no binding", async () => {
    const r = await run("a-different-password");
    expect(r.get("SuccessfulCall(C)")).toBe("0");
    expect(r.code).not.toBe(0);
    expect(r.scscf.location.lookup(`sip:alice@${DOMAIN}`)).toHaveLength(0);
    expect(r.audit.events.some((e) => e.decision === "auth-failed")).toBe(true);
  }, 30_000);
});
