/** IMS-AGW: Iq procedures (TS 23.334 names), TCP establishment control (TR 29.828 §4.4.2), e2ae TLS termination. */
export { type AgwResources, type ContextView, DEFAULT_TIMERS, ImsAgw, type ImsAgwOptions } from "./agw.ts";
export * from "./iq.ts";
export { Relay, type RelayOptions, type RelayResult } from "./relay.ts";
export { normalizeAddress } from "./sockets.ts";
export { Termination } from "./termination.ts";
export {
  IQ_BYE_REASON,
  IQ_SESSION_HEADER,
  IQ_WS_HARD_MAX_BYTES,
  IQ_WS_MAX_MESSAGE_BYTES,
  type IqConnectionState,
  IqWsClient,
  type IqWsClientOptions,
  IqWsServer,
  type IqWsServerOptions,
  type IqWsSessionMessage,
} from "./ws.ts";
