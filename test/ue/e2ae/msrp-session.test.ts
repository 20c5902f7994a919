/**
 * MsrpSession (RFC 4975) over plain TCP on 127.0.0.1: chunking and reassembly (1 MiB in 16 KiB chunks, interleaved
 * messages), responses and error statuses, To-Path matching, bodiless SEND, REPORT, timeouts, hostile input.
 */
import { createHash, randomBytes } from "node:crypto";
import net from "node:net";
import { afterEach, describe, expect, it } from "vitest";
import { E2aeError } from "../../../src/ue/e2ae/errors.ts";
import { encodeMsrp } from "../../../src/ue/e2ae/msrpEncode.ts";
import { MsrpParser } from "../../../src/ue/e2ae/msrpParser.ts";
import { type MsrpMessage, MsrpSession, type MsrpSessionOptions } from "../../../src/ue/e2ae/msrpSession.ts";
import type { MsrpRequest } from "../../../src/ue/e2ae/msrpTypes.ts";
import { activeResources, LOOPBACK, leakedHandles, waitFor, within } from "./helpers.ts";

const A = "msrp://127.0.0.1:7001/alice-sid;tcp";
const B = "msrp://127.0.0.1:7002/bob-sid;tcp";

const cleanups: Array<() => unknown> = [];
afterEach(async () => {
  for (const c of cleanups.splice(0).reverse()) await c();
});

async function socketPair(): Promise<[net.Socket, net.Socket]> {
  const server = net.createServer();
  await new Promise<void>((r) => server.listen(0, LOOPBACK, () => r()));
  const port = (server.address() as net.AddressInfo).port;
  const accepted = new Promise<net.Socket>((r) => server.once("connection", r));
  const a = net.connect(port, LOOPBACK);
  await new Promise<void>((r) => a.once("connect", () => r()));
  const b = await accepted;
  server.close(); // stops listening; the accepted connection lives on
  cleanups.push(() => {
    a.destroy();
    b.destroy();
  });
  return [a, b];
}

async function pair(
  aOpts: Partial<MsrpSessionOptions> = {},
  bOpts: Partial<MsrpSessionOptions> = {},
): Promise<[MsrpSession, MsrpSession]> {
  const [sa, sb] = await socketPair();
  const a = new MsrpSession(sa, { localPath: [A], remotePath: [B], ...aOpts });
  const b = new MsrpSession(sb, { localPath: [B], remotePath: [A], ...bOpts });
  cleanups.push(
    () => a.close(),
    () => b.close(),
  );
  return [a, b];
}

function nextMessage(s: MsrpSession, ms = 10_000): Promise<MsrpMessage> {
  return within(new Promise<MsrpMessage>((r) => s.once("message", r)), ms, "MSRP message");
}

describe("SEND / 200", () => {
  it("a short message arrives with its type; send() resolves on the 200", async () => {
    const [a, b] = await pair();
    const got = nextMessage(b);
    const r = await a.send("Hey Bob, are you there?", "text/plain");
    expect(r).toMatchObject({ chunks: 1, bytes: 23 });
    const m = await got;
    expect(m.content.toString()).toBe("Hey Bob, are you there?");
    expect(m.contentType).toBe("text/plain");
    expect(m.messageId).toBe(r.messageId);
  });

  it("1 MiB in 16 KiB chunks (RFC 4975 §5.1) is reassembled intact, both directions at once", async () => {
    const [a, b] = await pair({ chunkSize: 16 * 1024 }, { chunkSize: 16 * 1024 });
    const big1 = randomBytes(1024 * 1024);
    const big2 = randomBytes(1024 * 1024 + 7);
    const gotB = nextMessage(b, 20_000);
    const gotA = nextMessage(a, 20_000);
    const [r1, r2] = await Promise.all([
      a.send(big1, "application/octet-stream"),
      b.send(big2, "application/octet-stream"),
    ]);
    expect(r1.chunks).toBe(64);
    expect(r2.chunks).toBe(65);
    const [mb, ma] = await Promise.all([gotB, gotA]);
    expect(createHash("sha256").update(mb.content).digest("hex")).toBe(createHash("sha256").update(big1).digest("hex"));
    expect(ma.content.equals(big2)).toBe(true);
    expect(mb.chunks).toBe(64);
  }, 30_000);

  it("interleaved messages (RFC 4975 §5.1: chunks of several Message-IDs may alternate) are kept apart", async () => {
    const [a, b] = await pair({ chunkSize: 100, window: 4 });
    const msgs = [randomBytes(5000), randomBytes(3333), randomBytes(1)];
    const got: MsrpMessage[] = [];
    b.on("message", (m) => got.push(m));
    const sent = await Promise.all(msgs.map((m) => a.send(m, "application/octet-stream")));
    await waitFor(() => got.length === 3, 5000, "3 messages");
    for (const [i, s] of sent.entries()) {
      const m = got.find((g) => g.messageId === s.messageId);
      expect(m?.content.equals(msgs[i] as Buffer)).toBe(true);
    }
    expect(b.stats.framesIn).toBe(50 + 34 + 1);
  });

  it("an empty message is delivered; a bodiless SEND binds without delivering", async () => {
    const [a, b] = await pair();
    const got: MsrpMessage[] = [];
    b.on("message", (m) => got.push(m));
    await a.bind();
    await a.send("", "text/plain");
    await waitFor(() => got.length === 1, 3000, "empty message");
    expect(got[0]?.content.length).toBe(0);
  });

  it("success reports on request (RFC 4975 §7.1.3)", async () => {
    const [a, b] = await pair();
    const rep = within(new Promise((r) => a.once("report", r)), 3000, "REPORT");
    const s = await a.send("ping", "text/plain", { successReport: true });
    expect(await rep).toEqual({
      messageId: s.messageId,
      status: { namespace: "000", code: 200, reason: "OK" },
      byteRange: { start: 1, end: 4, total: 4 },
    });
    expect(b.stats.messagesIn).toBe(1);
  });
});

