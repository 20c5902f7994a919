import nodeDataChannel from "node-datachannel";
import { afterAll, describe, expect, it } from "vitest";
import { AuditLog } from "../../src/log.ts";
import { readDcMedia, readMedia, splitSections, validateAnswer } from "../../src/sdp/index.ts";
import { DcEndpoint } from "../../src/ue/dcEndpoint.ts";
import { UeError } from "../../src/ue/errors.ts";
import { bothWaysWithNdc, ndcPeer, nextMessage, tamperFingerprint, waitOpen } from "./helpers.ts";

const CHANNELS = [
  { id: 0, label: "bootstrap", subprotocol: "http" },
  { id: 1000, label: "chat", subprotocol: "msrp" },
];

afterAll(async () => {
  // let libdatachannel finish closing its threads before the worker exits
  await new Promise((r) => setTimeout(r, 200));
  nodeDataChannel.cleanup();
});

async function pairUp(answerSetup: "active" | "passive" = "active") {
  const audit = new AuditLog();
  const a = new DcEndpoint({ name: "alice", channels: CHANNELS, audit });
  const b = new DcEndpoint({ name: "bob", answerSetup, audit });
  const offer = await a.createOffer();
  const answer = await b.acceptOffer(offer);
  await a.acceptAnswer(answer);
  await Promise.all([a.connected(), b.connected()]);
  return { a, b, offer, answer, audit };
}

