/** Our UE on hardened werift (filled in once the SDP-driven endpoint lands). */
import type { BenchPeer } from "./types.ts";

export async function makeOursPeer(): Promise<BenchPeer> {
  throw new Error("ours: not wired yet");
}
