/**
 * SIP over UDP (RFC 3261 §18): one message per datagram. Size checks and parsing are the transport layer's job;
 * this file only moves datagrams.
 */
import { createSocket, type Socket } from "node:dgram";
import { isIPv6 } from "node:net";
import type { Logger } from "../../log.ts";
import { silentLogger } from "../../log.ts";
import { SipError } from "../errors.ts";
import {
  bareHost,
  type SipEndpoint,
  type SipSource,
  type SipTarget,
  type SipTransport,
  type TransportHandlers,
} from "./types.ts";

export interface UdpTransportOptions {
  host?: string;
  port?: number;
  /** SO_RCVBUF / SO_SNDBUF in bytes (0 or absent: OS default); a busy proxy needs more than the default ~200 kB */
  bufferSize?: number;
  logger?: Logger;
}

/** Bounded cache of `bareHost` (one lower-cased copy per peer instead of one per datagram). */
const HOST_CACHE_MAX = 4096;

export class UdpTransport implements SipTransport {
  readonly protocol = "UDP" as const;
  readonly reliable = false;
  private socket: Socket | undefined;
  private bound: SipEndpoint | undefined;
  private closed = false;
  private readonly host: string;
  private readonly port: number;
  private readonly bufferSize: number;
  private readonly log: Logger;
  private readonly hosts = new Map<string, string>();

  constructor(
    private readonly handlers: TransportHandlers,
    opts: UdpTransportOptions = {},
  ) {
    this.host = opts.host ?? "127.0.0.1";
    this.port = opts.port ?? 0;
    this.bufferSize = opts.bufferSize ?? 0;
    this.log = opts.logger ?? silentLogger;
  }

  listen(): Promise<SipEndpoint> {
    return new Promise((resolve, reject) => {
      const socket = createSocket({ type: isIPv6(bareHost(this.host)) ? "udp6" : "udp4" });
      this.socket = socket;
      const onError = (e: Error) =>
        reject(new SipError("E_SIP_TRANSPORT", `UDP bind failed: ${e.message}`, { cause: e }));
      socket.once("error", onError);
      socket.on("message", (msg, rinfo) => {
        try {
          // the bound address (set before any datagram can arrive): no getsockname() per datagram
          const a = this.bound ?? { host: socket.address().address, port: socket.address().port };
          this.handlers.onMessage(new Uint8Array(msg.buffer, msg.byteOffset, msg.byteLength), {
            transport: "UDP",
            host: this.bare(rinfo.address),
            port: rinfo.port,
            localHost: a.host,
            localPort: a.port,
          });
        } catch (e) {
          this.log.error({ err: e }, "sip udp: message handler failed");
        }
      });
      socket.bind(this.port, bareHost(this.host), () => {
        socket.off("error", onError);
        // an error on a bound UDP socket (e.g. ICMP-triggered) must never crash the process
        socket.on("error", (e) => this.log.warn({ err: e }, "sip udp: socket error"));
        if (this.bufferSize > 0) {
          try {
            socket.setRecvBufferSize(this.bufferSize);
            socket.setSendBufferSize(this.bufferSize);
          } catch (e) {
            this.log.warn({ err: e, bufferSize: this.bufferSize }, "sip udp: socket buffer size not applied");
          }
        }
        const a = socket.address();
        this.bound = { host: a.address, port: a.port };
        resolve(this.bound);
      });
    });
  }

  address(): SipEndpoint | undefined {
    return this.bound;
  }

  /** `bareHost`, cached per peer address. */
  private bare(host: string): string {
    let h = this.hosts.get(host);
    if (h === undefined) {
      if (this.hosts.size >= HOST_CACHE_MAX) this.hosts.clear();
      h = bareHost(host);
      this.hosts.set(host, h);
    }
    return h;
  }

  /**
   * One datagram. The promise settles when `dgram` reports the send (on the next tick when the kernel took it at once):
   * callers rely on the rejection (RFC 3261 §17.1.4: a client transaction turns it into 503; §17.2.4: a server
   * transaction terminates), so every send keeps its callback (a send without one loses its error in `dgram`).
   */
  send(bytes: Uint8Array, target: SipTarget): Promise<SipSource> {
    const socket = this.socket;
    const local = this.bound;
    if (!socket || this.closed || !local) {
      return Promise.reject(new SipError("E_SIP_CLOSED", "UDP transport is not listening"));
    }
    const host = this.bare(target.host);
    const port = target.port;
    return new Promise((resolve, reject) => {
      try {
        socket.send(bytes, port, host, (err) => {
          if (err) reject(new SipError("E_SIP_TRANSPORT", `UDP send failed: ${err.message}`, { cause: err }));
          else resolve({ transport: "UDP", host, port, localHost: local.host, localPort: local.port });
        });
      } catch (e) {
        // dgram throws synchronously on a bad port or a closed socket
        reject(new SipError("E_SIP_TRANSPORT", `UDP send failed: ${(e as Error).message}`, { cause: e }));
      }
    });
  }

  hasConnection(): boolean {
    return false;
  }

  connectionCount(): number {
    return 0;
  }

  close(): Promise<void> {
    if (this.closed || !this.socket) {
      this.closed = true;
      return Promise.resolve();
    }
    this.closed = true;
    const socket = this.socket;
    return new Promise((resolve) => {
      try {
        socket.close(() => resolve());
      } catch {
        resolve();
      }
    });
  }
}
