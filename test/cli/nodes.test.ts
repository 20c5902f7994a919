/**
 * The per-node commands wired like separate processes (in-process here for speed; the configs chain through the
 * "ready" lines, as a script would): imsdc agw → scscf → pcscf A and B (Iq over WSS to the AGW, mutual TLS with
 * certificates generated here and pinned both ways) → ue bob
 * (echo) → ue alice (calls bob, sends, hangs up, exits 0). Every command stops cleanly with exit 0.
 * Also: `imsdc demo` and `imsdc scscf` as child processes stop on SIGINT / SIGTERM with exit 0, and the library
 * example examples/echo-ue.ts answers and echoes.
 */
import { type ChildProcess, spawn } from "node:child_process";
import { mkdtempSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import { afterEach, describe, expect, it } from "vitest";
import { EXIT, main } from "../../src/cli/main.ts";
import { EmbeddedNetwork } from "../../src/demo/network.ts";
import { generateSessionCertificate } from "../../src/security/certificate.ts";
import { memoryIo, readyLine } from "./helpers.ts";

const ROOT = fileURLToPath(new URL("../../", import.meta.url));
const dir = mkdtempSync(join(tmpdir(), "imsdc-nodes-"));
const cfg = (name: string, v: unknown) => {
  const p = join(dir, `${name}.json`);
  writeFileSync(p, JSON.stringify(v));
  return p;
};

/** Iq credentials (docs/agw.md "Iq security"): PEM files beside the configs, referenced relative to them. */
for (const name of ["agw", "pcscf-a", "pcscf-b"]) {
  const c = generateSessionCertificate({ commonName: `iq-${name}` });
  writeFileSync(join(dir, `${name}.crt`), c.certPem);
  writeFileSync(join(dir, `${name}.key`), c.keyPem, { mode: 0o600 });
}

const children: ChildProcess[] = [];
afterEach(() => {
  for (const c of children.splice(0)) if (c.exitCode === null) c.kill("SIGKILL");
});

function spawnImsdc(args: string[]): { child: ChildProcess; out: () => string } {
  const child = spawn(process.execPath, ["--import", "tsx", "src/cli/bin.ts", ...args], {
    cwd: ROOT,
    stdio: ["ignore", "pipe", "pipe"],
  });
  children.push(child);
  let out = "";
  child.stdout?.on("data", (d: Buffer) => {
    out += d.toString();
  });
  child.stderr?.on("data", (d: Buffer) => {
    out += d.toString();
  });
  return { child, out: () => out };
}

async function until(pred: () => boolean, ms: number, what: string): Promise<void> {
  const start = Date.now();
  while (!pred()) {
    if (Date.now() - start > ms) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 25));
  }
}

function exitOf(child: ChildProcess, ms: number): Promise<number | null> {
  return new Promise((resolve, reject) => {
    if (child.exitCode !== null) return resolve(child.exitCode);
    const t = setTimeout(() => reject(new Error(`no exit within ${ms} ms`)), ms);
    child.once("exit", (code) => {
      clearTimeout(t);
      resolve(code);
    });
  });
}

