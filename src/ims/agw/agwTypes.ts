/** Options, default timers and operational views of the IMS-AGW engine (`ImsAgw`). */
import type { AuditLog, Logger } from "../../log.ts";
import type { SessionCertificate } from "../../security/certificate.ts";
import type { IqTransport, TerminationSide, TerminationState, TerminationTimers } from "./iqTypes.ts";
import type { ResolvedTimers } from "./terminationTypes.ts";

/** Default timers (ms). Establishment is generous: the SDP answer may wait for a human to accept the session. */
export const DEFAULT_TIMERS: ResolvedTimers = {
  establishmentMs: 180_000,
  connectMs: 10_000,
  handshakeMs: 10_000,
  fingerprintWaitMs: 30_000,
  holdMs: 30_000,
  idleMs: 0,
};

export interface ImsAgwOptions {
  /** Default local address of access-side terminations. Default 127.0.0.1. */
  accessAddress?: string;
  /** Default local address of core-side terminations. Default 127.0.0.1. */
  coreAddress?: string;
  /**
   * Remote addresses allowed on access terminations (CIDR list, e.g. ["10.20.0.0/16"]). Default: loopback and the
   * access address. A Reserve and Configure or Configure naming another address is refused (E_AGW_ADDRESS_POLICY).
   */
  accessNetworks?: readonly string[];
  /** Remote addresses allowed on core terminations (CIDR list). Default: loopback and the core address. */
  coreNetworks?: readonly string[];
  logger?: Logger;
  /** Audit log for every TLS verification and TCP admission decision. Default: a private in-memory log. */
  audit?: AuditLog;
  /** Default timers of new terminations (each field overridable per request). */
  timers?: TerminationTimers;
  /**
   * Profile default of TR 29.828 §4.4.2.1.2 indication 3 (SYN on one termination triggers SYN on the other).
   * Default true: "This is also the expected behavior for the current versions of the Ix and Iq profiles."
   */
  tcpEstablishmentInterlinkage?: boolean;
  /** Default 10 000. Refusal: `E_AGW_LIMIT`. */
  maxContexts?: number;
  /** All terminations of all contexts (reserved, connecting or relaying). Default 2 × maxContexts. Refusal: `E_AGW_LIMIT`. */
  maxTerminations?: number;
  /**
   * TLS handshakes in progress in the whole AGW (each costs CPU and memory before the peer is authenticated).
   * An incoming connection to a TLS termination beyond the bound is reset unread: event `tcpConnectionRefused`
   * (reason `handshake-limit`, code `E_AGW_HANDSHAKE_LIMIT`). Default 256.
   */
  maxHandshakes?: number;
  /** TCP keep-alive on every adopted connection: idle time before the first probe (ms, 0 = off). Default 30 s. */
  keepAliveMs?: number;
  /** Connections parked by delayed/hold mode per termination. Default 4. */
  maxParkedPerTermination?: number;
  /** Connections in TCP/TLS setup per termination (first verified wins). Default 4. */
  maxCandidatesPerTermination?: number;
  /** Stream high-water mark of relayed sockets (bytes). Default 256 KiB. */
  highWaterMark?: number;
  /** A half-closed relay must finish within this time. Default 30 s. */
  halfCloseMs?: number;
  /** Default TLSv1.2 (TLS 1.3 preferred by negotiation). */
  tlsMinVersion?: "TLSv1.2" | "TLSv1.3";
  /** Certificate source (tests); default: `generateSessionCertificate()` (ECDSA P-256, self-tested). */
  certificateFactory?: () => SessionCertificate;
  /**
   * One certificate per TLS termination (default: sessions not linkable by the AGW certificate, and the UE's own check
   * tells terminations apart), or one per AGW renewed daily (a few KiB less per leg, no key generation); see
   * `credentialForNewTermination` and docs/agw.md "Certificates".
   */
  certificateScope?: "termination" | "agw";
}

/** What the AGW holds right now (operations, tests and the fault benchmarks compare these before/after). */
export interface AgwResources {
  contexts: number;
  terminations: number;
  /** TLS handshakes in progress (bounded by maxHandshakes for incoming connections) */
  handshakes: number;
  relays: number;
  /** TCP sockets (file descriptors) held by terminations and relays, listeners excluded */
  sockets: number;
  listeners: number;
  /** connections parked by delayed/hold mode */
  parked: number;
  /** connections in TCP/TLS setup (not yet ready) */
  candidates: number;
  /** armed per-termination timers (establishment, hold, handshake/fingerprint, connect) */
  timers: number;
}

export interface ContextView {
  contextId: string;
  interlinkage: boolean;
  relaying: boolean;
  terminations: {
    terminationId: string;
    side: TerminationSide;
    transport: IqTransport;
    state: TerminationState;
    localPort: number;
    /** bytes queued toward this termination's peer inside the AGW */
    writableLength: number;
    /** bytes read from this termination's peer and not yet forwarded */
    readableLength: number;
  }[];
}
