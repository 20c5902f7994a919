/**
 * WsTransportOptions.verifyUpgrade (RFC 6455 §10.2): the listener asks the check with the upgrade's Origin, Host and
 * source before accepting; a refusal is an HTTP error with a short body and no WebSocket; no check = any client.
 */
import { afterEach, describe, expect, it } from "vitest";
import WebSocket from "ws";
import { WsTransport } from "../../src/sip/transport/ws.ts";
import type { WsUpgradeInfo } from "../../src/sip/transport/wsUpgrade.ts";

const transports: WsTransport[] = [];
const clients: WebSocket[] = [];

afterEach(async () => {
  for (const c of clients.splice(0)) c.terminate();
  await Promise.all(transports.splice(0).map((t) => t.close()));
});

const handlers = { onMessage: () => undefined, onStreamError: () => undefined, onConnectionClosed: () => undefined };

async function listener(
  o: ConstructorParameters<typeof WsTransport>[1] = {},
): Promise<{ t: WsTransport; port: number }> {
  const t = new WsTransport(handlers, { host: "127.0.0.1", port: 0, ...o });
  transports.push(t);
  const ep = await t.listen();
  return { t, port: ep?.port ?? 0 };
}

/** Opens a client; resolves "open" or the HTTP status and body of the refusal. */
function attempt(
  port: number,
  o: { origin?: string; host?: string } = {},
): Promise<{ open: true } | { status: number; body: string }> {
  const ws = new WebSocket(`ws://127.0.0.1:${port}/`, "sip", {
    ...(o.origin !== undefined ? { origin: o.origin } : {}),
    ...(o.host !== undefined ? { headers: { Host: o.host } } : {}),
  });
  clients.push(ws);
  return new Promise((resolve, reject) => {
    ws.on("open", () => resolve({ open: true }));
    ws.on("unexpected-response", (_req, res) => {
      let body = "";
      res.on("data", (d: Buffer) => {
        body += d.toString();
      });
      res.on("end", () => resolve({ status: res.statusCode ?? 0, body }));
    });
    ws.on("error", reject);
  });
}

describe("WsTransport verifyUpgrade (RFC 6455 §10.2)", () => {
  it("asks the check with Origin, Host and source; refuses with its status and reason", async () => {
    const seen: WsUpgradeInfo[] = [];
    const { port } = await listener({
      verifyUpgrade: (r) => {
        seen.push(r);
        return r.origin === "http://good.example" ? undefined : { status: 403, reason: "not from here" };
      },
    });
    expect(await attempt(port, { origin: "http://evil.example" })).toEqual({ status: 403, body: "not from here\n" });
    expect(await attempt(port, { origin: "http://good.example" })).toEqual({ open: true });
    expect(seen[0]).toMatchObject({ origin: "http://evil.example", host: `127.0.0.1:${port}` });
    expect(seen[0]?.remote).toMatch(/^127\.0\.0\.1:\d+$/);
  });

  it("421 for a Host the check refuses; a client without Origin is what the check decides (here: allowed)", async () => {
    const { port } = await listener({
      verifyUpgrade: (r) => (r.host === `127.0.0.1:${port}` ? undefined : { status: 421, reason: "wrong host" }),
    });
    expect(await attempt(port, { host: `evil.example:${port}` })).toEqual({ status: 421, body: "wrong host\n" });
    expect(await attempt(port)).toEqual({ open: true });
  });

  it("setVerifyUpgrade replaces the check; without one any Origin is accepted", async () => {
    const { t, port } = await listener();
    expect(await attempt(port, { origin: "http://evil.example" })).toEqual({ open: true });
    t.setVerifyUpgrade(() => ({ status: 403, reason: "no" }));
    expect(await attempt(port, { origin: "http://evil.example" })).toEqual({ status: 403, body: "no\n" });
    expect(t.connectionCount()).toBe(1);
  });
});
