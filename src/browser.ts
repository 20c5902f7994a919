/**
 * `imsdc/browser`: what runs in a web page. The SIP user agent with the browser WebSocket transport (RFC 7118), the SIP
 * codec, and the pure SDP layer (`imsdc/sdp`). The page's own RTCPeerConnection is the data channel engine.
 *
 * Nothing reachable from here may import a Node built-in, werift or ws: test/package/browser-entry.test.ts bundles this
 * entry for the browser platform and fails on any such import.
 */

export { ImsdcError, isImsdcError } from "./errors.ts";
export * from "./sdp/index.ts";
export { SIP_ERROR_CODES, SipError, type SipErrorCode, SipParseError, SipRequestError } from "./sip/errors.ts";
export { createRequest, createResponse, type SipMessage, SipRequest, SipResponse } from "./sip/message.ts";
export { parseMessage } from "./sip/parse.ts";
export { serializeMessage } from "./sip/serialize.ts";
export {
  type BrowserWebSocketLike,
  BrowserWsTransport,
  type BrowserWsTransportOptions,
} from "./sip/transport/browserWs.ts";
export {
  type CallEvents,
  type CallState,
  FLOW_RECOVERY_DEFAULTS,
  type FlowFailedInfo,
  type FlowRecoveryOptions,
  flowRecoveryDelay,
  type RegistrationFailedInfo,
  type RegistrationInfo,
  rejectOffer,
  type SdpContext,
  type SdpReject,
  SipCall,
  type SipSdpHandler,
  SipUserAgent,
  type SipUserAgentOptions,
  type TerminatedInfo,
  type TerminationReason,
  UA_ALLOW,
  type UaTransport,
  type UserAgentEvents,
} from "./sip/ua.ts";
