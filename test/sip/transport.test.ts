import { createSocket } from "node:dgram";
import { connect, createServer, type Socket } from "node:net";
import { afterEach, beforeEach, describe, expect, it } from "vitest";
import WebSocket from "ws";
import { createLogger } from "../../src/log.ts";
import { SipStreamFramer } from "../../src/sip/framing.ts";
import { getParam } from "../../src/sip/grammar.ts";
import { createResponse, type SipResponse } from "../../src/sip/message.ts";
import { parseMessage } from "../../src/sip/parse.ts";
import { responseTarget, SipTransportLayer } from "../../src/sip/transport/layer.ts";
import type { TcpTransport } from "../../src/sip/transport/tcp.ts";
import type { ConnectionClosedInfo, SipTransportProtocol } from "../../src/sip/transport/types.ts";
import { activeResources, collect, expectNoLeaks, options, sleep, waitFor } from "./helpers.ts";

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

function tcpClient(port: number): Promise<Socket> {
  return new Promise((resolve, reject) => {
    const s = connect({ host: "127.0.0.1", port }, () => resolve(s));
    s.on("error", reject);
    sockets.push(s);
  });
}

const te = new TextEncoder();

function rawRequest(callId: string, extra = "", body = ""): string {
  return (
    `OPTIONS sip:bob@127.0.0.1 SIP/2.0\r\nVia: SIP/2.0/TCP 127.0.0.1:1;branch=z9hG4bK${callId}\r\n` +
    `Max-Forwards: 70\r\nFrom: <sip:a@example.com>;tag=1\r\nTo: <sip:bob@example.com>\r\nCall-ID: ${callId}\r\n` +
    `CSeq: 1 OPTIONS\r\n${extra}Content-Length: ${te.encode(body).length}\r\n\r\n${body}`
  );
}

describe.each(["UDP", "TCP", "WS"] as SipTransportProtocol[])("%s request/response round trip", (proto) => {
  it("delivers a request, stamps received/rport, and routes the response back", async () => {
    const key = proto.toLowerCase() as "udp" | "tcp" | "ws";
    const server = await layer({ [key]: true });
    const client = await layer(proto === "WS" ? { ws: { listen: false } } : { [key]: true });
    const sIn = collect(server);
    const cIn = collect(client);
    const port = server.address(proto)?.port;
    expect(port).toBeGreaterThan(0);
    const req = options(client, proto, `sip:bob@127.0.0.1:${port}`);
    await client.sendRequest(req, { transport: proto, host: "127.0.0.1", port: port! });
    await waitFor(() => sIn.messages.length === 1, 3000, "request");
    const got = sIn.messages[0]!;
    expect(got.msg.kind).toBe("request");
    expect(got.source.transport).toBe(proto);
    const via = got.msg.topVia();
    // RFC 3581 §4: rport filled with the source port, received added
    expect(getParam(via.params, "rport")).toBe(String(got.source.port));
    expect(getParam(via.params, "received")).toBe("127.0.0.1");
    if (proto === "WS") expect(via.host.endsWith(".invalid")).toBe(true);
    const res = createResponse(got.msg, 200, undefined, { toTag: "x" });
    await server.sendResponse(res, got.source);
    await waitFor(() => cIn.messages.length === 1, 3000, "response");
    const r = cIn.messages[0]!.msg as SipResponse;
    expect(r.status).toBe(200);
    expect(r.callId()).toBe(req.callId());
  });
});

