/**
 * Answers to messages that could not be parsed (RFC 3261 §8.2, §18.3, §21.4.1 400, §21.4.11 413, §21.5.7 505,
 * §21.5.14 513): built from the raw rows a failed parse could read, with a Warning (RFC 3261 §20.43, code 399)
 * naming the fault. A message is answerable only when it is a request other than ACK and its Via (parseable, to
 * route the response), From, To, Call-ID and CSeq rows are present.
 */
import type { PartialMessage, SipError } from "./errors.ts";
import { quote } from "./grammar.ts";
import { headerKey, parseVia } from "./headers.ts";
import { createResponse, generateTag, type SipHeader, type SipResponse } from "./message.ts";

/** Status to answer a parse failure with: 505 for a SIP version we do not speak, 400 otherwise. */
export function statusForParseError(err: SipError): number {
  // RFC 3261 §8.2.? / §21.5.7: 505 Version Not Supported
  if (err.code === "E_SIP_VERSION") return 505;
  return 400;
}

/** The rows needed to answer, when all are present and the top Via parses; undefined otherwise. */
export function answerableRows(partial: PartialMessage): SipHeader[] | undefined {
  // RFC 3261 §17.1.1.3 / §17.2.1: an ACK is never answered
  if (partial.kind !== "request" || partial.method === undefined || partial.method.toUpperCase() === "ACK") {
    return undefined;
  }
  const need = new Set(["via", "from", "to", "call-id", "cseq"]);
  for (const h of partial.headers) need.delete(headerKey(h.name));
  if (need.size > 0) return undefined;
  const firstVia = partial.headers.find((h) => headerKey(h.name) === "via");
  try {
    // RFC 3261 §18.2.2: the response is routed with the top Via
    if (!firstVia || parseVia(firstVia.value).length === 0) return undefined;
  } catch {
    return undefined;
  }
  return partial.headers;
}

/** RFC 3261 §20.43: warning-value = 399 SP warn-agent SP warn-text ("CODE: message"). */
export function warningValue(agent: string, err: SipError): string {
  const text = `${err.code}: ${err.message}`.replace(/[^\x20-\x7e]/g, "?").slice(0, 200);
  return `399 ${agent} ${quote(text)}`;
}

/**
 * Builds the error response for a request that failed to parse or was too large, or undefined when it cannot be
 * answered. `status` defaults to statusForParseError.
 */
export function errorResponseFor(
  partial: PartialMessage | undefined,
  err: SipError,
  agent: string,
  status?: number,
): SipResponse | undefined {
  if (!partial) return undefined;
  const rows = answerableRows(partial);
  if (!rows) return undefined;
  const code = status ?? statusForParseError(err);
  // RFC 3261 §8.2.6.2: a To tag is added to every response but 100
  const res = createResponse({ headers: rows }, code, undefined, { toTag: generateTag() });
  res.addHeader("Warning", warningValue(agent, err));
  return res;
}
