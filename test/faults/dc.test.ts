/**
 * The UE's data channel survives and reports a vanished peer (issue 8 item 3, UE part), and the UE call limit
 * (item 4). UE A runs in this process behind a real IMS core on 127.0.0.1 (bench/faults/dc.ts: S-CSCF + two
 * P-CSCFs); UE B is `imsdc ue` in a child process, so that its disappearance is a real SIGSTOP / SIGKILL.
 *
 * A's timeouts (bench/faults/dc.ts ALICE_*): DTLS 2 s, RFC 7675 consent 3 s (a check every 500 ms), SIP T1 50 ms
 * (a BYE nobody answers ends after Timer F = 64·T1 = 3.2 s with a 408).
 */
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import {
  ALICE_DC_TIMEOUTS,
  busyCallee,
  CHANNEL,
  type DcRig,
  orderlyClose,
  spawnUe,
  startDcRig,
  type UeProcess,
  udpSockets,
  vanishMidCall,
  vanishMidHandshake,
  waitUntil,
} from "../../bench/faults/dc.ts";
import { DcEndpoint, DcTransport, ImsUe, type UeError } from "../../src/ue/index.ts";
import { ndcPeer } from "../ue/helpers.ts";

describe("UE data channel faults, peer in a child process", () => {
  let rig: DcRig;
  const bobs: Record<"hs" | "call" | "orderly", UeProcess | undefined> = {
    hs: undefined,
    call: undefined,
    orderly: undefined,
  };
  const bob = (k: keyof typeof bobs): UeProcess => {
    const b = bobs[k];
    if (!b) throw new Error(`bob ${k} not started`);
    return b;
  };

  beforeAll(async () => {
    rig = await startDcRig();
    const [hs, call, orderly] = await Promise.all([
      spawnUe(rig, "bob-hs"),
      spawnUe(rig, "bob-call"),
      spawnUe(rig, "bob-orderly"),
    ]);
    Object.assign(bobs, { hs, call, orderly });
  }, 30_000);

  afterAll(async () => {
    await Promise.all(Object.values(bobs).map((b) => b?.close()));
    await rig?.close();
  });

  it("mid-handshake: B stopped when A's ICE connects → E_DTLS_TIMEOUT, media freed at once, BYE sent, call ended (408)", async () => {
    const o = await vanishMidHandshake(rig, bob("hs"));
    // A is the DTLS server and needs B's flight 5, which never comes
    expect(o.failure?.code, JSON.stringify(o)).toBe("E_DTLS_TIMEOUT");
    expect(o.failures).toBe(1);
    // every socket of A's DcEndpoint freed (the ICE/DTLS socket existed during the call)
    expect(o.sockets.during).toBeGreaterThan(o.sockets.before);
    expect(o.sockets.after).toBe(o.sockets.before);
    expect(o.endpointState).toBe("closed");
    // the call is released with BYE; B never answers: RFC 3261 §17.1.2.2 Timer F → 408 ends A's call
    expect(o.byes).toBeGreaterThanOrEqual(1);
    expect(o.sipEnd).toMatchObject({ reason: "local-bye", status: 408 });
    // the media does not wait for the BYE's timeout
    expect(o.releaseMs).toBeDefined();
    expect(o.sipEndMs).toBeDefined();
    expect(o.releaseMs ?? 0).toBeLessThan(o.sipEndMs ?? 0);
  }, 20_000);

  it("mid-call: B killed after one message each way → E_CONSENT_EXPIRED (RFC 7675), media freed, BYE sent, call ended", async () => {
    const o = await vanishMidCall(rig, bob("call"));
    expect(o.messagesExchanged).toBe(true);
    expect(o.failure?.code, JSON.stringify(o)).toBe("E_CONSENT_EXPIRED");
    expect(o.failures).toBe(1);
    // bounded: consent expiry plus a margin (the wait gives up at consentMs + 5 s)
    expect(o.detectMs).toBeDefined();
    expect(o.sockets.during).toBeGreaterThan(o.sockets.before);
    expect(o.sockets.after).toBe(o.sockets.before);
    expect(o.endpointState).toBe("closed");
    expect(o.byes).toBeGreaterThanOrEqual(1);
    expect(o.sipEnd).toMatchObject({ reason: "local-bye", status: 408 });
  }, 25_000);

  it("orderly close: B hangs up normally → A reports no failure, its call ends with B's BYE, media freed", async () => {
    const o = await orderlyClose(rig, bob("orderly"));
    expect(o.messagesExchanged).toBe(true);
    expect(o.failures, JSON.stringify(o)).toBe(0);
    expect(o.sipEnd?.reason).toBe("remote-bye");
    expect(o.endpointState).toBe("closed");
    expect(o.sockets.after).toBe(o.sockets.before);
  }, 25_000);

  it("busy: a UE holding maxCalls calls answers further INVITEs 486 Busy Here and allocates nothing for them", async () => {
    const o = await busyCallee(rig, 2);
    expect(o.firstEstablished).toBe(true);
    // RFC 3261 §21.4.24
    expect(o.statuses).toEqual([486, 486]);
    expect(o.refused).toBe(2);
    // no DcEndpoint (hence no socket) for a refused call
    expect(o.calleeEndpoints).toBe(1);
    expect(o.sockets.after).toBe(o.sockets.withFirstCall);
  }, 20_000);
});

