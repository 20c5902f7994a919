/**
 * SIP over WebSocket for a browser UE (RFC 7118): one client connection made with the browser's `WebSocket`, no
 * listening socket. It implements the user agent's `UaTransport`, so `SipUserAgent` runs unchanged in a page.
 *
 * - RFC 7118 §4: the "sip" subprotocol is offered, and a server that does not select it is disconnected.
 * - RFC 7118 §5.1: one SIP message per WebSocket message; text frames when the bytes are UTF-8, binary otherwise.
 * - RFC 7118 §5.2: a client that cannot receive connections puts a random "<x>.invalid" host in Via and Contact;
 *   every request and response, whatever its target, goes over the one connection.
 * - RFC 3261 §18.1.2: a response whose top Via is not ours is dropped.
 * - RFC 5626 §4.4 / §4.5: when the connection closes, `onConnectionClosed` listeners hear it (a registered UA treats it
 *   as a flow failure); the next request opens a new connection (a new connection id), so a UA's re-REGISTER is what
 *   reconnects. A response goes on the current connection (the only way out, RFC 7118 §5.2) and fails while none
 *   is open.
 *
 * No Node import (the demo page bundles it with esbuild); timers are bounded (connect timeout).
 */
import { SipError, SipParseError } from "../errors.ts";
import { randomHex } from "../grammar.ts";
import type { SipMessage, SipRequest, SipResponse } from "../message.ts";
import { parseMessage } from "../parse.ts";
import type { InboundListener } from "./layer.ts";
import {
  bareHost,
  type ConnectionClosedListener,
  type ConnectionCloseReason,
  type SipSource,
  type SipTarget,
  type SipTransportProtocol,
} from "./types.ts";

/** RFC 7118 §4: the WebSocket subprotocol for SIP. */
const SIP_SUBPROTOCOL = "sip";

/** What the transport needs from a WebSocket (the DOM `WebSocket`; a fake in unit tests). */
export interface BrowserWebSocketLike {
  readonly readyState: number;
  readonly protocol: string;
  binaryType: BinaryType;
  send(data: string | ArrayBufferLike | ArrayBufferView): void;
  close(code?: number, reason?: string): void;
  addEventListener(type: "open" | "error", listener: () => void): void;
  addEventListener(type: "close", listener: (ev: { code?: number }) => void): void;
  addEventListener(type: "message", listener: (ev: { data: unknown }) => void): void;
}

export interface BrowserWsTransportOptions {
  /** ws:// or wss://host:port/path of the P-CSCF's WebSocket listener (wss: makes the Via transport WSS) */
  url: string;
  /** WebSocket factory (default: `new WebSocket(url, "sip")`) */
  createSocket?: (url: string, protocol: string) => BrowserWebSocketLike;
  /** connect timeout, ms (default 5000) */
  connectTimeoutMs?: number;
  /** largest inbound message accepted, bytes (default 65536) */
  maxMessageSize?: number;
  /** called for every message sent or received (the demo page draws its ladder from it) */
  onTrace?: (direction: "in" | "out", bytes: Uint8Array) => void;
  /** called when an open connection closes (once per connection) */
  onClose?: (code: number | undefined) => void;
  /** called when a connection opens (the first one and every reconnection) */
  onOpen?: () => void;
}

const OPEN = 1;
const utf8 = new TextDecoder("utf-8", { fatal: true });

function isUtf8(b: Uint8Array): boolean {
  try {
    utf8.decode(b);
    return true;
  } catch {
    return false;
  }
}

/** A client-only SIP WebSocket transport for browsers (implements `UaTransport`). */
export class BrowserWsTransport {
  private ws: BrowserWebSocketLike | undefined;
  private readonly listeners = new Set<InboundListener>();
  private readonly closedListeners = new Set<ConnectionClosedListener>();
  private readonly via: { host: string; port: undefined };
  /** RFC 7118 §5.2: "WSS" over a wss: URL (WebSocket over TLS), "WS" otherwise */
  readonly protocol: "WS" | "WSS";
  /** one id per connection: dialogs and the UA's registration flow name the connection they used */
  private connectionId = `bws-${randomHex(4)}`;
  private connecting: Promise<void> | undefined;
  private closed = false;

