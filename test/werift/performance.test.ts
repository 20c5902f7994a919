/**
 * Performance changes of the werift patch (docs/werift-patches.md, "Performance"), as regression tests with bounds
 * generous enough for a loaded 2-core CI machine. Each test notes what unpatched werift did.
 *
 * - SCTP bundling (RFC 4960 §6.10) and a byte-counting congestion window (§7.2.1): a synchronous burst of small
 *   messages leaves in few, full packets instead of one datagram per message (which overflowed the peer's UDP
 *   receive buffer and ended in T3 backoff: 2–7 s for 1000 messages).
 * - Delayed SACK (RFC 4960 §6.2): about one SACK per two DATA packets, not one per packet.
 * - Zero checksum (RFC 9653) is negotiated between two patched peers.
 * - CPU per packet: the delayed-SACK timer is one lazily re-armed timer (not one per SACK); the send path hands a
 *   datagram to the socket without a DNS lookup and without a promise per layer.
 * - Setup: a ClientHello that arrives before our DTLS transport has started is kept and answered (it used to be
 *   lost, and the handshake waited for the client's retransmission timer: +0.5 s werift↔werift, +1 s with
 *   libdatachannel as the DTLS client).
 */
import { createHook } from "node:async_hooks";
import dns from "node:dns";
import { beforeAll, describe, expect, it } from "vitest";
import {
  Endpoint,
  loadWerift,
  type Pair,
  pairWerift,
  pairWithNdc,
  sleep,
  WERIFT_BUILDS,
  type Werift,
  waitFor,
  withTimeout,
} from "./harness.ts";

/** DTLS application-data records (content type 23) an endpoint sent from index `from` on: one per SCTP packet. */
const appRecords = (ep: Endpoint, from = 0): number =>
  ep.sentRecords.slice(from).filter((r) => r.contentType === 23 && r.epoch === 1).length;

/** Lets delayed SACKs and the like settle so that a record count starts from a quiet association. */
const quiet = (): Promise<void> => sleep(300);