describe("UE data channel: how the peer ends the association (in process)", () => {
  /** the UDP socket count once sockets closed by earlier tests are gone (a closed handle leaves a tick later) */
  async function settledUdpSockets(): Promise<number> {
    let last = udpSockets();
    for (let i = 0; i < 50; i++) {
      await new Promise((r) => setTimeout(r, 50));
      const now = udpSockets();
      if (now === last) return now;
      last = now;
    }
    return last;
  }

  async function connectedPair(): Promise<{ a: DcEndpoint; b: DcEndpoint; failures: UeError[] }> {
    const a = new DcEndpoint({ channels: [CHANNEL], timeouts: { consentMs: ALICE_DC_TIMEOUTS.consentMs } });
    const b = new DcEndpoint({});
    const failures: UeError[] = [];
    a.on("failure", (e) => failures.push(e));
    const answer = await b.acceptOffer(await a.createOffer());
    await a.acceptAnswer(answer);
    await Promise.all([a.connected(), b.connected()]);
    return { a, b, failures };
  }

  it("the peer closes (SCTP ABORT, then DTLS close_notify, RFC 5246 §7.2.1): orderly, no failure, A frees everything", async () => {
    const baseline = await settledUdpSockets();
    const { a, b, failures } = await connectedPair();
    expect(udpSockets()).toBe(baseline + 2);
    await b.close();
    expect(await waitUntil(() => a.state === "closed", 3000)).toBe(true);
    expect(await waitUntil(() => udpSockets() === baseline, 3000)).toBe(true);
    // past the ABORT grace: still no failure
    await new Promise((r) => setTimeout(r, 1200));
    expect(failures).toEqual([]);
    expect(a.transport?.state).toBe("closed");
    await a.close();
  }, 15_000);

  it("the peer aborts SCTP without closing DTLS → E_SCTP_ABORT (RFC 9260 §9.1), A frees everything", async () => {
    const baseline = await settledUdpSockets();
    const { a, b, failures } = await connectedPair();
    // B's SCTP sends an ABORT chunk (and nothing else: B's own association and DTLS stay up, no close_notify)
    await (b.transport as unknown as { sctp: { sctp: { abort(): Promise<void> } } }).sctp.sctp.abort();
    expect(await waitUntil(() => failures.length > 0, 5000)).toBe(true);
    expect(failures.map((f) => f.code)).toEqual(["E_SCTP_ABORT"]);
    expect(a.state).toBe("failed");
    // A freed its socket and told B with close_notify, so B closed too
    expect(await waitUntil(() => udpSockets() === baseline, 3000)).toBe(true);
    expect(b.state).toBe("closed");
    await Promise.all([a.close(), b.close()]);
  }, 15_000);

  // libdatachannel closes with SCTP SHUTDOWN + ABORT, and only sometimes a DTLS close_notify (≈ 2 runs in 6)
  it("interop: a node-datachannel peer that closes its PeerConnection (SCTP SHUTDOWN, RFC 9260 §9.2) is an orderly close", async () => {
    const peer = ndcPeer("ndc-orderly");
    const a = new DcEndpoint({ answerSetup: "active", timeouts: { consentMs: ALICE_DC_TIMEOUTS.consentMs } });
    const failures: UeError[] = [];
    a.on("failure", (e) => failures.push(e));
    try {
      const answer = await a.acceptOffer(await peer.localSdp());
      peer.pc.setRemoteDescription(answer, "answer");
      await a.connected();
      await peer.opened;
      peer.close();
      expect(await waitUntil(() => a.state === "closed" || a.state === "failed", 5000)).toBe(true);
      await new Promise((r) => setTimeout(r, 1200));
      expect(failures.map((f) => f.code)).toEqual([]);
      expect(a.state).toBe("closed");
    } finally {
      peer.close();
      await a.close();
    }
  }, 15_000);

  it("bad limits are typed errors: timeouts.consentMs below 1000 and a negative maxCalls → E_CONFIG", () => {
    const identity = new DcEndpoint({}).identity;
    expect(() => new DcTransport({ identity, timeouts: { consentMs: 10 } })).toThrow(
      expect.objectContaining({ code: "E_CONFIG" }),
    );
    expect(() => new ImsUe({ aor: "sip:x@ims.example.com", maxCalls: -1 })).toThrow(
      expect.objectContaining({ code: "E_CONFIG" }),
    );
  });
});