  constructor(private readonly opts: BrowserWsTransportOptions) {
    // RFC 7118 §5.2: a random .invalid domain in Via sent-by and Contact
    this.via = { host: `${randomHex(6)}.invalid`, port: undefined };
    this.protocol = /^wss:/i.test(opts.url) ? "WSS" : "WS";
  }

  /**
   * Opens the WebSocket (again, after the previous one closed); rejects with E_SIP_TRANSPORT / E_SIP_TIMEOUT.
   * Resolves at once when a connection is open; concurrent calls share one attempt.
   */
  connect(): Promise<void> {
    if (this.closed) return Promise.reject(new SipError("E_SIP_CLOSED", "transport closed"));
    if (this.connected) return Promise.resolve();
    if (this.connecting) return this.connecting;
    const p = this.open().finally(() => {
      if (this.connecting === p) this.connecting = undefined;
    });
    this.connecting = p;
    return p;
  }

  private open(): Promise<void> {
    const make =
      this.opts.createSocket ??
      ((url: string, protocol: string) => new WebSocket(url, protocol) as BrowserWebSocketLike);
    const ws = make(this.opts.url, SIP_SUBPROTOCOL);
    ws.binaryType = "arraybuffer";
    this.ws = ws;
    const id = `bws-${randomHex(4)}`;
    this.connectionId = id;
    let opened = false;
    let localClose = false;
    return new Promise<void>((resolve, reject) => {
      let settled = false;
      const settle = (e?: SipError) => {
        if (settled) return;
        settled = true;
        clearTimeout(timer);
        if (e) {
          localClose = true;
          ws.close();
          reject(e);
        } else {
          opened = true;
          resolve();
          this.opts.onOpen?.();
        }
      };
      const timer = setTimeout(
        () => settle(new SipError("E_SIP_TIMEOUT", `WebSocket connect to ${this.opts.url} timed out`)),
        this.opts.connectTimeoutMs ?? 5000,
      );
      ws.addEventListener("open", () => {
        // RFC 7118 §4: the server must have selected "sip"
        if (ws.protocol !== SIP_SUBPROTOCOL) {
          settle(new SipError("E_SIP_TRANSPORT", `the server at ${this.opts.url} did not select the sip subprotocol`));
          return;
        }
        settle();
      });
      ws.addEventListener("error", () =>
        settle(new SipError("E_SIP_TRANSPORT", `WebSocket connect to ${this.opts.url} failed`)),
      );
      ws.addEventListener("close", (ev) => {
        settle(new SipError("E_SIP_TRANSPORT", `WebSocket to ${this.opts.url} closed`));
        if (!opened) return;
        opened = false;
        const code = typeof ev?.code === "number" ? ev.code : undefined;
        this.opts.onClose?.(code);
        // RFC 6455 §7.4.1: 1006 = closed without a Close frame
        const reason: ConnectionCloseReason =
          this.closed || localClose ? "local" : code === 1006 ? "reset" : "peer-closed";
        this.reportClosed(id, reason);
      });
      ws.addEventListener("message", (ev) => {
        if (this.ws === ws) this.inbound(ev.data);
      });
    });
  }

  /** Subscribes to the close of each connection (after it opened); returns an unsubscribe function. */
  onConnectionClosed(listener: ConnectionClosedListener): () => void {
    this.closedListeners.add(listener);
    return () => this.closedListeners.delete(listener);
  }

  private reportClosed(id: string, reason: ConnectionCloseReason): void {
    const s = this.source();
    for (const l of this.closedListeners) {
      try {
        l({
          connectionId: id,
          transport: this.protocol,
          remote: { host: s.host, port: s.port },
          local: { host: this.via.host, port: 0 },
          inbound: false,
          reason,
        });
      } catch {
        // a listener must never break the transport
      }
    }
  }

