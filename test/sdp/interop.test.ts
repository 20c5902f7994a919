/**
 * Live interop with libdatachannel (node-datachannel): it must accept our offers and answers, and its own SDP must
 * pass our validator. Pins libdatachannel 0.24's habit of echoing the offerer's a=tls-id and a=dcmap lines.
 */
import nodeDataChannel from "node-datachannel";
import { afterAll, describe, expect, it } from "vitest";
import { buildDcAnswer, buildDcOffer, readDcMedia, validateAnswer, validateOffer } from "../../src/sdp/index.ts";
import { FP256, FP256_B } from "./cases.ts";

afterAll(() => {
  nodeDataChannel.cleanup();
});

function gathered(pc: nodeDataChannel.PeerConnection): Promise<string> {
  return new Promise((resolve) => {
    const done = () => resolve(pc.localDescription()?.sdp ?? "");
    pc.onGatheringStateChange((s) => {
      if (s === "complete") done();
    });
    setTimeout(done, 5000);
  });
}

describe("libdatachannel interop", () => {
  it("answers our offer; its answer validates (with the echoed tls-id flagged)", async () => {
    const offer = buildDcOffer({
      connection: { address: "127.0.0.1" },
      extraSessionAttributes: ["a=group:BUNDLE 0"],
      dataChannels: [
        {
          port: 40000,
          mid: "0",
          fingerprints: [{ hash: "sha-256", value: FP256 }],
          ice: {
            ufrag: "abcd",
            pwd: "e5fa516fb518630e421934",
            candidates: ["1 1 udp 2122260223 127.0.0.1 40000 typ host"],
            endOfCandidates: true,
          },
          dcmaps: [{ streamId: 1000, label: "chat", subprotocol: "msrp" }],
        },
      ],
    });
    expect(offer.ok).toBe(true);
    const pc = new nodeDataChannel.PeerConnection("answerer", { iceServers: [], bindAddress: "127.0.0.1" });
    try {
      const answerP = gathered(pc);
      pc.setRemoteDescription(offer.sdp, "offer");
      const answer = await answerP;
      const r = validateAnswer(offer.sdp, answer);
      expect(r.ok).toBe(true);
      expect(r.findings.map((f) => f.code)).toEqual(["W_TLSID_ECHOED"]);
      const [dc] = readDcMedia(answer);
      expect(dc?.setup).toBe("active");
      expect(dc?.tlsId).toBe(readDcMedia(offer.sdp)[0]?.tlsId);
    } finally {
      pc.close();
    }
  });

  it("its live offer validates; it accepts our answer to it", async () => {
    const pc = new nodeDataChannel.PeerConnection("offerer", { iceServers: [], bindAddress: "127.0.0.1" });
    try {
      const offerP = gathered(pc);
      pc.createDataChannel("chat", { protocol: "msrp" });
      pc.setLocalDescription();
      const offer = await offerP;
      const v = validateOffer(offer);
      expect(v.ok).toBe(true);
      expect(v.findings.map((f) => f.code)).toEqual(["W_TLSID_MISSING"]);
      const answer = buildDcAnswer(offer, {
        connection: { address: "127.0.0.1" },
        port: 40002,
        fingerprints: [{ hash: "sha-256", value: FP256_B }],
        ice: {
          ufrag: "wxyz",
          pwd: "c30e83d0649763a422e8a0",
          candidates: ["1 1 udp 2122260223 127.0.0.1 40002 typ host"],
          endOfCandidates: true,
        },
      });
      expect(answer.ok).toBe(true);
      expect(answer.sdp).not.toContain("a=tls-id");
      expect(() => pc.setRemoteDescription(answer.sdp ?? "", "answer")).not.toThrow();
      const remote = pc.remoteDescription();
      expect(remote?.type).toBe("answer");
      expect(remote?.sdp.toUpperCase()).toContain(FP256_B);
    } finally {
      pc.close();
    }
  });
});