describe("UDP", () => {
  it("answers a malformed request with 400 + Warning to the Via (rport), drops a malformed response", async () => {
    const server = await layer({ udp: true, warningAgent: "test-agent" });
    const sIn = collect(server);
    const port = server.address("UDP")!.port;
    const sock = createSocket("udp4");
    sockets.push({ destroy: () => sock.close() });
    const got: Buffer[] = [];
    sock.on("message", (m) => got.push(m));
    await new Promise<void>((r) => sock.bind(0, "127.0.0.1", () => r()));
    const bad = rawRequest("bad1")
      .replace("CSeq: 1 OPTIONS", "CSeq: 1 INVITE")
      .replace("SIP/2.0/TCP 127.0.0.1:1", "SIP/2.0/UDP 127.0.0.1:1;rport");
    sock.send(bad, port, "127.0.0.1");
    await waitFor(() => got.length === 1, 3000, "400");
    const res = parseMessage(got[0]!) as SipResponse;
    expect(res.status).toBe(400);
    expect(res.getHeader("Warning")).toBe('399 test-agent "E_SIP_CSEQ: CSeq method does not match request method"');
    expect(getParam(res.topVia().params, "rport")).toBe(String(sock.address().port));
    // a malformed response is dropped and nothing reaches the listener
    sock.send("SIP/2.0 200 OK\r\nVia: broken\r\n\r\n", port, "127.0.0.1");
    sock.send("garbage\r\n\r\n", port, "127.0.0.1");
    await sleep(100);
    expect(sIn.messages).toHaveLength(0);
    expect(got).toHaveLength(1);
  });

  it("answers oversize datagrams: 413 when the body is too large, 513 when the head is", async () => {
    const server = await layer({ udp: true, limits: { maxMessageSize: 1000 } });
    const port = server.address("UDP")!.port;
    const sock = createSocket("udp4");
    sockets.push({ destroy: () => sock.close() });
    const got: Buffer[] = [];
    sock.on("message", (m) => got.push(m));
    await new Promise<void>((r) => sock.bind(0, "127.0.0.1", () => r()));
    const rport = (s: string) => s.replace("SIP/2.0/TCP 127.0.0.1:1", "SIP/2.0/UDP 127.0.0.1:1;rport");
    sock.send(rport(rawRequest("big1", "", "x".repeat(2000))), port, "127.0.0.1");
    await waitFor(() => got.length === 1, 3000, "413");
    expect((parseMessage(got[0]!) as SipResponse).status).toBe(413);
    sock.send(rport(rawRequest("big2", `X-Pad: ${"y".repeat(2000)}\r\n`)), port, "127.0.0.1");
    await waitFor(() => got.length === 2, 3000, "513");
    expect((parseMessage(got[1]!) as SipResponse).status).toBe(513);
  });

  it("responseTarget follows RFC 3261 §18.2.2 / RFC 3581", () => {
    const v = (s: string) =>
      parseMessage(
        te.encode(
          `SIP/2.0 200 OK\r\nVia: ${s}\r\nFrom: <sip:a@b.c>;tag=1\r\nTo: <sip:a@b.c>\r\nCall-ID: x\r\nCSeq: 1 OPTIONS\r\n\r\n`,
        ),
      ).topVia();
    expect(responseTarget(v("SIP/2.0/UDP 10.0.0.1:5070;branch=z9hG4bK1"))).toEqual({
      transport: "UDP",
      host: "10.0.0.1",
      port: 5070,
    });
    expect(responseTarget(v("SIP/2.0/UDP 10.0.0.1;received=10.0.0.2;branch=z9hG4bK1"))).toEqual({
      transport: "UDP",
      host: "10.0.0.2",
      port: 5060,
    });
    expect(responseTarget(v("SIP/2.0/UDP 10.0.0.1;received=10.0.0.2;rport=4000;branch=z9hG4bK1"))).toEqual({
      transport: "UDP",
      host: "10.0.0.2",
      port: 4000,
    });
    expect(responseTarget(v("SIP/2.0/UDP 10.0.0.1:7000;maddr=224.0.1.75;ttl=1;branch=z9hG4bK1"))).toEqual({
      transport: "UDP",
      host: "224.0.1.75",
      port: 7000,
    });
  });
});

