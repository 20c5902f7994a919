/**
 * Data channels without ICE (TS 24.186 §9.3; RFC 8841 over plain UDP): DTLS/SCTP between our c=/port and the peer's.
 * Only the signalled source is accepted; others are dropped and counted; the impersonator is refused as over ICE; NAT
 * latching is opt-in and happens only on a source that completed an authenticated handshake.
 */
import { createSocket } from "node:dgram";
import { describe, expect, it } from "vitest";
import { AuditLog } from "../../src/log.ts";
import { generateSessionCertificate } from "../../src/security/certificate.ts";
import { DcEndpoint } from "../../src/ue/dcEndpoint.ts";
import type { DtlsIdentity } from "../../src/ue/dcTransport.ts";
import type { UeError } from "../../src/ue/errors.ts";
import { nextMessage, waitOpen } from "./helpers.ts";

const CHANNELS = [{ id: 1000, label: "chat" }];

const settle = (p: Promise<void>) =>
  p.then(
    () => undefined,
    (e: unknown) => e as UeError,
  );

function mPort(sdp: string): number {
  return Number(/^m=application (\d+) /m.exec(sdp)?.[1]);
}

/** A third party on 127.0.0.1 that knows the UE's port and sends it datagrams. */
async function offPathSender() {
  const s = createSocket("udp4");
  await new Promise<void>((r) => s.bind(0, "127.0.0.1", () => r()));
  const send = (port: number, data: Buffer) => new Promise<void>((r) => s.send(data, port, "127.0.0.1", () => r()));
  return { send, close: () => new Promise<void>((r) => s.close(() => r())) };
}

// a DTLS 1.2 ClientHello-shaped record (epoch 0), an application-data record of epoch 1, and non-DTLS bytes
const FAKE_HELLO = Buffer.concat([Buffer.from([22, 0xfe, 0xfd, 0, 0, 0, 0, 0, 0, 0, 0, 0, 20, 1]), Buffer.alloc(19)]);
const FAKE_APPDATA = Buffer.concat([Buffer.from([23, 0xfe, 0xfd, 0, 1, 0, 0, 0, 0, 0, 9, 0, 32]), Buffer.alloc(32, 7)]);
const JUNK = Buffer.from("not a datagram you asked for");

