/**
 * UE side of e2ae media security (TR 29.828 §5.2.1.2.x MSRP, §5.2.1.3.x BFCP; TS 33.328 e2ae): MSRP over TLS
 * (RFC 4975), BFCP over TLS (RFC 8855/8856), the SDP builders/readers and `E2aeEndpoint`. See docs/e2ae-ue.md.
 */
export * from "./bfcp.ts";
export {
  BfcpClient,
  type BfcpClientEvents,
  type BfcpClientOptions,
  type HelloResult,
} from "./bfcpClient.ts";
export {
  type FloorRequestState,
  floorRequestInformation,
  readFloorRequestInformation,
  requestStatusName,
} from "./bfcpFloorInfo.ts";
export { BfcpFloorServer, type BfcpFloorServerEvents, type BfcpFloorServerOptions } from "./bfcpFloorServer.ts";
export {
  DEFAULT_E2AE_TIMEOUTS,
  type E2aeBfcpOptions,
  E2aeEndpoint,
  type E2aeEndpointEvents,
  type E2aeEndpointOptions,
  type E2aeMsrpOptions,
  type E2aeState,
  type E2aeTimeouts,
  type E2aeVerdictEvent,
} from "./endpoint.ts";
export { E2aeError, type E2aeErrorCode, isE2aeError } from "./errors.ts";
export { bodyContainsEndLine, encodeMsrp } from "./msrpEncode.ts";
export { isMsrpIdent, newMessageId, newSessionId, newTransactionId, parseByteRange } from "./msrpGrammar.ts";
export { type MsrpParseEvent, MsrpParser, type MsrpParserOptions, parseMsrp } from "./msrpParser.ts";
export * from "./msrpSession.ts";
export {
  type ByteRange,
  MSRP_STATUS_TEXT,
  type MsrpContinuation,
  type MsrpFrame,
  type MsrpHeader,
  type MsrpRequest,
  type MsrpResponse,
  type MsrpStatusHeader,
} from "./msrpTypes.ts";
export { formatPath, isAcceptedType, MSRP_DEFAULT_PORT, msrpUriMatches, type PathMatchMode } from "./msrpUri.ts";
export * from "./sdp.ts";
export {
  type E2aeVerdict,
  type HandshakeOptions,
  type TlsRole,
  tcpConnect,
  tlsHandshake,
} from "./tls.ts";