describe("UE data channel endpoint ↔ UE", () => {
  for (const setup of ["active", "passive"] as const) {
    it(`opens dcmap channels and verifies both fingerprints (answer setup:${setup})`, async () => {
      const { a, b, answer, audit } = await pairUp(setup);
      try {
        expect(a.transport?.dtlsRole).toBe(setup === "active" ? "server" : "client");
        expect(b.transport?.dtlsRole).toBe(setup === "active" ? "client" : "server");
        expect(a.verdict?.verified).toBe(true);
        expect(b.verdict?.verified).toBe(true);
        expect(readDcMedia(answer)[0]?.dcmaps.map((d) => d.streamId)).toEqual([0, 1000]);
        const ca = a.channel(1000);
        const cb = b.channel(1000);
        if (!ca || !cb) throw new Error("channels missing");
        await Promise.all([waitOpen(ca), waitOpen(cb)]);
        const p1 = nextMessage(cb);
        ca.send("hello from alice");
        expect(await p1).toBe("hello from alice");
        const p2 = nextMessage(ca);
        cb.send("hello from bob");
        expect(await p2).toBe("hello from bob");
        expect(audit.events.filter((e) => e.decision === "fingerprint-verified")).toHaveLength(2);
      } finally {
        await Promise.all([a.close(), b.close()]);
      }
    });
  }

  it("TS 24.186 §9.3.2.2.1: a second (remote bootstrap) data channel m-line is answered with port 0", async () => {
    const a = new DcEndpoint({ name: "alice", channels: CHANNELS });
    const b = new DcEndpoint({ name: "bob" });
    try {
      const offer = await a.createOffer();
      const dc = splitSections(offer).media[0]?.text ?? "";
      // the remote bootstrap m-line of TS 24.186 §9.3.3.2.1 next to ours: stream ids 100/110, used by the sender
      const remoteBdc = `${dc.replace(/a=tls-id:\S+/, "a=tls-id:Rm4Kp8Zt1Xq6Jw3Yb9Ds2Gv0").replace(/a=dcmap:[^\r\n]*\r\n/g, "")}a=dcmap:100 subprotocol="http"\r\na=dcmap:110 subprotocol="http"\r\na=3gpp-bdc-used-by:sender\r\n`;
      const composed = offer + remoteBdc;
      a.useComposedOffer(composed);
      const answer = await b.acceptOffer(composed);
      const ports = readMedia(answer).map((m) => m.port);
      expect(ports).toHaveLength(2);
      expect(ports[0]).toBeGreaterThan(0);
      expect(ports[1]).toBe(0);
      expect(validateAnswer(composed, answer).ok).toBe(true);
      await a.acceptAnswer(answer);
      await Promise.all([a.connected(), b.connected()]);
      const ca = a.channel(0);
      const cb = b.channel(0);
      if (!ca || !cb) throw new Error("bootstrap channel missing");
      await Promise.all([waitOpen(ca), waitOpen(cb)]);
      const got = nextMessage(cb);
      ca.send("GET / HTTP/1.1");
      expect(await got).toBe("GET / HTTP/1.1");
    } finally {
      await Promise.all([a.close(), b.close()]);
    }
  });

  it("RFC 8445 §6.1.1: the answerer's checks may arrive before the offerer has the answer (SIP latency)", async () => {
    // the offerer's agent must already be controlling; a wrong default role made the answerer win a role conflict
    // and nominate alone, and the offerer's ICE never completed (2 of 8 runs failed before the fix)
    for (let i = 0; i < 6; i++) {
      const a = new DcEndpoint({ name: "alice", channels: CHANNELS, timeouts: { iceMs: 4000, dtlsMs: 4000 } });
      const b = new DcEndpoint({ name: "bob", timeouts: { iceMs: 4000, dtlsMs: 4000 } });
      try {
        const answer = await b.acceptOffer(await a.createOffer());
        await new Promise((r) => setTimeout(r, 30)); // the 200 OK is still on its way
        await a.acceptAnswer(answer);
        await Promise.all([a.connected(), b.connected()]);
        expect(a.verdict?.verified && b.verdict?.verified).toBe(true);
      } finally {
        await Promise.all([a.close(), b.close()]);
      }
    }
  });

  it("fails closed when the answer's fingerprint is tampered (offerer refuses)", async () => {
    const audit = new AuditLog();
    const a = new DcEndpoint({ name: "alice", channels: CHANNELS, audit, timeouts: { dtlsMs: 5000 } });
    const b = new DcEndpoint({ name: "bob", timeouts: { dtlsMs: 5000 } });
    try {
      const answer = await b.acceptOffer(await a.createOffer());
      await a.acceptAnswer(tamperFingerprint(answer)).catch(() => {});
      const err = await a.connected().then(
        () => undefined,
        (e: unknown) => e,
      );
      expect(err).toBeInstanceOf(UeError);
      expect((err as UeError).code).toBe("E_FP_MISMATCH");
      expect(a.verdict?.verified).toBe(false);
      expect(a.state).toBe("failed");
      expect(audit.events.some((e) => e.decision === "peer-refused")).toBe(true);
      // nothing was ever delivered on the refused association
      expect(a.channel(1000)?.readyState ?? "closed").not.toBe("open");
    } finally {
      await Promise.all([a.close(), b.close()]);
    }
  });

  it("fails closed when the offer's fingerprint is tampered (answerer refuses)", async () => {
    const a = new DcEndpoint({ name: "alice", channels: CHANNELS, timeouts: { dtlsMs: 5000 } });
    const b = new DcEndpoint({ name: "bob", timeouts: { dtlsMs: 5000 } });
    try {
      const answer = await b.acceptOffer(tamperFingerprint(await a.createOffer()));
      void a.acceptAnswer(answer).catch(() => {});
      const err = await b.connected().then(
        () => undefined,
        (e: unknown) => e,
      );
      expect((err as UeError).code).toBe("E_FP_MISMATCH");
      expect(b.verdict?.verified).toBe(false);
    } finally {
      await Promise.all([a.close(), b.close()]);
    }
  });

  it("refuses an answer with error findings before any packet is sent", async () => {
    const a = new DcEndpoint({ name: "alice", channels: CHANNELS });
    const b = new DcEndpoint({ name: "bob" });
    try {
      const answer = await b.acceptOffer(await a.createOffer());
      const bad = answer.replace("a=setup:active", "a=setup:actpass");
      const err = await a.acceptAnswer(bad).then(
        () => undefined,
        (e: unknown) => e,
      );
      expect((err as UeError).code).toBe("E_SDP_REMOTE");
      expect(JSON.stringify((err as UeError).details)).toContain("E_SETUP");
      expect(a.transport).toBeUndefined();
    } finally {
      await Promise.all([a.close(), b.close()]);
    }
  });

  it("enforces the peer's max-message-size on send and ours on receive", async () => {
    const a = new DcEndpoint({ name: "alice", channels: CHANNELS, maxMessageSize: 100_000 });
    const b = new DcEndpoint({ name: "bob", maxMessageSize: 1000 });
    try {
      const answer = await b.acceptOffer(await a.createOffer());
      await a.acceptAnswer(answer);
      await Promise.all([a.connected(), b.connected()]);
      const ca = a.channel(1000);
      const cb = b.channel(1000);
      if (!ca || !cb) throw new Error("channels missing");
      await Promise.all([waitOpen(ca), waitOpen(cb)]);
      expect(() => ca.send(Buffer.alloc(1001))).toThrowError(expect.objectContaining({ code: "E_DC_TX_TOO_LARGE" }));
      // a peer that ignores our limit: bypass alice's check to emulate it
      const t = a.transport as unknown as { remoteMax: number; sctp: { remoteMaxMessageSize: number } };
      t.remoteMax = 0;
      t.sctp.remoteMaxMessageSize = 0;
      const err = new Promise<UeError>((r) => cb.once("failure", r));
      ca.send(Buffer.alloc(5000));
      expect((await err).code).toBe("E_DC_RX_TOO_LARGE");
      const p = nextMessage(cb);
      ca.send("still alive");
      expect(await p).toBe("still alive");
    } finally {
      await Promise.all([a.close(), b.close()]);
    }
  });

  it("RFC 8842: a re-offer with the same tls-id keeps the association; restart builds a new one", async () => {
    const { a, b, offer } = await pairUp();
    try {
      const firstTransport = a.transport;
      const tls1 = readDcMedia(offer)[0]?.tlsId;
      const events: string[] = [];
      a.on("association", (e) => events.push(`a:${e.action}`));
      b.on("association", (e) => events.push(`b:${e.action}`));
      const reoffer = await a.createOffer();
      expect(readDcMedia(reoffer)[0]?.tlsId).toBe(tls1);
      const reanswer = await b.acceptOffer(reoffer);
      await a.acceptAnswer(reanswer);
      expect(a.transport).toBe(firstTransport);
      expect(events).toEqual(["b:reuse", "a:reuse"]);
      const ca = a.channel(1000);
      const cb = b.channel(1000);
      if (!ca || !cb) throw new Error("channels missing");
      const p = nextMessage(cb);
      ca.send("same association");
      expect(await p).toBe("same association");

      const restart = await a.createOffer({ restart: true });
      const tls2 = readDcMedia(restart)[0]?.tlsId;
      expect(tls2).not.toBe(tls1);
      const answer2 = await b.acceptOffer(restart);
      expect(readDcMedia(answer2)[0]?.tlsId).not.toBe(readDcMedia(reanswer)[0]?.tlsId);
      await a.acceptAnswer(answer2);
      await Promise.all([a.connected(), b.connected()]);
      expect(a.transport).not.toBe(firstTransport);
      expect(events.slice(2)).toEqual(["b:new", "a:new"]);
      const ca2 = a.channel(1000);
      const cb2 = b.channel(1000);
      if (!ca2 || !cb2) throw new Error("channels missing");
      await Promise.all([waitOpen(ca2), waitOpen(cb2)]);
      const p2 = nextMessage(cb2);
      ca2.send("new association");
      expect(await p2).toBe("new association");
    } finally {
      await Promise.all([a.close(), b.close()]);
    }
  });
});

