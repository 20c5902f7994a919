/**
 * Holes 5–8 of docs/werift-patches.md and the DTLS client start delay.
 *
 * Hole 5: DTLS record sequence numbers on the wire: Finished is epoch 1 seq 0, nothing repeats within an epoch.
 * Hole 6: no STUN server configured → no DNS lookup and no datagram to anything but the peer on 127.0.0.1.
 * Hole 7: partial reliability (maxRetransmits 0, maxPacketLifeTime in ms, abandoning the right message).
 * Hole 8: an inbound message larger than our advertised max-message-size is dropped with an error event.
 */
import { beforeAll, describe, expect, it } from "vitest";
import {
  assertMessagesFlow,
  type ChannelSpec,
  type DtlsRole,
  type Endpoint,
  loadWerift,
  networkViolations,
  pairWerift,
  sleep,
  WERIFT_BUILDS,
  type Werift,
  waitFor,
} from "./harness.ts";

describe.each(WERIFT_BUILDS)("werift %s build", (build) => {
  let werift: Werift;
  beforeAll(async () => {
    werift = await loadWerift(build);
  });

  describe("hole 5: DTLS record sequence numbers (RFC 6347 §4.1)", () => {
    it.each<[DtlsRole]>([["server"], ["client"]])(
      "hole 5: Finished is epoch 1 seq 0 and no (epoch, seq) repeats on the wire (A is DTLS %s)",
      async (roleA) => {
        const pair = await pairWerift({
          werift,
          a: { role: roleA },
          b: { role: roleA === "server" ? "client" : "server" },
        });
        try {
          expect(pair.resultA.status).toBe("fulfilled");
          expect(pair.resultB.status).toBe("fulfilled");
          for (let i = 0; i < 15; i++) await assertMessagesFlow(pair.a, pair.b, `m${i}`);
          for (const ep of [pair.a, pair.b]) {
            const epoch1 = ep.sentRecords.filter((r) => r.epoch === 1);
            expect(epoch1[0], `${ep.name}: first epoch-1 record`).toMatchObject({ contentType: 22, seq: 0 });
            expect(epoch1.length).toBeGreaterThan(15);
            for (const epoch of [0, 1]) {
              const seqs = ep.sentRecords.filter((r) => r.epoch === epoch).map((r) => r.seq);
              expect(new Set(seqs).size, `${ep.name}: epoch ${epoch} sequence numbers ${seqs.join(",")}`).toBe(
                seqs.length,
              );
            }
          }
        } finally {
          await pair.close();
        }
      },
      15_000,
    );
  });

  describe("hole 6: no STUN/DNS traffic without a configured STUN server", () => {
    it("hole 6: gathering with default options and a full loopback session send nothing off-host and do no DNS", async () => {
      networkViolations.length = 0;
      const w = werift;
      // Default options (all interfaces, no stunServer): only host candidates, no STUN binding to anyone.
      const gatherer = new w.RTCIceGatherer({});
      await gatherer.gather();
      expect(networkViolations).toEqual([]);
      expect(gatherer.localCandidates.every((c) => c.type === "host")).toBe(true);
      expect(gatherer.connection.stunServer).toBeUndefined();
      await gatherer.connection.close();
      // RTCPeerConnection's default configuration carries no public STUN server either.
      const pc = new w.RTCPeerConnection();
      expect(pc.config.iceServers).toEqual([]);
      await pc.close();
      const pair = await pairWerift({ werift });
      try {
        await assertMessagesFlow(pair.a, pair.b, "hole6");
      } finally {
        await pair.close();
      }
      expect(networkViolations).toEqual([]);
    }, 15_000);
  });

  describe("DTLS client start", () => {
    it("the DTLS client sends its ClientHello right after ICE connects (no fixed 100 ms delay)", async () => {
      const delays: number[] = [];
      for (const roleA of ["client", "server"] as const) {
        const pair = await pairWerift({
          werift,
          a: { role: roleA },
          b: { role: roleA === "client" ? "server" : "client" },
        });
        try {
          const client = roleA === "client" ? pair.a : pair.b;
          const firstRecord = client.sentRecords[0];
          expect(firstRecord?.contentType).toBe(22);
          delays.push((firstRecord?.at ?? Number.POSITIVE_INFINITY) - client.iceConnectedAt);
        } finally {
          await pair.close();
        }
      }
      for (const d of delays) expect(d).toBeLessThan(50);
    }, 15_000);
  });

  /** Sends n messages A→B on channel `id` with 30 % outbound loss at A; returns how many arrived after `waitMs`. */
  async function lossyDelivery(
    spec: ChannelSpec,
    n: number,
    waitMs: number,
    quietMs = 1500,
  ): Promise<{ delivered: number; a: Endpoint }> {
    const pair = await pairWerift({ werift, a: { channels: [spec] }, b: { channels: [spec] } });
    try {
      expect(pair.resultA.status).toBe("fulfilled");
      expect(pair.resultB.status).toBe("fulfilled");
      // werift's debug hook drops an outbound DTLS record when outboundPacketLoss/100 < Math.random():
      // 70 → 30 % of A's records are lost (SCTP DATA and FORWARD-TSN; B's SACKs are not affected).
      pair.a.dtls.config.debug = { outboundPacketLoss: 70 };
      for (let i = 0; i < n; i++) {
        pair.a.channel(spec.id).send(`m${i}`);
        await sleep(3);
      }
      // until everything arrived, nothing new arrived for quietMs, or waitMs passed
      const end = Date.now() + waitMs;
      let last = -1;
      let lastChange = Date.now();
      while (Date.now() < end && pair.b.messages(spec.id).length < n) {
        const now = pair.b.messages(spec.id).length;
        if (now !== last) {
          last = now;
          lastChange = Date.now();
        } else if (Date.now() - lastChange > quietMs) break;
        await sleep(50);
      }
      if (process.env.PR_DEBUG) console.log("PR", JSON.stringify(spec), pair.b.messages(spec.id).length);
      return { delivered: pair.b.messages(spec.id).length, a: pair.a };
    } finally {
      await pair.close();
    }
  }

  describe("hole 7: SCTP partial reliability (RFC 3758, RFC 8831 §6.6)", () => {
    it("hole 7: an unordered maxRetransmits:0 channel abandons lost messages (30 % loss)", async () => {
      const { delivered } = await lossyDelivery({ id: 1, ordered: false, maxRetransmits: 0 }, 100, 4000, 2000);
      expect(delivered).toBeGreaterThan(30);
      expect(delivered).toBeLessThan(92);
    }, 15_000);

    it("hole 7: an unordered maxPacketLifeTime:5 ms channel abandons lost messages (30 % loss)", async () => {
      // on loopback a loss is detected (3 missing reports, ~10 ms) after the 5 ms lifetime has passed
      const { delivered } = await lossyDelivery({ id: 1, ordered: false, maxPacketLifeTime: 5 }, 100, 4000, 2000);
      expect(delivered).toBeGreaterThan(30);
      expect(delivered).toBeLessThan(92);
    }, 15_000);

    it("hole 7: an ordered maxRetransmits:0 channel skips lost messages in order and keeps working", async () => {
      // needs the FORWARD TSN to be resent when lost (RFC 3758 §3.5 C3), else the ordered stream stalls for good
      const spec: ChannelSpec = { id: 1, ordered: true, maxRetransmits: 0 };
      const pair = await pairWerift({ werift, a: { channels: [spec] }, b: { channels: [spec] } });
      try {
        expect(pair.resultA.status).toBe("fulfilled");
        pair.a.dtls.config.debug = { outboundPacketLoss: 70 };
        const n = 60;
        for (let i = 0; i < n; i++) {
          pair.a.channel(1).send(`o${i}`);
          await sleep(3);
        }
        await sleep(1500);
        pair.a.dtls.config.debug = {};
        pair.a.channel(1).send("final");
        await waitFor(() => pair.b.messages(1).map(String).includes("final"), 6000, "final message");
        const got = pair.b
          .messages(1)
          .map(String)
          .filter((m) => m !== "final");
        const order = got.map((m) => Number(m.slice(1)));
        expect(order).toEqual([...order].sort((x, y) => x - y));
        expect(got.length).toBeLessThan(n - 3);
      } finally {
        await pair.close();
      }
    }, 15_000);

    it("hole 7: abandoning a partially reliable message never drops a message of a reliable channel", async () => {
      // One association, a reliable channel 1 and a maxRetransmits:1 channel 2, 30 % loss. Unpatched werift
      // abandons "the first DATA chunk of the queue" instead of the exhausted one, i.e. often a reliable message.
      const specs: ChannelSpec[] = [
        { id: 1, ordered: true },
        { id: 2, ordered: false, maxRetransmits: 1 },
      ];
      const pair = await pairWerift({ werift, a: { channels: specs }, b: { channels: specs } });
      try {
        expect(pair.resultA.status).toBe("fulfilled");
        pair.a.dtls.config.debug = { outboundPacketLoss: 70 };
        const n = 60;
        for (let i = 0; i < n; i++) {
          pair.a.channel(1).send(`r${i}`);
          pair.a.channel(2).send(`p${i}`);
          await sleep(3);
        }
        await waitFor(() => pair.b.messages(1).length === n, 10_000, "reliable channel complete").catch(() => {});
        if (process.env.PR_DEBUG) console.log("PR mixed", pair.b.messages(1).length, pair.b.messages(2).length);
        expect(pair.b.messages(1).map(String)).toEqual([...Array(n).keys()].map((i) => `r${i}`));
      } finally {
        await pair.close();
      }
    }, 15_000);

    it("hole 7: a reliable channel still delivers everything under the same loss", async () => {
      const { delivered } = await lossyDelivery({ id: 1, ordered: true }, 40, 10_000, 10_000);
      expect(delivered).toBe(40);
    }, 15_000);
  });

  describe("hole 8: inbound max-message-size (RFC 8841 §6)", () => {
    it("hole 8: a message larger than our advertised max-message-size is dropped and reported", async () => {
      const pair = await pairWerift({ werift, b: { maxMessageSize: 1024 } });
      try {
        expect(pair.resultA.status).toBe("fulfilled");
        // a peer that ignores our a=max-message-size
        pair.a.sctp.remoteMaxMessageSize = 0;
        pair.a.channel(0).send(Buffer.alloc(4096, 1));
        await waitFor(() => pair.b.channelErrors.length > 0, 3000, "error event");
        expect(pair.b.channelErrors[0]?.message).toMatch(/exceeds max-message-size 1024/);
        pair.a.channel(0).send(Buffer.alloc(1024, 2));
        await waitFor(() => pair.b.messages(0).length > 0, 3000, "small message");
        expect(pair.b.messages(0).map((m) => m.length)).toEqual([1024]);
        await assertMessagesFlow(pair.a, pair.b, "hole8");
      } finally {
        await pair.close();
      }
    }, 15_000);
  });
});
