/**
 * The Iq procedures over a WebSocket (our binding; TS 29.334 H.248 encodings are not in this project's sources).
 *
 * Wire format (UTF-8 JSON text frames):
 *   request   {"id": <string|integer>, "procedure": "<IqProcedure>", "params": {…}}
 *   response  {"id": …, "result": {…}}      or      {"id": …|null, "error": {"code": "E_AGW_…", "message": "…"}}
 *   event     {"event": "<IqEventName>", "contextId": "…", "terminationId": "…", …}
 *   session   {"session": {"id": "…", "resumed": true|false, "contexts": <n>}}   (server → client, on connect)
 *
 * Every incoming message is validated; garbage gets a typed error and the connection (and server) stay up.
 * Messages over `maxMessageBytes` (default 64 KiB) get E_AGW_IQ_TOO_LARGE; frames over the hard bound (1 MiB) are
 * refused by the WebSocket layer (close 1009).
 *
 * Iq sessions: a client presents a session id (header `x-iq-session`, kept across its reconnections). A context
 * belongs to the session that reserved it: only that session sees its events and may name it in a request (others
 * get E_AGW_UNKNOWN_CONTEXT). When the session's connection is lost, its contexts are released after
 * `orphanGraceMs` (audit `orphan-released`, code E_AGW_ORPHAN) unless the session reconnects first; a client that
 * closes its connection on purpose (close code 1000, reason "bye") has its contexts released at once. Both ends ping
 * (`pingIntervalMs`): a peer silent for two intervals is treated as gone.
 *
 * Security: wss:// with mutual TLS, each end pinning the other's certificate fingerprint (iqTls.ts); plain ws:// only
 * with `insecure: true` on loopback. Sessions are per controller; each controller has a quota (iqQuota.ts).
 */

export { DEFAULT_IQ_QUOTA, type IqQuota } from "./iqQuota.ts";
export {
  type IqPin,
  type IqTlsClientOptions,
  type IqTlsServerOptions,
  isLoopbackHost,
  parsePin,
  pinOfCertificate,
} from "./iqTls.ts";
export { type IqConnectionState, IqWsClient, type IqWsClientOptions } from "./wsClient.ts";
export {
  IQ_BYE_REASON,
  IQ_SESSION_HEADER,
  IQ_WS_HARD_MAX_BYTES,
  IQ_WS_MAX_MESSAGE_BYTES,
  type IqWsSessionMessage,
} from "./wsCodec.ts";
export { IqWsServer, type IqWsServerOptions } from "./wsServer.ts";
