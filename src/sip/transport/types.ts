/**
 * Transport-level types shared by the UDP, TCP and WebSocket transports and the transport layer (RFC 3261 §18,
 * RFC 7118).
 */
import type { SipError, SipErrorCode } from "../errors.ts";
import type { ConnectionLimiterStats, ConnectionRefusedInfo } from "./limiter.ts";

/** RFC 3261 §18 / §26.2 (TLS over TCP), RFC 7118 §5 (WS, and WSS: WebSocket over TLS). */
export type SipTransportProtocol = "UDP" | "TCP" | "TLS" | "WS" | "WSS";

/** The connection-oriented transports (one connection table each). */
export type StreamTransportProtocol = Exclude<SipTransportProtocol, "UDP">;

/** RFC 3261 §26.2 / RFC 7118 §5: the transports that run over TLS. */
export function isSecureTransport(t: SipTransportProtocol): boolean {
  return t === "TLS" || t === "WSS";
}

export interface SipEndpoint {
  host: string;
  port: number;
}

/** Where to send a message. `connectionId` (TCP/WS) names an existing connection to use when it is still open. */
export interface SipTarget {
  transport: SipTransportProtocol;
  host: string;
  port: number;
  connectionId?: string | undefined;
}

/** Where a message came from (and, for stream transports, on which connection). */
export interface SipSource {
  transport: SipTransportProtocol;
  host: string;
  port: number;
  localHost: string;
  localPort: number;
  connectionId?: string | undefined;
}

/**
 * Why a TCP or WebSocket connection closed. A registered UA treats any of them on its registration flow as a flow
 * failure (RFC 5626 §4.4: a connection-oriented flow has failed when its connection closes).
 */
export type ConnectionCloseReason =
  /** the peer closed it (TCP FIN, reported at once; WebSocket Close frame) */
  | "peer-closed"
  /** it failed: RST, EPIPE, a socket error, a WebSocket closed without close frame (1006) */
  | "reset"
  /** no traffic either way for `idleTimeoutMs` (E_SIP_IDLE_TIMEOUT) */
  | "idle-timeout"
  /** a message (or the WebSocket handshake, or the first message of an inbound connection) was not complete within
   *  `messageTimeoutMs` (E_SIP_MESSAGE_TIMEOUT) */
  | "message-timeout"
  /** the stream could not be framed (oversize, bad Content-Length, WebSocket protocol error) */
  | "stream-error"
  /** we closed it: `closeConnection()`, or a write on it failed */
  | "local"
  /** the transport (layer) was closed */
  | "transport-closed"
  /** the table was near full and this was its idlest connection (E_SIP_EVICTED, limiter.ts) */
  | "evicted";

/** One closed TCP/WS connection, as `SipTransportLayer.onConnectionClosed` reports it. */
export interface ConnectionClosedInfo {
  connectionId: string;
  transport: StreamTransportProtocol;
  remote: SipEndpoint;
  /** local address of the connection (for a browser WebSocket: the `.invalid` Via host, port 0) */
  local: SipEndpoint;
  /** the peer opened it */
  inbound: boolean;
  reason: ConnectionCloseReason;
  /** stable code for the reasons that have one (timeouts, stream errors) */
  code?: SipErrorCode | undefined;
}

export type ConnectionClosedListener = (info: ConnectionClosedInfo) => void;

/** Callbacks a transport reports to (the transport layer). None of them may throw; transports guard anyway. */
export interface TransportHandlers {
  /** one framed message (a datagram, a TCP-framed message, a WebSocket message) */
  onMessage(bytes: Uint8Array, source: SipSource): void;
  /**
   * A stream could not be framed any further; the connection will be closed. May return bytes to write first
   * (e.g. a 413 or 400 answer to the request whose head was readable).
   */
  onStreamError(
    error: SipError,
    head: Uint8Array | undefined,
    tooLarge: "head" | "body" | undefined,
    source: SipSource,
  ): Uint8Array | undefined;
  /**
   * a TCP/WS connection closed, or its peer closed its side (TCP FIN; the connection may still write the responses
   * the peer is owed): once per connection that was open, whatever the reason
   */
  onConnectionClosed?(info: ConnectionClosedInfo): void;
  /** an inbound connection was refused at accept (per-source or global limit, limiter.ts); it is already closed */
  onConnectionRefused?(info: ConnectionRefusedInfo): void;
  /** a TLS/WSS handshake failed or the peer's certificate was refused (tlsContext.ts); the connection is closed */
  onTlsRefused?(info: TlsRefusedInfo): void;
}

/** One refused TLS peer: a failed handshake, or a certificate that the trust store does not accept. */
export interface TlsRefusedInfo {
  transport: "TLS" | "WSS";
  remote: SipEndpoint;
  /** E_SIP_TLS_HANDSHAKE or E_SIP_TLS_PEER */
  code: string;
  detail: string;
  /** the peer connected to us (a client refused), or we dialled it (a server refused) */
  inbound: boolean;
}

