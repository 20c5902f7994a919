import type { RTCDataChannel } from "#werift";
import { TypedEmitter } from "../sip/emitter.ts";
import { UeError } from "./errors.ts";

export type DcChannelState = "connecting" | "open" | "closing" | "closed";

/** What a data channel is, as negotiated by a=dcmap (RFC 8864 §5.1) or opened in band by DCEP (RFC 8832). */
export interface DcChannelInfo {
  id: number;
  label: string;
  protocol: string;
  ordered: boolean;
  maxRetransmits?: number;
  maxPacketLifeTime?: number;
  negotiated: boolean;
}

export interface DcChannelEvents {
  open: [];
  close: [];
  message: [data: Buffer | string];
  /** a non-fatal fault on this channel (e.g. an oversize inbound message was dropped) */
  failure: [err: UeError];
  bufferedamountlow: [];
}

/**
 * One data channel. `send` enforces the peer's a=max-message-size; inbound messages larger than ours are dropped
 * with an `error` event (RFC 8841 §6). Nothing here throws except `send` on caller error (typed UeError).
 */
export class DcChannel extends TypedEmitter<DcChannelEvents> {
  readonly info: DcChannelInfo;
  private readonly dc: RTCDataChannel;
  private readonly limits: { local: () => number; remote: () => number };
  private disposers: (() => void)[] = [];

  /** @internal created by the UE's transport (the engine's channel stays out of the public types) */
  constructor(dc: RTCDataChannel, limits: { local: () => number; remote: () => number }) {
    super();
    this.dc = dc;
    this.limits = limits;
    const info: DcChannelInfo = {
      id: dc.id,
      label: dc.label,
      protocol: dc.protocol,
      ordered: dc.ordered,
      negotiated: dc.negotiated,
    };
    if (dc.maxRetransmits !== null && dc.maxRetransmits !== undefined) info.maxRetransmits = dc.maxRetransmits;
    if (dc.maxPacketLifeTime !== null && dc.maxPacketLifeTime !== undefined)
      info.maxPacketLifeTime = dc.maxPacketLifeTime;
    this.info = info;
    const s1 = dc.stateChanged.subscribe((st) => {
      if (st === "open") this.emit("open");
      else if (st === "closed") {
        this.emit("close");
        this.dispose();
      }
    });
    const s2 = dc.onMessage.subscribe((data) => {
      const size = typeof data === "string" ? Buffer.byteLength(data) : data.length;
      const max = this.limits.local();
      // RFC 8841 §6: a=max-message-size is what we are willing to receive; 0 means no limit
      if (max > 0 && size > max) {
        this.emit(
          "failure",
          new UeError("E_DC_RX_TOO_LARGE", `inbound message of ${size} B exceeds our max-message-size ${max}`, {
            details: { size, max, channel: this.info.id },
          }),
        );
        return;
      }
      this.emit("message", data);
    });
    const s3 = dc.bufferedAmountLow.subscribe(() => this.emit("bufferedamountlow"));
    // the patched engine drops an oversize inbound message itself (RFC 8841 §6) and reports it here
    const s4 = dc.error.subscribe((e) => {
      const oversize = /max-message-size/.test(e.message);
      this.emit(
        "failure",
        new UeError(oversize ? "E_DC_RX_TOO_LARGE" : "E_DC_CHANNEL", e.message, {
          cause: e,
          details: { channel: this.info.id },
        }),
      );
    });
    this.disposers.push(
      () => s1.unSubscribe(),
      () => s2.unSubscribe(),
      () => s3.unSubscribe(),
      () => s4.unSubscribe(),
    );
  }

  get id(): number {
    return this.info.id;
  }
  get label(): string {
    return this.info.label;
  }
  get readyState(): DcChannelState {
    return this.dc.readyState;
  }
  get bufferedAmount(): number {
    return this.dc.bufferedAmount;
  }
  get bufferedAmountLowThreshold(): number {
    return this.dc.bufferedAmountLowThreshold;
  }
  set bufferedAmountLowThreshold(v: number) {
    this.dc.bufferedAmountLowThreshold = v;
  }

  /** Sends a message. Throws UeError E_DC_NOT_OPEN or E_DC_TX_TOO_LARGE; never sends a partial message. */
  send(data: Buffer | Uint8Array | string): void {
    if (this.dc.readyState !== "open") {
      throw new UeError("E_DC_NOT_OPEN", `channel ${this.info.id} is ${this.dc.readyState}`);
    }
    const payload = typeof data === "string" ? data : Buffer.isBuffer(data) ? data : Buffer.from(data);
    const size = typeof payload === "string" ? Buffer.byteLength(payload) : payload.length;
    const max = this.limits.remote();
    // RFC 8841 §6: never send a message larger than the peer's advertised a=max-message-size (0 = unlimited)
    if (max > 0 && size > max) {
      throw new UeError("E_DC_TX_TOO_LARGE", `message of ${size} B exceeds the peer's max-message-size ${max}`, {
        details: { size, max, channel: this.info.id },
      });
    }
    this.dc.send(payload);
  }

  close(): void {
    if (this.dc.readyState === "closed" || this.dc.readyState === "closing") return;
    try {
      this.dc.close();
    } catch {
      // closing a channel whose association is gone is not an error for the caller
    }
  }

  private dispose(): void {
    for (const d of this.disposers.splice(0)) d();
  }
}