describe.each(WERIFT_BUILDS)("werift %s build", (build) => {
  let werift: Werift;
  beforeAll(async () => {
    werift = await loadWerift(build);
  });

  async function connectedPair(): Promise<Pair> {
    const pair = await pairWerift({ werift });
    expect(pair.resultA.status).toBe("fulfilled");
    expect(pair.resultB.status).toBe("fulfilled");
    await quiet();
    return pair;
  }

  describe("SCTP data path", () => {
    it("a synchronous burst of 1000 small messages arrives complete and in order within 3 s, in few packets", async () => {
      const pair = await connectedPair();
      try {
        const n = 1000;
        const from = pair.a.sentRecords.length;
        const t0 = performance.now();
        for (let i = 0; i < n; i++) pair.a.channel().send(`m${i}`);
        await waitFor(() => pair.b.messages().length >= n, 3000, "1000-message burst");
        const ms = performance.now() - t0;
        expect(pair.b.messages().map(String)).toEqual([...Array(n).keys()].map((i) => `m${i}`));
        // RFC 4960 §6.10: ~50 such DATA chunks fit one packet; unpatched: one datagram (and record) per message
        const records = appRecords(pair.a, from);
        if (process.env.PERF_DEBUG) console.log(`burst ${build}: ${ms.toFixed(1)} ms, ${records} records`);
        expect(records).toBeLessThan(100);
        expect(ms).toBeLessThan(3000);
      } finally {
        await pair.close();
      }
    }, 15_000);

    it("40 small messages sent in one tick share one SCTP packet (RFC 4960 §6.10)", async () => {
      const pair = await connectedPair();
      try {
        const from = pair.a.sentRecords.length;
        for (let i = 0; i < 40; i++) pair.a.channel().send(`s${i}`);
        await waitFor(() => pair.b.messages().length >= 40, 3000, "40 messages");
        // 40 DATA chunks of 20 B (16 B header + 2–3 B, padded) = 800 B: one packet, within the initial cwnd
        expect(appRecords(pair.a, from)).toBe(1);
        expect(pair.b.messages().map(String)).toEqual([...Array(40).keys()].map((i) => `s${i}`));
      } finally {
        await pair.close();
      }
    }, 15_000);

    it("the receiver SACKs about every second DATA packet (RFC 4960 §6.2), and bufferedAmount drains to 0", async () => {
      const pair = await connectedPair();
      try {
        const n = 64;
        const size = 16 * 1024; // 1 MiB in 64 messages, each 14 DATA packets
        const fromA = pair.a.sentRecords.length;
        const fromB = pair.b.sentRecords.length;
        const payload = Buffer.alloc(size, 0x5a);
        for (let i = 0; i < n; i++) pair.a.channel().send(payload);
        await waitFor(() => pair.b.messages().length >= n, 8000, "1 MiB transfer");
        await quiet();
        const data = appRecords(pair.a, fromA);
        const sacks = appRecords(pair.b, fromB);
        if (process.env.PERF_DEBUG) console.log(`sack ${build}: ${data} DATA packets, ${sacks} SACK packets`);
        expect(data).toBeGreaterThanOrEqual(Math.ceil((n * size) / 1200));
        // patched: 0.5; unpatched: a SACK for nearly every DATA packet (measured 0.76–1)
        expect(sacks).toBeLessThan(0.65 * data);
        expect(pair.a.channel().bufferedAmount).toBe(0);
      } finally {
        await pair.close();
      }
    }, 15_000);

    it("the receiver arms no timer per delayed SACK (RFC 4960 §6.2 deadline kept)", async () => {
      const pair = await connectedPair();
      const realSetTimeout = globalThis.setTimeout;
      let sackTimers = 0;
      try {
        const n = 64;
        const payload = Buffer.alloc(16 * 1024, 0x5b); // 1 MiB: ≈ 880 DATA packets, ≈ 440 SACKs
        globalThis.setTimeout = ((fn: () => void, ms?: number, ...rest: unknown[]) => {
          if (ms !== undefined && ms > 0 && ms <= 200) sackTimers++;
          return realSetTimeout(fn, ms, ...rest);
        }) as typeof setTimeout;
        for (let i = 0; i < n; i++) pair.a.channel().send(payload);
        await waitFor(() => pair.b.messages().length >= n, 8000, "1 MiB transfer");
        globalThis.setTimeout = realSetTimeout;
        if (process.env.PERF_DEBUG) console.log(`sack timers ${build}: ${sackTimers}`);
        // patched: a handful (one timer, re-armed at most every 200 ms); unpatched: one per SACK (≈ 440)
        expect(sackTimers).toBeLessThan(40);
        // the deadline still holds: a lone DATA packet is SACKed within 200 ms (+ scheduling slack)
        await quiet();
        const fromB = pair.b.sentRecords.length;
        const t0 = performance.now();
        pair.a.channel().send("lone");
        await pair.b.waitMessage("lone");
        await waitFor(() => appRecords(pair.b, fromB) >= 1, 2000, "delayed SACK");
        const sackAt = pair.b.sentRecords.slice(fromB).find((r) => r.contentType === 23)?.at ?? Number.NaN;
        expect(sackAt - t0).toBeLessThan(450);
      } finally {
        globalThis.setTimeout = realSetTimeout;
        await pair.close();
      }
    }, 15_000);

    it("the send path hands each datagram to the socket without a DNS lookup and with few promises", async () => {
      const realLookup = dns.lookup;
      let lookups = 0;
      // installed before the sockets exist: dgram's default lookup is captured when a socket is created
      (dns as { lookup: unknown }).lookup = (...args: unknown[]) => {
        lookups++;
        return (realLookup as (...a: unknown[]) => unknown)(...args);
      };
      let pair: Pair | undefined;
      let promises = 0;
      const hook = createHook({
        init(_id, type) {
          if (type === "PROMISE") promises++;
        },
      });
      try {
        pair = await connectedPair();
        const { a, b } = pair;
        const n = 64;
        const payload = Buffer.alloc(16 * 1024, 0x5c);
        const fromA = a.sentRecords.length;
        const fromB = b.sentRecords.length;
        const lookups0 = lookups;
        hook.enable();
        for (let i = 0; i < n; i++) a.channel().send(payload);
        await waitFor(() => b.messages().length >= n, 8000, "1 MiB transfer");
        hook.disable();
        const datagrams = appRecords(a, fromA) + appRecords(b, fromB);
        if (process.env.PERF_DEBUG)
          console.log(
            `send path ${build}: ${datagrams} datagrams, ${lookups - lookups0} lookups, ${promises} promises`,
          );
        expect(datagrams).toBeGreaterThan(800);
        // unpatched: dgram resolved every destination (one dns.lookup and a nextTick per datagram)
        expect(lookups - lookups0).toBeLessThan(10);
        // unpatched: ≈ 10 per datagram (five nested async functions on the send path, each awaited)
        expect(promises / datagrams).toBeLessThan(4);
      } finally {
        hook.disable();
        (dns as { lookup: unknown }).lookup = realLookup;
        await pair?.close();
      }
    }, 15_000);

    it("a 3 MiB message is delivered when max-message-size allows it (the receive window scales with it)", async () => {
      const big = 4 * 1024 * 1024;
      const pair = await pairWerift({ werift, a: { maxMessageSize: big }, b: { maxMessageSize: big } });
      try {
        expect(pair.resultA.status).toBe("fulfilled");
        const size = 3 * 1024 * 1024;
        pair.a.channel().send(Buffer.alloc(size, 0x33));
        // unpatched: the fragments filled the fixed 1 MiB a_rwnd and the association stalled for good
        await waitFor(() => pair.b.messages().length > 0, 8000, "3 MiB message");
        expect((pair.b.messages()[0] as Buffer).length).toBe(size);
      } finally {
        await pair.close();
      }
    }, 15_000);

    it("two patched peers negotiate zero checksums (RFC 9653, SCTP over DTLS)", async () => {
      const pair = await connectedPair();
      try {
        for (const ep of [pair.a, pair.b]) {
          const sctp = ep.sctp.sctp as unknown as { localZeroChecksum: boolean; remoteZeroChecksum: boolean };
          expect(sctp.localZeroChecksum).toBe(true);
          expect(sctp.remoteZeroChecksum).toBe(true);
        }
        pair.a.channel().send("zero-checksum");
        await pair.b.waitMessage("zero-checksum");
      } finally {
        await pair.close();
      }
    }, 15_000);
  });

  describe("setup", () => {
    it("a ClientHello that arrives before the DTLS server started is answered without a retransmission wait", async () => {
      const [a, b] = await Promise.all([
        Endpoint.create({ name: "A", role: "server", werift }),
        Endpoint.create({ name: "B", role: "client", werift }),
      ]);
      try {
        a.applyRemote(b.params, { controlling: true });
        b.applyRemote(a.params, { controlling: false });
        await withTimeout(Promise.all([a.ice.start(), b.ice.start()]), 8000, "ICE");
        const t0 = performance.now();
        const client = b.dtls.start();
        // B's ClientHello reaches A now; A's DTLS transport starts 100 ms later
        await sleep(100);
        await withTimeout(Promise.all([a.dtls.start(), client]), 8000, "DTLS");
        const ms = performance.now() - t0;
        if (process.env.PERF_DEBUG) console.log(`early ClientHello ${build}: ${ms.toFixed(1)} ms`);
        // unpatched: the ClientHello was lost, B retransmitted after its 500 ms flight timer
        expect(ms).toBeLessThan(450);
      } finally {
        await Promise.allSettled([a.close(), b.close()]);
      }
    }, 15_000);

    it("werift as DTLS server with node-datachannel as DTLS client connects without the +1 s of werift.md §4.3", async () => {
      const pair = await pairWithNdc({ werift, weriftRole: "server" });
      try {
        expect(pair.weriftResult.status).toBe("fulfilled");
        expect(pair.ndcResult.status).toBe("fulfilled");
        if (process.env.PERF_DEBUG) console.log(`ndc client ${build}: ${pair.setupMs.toFixed(1)} ms`);
        // unpatched: 1.0–1.3 s (libdatachannel retransmits its lost first ClientHello after 1 s)
        expect(pair.setupMs).toBeLessThan(800);
      } finally {
        await pair.close();
      }
    }, 15_000);
  });
});
