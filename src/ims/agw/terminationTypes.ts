/** The construction parameters and the engine hooks of a `Termination` (mediasoup-style FooTypes). */
import type { AuditEvent, Logger } from "../../log.ts";
import type { TlsCredential } from "./credential.ts";
import type { IqEvent } from "./iqEvents.ts";
import type {
  IqTransport,
  RemoteDescriptor,
  TcpEstablishment,
  TerminationSide,
  TerminationTimers,
  TlsRole,
} from "./iqTypes.ts";
import type { Termination } from "./termination.ts";

export type ResolvedTimers = { readonly [K in keyof TerminationTimers]-?: number };

export interface TerminationHooks {
  emit(event: IqEvent): void;
  audit(event: AuditEvent): void;
  /** A TCP connection was adopted on `t` (interlinkage trigger, TR 29.828 §4.4.2.1.2 indication 3). */
  tcpEstablished(t: Termination, direction: "incoming" | "outgoing"): void;
  /** `t` has a ready (connected, and for TLS verified) connection. */
  ready(t: Termination): void;
  /** `t`'s ready connection closed before or outside a relay. */
  disconnected(t: Termination): void;
  /** AGW-wide bound on TLS handshakes in progress (`maxHandshakes`): true when no new incoming one may start. */
  handshakesFull(): boolean;
  /** A TLS handshake started / ended (counted once each per leg). */
  handshakeStarted(): void;
  handshakeEnded(): void;
  /** An incoming connection was refused by the AGW-wide handshake bound (log and audit, rate-limited by the AGW). */
  handshakeRefused(t: Termination, peerAddress: string, peerPort: number): void;
}

export interface TerminationInit {
  contextId: string;
  terminationId: string;
  side: TerminationSide;
  transport: IqTransport;
  localAddress: string;
  localPort: number;
  tcpEstablishment: TcpEstablishment;
  establishTlsSession: boolean;
  tlsRole?: TlsRole;
  notifyTlsFailure: boolean;
  localFingerprintRequested: boolean;
  acceptTcpOnlyFromRemote?: boolean;
  remote?: RemoteDescriptor;
  timers: ResolvedTimers;
  maxParked: number;
  maxCandidates: number;
  highWaterMark: number;
  /** TCP keep-alive on adopted connections: first probe after this idle time (0 = off). */
  keepAliveMs: number;
  /** Present iff the transport has TLS. */
  credential?: TlsCredential;
  logger: Logger;
  hooks: TerminationHooks;
}
