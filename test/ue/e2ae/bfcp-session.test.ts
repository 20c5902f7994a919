/**
 * BFCP participant ↔ minimal floor control server (RFC 8855) over plain TCP on 127.0.0.1: Hello/HelloAck,
 * FloorRequest/FloorRequestStatus, queueing and server-initiated grants (Transaction ID 0), FloorRelease, Error
 * responses with their codes, malformed PDUs, timeouts.
 */
import net from "node:net";
import { afterEach, describe, expect, it } from "vitest";
import { BfcpErrorCode, BfcpFramer, type BfcpMessage, BfcpPrimitive, encodeBfcp } from "../../../src/ue/e2ae/bfcp.ts";
import { BfcpClient } from "../../../src/ue/e2ae/bfcpClient.ts";
import type { FloorRequestState } from "../../../src/ue/e2ae/bfcpFloorInfo.ts";
import { BfcpFloorServer } from "../../../src/ue/e2ae/bfcpFloorServer.ts";
import { activeResources, LOOPBACK, leakedHandles, tcpServer, waitFor, within } from "./helpers.ts";

const cleanups: Array<() => unknown> = [];
afterEach(async () => {
  for (const c of cleanups.splice(0).reverse()) await c();
});

async function serverWith(opts: { floorIds?: number[]; userIds?: number[] } = {}) {
  const fcs = new BfcpFloorServer({
    conferenceId: 4321,
    floorIds: opts.floorIds ?? [1, 2],
    ...(opts.userIds ? { userIds: opts.userIds } : {}),
  });
  const srv = await tcpServer((s) => fcs.attach(s));
  cleanups.push(
    () => srv.close(),
    () => fcs.close(),
  );
  return { fcs, port: srv.port };
}

async function client(port: number, userId: number, conferenceId = 4321, timeoutMs = 3000): Promise<BfcpClient> {
  const s = net.connect(port, LOOPBACK);
  await new Promise<void>((r) => s.once("connect", () => r()));
  const c = new BfcpClient(s, { conferenceId, userId, transactionTimeoutMs: timeoutMs });
  cleanups.push(() => c.close());
  return c;
}

describe("participant ↔ floor control server", () => {
  it("Hello/HelloAck lists the server's primitives and attributes (RFC 8855 §5.3.11-12)", async () => {
    const { port } = await serverWith();
    const c = await client(port, 1234);
    const h = await c.hello();
    expect(h.primitives).toEqual(
      expect.arrayContaining([BfcpPrimitive.FloorRequest, BfcpPrimitive.FloorRelease, BfcpPrimitive.Hello]),
    );
    expect(h.attributes).toEqual(expect.arrayContaining([2, 3, 5, 15]));
  });

  it("grant, queue, release → the queued request is granted by a server-initiated FloorRequestStatus (tid 0)", async () => {
    const { fcs, port } = await serverWith();
    const alice = await client(port, 1);
    const bob = await client(port, 2);
    const a = await alice.requestFloor([1]);
    expect(a).toMatchObject({ statusName: "Granted", floors: [{ floorId: 1 }] });
    expect(a.transactionId).not.toBe(0);
    const updates: FloorRequestState[] = [];
    bob.on("floorRequestStatus", (s) => updates.push(s));
    const b = await bob.requestFloor([1]);
    expect(b).toMatchObject({ statusName: "Pending", queuePosition: 1 });
    const released = await alice.releaseFloor(a.floorRequestId);
    expect(released.statusName).toBe("Released");
    await waitFor(() => updates.some((u) => u.transactionId === 0), 3000, "grant notification");
    expect(updates.find((u) => u.transactionId === 0)).toMatchObject({
      floorRequestId: b.floorRequestId,
      statusName: "Granted",
    });
    expect(fcs.holders().get(1)).toBe(b.floorRequestId);
    expect((await bob.queryFloorRequest(b.floorRequestId)).statusName).toBe("Granted");
  });

  it("a lost participant connection frees its floor for the next in line", async () => {
    const { fcs, port } = await serverWith();
    const alice = await client(port, 1);
    const bob = await client(port, 2);
    await alice.requestFloor([2]);
    const b = await bob.requestFloor([2]);
    const granted = within(
      new Promise<FloorRequestState>((r) => bob.on("floorRequestStatus", (s) => s.transactionId === 0 && r(s))),
      3000,
      "grant",
    );
    await alice.close();
    expect((await granted).floorRequestId).toBe(b.floorRequestId);
    expect(fcs.holders().get(2)).toBe(b.floorRequestId);
  });

  it("Goodbye/GoodbyeAck closes the participant", async () => {
    const { port } = await serverWith();
    const c = await client(port, 1);
    await c.goodbye();
    expect(c.isClosed).toBe(true);
  });
});

