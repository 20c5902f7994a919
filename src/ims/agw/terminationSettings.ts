/**
 * What a termination was told: the TS 23.334 IEs the IMS-ALG configured and the remote descriptor it learned from the
 * peer's SDP, with their update by a Configure AGW Connection Point request.
 */
import type { Fingerprint } from "../../sdp/index.ts";
import { AgwError } from "./iqErrors.ts";
import type {
  ConfigureAgwConnectionPointRequest,
  RemoteDescriptor,
  SetupRole,
  TcpEstablishment,
  TlsRole,
} from "./iqTypes.ts";
import { connectablePort } from "./sockets.ts";
import type { TerminationInit } from "./terminationTypes.ts";

export type ConfigureRequest = Omit<ConfigureAgwConnectionPointRequest, "contextId" | "terminationId">;

export class TerminationSettings {
  remoteAddress: string | undefined;
  remotePort: number | undefined;
  remoteFingerprints: Fingerprint[] = [];
  remoteSetup: SetupRole | undefined;
  establishTlsSession: boolean;
  tlsRole: TlsRole | undefined;
  notifyTlsFailure: boolean;
  localFingerprintRequested: boolean;
  acceptTcpOnlyFromRemote: boolean | undefined;

  private readonly tcpEstablishment: TcpEstablishment;

  constructor(init: TerminationInit) {
    this.tcpEstablishment = init.tcpEstablishment;
    this.establishTlsSession = init.establishTlsSession;
    this.tlsRole = init.tlsRole;
    this.notifyTlsFailure = init.notifyTlsFailure;
    this.localFingerprintRequested = init.localFingerprintRequested;
    this.acceptTcpOnlyFromRemote = init.acceptTcpOnlyFromRemote;
    if (init.remote) this.applyRemote(init.remote);
  }

  /**
   * Checks a Configure against the termination (`isTls`, the TLS roles of legs whose handshake started) before any
   * field changes: a refused request changes nothing.
   */
  check(req: ConfigureRequest, transport: string, isTls: boolean, rolesInUse: readonly TlsRole[]): void {
    if (!isTls) {
      if (req.establishTlsSession || req.tlsRole !== undefined || req.localCertificateFingerprintRequest) {
        throw new AgwError("E_AGW_INVALID_PARAM", `${transport} termination has no TLS`);
      }
    }
    // A Configure that repeats the role already in use (e.g. the IMS-ALG's TLS setup direction of TR 29.828
    // §5.2.1.2.2 steps 16-18 arriving after the AGW connected by interlinkage) is accepted; a different one is not.
    if (req.tlsRole !== undefined && rolesInUse.some((r) => r !== req.tlsRole)) {
      throw new AgwError("E_AGW_STATE", "TLS role cannot change once the TLS session started");
    }
    if (req.tcpConnect) {
      const address = req.remote?.address ?? this.remoteAddress;
      const port = req.remote?.port ?? this.remotePort;
      if (address === undefined || !connectablePort(port)) {
        throw new AgwError("E_AGW_INVALID_PARAM", "tcpConnect needs a remote address and port (not 0 or 9)");
      }
    }
  }

  /** Applies the fields the request carries (absent fields keep their value); true when the fingerprints changed. */
  apply(req: ConfigureRequest): boolean {
    const fpBefore = JSON.stringify(this.remoteFingerprints);
    if (req.remote) this.applyRemote(req.remote);
    if (req.establishTlsSession !== undefined) this.establishTlsSession = req.establishTlsSession;
    if (req.tlsRole !== undefined) this.tlsRole = req.tlsRole;
    if (req.notifyTlsSessionEstablishmentFailureEvent !== undefined) {
      this.notifyTlsFailure = req.notifyTlsSessionEstablishmentFailureEvent;
    }
    if (req.localCertificateFingerprintRequest !== undefined) {
      this.localFingerprintRequested = req.localCertificateFingerprintRequest;
    }
    if (req.acceptTcpOnlyFromRemote !== undefined) this.acceptTcpOnlyFromRemote = req.acceptTcpOnlyFromRemote;
    return JSON.stringify(this.remoteFingerprints) !== fpBefore;
  }

  private applyRemote(r: RemoteDescriptor): void {
    if (r.address !== undefined) this.remoteAddress = r.address;
    if (r.port !== undefined) this.remotePort = r.port;
    if (r.certificateFingerprints !== undefined) this.remoteFingerprints = [...r.certificateFingerprints];
    if (r.setup !== undefined) this.remoteSetup = r.setup;
  }

  /** The address incoming connections are filtered on (indication 5; default on in delayed mode, opt-in in immediate). */
  get sourceFilter(): string | undefined {
    if (this.remoteAddress === undefined) return undefined;
    const on = this.acceptTcpOnlyFromRemote ?? this.tcpEstablishment.mode === "delayed";
    return on ? this.remoteAddress : undefined;
  }

  /** RFC 4145 §4: a remote address and a connectable port are known. */
  get canConnect(): boolean {
    return this.remoteAddress !== undefined && connectablePort(this.remotePort);
  }
}
