import { mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterEach, describe, expect, it } from "vitest";
import {
  FileSubscriberStore,
  generateSubscribers,
  MemorySubscriberStore,
  parseSubscriberDoc,
  writeDemoSubscribers,
} from "../../../src/ims/scscf/index.ts";

const dirs: string[] = [];
function tmp(): string {
  const d = mkdtempSync(join(tmpdir(), "imsdc-subs-"));
  dirs.push(d);
  return d;
}
afterEach(() => {
  for (const d of dirs.splice(0)) rmSync(d, { recursive: true, force: true });
});

describe("subscriber store (HSS stand-in)", () => {
  it("memory: lookup by IMPI, ownership of canonical IMPUs, owners of an IMPU, SQN advance/set", () => {
    const s = new MemorySubscriberStore([
      {
        impi: "bob@ims.example.com",
        impus: ["sip:bob@IMS.example.com:5060;transport=tcp", "tel:+15551234"],
        password: "pw",
        aka: { k: new Uint8Array(16), opc: new Uint8Array(16), amf: new Uint8Array([0x80, 0]), sqn: 32 },
      },
      { impi: "alice@ims.example.com", impus: ["sip:alice@ims.example.com"], password: "a" },
    ]);
    expect(s.get("bob@ims.example.com")?.password).toBe("pw");
    expect(s.owns("bob@ims.example.com", "sip:bob@ims.example.com")).toBe(true);
    expect(s.owns("bob@ims.example.com", "tel:+15551234")).toBe(true);
    expect(s.owns("alice@ims.example.com", "sip:bob@ims.example.com")).toBe(false);
    expect(s.owns("nobody", "sip:bob@ims.example.com")).toBe(false);
    expect(s.impisOf("sip:bob@ims.example.com")).toEqual(["bob@ims.example.com"]);
    expect(s.advanceSqn("bob@ims.example.com")).toBe(64);
    s.setSqn("bob@ims.example.com", 1000);
    expect(s.get("bob@ims.example.com")?.aka?.sqn).toBe(1000);
    expect(s.advanceSqn("alice@ims.example.com")).toBeUndefined();
  });

  it("file: the generator writes a loadable file (0600); SQN changes are persisted atomically", async () => {
    const d = tmp();
    const path = join(d, "subscribers.json");
    const g = await writeDemoSubscribers(path, { domain: "ims.example.com", users: ["alice", "bob"] });
    expect(g.ue[0]?.password).toMatch(/^[A-Za-z0-9_-]{24}$/);
    expect(g.ue[0]?.aka?.k).toMatch(/^[0-9a-f]{32}$/);
    const store = FileSubscriberStore.load(path);
    expect(store.get("bob@ims.example.com")?.password).toBe(g.ue[1]?.password);
    expect(store.advanceSqn("bob@ims.example.com")).toBe(32);
    expect(store.advanceSqn("bob@ims.example.com")).toBe(64);
    await store.flush();
    const doc = JSON.parse(readFileSync(path, "utf8"));
    expect(doc.subscribers[1].aka.sqn).toBe("000000000040");
    expect(readdirSync(d)).toEqual(["subscribers.json"]); // no temporary file left behind
    expect(FileSubscriberStore.load(path).get("bob@ims.example.com")?.aka?.sqn).toBe(64);
  });

  it("accepts op instead of opc (OPc derived, TS 35.206 §4.1) and ha1 instead of a password", () => {
    const [s] = parseSubscriberDoc({
      version: 1,
      subscribers: [
        {
          impi: "x",
          impus: ["sip:x@d"],
          ha1: { d: { MD5: "0".repeat(32) } },
          aka: { k: "465b5ce8b199b49faa5f0a2ee238a6bc", op: "cdc202d5123e20f62b6d676ac72cb318" },
        },
      ],
    });
    expect(Buffer.from(s?.aka?.opc ?? []).toString("hex")).toBe("cd63cb71954a9f4e48a5994e37a02baf");
    expect(s?.ha1).toEqual({ d: { MD5: "0".repeat(32) } });
  });

  it.each([
    [{}, "version"],
    [{ version: 1, subscribers: {} }, "array"],
    [{ version: 1, subscribers: [{ impi: "x", impus: [] }] }, "impus"],
    [{ version: 1, subscribers: [{ impi: "x", impus: ["sip:x@d"] }] }, "no credentials"],
    [{ version: 1, subscribers: [{ impi: "x", impus: ["sip:x@d"], aka: { k: "00" } }] }, "aka.k"],
    [{ version: 1, subscribers: [{ impi: "x", impus: ["sip:x@d"], aka: { k: "0".repeat(32) } }] }, "opc"],
    [
      {
        version: 1,
        subscribers: [
          { impi: "x", impus: ["sip:x@d"], password: "p" },
          { impi: "x", impus: ["sip:x@d"], password: "p" },
        ],
      },
      "repeated",
    ],
  ])("refuses an invalid document with E_SCSCF_SUBSCRIBERS (%#: %s)", (doc, msg) => {
    expect(() => parseSubscriberDoc(doc)).toThrow(
      expect.objectContaining({ code: "E_SCSCF_SUBSCRIBERS", message: expect.stringContaining(msg as string) }),
    );
  });

  it("an unreadable or non-JSON file is E_SCSCF_SUBSCRIBERS", () => {
    const d = tmp();
    expect(() => FileSubscriberStore.load(join(d, "missing.json"))).toThrow(
      expect.objectContaining({ code: "E_SCSCF_SUBSCRIBERS" }),
    );
    writeFileSync(join(d, "bad.json"), "{");
    expect(() => FileSubscriberStore.load(join(d, "bad.json"))).toThrow(
      expect.objectContaining({ code: "E_SCSCF_SUBSCRIBERS" }),
    );
  });

  it("generator honours schemes", () => {
    const g = generateSubscribers({ domain: "d", users: ["u"], schemes: ["aka"] });
    expect(g.ue[0]?.password).toBeUndefined();
    expect(g.subscribers[0]?.aka?.sqn).toBe(0);
  });
});
