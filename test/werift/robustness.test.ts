/**
 * Holes 3 and 4 of docs/werift-patches.md: unauthenticated input must not hurt an established session.
 *
 * Hole 3: one datagram from an off-path sender (a fresh UDP port ICE never validated) – plaintext alerts, unknown
 *         content types, a plaintext ClientHello, forged handshake messages, records that fail authentication,
 *         garbage – leaves the session working in both directions.
 * Hole 4: SCTP DATA with an unexpected PPID or a DCEP ACK/OPEN for an unknown or inconsistent stream is dropped:
 *         no unhandled rejection (which terminates Node by default), the channel stays open.
 */
import { randomBytes } from "node:crypto";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import {
  assertMessagesFlow,
  clientHelloBody,
  dtlsHandshake,
  dtlsRecord,
  loadWerift,
  pairWerift,
  sendFromOffPath,
  sleep,
  WERIFT_BUILDS,
  type Werift,
} from "./harness.ts";

const injections: [string, () => Buffer][] = [
  ["plaintext warning alert close_notify (epoch 0)", () => dtlsRecord(21, 0, 99, Buffer.from([1, 0]))],
  ["plaintext fatal alert handshake_failure (epoch 0)", () => dtlsRecord(21, 0, 99, Buffer.from([2, 40]))],
  ["record with unknown content type 30", () => dtlsRecord(30, 0, 99, Buffer.from([0]))],
  ["record with unknown content type 63 in epoch 1", () => dtlsRecord(63, 1, 99, randomBytes(32))],
  ["plaintext ClientHello (renegotiation attempt)", () => dtlsRecord(22, 0, 99, dtlsHandshake(1, clientHelloBody()))],
  [
    "plaintext ServerHelloDone (would re-run flight 5)",
    () => dtlsRecord(22, 0, 99, dtlsHandshake(14, Buffer.alloc(0), 5)),
  ],
  ["plaintext Finished", () => dtlsRecord(22, 0, 99, dtlsHandshake(20, randomBytes(12), 6))],
  ["epoch-1 alert that fails authentication", () => dtlsRecord(21, 1, 1000, randomBytes(26))],
  ["epoch-1 application data that fails authentication", () => dtlsRecord(23, 1, 1000, randomBytes(64))],
  ["epoch-2 application data", () => dtlsRecord(23, 2, 0, randomBytes(64))],
  ["truncated record header", () => Buffer.from([23, 0xfe, 0xfd, 0, 1])],
  ["record claiming more bytes than the datagram", () => dtlsRecord(23, 1, 5, randomBytes(40)).subarray(0, 30)],
  ["random garbage", () => Buffer.concat([Buffer.from([0x16]), randomBytes(200)])],
  [
    "STUN-looking garbage",
    () => Buffer.concat([Buffer.from([0x00, 0x01, 0x00, 0x08, 0x21, 0x12, 0xa4, 0x42]), randomBytes(20)]),
  ],
  ["RTP-looking garbage", () => Buffer.concat([Buffer.from([0x80, 0x60]), randomBytes(100)])],
];

describe.each(WERIFT_BUILDS)("werift %s build", (build) => {
  let werift: Werift;
  beforeAll(async () => {
    werift = await loadWerift(build);
  });

  describe("hole 3: off-path datagrams leave an established DTLS session working (RFC 6347 §4.1.2.7)", () => {
    it.each(injections)(
      "hole 3: %s from another UDP port, sent to both peers, is ignored",
      async (_name, make) => {
        const pair = await pairWerift({ werift, a: { role: "server" }, b: { role: "client" } });
        try {
          expect(pair.resultA.status).toBe("fulfilled");
          expect(pair.resultB.status).toBe("fulfilled");
          await assertMessagesFlow(pair.a, pair.b, "before");
          await sendFromOffPath(pair.a.port, make());
          await sendFromOffPath(pair.b.port, make());
          await sleep(250);
          expect(pair.a.dtls.state).toBe("connected");
          expect(pair.b.dtls.state).toBe("connected");
          expect(pair.a.channel(0).readyState).toBe("open");
          expect(pair.b.channel(0).readyState).toBe("open");
          await assertMessagesFlow(pair.a, pair.b, "after");
        } finally {
          await pair.close();
        }
      },
      15_000,
    );
  });

  describe("hole 4: bad SCTP/DCEP input is dropped, never an unhandled rejection (RFC 8831 §8, RFC 8832)", () => {
    const rejections: unknown[] = [];
    const onRejection = (reason: unknown): void => {
      rejections.push(reason);
    };
    beforeAll(() => {
      process.on("unhandledRejection", onRejection);
    });
    afterAll(() => {
      process.off("unhandledRejection", onRejection);
    });

    it("hole 4: unknown PPIDs and stray/inconsistent DCEP ACK/OPEN leave the process alive and the channel open", async () => {
      const pair = await pairWerift({ werift, a: { role: "server" }, b: { role: "client" } });
      try {
        expect(pair.resultA.status).toBe("fulfilled");
        expect(pair.resultB.status).toBe("fulfilled");
        const remoteChannels: number[] = [];
        pair.b.sctp.onDataChannel.subscribe((ch) => {
          remoteChannels.push(ch.id);
        });
        const dcepOpen = (label: string, declaredLabelLength = label.length): Buffer => {
          const h = Buffer.alloc(12);
          h.writeUInt8(3, 0); // DATA_CHANNEL_OPEN
          h.writeUInt8(0, 1); // reliable
          h.writeUInt16BE(declaredLabelLength, 8);
          return Buffer.concat([h, Buffer.from(label)]);
        };
        const raw = pair.a.sctp.sctp;
        const bad: [number, number, Buffer][] = [
          [0, 52, Buffer.from("x")], // PPID 52 (deprecated WebRTC Binary Partial) on the negotiated stream
          [0, 99, Buffer.from("y")], // unassigned PPID
          [7, 50, Buffer.from([2])], // DCEP ACK on a stream without a channel
          [0, 50, Buffer.from([2])], // DCEP ACK on the negotiated stream (we never sent OPEN)
          [0, 50, dcepOpen("hijack")], // DCEP OPEN for the stream of a negotiated channel
          [9, 50, dcepOpen("short", 200)], // DCEP OPEN whose label length exceeds the message
        ];
        for (const [stream, ppid, data] of bad) {
          await raw.send(stream, ppid, data);
        }
        await sleep(400);
        expect(rejections).toEqual([]);
        expect(remoteChannels).toEqual([]);
        expect(pair.b.channel(0).readyState).toBe("open");
        expect(pair.b.channel(0).label).toBe("dc0");
        expect(pair.b.messages(0)).toEqual([]);
        await assertMessagesFlow(pair.a, pair.b, "after-bad-sctp");
      } finally {
        await pair.close();
      }
    }, 15_000);
  });
});
