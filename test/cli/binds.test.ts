/**
 * The bind rule (src/cli/binds.ts): listeners without authentication bind the loopback only, unless the listener says
 * `allowPublic: true`. A table of configs → exit code and message of `--check`, and a start that is refused.
 */
import { mkdtempSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { describe, expect, it } from "vitest";
import { bindClass, bindProblem } from "../../src/cli/binds.ts";
import { EXIT, main } from "../../src/cli/main.ts";
import { memoryIo } from "./helpers.ts";

const dir = mkdtempSync(join(tmpdir(), "imsdc-binds-"));
let n = 0;
function cfg(v: unknown): string {
  const f = join(dir, `c${++n}.json`);
  writeFileSync(f, JSON.stringify(v));
  return f;
}

const SCSCF = "sip:127.0.0.1:6060;transport=tcp;lr";
const pcscf = (access: Record<string, unknown>, core?: Record<string, unknown>) => ({
  name: "pcscf-a",
  access: { udp: 0, ...access },
  ...(core ? { core: { tcp: 0, ...core } } : {}),
  scscf: SCSCF,
});

const TABLE: { name: string; node: "pcscf" | "scscf" | "agw"; config: unknown; exit: number; message?: RegExp }[] = [
  {
    name: "agw iq.host 0.0.0.0",
    node: "agw",
    config: { iq: { host: "0.0.0.0", port: 0 } },
    exit: EXIT.USAGE,
    message: /iq\.host: 0\.0\.0\.0 binds every interface and this listener has no authentication/,
  },
  {
    name: "agw iq.host ::",
    node: "agw",
    config: { iq: { host: "::", port: 0 } },
    exit: EXIT.USAGE,
    message: /iq\.host: :: binds every interface/,
  },
  {
    // Iq authenticates with mutual TLS (docs/agw.md "Iq security"): allowPublic is no way around it
    name: "agw iq.host 0.0.0.0 with allowPublic",
    node: "agw",
    config: { iq: { host: "0.0.0.0", port: 0, allowPublic: true } },
    exit: EXIT.USAGE,
    message: /iq\.allowPublic/,
  },
  {
    name: "agw iq.host 127.0.0.1, insecure",
    node: "agw",
    config: { iq: { host: "127.0.0.1", port: 0, insecure: true } },
    exit: EXIT.OK,
  },
  {
    name: "agw insecure iq on 0.0.0.0",
    node: "agw",
    config: { iq: { host: "0.0.0.0", port: 0, insecure: true } },
    exit: EXIT.USAGE,
    message: /iq\.host: insecure \(plain ws:\/\/\) Iq is allowed on a loopback host only/,
  },
  {
    name: "pcscf access.host 0.0.0.0",
    node: "pcscf",
    config: pcscf({ host: "0.0.0.0" }),
    exit: EXIT.USAGE,
    message:
      /access\.host: 0\.0\.0\.0 binds every interface and this listener has no authentication: use 127\.0\.0\.1 or ::1, or set allowPublic: true on it/,
  },
  {
    name: "pcscf access.host 192.0.2.1",
    node: "pcscf",
    config: pcscf({ host: "192.0.2.1" }),
    exit: EXIT.USAGE,
    message: /access\.host: 192\.0\.2\.1 is not a loopback address/,
  },
  {
    name: "pcscf core.host :: (access fine)",
    node: "pcscf",
    config: pcscf({ host: "127.0.0.1" }, { host: "::" }),
    exit: EXIT.USAGE,
    message: /core\.host: :: binds every interface/,
  },
  {
    name: "pcscf allowPublic on core does not cover access",
    node: "pcscf",
    config: pcscf({ host: "0.0.0.0" }, { host: "0.0.0.0", allowPublic: true }),
    exit: EXIT.USAGE,
    message: /access\.host: 0\.0\.0\.0 binds every interface/,
  },
  {
    name: "pcscf access 0.0.0.0 with allowPublic",
    node: "pcscf",
    config: pcscf({ host: "0.0.0.0", allowPublic: true }),
    exit: EXIT.OK,
  },
  { name: "pcscf access 127.0.0.2", node: "pcscf", config: pcscf({ host: "127.0.0.2" }), exit: EXIT.OK },
  { name: "pcscf access ::1", node: "pcscf", config: pcscf({ host: "::1" }), exit: EXIT.OK },
  {
    name: "scscf host 0.0.0.0",
    node: "scscf",
    config: { host: "0.0.0.0", tcp: 0 },
    exit: EXIT.USAGE,
    message: /host: 0\.0\.0\.0 binds every interface/,
  },
  {
    name: "scscf host 0.0.0.0 with allowPublic",
    node: "scscf",
    config: { host: "0.0.0.0", allowPublic: true, tcp: 0, auth: false },
    exit: EXIT.OK,
  },
  { name: "scscf host localhost", node: "scscf", config: { host: "localhost", tcp: 0, auth: false }, exit: EXIT.OK },
  // the connection limits that go with the bind rule (docs/sip.md "Connection admission")
  {
    name: "pcscf limits",
    node: "pcscf",
    config: {
      ...pcscf({ host: "127.0.0.1" }),
      limits: { maxConnectionsPerSource: 64, unregisteredIdleTimeoutMs: 10_000 },
    },
    exit: EXIT.OK,
  },
  {
    name: "pcscf limits.maxConnectionsPerSource 0",
    node: "pcscf",
    config: { ...pcscf({ host: "127.0.0.1" }), limits: { maxConnectionsPerSource: 0 } },
    exit: EXIT.USAGE,
    message: /limits\.maxConnectionsPerSource: must be an integer 1-1000000/,
  },
  {
    name: "scscf limits with an unknown key",
    node: "scscf",
    config: { tcp: 0, limits: { perSource: 4 } },
    exit: EXIT.USAGE,
    message: /limits\.perSource: unknown key/,
  },
];

describe("strict binds: --check", () => {
  it.each(TABLE)("$name → exit $exit", async ({ node, config, exit, message }) => {
    const io = memoryIo();
    const file = cfg(config);
    const code = await main([node, "--config", file, "--check"], io);
    expect(code).toBe(exit);
    if (exit === EXIT.OK) {
      expect(io.out()).toContain(`${file}: valid ${node} configuration`);
      expect(io.err()).toBe("");
    } else {
      expect(io.out()).toBe("");
      expect(io.err()).toMatch(message ?? /./);
    }
  });
});

describe("strict binds: starting the node", () => {
  it("imsdc pcscf with access.host 0.0.0.0 refuses to start (exit 2, nothing listens, no ready line)", async () => {
    const io = memoryIo();
    const code = await main(["pcscf", "--config", cfg(pcscf({ host: "0.0.0.0", tcp: 0 })), "--json"], io);
    expect(code).toBe(EXIT.USAGE);
    expect(io.out()).not.toContain('"ready"');
    expect(io.err()).toMatch(/access\.host: 0\.0\.0\.0 binds every interface/);
  });

  it("imsdc agw with iq.host 0.0.0.0 refuses to start", async () => {
    const io = memoryIo();
    const code = await main(["agw", "--config", cfg({ iq: { host: "0.0.0.0", port: 0 } }), "--json"], io);
    expect(code).toBe(EXIT.USAGE);
    expect(io.out()).not.toContain('"ready"');
    expect(io.err()).toMatch(/iq\.host: 0\.0\.0\.0 binds every interface/);
  });
});

describe("bindProblem", () => {
  it.each([
    ["127.0.0.1", "loopback"],
    ["127.255.0.9", "loopback"],
    ["::1", "loopback"],
    ["[::1]", "loopback"],
    ["localhost", "loopback"],
    ["0.0.0.0", "wildcard"],
    ["::", "wildcard"],
    ["[::]", "wildcard"],
    ["10.0.0.1", "other"],
    ["example.com", "other"],
    ["128.0.0.1", "other"],
  ] as const)("%s is %s", (host, cls) => {
    expect(bindClass(host)).toBe(cls);
    expect(bindProblem(host) === undefined).toBe(cls === "loopback");
    expect(bindProblem(host, { allowPublic: true })).toBeUndefined();
    // the hook for TLS / authenticated listeners
    expect(bindProblem(host, { authenticated: true })).toBeUndefined();
  });
});