export interface TransportLimits {
  /** largest message accepted (bytes); default 65536 */
  maxMessageSize: number;
  /** simultaneous connections per stream transport (inbound + outbound); default 1024 */
  maxConnections: number;
  /**
   * Inbound connections one source IP may hold per stream transport; default 32. A UE needs one (two with RFC 5626
   * outbound), so 32 leaves room for a loopback lab's or a NAT's UEs behind one address, while one address takes at
   * most 1/32 of the default table. Raise it for a lab with more stream UEs on one address.
   */
  maxConnectionsPerSource: number;
  /** a registered flow or an outbound connection without traffic for this long is closed; default 300000 ms */
  idleTimeoutMs: number;
  /**
   * An inbound connection that never carried an accepted registration, and has no transaction in progress, is closed
   * after this long without traffic (capped by idleTimeoutMs); default 32000 ms (64·T1, RFC 3261 §17.1.2.2).
   */
  unregisteredIdleTimeoutMs: number;
  /**
   * When the table is near full (7/8 of maxConnections) a new inbound connection evicts the idlest connection that is
   * not a registered flow, carries no transaction and has been quiet at least this long; default 1000 ms.
   */
  evictIdleMs: number;
  /**
   * Per-message read deadline on TCP/WS (slowloris defence, like Kamailio's tcp_msg_read_timeout /
   * tcp_msg_data_timeout): a message must be complete this long after its first byte; an inbound connection must
   * deliver its first complete message (a WebSocket: finish its HTTP upgrade) this long after it was accepted.
   * Default 10000 ms.
   */
  messageTimeoutMs: number;
  /** outbound connection establishment limit; default 5000 ms */
  connectTimeoutMs: number;
  /** UDP socket receive and send buffer (bytes, SO_RCVBUF/SO_SNDBUF; capped by the kernel); 0 = OS default */
  udpBufferSize: number;
}

export const DEFAULT_LIMITS: TransportLimits = {
  maxMessageSize: 65536,
  maxConnections: 1024,
  maxConnectionsPerSource: 32,
  idleTimeoutMs: 300_000,
  unregisteredIdleTimeoutMs: 32_000,
  evictIdleMs: 1000,
  messageTimeoutMs: 10_000,
  connectTimeoutMs: 5000,
  udpBufferSize: 0,
};

export interface SipTransport {
  readonly protocol: SipTransportProtocol;
  /** RFC 3261 §17.1.1.2 / §18: reliable transports need no retransmission timers */
  readonly reliable: boolean;
  /** starts listening (a client-only WebSocket transport resolves without a socket); port 0 picks a free port */
  listen(): Promise<SipEndpoint | undefined>;
  address(): SipEndpoint | undefined;
  /** sends one message; resolves with the flow used (connection, local address) */
  send(bytes: Uint8Array, target: SipTarget): Promise<SipSource>;
  /** the connection is open both ways (usable for new requests) */
  hasConnection(id: string): boolean;
  /**
   * The connection can still carry a response (open, or half-closed by the peer after its request, RFC 3261 §18.2.2);
   * default hasConnection.
   */
  canRespond?(id: string): boolean;
  /** The DER certificate the peer of a TLS connection presented (RFC 5246 §7.4.2 / §7.4.6); TLS transports only. */
  peerCertificate?(id: string): Uint8Array | undefined;
  connectionCount(): number;
  /**
   * Marks a connection as carrying (or no longer carrying) a registered flow (RFC 5626 §5.2): it is never evicted and
   * keeps the long idle timeout. Stream transports only.
   */
  setFlow?(id: string, registered: boolean): void;
  /**
   * A request received on this connection was dropped without an answer: the connection no longer owes it one (a
   * half-closed TCP connection then closes). Stream transports only.
   */
  settle?(id: string): void;
  /** admission counters of a stream transport (limiter.ts) */
  connectionStats?(): ConnectionLimiterStats;
  /** frees every socket and timer */
  close(): Promise<void>;
}

/** Strips IPv6 brackets and the IPv4-mapped prefix: the form Node reports addresses in. */
export function bareHost(host: string): string {
  let h = host.startsWith("[") && host.endsWith("]") ? host.slice(1, -1) : host;
  if (h.toLowerCase().startsWith("::ffff:") && h.includes(".")) h = h.slice(7);
  return h.toLowerCase();
}

/** Host as written in SIP (IPv6 in brackets). */
export function sipHost(host: string): string {
  const h = bareHost(host);
  return h.includes(":") ? `[${h}]` : h;
}

export function endpointKey(host: string, port: number): string {
  return `${bareHost(host)}|${port}`;
}
