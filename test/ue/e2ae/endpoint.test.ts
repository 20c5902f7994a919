/**
 * E2aeEndpoint UE ↔ UE on 127.0.0.1: MSRP over TLS and BFCP over TLS end to end, offer/answer shapes, TCP/TLS
 * roles (RFC 4145 §4; BFCP: the answerer is the TLS server), fingerprint verdicts and audit events, tampered
 * fingerprints (nothing sent), the held connection before the answer, stage timeouts, SDP and state errors.
 */
import { randomBytes } from "node:crypto";
import { afterEach, describe, expect, it } from "vitest";
import { AuditLog } from "../../../src/log.ts";
import { readMedia, validateOffer } from "../../../src/sdp/index.ts";
import { E2aeEndpoint, type E2aeEndpointOptions } from "../../../src/ue/e2ae/endpoint.ts";
import type { E2aeError } from "../../../src/ue/e2ae/errors.ts";
import type { MsrpMessage } from "../../../src/ue/e2ae/msrpSession.ts";
import { buildE2aeAnswer, readE2aeMedia } from "../../../src/ue/e2ae/sdp.ts";
import { activeResources, leakedHandles, sleep, tamperFingerprint, tcpServer, waitFor, within } from "./helpers.ts";

const eps: E2aeEndpoint[] = [];
const cleanups: Array<() => unknown> = [];
afterEach(async () => {
  for (const c of cleanups.splice(0).reverse()) await c();
  await Promise.all(eps.splice(0).map((e) => e.close()));
});

function ep(opts: E2aeEndpointOptions): E2aeEndpoint {
  const e = new E2aeEndpoint({ timeouts: { establishMs: 8000, fingerprintWaitMs: 8000 }, ...opts });
  e.on("failure", () => {});
  eps.push(e);
  return e;
}

function nextMessage(e: E2aeEndpoint, ms = 5000): Promise<MsrpMessage> {
  return within(new Promise<MsrpMessage>((r) => e.once("message", r)), ms, "message");
}

/** The terminal error of `e`: a failure before connecting (connected() rejects) or after it ('failure'). */
function failure(e: E2aeEndpoint, ms = 5000): Promise<E2aeError> {
  return within(
    new Promise<E2aeError>((resolve) => {
      e.connected().catch((err: E2aeError) => resolve(err));
      e.once("failure", resolve);
    }),
    ms,
    "failure",
  );
}