describe("TCP", () => {
  it("frames partial reads and several messages per read; answers CRLFCRLF with CRLF", async () => {
    const server = await layer({ tcp: true });
    const sIn = collect(server);
    const s = await tcpClient(server.address("TCP")!.port);
    const received: Buffer[] = [];
    s.on("data", (d) => received.push(d));
    const one = rawRequest("p1", "", "hello body");
    const bytes = te.encode(one);
    // byte by byte for the first message
    for (let i = 0; i < bytes.length; i += 7) {
      s.write(bytes.subarray(i, i + 7));
      await sleep(1);
    }
    await waitFor(() => sIn.messages.length === 1, 3000, "first");
    expect(new TextDecoder().decode(sIn.messages[0]!.msg.body)).toBe("hello body");
    // three messages and a keep-alive in one write
    s.write(`\r\n\r\n${rawRequest("p2")}${rawRequest("p3", "", "é")}\r\n${rawRequest("p4")}`);
    await waitFor(() => sIn.messages.length === 4, 3000, "three more");
    expect(sIn.messages.map((m) => m.msg.callId())).toEqual(["p1", "p2", "p3", "p4"]);
    await waitFor(() => received.length > 0, 3000, "pong");
    expect(Buffer.concat(received).toString()).toBe("\r\n");
  });

  it("answers a request whose Content-Length is too large with 413, then closes", async () => {
    const server = await layer({ tcp: true, limits: { maxMessageSize: 800 } });
    const s = await tcpClient(server.address("TCP")!.port);
    const data: Buffer[] = [];
    let closed = false;
    s.on("data", (d) => data.push(d));
    s.on("close", () => {
      closed = true;
    });
    s.write(rawRequest("big", "", "z".repeat(1000)));
    await waitFor(() => closed, 3000, "close");
    const res = parseMessage(Buffer.concat(data), { datagram: false }) as SipResponse;
    expect(res.status).toBe(413);
    expect(res.getHeader("Warning")).toMatch(/E_SIP_TOO_LARGE/);
  });

  it("closes a stream whose header section never ends within the limit", async () => {
    const server = await layer({ tcp: true, limits: { maxMessageSize: 500 } });
    const s = await tcpClient(server.address("TCP")!.port);
    let closed = false;
    s.on("close", () => {
      closed = true;
    });
    s.on("error", () => undefined);
    s.write(`OPTIONS sip:x@y SIP/2.0\r\nX-Long: ${"a".repeat(600)}`);
    await waitFor(() => closed, 3000, "close");
  });

  it("answers a stream message without Content-Length with 400 and closes (RFC 3261 §18.3)", async () => {
    const server = await layer({ tcp: true });
    const s = await tcpClient(server.address("TCP")!.port);
    const data: Buffer[] = [];
    let closed = false;
    s.on("data", (d) => data.push(d));
    s.on("close", () => {
      closed = true;
    });
    s.write(rawRequest("nocl").replace(/Content-Length: 0\r\n/, ""));
    await waitFor(() => closed, 3000, "close");
    expect((parseMessage(Buffer.concat(data), { datagram: false }) as SipResponse).status).toBe(400);
  });

  it("closes idle connections", async () => {
    const server = await layer({ tcp: true, limits: { idleTimeoutMs: 150 } });
    const s = await tcpClient(server.address("TCP")!.port);
    let closed = false;
    s.on("close", () => {
      closed = true;
    });
    await waitFor(() => server.transport("TCP")!.connectionCount() === 1, 1000, "accepted");
    await waitFor(() => closed, 2000, "idle close");
    expect(server.transport("TCP")!.connectionCount()).toBe(0);
  });

  it("enforces the connection limit", async () => {
    const server = await layer({ tcp: true, limits: { maxConnections: 2 } });
    const port = server.address("TCP")!.port;
    await tcpClient(port);
    await tcpClient(port);
    await waitFor(() => server.transport("TCP")!.connectionCount() === 2, 1000, "two");
    const third = await tcpClient(port);
    let closed = false;
    third.on("close", () => {
      closed = true;
    });
    await waitFor(() => closed, 2000, "third refused");
    expect(server.transport("TCP")!.connectionCount()).toBe(2);
  });

  it("reuses the connection for requests in both directions", async () => {
    const a = await layer({ tcp: true });
    const b = await layer({ tcp: true });
    const aIn = collect(a);
    const bIn = collect(b);
    const bPort = b.address("TCP")!.port;
    await a.sendRequest(options(a, "TCP", `sip:b@127.0.0.1:${bPort}`), {
      transport: "TCP",
      host: "127.0.0.1",
      port: bPort,
    });
    await waitFor(() => bIn.messages.length === 1);
    const src = bIn.messages[0]!.source;
    // B → A over the inbound connection (by connection id)
    await b.sendRequest(options(b, "TCP", "sip:a@127.0.0.1"), {
      transport: "TCP",
      host: src.host,
      port: src.port,
      connectionId: src.connectionId,
    });
    await waitFor(() => aIn.messages.length === 1);
    expect(a.transport("TCP")!.connectionCount()).toBe(1);
    expect(b.transport("TCP")!.connectionCount()).toBe(1);
  });
});

