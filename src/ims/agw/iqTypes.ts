/**
 * The Iq reference point between the IMS-ALG (P-CSCF) and the IMS-AGW, as a typed interface.
 *
 * Procedure and information-element (IE) names follow TS 23.334 (stage 2): "Reserve AGW Connection Point",
 * "Reserve and Configure AGW Connection Point", "Configure AGW Connection Point", release of a termination and of a
 * whole context; IEs "Remote certificate fingerprint", "Local certificate fingerprint Request", "Establish (D)TLS
 * session", "Notify (D)TLS session establishment Failure Event". The stage-3 H.248 encodings of TS 29.334 (packages,
 * property IDs, the fingerprint `$` CHOOSE in the Local descriptor) are NOT in this project's sources, so this is a
 * JSON/TypeScript rendering of the stage-2 semantics, not an H.248 codec.
 *
 * TCP establishment control follows TR 29.828 §4.4.2.1.2 (H.248 signalling indications 1–5) and §4.4.2.2
 * (immediate vs delayed establishment).
 *
 * This file holds the value types, requests, responses and the `IqAgw` interface; errors are in iqErrors.ts, events
 * in iqEvents.ts and the validators in iqValidate.ts: every request that crosses a process boundary (the WebSocket
 * binding) and every request of the in-process binding goes through the `parse*` functions, which throw
 * `AgwError("E_AGW_INVALID_PARAM")` and never anything else.
 */
import type { Fingerprint } from "../../sdp/index.ts";
import type { IqEventListener } from "./iqEvents.ts";

/** Transport values of TS 23.334 for TCP-based media (application-agnostic "TCP"/"TCP/TLS" or aware forms). */
export const IQ_TRANSPORTS = ["TCP", "TCP/TLS", "TCP/MSRP", "TCP/TLS/MSRP", "TCP/BFCP", "TCP/TLS/BFCP"] as const;
export type IqTransport = (typeof IQ_TRANSPORTS)[number];

export const TERMINATION_SIDES = ["access", "core"] as const;
/** Which network the termination faces: the UE ("access") or the IMS core / remote peer ("core"). */
export type TerminationSide = (typeof TERMINATION_SIDES)[number];

export type TlsRole = "client" | "server";
/** RFC 4145 §4 setup role values, as received in the peer's SDP. */
export type SetupRole = "active" | "passive" | "actpass" | "holdconn";

/**
 * TCP establishment mode of a termination (TR 29.828 §4.4.2.2).
 * - `immediate` (mandatory): the termination accepts a TCP SYN as soon as it is reserved (indication 1).
 * - `delayed` (optional, Iq/Ix only): the termination ignores incoming SYNs (indication 4) until a Configure gives
 *   the remote address, then accepts only from that address (indication 5). `policy` resolves the Editor's note
 *   "It is ffs if the TCP SYN can be dropped or stored": `drop` refuses early connections (the peer retries),
 *   `hold` parks them unread and decides once the remote address is known.
 */
export type TcpEstablishment =
  | { readonly mode: "immediate" }
  | { readonly mode: "delayed"; readonly policy: "drop" | "hold" };

/** Remote descriptor of a termination (what the IMS-ALG learned from the peer's SDP). */
export interface RemoteDescriptor {
  /** Remote IP address (c= line). */
  readonly address?: string;
  /** Remote port (m= line); 9 from an `active` peer means "no port" (RFC 4145 §4). */
  readonly port?: number;
  /** TS 23.334 IE "Remote certificate fingerprint": the peer's a=fingerprint value(s) (RFC 8122 §5). */
  readonly certificateFingerprints?: readonly Fingerprint[];
  /** The peer's a=setup (RFC 4145 §4); used to derive the AGW's TCP and TLS roles. */
  readonly setup?: SetupRole;
}

/** Per-termination timers, in milliseconds (0 disables the timer). */
export interface TerminationTimers {
  /** Reserve → connection established (and verified, for TLS). Expiry: event `tcpEstablishmentTimeout`. */
  readonly establishmentMs?: number;
  /** One outgoing connect attempt (indication 2). Expiry: event `tcpConnectFailure`. */
  readonly connectMs?: number;
  /** TLS handshake. Expiry: Notify (D)TLS session establishment Failure Event, reason `handshake-timeout`. */
  readonly handshakeMs?: number;
  /** Handshake done → remote fingerprint configured (terminating step 12 → 14). Expiry: reason `fingerprint-timeout`. */
  readonly fingerprintWaitMs?: number;
  /** A connection parked by delayed/hold mode waits at most this long for Configure. */
  readonly holdMs?: number;
  /** Relay with no byte in either direction. Expiry: event `idleTimeout`, both connections closed. */
  readonly idleMs?: number;
}

// ---------------------------------------------------------------------------------------------------------------
// Requests and responses (TS 23.334 stage-2 procedure names)
// ---------------------------------------------------------------------------------------------------------------

interface TerminationSettings {
  /**
   * TR 29.828 §4.4.2.1.2 indication 3 (per context): a TCP connection established by the peer on one termination
   * triggers an outgoing connection on the other termination of the same context. Default: the AGW's profile
   * default (on: "the expected behavior for the current versions of the Ix and Iq profiles").
   */
  readonly tcpEstablishmentInterlinkage?: boolean;
  /** TS 23.334 IE "Establish (D)TLS session": the AGW acts as (D)TLS client and starts the handshake. */
  readonly establishTlsSession?: boolean;
  /**
   * Explicit TLS role. When absent: `establishTlsSession` ⇒ client; else from the peer's a=setup (peer active ⇒
   * AGW passive ⇒ TLS server; peer passive ⇒ TLS client); else from the TCP direction (incoming ⇒ server).
   */
  readonly tlsRole?: TlsRole;
  /** TS 23.334 IE "Notify (D)TLS session establishment Failure Event" (subscription). */
  readonly notifyTlsSessionEstablishmentFailureEvent?: boolean;
  /** TS 23.334 IE "Local certificate fingerprint Request": the response carries the AGW's fingerprint. */
  readonly localCertificateFingerprintRequest?: boolean;
}

