/** Typed errors of the UE e2ae media layer (MSRP over TLS, BFCP over TLS, the e2ae endpoint). */
import { ImsdcError } from "../../errors.ts";

/** Stable codes (docs/e2ae-ue.md "Error codes"). */
export type E2aeErrorCode =
  // ---- MSRP codec and session (RFC 4975) ----
  | "E_MSRP_START_LINE" // first line is not `MSRP <transact-id> <method>` / `MSRP <transact-id> <code> [comment]` (§7.1, §9)
  | "E_MSRP_HEADER" // a header line is malformed, repeated or has a bad value (§9)
  | "E_MSRP_MISSING_HEADER" // To-Path / From-Path missing, or a body without Content-Type (§7.1, §9)
  | "E_MSRP_PATH" // a To-Path / From-Path URI does not follow the MSRP-URI ABNF (§9)
  | "E_MSRP_BYTE_RANGE" // Byte-Range is not `start-end/total`, or does not fit the body (§7.1.1, §9)
  | "E_MSRP_END_LINE" // the end-line is missing, malformed, or would appear inside the body (§7.1)
  | "E_MSRP_BODY" // a body where none is allowed (responses, §7.2)
  | "E_MSRP_TOO_LARGE" // a frame or message exceeds the configured bound (413, §10)
  | "E_MSRP_RESPONSE" // the peer answered a SEND with a non-2xx status (§7.1.1, §10)
  | "E_MSRP_TIMEOUT" // no response within the transaction timeout (408, §7.1.1)
  | "E_MSRP_PATH_MISMATCH" // To-Path does not name this session (481, §7.3.1)
  | "E_MSRP_CLOSED" // the session is closed
  // ---- BFCP codec and sessions (RFC 8855) ----
  | "E_BFCP_TRUNCATED" // fewer octets than the COMMON-HEADER / payload length announce (§5.1)
  | "E_BFCP_VERSION" // Ver is neither 1 (reliable) nor 2 (unreliable) (§5.1)
  | "E_BFCP_HEADER" // F bit on a reliable transport, bad field (§5.1)
  | "E_BFCP_LENGTH" // payload length does not match the attributes (§5.1, §5.2)
  | "E_BFCP_ATTRIBUTE" // an attribute's length or content is malformed (§5.2)
  | "E_BFCP_PRIMITIVE" // a primitive lacks a mandatory attribute or is unexpected (§5.3)
  | "E_BFCP_TOO_LARGE" // message larger than the configured bound
  | "E_BFCP_ERROR" // the peer answered with an Error primitive (§5.3.13)
  | "E_BFCP_TIMEOUT" // no answer to a transaction in time (§6.2)
  | "E_BFCP_CLOSED" // the connection is closed
  // ---- e2ae endpoint / TLS (RFC 8122, RFC 4145, TR 29.828) ----
  | "E_E2AE_FP_MISMATCH" // the TLS peer's certificate matches no signalled fingerprint (RFC 8122 §6)
  | "E_E2AE_NO_PEER_CERT" // the TLS peer presented no certificate (RFC 8122 §6)
  | "E_E2AE_TLS" // TLS handshake failure
  | "E_E2AE_CONNECT" // TCP connect failure
  | "E_E2AE_TIMEOUT" // a stage (connect, TLS, fingerprint wait, establishment) did not finish in time
  | "E_E2AE_SDP" // the remote SDP is unusable (error findings, no TLS MSRP/BFCP m-line, bad roles)
  | "E_E2AE_PEER_CLOSED" // the peer closed the verified connection
  | "E_E2AE_STATE" // API called in the wrong state
  | "E_E2AE_CLOSED"; // the endpoint is closed

export class E2aeError extends ImsdcError {
  declare readonly code: E2aeErrorCode;
  readonly details?: Record<string, unknown>;

  constructor(code: E2aeErrorCode, message: string, options?: { cause?: unknown; details?: Record<string, unknown> }) {
    super(code, message, options);
    if (options?.details) this.details = options.details;
  }
}

/** True when `e` is an E2aeError, optionally with the given code. */
export function isE2aeError(e: unknown, code?: E2aeErrorCode): e is E2aeError {
  return e instanceof E2aeError && (code === undefined || e.code === code);
}

/** Wraps anything into an E2aeError (keeps E2aeErrors as they are). */
export function toE2aeError(e: unknown, code: E2aeErrorCode, what: string): E2aeError {
  if (e instanceof E2aeError) return e;
  const msg = e instanceof Error ? e.message : String(e);
  return new E2aeError(code, `${what}: ${msg}`, { cause: e });
}
