import { createSocket } from "node:dgram";
import { connect, type Socket } from "node:net";
import { afterEach, beforeEach, describe, expect, it } from "vitest";
import WebSocket from "ws";
import { SipStreamFramer } from "../../src/sip/framing.ts";
import { getParam } from "../../src/sip/grammar.ts";
import { createResponse, type SipResponse } from "../../src/sip/message.ts";
import { parseMessage } from "../../src/sip/parse.ts";
import { responseTarget, SipTransportLayer } from "../../src/sip/transport/layer.ts";
import type { SipTransportProtocol } from "../../src/sip/transport/types.ts";
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
