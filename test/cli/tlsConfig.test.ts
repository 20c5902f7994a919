/**
 * The `tls` blocks of the node configs (src/cli/tlsConfig.ts): validation (paths, pins, requireTls only on the access
 * side, a UE on TLS needs a block), the bind rule (only mutual TLS as the only listener lifts the loopback rule:
 * binds.ts), PEM loading, and `imsdc scscf | pcscf | ue` running apart with every SIP hop over TLS.
 */
import { mkdtempSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { describe, expect, it } from "vitest";
import { validatePcscfConfig, validateScscfConfig, validateUeConfig } from "../../src/cli/config.ts";
import { EXIT, main } from "../../src/cli/main.ts";
import { loadSipTls } from "../../src/cli/tlsConfig.ts";
import { pinOfCertificate } from "../../src/ims/agw/iqTls.ts";
import { createLocalCa } from "../../src/security/localCa.ts";
import { memoryIo, readyLine } from "./helpers.ts";

const dir = mkdtempSync(join(tmpdir(), "imsdc-siptls-"));
const ca = createLocalCa();
writeFileSync(join(dir, "ca.pem"), ca.certPem);
for (const n of ["scscf", "pcscf-a", "pcscf-b", "alice", "bob"]) {
  const c = ca.issue(n);
  writeFileSync(join(dir, `${n}.pem`), c.certPem);
  writeFileSync(join(dir, `${n}.key`), c.keyPem, { mode: 0o600 });
}
const file = join(dir, "x.json");
const cfg = (name: string, v: unknown) => {
  const p = join(dir, `${name}.json`);
  writeFileSync(p, JSON.stringify(v));
  return p;
};
const block = (n: string, extra: Record<string, unknown> = {}) => ({
  cert: `${n}.pem`,
  key: `${n}.key`,
  ca: ["ca.pem"],
  ...extra,
});

describe("SIP tls config blocks", () => {
  it("validates and loads a block: paths relative to the config file, pins checked", () => {
    const c = validateScscfConfig({ auth: false, tls: { port: 0, ...block("scscf") } }, file);
    expect(c.tls?.cert).toBe(join(dir, "scscf.pem"));
    const o = loadSipTls(c.tls!);
    expect(o.tls).toBe(0);
    expect(o.tlsConfig.ca).toEqual([ca.certPem]);
    const pin = `sha-256 ${pinOfCertificate(ca.issue("p").certPem).value}`;
    expect(
      loadSipTls(validateScscfConfig({ auth: false, tls: { port: 0, ...block("scscf"), pins: [pin] } }, file).tls!)
        .tlsConfig.pins,
    ).toHaveLength(1);
    expect(() =>
      validateScscfConfig({ auth: false, tls: { port: 0, ...block("scscf"), pins: ["sha-1 AB:CD"] } }, file),
    ).toThrow(/pins\[0\]/);
    expect(() => validateScscfConfig({ auth: false, tls: { port: 0, cert: "x.pem" } }, file)).toThrow(/tls\.key/);
    expect(() =>
      loadSipTls(validateScscfConfig({ auth: false, tls: { port: 0, cert: "nope.pem", key: "nope.key" } }, file).tls!),
    ).toThrow(/cannot read/);
  });

  it("requireTls only on the access side; a UE on TLS needs a tls block", () => {
    expect(
      validatePcscfConfig(
        { name: "p", scscf: "sip:127.0.0.1;lr", access: { tls: { port: 0, requireTls: true, ...block("pcscf-a") } } },
        file,
      ).access.tls?.requireTls,
    ).toBe(true);
    expect(() =>
      validatePcscfConfig(
        {
          name: "p",
          scscf: "sip:127.0.0.1;lr",
          access: { udp: 0 },
          core: { tls: { port: 0, requireTls: true, ...block("pcscf-a") } },
        },
        file,
      ),
    ).toThrow(/core\.tls\.requireTls/);
    expect(() =>
      validateUeConfig({ aor: "sip:a@x", outboundProxy: "sip:127.0.0.1;transport=tls", transport: "TLS" }, file),
    ).toThrow(/needs a tls block/);
  });

  it("bind rule: TLS alone stays loopback-only; mutual TLS as the only listener may bind a wildcard", () => {
    expect(() =>
      validateScscfConfig({ host: "0.0.0.0", auth: false, tls: { port: 0, ...block("scscf") } }, file),
    ).toThrow(/no authentication/);
    expect(() =>
      validateScscfConfig(
        { host: "0.0.0.0", udp: 0, auth: false, tls: { port: 0, ...block("scscf"), requireClientCert: true } },
        file,
      ),
    ).toThrow(/no authentication/);
    expect(
      validateScscfConfig(
        { host: "0.0.0.0", auth: false, tls: { port: 0, ...block("scscf"), requireClientCert: true } },
        file,
      ).host,
    ).toBe("0.0.0.0");
  });

  it("imsdc scscf | pcscf | ue over TLS: registration and a verified data channel call, exit 0", {
    timeout: 40_000,
  }, async () => {
    const quiet = ["--json", "--quiet"];
    const sIo = memoryIo();
    const scscf = main(
      [
        "scscf",
        "--config",
        cfg("scscf", {
          tls: { port: 0, ...block("scscf") },
          domains: ["ims.example.com"],
          auth: false,
          trustedPcscfs: ["127.0.0.1"],
        }),
        ...quiet,
      ],
      sIo,
    );
    const scscfUri = String((await readyLine(sIo)).uri);
    expect(scscfUri).toMatch(/;transport=tls/);
    const pc = async (name: string) => {
      const io = memoryIo();
      const p = main(
        [
          "pcscf",
          "--config",
          cfg(name, {
            name,
            access: { tls: { port: 0, requireTls: true, ...block(name) } },
            core: { tls: { port: 0, ...block(name) } },
            scscf: scscfUri,
          }),
          ...quiet,
        ],
        io,
      );
      return { io, p, ready: await readyLine(io) };
    };
    const a = await pc("pcscf-a");
    const b = await pc("pcscf-b");
    const bobIo = memoryIo();
    const bob = main(
      [
        "ue",
        "--config",
        cfg("bob", {
          aor: "sip:bob@ims.example.com",
          transport: "TLS",
          tls: block("bob"),
          outboundProxy: String(b.ready.uriTLS),
          echoPrefix: "echo: ",
        }),
        ...quiet,
      ],
      bobIo,
    );
    await readyLine(bobIo);
    const alice = await main(
      [
        "ue",
        "--config",
        cfg("alice", {
          aor: "sip:alice@ims.example.com",
          transport: "TLS",
          tls: block("alice"),
          outboundProxy: String(a.ready.uriTLS),
          dc: { channels: [{ id: 1000, label: "chat", subprotocol: "msrp" }] },
          call: "sip:bob@ims.example.com",
          send: ["hello bob"],
          hangupAfterMs: 200,
          exitAfterCall: true,
        }),
        ...quiet,
      ],
      memoryIo(),
    );
    for (const io of [bobIo, b.io, a.io, sIo]) io.stop();
    const codes = await Promise.all([bob, b.p, a.p, scscf]);
    expect(alice).toBe(EXIT.OK);
    expect(codes).toEqual([0, 0, 0, 0]);
  });
});