describe("WebSocket", () => {
  it("refuses a client that does not offer the sip subprotocol (RFC 7118 §4)", async () => {
    const server = await layer({ ws: true });
    const port = server.address("WS")!.port;
    const ws = new WebSocket(`ws://127.0.0.1:${port}/`, "chat");
    sockets.push({ destroy: () => ws.terminate() });
    const status = await new Promise<number>((resolve) => {
      ws.on("unexpected-response", (_req, res) => resolve(res.statusCode ?? 0));
      ws.on("error", () => resolve(-1));
    });
    expect(status).toBe(400);
  });

  it("accepts text and binary frames, answers malformed requests, closes oversize frames with 1009", async () => {
    const server = await layer({ ws: true, limits: { maxMessageSize: 2000 } });
    const sIn = collect(server);
    const port = server.address("WS")!.port;
    const ws = new WebSocket(`ws://127.0.0.1:${port}/`, "sip");
    sockets.push({ destroy: () => ws.terminate() });
    const frames: string[] = [];
    ws.on("message", (d) => frames.push(d.toString()));
    await new Promise<void>((r, j) => {
      ws.on("open", () => r());
      ws.on("error", j);
    });
    expect(ws.protocol).toBe("sip");
    ws.send(rawRequest("t1").replace("SIP/2.0/TCP", "SIP/2.0/WS"));
    ws.send(te.encode(rawRequest("b1").replace("SIP/2.0/TCP", "SIP/2.0/WS")), { binary: true });
    await waitFor(() => sIn.messages.length === 2, 3000, "two frames");
    ws.send("\r\n\r\n");
    await waitFor(() => frames.length === 1, 3000, "pong");
    expect(frames[0]).toBe("\r\n");
    ws.send(rawRequest("bad").replace("CSeq: 1 OPTIONS", "CSeq: x OPTIONS"));
    await waitFor(() => frames.length === 2, 3000, "400");
    expect(frames[1]).toMatch(/^SIP\/2.0 400 Bad Request\r\n/);
    const code = await new Promise<number>((resolve) => {
      ws.on("close", (c) => resolve(c));
      ws.send(rawRequest("huge", "", "h".repeat(3000)));
    });
    expect(code).toBe(1009);
  });

  it("closes idle WebSocket connections", async () => {
    const server = await layer({ ws: true, limits: { idleTimeoutMs: 150 } });
    const ws = new WebSocket(`ws://127.0.0.1:${server.address("WS")!.port}/`, "sip");
    sockets.push({ destroy: () => ws.terminate() });
    await new Promise<void>((r) => ws.on("open", () => r()));
    await new Promise<void>((r) => ws.on("close", () => r()));
    await waitFor(() => server.transport("WS")!.connectionCount() === 0, 1000, "server side closed");
  });
});

describe("framer unit", () => {
  it("reports oversize head and body and missing Content-Length", () => {
    const f1 = new SipStreamFramer({ maxMessageSize: 100 });
    expect(f1.push(te.encode("X".repeat(150)))[0]).toMatchObject({ type: "error", tooLarge: "head" });
    expect(f1.push(te.encode("more"))).toEqual([]);
    const f2 = new SipStreamFramer({ maxMessageSize: 300 });
    expect(f2.push(te.encode(rawRequest("a", "", "x".repeat(400))))[0]).toMatchObject({
      type: "error",
      tooLarge: "body",
    });
    const f3 = new SipStreamFramer();
    expect(f3.push(te.encode("OPTIONS sip:a@b SIP/2.0\r\nVia: x\r\n\r\n"))[0]).toMatchObject({
      type: "error",
      error: { code: "E_SIP_CONTENT_LENGTH" },
    });
  });
});

describe("lifecycle", () => {
  it("close() of a busy layer frees every socket and timer", async () => {
    const l = new SipTransportLayer({ udp: true, tcp: true, ws: true });
    await l.start();
    const peer = new SipTransportLayer({ udp: true, tcp: true, ws: { listen: false } });
    await peer.start();
    for (const p of ["UDP", "TCP", "WS"] as const) {
      const port = l.address(p)!.port;
      await peer.sendRequest(options(peer, p, `sip:x@127.0.0.1:${port}`), { transport: p, host: "127.0.0.1", port });
    }
    await sleep(50);
    await Promise.all([l.close(), peer.close()]);
    await expect(
      peer.sendBytes(new Uint8Array(1), { transport: "UDP", host: "127.0.0.1", port: 9 }),
    ).rejects.toMatchObject({
      code: "E_SIP_CLOSED",
    });
  });
});

// ---------------------------------------------------------------------------------------------------------------------
// connection faults: closed-connection reports, read deadlines (slowloris), half-close, dead connections, limits

interface LogLine {
  level: number;
  msg: string;
  code?: string;
}

/** A pino logger whose lines land in `lines` (parsed). */
function captureLogger(): { logger: ReturnType<typeof createLogger>; lines: LogLine[] } {
  const lines: LogLine[] = [];
  const logger = createLogger({
    level: "debug",
    destination: { write: (s: string) => lines.push(JSON.parse(s) as LogLine) },
  });
  return { logger, lines };
}

/** Collects the layer's closed-connection reports. */
function closedReports(l: SipTransportLayer): ConnectionClosedInfo[] {
  const out: ConnectionClosedInfo[] = [];
  l.onConnectionClosed((i) => out.push(i));
  return out;
}

