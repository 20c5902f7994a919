import { describe, expect, it } from "vitest";
import { NonceCounter, NonceIssuer } from "../../../src/sip/auth/index.ts";

describe("stateless nonces (RFC 7616 §3.3 / §5.4)", () => {
  let clock = 1_700_000_000_000;
  const now = () => clock;
  const secret = new Uint8Array(32).fill(7);

  it("verifies its own nonce; the binding, label and secret are part of it", () => {
    const n = new NonceIssuer({ secret, now, lifetimeMs: 1000 });
    const nonce = n.issue("digest", "ims.example.com");
    expect(n.check(nonce, "digest", "ims.example.com")).toMatchObject({ status: "ok", issuedAt: clock });
    expect(n.check(nonce, "digest", "other.example.com").status).toBe("invalid");
    expect(n.check(nonce, "aka", "ims.example.com").status).toBe("invalid");
    expect(new NonceIssuer({ now }).check(nonce, "digest", "ims.example.com").status).toBe("invalid");
  });

  it("a tampered, truncated or non-base64 nonce is invalid", () => {
    const n = new NonceIssuer({ secret, now });
    const nonce = n.issue("digest", "r");
    const raw = Buffer.from(nonce, "base64");
    raw[3] = (raw[3] ?? 0) ^ 1;
    expect(n.check(raw.toString("base64"), "digest", "r").status).toBe("invalid");
    expect(n.check(nonce.slice(0, 20), "digest", "r").status).toBe("invalid");
    expect(n.check("not base64!", "digest", "r").status).toBe("invalid");
  });

  it("an expired nonce is stale (then a 401 with stale=true), a future one invalid", () => {
    const n = new NonceIssuer({ secret, now, lifetimeMs: 1000 });
    const nonce = n.issue("digest", "r");
    clock += 1001;
    expect(n.check(nonce, "digest", "r").status).toBe("stale");
    clock -= 60_000;
    expect(n.check(nonce, "digest", "r").status).toBe("invalid");
    clock += 59_000;
  });

  it("carries a prefix (AKA: RAND ‖ AUTN)", () => {
    const n = new NonceIssuer({ secret, now });
    const prefix = new Uint8Array(32).map((_, i) => i);
    const nonce = n.issue("aka", "r\0bob", prefix);
    const c = n.check(nonce, "aka", "r\0bob", 32);
    expect(c.status).toBe("ok");
    if (c.status === "ok") expect([...c.prefix]).toEqual([...prefix]);
  });
});

describe("nonce-count table (RFC 7616 §3.4 / §5.5)", () => {
  it("nc must increase per nonce; replays are refused", () => {
    const t = new NonceCounter();
    expect(t.use("a", 1, 1)).toBe("ok");
    expect(t.use("a", 1, 1)).toBe("replay");
    expect(t.use("a", 1, 2)).toBe("ok");
    expect(t.use("a", 1, 2)).toBe("replay");
    expect(t.use("b", 1, 1)).toBe("ok");
  });

  it("is bounded; a nonce older than a dropped entry is stale, never accepted without history", () => {
    const t = new NonceCounter({ max: 2 });
    expect(t.use("n1", 100, 1)).toBe("ok");
    expect(t.use("n2", 200, 1)).toBe("ok");
    expect(t.use("n3", 300, 1)).toBe("ok"); // drops n1
    expect(t.size).toBe(2);
    expect(t.use("n1", 100, 2)).toBe("stale");
    expect(t.use("n4", 400, 1)).toBe("ok");
    t.purge(1000);
    expect(t.size).toBe(0);
    expect(t.use("n4", 400, 2)).toBe("stale");
  });
});