describe("imsdc agw | scscf | pcscf | ue", () => {
  it("the nodes run apart and carry an e2e data channel call; each stops with exit 0", {
    retry: 2,
    timeout: 40_000,
  }, async () => {
    const quiet = ["--json", "--quiet"];
    const agwIo = memoryIo();
    const agwConfig = {
      iq: {
        host: "127.0.0.1",
        port: 0,
        tls: {
          cert: "agw.crt",
          key: "agw.key",
          controllers: [
            { name: "pcscf-a", cert: "pcscf-a.crt" },
            { name: "pcscf-b", cert: "pcscf-b.crt" },
          ],
        },
      },
    };
    const agw = main(["agw", "--config", cfg("agw", agwConfig), ...quiet], agwIo);
    const iqUrl = String((await readyLine(agwIo)).iq);
    expect(iqUrl).toMatch(/^wss:\/\/127\.0\.0\.1:\d+\/$/);
    const sIo = memoryIo();
    const scscf = main(
      [
        "scscf",
        "--config",
        cfg("scscf", { tcp: 0, domains: ["ims.example.com"], auth: false, trustedPcscfs: ["127.0.0.1"] }),
        ...quiet,
      ],
      sIo,
    );
    const scscfUri = String((await readyLine(sIo)).uri);
    const pc = async (name: string) => {
      const io = memoryIo();
      const p = main(
        [
          "pcscf",
          "--config",
          cfg(name, {
            name,
            access: { udp: 0, tcp: 0 },
            core: { tcp: 0 },
            scscf: scscfUri,
            agw: { url: iqUrl, tls: { cert: `${name}.crt`, key: `${name}.key`, agwCert: "agw.crt" } },
          }),
          ...quiet,
        ],
        io,
      );
      return { io, p, ready: await readyLine(io) };
    };
    const a = await pc("pcscf-a");
    const b = await pc("pcscf-b");
    expect(a.ready.agw).toBe(iqUrl);
    const bobIo = memoryIo();
    const bob = main(
      [
        "ue",
        "--config",
        cfg("bob", { aor: "sip:bob@ims.example.com", outboundProxy: String(b.ready.uriUDP), echoPrefix: "echo: " }),
        ...quiet,
      ],
      bobIo,
    );
    await readyLine(bobIo);
    const aliceIo = memoryIo();
    const alice = await main(
      [
        "ue",
        "--config",
        cfg("alice", {
          aor: "sip:alice@ims.example.com",
          transport: "TCP",
          outboundProxy: String(a.ready.uriTCP),
          dc: { channels: [{ id: 1000, label: "chat", subprotocol: "msrp" }] },
          call: "sip:bob@ims.example.com",
          send: ["hello bob"],
          hangupAfterMs: 200,
          exitAfterCall: true,
        }),
        ...quiet,
      ],
      aliceIo,
    );
    for (const io of [bobIo, b.io, a.io, sIo, agwIo]) io.stop();
    const codes = await Promise.all([bob, b.p, a.p, scscf, agw]);
    expect(alice).toBe(EXIT.OK);
    expect(codes).toEqual([0, 0, 0, 0, 0]);
  });

  it("imsdc scscf stops on SIGTERM and imsdc demo on SIGINT, exit 0", { timeout: 30_000 }, async () => {
    const s = spawnImsdc(["scscf", "--config", cfg("s2", { tcp: 0, udp: 0, auth: false }), "--json", "--quiet"]);
    await until(() => s.out().includes('"event":"ready"'), 15_000, "scscf ready");
    s.child.kill("SIGTERM");
    expect(await exitOf(s.child, 5_000)).toBe(0);

    const d = spawnImsdc(["demo", "--port", "0", "--sip-ws-port", "0", "--json", "--quiet"]);
    await until(() => d.out().includes('"event":"ready"'), 20_000, "demo ready");
    const ready = JSON.parse(
      d
        .out()
        .split("\n")
        .find((l) => l.includes('"event":"ready"')) ?? "{}",
    ) as { url: string };
    const page = await fetch(ready.url);
    expect(page.status).toBe(200);
    expect(await page.text()).toContain("imsdc");
    const config = (await (await fetch(`${ready.url}api/config`)).json()) as { sipWsUrl: string; peer: string };
    expect(config.sipWsUrl).toMatch(/^ws:\/\/127\.0\.0\.1:\d+\/$/);
    expect(config.peer).toBe("sip:bob@ims.example.com");
    d.child.kill("SIGINT");
    expect(await exitOf(d.child, 8_000)).toBe(0);
    expect(d.out()).toContain('"event":"stopped","reason":"SIGINT"');
  });
});

describe("library example", () => {
  it("examples/echo-ue.ts registers, answers and echoes; SIGINT closes it", { retry: 2, timeout: 40_000 }, async () => {
    // registration authentication on: bob registers with Digest (its generated lab password through the environment)
    const net = await EmbeddedNetwork.start({ authSchemes: { bob: "digest" } });
    try {
      const bobCreds = net.credentials("bob");
      const child = spawn(
        process.execPath,
        [
          "--import",
          "tsx",
          "examples/echo-ue.ts",
          "--proxy",
          net.pcscfUri("B", "UDP"),
          "--prefix",
          "echo: ",
          "--impi",
          bobCreds?.impi ?? "",
        ],
        {
          cwd: ROOT,
          stdio: ["ignore", "pipe", "pipe"],
          env: { ...process.env, IMSDC_PASSWORD: bobCreds?.password ?? "" },
        },
      );
      children.push(child);
      let out = "";
      child.stdout.on("data", (d: Buffer) => {
        out += d.toString();
      });
      await until(() => out.includes("registered sip:bob@ims.example.com"), 15_000, "echo-ue registration");
      const alice = await net.addUe("ueA", "alice", {
        transport: "TCP",
        dc: { channels: [{ id: 1000, label: "chat", subprotocol: "msrp" }] },
      });
      const call = await alice.call("sip:bob@ims.example.com");
      await call.dc.connected();
      const ch = call.dc.channel(1000);
      if (!ch) throw new Error("no channel");
      if (ch.readyState !== "open") await new Promise<void>((r) => ch.once("open", () => r()));
      const echo = new Promise<string>((r) => ch.once("message", (m) => r(String(m))));
      ch.send("ping");
      expect(await echo).toBe("echo: ping");
      expect(out).toContain("peer verified");
      await call.hangup();
      child.kill("SIGINT");
      expect(await exitOf(child, 8_000)).toBe(0);
    } finally {
      await net.close();
    }
  });
});
