/** BFCP framing and writes on one (already verified) TLS or TCP connection (RFC 8855). Socket handlers never throw. */

import type { Duplex } from "node:stream";
import { TypedEmitter } from "../../sip/emitter.ts";
import { type BfcpFrameEvent, BfcpFramer, type BfcpMessage, encodeBfcp } from "./bfcp.ts";
import { E2aeError } from "./errors.ts";

interface ConnEvents {
  message: [BfcpMessage];
  bad: [Extract<BfcpFrameEvent, { type: "error" }>];
  close: [E2aeError | undefined];
}

/** Framing + writes on one connection. */
export class BfcpConnection extends TypedEmitter<ConnEvents> {
  readonly socket: Duplex;
  private readonly framer: BfcpFramer;
  private ended = false;

  constructor(socket: Duplex, maxMessageBytes?: number) {
    super();
    this.socket = socket;
    this.framer = new BfcpFramer(maxMessageBytes !== undefined ? { maxMessageBytes } : {});
    socket.on("data", (d: Buffer) => {
      if (this.ended) return;
      for (const ev of this.framer.push(d)) {
        try {
          if (ev.type === "message") this.emit("message", ev.message);
          else this.emit("bad", ev);
        } catch {
          // a listener bug must not escape the socket handler
        }
        if (ev.type === "error" && ev.fatal) return;
      }
    });
    socket.on("error", (e: Error) => this.done(new E2aeError("E_BFCP_CLOSED", `socket error: ${e.message}`)));
    socket.on("close", () => this.done(new E2aeError("E_BFCP_CLOSED", "connection closed")));
    socket.on("end", () => {
      if (!socket.writableEnded) socket.end();
    });
  }

  get isEnded(): boolean {
    return this.ended;
  }

  send(m: BfcpMessage): boolean {
    if (this.ended || this.socket.destroyed || this.socket.writableEnded) return false;
    try {
      this.socket.write(encodeBfcp(m));
      return true;
    } catch {
      return false;
    }
  }

  private done(err: E2aeError | undefined): void {
    if (this.ended) return;
    this.ended = true;
    this.emit("close", err);
  }

  /** Half-closes, then destroys after `graceMs` if the peer does not close. */
  async end(graceMs = 1000): Promise<void> {
    const s = this.socket;
    this.ended = true;
    if (s.destroyed) return;
    await new Promise<void>((resolve) => {
      const t = setTimeout(() => s.destroy(), graceMs);
      t.unref?.();
      s.once("close", () => {
        clearTimeout(t);
        resolve();
      });
      s.end();
    });
  }
}