function tcpClientOpts(port: number, allowHalfOpen: boolean): Promise<Socket> {
  return new Promise((resolve, reject) => {
    const s = connect({ host: "127.0.0.1", port, allowHalfOpen }, () => resolve(s));
    s.on("error", reject);
    sockets.push(s);
  });
}

/** A TCP listener standing for a client's sent-by address (RFC 3261 §18.2.2: responses may come on a new connection). */
async function sentByListener(): Promise<{ port: number; data: () => string; connections: () => number }> {
  const chunks: Buffer[] = [];
  let n = 0;
  const srv = createServer((s) => {
    n++;
    s.on("data", (d) => chunks.push(d));
    s.on("error", () => undefined);
    sockets.push(s);
  });
  await new Promise<void>((r) => srv.listen(0, "127.0.0.1", () => r()));
  sockets.push({ destroy: () => srv.close() });
  const a = srv.address();
  if (a === null || typeof a === "string") throw new Error("no address");
  return { port: a.port, data: () => Buffer.concat(chunks).toString(), connections: () => n };
}

function closedSoon(s: { on(ev: "close", f: () => void): unknown }): () => boolean {
  let closed = false;
  s.on("close", () => {
    closed = true;
  });
  return () => closed;
}

/** A masked WebSocket text frame (RFC 6455 §5.2, client to server), for writing partial frames by hand. */
function maskedTextFrame(text: string): Buffer {
  const payload = Buffer.from(text);
  if (payload.length > 125) throw new Error("short frames only");
  const mask = Buffer.from([1, 2, 3, 4]);
  const masked = Buffer.from(payload.map((b, i) => b ^ (mask[i % 4] ?? 0)));
  return Buffer.concat([Buffer.from([0x81, 0x80 | payload.length]), mask, masked]);
}

async function wsOpen(port: number): Promise<WebSocket> {
  const ws = new WebSocket(`ws://127.0.0.1:${port}/`, "sip");
  sockets.push({ destroy: () => ws.terminate() });
  ws.on("error", () => undefined);
  await new Promise<void>((r, j) => {
    ws.once("open", () => r());
    ws.once("error", j);
  });
  return ws;
}

