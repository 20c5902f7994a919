/**
 * The Iq hook of the IMS-ALG: the procedures the P-CSCF drives on an IMS-AGW (TS 23.334 stage-2 names: Reserve AGW
 * Connection Point, Reserve and Configure AGW Connection Point, Configure AGW Connection Point, release of a context),
 * as a structural interface. The P-CSCF never imports the AGW (DESIGN rule 1); `cli` binds an `IqClient` to the
 * in-process IMS-AGW or to its WebSocket Iq client. The field names mirror the stage-2 information elements so that
 * the AGW's `IqAgw` implementation satisfies this interface structurally.
 *
 * How the P-CSCF uses it (e2ae.ts; TR 29.828 §5.2.1.2.2 / §5.2.1.3.2 originating, §5.2.1.2.3 / §5.2.1.3.3
 * terminating), one context per anchored m-line:
 *  - originating offer: `reserveAgwConnectionPoint` core side (steps 2-4), then
 *    `reserveAndConfigureAgwConnectionPoint` access side with the UE's address, port and fingerprint and the Local
 *    certificate fingerprint Request (steps 5-7); the offer toward the core gets the core side's address (step 8);
 *  - originating answer: `configureAgwConnectionPoint` core side with the answerer's address (steps 13-15), and for
 *    MSRP the access side with the TLS setup direction (steps 16-18); the answer toward the UE gets the access side's
 *    address and the AGW fingerprint (step 19 / BFCP step 17);
 *  - terminating offer: `reserveAgwConnectionPoint` access side with the fingerprint request (BFCP: Establish (D)TLS
 *    session) (steps 2-4), then `reserveAndConfigureAgwConnectionPoint` core side with the offerer's address (5-7);
 *  - terminating answer: `configureAgwConnectionPoint` access side with the UE's address and fingerprint (14-16);
 *  - session end, refusal or failure: `releaseAgwContext`.
 */
import type { Fingerprint } from "../../sdp/index.ts";

/** TS 23.334 transports for TCP-based media. */
export type IqTransport = "TCP" | "TCP/TLS" | "TCP/MSRP" | "TCP/TLS/MSRP" | "TCP/BFCP" | "TCP/TLS/BFCP";
export type IqSide = "access" | "core";

export interface IqRemoteDescriptor {
  readonly address?: string;
  readonly port?: number;
  /** IE "Remote certificate fingerprint" */
  readonly certificateFingerprints?: readonly Fingerprint[];
  readonly setup?: "active" | "passive" | "actpass" | "holdconn";
}

/** TR 29.828 §4.4.2.2: immediate (indication 1) or delayed establishment (indication 4; drop or hold early SYNs). */
export type IqTcpEstablishment =
  | { readonly mode: "immediate" }
  | { readonly mode: "delayed"; readonly policy: "drop" | "hold" };

export interface IqReserveRequest {
  /** absent: a new context */
  readonly contextId?: string;
  readonly side: IqSide;
  readonly transport: IqTransport;
  readonly tcpEstablishment?: IqTcpEstablishment;
  /** TR 29.828 §4.4.2.1.2 indication 3 (per context) */
  readonly tcpEstablishmentInterlinkage?: boolean;
  /** explicit TLS role of the AGW on this termination */
  readonly tlsRole?: "client" | "server";
  /** IE "Establish (D)TLS session" */
  readonly establishTlsSession?: boolean;
  /** IE "Notify (D)TLS session establishment Failure Event" */
  readonly notifyTlsSessionEstablishmentFailureEvent?: boolean;
  /** IE "Local certificate fingerprint Request" */
  readonly localCertificateFingerprintRequest?: boolean;
}

export interface IqReserveAndConfigureRequest extends IqReserveRequest {
  readonly remote: IqRemoteDescriptor;
  /** indication 2: send a TCP SYN toward the remote address */
  readonly tcpConnect?: boolean;
  /** indication 5: accept incoming connections only from the remote address */
  readonly acceptTcpOnlyFromRemote?: boolean;
}

export interface IqConfigureRequest {
  readonly contextId: string;
  readonly terminationId: string;
  readonly remote?: IqRemoteDescriptor;
  readonly tcpConnect?: boolean;
  readonly acceptTcpOnlyFromRemote?: boolean;
  readonly establishTlsSession?: boolean;
  readonly tlsRole?: "client" | "server";
}

/** The termination as reserved: what goes into the rewritten SDP. */
export interface IqConnectionPoint {
  readonly contextId: string;
  readonly terminationId: string;
  readonly localAddress: string;
  readonly localPort: number;
  /** answer to "Local certificate fingerprint Request" */
  readonly localCertificateFingerprint?: Fingerprint;
}

/** An event pushed by the IMS-AGW (informative for the IMS-ALG: audited, never trusted for a decision). */
export interface IqClientEvent {
  readonly event: string;
  readonly contextId: string;
  readonly terminationId: string;
}

export interface IqClient {
  reserveAgwConnectionPoint(req: IqReserveRequest): Promise<IqConnectionPoint>;
  reserveAndConfigureAgwConnectionPoint(req: IqReserveAndConfigureRequest): Promise<IqConnectionPoint>;
  configureAgwConnectionPoint(req: IqConfigureRequest): Promise<IqConnectionPoint>;
  releaseAgwContext(req: { readonly contextId: string }): Promise<unknown>;
  /** subscribes to AGW events; returns the unsubscribe function (optional) */
  onEvent?(listener: (event: IqClientEvent) => void): () => void;
  /**
   * subscribes to the Iq link state (optional; IqWsClient): `resumed: false` on a reconnection means the AGW no longer
   * knows this IMS-ALG's contexts (it restarted, or released them as orphans)
   */
  onConnectionState?(listener: (state: { connected: boolean; resumed?: boolean }) => void): () => void;
}
