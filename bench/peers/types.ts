export interface BenchPeer {
  createOffer(): Promise<string>;
  acceptOffer(sdp: string): Promise<string>;
  acceptAnswer(sdp: string): Promise<void>;
  /** resolves when the channel is open and (for ours) the peer is verified */
  opened(): Promise<void>;
  send(data: Buffer | string): void;
  buffered(): number;
  setLowThreshold(n: number): void;
  onLow(cb: () => void): void;
  onMessage(cb: (d: Buffer | string) => void): void;
  /** closes this peer; `final` also releases what the implementation shares between peers (process exit) */
  close(final?: boolean): Promise<void>;
}

export type ParentMsg =
  | { type: "makeOffer" }
  | { type: "offer"; sdp: string }
  | { type: "answer"; sdp: string }
  | { type: "bulkSend"; size: number; high: number; low: number; durationMs: number }
  | { type: "bulkRecv" }
  | { type: "bulkExpect"; count: number }
  | { type: "burstSend"; count: number }
  | { type: "burstRecv"; count: number }
  | { type: "reset" }
  | { type: "exit" };
