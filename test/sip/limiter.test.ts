/**
 * Connection admission of the stream transports (src/sip/transport/limiter.ts), with real sockets on 127.0.0.x: the
 * per-source cap (TCP and WS, typed refusal: log code, listener, audit event), the short idle timeout of connections
 * that never registered versus a registered flow, and a half-closed connection that owes nothing.
 */
import { connect, type Socket } from "node:net";
import { afterEach, beforeEach, describe, expect, it } from "vitest";
import WebSocket from "ws";
import { AuditLog, createLogger } from "../../src/log.ts";
import { createResponse } from "../../src/sip/message.ts";
import { SipTransportLayer } from "../../src/sip/transport/layer.ts";
import type { ConnectionRefusedInfo } from "../../src/sip/transport/limiter.ts";
import type { ConnectionClosedInfo } from "../../src/sip/transport/types.ts";
import { activeResources, collect, expectNoLeaks, sleep, waitFor } from "./helpers.ts";

const layers: SipTransportLayer[] = [];
const sockets: { destroy(): void }[] = [];
let before: Map<string, number>;

async function layer(opts: ConstructorParameters<typeof SipTransportLayer>[0]): Promise<SipTransportLayer> {
  const l = new SipTransportLayer(opts);
  layers.push(l);
  await l.start();
  return l;
}

beforeEach(() => {
  before = activeResources();
});

afterEach(async () => {
  for (const s of sockets.splice(0)) s.destroy();
  await Promise.all(layers.splice(0).map((l) => l.close()));
  expect(await expectNoLeaks(before)).toEqual({});
});

function tcpFrom(from: string, port: number): Promise<{ s: Socket; closed: () => boolean }> {
  return new Promise((resolve) => {
    let closed = false;
    const s = connect({ host: "127.0.0.1", port, localAddress: from });
    sockets.push(s);
    s.on("error", () => undefined);
    s.on("close", () => {
      closed = true;
    });
    // read (and discard) what the server sends, so its FIN is seen
    s.resume();
    s.once("connect", () => resolve({ s, closed: () => closed }));
  });
}

function request(method: string, callId: string, extra = ""): string {
  return (
    `${method} sip:registrar@127.0.0.1 SIP/2.0\r\nVia: SIP/2.0/TCP 127.0.0.1:1;branch=z9hG4bK${callId}\r\n` +
    `Max-Forwards: 70\r\nFrom: <sip:a@example.com>;tag=1\r\nTo: <sip:a@example.com>\r\nCall-ID: ${callId}\r\n` +
    `CSeq: 1 ${method}\r\n${extra}Content-Length: 0\r\n\r\n`
  );
}

interface LogLine {
  level: number;
  code?: string;
  reason?: string;
  msg?: string;
}

function captureLogger() {
  const lines: LogLine[] = [];
  const logger = createLogger({
    level: "debug",
    destination: { write: (s: string) => lines.push(JSON.parse(s) as LogLine) },
  });
  return { logger, lines };
}

describe("per-source cap", () => {
  it("TCP: the third connection from one address is refused (E_SIP_SOURCE_LIMIT: log, listener, audit); another address is admitted", async () => {
    const { logger, lines } = captureLogger();
    const audit = new AuditLog();
    const server = await layer({
      tcp: true,
      limits: { maxConnectionsPerSource: 2 },
      logger,
      audit,
      auditNode: "pcscf-t",
    });
    const refused: ConnectionRefusedInfo[] = [];
    server.onConnectionRefused((i) => refused.push(i));
    const port = server.address("TCP")!.port;
    const a1 = await tcpFrom("127.0.0.2", port);
    const a2 = await tcpFrom("127.0.0.2", port);
    await waitFor(() => server.transport("TCP")!.connectionCount() === 2, 2000, "two admitted");
    const a3 = await tcpFrom("127.0.0.2", port);
    await waitFor(a3.closed, 2000, "third refused");
    const b1 = await tcpFrom("127.0.0.3", port);
    await waitFor(() => server.transport("TCP")!.connectionCount() === 3, 2000, "other source admitted");
    expect(a1.closed() || a2.closed() || b1.closed()).toBe(false);
    expect(refused).toHaveLength(1);
    expect(refused[0]).toMatchObject({
      transport: "TCP",
      reason: "per-source",
      code: "E_SIP_SOURCE_LIMIT",
      limit: 2,
      open: 2,
      remote: { host: "127.0.0.2" },
    });
    expect(lines.filter((l) => l.code === "E_SIP_SOURCE_LIMIT" && l.level === 40)).toHaveLength(1);
    expect(audit.events).toHaveLength(1);
    expect(audit.events[0]).toMatchObject({
      node: "pcscf-t",
      decision: "connection-refused",
      clause: "RFC 3261 §26.3.2.4",
      reason: "per-source",
      code: "E_SIP_SOURCE_LIMIT",
    });
    expect(server.connectionStats("TCP")).toMatchObject({
      open: 3,
      sources: 2,
      maxFromOneSource: 2,
      accepted: 3,
      refused: { "per-source": 1, global: 0 },
    });
    // a freed slot is reusable by that source
    a1.s.destroy();
    await waitFor(() => server.transport("TCP")!.connectionCount() === 2, 2000, "slot freed");
    const a4 = await tcpFrom("127.0.0.2", port);
    await sleep(100);
    expect(a4.closed()).toBe(false);
    expect(server.connectionStats("TCP")?.refused["per-source"]).toBe(1);
  });

  it("WS: beyond the per-source cap the TCP connection gets 503 before any upgrade", async () => {
    const server = await layer({ ws: true, limits: { maxConnectionsPerSource: 1 } });
    const port = server.address("WS")!.port;
    const open = (from: string) => {
      const ws = new WebSocket(`ws://127.0.0.1:${port}/`, "sip", { localAddress: from });
      sockets.push({ destroy: () => ws.terminate() });
      ws.on("error", () => undefined);
      return new Promise<number>((resolve) => {
        ws.once("open", () => resolve(101));
        ws.once("unexpected-response", (_req, res) => resolve(res.statusCode ?? 0));
        ws.once("error", () => resolve(-1));
      });
    };
    expect(await open("127.0.0.2")).toBe(101);
    expect(await open("127.0.0.2")).toBe(503);
    expect(await open("127.0.0.3")).toBe(101);
    expect(server.connectionStats("WS")).toMatchObject({ open: 2, refused: { "per-source": 1 } });
  });
});

