/** One TCP connection on a termination and its TLS session toward the peer. */
import type net from "node:net";
import type tls from "node:tls";
import type { TlsRole } from "./iqTypes.ts";

export type LegState = "tcp" | "handshaking" | "awaiting-fingerprint" | "ready" | "closed";

/** One TCP connection on the termination (candidate until it is ready). */
export class Leg {
  tls: tls.TLSSocket | undefined;
  role: TlsRole | undefined;
  state: LegState = "tcp";
  peerDer: Buffer | undefined;
  protocol = "";
  timer: NodeJS.Timeout | undefined;
  /** set while the leg counts against the AGW's `maxHandshakes`; called once to give the slot back */
  endHandshake: (() => void) | undefined;
  constructor(
    readonly raw: net.Socket,
    readonly direction: "incoming" | "outgoing",
    readonly peerAddress: string,
    readonly peerPort: number,
  ) {}
  get stream(): net.Socket {
    return this.tls ?? this.raw;
  }
  clearTimer(): void {
    if (this.timer) clearTimeout(this.timer);
    this.timer = undefined;
  }
  handshakeDone(): void {
    const end = this.endHandshake;
    this.endHandshake = undefined;
    end?.();
  }
  destroy(): void {
    this.clearTimer();
    this.handshakeDone();
    this.state = "closed";
    this.tls?.destroy();
    this.raw.destroy();
  }
}