describe("MSRP over TLS, UE ↔ UE", () => {
  it("offer shape (TR 29.828 §5.2.1.2.2 step 1), answer shape, verified both ways, SEND/200 both ways", async () => {
    const audit = new AuditLog();
    const a = ep({ kind: "msrp", name: "alice", audit });
    const b = ep({ kind: "msrp", name: "bob", audit });
    const offer = await a.createOffer();
    expect(validateOffer(offer).ok).toBe(true);
    expect(offer).toMatch(new RegExp(`^m=message ${a.port} TCP/TLS/MSRP \\*\\r$`, "m"));
    expect(offer).toMatch(/^a=path:msrps:\/\/127\.0\.0\.1:\d+\/[A-Za-z0-9]{24};tcp\r$/m);
    expect(offer).toContain("a=accept-types:message/cpim text/plain\r\n");
    expect(offer).toContain("a=setup:actpass\r\n");
    expect(offer).toContain(`a=fingerprint:sha-256 ${a.fingerprint.value}\r\n`);
    expect(offer).toContain("a=3ge2ae:requested\r\n");
    const answer = await b.acceptOffer(offer);
    const am = readE2aeMedia(answer)[0];
    expect(am).toMatchObject({ kind: "msrp", proto: "TCP/TLS/MSRP", port: 9, setup: "active", tls: true });
    expect(am?.fingerprints[0]?.value).toBe(b.fingerprint.value);
    expect(answer).not.toContain("3ge2ae");
    await a.acceptAnswer(answer);
    await within(Promise.all([a.connected(), b.connected()]), 8000, "connected");
    expect([a.tcpRole, a.tlsRole, b.tcpRole, b.tlsRole]).toEqual(["passive", "server", "active", "client"]);
    expect(a.verdict).toMatchObject({ verified: true, hash: "sha-256", presented: b.fingerprint.value });
    expect(b.verdict).toMatchObject({ verified: true, presented: a.fingerprint.value });
    const toB = nextMessage(b);
    await a.send("hello bob", "text/plain");
    expect((await toB).content.toString()).toBe("hello bob");
    const toA = nextMessage(a);
    await b.send("<cpim/>", "message/cpim");
    expect((await toA).contentType).toBe("message/cpim");
    const verified = audit.events.filter((e) => e.decision === "fingerprint-verified");
    expect(verified).toHaveLength(2);
    expect(verified[0]).toMatchObject({ node: "ue", clause: "RFC 8122 §6", protocol: "msrp", hash: "sha-256" });
  });

  it("answerer passive: it listens and the offerer connects as TLS client; 256 KiB in 2 KiB chunks", async () => {
    const a = ep({ kind: "msrp", msrp: { acceptTypes: ["*"] } });
    const b = ep({ kind: "msrp", answerSetup: "passive", msrp: { chunkSize: 2048 } });
    const answer = await b.acceptOffer(await a.createOffer());
    expect(readE2aeMedia(answer)[0]).toMatchObject({ setup: "passive", port: b.port });
    await a.acceptAnswer(answer);
    await within(Promise.all([a.connected(), b.connected()]), 8000, "connected");
    expect([a.tcpRole, a.tlsRole, b.tlsRole]).toEqual(["active", "client", "server"]);
    const data = randomBytes(256 * 1024);
    const got = nextMessage(a, 10_000);
    const r = await b.send(data, "application/octet-stream");
    expect(r.chunks).toBe(128);
    expect((await got).content.equals(data)).toBe(true);
  });

  it("the TLS connection that arrives before the answer is held, unread, then verified (TR 29.828 steps 11/21)", async () => {
    const a = ep({ kind: "msrp" });
    const b = ep({ kind: "msrp" });
    const answer = await b.acceptOffer(await a.createOffer());
    await within(b.connected(), 5000, "b verified a"); // b (TLS client) verified a's certificate
    await sleep(300); // b's bodiless SEND sits unread at a
    expect(a.state).toBe("offered");
    expect(a.msrp).toBeUndefined();
    await a.acceptAnswer(answer);
    await within(a.connected(), 5000, "a connected");
    await waitFor(() => (a.msrp?.stats.framesIn ?? 0) >= 1, 3000, "the held bodiless SEND");
  });

  it("a tampered fingerprint in the answer: the offerer refuses with E_E2AE_FP_MISMATCH, not one MSRP byte is read", async () => {
    const audit = new AuditLog();
    const a = ep({ kind: "msrp", name: "alice", audit });
    const b = ep({ kind: "msrp", name: "bob" });
    const answer = await b.acceptOffer(await a.createOffer());
    await a.acceptAnswer(tamperFingerprint(answer));
    const err = await failure(a);
    expect(err.code).toBe("E_E2AE_FP_MISMATCH");
    expect(a.state).toBe("failed");
    expect(a.msrp).toBeUndefined();
    expect(a.verdict).toMatchObject({ verified: false, code: "E_E2AE_FP_MISMATCH", presented: b.fingerprint.value });
    expect(audit.events).toEqual([
      expect.objectContaining({
        node: "ue",
        ue: "alice",
        decision: "peer-refused",
        clause: "RFC 8122 §6",
        code: "E_E2AE_FP_MISMATCH",
      }),
    ]);
    // b verified a, sent its bodiless SEND into a connection a destroyed: b's stream ends
    expect((await failure(b)).code).toBe("E_E2AE_PEER_CLOSED");
    expect(b.msrp?.stats.framesIn ?? 0).toBe(0);
  });

  it("a tampered fingerprint in the offer: the answerer (TLS client) refuses and sends nothing", async () => {
    const a = ep({ kind: "msrp", timeouts: { establishMs: 1000 } });
    const b = ep({ kind: "msrp" });
    const offer = await a.createOffer();
    const answer = await b.acceptOffer(tamperFingerprint(offer));
    expect((await failure(b)).code).toBe("E_E2AE_FP_MISMATCH");
    expect(b.msrp).toBeUndefined();
    await a.acceptAnswer(answer);
    const errA = await failure(a);
    expect(["E_E2AE_PEER_CLOSED", "E_E2AE_TIMEOUT"]).toContain(errA.code);
    expect(a.msrp?.stats.framesIn ?? 0).toBe(0);
  });
});

