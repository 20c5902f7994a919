/** Options, states and events of `E2aeEndpoint` (one e2ae MSRP or BFCP stream of a UE). */

import type tls from "node:tls";
import type { AuditLog, Logger } from "../../log.ts";
import type { FloorCtrlRole } from "../../sdp/index.ts";
import type { SessionCertificate } from "../../security/certificate.ts";
import type { TypedEmitter } from "../../sip/emitter.ts";
import type { FloorRequestState } from "./bfcpFloorInfo.ts";
import type { Plan } from "./endpointPlan.ts";
import type { E2aeError } from "./errors.ts";
import type { MsrpMessage, MsrpReport } from "./msrpSession.ts";
import type { PathMatchMode } from "./msrpUri.ts";
import type { E2aeKind } from "./sdp.ts";
import type { E2aeVerdict, TlsRole } from "./tls.ts";

export interface E2aeTimeouts {
  /** One TCP connect attempt (active role). */
  connectMs: number;
  /** One TLS handshake. */
  tlsMs: number;
  /** A connection whose TLS handshake finished before the remote fingerprint was known (offerer, passive). */
  fingerprintWaitMs: number;
  /** Roles known (answer sent / answer received) → verified connection. */
  establishMs: number;
}

export const DEFAULT_E2AE_TIMEOUTS: E2aeTimeouts = {
  connectMs: 10_000,
  tlsMs: 10_000,
  fingerprintWaitMs: 30_000,
  establishMs: 60_000,
};

export interface E2aeMsrpOptions {
  /** a=accept-types (RFC 4975 §8.6); default ["message/cpim", "text/plain"]. */
  acceptTypes?: string[];
  acceptWrappedTypes?: string[];
  /** session-id of our a=path URI; random by default (RFC 4975 §14.1). */
  sessionId?: string;
  /** To-Path check: "strict" RFC 4975 §6.1 (default) or "session-id" (needed when an anchor rewrites a=path). */
  pathMatch?: PathMatchMode;
  chunkSize?: number;
  window?: number;
  maxChunkBytes?: number;
  maxMessageBytes?: number;
  transactionTimeoutMs?: number;
  /** Send the bodiless SEND when TCP-active (RFC 4975 §5.4); default true. */
  bind?: boolean;
}

export interface E2aeBfcpOptions {
  /** Our a=floorctrl in an offer (RFC 8856 §5.1); default ["c-only"]: the UE is a floor participant. */
  floorctrl?: FloorCtrlRole[];
  /** When answering c-s: the role we take (default c-only). */
  answerPrefer?: "c-only" | "s-only";
  /** As floor control server: a=confid, a=userid handed to the client, a=floorid (RFC 8856 §5.2-5.4). */
  conferenceId?: number;
  userId?: number;
  floorIds?: number[];
  /** a=bfcpver (RFC 8856 §5.5); default [1] (RFC 8855 over TCP/TLS). */
  bfcpver?: number[];
  transactionTimeoutMs?: number;
}

export interface E2aeEndpointOptions {
  kind: E2aeKind;
  /** Label for logs and audit events (e.g. the SIP AOR). */
  name?: string;
  /** Per-session certificate; generated (ECDSA P-256, self-tested) when omitted. */
  certificate?: SessionCertificate;
  /** Address we bind and advertise (c=, a=path); default 127.0.0.1. */
  address?: string;
  /** Listening port (passive/actpass); 0 = ephemeral (default). */
  port?: number;
  /** Our a=setup in an offer (RFC 4145 §4); default actpass (we listen until the answer decides). */
  offerSetup?: "actpass" | "active" | "passive";
  /** Our a=setup when answering actpass; default active (TR 29.828 §5.2.1.2.3 step 10: "UE B chooses active"). */
  answerSetup?: "active" | "passive";
  /** a=3ge2ae:requested in our offer (TR 29.828 step 1); default true. */
  requestE2ae?: boolean;
  /** Overrides the derived TLS role (lab use). */
  tlsRole?: TlsRole;
  /** Drop TCP connections whose source is not the remote c= address (once known); default false. */
  acceptOnlyFromRemote?: boolean;
  timeouts?: Partial<E2aeTimeouts>;
  /**
   * Lab only: receives the TLS key log lines (NSS SSLKEYLOGFILE format) so a capture can be decrypted with
   * `tshark -o tls.keylog_file:…`. Unset by default; never enable it in production.
   */
  keyLog?: (line: Buffer) => void;
  msrp?: E2aeMsrpOptions;
  bfcp?: E2aeBfcpOptions;
  audit?: AuditLog;
  logger?: Logger;
}

export type E2aeState = "idle" | "offered" | "connecting" | "connected" | "failed" | "closed";

export interface E2aeVerdictEvent extends E2aeVerdict {
  tlsRole: TlsRole;
  peerAddress: string;
  peerPort: number;
}

export interface E2aeEndpointEvents {
  state: [E2aeState];
  verdict: [E2aeVerdictEvent];
  /** MSRP: a complete (reassembled) message */
  message: [MsrpMessage];
  report: [MsrpReport];
  /** BFCP participant: a FloorRequestStatus (answer or server-initiated update) */
  floorRequestStatus: [FloorRequestState];
  /** a refused frame or PDU; the stream goes on */
  protocolError: [E2aeError];
  /** terminal failure (named so that an unheard event never throws) */
  failure: [E2aeError];
}

/**
 * Internal (not exported by index.ts): what the MSRP or BFCP leg needs from its endpoint — the verified socket, the
 * plan, a logger, the endpoint's events and the hook that fails the endpoint when the session ends.
 */
export interface LegContext {
  sock: tls.TLSSocket;
  plan: Plan;
  log: Logger;
  events: TypedEmitter<E2aeEndpointEvents>;
  /** the session ended (undefined: closed cleanly by the peer) */
  onGone: (e: E2aeError | undefined) => void;
}