describe("closed-connection reports (the flow-failure signal, RFC 5626 §4.4)", () => {
  it("TCP: one report per connection with its reason: peer FIN, reset, idle timeout, local close, transport close", async () => {
    const server = await layer({ tcp: true, limits: { idleTimeoutMs: 300 } });
    const reports = closedReports(server);
    const port = server.address("TCP")!.port;
    const t = server.transport("TCP")!;
    const accepted = async (n: number) => waitFor(() => t.connectionCount() === n, 2000, `${n} accepted`);
    // peer FIN with nothing owed → closed at once
    const a = await tcpClient(port);
    const aPort = a.localPort;
    await accepted(1);
    a.end();
    await waitFor(() => reports.length === 1, 2000, "FIN report");
    expect(reports[0]).toMatchObject({ transport: "TCP", reason: "peer-closed", inbound: true });
    expect(reports[0]!.remote).toEqual({ host: "127.0.0.1", port: aPort });
    // reset
    const b = await tcpClient(port);
    await accepted(1);
    b.resetAndDestroy();
    await waitFor(() => reports.length === 2, 2000, "RST report");
    expect(reports[1]!.reason).toBe("reset");
    // idle timeout (a complete message first, so that the first-message deadline does not apply)
    const c = await tcpClient(port);
    c.write(rawRequest("idle1"));
    await waitFor(() => reports.length === 3, 3000, "idle report");
    expect(reports[2]).toMatchObject({ reason: "idle-timeout", code: "E_SIP_IDLE_TIMEOUT" });
    // our closeConnection()
    const d = await tcpClient(port);
    d.on("error", () => undefined);
    await accepted(1);
    const src = await new Promise<string>((r) => {
      const off = server.onMessage((_m, s) => {
        off();
        r(s.connectionId!);
      });
      d.write(rawRequest("local1"));
    });
    (t as TcpTransport).closeConnection(src);
    await waitFor(() => reports.length === 4, 2000, "local report");
    expect(reports[3]).toMatchObject({ connectionId: src, reason: "local" });
    // an outbound connection, closed with the layer
    const peer = await layer({ tcp: true });
    const peerPort = peer.address("TCP")!.port;
    await server.sendRequest(options(server, "TCP", `sip:p@127.0.0.1:${peerPort}`), {
      transport: "TCP",
      host: "127.0.0.1",
      port: peerPort,
    });
    await server.close();
    expect(reports.filter((r) => r.reason === "transport-closed")).toHaveLength(1);
    expect(reports.at(-1)).toMatchObject({ inbound: false, remote: { host: "127.0.0.1", port: peerPort } });
  });

  it("WS: reports a close frame, a reset (1006), an idle timeout and the transport's close", async () => {
    const server = await layer({ ws: true, limits: { idleTimeoutMs: 300 } });
    const reports = closedReports(server);
    const port = server.address("WS")!.port;
    const a = await wsOpen(port);
    a.send(rawRequest("w1").replace("SIP/2.0/TCP", "SIP/2.0/WS"));
    a.close(1000);
    await waitFor(() => reports.length === 1, 2000, "close-frame report");
    expect(reports[0]).toMatchObject({ transport: "WS", reason: "peer-closed", inbound: true });
    const b = await wsOpen(port);
    b.send(rawRequest("w2").replace("SIP/2.0/TCP", "SIP/2.0/WS"));
    await waitFor(() => server.transport("WS")!.connectionCount() === 1, 2000, "b accepted");
    b.terminate();
    await waitFor(() => reports.length === 2, 2000, "reset report");
    expect(reports[1]!.reason).toBe("reset");
    const c = await wsOpen(port);
    c.send(rawRequest("w3").replace("SIP/2.0/TCP", "SIP/2.0/WS"));
    await waitFor(() => reports.length === 3, 3000, "idle report");
    expect(reports[2]).toMatchObject({ reason: "idle-timeout", code: "E_SIP_IDLE_TIMEOUT" });
    // a client-only layer: its outbound connection is reported when the server goes away
    const client = await layer({ ws: { listen: false } });
    const creports = closedReports(client);
    await client.sendRequest(options(client, "WS", `sip:s@127.0.0.1:${port}`), {
      transport: "WS",
      host: "127.0.0.1",
      port,
    });
    await server.close();
    await waitFor(() => creports.length === 1, 2000, "client report");
    expect(creports[0]).toMatchObject({ transport: "WS", inbound: false, remote: { host: "127.0.0.1", port } });
    expect(["reset", "peer-closed"]).toContain(creports[0]!.reason);
  });
});

