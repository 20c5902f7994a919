/**
 * Framing and codec of the Iq WebSocket binding (wire format in ws.ts): size bounds, the session header, message
 * shapes, and the text decoding of `ws` frames.
 */
import type { RawData } from "ws";
import type { IqProcedure } from "./iqTypes.ts";

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

export function validId(x: unknown): x is IqWsId {
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
