/** The `auth` block of `imsdc ue --config`: Digest or AKA, validated with paths; the examples carry credentials. */
import { readFileSync } from "node:fs";
import { describe, expect, it } from "vitest";
import { validateUeConfig } from "../../src/cli/config.ts";

const base = { aor: "sip:bob@ims.example.com", outboundProxy: "sip:127.0.0.1:5080;lr" };
const K = "465b5ce8b199b49faa5f0a2ee238a6bc";

describe("imsdc ue config: auth", () => {
  it("accepts Digest and AKA credentials", () => {
    expect(validateUeConfig({ ...base, auth: { impi: "bob@ims.example.com", password: "pw" } }, "f").auth).toEqual({
      impi: "bob@ims.example.com",
      password: "pw",
    });
    const aka = validateUeConfig({ ...base, auth: { impi: "bob@x", k: K, opc: K, sqn: 64, amf: "8000" } }, "f").auth;
    expect(aka).toEqual({ impi: "bob@x", k: K, opc: K, sqn: 64, amf: "8000" });
  });

  it("refuses bad credentials with the path of the problem", () => {
    expect(() => validateUeConfig({ ...base, auth: { impi: "b", k: "00", opc: K } }, "f")).toThrow(
      /auth\.k: must be 32 hex digits/,
    );
    expect(() => validateUeConfig({ ...base, auth: { impi: "b" } }, "f")).toThrow(/auth: needs password/);
    expect(() => validateUeConfig({ ...base, auth: { impi: "b", password: "p", k: K, opc: K } }, "f")).toThrow(
      /not both/,
    );
    expect(() => validateUeConfig({ ...base, auth: { password: "p", key: 1 } }, "f")).toThrow(
      /auth\.impi: is required/,
    );
    expect(() => validateUeConfig({ ...base, auth: { impi: "b", k: K, opc: K, sqn: -1 } }, "f")).toThrow(/auth\.sqn/);
  });

  it("the example UEs carry the example subscribers' credentials (lab-only)", () => {
    const subs = JSON.parse(readFileSync("examples/configs/subscribers.example.json", "utf8")) as {
      subscribers: { impi: string; password?: string; aka?: { k: string; opc: string } }[];
    };
    const alice = JSON.parse(readFileSync("examples/configs/ue-alice.json", "utf8")) as { auth: { password: string } };
    const bob = JSON.parse(readFileSync("examples/configs/ue-bob.json", "utf8")) as {
      auth: { k: string; opc: string };
    };
    expect(subs.subscribers.find((s) => s.impi === "alice@ims.example.com")?.password).toBe(alice.auth.password);
    expect(subs.subscribers.find((s) => s.impi === "bob@ims.example.com")?.aka).toMatchObject({
      k: bob.auth.k,
      opc: bob.auth.opc,
    });
  });
});