  get connected(): boolean {
    return this.ws?.readyState === OPEN;
  }

  // ------------------------------------------------------------------------------------------------------------------
  // UaTransport

  protocols(): SipTransportProtocol[] {
    return [this.protocol];
  }

  /** WS or WSS: a route or outbound proxy naming either reaches the one connection there is (RFC 7118 §5.2) */
  hasTransport(p: SipTransportProtocol): boolean {
    return p === "WS" || p === "WSS";
  }

  hasConnection(transport: SipTransportProtocol, connectionId: string): boolean {
    return this.hasTransport(transport) && connectionId === this.connectionId && this.connected;
  }

  isReliable(_p: SipTransportProtocol): boolean {
    return true;
  }

  localVia(p: SipTransportProtocol): { transport: string; host: string; port: number | undefined } {
    if (!this.hasTransport(p)) throw new SipError("E_SIP_TRANSPORT", `transport ${p} is not available in the browser`);
    return { transport: this.protocol, host: this.via.host, port: this.via.port };
  }

  onMessage(listener: InboundListener): () => void {
    this.listeners.add(listener);
    return () => this.listeners.delete(listener);
  }

  async sendRequest(req: SipRequest, _target: SipTarget): Promise<SipSource> {
    // RFC 5626 §4.5: a request after the connection closed (the UA's re-REGISTER) opens a new one
    if (!this.connected && !this.closed) await this.connect();
    // RFC 7118 §5.2: whatever the Request-URI or route says, the only way out is the connection to the proxy
    this.sendBytes(req.toBytes());
    return this.source();
  }

  async sendResponse(res: SipResponse, _source: SipSource | undefined): Promise<void> {
    this.sendBytes(res.toBytes());
  }

  async close(): Promise<void> {
    if (this.closed) return;
    this.closed = true;
    this.listeners.clear();
    this.closedListeners.clear();
    const ws = this.ws;
    if (ws && ws.readyState <= OPEN) ws.close(1000, "bye");
  }

  // ------------------------------------------------------------------------------------------------------------------

  private source(): SipSource {
    const u = new URL(this.opts.url);
    return {
      transport: this.protocol,
      host: bareHost(u.hostname),
      port: Number(u.port || (u.protocol === "wss:" ? 443 : 80)),
      localHost: this.via.host,
      localPort: 0,
      connectionId: this.connectionId,
    };
  }

  private sendBytes(bytes: Uint8Array): void {
    if (this.closed) throw new SipError("E_SIP_CLOSED", "transport closed");
    const ws = this.ws;
    if (!ws || ws.readyState !== OPEN) throw new SipError("E_SIP_TRANSPORT", "the WebSocket is not open");
    this.opts.onTrace?.("out", bytes);
    // RFC 7118 §5.1: a text frame for UTF-8 content, binary otherwise
    if (isUtf8(bytes)) ws.send(new TextDecoder().decode(bytes));
    else ws.send(bytes);
  }

  private inbound(data: unknown): void {
    if (this.closed) return;
    let bytes: Uint8Array;
    if (typeof data === "string") bytes = new TextEncoder().encode(data);
    else if (data instanceof ArrayBuffer) bytes = new Uint8Array(data);
    else return;
    // keep-alive frames (CRLFs only) carry no message (RFC 5626 §4.4.1 style)
    if (bytes.every((b) => b === 0x0d || b === 0x0a)) return;
    if (bytes.byteLength > (this.opts.maxMessageSize ?? 65536)) return;
    let msg: SipMessage;
    try {
      msg = parseMessage(bytes, { datagram: true });
    } catch (e) {
      if (e instanceof SipParseError) return;
      throw e;
    }
    // RFC 3261 §18.1.2: a response whose top Via is not ours is discarded
    if (msg.kind === "response" && bareHost(msg.topVia().host) !== this.via.host) return;
    this.opts.onTrace?.("in", bytes);
    const source = this.source();
    for (const l of this.listeners) {
      try {
        l(msg, source);
      } catch {
        // a listener must never break the transport
      }
    }
  }
}
