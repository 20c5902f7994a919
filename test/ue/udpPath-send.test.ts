/**
 * The no-ICE datagram path (src/ue/udpPath.ts) on its send side: a datagram goes to the socket without a DNS lookup and
 * without a nextTick callback each (the socket resolves IP literals synchronously once bound), `connection.send`
 * still returns a promise, and a send that fails synchronously is a rejection, not a throw. Real sockets on 127.0.0.1.
 */
import dns from "node:dns";
import { afterEach, describe, expect, it } from "vitest";
import { bindUdp, type DatagramBinding, UdpPath } from "../../src/ue/udpPath.ts";

const open: DatagramBinding[] = [];
afterEach(async () => {
  await Promise.all(open.splice(0).map((b) => b.close()));
});

async function pathPair(): Promise<{ a: UdpPath; b: UdpPath; got: Buffer[] }> {
  const ba = await bindUdp("127.0.0.1");
  const bb = await bindUdp("127.0.0.1");
  open.push(ba, bb);
  const a = new UdpPath(ba);
  const b = new UdpPath(bb);
  a.setRemote("127.0.0.1", bb.port);
  b.setRemote("127.0.0.1", ba.port);
  const got: Buffer[] = [];
  b.connection.onData.subscribe((d) => {
    got.push(d);
  });
  return { a, b, got };
}

describe("no-ICE UDP path, send side", () => {
  it("sends 200 datagrams without a dns.lookup each; every connection.send resolves", async () => {
    const realLookup = dns.lookup;
    let lookups = 0;
    // installed before the sockets exist (dgram captures its default lookup when a socket is created)
    (dns as { lookup: unknown }).lookup = (...args: unknown[]) => {
      lookups++;
      return (realLookup as (...a: unknown[]) => unknown)(...args);
    };
    try {
      const { a, got } = await pathPair();
      const from = lookups;
      const record = Buffer.alloc(100, 0x17); // first byte 23: a DTLS application-data record (RFC 7983 §7)
      const sent = [];
      for (let i = 0; i < 200; i++) sent.push(a.connection.send(record));
      await Promise.all(sent);
      const deadline = Date.now() + 3000;
      while (got.length < 200 && Date.now() < deadline) await new Promise((r) => setTimeout(r, 10));
      expect(got.length).toBe(200);
      // before: one dns.lookup (and one nextTick callback) per datagram
      expect(lookups - from).toBe(0);
    } finally {
      (dns as { lookup: unknown }).lookup = realLookup;
    }
  });

  it("a send that fails synchronously (invalid remote port) is a rejected promise, not an exception", async () => {
    const { a } = await pathPair();
    a.setRemote("127.0.0.1", 0);
    let result: Promise<void> | undefined;
    expect(() => {
      result = a.connection.send(Buffer.alloc(20, 0x17));
    }).not.toThrow();
    await expect(result).rejects.toThrow(/port/i);
  });
});
