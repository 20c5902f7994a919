/** Iq events pushed by the IMS-AGW to the IMS-ALG. */

import type { Fingerprint } from "../../sdp/index.ts";
import type { AgwErrorCode } from "./iqErrors.ts";
import type { TerminationStatistics, TlsRole } from "./iqTypes.ts";

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
      readonly peerCertificateFingerprint: Fingerprint;
    })
  | (EventBase & {
      /** TS 23.334 "Notify (D)TLS session establishment Failure Event" (only when subscribed). */
      readonly event: "tlsSessionEstablishmentFailure";
      readonly reason: TlsFailureReason;
      readonly detail: string;
      readonly peerAddress?: string;
      readonly peerCertificateFingerprint?: Fingerprint;
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
