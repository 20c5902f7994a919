/** Typed errors of the IMS-AGW and its Iq bindings: stable codes (`AgwErrorCode`), one `AgwError` class. */
import { ImsdcError } from "../../errors.ts";

export type AgwErrorCode =
  /** a request or IE is malformed or out of range */
  | "E_AGW_INVALID_PARAM"
  | "E_AGW_UNKNOWN_CONTEXT"
  | "E_AGW_UNKNOWN_TERMINATION"
  /** a context holds at most two terminations (the relay is two-party) */
  | "E_AGW_CONTEXT_FULL"
  /** a configured limit (contexts, terminations) is reached */
  | "E_AGW_LIMIT"
  /** one Iq controller's quota (contexts, terminations, reservations per second) is reached; others are unaffected */
  | "E_AGW_QUOTA"
  /** a local address that is not one of the AGW's configured interfaces, or a remote address outside the policy */
  | "E_AGW_ADDRESS_POLICY"
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
  /** Iq binding: mutual authentication failed (the AGW's certificate is not the pinned one, or the AGW refused ours) */
  | "E_AGW_IQ_AUTH"
  /** Iq binding: an unauthenticated (plain ws://) listener or client outside the `insecure` + loopback rule */
  | "E_AGW_IQ_INSECURE"
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
  "E_AGW_QUOTA",
  "E_AGW_ADDRESS_POLICY",
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
  "E_AGW_IQ_AUTH",
  "E_AGW_IQ_INSECURE",
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
