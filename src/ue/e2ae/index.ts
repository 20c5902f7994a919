/**
 * UE side of e2ae media security (TR 29.828 §5.2.1.2.x MSRP, §5.2.1.3.x BFCP; TS 33.328 e2ae): MSRP over TLS
 * (RFC 4975), BFCP over TLS (RFC 8855/8856), the SDP builders/readers and `E2aeEndpoint`. See docs/e2ae-ue.md.
 */
export * from "./bfcp.ts";
export * from "./bfcpSession.ts";
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
export * from "./msrp.ts";
export * from "./msrpSession.ts";
export * from "./sdp.ts";
export {
  type E2aeVerdict,
  type HandshakeOptions,
  type TlsRole,
  tcpConnect,
  tlsHandshake,
} from "./tls.ts";