describe("BFCP over TLS, UE ↔ UE", () => {
  it("UE A (c-only, offerer = TLS client) ↔ UE B (s-only floor server, TCP-active but TLS server)", async () => {
    const audit = new AuditLog();
    const a = ep({ kind: "bfcp", name: "alice", audit });
    const b = ep({ kind: "bfcp", name: "bob", audit, bfcp: { conferenceId: 4321, userId: 1234, floorIds: [7, 8] } });
    const offer = await a.createOffer();
    expect(offer).toMatch(/^m=application \d+ TCP\/TLS\/BFCP \*\r$/m);
    expect(offer).toContain("a=floorctrl:c-only\r\n");
    expect(offer).toContain("a=bfcpver:1\r\n");
    expect(offer).toContain("a=3ge2ae:requested\r\n");
    expect(offer).not.toContain("a=confid");
    const answer = await b.acceptOffer(offer);
    expect(readE2aeMedia(answer)[0]?.bfcp).toEqual({
      floorctrl: ["s-only"],
      confid: "4321",
      userid: "1234",
      floorIds: [
        { floorId: "7", mstrm: [] },
        { floorId: "8", mstrm: [] },
      ],
      bfcpver: [1],
    });
    await a.acceptAnswer(answer);
    await within(Promise.all([a.connected(), b.connected()]), 8000, "connected");
    // RFC 4145 §4: b answered active ⇒ b connects; RFC 8856: the answerer b is the TLS server
    expect([a.tcpRole, a.tlsRole, b.tcpRole, b.tlsRole]).toEqual(["passive", "client", "active", "server"]);
    expect(a.isFloorServer).toBe(false);
    expect(b.isFloorServer).toBe(true);
    const hello = await a.hello();
    expect(hello.primitives).toContain(1);
    const st = await a.requestFloor();
    expect(st).toMatchObject({ statusName: "Granted", floors: [{ floorId: 7 }, { floorId: 8 }] });
    expect((await a.releaseFloor(st.floorRequestId)).statusName).toBe("Released");
    expect(audit.events.filter((e) => e.decision === "fingerprint-verified" && e.protocol === "bfcp")).toHaveLength(2);
  });

  it("a tampered fingerprint: the BFCP participant refuses (E_E2AE_FP_MISMATCH) before any PDU", async () => {
    const a = ep({ kind: "bfcp" });
    const b = ep({ kind: "bfcp" });
    const answer = await b.acceptOffer(await a.createOffer());
    await a.acceptAnswer(tamperFingerprint(answer));
    expect((await failure(a)).code).toBe("E_E2AE_FP_MISMATCH");
    expect(a.bfcpClient).toBeUndefined();
  });

  it("the floor server's SDP must carry confid/userid (RFC 8856 §5.2-5.3)", async () => {
    const a = ep({ kind: "bfcp" });
    const b = ep({ kind: "bfcp" });
    const answer = await b.acceptOffer(await a.createOffer());
    await expect(a.acceptAnswer(answer.replace(/a=confid:.*\r\n/, ""))).rejects.toMatchObject({ code: "E_E2AE_SDP" });
  });
});

describe("one SDP body with several streams (how ImsUe composes them)", () => {
  it("audio + MSRP + BFCP m-lines: one endpoint per stream on each side, composed offer and answer", async () => {
    const aMsrp = ep({ kind: "msrp" });
    const aBfcp = ep({ kind: "bfcp" });
    const bMsrp = ep({ kind: "msrp" });
    const bBfcp = ep({ kind: "bfcp", bfcp: { conferenceId: 9, userId: 3, floorIds: [1] } });
    await aMsrp.createOffer({ mline: 1 });
    await aBfcp.createOffer({ mline: 2 });
    const session = ["v=0", "o=- 1 1 IN IP4 127.0.0.1", "s=-", "c=IN IP4 127.0.0.1", "t=0 0"];
    const offer = `${[...session, "m=audio 49170 RTP/AVP 0", ...aMsrp.localMediaLines, ...aBfcp.localMediaLines].join("\r\n")}\r\n`;
    expect(validateOffer(offer).ok).toBe(true);
    await bMsrp.acceptOffer(offer, { mline: 1 });
    await bBfcp.acceptOffer(offer, { mline: 2 });
    const answer = `${[...session, "m=audio 0 RTP/AVP 0", ...bMsrp.localMediaLines, ...bBfcp.localMediaLines].join("\r\n")}\r\n`;
    await aMsrp.acceptAnswer(answer, { offer });
    await aBfcp.acceptAnswer(answer, { offer });
    await within(Promise.all([aMsrp, aBfcp, bMsrp, bBfcp].map((e) => e.connected())), 8000, "4 streams");
    const got = nextMessage(bMsrp);
    await aMsrp.send("one body, two streams", "text/plain");
    expect((await got).content.toString()).toBe("one body, two streams");
    expect((await aBfcp.requestFloor()).statusName).toBe("Granted");
  });
});