describe("refusals are answered and the session goes on", () => {
  it("415 for a type outside accept-types (RFC 4975 §8.6)", async () => {
    const [a, b] = await pair({}, { acceptTypes: ["message/cpim"] });
    const errors: E2aeError[] = [];
    b.on("protocolError", (e) => errors.push(e));
    await expect(a.send("x", "text/plain")).rejects.toMatchObject({
      code: "E_MSRP_RESPONSE",
      details: { status: 415 },
    });
    expect(errors[0]?.code).toBe("E_MSRP_HEADER");
    await a.send("<cpim/>", "message/cpim");
  });

  it("481 when To-Path is not this session (RFC 4975 §7.3); session-id mode accepts a rewritten URI", async () => {
    const [a, b] = await pair({ remotePath: ["msrp://10.9.9.9:1234/bob-sid;tcp"] });
    const errors: E2aeError[] = [];
    b.on("protocolError", (e) => errors.push(e));
    await expect(a.send("x", "text/plain")).rejects.toMatchObject({ details: { status: 481 } });
    expect(errors[0]?.code).toBe("E_MSRP_PATH_MISMATCH");
    const [c, d] = await pair({ remotePath: ["msrp://10.9.9.9:1234/bob-sid;tcp"] }, { pathMatch: "session-id" });
    const got = nextMessage(d);
    await c.send("y", "text/plain");
    expect((await got).content.toString()).toBe("y");
    const [e, f] = await pair({ remotePath: ["msrp://127.0.0.1:7002/other;tcp"] }, { pathMatch: "session-id" });
    await expect(e.send("z", "text/plain")).rejects.toMatchObject({ details: { status: 481 } });
    expect(f.stats.messagesIn).toBe(0);
  });

  it("413 for a message above maxMessageBytes; the sender stops sending it", async () => {
    const [a, b] = await pair({ chunkSize: 1000, window: 1 }, { maxMessageBytes: 4000 });
    await expect(a.send(randomBytes(10_000), "text/plain")).rejects.toMatchObject({ details: { status: 413 } });
    expect(b.stats.framesIn).toBe(1); // the first chunk announced total 10000: refused at once
    expect(b.stats.messagesIn).toBe(0);
  });

  it("malformed requests get 400, unknown methods 501, REPORTs are never answered", async () => {
    const [raw, sb] = await socketPair();
    const b = new MsrpSession(sb, { localPath: [B], remotePath: [A] });
    cleanups.push(() => b.close());
    const parser = new MsrpParser();
    const statuses: number[] = [];
    raw.on("data", (d: Buffer) => {
      for (const e of parser.push(d))
        if (e.type === "frame" && e.frame.kind === "response") statuses.push(e.frame.status);
    });
    const req = (patch: Partial<MsrpRequest>): Buffer =>
      encodeMsrp({
        kind: "request",
        transactionId: "t0001",
        method: "SEND",
        toPath: [B],
        fromPath: [A],
        messageId: "m0001",
        headers: [],
        continuation: "$",
        ...patch,
      });
    raw.write(`MSRP t1bad SEND\r\nTo-Path: ${B}\r\nFrom-Path: ${A}\r\nByte-Range: x\r\n-------t1bad$\r\n`);
    raw.write(req({ transactionId: "t2nomid", messageId: undefined as unknown as string }));
    raw.write(req({ transactionId: "t3meth", method: "FOO" }));
    raw.write(req({ transactionId: "t4rep", method: "REPORT", status: { namespace: "000", code: 200 } }));
    raw.write(
      req({
        transactionId: "t5range",
        byteRange: { start: 1, end: 9, total: 9 },
        contentType: "text/plain",
        body: Buffer.from("abc"),
      }),
    );
    raw.write(req({ transactionId: "t6ok", contentType: "text/plain", body: Buffer.from("fine") }));
    await waitFor(() => statuses.length === 5, 3000, "5 responses");
    expect(statuses).toEqual([400, 400, 501, 400, 200]);
    expect(b.stats.messagesIn).toBe(1);
    expect(b.isClosed).toBe(false);
  });

  it("Failure-Report: no → no response at all; partial → only errors", async () => {
    const [raw, sb] = await socketPair();
    const b = new MsrpSession(sb, { localPath: [B], remotePath: [A], acceptTypes: ["text/plain"] });
    cleanups.push(() => b.close());
    const parser = new MsrpParser();
    const tids: string[] = [];
    raw.on("data", (d: Buffer) => {
      for (const e of parser.push(d))
        if (e.type === "frame")
          tids.push(`${e.frame.transactionId}:${e.frame.kind === "response" ? e.frame.status : ""}`);
    });
    const base = {
      kind: "request" as const,
      method: "SEND",
      toPath: [B],
      fromPath: [A],
      headers: [],
      continuation: "$" as const,
    };
    raw.write(
      encodeMsrp({
        ...base,
        transactionId: "fno1",
        messageId: "m001",
        failureReport: "no",
        contentType: "image/png",
        body: Buffer.from("x"),
      }),
    );
    raw.write(
      encodeMsrp({
        ...base,
        transactionId: "fpa1",
        messageId: "m002",
        failureReport: "partial",
        contentType: "text/plain",
        body: Buffer.from("x"),
      }),
    );
    raw.write(
      encodeMsrp({
        ...base,
        transactionId: "fpa2",
        messageId: "m003",
        failureReport: "partial",
        contentType: "image/png",
        body: Buffer.from("x"),
      }),
    );
    raw.write(
      encodeMsrp({
        ...base,
        transactionId: "fye1",
        messageId: "m004",
        contentType: "text/plain",
        body: Buffer.from("x"),
      }),
    );
    await waitFor(() => tids.length === 2, 3000, "2 responses");
    expect(tids).toEqual(["fpa2:415", "fye1:200"]);
  });

  it("garbage closes the session with a typed error; pending sends fail E_MSRP_CLOSED", async () => {
    const [raw, sb] = await socketPair();
    const b = new MsrpSession(sb, { localPath: [B], remotePath: [A], transactionTimeoutMs: 10_000 });
    const closed = within(new Promise<E2aeError | undefined>((r) => b.once("close", r)), 3000, "close");
    const pending = b.send("x", "text/plain");
    raw.write("GET / HTTP/1.1\r\n\r\n");
    expect((await closed)?.code).toBe("E_MSRP_START_LINE");
    await expect(pending).rejects.toMatchObject({ code: "E_MSRP_CLOSED" });
    await expect(b.send("y", "text/plain")).rejects.toBeInstanceOf(E2aeError);
  });

  it("no response in time → E_MSRP_TIMEOUT (RFC 4975 §7.1.1)", async () => {
    const [, sb] = await socketPair(); // the raw side never answers
    const b = new MsrpSession(sb, { localPath: [B], remotePath: [A], transactionTimeoutMs: 200 });
    cleanups.push(() => b.close());
    await expect(b.send("x", "text/plain")).rejects.toMatchObject({ code: "E_MSRP_TIMEOUT" });
  });
});

describe("resources", () => {
  it("close() releases the sockets", async () => {
    const before = activeResources();
    const [a, b] = await pair();
    await a.send("x", "text/plain");
    await a.close();
    await b.close();
    expect(await leakedHandles(before)).toEqual({});
  });
});
