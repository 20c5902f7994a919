/**
 * Regression tests for the bugs bench/fuzz.ts found (docs/fuzz.md "Findings"). Each test is named for its bug and
 * fails without the fix.
 */
import { createSocket } from "node:dgram";
import { connect } from "node:net";
import { describe, expect, it } from "vitest";
import { inspectSdp, parseMsrpPath, validateOffer } from "../../src/sdp/index.ts";
import { parseViaParm } from "../../src/sip/headers.ts";
import { parseMessage, readPartial } from "../../src/sip/parse.ts";
import { SipTransportLayer } from "../../src/sip/transport/layer.ts";
import { DcEndpoint } from "../../src/ue/dcEndpoint.ts";
import { UeError } from "../../src/ue/errors.ts";
import { activeResources, expectNoLeaks, waitFor } from "../sip/helpers.ts";

describe("fuzz findings (regressions)", () => {
  it("finding amplification: an a=path of 16 KiB spaces gives one E_MSRP_PATH finding, not one per space", () => {
    // before: parseMsrpPath reported every empty URI between spaces: 16 387 findings and ~45 ms per validation
    const path = `msrps://192.0.2.40:9/r2Ds9kQ;tcp${" ".repeat(16385)}`;
    expect(parseMsrpPath(path).problems).toHaveLength(1);
    const sdp = [
      "v=0",
      "o=- 1 1 IN IP4 192.0.2.40",
      "s=-",
      "t=0 0",
      "m=message 9 TCP/TLS/MSRP *",
      "c=IN IP4 192.0.2.40",
      "a=accept-types:message/cpim",
      `a=path:${path}`,
      "",
    ].join("\r\n");
    const v = validateOffer(sdp);
    expect(v.findings.filter((f) => f.code === "E_MSRP_PATH")).toHaveLength(1);
    expect(inspectSdp(sdp).findings.length).toBeLessThan(10);
  });

  it("finding amplification: an a=3gpp-qos-hint of 16 KiB ';' gives one E_QOS_HINT_SYNTAX finding", () => {
    // before: one finding per empty parameter between ";" (16 399 findings for one line)
    const v = validateOffer(
      [
        "v=0",
        "o=- 1 1 IN IP4 127.0.0.1",
        "s=-",
        "c=IN IP4 127.0.0.1",
        "t=0 0",
        "m=application 9 UDP/DTLS/SCTP webrtc-datachannel",
        `a=fingerprint:sha-256 ${Array(32).fill("AB").join(":")}`,
        "a=setup:actpass",
        "a=sctp-port:5000",
        `a=3gpp-qos-hint:loss=0.01${";".repeat(16385)}latency=100;loss=0.5;loss=0.5`,
        "",
      ].join("\r\n"),
    );
    expect(v.findings.filter((f) => f.code === "E_QOS_HINT_SYNTAX")).toHaveLength(1);
  });

  // A quadratic regex on a run of spaces blocks the event loop: one 64 KiB datagram froze a node for seconds.
  const RUN = " ".repeat(60_000);
  const timed = (fn: () => unknown): number => {
    const t0 = performance.now();
    try {
      fn();
    } catch {
      // a parse error is the expected outcome; only the time matters here
    }
    return performance.now() - t0;
  };
  const request = (via: string, extra = "") =>
    new TextEncoder().encode(
      `OPTIONS sip:bob@127.0.0.1 SIP/2.0\r\nVia: ${via}\r\nMax-Forwards: 70\r\nFrom: <sip:a@b>;tag=1\r\n` +
        `To: <sip:b@b>\r\nCall-ID: redos@test\r\nCSeq: 1 OPTIONS\r\n${extra}Content-Length: 0\r\n\r\n`,
    );

  it("quadratic Via sent-by regex: 60 000 spaces inside sent-by parse in linear time (was 16 s)", () => {
    const bytes = request(`SIP/2.0/UDP 192${RUN}.0.2.1;branch=z9hG4bK1`);
    expect(timed(() => parseMessage(bytes, { datagram: true }))).toBeLessThan(250);
    expect(timed(() => parseViaParm(`SIP/2.0/UDP 127.0.0.1${RUN}:5060;branch=z9hG4bK1`))).toBeLessThan(250);
  });

  it("quadratic header-name trim: 60 000 spaces inside a header name parse in linear time (was 2 s)", () => {
    const bytes = request("SIP/2.0/UDP 127.0.0.1;branch=z9hG4bK1", `Max-Forw${RUN}ards: 70\r\n`);
    expect(timed(() => parseMessage(bytes, { datagram: true }))).toBeLessThan(250);
    expect(timed(() => readPartial(bytes))).toBeLessThan(250);
  });

  it("quadratic Request-Line regex: a start line with 60 000 spaces is read in linear time (was 2.5 s)", () => {
    const bytes = new TextEncoder().encode(`\r\n\r\nContent-Length: 229${RUN}x\r\nVia: SIP/2.0/UDP h\r\n\r\n`);
    expect(timed(() => parseMessage(bytes, { datagram: true }))).toBeLessThan(250);
    expect(timed(() => readPartial(bytes))).toBeLessThan(250);
    // the loose reading that makes a bad request answerable still works (RFC 3261 §8.2: 400 with the rows)
    const partial = readPartial(new TextEncoder().encode("INVITE   sip:a@b   SIP/2.0\r\nVia: x\r\n\r\n"));
    expect(partial).toMatchObject({ kind: "request", method: "INVITE", uri: "sip:a@b" });
  });

  it("lower Via blocks the 400: a request whose lower Via is malformed is still answered 400 (RFC 3261 §18.2.2)", async () => {
    // before: sendResponse parsed every Via row of the 400 (it echoes the request's rows) and gave up on the bad one
    const before = activeResources();
    const layer = new SipTransportLayer({ udp: true });
    await layer.start();
    const sock = createSocket("udp4");
    const got: string[] = [];
    sock.on("message", (b) => got.push(b.toString("latin1")));
    await new Promise<void>((r) => sock.bind(0, "127.0.0.1", () => r()));
    try {
      const port = sock.address().port;
      const req = [
        "OPTIONS sip:bob@127.0.0.1 SIP/2.0",
        `Via: SIP/2.0/UDP 127.0.0.1:${port};branch=z9hG4bK-lower-via;rport`,
        "Via: SIP/T.0/WSS t7.example.com;branch=z9hG4bK2",
        "Max-Forwards: 70",
        "From: <sip:a@example.com>;tag=1",
        "To: <sip:bob@example.com>",
        "Call-ID: lower-via@test",
        "CSeq: 1 OPTIONS",
        "Content-Length: 0",
        "",
        "",
      ].join("\r\n");
      sock.send(Buffer.from(req, "latin1"), layer.address("UDP")?.port ?? 0, "127.0.0.1");
      await waitFor(() => got.length > 0, 3000, "the 400");
      expect(got[0]).toMatch(/^SIP\/2\.0 400 /);
      expect(got[0]).toMatch(/\r\nWarning: 399 \S+ "E_SIP_VIA: /);
      expect(got[0]).toContain("Call-ID: lower-via@test");
    } finally {
      await new Promise<void>((r) => sock.close(() => r()));
      await layer.close();
    }
    expect(await expectNoLeaks(before)).toEqual({});
  });

  it("half-closed garbage does not fill the P-CSCF's connection table: the next malformed request still gets its 400", async () => {
    // before: a request the layer dropped unanswered stayed "owed"; after the peer's FIN the connection waited for that
    // answer until the idle timeout (300 s), the table filled, and new connections (with their 400s) were refused
    const before = activeResources();
    const layer = new SipTransportLayer({ tcp: true, limits: { maxConnections: 16 } });
    await layer.start();
    const port = layer.address("TCP")?.port ?? 0;
    const send = (text: string) =>
      new Promise<string>((resolve) => {
        let got = "";
        const s = connect({ host: "127.0.0.1", port });
        s.on("error", () => undefined);
        s.on("data", (d: Buffer) => {
          got += d.toString("latin1");
        });
        const t = setTimeout(() => s.destroy(), 3000);
        s.on("close", () => {
          clearTimeout(t);
          resolve(got);
        });
        s.once("connect", () => s.end(text));
      });
    try {
      // unanswerable (no Via, no Call-ID): dropped; then FIN
      for (let i = 0; i < 40; i++)
        expect(await send(`FOO sip:x SIP/2.0\r\nX-N: ${i}\r\nContent-Length: 0\r\n\r\n`)).toBe("");
      const answered = await send(
        "OPTIONS sip:bob@127.0.0.1 SIP/2.0\r\nVia: SIP/2.0/TCP 127.0.0.1:9;branch=z9hG4bK-hc\r\nMax-Forwards: 70\r\n" +
          "From: <sip:a@example.com>;tag=1\r\nTo: <sip:bob@example.com>\r\nCall-ID: hc@test\r\nCSeq: x OPTIONS\r\n" +
          "Content-Length: 0\r\n\r\n",
      );
      expect(answered).toMatch(/^SIP\/2\.0 400 /);
      expect(layer.connectionStats("TCP")?.refused.global).toBe(0);
    } finally {
      await layer.close();
    }
    expect(await expectNoLeaks(before)).toEqual({});
  });

  it("malformed candidate kills the association: it is ignored (W_ICE_CANDIDATE), the peers still connect", async () => {
    // before: werift's Candidate.fromSdp threw a plain Error and the association failed as E_DTLS_FAILED
    const a = new DcEndpoint({ name: "alice", channels: [{ id: 1000, label: "chat" }] });
    const b = new DcEndpoint({ name: "bob" });
    try {
      const offer = (await a.createOffer()).replace(/(a=candidate:[^\r\n]*\r\n)/, "a=candidate:1 1 udp\r\n$1");
      expect(validateOffer(offer).findings.map((f) => f.code)).toContain("W_ICE_CANDIDATE");
      await a.acceptAnswer(await b.acceptOffer(offer));
      await Promise.all([a.connected(), b.connected()]);
      expect(b.verdict?.verified).toBe(true);
    } finally {
      await Promise.all([a.close(), b.close()]);
    }
  });

  it("ICE failure reported as E_DTLS_FAILED: no usable candidate is E_ICE_FAILED, typed, stage named", async () => {
    const a = new DcEndpoint({ name: "alice" });
    const b = new DcEndpoint({ name: "bob", timeouts: { iceMs: 3000 } });
    try {
      const offer = (await a.createOffer()).replace(/a=candidate:[^\r\n]*/g, "a=candidate:1 1 udp");
      await b.acceptOffer(offer);
      const err = await b.connected().then(
        () => undefined,
        (e: unknown) => e,
      );
      expect(err).toBeInstanceOf(UeError);
      expect((err as UeError).code).toBe("E_ICE_FAILED");
    } finally {
      await Promise.all([a.close(), b.close()]);
    }
  });
});