describe("UE data channel endpoint ↔ node-datachannel (libdatachannel oracle)", () => {
  it("we offer, libdatachannel answers (we are DTLS server)", async () => {
    const a = new DcEndpoint({ name: "alice", channels: [{ id: 1000, label: "chat" }] });
    const n = ndcPeer("ndc-answerer");
    try {
      const offer = await a.createOffer();
      n.pc.setRemoteDescription(offer, "offer");
      const answer = await n.localSdp();
      await a.acceptAnswer(answer);
      await Promise.all([a.connected(), n.opened]);
      expect(a.verdict?.verified).toBe(true);
      expect(await bothWaysWithNdc(a, n, "to libdatachannel", "to imsdc")).toEqual(["to libdatachannel", "to imsdc"]);
    } finally {
      n.close();
      await a.close();
    }
  });

  it("libdatachannel offers, we answer active (we are DTLS client)", async () => {
    const n = ndcPeer("ndc-offerer");
    const b = new DcEndpoint({ name: "bob" });
    try {
      n.pc.setLocalDescription();
      const offer = await n.localSdp();
      // libdatachannel offers no a=dcmap: add ours for its negotiated stream so the UE opens it
      const withDcmap = offer.replace(/(a=sctp-port:\d+\r?\n)/, '$1a=dcmap:1000 label="chat"\r\n');
      const answer = await b.acceptOffer(withDcmap);
      n.pc.setRemoteDescription(answer, "answer");
      await Promise.all([b.connected(), n.opened]);
      expect(b.transport?.dtlsRole).toBe("client");
      expect(b.verdict?.verified).toBe(true);
      const ch = b.channel(1000);
      if (!ch) throw new Error("channel missing");
      await waitOpen(ch);
      const p = n.nextMessage();
      ch.send("hi ndc");
      expect(await p).toBe("hi ndc");
    } finally {
      n.close();
      await b.close();
    }
  });

  it("libdatachannel refuses us when our fingerprint is tampered, and we refuse it likewise", async () => {
    const a = new DcEndpoint({ name: "alice", channels: [{ id: 1000, label: "chat" }], timeouts: { dtlsMs: 5000 } });
    const n = ndcPeer("ndc-tamper");
    try {
      n.pc.setRemoteDescription(await a.createOffer(), "offer");
      const answer = tamperFingerprint(await n.localSdp());
      await a.acceptAnswer(answer);
      const err = await a.connected().then(
        () => undefined,
        (e: unknown) => e,
      );
      expect((err as UeError).code).toBe("E_FP_MISMATCH");
    } finally {
      n.close();
      await a.close();
    }
  });
});