describe("timeouts on every stage", () => {
  it("TLS: the peer accepts TCP but never speaks TLS → E_E2AE_TIMEOUT", async () => {
    const mute = await tcpServer(() => {});
    cleanups.push(() => mute.close());
    const a = ep({ kind: "msrp", timeouts: { tlsMs: 300 } });
    const b = ep({ kind: "msrp", answerSetup: "passive" });
    const answer = (await b.acceptOffer(await a.createOffer())).replace(/^m=message \d+/m, `m=message ${mute.port}`);
    await a.acceptAnswer(answer);
    const err = await failure(a);
    expect(err.code).toBe("E_E2AE_TIMEOUT");
    expect(err.message).toContain("TLS handshake");
  });

  it("TCP: connection refused on every attempt → E_E2AE_CONNECT", async () => {
    const gone = await tcpServer(() => {});
    const port = gone.port;
    await gone.close();
    const a = ep({ kind: "msrp" });
    const b = ep({ kind: "msrp", answerSetup: "passive" });
    const answer = (await b.acceptOffer(await a.createOffer())).replace(/^m=message \d+/m, `m=message ${port}`);
    await a.acceptAnswer(answer);
    expect((await failure(a, 8000)).code).toBe("E_E2AE_CONNECT");
  });

  it("establishment: a passive endpoint nobody connects to → E_E2AE_TIMEOUT", async () => {
    const a = ep({ kind: "msrp", timeouts: { establishMs: 300 } });
    const b = ep({ kind: "msrp" });
    const answer = await b.acceptOffer(await a.createOffer());
    await b.close();
    await a.acceptAnswer(answer);
    const err = await failure(a);
    expect(err.code).toBe("E_E2AE_TIMEOUT");
  });
});

describe("SDP and state errors", () => {
  it("an offer without TLS, or without the media kind, is refused (E_E2AE_SDP)", async () => {
    const a = ep({ kind: "msrp" });
    const offer = await a.createOffer();
    await expect(
      ep({ kind: "msrp" }).acceptOffer(offer.replace("TCP/TLS/MSRP", "TCP/MSRP").replace(/msrps:/g, "msrp:")),
    ).rejects.toMatchObject({
      code: "E_E2AE_SDP",
    });
    await expect(ep({ kind: "bfcp" }).acceptOffer(offer)).rejects.toMatchObject({ code: "E_E2AE_SDP" });
    await expect(ep({ kind: "msrp" }).acceptOffer("v=0\r\n")).rejects.toMatchObject({ code: "E_E2AE_SDP" });
  });

  it("an answer rejecting the m-line, or with an impossible setup, fails the endpoint (E_E2AE_SDP)", async () => {
    const a = ep({ kind: "msrp" });
    const offer = await a.createOffer();
    const rejected = buildE2aeAnswer(offer, { connection: { address: "127.0.0.1" }, media: {} });
    expect(readMedia(rejected.sdp)[0]?.port).toBe(0);
    await expect(a.acceptAnswer(rejected.sdp)).rejects.toMatchObject({ code: "E_E2AE_SDP" });
    expect(a.state).toBe("failed");
    const c = ep({ kind: "msrp" });
    const answer = await ep({ kind: "msrp" }).acceptOffer(await c.createOffer());
    await expect(c.acceptAnswer(answer.replace("a=setup:active", "a=setup:holdconn"))).rejects.toMatchObject({
      code: "E_E2AE_SDP",
    });
  });

  it("calls in the wrong state throw E_E2AE_STATE / E_E2AE_CLOSED", async () => {
    const a = ep({ kind: "msrp" });
    await expect(a.acceptAnswer("v=0\r\n")).rejects.toMatchObject({ code: "E_E2AE_STATE" });
    await a.createOffer();
    await expect(a.createOffer()).rejects.toMatchObject({ code: "E_E2AE_STATE" });
    await expect(a.send("x", "text/plain")).rejects.toMatchObject({ code: "E_E2AE_STATE" });
    await a.close();
    await expect(a.createOffer()).rejects.toMatchObject({ code: "E_E2AE_CLOSED" });
    await expect(a.connected()).rejects.toMatchObject({ code: "E_E2AE_CLOSED" });
  });
});

describe("resources", () => {
  it("MSRP and BFCP streams release every socket and listener on close()", async () => {
    const before = activeResources();
    for (const kind of ["msrp", "bfcp"] as const) {
      const a = ep({ kind });
      const b = ep({ kind });
      await a.acceptAnswer(await b.acceptOffer(await a.createOffer()));
      await within(Promise.all([a.connected(), b.connected()]), 8000, "connected");
      await a.close();
      await b.close();
    }
    const failedA = ep({ kind: "msrp" });
    const failedB = ep({ kind: "msrp" });
    await failedA.acceptAnswer(tamperFingerprint(await failedB.acceptOffer(await failedA.createOffer())));
    await failure(failedA);
    await failedA.close();
    await failedB.close();
    expect(await leakedHandles(before)).toEqual({});
  });
});
