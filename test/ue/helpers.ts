import nodeDataChannel from "node-datachannel";
import type { DcChannel } from "../../src/ue/channel.ts";
import type { DcEndpoint } from "../../src/ue/dcEndpoint.ts";

export function nextMessage(ch: DcChannel, ms = 5000): Promise<string> {
  return new Promise((resolve, reject) => {
    const t = setTimeout(() => reject(new Error(`no message on channel ${ch.id} within ${ms} ms`)), ms);
    ch.once("message", (m) => {
      clearTimeout(t);
      resolve(String(m));
    });
  });
}

export function waitOpen(ch: DcChannel, ms = 10_000): Promise<void> {
  if (ch.readyState === "open") return Promise.resolve();
  return new Promise((resolve, reject) => {
    const t = setTimeout(() => reject(new Error(`channel ${ch.id} not open within ${ms} ms`)), ms);
    ch.once("open", () => {
      clearTimeout(t);
      resolve();
    });
  });
}

/** Flips the last byte of every a=fingerprint value (a tampered SDP). */
export function tamperFingerprint(sdp: string): string {
  return sdp.replace(/a=fingerprint:(\S+) ([0-9A-F:]+)/g, (_m, alg: string, fp: string) => {
    const last = fp.slice(-2);
    const flipped = ((Number.parseInt(last, 16) ^ 0xff) & 0xff).toString(16).toUpperCase().padStart(2, "0");
    return `a=fingerprint:${alg} ${fp.slice(0, -2)}${flipped}`;
  });
}

export interface NdcPeer {
  pc: nodeDataChannel.PeerConnection;
  channel: nodeDataChannel.DataChannel;
  localSdp(): Promise<string>;
  opened: Promise<void>;
  messages: string[];
  nextMessage(ms?: number): Promise<string>;
  states: string[];
  close(): void;
}

/** node-datachannel (libdatachannel) peer with a negotiated channel: the oracle that verifies DTLS correctly. */
export function ndcPeer(name: string, channelId = 1000): NdcPeer {
  const pc = new nodeDataChannel.PeerConnection(name, { iceServers: [], bindAddress: "127.0.0.1" });
  const states: string[] = [];
  pc.onStateChange((s) => states.push(s));
  const channel = pc.createDataChannel("chat", { negotiated: true, id: channelId });
  const gathered = new Promise<void>((r) => {
    if (pc.gatheringState() === "complete") r();
    pc.onGatheringStateChange((s) => {
      if (s === "complete") r();
    });
  });
  const opened = new Promise<void>((r) => {
    if (channel.isOpen()) r();
    channel.onOpen(() => r());
  });
  const messages: string[] = [];
  const waiters: ((m: string) => void)[] = [];
  channel.onMessage((m) => {
    const s = String(m);
    messages.push(s);
    waiters.shift()?.(s);
  });
  return {
    pc,
    channel,
    opened,
    messages,
    states,
    async localSdp() {
      await gathered;
      const d = pc.localDescription();
      if (!d) throw new Error("no local description");
      return d.sdp;
    },
    nextMessage(ms = 5000) {
      return new Promise((resolve, reject) => {
        const t = setTimeout(() => reject(new Error("ndc: no message")), ms);
        waiters.push((m) => {
          clearTimeout(t);
          resolve(m);
        });
      });
    },
    close() {
      try {
        // closing the channel before its connection can crash libdatachannel at worker exit: close the connection only
        pc.close();
      } catch {
        /* already closed */
      }
    },
  };
}

/**
 * Waits until our channel `id` is open, then one message each way with a libdatachannel peer: resolves with what
 * libdatachannel received and what we received.
 */
export async function bothWaysWithNdc(
  ep: DcEndpoint,
  n: NdcPeer,
  toNdc: string,
  toUs: string,
  id = 1000,
): Promise<[string, string]> {
  const ch = ep.channel(id);
  if (!ch) throw new Error("channel missing");
  await waitOpen(ch);
  const atNdc = n.nextMessage();
  ch.send(toNdc);
  const gotNdc = await atNdc;
  const atUs = nextMessage(ch);
  n.channel.sendMessage(toUs);
  return [gotNdc, await atUs];
}
