/**
 * Framing and codec of the Iq WebSocket binding: size bounds, the session header, message shapes, the text decoding
 * of `ws` frames and the server's request decoding (typed errors, never an exception).
 *
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
import type { RawData } from "ws";
import type { AgwErrorCode } from "./iqErrors.ts";
import { type IqProcedure, isIqProcedure } from "./iqTypes.ts";
import { isRecord } from "./iqValidate.ts";

export const IQ_WS_MAX_MESSAGE_BYTES = 64 * 1024;
/** Frames above this are refused by `ws` itself (close code 1009) before any parsing. */
export const IQ_WS_HARD_MAX_BYTES = 1024 * 1024;
/** HTTP header of the WebSocket upgrade carrying the client's Iq session id. */
export const IQ_SESSION_HEADER = "x-iq-session";
export const SESSION_RE = /^[A-Za-z0-9_-]{16,64}$/;
/** Close reason of a client that ends its Iq session on purpose (its contexts are released at once). */
export const IQ_BYE_REASON = "bye";

export type IqWsId = string | number;

export interface IqWsRequest {
  id: IqWsId;
  procedure: IqProcedure;
  params: unknown;
}

export type IqWsResponse =
  | { id: IqWsId; result: unknown }
  | { id: IqWsId | null; error: { code: string; message: string } };

/** Sent by the server right after a connection opens. */
export interface IqWsSessionMessage {
  session: {
    id: string;
    /** the AGW still knew this session (its contexts survived the outage); false after an AGW restart */
    resumed: boolean;
    /** contexts the session owns now */
    contexts: number;
  };
}

function validId(x: unknown): x is IqWsId {
  return (
    (typeof x === "string" && x.length > 0 && x.length <= 64) || (typeof x === "number" && Number.isSafeInteger(x))
  );
}

export function rawLength(data: RawData): number {
  if (Array.isArray(data)) return data.reduce((n, b) => n + b.length, 0);
  return data instanceof ArrayBuffer ? data.byteLength : data.length;
}

export function rawText(data: RawData): string {
  if (Array.isArray(data)) return Buffer.concat(data).toString("utf8");
  return data instanceof ArrayBuffer ? Buffer.from(data).toString("utf8") : data.toString("utf8");
}

export function errText(e: unknown): string {
  return e instanceof Error ? e.message : String(e);
}

/** A request as the server decoded it, or the typed error to answer (with the request id once it is known). */
export type DecodedRequest =
  | { readonly ok: true; readonly id: IqWsId; readonly procedure: IqProcedure; readonly params: unknown }
  | { readonly ok: false; readonly id: IqWsId | null; readonly code: AgwErrorCode; readonly message: string };

/** Decodes one request frame: text, size bound, JSON, envelope `{id, procedure, params}`, known procedure. */
export function decodeRequest(data: RawData, isBinary: boolean, maxMessageBytes: number): DecodedRequest {
  const refuse = (id: IqWsId | null, code: AgwErrorCode, message: string): DecodedRequest => ({
    ok: false,
    id,
    code,
    message,
  });
  if (isBinary) return refuse(null, "E_AGW_IQ_INVALID", "binary frames are not part of the Iq binding");
  if (rawLength(data) > maxMessageBytes) {
    return refuse(null, "E_AGW_IQ_TOO_LARGE", `message exceeds ${maxMessageBytes} bytes`);
  }
  let msg: unknown;
  try {
    msg = JSON.parse(rawText(data));
  } catch {
    return refuse(null, "E_AGW_IQ_PARSE", "message is not JSON");
  }
  if (!isRecord(msg)) return refuse(null, "E_AGW_IQ_INVALID", "message must be a JSON object");
  const id = msg.id;
  if (!validId(id)) return refuse(null, "E_AGW_IQ_INVALID", "id must be a string (1-64) or a safe integer");
  for (const k of Object.keys(msg)) {
    if (k !== "id" && k !== "procedure" && k !== "params") {
      return refuse(id, "E_AGW_IQ_INVALID", `unknown envelope field ${k.slice(0, 40)}`);
    }
  }
  const procedure = msg.procedure;
  if (!isIqProcedure(procedure)) {
    return refuse(id, "E_AGW_IQ_UNKNOWN_PROCEDURE", `unknown procedure ${String(procedure).slice(0, 64)}`);
  }
  return { ok: true, id, procedure, params: msg.params };
}