describe("read deadline per message (messageTimeoutMs, slowloris)", () => {
  it("TCP: a silent connection, a stalled partial message and a one-byte trickle are closed; count back to 0", async () => {
    const { logger, lines } = captureLogger();
    // the idle timeout is far away: only the read deadline can close these
    const server = await layer({ tcp: true, limits: { messageTimeoutMs: 300, idleTimeoutMs: 60_000 }, logger });
    const reports = closedReports(server);
    const port = server.address("TCP")!.port;
    const silent = await tcpClient(port);
    const partial = await tcpClient(port);
    const trickle = await tcpClient(port);
    const closed = [silent, partial, trickle].map((s) => closedSoon(s));
    partial.write(rawRequest("stall").slice(0, 60));
    const bytes = te.encode(rawRequest("trickle"));
    let i = 0;
    const timer = setInterval(() => {
      if (i < bytes.length && !trickle.destroyed) trickle.write(bytes.subarray(i, ++i));
    }, 40);
    try {
      await waitFor(() => closed.every((c) => c()), 5000, "all three closed");
    } finally {
      clearInterval(timer);
    }
    // the trickle was still sending (the idle timer kept being refreshed) when the deadline closed it
    expect(i).toBeLessThan(bytes.length);
    await waitFor(() => server.transport("TCP")!.connectionCount() === 0, 2000, "count 0");
    expect(reports.map((r) => r.reason)).toEqual(["message-timeout", "message-timeout", "message-timeout"]);
    expect(reports.every((r) => r.code === "E_SIP_MESSAGE_TIMEOUT")).toBe(true);
    expect(lines.filter((l) => l.code === "E_SIP_MESSAGE_TIMEOUT" && l.level === 40)).toHaveLength(3);
  });

  it("TCP: a connection that sent complete messages may stay quiet (only the idle timeout applies)", async () => {
    const server = await layer({ tcp: true, limits: { messageTimeoutMs: 400, idleTimeoutMs: 60_000 } });
    const sIn = collect(server);
    const s = await tcpClient(server.address("TCP")!.port);
    const closed = closedSoon(s);
    // a message in two reads, split across its header section
    const one = rawRequest("ok1", "", "body");
    s.write(one.slice(0, 40));
    await sleep(50);
    s.write(one.slice(40) + rawRequest("ok2").slice(0, 30));
    await sleep(50);
    s.write(rawRequest("ok2").slice(30));
    await waitFor(() => sIn.messages.length === 2, 2000, "two messages");
    await sleep(1000);
    expect(closed()).toBe(false);
    expect(server.transport("TCP")!.connectionCount()).toBe(1);
  });

  it("WS: no upgrade, no first message, a stalled frame and a trickled frame are closed; a quiet connection is not", async () => {
    const { logger, lines } = captureLogger();
    const server = await layer({ ws: true, limits: { messageTimeoutMs: 300, idleTimeoutMs: 60_000 }, logger });
    const reports = closedReports(server);
    const port = server.address("WS")!.port;
    // 1. a TCP connection to the HTTP listener that never sends its upgrade request
    const raw = await tcpClient(port);
    const rawClosed = closedSoon(raw);
    // 2. an upgraded connection that never sends a message
    const quiet = await wsOpen(port);
    const quietClosed = closedSoon(quiet);
    // 3. one complete message, then half a frame
    const stall = await wsOpen(port);
    const stallClosed = closedSoon(stall);
    stall.send(rawRequest("s1").replace("SIP/2.0/TCP", "SIP/2.0/WS"));
    await waitFor(() => server.transport("WS")!.connectionCount() === 2, 2000, "two upgraded");
    await sleep(50);
    const sock = (stall as unknown as { _socket: Socket })._socket;
    sock.write(maskedTextFrame("OPTIONS sip:x SIP/2.0\r\n").subarray(0, 9));
    // 4. one complete message, then a frame trickled one byte every 40 ms (the idle timer is refreshed meanwhile)
    const trickle = await wsOpen(port);
    const trickleClosed = closedSoon(trickle);
    trickle.send(rawRequest("t1").replace("SIP/2.0/TCP", "SIP/2.0/WS"));
    const frame = maskedTextFrame(`${"x".repeat(100)}`);
    const tsock = (trickle as unknown as { _socket: Socket })._socket;
    let sent = 0;
    const timer = setInterval(() => {
      if (sent < frame.length && !tsock.destroyed) tsock.write(frame.subarray(sent, ++sent));
    }, 40);
    // 5. a healthy client: one message, then quiet
    const ok = await wsOpen(port);
    const okClosed = closedSoon(ok);
    ok.send(rawRequest("ok").replace("SIP/2.0/TCP", "SIP/2.0/WS"));
    try {
      await waitFor(() => rawClosed() && quietClosed() && stallClosed() && trickleClosed(), 5000, "four closed");
    } finally {
      clearInterval(timer);
    }
    expect(sent).toBeLessThan(frame.length);
    await sleep(400);
    expect(okClosed()).toBe(false);
    expect(server.transport("WS")!.connectionCount()).toBe(1);
    expect(reports.map((r) => r.reason)).toEqual(["message-timeout", "message-timeout", "message-timeout"]);
    expect(lines.filter((l) => l.code === "E_SIP_MESSAGE_TIMEOUT" && l.level === 40)).toHaveLength(4);
  });
});

