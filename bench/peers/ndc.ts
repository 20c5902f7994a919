/** The baseline peer: node-datachannel (libdatachannel 0.24), negotiated channel id 0, loopback only. */
import nodeDataChannel from "node-datachannel";
import type { BenchPeer } from "./types.ts";

export async function makeNdcPeer(): Promise<BenchPeer> {
  const pc = new nodeDataChannel.PeerConnection("bench", { iceServers: [], bindAddress: "127.0.0.1" });
  const dc = pc.createDataChannel("bench", { negotiated: true, id: 0 });
  const gathered = new Promise<void>((r) => {
    if (pc.gatheringState() === "complete") r();
    pc.onGatheringStateChange((s) => {
      if (s === "complete") r();
    });
  });
  const open = new Promise<void>((r) => {
    if (dc.isOpen()) r();
    dc.onOpen(() => r());
  });
  const msgCbs: ((d: Buffer | string) => void)[] = [];
  dc.onMessage((m) => {
    for (const c of msgCbs) c(m as Buffer | string);
  });
  const lowCbs: (() => void)[] = [];
  dc.onBufferedAmountLow(() => {
    for (const c of lowCbs) c();
  });
  const local = async (): Promise<string> => {
    await gathered;
    const d = pc.localDescription();
    if (!d) throw new Error("no local description");
    return d.sdp;
  };
  return {
    async createOffer() {
      pc.setLocalDescription();
      return local();
    },
    async acceptOffer(sdp) {
      pc.setRemoteDescription(sdp, "offer");
      return local();
    },
    async acceptAnswer(sdp) {
      pc.setRemoteDescription(sdp, "answer");
    },
    opened: () => open,
    send: (d) => {
      if (typeof d === "string") dc.sendMessage(d);
      else dc.sendMessageBinary(d);
    },
    buffered: () => dc.bufferedAmount(),
    setLowThreshold: (n) => dc.setBufferedAmountLowThreshold(n),
    onLow: (cb) => lowCbs.push(cb),
    onMessage: (cb) => msgCbs.push(cb),
    async close(final) {
      dc.close();
      pc.close();
      // the library's threads are shared by every peer of the process: released only on the way out
      if (final) nodeDataChannel.cleanup();
    },
  };
}
