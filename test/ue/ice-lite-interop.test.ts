/**
 * A full ICE agent we did not write (libdatachannel / libjuice) talks to a lite imsdc UE (TS 26.114 Annex A.17): the
 * full agent is controlling whatever the offer direction (RFC 8445 §6.1.1), the lite UE only answers its checks.
 */
import nodeDataChannel from "node-datachannel";
import { afterAll, describe, expect, it } from "vitest";
import { DcEndpoint } from "../../src/ue/dcEndpoint.ts";
import { bothWaysWithNdc, ndcPeer } from "./helpers.ts";

afterAll(async () => {
  await new Promise((r) => setTimeout(r, 200));
  nodeDataChannel.cleanup();
});

describe("libdatachannel (full ICE) ↔ imsdc UE (ICE-lite)", () => {
  it("lite UE offers, libdatachannel answers and controls ICE: verified channel, data both ways", async () => {
    const a = new DcEndpoint({ name: "alice", ice: "lite", channels: [{ id: 1000, label: "chat" }] });
    const n = ndcPeer("ndc-answerer");
    try {
      const offer = await a.createOffer();
      expect(offer).toMatch(/^a=ice-lite\r$/m);
      n.pc.setRemoteDescription(offer, "offer");
      const answer = await n.localSdp();
      expect(answer).not.toMatch(/^a=ice-lite/m);
      await a.acceptAnswer(answer);
      await Promise.all([a.connected(), n.opened]);
      expect(a.transport?.icePlan).toMatchObject({ kind: "ice", controlling: false });
      expect(a.verdict?.verified).toBe(true);
      expect(await bothWaysWithNdc(a, n, "lite to libdatachannel", "libdatachannel to lite")).toEqual([
        "lite to libdatachannel",
        "libdatachannel to lite",
      ]);
    } finally {
      n.close();
      await a.close();
    }
  });

  it("libdatachannel offers, the lite UE answers: verified channel, data both ways", async () => {
    const n = ndcPeer("ndc-offerer");
    const b = new DcEndpoint({ name: "bob", ice: "lite" });
    try {
      n.pc.setLocalDescription();
      const offer = await n.localSdp();
      const withDcmap = offer.replace(/(a=sctp-port:\d+\r?\n)/, '$1a=dcmap:1000 label="chat"\r\n');
      const answer = await b.acceptOffer(withDcmap);
      expect(answer).toMatch(/^a=ice-lite\r$/m);
      expect(answer.match(/^a=candidate:/gm)).toHaveLength(1);
      n.pc.setRemoteDescription(answer, "answer");
      await Promise.all([b.connected(), n.opened]);
      expect(b.transport?.icePlan).toMatchObject({ kind: "ice", controlling: false });
      expect(b.verdict?.verified).toBe(true);
      expect(await bothWaysWithNdc(b, n, "hi ndc", "hi lite")).toEqual(["hi ndc", "hi lite"]);
    } finally {
      n.close();
      await b.close();
    }
  });
});
