/**
 * SIP error codes. Every deliberate failure of the SIP stack is a `SipError` (an `ImsdcError`) with one of these
 * stable codes; codec failures are `SipParseError`s that also carry what could be read before the fault, so that the
 * transport layer can still answer a malformed request with 400 (RFC 3261 §8.2, §21.4.1).
 */
import { ImsdcError } from "../errors.ts";

/** Stable codes with a one-line meaning each (docs/sip.md lists the same table). */
export const SIP_ERROR_CODES = {
  // codec (RFC 3261 §7, §20, §25)
  E_SIP_EMPTY: "no message: empty input or only CRLF",
  E_SIP_START_LINE: "malformed Request-Line or Status-Line",
  E_SIP_VERSION: "SIP-Version is not SIP/2.0 (a request is answered with 505)",
  E_SIP_METHOD: "method is not a token",
  E_SIP_STATUS: "status code is not 3 digits in 100..699",
  E_SIP_HEADER: "malformed header line, bad characters, non-UTF-8 header section, or a repeated single-value header",
  E_SIP_URI: "malformed SIP/SIPS/tel or absolute URI",
  E_SIP_NAME_ADDR: "malformed name-addr / addr-spec (From, To, Contact, Route, Record-Route, Path, ...)",
  E_SIP_PARAM: "malformed generic-param",
  E_SIP_VIA: "malformed Via (sent-protocol, sent-by, branch, received, rport, maddr, ttl)",
  E_SIP_CSEQ: "malformed CSeq, or CSeq method does not match the request method",
  E_SIP_CALL_ID: "malformed Call-ID",
  E_SIP_MAX_FORWARDS: "malformed Max-Forwards (0..255)",
  E_SIP_CONTENT_LENGTH: "malformed or contradictory Content-Length, or body shorter than Content-Length",
  E_SIP_CONTENT_TYPE: "malformed Content-Type",
  E_SIP_EXPIRES: "malformed Expires / Min-Expires delta-seconds",
  E_SIP_SECURITY: "malformed Security-Client / Security-Server / Security-Verify (RFC 3329)",
  E_SIP_WARNING: "malformed Warning (RFC 3261 §20.43)",
  E_SIP_RETRY_AFTER: "malformed Retry-After",
  E_SIP_TOKEN_LIST: "malformed token list (Require, Proxy-Require, Supported, Unsupported, Allow)",
  E_SIP_MISSING_HEADER: "a mandatory header is missing (RFC 3261 §8.1.1)",
  E_SIP_TOO_LARGE: "message exceeds the configured maximum size",
  // layers above the codec
  E_SIP_TRANSPORT: "transport failure: no route, connect/send error, or no such connection",
  E_SIP_TLS_HANDSHAKE: "a TLS handshake failed or did not finish within the read deadline",
  E_SIP_TLS_PEER:
    "the TLS peer's certificate was refused: not issued by a trusted CA, not for the host or IP dialled (RFC 5922 §7), or not pinned",
  E_SIP_TLS_CONFIG: "unusable TLS credentials or trust store (certificate, key, CA or pin)",
  E_SIP_CONNECTION_LIMIT: "connection limit reached",
  E_SIP_SOURCE_LIMIT: "an inbound connection was refused: its source IP holds maxConnectionsPerSource connections",
  E_SIP_EVICTED: "an idle connection was closed to make room: the connection table was near full",
  E_SIP_MESSAGE_TIMEOUT:
    "a TCP/WS message (or an inbound connection's first message, or a WebSocket upgrade) was not complete within messageTimeoutMs",
  E_SIP_IDLE_TIMEOUT: "a TCP/WS connection carried no traffic for idleTimeoutMs",
  E_SIP_FLOW_FAILED: "the connection a UA registered over closed (RFC 5626 §4.4); the UA re-registers (flow recovery)",
  E_SIP_UNTRUSTED_SOURCE:
    "an initial request did not come over the flow the UA registered through (TS 24.229 §5.1.1.2, RFC 5626 §5): 403",
  E_SIP_CLOSED: "the transport, transaction layer or user agent is closed",
  E_SIP_TIMEOUT: "a transaction or user-agent operation timed out",
  E_SIP_TRANSACTION: "invalid operation for the transaction state",
  E_SIP_DIALOG: "invalid operation for the dialog state",
  E_SIP_STATE: "invalid operation for the call or registration state",
  E_SIP_SDP: "the SDP offer/answer hook failed",
  E_SIP_REJECTED: "a request got a non-2xx final response (status and response attached)",
  E_SIP_AUTH:
    "registration authentication failed: no credentials for the challenge, refused credentials, too many challenges, a non-authentic network (AKA MAC, rspauth) or SQN still stale",
  E_SIP_CONFIG: "invalid configuration",
} as const;

export type SipErrorCode = keyof typeof SIP_ERROR_CODES;

export class SipError extends ImsdcError {
  declare readonly code: SipErrorCode;
  constructor(code: SipErrorCode, message: string, options?: { cause?: unknown }) {
    super(code, message, options);
  }
}

/** A request that ended with a non-2xx final response (or a local 408/503). */
export class SipRequestError extends SipError {
  constructor(
    readonly status: number,
    readonly reason: string,
    readonly response?: unknown,
  ) {
    super("E_SIP_REJECTED", `${status} ${reason}`);
  }
}

/** What a parser could read before it failed; enough, sometimes, to answer with 400 (RFC 3261 §8.2.6). */
export interface PartialMessage {
  kind: "request" | "response" | "unknown";
  method?: string | undefined;
  uri?: string | undefined;
  /** header rows read so far (unfolded, in order) */
  headers: { name: string; value: string }[];
}

export class SipParseError extends SipError {
  partial: PartialMessage | undefined;
  /** the header the fault was found in, when there is one */
  readonly header: string | undefined;
  constructor(
    code: SipErrorCode,
    message: string,
    options?: { cause?: unknown; header?: string; partial?: PartialMessage },
  ) {
    super(code, message, options?.cause !== undefined ? { cause: options.cause } : undefined);
    this.header = options?.header;
    this.partial = options?.partial;
  }
}

/** Throws a SipParseError (codec helper). */
export function fail(code: SipErrorCode, message: string, header?: string): never {
  throw new SipParseError(code, message, header !== undefined ? { header } : undefined);
}
