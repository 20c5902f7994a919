/** IMS-AGW: Iq procedures (TS 23.334 names), TCP establishment control (TR 29.828 §4.4.2), e2ae TLS termination. */

export { AddressPolicy, LOOPBACK_NETWORKS, parseCidr } from "./addressPolicy.ts";
export { type AgwResources, type ContextView, DEFAULT_TIMERS, ImsAgw, type ImsAgwOptions } from "./agw.ts";
export * from "./iqErrors.ts";
export * from "./iqEvents.ts";
export { DEFAULT_IQ_QUOTA, type IqQuota } from "./iqQuota.ts";
export {
  type IqPin,
  type IqTlsClientOptions,
  type IqTlsServerOptions,
  parsePin,
  pinOfCertificate,
} from "./iqTls.ts";
export * from "./iqTypes.ts";
export * from "./iqValidate.ts";
export { Relay, type RelayOptions, type RelayResult } from "./relay.ts";
export { normalizeAddress } from "./sockets.ts";
export { Termination } from "./termination.ts";
export { type IqConnectionState, IqWsClient, type IqWsClientOptions } from "./wsClient.ts";
export {
  IQ_BYE_REASON,
  IQ_SESSION_HEADER,
  IQ_WS_HARD_MAX_BYTES,
  IQ_WS_MAX_MESSAGE_BYTES,
  type IqWsSessionMessage,
} from "./wsCodec.ts";
export { IqWsServer, type IqWsServerOptions } from "./wsServer.ts";