describe("Error responses (RFC 8855 §13) surface as E_BFCP_ERROR with the code", () => {
  it.each<[string, (port: number) => Promise<unknown>, number]>([
    ["unknown floor → 6", async (port) => (await client(port, 1)).requestFloor([99]), BfcpErrorCode.InvalidFloorId],
    [
      "unknown conference → 1",
      async (port) => (await client(port, 1, 777)).hello(),
      BfcpErrorCode.ConferenceDoesNotExist,
    ],
    [
      "unknown floor request id → 7",
      async (port) => (await client(port, 1)).releaseFloor(42),
      BfcpErrorCode.FloorRequestIdDoesNotExist,
    ],
    [
      "third-party request → 5",
      async (port) => (await client(port, 1)).requestFloor([1], { beneficiaryId: 9 }),
      BfcpErrorCode.UnauthorizedOperation,
    ],
  ])("%s", async (_n, run, code) => {
    const { port } = await serverWith();
    await expect(run(port)).rejects.toMatchObject({ code: "E_BFCP_ERROR", details: { errorCode: code } });
  });

  it("a user not in the server's list → 2", async () => {
    const { port } = await serverWith({ userIds: [5] });
    await expect((await client(port, 6)).hello()).rejects.toMatchObject({
      details: { errorCode: BfcpErrorCode.UserDoesNotExist },
    });
  });

  it("another user's floor request cannot be released → 5", async () => {
    const { port } = await serverWith();
    const a = await (await client(port, 1)).requestFloor([1]);
    await expect((await client(port, 2)).releaseFloor(a.floorRequestId)).rejects.toMatchObject({
      details: { errorCode: BfcpErrorCode.UnauthorizedOperation },
    });
  });
});

describe("hostile input at the server", () => {
  async function raw(port: number) {
    const s = net.connect(port, LOOPBACK);
    await new Promise<void>((r) => s.once("connect", () => r()));
    cleanups.push(() => s.destroy());
    const framer = new BfcpFramer();
    const got: BfcpMessage[] = [];
    s.on("data", (d: Buffer) => {
      for (const e of framer.push(d)) if (e.type === "message") got.push(e.message);
    });
    s.on("error", () => {});
    return { s, got };
  }
  const hdr = { version: 1, responder: false, conferenceId: 4321, userId: 1 };

  it("unknown primitive → 3; unknown mandatory attribute → 4 listing it; malformed attribute → 10", async () => {
    const { port } = await serverWith();
    const { s, got } = await raw(port);
    s.write(encodeBfcp({ ...hdr, primitive: 77, transactionId: 11, attributes: [] }));
    s.write(
      encodeBfcp({
        ...hdr,
        primitive: BfcpPrimitive.Hello,
        transactionId: 12,
        attributes: [{ type: "UNKNOWN", code: 100, mandatory: true, contents: new Uint8Array(2) }],
      }),
    );
    s.write(Buffer.from("200100010000 10e1 000d 0001 0501 0000".replace(/ /g, ""), "hex"));
    // an unknown attribute without M is ignored
    s.write(
      encodeBfcp({
        ...hdr,
        primitive: BfcpPrimitive.Hello,
        transactionId: 14,
        attributes: [{ type: "UNKNOWN", code: 100, mandatory: false, contents: new Uint8Array(2) }],
      }),
    );
    await waitFor(() => got.length === 4, 3000, "4 answers");
    const summary = got.map((m) => [
      m.transactionId,
      m.primitive,
      m.attributes[0]?.type === "ERROR-CODE" ? m.attributes[0].code : undefined,
    ]);
    expect(summary).toEqual([
      [11, BfcpPrimitive.Error, BfcpErrorCode.UnknownPrimitive],
      [12, BfcpPrimitive.Error, BfcpErrorCode.UnknownMandatoryAttribute],
      [13, BfcpPrimitive.Error, BfcpErrorCode.UnableToParseMessage],
      [14, BfcpPrimitive.HelloAck, undefined],
    ]);
    const e4 = got[1]?.attributes[0];
    expect(e4?.type === "ERROR-CODE" && Array.from(e4.details)).toEqual([100 << 1]);
    expect(got.every((m) => m.responder)).toBe(true);
  });

  it("an unsupported version → Error 12, then the server closes the connection", async () => {
    const { port } = await serverWith();
    const { s, got } = await raw(port);
    const closed = within(new Promise<void>((r) => s.once("close", () => r())), 3000, "close");
    s.write(Buffer.from("600b0000 000010e1 0009 0001".replace(/ /g, ""), "hex"));
    await closed;
    expect(got).toHaveLength(1);
    expect(got[0]).toMatchObject({ primitive: BfcpPrimitive.Error, transactionId: 9 });
    expect(got[0]?.attributes[0]).toMatchObject({ type: "ERROR-CODE", code: BfcpErrorCode.UnsupportedVersion });
  });

  it("a silent server → E_BFCP_TIMEOUT at the participant", async () => {
    const silent = await tcpServer(() => {});
    cleanups.push(() => silent.close());
    const c = await client(silent.port, 1, 4321, 200);
    await expect(c.hello()).rejects.toMatchObject({ code: "E_BFCP_TIMEOUT" });
  });

  it("no leaked sockets", async () => {
    const before = activeResources();
    const { port } = await serverWith();
    const c = await client(port, 1);
    await c.hello();
    for (const x of cleanups.splice(0).reverse()) await x();
    expect(await leakedHandles(before)).toEqual({});
  });
});
