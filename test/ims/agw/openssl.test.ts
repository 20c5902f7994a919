/**
 * Interop: `openssl s_client` as the UE, with its own ECDSA P-256 certificate made by `openssl req`, verified by
 * the AGW against the signalled fingerprint; a wrong certificate is refused. Bounded: every openssl run has a
 * coreutils timeout and our own kill timer.
 */
import { execFileSync, spawn } from "node:child_process";
import { mkdtempSync, readFileSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, afterEach, beforeAll, beforeEach, describe, expect, it } from "vitest";
import { ImsAgw } from "../../../src/ims/agw/agw.ts";
import { AuditLog } from "../../../src/log.ts";
import type { Fingerprint } from "../../../src/sdp/index.ts";
import { fingerprintOf } from "../../../src/security/certificate.ts";
import { CorePeer, EventRecorder, LOOPBACK, waitFor } from "./helpers.ts";

function hasOpenssl(): boolean {
  try {
    execFileSync("openssl", ["version"], { stdio: "ignore", timeout: 5000 });
    return true;
  } catch {
    return false;
  }
}

const OPENSSL = hasOpenssl();
if (!OPENSSL) console.warn("\n!!! openssl not found: the s_client interop tests are SKIPPED !!!\n");

let dir = "";
function makeCert(name: string): { cert: string; key: string } {
  const cert = join(dir, `${name}.crt`);
  const key = join(dir, `${name}.key`);
  execFileSync(
    "openssl",
    [
      "req",
      "-x509",
      "-newkey",
      "ec",
      "-pkeyopt",
      "ec_paramgen_curve:prime256v1",
      "-nodes",
      "-keyout",
      key,
      "-out",
      cert,
      "-days",
      "1",
      "-subj",
      `/CN=${name}`,
    ],
    { stdio: "ignore", timeout: 10_000 },
  );
  return { cert, key };
}

interface SClientRun {
  stdout: () => string;
  exited: Promise<number | null>;
  write(s: string): void;
  end(): void;
}

function sClient(port: number, cert: string, key: string): SClientRun {
  const child = spawn(
    "timeout",
    [
      "10",
      "openssl",
      "s_client",
      "-connect",
      `${LOOPBACK}:${port}`,
      "-cert",
      cert,
      "-key",
      key,
      "-quiet",
      "-no_ign_eof",
    ],
    { stdio: ["pipe", "pipe", "pipe"] },
  );
  let out = "";
  child.stdout.on("data", (d: Buffer) => {
    out += d.toString("latin1");
  });
  child.stderr.resume();
  child.stdin.on("error", () => {});
  const killer = setTimeout(() => child.kill("SIGKILL"), 12_000);
  const exited = new Promise<number | null>((r) =>
    child.once("exit", (code) => {
      clearTimeout(killer);
      r(code);
    }),
  );
  return {
    stdout: () => out,
    exited,
    write: (s) => {
      if (child.stdin.writable) child.stdin.write(s);
    },
    end: () => child.stdin.end(),
  };
}

describe.skipIf(!OPENSSL)("openssl s_client as the UE", () => {
  let agw: ImsAgw;
  let audit: AuditLog;
  let rec: EventRecorder;
  let core: CorePeer;

  beforeAll(() => {
    dir = mkdtempSync(join(tmpdir(), "agw-openssl-"));
  });
  afterAll(() => {
    rmSync(dir, { recursive: true, force: true });
  });
  beforeEach(async () => {
    audit = new AuditLog();
    agw = new ImsAgw({ audit });
    rec = new EventRecorder(agw);
    core = await CorePeer.start();
  });
  afterEach(async () => {
    rec.stop();
    await agw.close();
    await core.close();
  });

  async function context(ueFingerprint: Fingerprint) {
    const coreTerm = await agw.reserveAndConfigureAgwConnectionPoint({
      side: "core",
      transport: "TCP/MSRP",
      remote: { address: LOOPBACK, port: core.port, setup: "passive" },
    });
    return agw.reserveAndConfigureAgwConnectionPoint({
      contextId: coreTerm.contextId,
      side: "access",
      transport: "TCP/TLS/MSRP",
      notifyTlsSessionEstablishmentFailureEvent: true,
      remote: { address: LOOPBACK, port: 9, setup: "active", certificateFingerprints: [ueFingerprint] },
    });
  }

  it("an openssl-made UE certificate whose fingerprint was signalled is verified; bytes flow both ways", async () => {
    const ue = makeCert("ue-good");
    const fp = fingerprintOf(readFileSync(ue.cert, "utf8"));
    const access = await context(fp);
    const run = sClient(access.localPort, ue.cert, ue.key);
    run.write("MSRP os1 SEND\r\nTo-Path: msrp://x\r\n-------os1$\r\n");
    await waitFor(() => core.text().includes("-------os1$"), 8000, "s_client data at the core");
    core.socket?.write("MSRP os1 200 OK\r\n-------os1$\r\n");
    await waitFor(() => run.stdout().includes("200 OK"), 8000, "reply at s_client");
    run.end();
    await run.exited;
    const v = audit.events.find((e) => e.decision === "fingerprint-verified");
    expect(v?.presented).toEqual(fp);
  }, 20_000);

  it("an openssl UE with a certificate other than the signalled one is refused; the core gets nothing", async () => {
    const signalled = makeCert("ue-signalled");
    const other = makeCert("ue-other");
    const access = await context(fingerprintOf(readFileSync(signalled.cert, "utf8")));
    const run = sClient(access.localPort, other.cert, other.key);
    run.write("MSRP bad SEND\r\n");
    const f = await rec.next("tlsSessionEstablishmentFailure", access.terminationId, 8000);
    expect(f.reason).toBe("fingerprint-mismatch");
    expect(f.peerCertificateFingerprint).toEqual(fingerprintOf(readFileSync(other.cert, "utf8")));
    run.end();
    await run.exited;
    expect(core.bytes).toBe(0);
    expect(audit.events.filter((e) => e.decision === "fingerprint-mismatch")).toHaveLength(1);
  }, 20_000);
});
