/**
 * The imsdc command line without the network: dispatch, usage errors, exit codes, option parsing and the typed
 * validation of the per-node JSON configurations (every example config is valid; bad ones exit 2 with every
 * problem listed).
 */
import { mkdtempSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { describe, expect, it } from "vitest";
import { parseArgs } from "../../src/cli/args.ts";
import { validateAgwConfig, validatePcscfConfig, validateUeConfig } from "../../src/cli/config.ts";
import { ConfigError, UsageError } from "../../src/cli/errors.ts";
import { EXIT, main } from "../../src/cli/main.ts";
import { memoryIo } from "./helpers.ts";

const dir = mkdtempSync(join(tmpdir(), "imsdc-cli-"));
function file(name: string, content: string): string {
  const p = join(dir, name);
  writeFileSync(p, content);
  return p;
}

describe("imsdc dispatcher and exit codes", () => {
  it("lists the commands and the exit codes", async () => {
    const io = memoryIo();
    expect(await main(["--help"], io)).toBe(EXIT.OK);
    for (const c of ["demo", "call", "scscf", "pcscf", "agw", "ue", "sdp check"]) expect(io.out()).toContain(c);
    expect(io.out()).toContain("5 not available yet");
  });

  it("unknown command / option / scenario: exit 2 with a message", async () => {
    let io = memoryIo();
    expect(await main(["nope"], io)).toBe(EXIT.USAGE);
    io = memoryIo();
    expect(await main(["call"], io)).toBe(EXIT.USAGE);
    expect(io.err()).toContain("--scenario is required");
    io = memoryIo();
    expect(await main(["call", "--scenario", "x"], io)).toBe(EXIT.USAGE);
    expect(io.err()).toContain("unknown scenario 'x'");
    io = memoryIo();
    expect(await main(["demo", "--port", "99999"], io)).toBe(EXIT.USAGE);
    expect(io.err()).toContain("--port must be a port");
    io = memoryIo();
    expect(await main(["pcscf"], io)).toBe(EXIT.USAGE);
    expect(io.err()).toContain("--config FILE is required");
  });

  it("sdp check still works", async () => {
    const io = memoryIo();
    expect(await main(["sdp", "codes", "--json"], io)).toBe(EXIT.OK);
    expect(JSON.parse(io.out())).toBeInstanceOf(Array);
  });
});

describe("option parser", () => {
  const spec = { port: "port", json: "boolean", name: "string", timeout: "ms" } as const;
  it("reads flags, values and --opt=value", () => {
    expect(parseArgs(["--port", "80", "--json", "--name=x", "--timeout", "5"], spec).options).toEqual({
      port: 80,
      json: true,
      name: "x",
      timeout: 5,
    });
  });
  it("refuses unknown options, missing values, bad numbers, extra arguments", () => {
    expect(() => parseArgs(["--nope"], spec)).toThrow(UsageError);
    expect(() => parseArgs(["--port"], spec)).toThrow(/needs a value/);
    expect(() => parseArgs(["--port", "-1"], spec)).toThrow(/port/);
    expect(() => parseArgs(["--timeout", "0"], spec)).toThrow(/ms/);
    expect(() => parseArgs(["--json=1"], spec)).toThrow(/takes no value/);
    expect(() => parseArgs(["extra"], spec)).toThrow(/unexpected argument/);
  });
});

describe("node configurations", () => {
  const examples: [string, string][] = [
    ["scscf", "scscf"],
    ["pcscf", "pcscf-a"],
    ["pcscf", "pcscf-b"],
    ["agw", "agw"],
    ["ue", "ue-alice"],
    ["ue", "ue-bob"],
  ];
  for (const [node, name] of examples) {
    it(`examples/configs/${name}.json is a valid ${node} configuration (--check)`, async () => {
      const io = memoryIo();
      expect(await main([node, "--config", `examples/configs/${name}.json`, "--check"], io)).toBe(EXIT.OK);
      expect(io.out()).toContain(`valid ${node} configuration`);
    });
  }

  it("a missing file, broken JSON and a wrong shape exit 2 with the problems", async () => {
    let io = memoryIo();
    expect(await main(["scscf", "--config", join(dir, "missing.json")], io)).toBe(EXIT.USAGE);
    expect(io.err()).toContain("cannot read the file (ENOENT)");
    io = memoryIo();
    expect(await main(["scscf", "--config", file("broken.json", "{ nope")], io)).toBe(EXIT.USAGE);
    expect(io.err()).toContain("not valid JSON");
    io = memoryIo();
    const bad = file(
      "pcscf.json",
      JSON.stringify({
        name: "p a",
        access: { host: "192.0.2.1", udp: 70000 },
        scscf: "http://x",
        alg: { e2aeAvailable: "yes", bogus: 1 },
        agw: "ws://example.com:7070",
        extra: true,
      }),
    );
    expect(await main(["pcscf", "--config", bad], io)).toBe(EXIT.USAGE);
    const err = io.err();
    for (const p of [
      "name:",
      "access.host:",
      "access.udp:",
      "scscf:",
      "alg.e2aeAvailable:",
      "alg.bogus:",
      "agw:",
      "extra:",
    ])
      expect(err).toContain(p);
  });

  it("Iq security in the configs: plain ws:// only with insecure: true on loopback; wss:// needs tls and a pin", () => {
    const problems = (f: () => unknown) => {
      try {
        f();
        return [];
      } catch (e) {
        return e instanceof ConfigError ? e.problems.map((p) => p.path) : ["not a ConfigError"];
      }
    };
    expect(problems(() => validateAgwConfig({ iq: { port: 0 } }, "agw.json"))).toEqual(["iq"]);
    expect(problems(() => validateAgwConfig({ iq: { host: "0.0.0.0", port: 0, insecure: true } }, "agw.json"))).toEqual(
      ["iq.host"],
    );
    expect(validateAgwConfig({ iq: { host: "127.0.0.1", port: 0, insecure: true } }, "agw.json").iq.insecure).toBe(
      true,
    );
    expect(
      problems(() =>
        validateAgwConfig(
          {
            iq: { port: 0, tls: { cert: "a.crt", key: "a.key", controllers: [{ name: "p", fingerprint: "md5 AB" }] } },
            coreNetworks: ["10.0.0.0/40"],
          },
          "agw.json",
        ),
      ),
    ).toEqual(["iq.tls.controllers[0].fingerprint", "coreNetworks[0]"]);
    const base = { name: "pcscf-a", access: { udp: 0 }, scscf: "sip:127.0.0.1:6060;transport=tcp;lr" };
    expect(problems(() => validatePcscfConfig({ ...base, agw: "ws://127.0.0.1:7070/" }, "p.json"))).toEqual(["agw"]);
    expect(
      problems(() => validatePcscfConfig({ ...base, agw: { url: "ws://192.0.2.1:7070/", insecure: true } }, "p.json")),
    ).toEqual(["agw.url"]);
    expect(problems(() => validatePcscfConfig({ ...base, agw: { url: "wss://127.0.0.1:7070/" } }, "p.json"))).toEqual([
      "agw.tls",
    ]);
  });

  it("the P-CSCF limits are read from the config (maxSessions, rateLimit …) and bad values are named", () => {
    const base = { name: "pcscf-a", access: { udp: 0 }, scscf: "sip:127.0.0.1:6060;transport=tcp;lr" };
    expect(
      validatePcscfConfig(
        {
          ...base,
          maxSessions: 50,
          maxRegistrations: 100,
          retryAfter: 3,
          sessionMaxAgeMs: 0,
          rateLimit: { rate: 20, burst: 40, key: "address" },
        },
        "p.json",
      ),
    ).toMatchObject({
      maxSessions: 50,
      maxRegistrations: 100,
      retryAfter: 3,
      sessionMaxAgeMs: 0,
      rateLimit: { rate: 20, burst: 40, key: "address" },
    });
    expect(validatePcscfConfig({ ...base, rateLimit: false }, "p.json").rateLimit).toBe(false);
    const ue = { aor: "sip:alice@ims.example.com", outboundProxy: "sip:127.0.0.1:5060;lr" };
    expect(
      validateUeConfig(
        { ...ue, maxCalls: 2, flowRecovery: { baseMs: 500, maxMs: 5000 }, dc: { consentMs: 3000 } },
        "u",
      ),
    ).toMatchObject({ maxCalls: 2, flowRecovery: { baseMs: 500, maxMs: 5000 }, dc: { consentMs: 3000 } });
    expect(validateUeConfig({ ...ue, flowRecovery: false }, "u").flowRecovery).toBe(false);
    expect(validateUeConfig({ ...ue, prewarm: true }, "u").prewarm).toBe(true);
    expect(() => validateUeConfig({ ...ue, prewarm: "yes" }, "u")).toThrow(ConfigError);
    try {
      validatePcscfConfig({ ...base, maxSessions: 0, rateLimit: { rate: -1, key: "port" } }, "p.json");
      expect.unreachable();
    } catch (e) {
      expect(e).toBeInstanceOf(ConfigError);
      expect((e as ConfigError).problems.map((x) => x.path)).toEqual(
        expect.arrayContaining(["maxSessions", "rateLimit.rate", "rateLimit.key"]),
      );
    }
  });

  it("validators return typed objects and throw ConfigError listing every problem", () => {
    const p = validatePcscfConfig(
      { name: "pcscf-a", access: { udp: 0, ws: 0 }, scscf: "sip:127.0.0.1:6060;transport=tcp;lr" },
      "x.json",
    );
    expect(p).toEqual({ name: "pcscf-a", access: { udp: 0, ws: 0 }, scscf: "sip:127.0.0.1:6060;transport=tcp;lr" });
    try {
      validateUeConfig(
        { aor: "alice", transport: "SCTP", dc: { channels: [{ id: 70000 }, { label: "x" }], answerSetup: "actpass" } },
        "ue.json",
      );
      expect.unreachable();
    } catch (e) {
      expect(e).toBeInstanceOf(ConfigError);
      const paths = (e as ConfigError).problems.map((x) => x.path);
      expect(paths).toEqual(
        expect.arrayContaining([
          "aor",
          "transport",
          "outboundProxy",
          "dc.channels[0].id",
          "dc.channels[1].id",
          "dc.answerSetup",
        ]),
      );
    }
  });
});
