/**
 * SIP signalling (RFC 3261 and friends): codec, transports (UDP, TCP, WebSocket), transactions, dialogs and the
 * user-agent core. See docs/sip.md.
 */
export { Dialog, type DialogState, dialogId, dialogIdOfRequest, type InDialogRequestOptions } from "./dialog.ts";
export { type EventMap, TypedEmitter } from "./emitter.ts";
export {
  fail,
  type PartialMessage,
  SIP_ERROR_CODES,
  SipError,
  type SipErrorCode,
  SipParseError,
  SipRequestError,
} from "./errors.ts";
export { type FramerEvent, type FramerOptions, SipStreamFramer, scanContentLength } from "./framing.ts";
export {
  formatParams,
  getParam,
  hasParam,
  quote,
  removeParam,
  type SipParam,
  setParam,
  splitTopLevel,
  unquote,
} from "./grammar.ts";
export * from "./headers.ts";
export {
  type CreateRequestOptions,
  type CreateResponseOptions,
  createRequest,
  createResponse,
  generateBranch,
  generateCallId,
  generateTag,
  isRequest,
  isResponse,
  REASON_PHRASES,
  reasonPhrase,
  type SipHeader,
  type SipMessage,
  SipRequest,
  SipResponse,
} from "./message.ts";
export {
  findHeaderEnd,
  type ParseOptions,
  parseMessage,
  parseMessageText,
  parseRequest,
  parseResponse,
  readPartial,
  type ValidateLevel,
  validateMessage,
} from "./parse.ts";
export { answerableRows, errorResponseFor, statusForParseError, warningValue } from "./reply.ts";
export { type SerializeOptions, serializeHead, serializeMessage, startLine } from "./serialize.ts";
export {
  ClientTransaction,
  type ClientTransactionState,
  type ClientTransactionUser,
  InviteClientTransaction,
  NonInviteClientTransaction,
} from "./transaction/client.ts";
export {
  clientKey,
  type SendRequestOptions,
  serverKey,
  TransactionManager,
  type TransactionManagerOptions,
  type TransactionUser,
} from "./transaction/manager.ts";
export {
  InviteServerTransaction,
  NonInviteServerTransaction,
  ServerTransaction,
  type ServerTransactionState,
} from "./transaction/server.ts";
export { DEFAULT_TIMERS, resolveTimers, type SipTimerConfig, TimerBag } from "./transaction/timers.ts";
export {
  type ConnectionRefusedListener,
  connectionRefusedEvent,
  defaultPort,
  type InboundGate,
  type InboundListener,
  type ListenOptions,
  responseTarget,
  SipTransportLayer,
  type SipTransportLayerOptions,
  type TransactionTransport,
  uriTarget,
  viaTransport,
} from "./transport/layer.ts";
export {
  ConnectionLimiter,
  type ConnectionLimiterStats,
  type ConnectionRefusalReason,
  type ConnectionRefusedInfo,
} from "./transport/limiter.ts";
export { TcpTransport, type TcpTransportOptions } from "./transport/tcp.ts";
export { TlsTransport, type TlsTransportOptions } from "./transport/tls.ts";
export {
  checkTlsConfig,
  SIP_TLS_CIPHERS,
  SIP_TLS_MIN_VERSION,
  type SipTlsConfig,
} from "./transport/tlsContext.ts";
export {
  bareHost,
  type ConnectionClosedInfo,
  type ConnectionClosedListener,
  type ConnectionCloseReason,
  DEFAULT_LIMITS,
  isSecureTransport,
  type SipEndpoint,
  type SipSource,
  type SipTarget,
  type SipTransport,
  type SipTransportProtocol,
  type StreamTransportProtocol,
  sipHost,
  type TlsRefusedInfo,
  type TransportHandlers,
  type TransportLimits,
} from "./transport/types.ts";
export { UdpTransport, type UdpTransportOptions } from "./transport/udp.ts";
export { SIP_SUBPROTOCOL, WsTransport, type WsTransportOptions } from "./transport/ws.ts";
export {
  type CallEvents,
  type CallState,
  FLOW_RECOVERY_DEFAULTS,
  type FlowFailedInfo,
  type FlowRecoveryOptions,
  flowRecoveryDelay,
  type RegistrationFailedInfo,
  type RegistrationInfo,
  type RequestRefusedInfo,
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
} from "./ua.ts";
export {
  type AbsoluteUri,
  formatUri,
  isSipUri,
  isTelUri,
  parseSipUri,
  parseUri,
  type SipUri,
  sipUri,
  sipUriEquals,
  type TelUri,
  type Uri,
  unescapeUriPart,
  uriParam,
  withoutUriParams,
  withUriParam,
} from "./uri.ts";
