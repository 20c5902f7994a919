/** MSRP frame types (RFC 4975 §7.1, §9) and the status texts of the base protocol (§10). */

/** RFC 4975 §9: continuation-flag = "+" / "$" / "#" (more chunks, last chunk, aborted). */
export type MsrpContinuation = "$" | "+" | "#";

/** RFC 4975 §9: Byte-Range = range-start "-" range-end "/" total; range-end and total may be "*". */
export interface ByteRange {
  start: number;
  end: number | "*";
  total: number | "*";
}

/** RFC 4975 §9: Status = namespace SP status-code [SP text-reason] (REPORT requests). */
export interface MsrpStatusHeader {
  namespace: string;
  code: number;
  reason?: string;
}

export interface MsrpHeader {
  name: string;
  value: string;
}

export interface MsrpRequest {
  kind: "request";
  transactionId: string;
  /** SEND, REPORT or another 1*UPALPHA method (RFC 4975 §9 other-method). */
  method: string;
  /** URIs exactly as written (RFC 4975 §9: To-Path = "To-Path:" SP MSRP-URI *(SP MSRP-URI)). */
  toPath: string[];
  fromPath: string[];
  messageId?: string;
  byteRange?: ByteRange;
  successReport?: "yes" | "no";
  failureReport?: "yes" | "no" | "partial";
  status?: MsrpStatusHeader;
  /** Other headers, in order (MIME headers such as Content-ID included). */
  headers: MsrpHeader[];
  /** Present iff the request carries content-stuff (RFC 4975 §9); then `body` is present too. */
  contentType?: string;
  body?: Uint8Array;
  continuation: MsrpContinuation;
}

export interface MsrpResponse {
  kind: "response";
  transactionId: string;
  /** RFC 4975 §9: status-code = 3DIGIT. */
  status: number;
  comment?: string;
  toPath: string[];
  fromPath: string[];
  headers: MsrpHeader[];
  continuation: MsrpContinuation;
}

export type MsrpFrame = MsrpRequest | MsrpResponse;

/** RFC 4975 §10: the status codes of the base protocol and their usual comments. */
export const MSRP_STATUS_TEXT: Readonly<Record<number, string>> = {
  200: "OK",
  400: "Bad Request",
  403: "Forbidden",
  408: "Request Timeout",
  413: "Message Too Large",
  415: "Unsupported Media Type",
  423: "Parameter Out Of Bounds",
  481: "Session Does Not Exist",
  501: "Method Not Implemented",
  506: "Session Already Bound",
};
