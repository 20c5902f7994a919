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
 * This module holds types and validation only: every request that crosses a process boundary (the WebSocket
 * binding) and every request of the in-process binding goes through the `parse*` functions below, which throw
 * `AgwError("E_AGW_INVALID_PARAM")` and never anything else.
 */
import { isIP } from "node:net";
import { ImsdcError } from "../../errors.ts";
import { isFingerprintAlgorithm, parseFingerprintValue } from "../../security/certificate.ts";

// ---------------------------------------------------------------------------------------------------------------
// Errors
// ---------------------------------------------------------------------------------------------------------------

export type AgwErrorCode =
  /** a request or IE is malformed or out of range */
  | "E_AGW_INVALID_PARAM"
  | "E_AGW_UNKNOWN_CONTEXT"
  | "E_AGW_UNKNOWN_TERMINATION"
  /** a context holds at most two terminations (the relay is two-party) */
  | "E_AGW_CONTEXT_FULL"
  /** a configured limit (contexts, terminations) is reached */
  | "E_AGW_LIMIT"
  /** too many TLS handshakes in progress in the AGW (`maxHandshakes`): an incoming connection was refused */
  | "E_AGW_HANDSHAKE_LIMIT"
  /** a context was released because the Iq session that created it went away and did not come back in time */
  | "E_AGW_ORPHAN"
  /** the request is not allowed in the termination's current state */
  | "E_AGW_STATE"
  /** the local transport address could not be bound */
  | "E_AGW_BIND"
  /** the per-termination certificate could not be generated */
  | "E_AGW_CERT"
  /** the AGW (or the Iq client) is closed */
  | "E_AGW_CLOSED"
  /** Iq binding: a message is not JSON */
  | "E_AGW_IQ_PARSE"
  /** Iq binding: a message exceeds the size bound */
  | "E_AGW_IQ_TOO_LARGE"
  /** Iq binding: the envelope (id/procedure/params) is malformed */
  | "E_AGW_IQ_INVALID"
  | "E_AGW_IQ_UNKNOWN_PROCEDURE"
  /** Iq binding: no answer within the client's timeout */
  | "E_AGW_IQ_TIMEOUT"
  /** Iq binding: the transport went away */
  | "E_AGW_IQ_DISCONNECTED"
  /** Iq binding: the AGW is unreachable (the client is reconnecting); the request was not sent */
  | "E_AGW_IQ_UNAVAILABLE"
  /** an unexpected internal failure (reported, never thrown through the binding as anything else) */
  | "E_AGW_INTERNAL";

export const AGW_ERROR_CODES: readonly AgwErrorCode[] = [
  "E_AGW_INVALID_PARAM",
  "E_AGW_UNKNOWN_CONTEXT",
  "E_AGW_UNKNOWN_TERMINATION",
  "E_AGW_CONTEXT_FULL",
  "E_AGW_LIMIT",
  "E_AGW_HANDSHAKE_LIMIT",
  "E_AGW_ORPHAN",
  "E_AGW_STATE",
  "E_AGW_BIND",
  "E_AGW_CERT",
  "E_AGW_CLOSED",
  "E_AGW_IQ_PARSE",
  "E_AGW_IQ_TOO_LARGE",
  "E_AGW_IQ_INVALID",
  "E_AGW_IQ_UNKNOWN_PROCEDURE",
  "E_AGW_IQ_TIMEOUT",
  "E_AGW_IQ_DISCONNECTED",
  "E_AGW_IQ_UNAVAILABLE",
  "E_AGW_INTERNAL",
];

export class AgwError extends ImsdcError {
  declare readonly code: AgwErrorCode;
  constructor(code: AgwErrorCode, message: string, options?: { cause?: unknown }) {
    super(code, message, options);
  }
}

export function isAgwErrorCode(s: unknown): s is AgwErrorCode {
  return typeof s === "string" && (AGW_ERROR_CODES as readonly string[]).includes(s);
}

// ---------------------------------------------------------------------------------------------------------------
// Value types
// ---------------------------------------------------------------------------------------------------------------

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

/** An RFC 8122 §5 fingerprint: hash function name and colon-separated hex value. */
export interface CertificateFingerprint {
  readonly algorithm: string;
  readonly value: string;
}