describe("half-close and dead connections", () => {
  it("TCP: a peer that sends FIN after its request still gets the response (RFC 3261 §18.2.2), then the connection closes", async () => {
    const server = await layer({ tcp: true });
    const reports = closedReports(server);
    const sIn = collect(server);
    const s = await tcpClientOpts(server.address("TCP")!.port, true);
    const data: Buffer[] = [];
    s.on("data", (d) => data.push(d));
    let ended = false;
    s.on("end", () => {
      ended = true;
    });
    s.write(rawRequest("hc1"));
    s.end();
    await waitFor(() => sIn.messages.length === 1, 2000, "request");
    const got = sIn.messages[0]!;
    // the half-closed connection answers, but carries no new request
    await waitFor(() => !server.hasConnection("TCP", got.source.connectionId!), 2000, "FIN seen");
    expect(server.canRespond("TCP", got.source.connectionId!)).toBe(true);
    await sleep(100);
    await server.sendResponse(createResponse(got.msg, 200, undefined, { toTag: "t" }), got.source);
    await waitFor(() => ended, 2000, "server FIN after the response");
    expect((parseMessage(Buffer.concat(data), { datagram: false }) as SipResponse).status).toBe(200);
    await waitFor(() => reports.length === 1, 2000, "report");
    expect(reports[0]!.reason).toBe("peer-closed");
    expect(server.transport("TCP")!.connectionCount()).toBe(0);
  });

  it("TCP: a response to a peer whose connection died goes on a new connection to its sent-by (RFC 3261 §18.2.2)", async () => {
    const server = await layer({ tcp: true });
    const reports = closedReports(server);
    const sIn = collect(server);
    const home = await sentByListener();
    const s = await tcpClient(server.address("TCP")!.port);
    s.write(rawRequest("dead1").replace("127.0.0.1:1;", `127.0.0.1:${home.port};`));
    await waitFor(() => sIn.messages.length === 1, 2000, "request");
    s.resetAndDestroy();
    await waitFor(() => reports.length === 1, 2000, "reset seen");
    expect(reports[0]!.reason).toBe("reset");
    const got = sIn.messages[0]!;
    await server.sendResponse(createResponse(got.msg, 200, undefined, { toTag: "t" }), got.source);
    await waitFor(() => home.data().includes("SIP/2.0 200 OK"), 2000, "response at sent-by");
    expect(home.connections()).toBe(1);
    expect(server.transport("TCP")!.connectionCount()).toBe(1);
  });

  it("TCP: a write that fails on a connection that looked open fails over to a new connection", async () => {
    const server = await layer({ tcp: true });
    const sIn = collect(server);
    const home = await sentByListener();
    const s = await tcpClient(server.address("TCP")!.port);
    s.write(rawRequest("dead2").replace("127.0.0.1:1;", `127.0.0.1:${home.port};`));
    await waitFor(() => sIn.messages.length === 1, 2000, "request");
    const got = sIn.messages[0]!;
    // the peer vanished without FIN or RST reaching us: the write is where we learn it (EPIPE)
    breakWrites(server, got.source.connectionId!);
    await server.sendResponse(createResponse(got.msg, 200, undefined, { toTag: "t" }), got.source);
    await waitFor(() => home.data().includes("SIP/2.0 200 OK"), 2000, "response at sent-by");
    // a request toward a peer whose reused connection fails is sent again on a new one
    const b = await layer({ tcp: true });
    const bIn = collect(b);
    const bPort = b.address("TCP")!.port;
    const target = { transport: "TCP" as const, host: "127.0.0.1", port: bPort };
    const first = await server.sendRequest(options(server, "TCP", `sip:b@127.0.0.1:${bPort}`), target);
    breakWrites(server, first.connectionId!);
    const second = await server.sendRequest(options(server, "TCP", `sip:b@127.0.0.1:${bPort}`), target);
    expect(second.connectionId).not.toBe(first.connectionId);
    await waitFor(() => bIn.messages.length === 2, 2000, "both requests");
  });
});

/** Makes every write on one of a layer's TCP connections fail as a write to a vanished peer does (EPIPE). */
function breakWrites(l: SipTransportLayer, id: string): void {
  const table = (l.transport("TCP") as unknown as { table: { get(id: string): { socket: Socket } | undefined } }).table;
  const sock = table.get(id)?.socket;
  if (!sock) throw new Error(`no connection ${id}`);
  sock.write = ((_b: unknown, cb?: (e?: Error) => void) => {
    setImmediate(() => cb?.(Object.assign(new Error("write EPIPE"), { code: "EPIPE" })));
    return false;
  }) as Socket["write"];
}

describe("connection limits", () => {
  it("TCP and WS: the connection beyond maxConnections is refused and logged with E_SIP_CONNECTION_LIMIT", async () => {
    const { logger, lines } = captureLogger();
    const server = await layer({ tcp: true, ws: true, limits: { maxConnections: 1 }, logger });
    const tcpPort = server.address("TCP")!.port;
    await tcpClient(tcpPort);
    await waitFor(() => server.transport("TCP")!.connectionCount() === 1, 1000, "one");
    const second = await tcpClient(tcpPort);
    second.on("error", () => undefined);
    const secondClosed = closedSoon(second);
    await waitFor(secondClosed, 2000, "second refused");
    expect(server.transport("TCP")!.connectionCount()).toBe(1);
    const wsPort = server.address("WS")!.port;
    await wsOpen(wsPort);
    const refused = new WebSocket(`ws://127.0.0.1:${wsPort}/`, "sip");
    sockets.push({ destroy: () => refused.terminate() });
    const status = await new Promise<number>((resolve) => {
      refused.on("unexpected-response", (_req, res) => resolve(res.statusCode ?? 0));
      refused.on("error", () => resolve(-1));
    });
    expect(status).toBe(503);
    expect(lines.filter((l) => l.code === "E_SIP_CONNECTION_LIMIT" && l.level === 40).length).toBe(2);
  });
});
