/**
 * The Iq hook of the IMS-ALG: the procedures the P-CSCF drives on an IMS-AGW (TS 23.334 stage-2 names: Reserve AGW
 * Connection Point, Reserve and Configure AGW Connection Point, Configure AGW Connection Point, release of a context),
 * as a structural interface. The P-CSCF never imports the AGW (DESIGN rule 1); `cli` binds an `IqClient` to the
 * in-process IMS-AGW or to its WebSocket Iq client. The field names mirror the stage-2 information elements so that
 * the AGW's `IqAgw` implementation satisfies this interface structurally.
 *
 * How the P-CSCF uses it (TR 29.828 §5.2.1.2.2 / §5.2.1.3.2 originating, §5.2.1.2.3 / §5.2.1.3.3 terminating):
 *  1. offer with an e2ae m-line → `reserveAndConfigureAgwConnectionPoint` for the side the offer came from (remote =
 *     the offerer's address, port, fingerprint and setup; local fingerprint requested on the TLS side) and
 *     `reserveAgwConnectionPoint` for the other side, in one context; the offer is rewritten with the other side's
 *     local address (rewrite.ts `applyDecision`);
 *  2. answer → `configureAgwConnectionPoint` on the second termination with the answerer's address / fingerprint /
 *     setup; the answer is rewritten with the first side's local address and AGW fingerprint;
 *  3. session end, refusal or failure → `releaseAgwContext`.
 */

/** TS 23.334 transports for TCP-based media. */
export type IqTransport = "TCP" | "TCP/TLS" | "TCP/MSRP" | "TCP/TLS/MSRP" | "TCP/BFCP" | "TCP/TLS/BFCP";
export type IqSide = "access" | "core";

export interface IqFingerprint {
  readonly algorithm: string;
  readonly value: string;
}

export interface IqRemoteDescriptor {
  readonly address?: string;
  readonly port?: number;
  /** IE "Remote certificate fingerprint" */
  readonly certificateFingerprints?: readonly IqFingerprint[];
  readonly setup?: "active" | "passive" | "actpass" | "holdconn";
}

export interface IqReserveRequest {
  /** absent: a new context */
  readonly contextId?: string;
  readonly side: IqSide;
  readonly transport: IqTransport;
  /** IE "Establish (D)TLS session" */
  readonly establishTlsSession?: boolean;
  /** IE "Notify (D)TLS session establishment Failure Event" */
  readonly notifyTlsSessionEstablishmentFailureEvent?: boolean;
  /** IE "Local certificate fingerprint Request" */
  readonly localCertificateFingerprintRequest?: boolean;
}

export interface IqReserveAndConfigureRequest extends IqReserveRequest {
  readonly remote: IqRemoteDescriptor;
  readonly tcpConnect?: boolean;
}

export interface IqConfigureRequest {
  readonly contextId: string;
  readonly terminationId: string;
  readonly remote?: IqRemoteDescriptor;
  readonly tcpConnect?: boolean;
  readonly establishTlsSession?: boolean;
}

/** The termination as reserved: what goes into the rewritten SDP. */
export interface IqConnectionPoint {
  readonly contextId: string;
  readonly terminationId: string;
  readonly localAddress: string;
  readonly localPort: number;
  /** answer to "Local certificate fingerprint Request" */
  readonly localCertificateFingerprint?: IqFingerprint;
}

export interface IqClient {
  reserveAgwConnectionPoint(req: IqReserveRequest): Promise<IqConnectionPoint>;
  reserveAndConfigureAgwConnectionPoint(req: IqReserveAndConfigureRequest): Promise<IqConnectionPoint>;
  configureAgwConnectionPoint(req: IqConfigureRequest): Promise<IqConnectionPoint>;
  releaseAgwContext(req: { readonly contextId: string }): Promise<unknown>;
}
