/**
 * Our UE (DcEndpoint on hardened werift), negotiated channel 1000 via a=dcmap, loopback only, in one of its ICE modes
 * (full ICE, ICE-lite on both sides: no checks, or no ICE: DTLS over plain UDP to c=/port).
 */

import type { DcChannel } from "../../src/ue/channel.ts";
import { DcEndpoint } from "../../src/ue/dcEndpoint.ts";
import type { IceMode } from "../../src/ue/iceMode.ts";
import type { BenchPeer } from "./types.ts";

export async function makeOursPeer(ice: IceMode = "full"): Promise<BenchPeer> {
  const ep = new DcEndpoint({
    name: "bench",
    ice,
    channels: [{ id: 1000, label: "bench" }],
    maxMessageSize: 262144,
  });
  let ch: DcChannel | undefined;
  const msgCbs: ((d: Buffer | string) => void)[] = [];
  const lowCbs: (() => void)[] = [];
  let low = 0;
  const channelReady = new Promise<DcChannel>((resolve) => {
    ep.on("channel", (c) => {
      if (c.id !== 1000) return;
      ch = c;
      c.on("message", (m) => {
        for (const cb of msgCbs) cb(m);
      });
      c.on("bufferedamountlow", () => {
        for (const cb of lowCbs) cb();
      });
      c.bufferedAmountLowThreshold = low;
      resolve(c);
    });
  });
  const need = (): DcChannel => {
    if (!ch) throw new Error("channel not ready");
    return ch;
  };
  return {
    createOffer: () => ep.createOffer(),
    acceptOffer: (sdp) => ep.acceptOffer(sdp),
    acceptAnswer: (sdp) => ep.acceptAnswer(sdp),
    async opened() {
      await ep.connected();
      const c = await channelReady;
      if (c.readyState !== "open") await new Promise<void>((r) => c.once("open", () => r()));
      if (!ep.verdict?.verified) throw new Error("peer not verified");
    },
    send: (d) => need().send(d),
    buffered: () => need().bufferedAmount,
    setLowThreshold: (n) => {
      low = n;
      if (ch) ch.bufferedAmountLowThreshold = n;
    },
    onLow: (cb) => lowCbs.push(cb),
    onMessage: (cb) => msgCbs.push(cb),
    close: () => ep.close(),
  };
}
