import { deadline, ImsdcError } from "../errors.ts";

/** Stable codes of the UE data channel engine (README "UE error codes"). */
export type UeErrorCode =
  | "E_FP_MISMATCH" // peer certificate matches no signalled fingerprint (RFC 8122 §6)
  | "E_DTLS_AUTH" // peer failed proof of possession / Finished check (RFC 5246 §7.4.3, §7.4.8, §7.4.9)
  | "E_DTLS_FAILED" // any other DTLS handshake failure
  | "E_GATHER_TIMEOUT"
  | "E_ICE_TIMEOUT"
  | "E_ICE_FAILED"
  | "E_ICE_REQUIRED" // the peer's SDP carries no ICE credentials/candidates: werift needs ICE
  | "E_DTLS_TIMEOUT"
  | "E_SCTP_TIMEOUT"
  | "E_PREWARM_TIMEOUT" // prewarmDcEngine() did not complete its loopback association in time
  | "E_CONSENT_EXPIRED" // no consent check answered for timeouts.consentMs: the peer vanished (RFC 7675 §5.1)
  | "E_SCTP_ABORT" // the peer aborted the SCTP association without closing DTLS (RFC 9260 §9.1)
  | "E_ENGINE_UNHARDENED" // the loaded werift lacks imsdc's hardening patch: no media transport is created (fail closed)
  | "E_CONFIG" // an option value the engine cannot use (e.g. timeouts.consentMs below 1000)
  | "E_UE_BUSY" // the UE already has maxCalls calls: an incoming INVITE is answered 486 (RFC 3261 §21.4.24)
  | "E_SDP_REMOTE" // the remote offer/answer has error findings (see `findings`)
  | "E_SDP_NO_DC" // no usable data channel m-line
  | "E_STATE" // API called in the wrong state
  | "E_DC_NOT_OPEN"
  | "E_DC_TX_TOO_LARGE" // message larger than the peer's a=max-message-size (RFC 8841 §6)
  | "E_DC_RX_TOO_LARGE" // peer sent more than our a=max-message-size (RFC 8841 §6)
  | "E_DC_CHANNEL" // any other channel-level fault reported by the engine
  | "E_DC_ID_IN_USE"
  | "E_DC_OPTIONS" // channel options the engine cannot honour
  | "E_CLOSED";

export class UeError extends ImsdcError {
  declare readonly code: UeErrorCode;
  readonly details?: Record<string, unknown>;

  constructor(code: UeErrorCode, message: string, options?: { cause?: unknown; details?: Record<string, unknown> }) {
    super(code, message, options);
    if (options?.details) this.details = options.details;
  }
}

/** Rejects with `UeError(code)` when `p` does not settle within `ms`. The timer never keeps the process alive. */
export function withTimeout<T>(p: Promise<T>, ms: number, code: UeErrorCode, what: string): Promise<T> {
  return deadline(p, ms, () => new UeError(code, `${what} did not complete within ${ms} ms`));
}