describe("data channel without ICE", () => {
  it("completes a verified call over plain UDP with no ICE attribute in either SDP", async () => {
    const alice = new DcEndpoint({ name: "alice", ice: "none", channels: CHANNELS });
    const bob = new DcEndpoint({ name: "bob", ice: "none" });
    try {
      const offer = await alice.createOffer();
      const answer = await bob.acceptOffer(offer);
      for (const sdp of [offer, answer]) expect(sdp).not.toMatch(/^a=(ice-|candidate)/m);
      await alice.acceptAnswer(answer);
      await Promise.all([alice.connected(), bob.connected()]);
      expect(alice.verdict?.verified).toBe(true);
      expect(bob.verdict?.verified).toBe(true);
      expect(alice.transport?.icePlan).toMatchObject({ kind: "direct", reason: "local-none" });
      expect(alice.transport?.pathCounters?.droppedOffPath).toBe(0);
      expect(alice.transport?.pathCounters?.accepted).toBeGreaterThan(0);
    } finally {
      await Promise.all([alice.close(), bob.close()]);
    }
  });

  it("drops and counts datagrams from an unsignalled source, during and after the handshake; the session is undisturbed", async () => {
    const alice = new DcEndpoint({ name: "alice", ice: "none", channels: CHANNELS });
    const bob = new DcEndpoint({ name: "bob", ice: "none" });
    const eve = await offPathSender();
    try {
      const offer = await alice.createOffer();
      const answer = await bob.acceptOffer(offer);
      await alice.acceptAnswer(answer);
      const alicePort = mPort(offer);
      const bobPort = mPort(answer);
      // during the handshake: a competing ClientHello and junk at both ends
      for (const p of [alicePort, bobPort]) {
        await eve.send(p, FAKE_HELLO);
        await eve.send(p, JUNK);
      }
      await Promise.all([alice.connected(), bob.connected()]);
      // after: forged records of the live epoch and junk
      for (const p of [alicePort, bobPort]) {
        await eve.send(p, FAKE_APPDATA);
        await eve.send(p, JUNK);
      }
      const ca = alice.channel(1000);
      const cb = bob.channel(1000);
      if (!ca || !cb) throw new Error("channels missing");
      await Promise.all([waitOpen(ca), waitOpen(cb)]);
      const got = nextMessage(cb);
      ca.send("still here");
      expect(await got).toBe("still here");
      await new Promise((r) => setTimeout(r, 50));
      expect(alice.transport?.pathCounters?.droppedOffPath).toBe(4);
      expect(bob.transport?.pathCounters?.droppedOffPath).toBe(4);
      expect(alice.state).toBe("connected");
      expect(bob.state).toBe("connected");
      expect(alice.verdict?.verified).toBe(true);
    } finally {
      await Promise.all([alice.close(), bob.close(), eve.close()]);
    }
  });

  it("refuses the impersonator (peer's certificate, own key) on this path too, with an audit event", async () => {
    const audit = new AuditLog();
    const genuineBob = new DcEndpoint({ name: "bob" });
    const victim = new DcEndpoint({
      name: "alice",
      ice: "none",
      channels: CHANNELS,
      audit,
      timeouts: { dtlsMs: 5000 },
    });
    const mallory = new DcEndpoint({
      name: "mallory",
      ice: "none",
      identity: { ...genuineBob.identity, keyPem: generateSessionCertificate().keyPem },
      timeouts: { dtlsMs: 5000 },
    });
    try {
      const answer = await mallory.acceptOffer(await victim.createOffer());
      await victim.acceptAnswer(answer);
      const [ev] = await Promise.all([settle(victim.connected()), settle(mallory.connected())]);
      expect(victim.transport?.icePlan?.kind).toBe("direct");
      expect(ev?.code).toBe("E_DTLS_AUTH");
      expect(victim.verdict?.verified).toBe(false);
      expect(victim.channel(1000)?.readyState ?? "closed").not.toBe("open");
      expect(audit.events.some((e) => e.decision === "peer-refused" && e.code === "E_DTLS_AUTH")).toBe(true);
    } finally {
      await Promise.all([victim.close(), mallory.close(), genuineBob.close()]);
    }
  });

  it("refuses a certificate that matches no signalled fingerprint (E_FP_MISMATCH)", async () => {
    const alice = new DcEndpoint({ name: "alice", ice: "none", channels: CHANNELS, timeouts: { dtlsMs: 5000 } });
    const bob = new DcEndpoint({ name: "bob", ice: "none", timeouts: { dtlsMs: 5000 } });
    try {
      const answer = await bob.acceptOffer(await alice.createOffer());
      const other = generateSessionCertificate().fingerprint.value;
      await alice.acceptAnswer(answer.replace(/^a=fingerprint:sha-256 \S+/m, `a=fingerprint:sha-256 ${other}`));
      const e = await settle(alice.connected());
      expect(e?.code).toBe("E_FP_MISMATCH");
      expect(alice.verdict?.verified).toBe(false);
    } finally {
      await Promise.all([alice.close(), bob.close()]);
    }
  });

  describe("NAT latching (opt-in)", () => {
    // bob's answer signals a c=/port that is not where its datagrams come from (a NAT rewrote its source)
    async function natCall(latch: boolean, identity?: DtlsIdentity) {
      const audit = new AuditLog();
      const alice = new DcEndpoint({
        name: "alice",
        ice: "none",
        latch,
        audit,
        channels: CHANNELS,
        timeouts: { dtlsMs: 1500 },
      });
      const bob = new DcEndpoint({
        name: "bob",
        ice: "none",
        ...(identity ? { identity } : {}),
        timeouts: { dtlsMs: 1500 },
      });
      const answer = await bob.acceptOffer(await alice.createOffer());
      const realPort = mPort(answer);
      // a port nobody answers on: the "public" address in the SDP
      const fakePort = await new Promise<number>((r) => {
        const s = createSocket("udp4");
        s.bind(0, "127.0.0.1", () => {
          const p = s.address().port;
          s.close(() => r(p));
        });
      });
      await alice.acceptAnswer(answer.replace(/^m=application \d+ /m, `m=application ${fakePort} `));
      return { alice, bob, realPort, audit };
    }

    it("default off: the unsignalled source is dropped and the call does not set up", async () => {
      const { alice, bob } = await natCall(false);
      try {
        const e = await settle(alice.connected());
        expect(e?.code).toBe("E_DTLS_TIMEOUT");
        expect(alice.transport?.pathCounters?.droppedOffPath ?? 0).toBeGreaterThan(0);
        expect(alice.transport?.pathCounters?.latched).toBeUndefined();
      } finally {
        await Promise.all([alice.close(), bob.close()]);
      }
    });

    it("on: latches on the source only after it completed an authenticated DTLS handshake", async () => {
      const { alice, bob, realPort, audit } = await natCall(true);
      try {
        await Promise.all([alice.connected(), bob.connected()]);
        expect(alice.verdict?.verified).toBe(true);
        expect(alice.transport?.pathCounters?.latched).toEqual({ address: "127.0.0.1", port: realPort });
        expect(audit.events.some((e) => e.decision === "no-ice-latched" && e.latched === `127.0.0.1:${realPort}`)).toBe(
          true,
        );
        const ca = alice.channel(1000);
        const cb = bob.channel(1000);
        if (!ca || !cb) throw new Error("channels missing");
        await Promise.all([waitOpen(ca), waitOpen(cb)]);
        const got = nextMessage(ca);
        cb.send("through the NAT");
        expect(await got).toBe("through the NAT");
      } finally {
        await Promise.all([alice.close(), bob.close()]);
      }
    });

    it("on: an impersonator at the unsignalled source is refused and never latched", async () => {
      const genuine = new DcEndpoint({ name: "bob" });
      const forged = { ...genuine.identity, keyPem: generateSessionCertificate().keyPem };
      const { alice, bob, audit } = await natCall(true, forged);
      try {
        const e = await settle(alice.connected());
        expect(e?.code).toBe("E_DTLS_AUTH");
        expect(alice.verdict?.verified).toBe(false);
        expect(alice.transport?.pathCounters?.latched).toBeUndefined();
        expect(audit.events.some((e) => e.decision === "no-ice-latched")).toBe(false);
        expect(audit.events.some((e) => e.decision === "peer-refused" && e.code === "E_DTLS_AUTH")).toBe(true);
      } finally {
        await Promise.all([alice.close(), bob.close(), genuine.close()]);
      }
    });
  });
});