/** Remote descriptor of a termination (what the IMS-ALG learned from the peer's SDP). */
export interface RemoteDescriptor {
  /** Remote IP address (c= line). */
  readonly address?: string;
  /** Remote port (m= line); 9 from an `active` peer means "no port" (RFC 4145 §4). */
  readonly port?: number;
  /** TS 23.334 IE "Remote certificate fingerprint": the peer's a=fingerprint value(s) (RFC 8122 §5). */
  readonly certificateFingerprints?: readonly CertificateFingerprint[];
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
  readonly localCertificateFingerprint?: CertificateFingerprint;
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

// ---------------------------------------------------------------------------------------------------------------
// Events (pushed by the AGW)
// ---------------------------------------------------------------------------------------------------------------

export type TlsFailureReason =
  | "handshake-failed"
  | "handshake-timeout"
  | "no-peer-certificate"
  | "fingerprint-mismatch"
  | "fingerprint-timeout"
  | "no-supported-fingerprint";

export type TcpRefusalReason =
  | "delayed-not-configured"
  | "source-filtered"
  | "duplicate"
  | "hold-timeout"
  /** per-termination bound (parked connections, candidates in TLS setup) */
  | "limit"
  /** AGW-wide bound on TLS handshakes in progress (`maxHandshakes`); the event carries E_AGW_HANDSHAKE_LIMIT */
  | "handshake-limit";

interface EventBase {
  readonly contextId: string;
  readonly terminationId: string;
}

export type IqEvent =
  | (EventBase & {
      readonly event: "tcpConnectionEstablished";
      readonly direction: "incoming" | "outgoing";
      /** what caused an outgoing connection: the explicit request (indication 2) or interlinkage (indication 3) */
      readonly trigger?: "request" | "interlinkage";
      readonly peerAddress: string;
      readonly peerPort: number;
    })
  | (EventBase & {
      readonly event: "tcpConnectionRefused";
      readonly reason: TcpRefusalReason;
      /** stable code of an overload refusal (E_AGW_HANDSHAKE_LIMIT) */
      readonly code?: AgwErrorCode;
      readonly peerAddress: string;
      readonly peerPort: number;
    })
  | (EventBase & { readonly event: "tcpConnectionParked"; readonly peerAddress: string; readonly peerPort: number })
  | (EventBase & {
      readonly event: "tcpConnectFailure";
      readonly remoteAddress: string;
      readonly remotePort: number;
      readonly reason: string;
    })
  | (EventBase & { readonly event: "tcpEstablishmentTimeout" })
  | (EventBase & {
      readonly event: "tlsSessionEstablished";
      readonly role: TlsRole;
      readonly protocol: string;
      readonly peerCertificateFingerprint: CertificateFingerprint;
    })
  | (EventBase & {
      /** TS 23.334 "Notify (D)TLS session establishment Failure Event" (only when subscribed). */
      readonly event: "tlsSessionEstablishmentFailure";
      readonly reason: TlsFailureReason;
      readonly detail: string;
      readonly peerAddress?: string;
      readonly peerCertificateFingerprint?: CertificateFingerprint;
    })
  | (EventBase & { readonly event: "relayStarted"; readonly peerTerminationId: string })
  | (EventBase & {
      readonly event: "relayEnded";
      readonly peerTerminationId: string;
      readonly reason: RelayEndReason;
      /** the termination whose peer ended the relay (FIN, RST, error); absent for AGW-side causes */
      readonly endedBy?: string;
      /** with reason `error`: what happened (a RST, a keep-alive timeout, …) */
      readonly cause?: RelayErrorCause;
      /** the socket error message (e.g. "read ECONNRESET") */
      readonly detail?: string;
      readonly statistics: TerminationStatistics;
    })
  | (EventBase & { readonly event: "idleTimeout" })
  | (EventBase & { readonly event: "tcpConnectionClosed"; readonly reason: string });

/**
 * Why a relay ended: both directions closed cleanly (`closed`); a socket error or an abrupt close (`error`, with a
 * `cause`); no byte for `idleMs` (`idle-timeout`); a half-closed relay did not finish within `halfCloseMs`
 * (`half-close-timeout`); the IMS-ALG released a termination or the AGW closed (`released`).
 */
export type RelayEndReason = "closed" | "error" | "idle-timeout" | "half-close-timeout" | "released";

/**
 * What lies behind a relay ended by `error`: the peer reset its connection (`reset`: ECONNRESET/EPIPE; the RST is
 * forwarded to the other peer), it stopped answering keep-alive probes or retransmissions (`peer-timeout`:
 * ETIMEDOUT), it closed without finishing both directions (`abrupt-close`), or another socket error (`other`).
 */
export type RelayErrorCause = "reset" | "peer-timeout" | "abrupt-close" | "other";

export type IqEventName = IqEvent["event"];
export const IQ_EVENT_NAMES: readonly IqEventName[] = [
  "tcpConnectionEstablished",
  "tcpConnectionRefused",
  "tcpConnectionParked",
  "tcpConnectFailure",
  "tcpEstablishmentTimeout",
  "tlsSessionEstablished",
  "tlsSessionEstablishmentFailure",
  "relayStarted",
  "relayEnded",
  "idleTimeout",
  "tcpConnectionClosed",
];

export type IqEventListener = (event: IqEvent) => void;

// ---------------------------------------------------------------------------------------------------------------
// The interface (in-process: the ImsAgw object; remote: IqWsClient)
// ---------------------------------------------------------------------------------------------------------------

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

// ---------------------------------------------------------------------------------------------------------------
// Validation
// ---------------------------------------------------------------------------------------------------------------

/** Bounds on IE values. */
export const IQ_LIMITS = {
  idLength: 64,
  fingerprints: 8,
  /** longest timer: 1 hour */
  timerMs: 3_600_000,
} as const;

const ID_RE = /^[A-Za-z0-9._:-]{1,64}$/;
const HASH_TOKEN_RE = /^[A-Za-z0-9-]{1,16}$/;
const HEX_PAIRS_RE = /^[0-9A-Fa-f]{2}(:[0-9A-Fa-f]{2}){0,63}$/;

type Rec = Record<string, unknown>;

function invalid(path: string, why: string): AgwError {
  return new AgwError("E_AGW_INVALID_PARAM", `${path}: ${why}`);
}

export function isRecord(x: unknown): x is Rec {
  return typeof x === "object" && x !== null && !Array.isArray(x);
}

function record(x: unknown, path: string, allowed: readonly string[]): Rec {
  if (!isRecord(x)) throw invalid(path, "must be an object");
  for (const k of Object.keys(x)) {
    if (!allowed.includes(k)) throw invalid(`${path}.${k.slice(0, 40)}`, "unknown field");
  }
  return x;
}

function optBool(r: Rec, k: string, path: string): boolean | undefined {
  const v = r[k];
  if (v === undefined) return undefined;
  if (typeof v !== "boolean") throw invalid(`${path}.${k}`, "must be a boolean");
  return v;
}

function reqId(r: Rec, k: string, path: string): string {
  const v = r[k];
  if (typeof v !== "string" || !ID_RE.test(v))
    throw invalid(`${path}.${k}`, "must be an identifier [A-Za-z0-9._:-]{1,64}");
  return v;
}

function oneOf<T extends string>(v: unknown, values: readonly T[], path: string): T {
  if (typeof v !== "string" || !(values as readonly string[]).includes(v)) {
    throw invalid(path, `must be one of ${values.join(", ")}`);
  }
  return v as T;
}

function optInt(r: Rec, k: string, path: string, min: number, max: number): number | undefined {
  const v = r[k];
  if (v === undefined) return undefined;
  if (typeof v !== "number" || !Number.isInteger(v) || v < min || v > max) {
    throw invalid(`${path}.${k}`, `must be an integer in [${min}, ${max}]`);
  }
  return v;
}

function optAddress(r: Rec, k: string, path: string): string | undefined {
  const v = r[k];
  if (v === undefined) return undefined;
  if (typeof v !== "string" || v.length > 45 || isIP(v) === 0) throw invalid(`${path}.${k}`, "must be an IP address");
  return v;
}

/** Validates one fingerprint: RFC 8122 §5 hash-func token and hex pairs; md2/md5 refused (RFC 8122 §5). */
export function parseCertificateFingerprint(x: unknown, path: string): CertificateFingerprint {
  const r = record(x, path, ["algorithm", "value"]);
  const algorithm = r.algorithm;
  const value = r.value;
  if (typeof algorithm !== "string" || !HASH_TOKEN_RE.test(algorithm)) throw invalid(`${path}.algorithm`, "bad token");
  if (typeof value !== "string" || !HEX_PAIRS_RE.test(value)) throw invalid(`${path}.value`, "must be hex pairs");
  const alg = algorithm.toLowerCase();
  // RFC 8122 §5: MUST NOT use MD2/MD5 to verify received fingerprints.
  if (alg === "md2" || alg === "md5") throw invalid(`${path}.algorithm`, `${alg} is not allowed (RFC 8122 §5)`);
  if (isFingerprintAlgorithm(alg)) {
    try {
      parseFingerprintValue(alg, value); // length per hash function (RFC 8122 §5)
    } catch (e) {
      throw invalid(`${path}.value`, e instanceof Error ? e.message : "bad fingerprint");
    }
  }
  // Other tokens (sha-1, sha-224, future) are kept but never used for verification (see verifyPeerCertificate).
  return { algorithm: alg, value: value.toUpperCase() };
}

const REMOTE_FIELDS = ["address", "port", "certificateFingerprints", "setup"] as const;

export function parseRemoteDescriptor(x: unknown, path: string): RemoteDescriptor {
  const r = record(x, path, REMOTE_FIELDS);
  const address = optAddress(r, "address", path);
  const port = optInt(r, "port", path, 0, 65535);
  let fps: CertificateFingerprint[] | undefined;
  if (r.certificateFingerprints !== undefined) {
    const a = r.certificateFingerprints;
    if (!Array.isArray(a) || a.length > IQ_LIMITS.fingerprints) {
      throw invalid(`${path}.certificateFingerprints`, `must be an array of at most ${IQ_LIMITS.fingerprints}`);
    }
    fps = a.map((f, i) => parseCertificateFingerprint(f, `${path}.certificateFingerprints[${i}]`));
  }
  const setup =
    r.setup === undefined
      ? undefined
      : oneOf(r.setup, ["active", "passive", "actpass", "holdconn"] as const, `${path}.setup`);
  return {
    ...(address !== undefined ? { address } : {}),
    ...(port !== undefined ? { port } : {}),
    ...(fps !== undefined ? { certificateFingerprints: fps } : {}),
    ...(setup !== undefined ? { setup } : {}),
  };
}

const TIMER_FIELDS = ["establishmentMs", "connectMs", "handshakeMs", "fingerprintWaitMs", "holdMs", "idleMs"] as const;

function parseTimers(x: unknown, path: string): TerminationTimers {
  const r = record(x, path, TIMER_FIELDS);
  const out: Record<string, number> = {};
  for (const k of TIMER_FIELDS) {
    const v = optInt(r, k, path, 0, IQ_LIMITS.timerMs);
    if (v !== undefined) out[k] = v;
  }
  return out as TerminationTimers;
}

function parseTcpEstablishment(x: unknown, path: string): TcpEstablishment {
  const r = record(x, path, ["mode", "policy"]);
  const mode = oneOf(r.mode, ["immediate", "delayed"] as const, `${path}.mode`);
  if (mode === "immediate") {
    if (r.policy !== undefined) throw invalid(`${path}.policy`, "only for delayed mode");
    return { mode };
  }
  // TR 29.828 §4.4.2.2 Editor's note "dropped or stored": both offered, default drop (the text's "ignore").
  const policy = r.policy === undefined ? "drop" : oneOf(r.policy, ["drop", "hold"] as const, `${path}.policy`);
  return { mode, policy };
}

const SETTINGS_FIELDS = [
  "tcpEstablishmentInterlinkage",
  "establishTlsSession",
  "tlsRole",
  "notifyTlsSessionEstablishmentFailureEvent",
  "localCertificateFingerprintRequest",
] as const;

function parseSettings(r: Rec, path: string): TerminationSettings {
  const out: { -readonly [K in keyof TerminationSettings]: TerminationSettings[K] } = {};
  for (const k of [
    "tcpEstablishmentInterlinkage",
    "establishTlsSession",
    "notifyTlsSessionEstablishmentFailureEvent",
    "localCertificateFingerprintRequest",
  ] as const) {
    const v = optBool(r, k, path);
    if (v !== undefined) out[k] = v;
  }
  if (r.tlsRole !== undefined) out.tlsRole = oneOf(r.tlsRole, ["client", "server"] as const, `${path}.tlsRole`);
  return out;
}

const RESERVE_FIELDS = [
  ...SETTINGS_FIELDS,
  "contextId",
  "side",
  "transport",
  "localAddress",
  "localPort",
  "tcpEstablishment",
  "timers",
] as const;

function parseReserveCommon(r: Rec, path: string): ReserveAgwConnectionPointRequest {
  const side = oneOf(r.side, TERMINATION_SIDES, `${path}.side`);
  const transport = oneOf(r.transport, IQ_TRANSPORTS, `${path}.transport`);
  const contextId = r.contextId === undefined ? undefined : reqId(r, "contextId", path);
  const localAddress = optAddress(r, "localAddress", path);
  const localPort = optInt(r, "localPort", path, 0, 65535);
  const tcpEstablishment =
    r.tcpEstablishment === undefined
      ? undefined
      : parseTcpEstablishment(r.tcpEstablishment, `${path}.tcpEstablishment`);
  const timers = r.timers === undefined ? undefined : parseTimers(r.timers, `${path}.timers`);
  const settings = parseSettings(r, path);
  if (!transport.includes("TLS")) {
    for (const k of ["establishTlsSession", "tlsRole", "localCertificateFingerprintRequest"] as const) {
      if (settings[k] !== undefined && settings[k] !== false) throw invalid(`${path}.${k}`, "only for TLS transports");
    }
  }
  return {
    side,
    transport,
    ...settings,
    ...(contextId !== undefined ? { contextId } : {}),
    ...(localAddress !== undefined ? { localAddress } : {}),
    ...(localPort !== undefined ? { localPort } : {}),
    ...(tcpEstablishment !== undefined ? { tcpEstablishment } : {}),
    ...(timers !== undefined ? { timers } : {}),
  };
}

export function parseReserveRequest(x: unknown): ReserveAgwConnectionPointRequest {
  const path = "reserveAgwConnectionPoint";
  return parseReserveCommon(record(x, path, RESERVE_FIELDS), path);
}

export function parseReserveAndConfigureRequest(x: unknown): ReserveAndConfigureAgwConnectionPointRequest {
  const path = "reserveAndConfigureAgwConnectionPoint";
  const r = record(x, path, [...RESERVE_FIELDS, "remote", "tcpConnect", "acceptTcpOnlyFromRemote"]);
  const base = parseReserveCommon(r, path);
  if (r.remote === undefined) throw invalid(`${path}.remote`, "required");
  const remote = parseRemoteDescriptor(r.remote, `${path}.remote`);
  const tcpConnect = optBool(r, "tcpConnect", path);
  const acceptTcpOnlyFromRemote = optBool(r, "acceptTcpOnlyFromRemote", path);
  return {
    ...base,
    remote,
    ...(tcpConnect !== undefined ? { tcpConnect } : {}),
    ...(acceptTcpOnlyFromRemote !== undefined ? { acceptTcpOnlyFromRemote } : {}),
  };
}

export function parseConfigureRequest(x: unknown): ConfigureAgwConnectionPointRequest {
  const path = "configureAgwConnectionPoint";
  const r = record(x, path, [
    ...SETTINGS_FIELDS,
    "contextId",
    "terminationId",
    "remote",
    "tcpConnect",
    "acceptTcpOnlyFromRemote",
  ]);
  const contextId = reqId(r, "contextId", path);
  const terminationId = reqId(r, "terminationId", path);
  const remote = r.remote === undefined ? undefined : parseRemoteDescriptor(r.remote, `${path}.remote`);
  const tcpConnect = optBool(r, "tcpConnect", path);
  const acceptTcpOnlyFromRemote = optBool(r, "acceptTcpOnlyFromRemote", path);
  return {
    contextId,
    terminationId,
    ...parseSettings(r, path),
    ...(remote !== undefined ? { remote } : {}),
    ...(tcpConnect !== undefined ? { tcpConnect } : {}),
    ...(acceptTcpOnlyFromRemote !== undefined ? { acceptTcpOnlyFromRemote } : {}),
  };
}

export function parseReleaseRequest(x: unknown): ReleaseAgwConnectionPointRequest {
  const path = "releaseAgwConnectionPoint";
  const r = record(x, path, ["contextId", "terminationId"]);
  return { contextId: reqId(r, "contextId", path), terminationId: reqId(r, "terminationId", path) };
}

export function parseReleaseContextRequest(x: unknown): ReleaseAgwContextRequest {
  const path = "releaseAgwContext";
  const r = record(x, path, ["contextId"]);
  return { contextId: reqId(r, "contextId", path) };
}

// --- response / event shape checks (used by the WebSocket client on what it receives) ---

function str(r: Rec, k: string, path: string): string {
  const v = r[k];
  if (typeof v !== "string" || v.length > 256) throw invalid(`${path}.${k}`, "must be a string");
  return v;
}

function int(r: Rec, k: string, path: string): number {
  const v = r[k];
  if (typeof v !== "number" || !Number.isSafeInteger(v) || v < 0) throw invalid(`${path}.${k}`, "must be an integer");
  return v;
}

export function parseAgwConnectionPoint(x: unknown): AgwConnectionPoint {
  const path = "result";
  if (!isRecord(x)) throw invalid(path, "must be an object");
  const fp =
    x.localCertificateFingerprint === undefined
      ? undefined
      : parseCertificateFingerprint(x.localCertificateFingerprint, `${path}.localCertificateFingerprint`);
  return {
    contextId: str(x, "contextId", path),
    terminationId: str(x, "terminationId", path),
    side: oneOf(x.side, TERMINATION_SIDES, `${path}.side`),
    transport: oneOf(x.transport, IQ_TRANSPORTS, `${path}.transport`),
    localAddress: str(x, "localAddress", path),
    localPort: int(x, "localPort", path),
    state: oneOf(
      x.state,
      [
        "reserved",
        "connecting",
        "connected",
        "tls-handshake",
        "awaiting-fingerprint",
        "ready",
        "relaying",
        "closed",
        "failed",
      ] as const,
      `${path}.state`,
    ),
    ...(fp !== undefined ? { localCertificateFingerprint: fp } : {}),
  };
}

function parseStatistics(x: unknown, path: string): TerminationStatistics {
  if (!isRecord(x)) throw invalid(path, "must be an object");
  return { octetsReceived: int(x, "octetsReceived", path), octetsSent: int(x, "octetsSent", path) };
}

export function parseReleaseResponse(x: unknown): ReleaseAgwConnectionPointResponse {
  const path = "result";
  if (!isRecord(x)) throw invalid(path, "must be an object");
  return {
    contextId: str(x, "contextId", path),
    terminationId: str(x, "terminationId", path),
    statistics: parseStatistics(x.statistics, `${path}.statistics`),
  };
}

export function parseReleaseContextResponse(x: unknown): ReleaseAgwContextResponse {
  const path = "result";
  if (!isRecord(x)) throw invalid(path, "must be an object");
  const t = x.terminations;
  if (!Array.isArray(t) || t.length > 16) throw invalid(`${path}.terminations`, "must be an array");
  return { contextId: str(x, "contextId", path), terminations: t.map((e) => parseReleaseResponse(e)) };
}

/**
 * Shape check of a pushed event: known name, string ids; the rest is passed through as received (informative).
 * Returns undefined for anything that is not a well-formed event.
 */
export function parseIqEvent(x: unknown): IqEvent | undefined {
  if (!isRecord(x)) return undefined;
  if (typeof x.event !== "string" || !(IQ_EVENT_NAMES as readonly string[]).includes(x.event)) return undefined;
  if (typeof x.contextId !== "string" || typeof x.terminationId !== "string") return undefined;
  return x as unknown as IqEvent;
}
