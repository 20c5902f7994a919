import { describe, expect, it } from "vitest";
import { FlowTokens } from "../../../src/ims/pcscf/flow.ts";

describe("flow tokens (RFC 5626 §5.2 style)", () => {
  const secret = new Uint8Array(32).fill(7);
  const flow = { transport: "TCP" as const, host: "127.0.0.1", port: 40000, connectionId: "tcp-1" };

  it("round-trip within one instance; a tampered token or another secret does not decode", () => {
    const t = new FlowTokens(secret);
    const tok = t.encode(flow);
    expect(tok).toMatch(/^[A-Za-z0-9_-]+\.[A-Za-z0-9_-]+$/);
    expect(t.decode(tok)).toEqual(flow);
    expect(t.decode(`${tok.slice(0, 4)}A${tok.slice(5)}`)).toBeUndefined();
    expect(new FlowTokens(new Uint8Array(32).fill(8)).decode(tok)).toBeUndefined();
    expect(t.decode(t.encode({ transport: "UDP", host: "::1", port: 5060 }))).toEqual({
      transport: "UDP",
      host: "::1",
      port: 5060,
      connectionId: undefined,
    });
  });

  it("a token of a previous instance (same flowSecret, after a restart) keeps the address, not the connection id", () => {
    const before = new FlowTokens(secret).encode(flow);
    // connection ids restart with the process: "tcp-1" now names somebody else's connection
    expect(new FlowTokens(secret).decode(before)).toEqual({ ...flow, connectionId: undefined });
  });
});
