/**
 * A DTLS peer we did not write, over plain UDP without ICE (RFC 8841 over UDP, TS 24.186 §9.3): OpenSSL's
 * `s_server -dtls1_2` / `s_client -dtls1_2` with a certificate whose fingerprint is signalled. Our side completes the
 * handshake and verifies the fingerprint (RFC 8122 §6), and refuses a certificate that matches no signalled fingerprint
 * (E_FP_MISMATCH, verdict refused). OpenSSL does no SCTP: the association then stops at E_SCTP_TIMEOUT, after the
 * DTLS part this test is about.
 */
import { type ChildProcess, spawn, spawnSync } from "node:child_process";
import { createSocket } from "node:dgram";
import { mkdtemp, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { generateSessionCertificate } from "../../src/security/certificate.ts";
import { identityFromCertificate } from "../../src/ue/dcEndpoint.ts";
import { DcTransport, type RemoteTransportParams, type SecurityVerdict } from "../../src/ue/dcTransport.ts";
import type { UeError } from "../../src/ue/errors.ts";

const hasOpenssl = spawnSync("openssl", ["version"]).status === 0;

let dir = "";
const peer = generateSessionCertificate({ commonName: "openssl-peer" });
const stranger = generateSessionCertificate();

beforeAll(async () => {
  dir = await mkdtemp(join(tmpdir(), "imsdc-openssl-"));
  await writeFile(join(dir, "cert.pem"), peer.certPem);
  await writeFile(join(dir, "key.pem"), peer.keyPem);
});
afterAll(async () => {
  await rm(dir, { recursive: true, force: true });
});

function freePort(): Promise<number> {
  return new Promise((r) => {
    const s = createSocket("udp4");
    s.bind(0, "127.0.0.1", () => {
      const p = s.address().port;
      s.close(() => r(p));
    });
  });
}

/** openssl with stdin held open; resolves once `ready` shows on its output (at once without `ready`). */
function openssl(args: string[], ready?: RegExp): Promise<{ child: ChildProcess; output: () => string }> {
  const child = spawn("openssl", args, { stdio: ["pipe", "pipe", "pipe"] });
  let out = "";
  return new Promise((resolve, reject) => {
    if (!ready) {
      child.stdout?.on("data", (b: Buffer) => {
        out += b.toString("latin1");
      });
      resolve({ child, output: () => out });
      return;
    }
    const t = setTimeout(() => reject(new Error(`openssl not ready: ${out}`)), 5000);
    const on = (b: Buffer) => {
      out += b.toString("latin1");
      if (ready.test(out)) {
        clearTimeout(t);
        resolve({ child, output: () => out });
      }
    };
    child.stdout?.on("data", on);
    child.stderr?.on("data", on);
    child.once("error", reject);
  });
}

function stop(child: ChildProcess): void {
  if (child.exitCode === null && child.pid !== undefined) child.kill("SIGTERM");
}

function remote(port: number, fingerprint: string): RemoteTransportParams {
  return {
    iceUfrag: "",
    icePwd: "",
    iceLite: false,
    candidates: [],
    address: "127.0.0.1",
    port,
    fingerprints: [{ hash: "sha-256", value: fingerprint }],
    sctpPort: 5000,
    maxMessageSize: 65536,
  };
}

async function run(
  t: DcTransport,
  r: RemoteTransportParams,
  dtlsRole: "client" | "server",
): Promise<{ err: UeError | undefined; verdict: SecurityVerdict | undefined }> {
  let verdict: SecurityVerdict | undefined;
  t.on("verdict", (v) => {
    verdict = v;
  });
  const err = await t.connect(r, { iceControlling: true, dtlsRole }).then(
    () => undefined,
    (e: unknown) => e as UeError,
  );
  return { err, verdict };
}

const ours = () =>
  new DcTransport({
    identity: identityFromCertificate(generateSessionCertificate()),
    iceMode: "none",
    timeouts: { dtlsMs: 5000, sctpMs: 800 },
  });

describe.skipIf(!hasOpenssl)("OpenSSL DTLS 1.2 peer over plain UDP (no ICE)", () => {
  it("openssl s_server: handshake completes, its certificate is verified against the signalled fingerprint", async () => {
    const port = await freePort();
    const server = await openssl(
      [
        "s_server",
        "-dtls1_2",
        "-accept",
        `127.0.0.1:${port}`,
        "-cert",
        join(dir, "cert.pem"),
        "-key",
        join(dir, "key.pem"),
        "-verify",
        "1",
      ],
      /ACCEPT/,
    );
    const t = ours();
    try {
      await t.gather();
      const { err, verdict } = await run(t, remote(port, peer.fingerprint.value), "client");
      expect(verdict).toMatchObject({ verified: true, hash: "sha-256", presented: peer.fingerprint.value });
      expect(t.icePlan).toMatchObject({ kind: "direct", reason: "local-none" });
      // the DTLS part is done; openssl does not speak SCTP
      expect(err?.code).toBe("E_SCTP_TIMEOUT");
      // openssl received our certificate (it asked for one)
      expect(server.output()).toMatch(/CIPHER is ECDHE-ECDSA/);
    } finally {
      await t.close();
      stop(server.child);
    }
  });

  it("openssl s_server with a certificate matching no signalled fingerprint: refused, E_FP_MISMATCH", async () => {
    const port = await freePort();
    const server = await openssl(
      [
        "s_server",
        "-dtls1_2",
        "-accept",
        `127.0.0.1:${port}`,
        "-cert",
        join(dir, "cert.pem"),
        "-key",
        join(dir, "key.pem"),
      ],
      /ACCEPT/,
    );
    const t = ours();
    try {
      await t.gather();
      const { err, verdict } = await run(t, remote(port, stranger.fingerprint.value), "client");
      expect(err?.code).toBe("E_FP_MISMATCH");
      expect(verdict).toMatchObject({ verified: false, code: "E_FP_MISMATCH", presented: peer.fingerprint.value });
    } finally {
      await t.close();
      stop(server.child);
    }
  });

  for (const signalled of ["genuine", "stranger"] as const) {
    it(`openssl s_client connects to us (we are DTLS server), ${signalled} fingerprint signalled`, async () => {
      const t = ours();
      const { port } = await t.gather();
      const clientPort = await freePort();
      const client = await openssl([
        "s_client",
        "-dtls1_2",
        "-bind",
        `127.0.0.1:${clientPort}`,
        "-connect",
        `127.0.0.1:${port}`,
        "-cert",
        join(dir, "cert.pem"),
        "-key",
        join(dir, "key.pem"),
      ]);
      try {
        const fp = signalled === "genuine" ? peer.fingerprint.value : stranger.fingerprint.value;
        const { err, verdict } = await run(t, remote(clientPort, fp), "server");
        if (signalled === "genuine") {
          expect(verdict).toMatchObject({ verified: true, presented: peer.fingerprint.value });
          expect(err?.code).toBe("E_SCTP_TIMEOUT");
        } else {
          expect(err?.code).toBe("E_FP_MISMATCH");
          expect(verdict?.verified).toBe(false);
        }
      } finally {
        await t.close();
        stop(client.child);
      }
    });
  }
});
