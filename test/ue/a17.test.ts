/**
 * TS 26.114 Annex A.17 as written: the example offer (an ICE-lite agent with `a=ice-options:ice2`, one host candidate
 * equal to c=/port, `a=fingerprint:SHA-1`, `a=tls-id: <value>` with a space, `a=max-message-size:1024`, `b=AS:500`,
 * `a=dcmap:0 subprotocol="http"`) is the exact text of test/fixtures/sdp/ts26114-a17-offer.sdp with only what must be
 * live substituted: the address and port (127.0.0.1 and a real socket), the ICE credentials, the SHA-1 fingerprint of
 * the peer's real certificate and its tls-id. The peer speaking that SDP is a DTLS/SCTP endpoint on that socket. An
 * imsdc UE (ICE-lite as in A.17, and a full ICE agent) answers it and the two connect with both certificates verified.
 */
import { createHash, X509Certificate } from "node:crypto";
import { readFileSync } from "node:fs";
import { join } from "node:path";
import { describe, expect, it } from "vitest";
import { validateAnswer, validateOffer } from "../../src/sdp/index.ts";
import { DcEndpoint } from "../../src/ue/dcEndpoint.ts";
import type { IceMode } from "../../src/ue/iceMode.ts";
import { nextMessage, waitOpen } from "./helpers.ts";

const FIXTURES = join(import.meta.dirname, "../fixtures/sdp");
const A17_OFFER = readFileSync(join(FIXTURES, "ts26114-a17-offer.sdp"), "utf8").replace(/\r?\n/g, "\r\n");

const attr = (sdp: string, name: string): string => {
  const m = new RegExp(`^a=${name}:(.*)\\r?$`, "m").exec(sdp);
  if (!m?.[1]) throw new Error(`no a=${name} in\n${sdp}`);
  return m[1];
};

/** The A.17 offer text, with the live values of `peer`'s own offer. */
function a17OfferOf(peer: DcEndpoint, peerOffer: string): string {
  const port = /^m=application (\d+) /m.exec(peerOffer)?.[1];
  if (!port) throw new Error("no port");
  const der = new X509Certificate(peer.identity.certPem).raw;
  const sha1 = [...createHash("sha1").update(der).digest()]
    .map((b) => b.toString(16).toUpperCase().padStart(2, "0"))
    .join(":");
  return A17_OFFER.replaceAll("192.0.2.156", "127.0.0.1")
    .replaceAll("52718", port)
    .replace("8hhY", attr(peerOffer, "ice-ufrag"))
    .replace("asd88fgpdd777uzjYhagZg", attr(peerOffer, "ice-pwd"))
    .replace(/^a=fingerprint:SHA-1 .*$/m, `a=fingerprint:SHA-1 ${sha1}`)
    .replace("a=tls-id: abc3de65cddef001be82", `a=tls-id: ${attr(peerOffer, "tls-id").trim()}`);
}

describe("TS 26.114 Annex A.17: an imsdc UE answers the example offer and connects to a peer speaking it", () => {
  for (const mode of ["lite", "full"] as IceMode[]) {
    it(`answerer ICE ${mode}: verified (SHA-1 fingerprint of the A.17 peer), bootstrap channel 0 "http" both ways`, async () => {
      // the A.17 peer: an ICE-lite agent with the A.17 limits, offering the bootstrap channel of the example
      const peer = new DcEndpoint({
        name: "a17-peer",
        ice: "lite",
        maxMessageSize: 1024,
        channels: [{ id: 0, subprotocol: "http" }],
      });
      const ue = new DcEndpoint({ name: "ue", ice: mode });
      try {
        const offer = a17OfferOf(peer, await peer.createOffer());
        // what goes on the wire is the A.17 text: only the live values differ from the fixture
        const strip = (s: string) =>
          s
            .split("\r\n")
            .filter((l) => !/^(o=|c=|m=|a=candidate|a=ice-ufrag|a=ice-pwd|a=fingerprint|a=tls-id)/.test(l))
            .join("\r\n");
        expect(strip(offer)).toBe(strip(A17_OFFER));
        expect(offer).toMatch(/^a=tls-id: \S+\r$/m);
        // accepted with the deviation warnings only (RFC 8842 §4 grammar, RFC 8122 §5 SHA-1)
        const v = validateOffer(offer);
        expect(v.findings.filter((f) => f.severity === "error")).toEqual([]);
        expect(v.ok).toBe(true);
        expect(v.findings.map((f) => f.code)).toEqual(expect.arrayContaining(["W_TLSID_LEADING_SPACE", "W_FP_SHA1"]));

        const answer = await ue.acceptOffer(offer);
        expect(validateAnswer(offer, answer).findings.filter((f) => f.severity === "error")).toEqual([]);
        expect(answer).toMatch(/^a=dcmap:0 subprotocol="http"\r$/m);
        expect(answer).toMatch(/^a=setup:active\r$/m);
        // RFC 8445 §6.1.1: facing a lite offerer, a lite answerer is lite too; a full one takes the controlling role
        if (mode === "lite") expect(answer).toMatch(/^a=ice-lite\r$/m);
        else expect(answer).not.toMatch(/^a=ice-lite/m);

        await peer.acceptAnswer(answer);
        await Promise.all([peer.connected(), ue.connected()]);
        // the UE verified the peer against the only fingerprint A.17 signals: SHA-1
        expect(ue.verdict).toMatchObject({ verified: true, hash: "sha-1" });
        expect(peer.verdict?.verified).toBe(true);
        const [cp, cu] = [peer.channel(0), ue.channel(0)];
        if (!cp || !cu) throw new Error("channel 0 missing");
        await Promise.all([waitOpen(cp), waitOpen(cu)]);
        expect(cu.info).toMatchObject({ id: 0, protocol: "http" });
        const atUe = nextMessage(cu);
        cp.send("GET / HTTP/1.1");
        expect(await atUe).toBe("GET / HTTP/1.1");
        const atPeer = nextMessage(cp);
        cu.send("HTTP/1.1 200 OK");
        expect(await atPeer).toBe("HTTP/1.1 200 OK");
      } finally {
        await Promise.all([peer.close(), ue.close()]);
      }
    });
  }
});