describe("idle timeouts: unregistered connections go first", () => {
  it("TCP: a connection that only sent OPTIONS closes after unregisteredIdleTimeoutMs; one whose REGISTER got a 2xx stays", async () => {
    const server = await layer({ tcp: true, limits: { unregisteredIdleTimeoutMs: 250, idleTimeoutMs: 60_000 } });
    const closed: ConnectionClosedInfo[] = [];
    server.onConnectionClosed((i) => closed.push(i));
    const sIn = collect(server);
    const port = server.address("TCP")!.port;
    const idle = await tcpFrom("127.0.0.2", port);
    const flow = await tcpFrom("127.0.0.3", port);
    idle.s.write(request("OPTIONS", "idle1"));
    flow.s.write(request("REGISTER", "reg1", "Contact: <sip:a@127.0.0.3;transport=tcp>\r\n"));
    await waitFor(() => sIn.messages.length === 2, 2000, "both requests");
    for (const { msg, source } of sIn.messages) {
      if (msg.kind !== "request") continue;
      const res = createResponse(msg, 200, "OK", {
        headers:
          msg.method === "REGISTER" ? [{ name: "Contact", value: "<sip:a@127.0.0.3;transport=tcp>;expires=600" }] : [],
      });
      await server.sendResponse(res, source);
    }
    expect(server.connectionStats("TCP")?.flows).toBe(1);
    await waitFor(idle.closed, 2000, "the unregistered connection closed");
    expect(closed).toHaveLength(1);
    expect(closed[0]).toMatchObject({
      reason: "idle-timeout",
      code: "E_SIP_IDLE_TIMEOUT",
      remote: { host: "127.0.0.2" },
    });
    await sleep(600);
    expect(flow.closed()).toBe(false);
    expect(server.connectionStats("TCP")).toMatchObject({
      open: 1,
      flows: 1,
      idleClosed: { unregistered: 1, long: 0 },
    });
  });

  it("a 2xx to a REGISTER without Contact (every binding removed) ends the flow: the short timeout applies again", async () => {
    const server = await layer({ tcp: true, limits: { unregisteredIdleTimeoutMs: 250, idleTimeoutMs: 60_000 } });
    const sIn = collect(server);
    const port = server.address("TCP")!.port;
    const c = await tcpFrom("127.0.0.2", port);
    c.s.write(request("REGISTER", "reg2", "Contact: <sip:a@127.0.0.2;transport=tcp>\r\n"));
    await waitFor(() => sIn.messages.length === 1, 2000, "REGISTER");
    const first = sIn.messages[0]!;
    if (first.msg.kind !== "request") throw new Error("not a request");
    await server.sendResponse(
      createResponse(first.msg, 200, "OK", { headers: [{ name: "Contact", value: "<sip:a@127.0.0.2>;expires=600" }] }),
      first.source,
    );
    expect(server.connectionStats("TCP")?.flows).toBe(1);
    c.s.write(request("REGISTER", "reg3", "Contact: *\r\nExpires: 0\r\n"));
    await waitFor(() => sIn.messages.length === 2, 2000, "de-REGISTER");
    const second = sIn.messages[1]!;
    if (second.msg.kind !== "request") throw new Error("not a request");
    await server.sendResponse(createResponse(second.msg, 200, "OK"), second.source);
    expect(server.connectionStats("TCP")?.flows).toBe(0);
    await waitFor(c.closed, 2000, "closed by the short timeout");
  });
});

describe("half-closed connections", () => {
  it("TCP: a peer that sends a request the layer drops unanswered, then FIN, is not held open (it is owed nothing)", async () => {
    const server = await layer({ tcp: true, limits: { idleTimeoutMs: 60_000 } });
    const port = server.address("TCP")!.port;
    const c = await tcpFrom("127.0.0.2", port);
    // no Via, no Call-ID: unanswerable, dropped (docs/sip.md)
    c.s.write("FOO sip:x SIP/2.0\r\nContent-Length: 0\r\n\r\n");
    await sleep(100);
    c.s.end();
    await waitFor(c.closed, 2000, "server closed its side");
    await waitFor(() => server.transport("TCP")!.connectionCount() === 0, 2000, "table empty");
  });
});