export interface ReserveAgwConnectionPointRequest extends TerminationSettings {
  /** Existing context to add the termination to; absent = "Context Request" (new context). */
  readonly contextId?: string;
  readonly side: TerminationSide;
  readonly transport: IqTransport;
  /** Local IP address to bind; default: the AGW's address for this side. */
  readonly localAddress?: string;
  /** Local port; 0 or absent = allocated by the AGW and reported in the response. */
  readonly localPort?: number;
  /** TR 29.828 §4.4.2.2: immediate (default) or delayed establishment (indication 4). */
  readonly tcpEstablishment?: TcpEstablishment;
  readonly timers?: TerminationTimers;
}

export interface ReserveAndConfigureAgwConnectionPointRequest extends ReserveAgwConnectionPointRequest {
  readonly remote: RemoteDescriptor;
  /** TR 29.828 §4.4.2.1.2 indication 2: send a TCP SYN on this termination toward the remote address. */
  readonly tcpConnect?: boolean;
  /** Indication 5 (delayed mode): accept incoming connections only from the remote address. Default true. */
  readonly acceptTcpOnlyFromRemote?: boolean;
}

export interface ConfigureAgwConnectionPointRequest extends TerminationSettings {
  readonly contextId: string;
  readonly terminationId: string;
  /** Replaces the fields it carries; absent fields keep their value. */
  readonly remote?: RemoteDescriptor;
  /** TR 29.828 §4.4.2.1.2 indication 2 (idempotent: no second SYN if one was sent). */
  readonly tcpConnect?: boolean;
  /** Indication 5 (delayed mode): accept incoming connections only from the remote address. Default true. */
  readonly acceptTcpOnlyFromRemote?: boolean;
}

export interface ReleaseAgwConnectionPointRequest {
  readonly contextId: string;
  readonly terminationId: string;
}

export interface ReleaseAgwContextRequest {
  readonly contextId: string;
}

/** Response of the reserve/configure procedures: the termination as reserved. */
export interface AgwConnectionPoint {
  readonly contextId: string;
  readonly terminationId: string;
  readonly side: TerminationSide;
  readonly transport: IqTransport;
  /** Local IP address and port the AGW reserved (for the IMS-ALG's SDP rewrite). */
  readonly localAddress: string;
  readonly localPort: number;
  /** Answer to "Local certificate fingerprint Request" (SHA-256, RFC 8122 §5). Present only when requested. */
  readonly localCertificateFingerprint?: Fingerprint;
  /** Coarse termination state (informative). */
  readonly state: TerminationState;
}

export type TerminationState =
  | "reserved"
  | "connecting"
  | "connected"
  | "tls-handshake"
  | "awaiting-fingerprint"
  | "ready"
  | "relaying"
  | "closed"
  | "failed";

export interface TerminationStatistics {
  /** octets received from this termination's peer (plaintext for TLS) */
  readonly octetsReceived: number;
  /** octets sent to this termination's peer (plaintext for TLS) */
  readonly octetsSent: number;
}

export interface ReleaseAgwConnectionPointResponse {
  readonly contextId: string;
  readonly terminationId: string;
  readonly statistics: TerminationStatistics;
}

export interface ReleaseAgwContextResponse {
  readonly contextId: string;
  readonly terminations: readonly ReleaseAgwConnectionPointResponse[];
}

export interface IqAgw {
  /** TS 23.334 "Reserve AGW Connection Point" (TR 29.828 §4.4.2.1.2 indication 1, or 4 when delayed). */
  reserveAgwConnectionPoint(req: ReserveAgwConnectionPointRequest): Promise<AgwConnectionPoint>;
  /** TS 23.334 "Reserve and Configure AGW Connection Point". */
  reserveAndConfigureAgwConnectionPoint(req: ReserveAndConfigureAgwConnectionPointRequest): Promise<AgwConnectionPoint>;
  /** TS 23.334 "Configure AGW Connection Point". */
  configureAgwConnectionPoint(req: ConfigureAgwConnectionPointRequest): Promise<AgwConnectionPoint>;
  /** Release of one termination (H.248 Subtract); the context goes when its last termination goes. */
  releaseAgwConnectionPoint(req: ReleaseAgwConnectionPointRequest): Promise<ReleaseAgwConnectionPointResponse>;
  /** Release of a whole context (H.248 Subtract with ALL termination wildcard). */
  releaseAgwContext(req: ReleaseAgwContextRequest): Promise<ReleaseAgwContextResponse>;
  /** Subscribes to events; returns the unsubscribe function. */
  onEvent(listener: IqEventListener): () => void;
}

export const IQ_PROCEDURES = [
  "reserveAgwConnectionPoint",
  "reserveAndConfigureAgwConnectionPoint",
  "configureAgwConnectionPoint",
  "releaseAgwConnectionPoint",
  "releaseAgwContext",
] as const;
export type IqProcedure = (typeof IQ_PROCEDURES)[number];

export function isIqProcedure(s: unknown): s is IqProcedure {
  return typeof s === "string" && (IQ_PROCEDURES as readonly string[]).includes(s);
}
