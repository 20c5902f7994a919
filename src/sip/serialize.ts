/**
 * Serialisation (RFC 3261 §7): start line, header rows in order, empty line, body bytes unchanged. Known header
 * names are written in their canonical (or, on request, compact §7.3.3) form; unknown names exactly as received.
 * Content-Length is always the body's byte length (RFC 3261 §20.14), written once.
 */
import { canonicalHeaderName, compactHeaderName, headerKey, isKnownHeader } from "./headers.ts";
import type { SipMessage } from "./message.ts";

export interface SerializeOptions {
  /** write compact header names where one exists (RFC 3261 §7.3.3); default false */
  compact?: boolean;
  /** keep every header name exactly as stored (no canonical spelling); default false */
  preserveNames?: boolean;
}

const encoder = new TextEncoder();

export function startLine(msg: SipMessage): string {
  return msg.kind === "request" ? `${msg.method} ${msg.uri} SIP/2.0` : `SIP/2.0 ${msg.status} ${msg.reason}`;
}

/** Header section text (start line, rows, blank line) with Content-Length fixed to `bodyLength`. */
export function serializeHead(msg: SipMessage, bodyLength: number, opts: SerializeOptions = {}): string {
  const lines: string[] = [startLine(msg)];
  let clWritten = false;
  const nameOf = (n: string) =>
    opts.preserveNames || !isKnownHeader(n) ? n : opts.compact ? compactHeaderName(n) : canonicalHeaderName(n);
  for (const h of msg.headers) {
    if (headerKey(h.name) === "content-length") {
      if (clWritten) continue;
      clWritten = true;
      lines.push(`${nameOf(h.name)}: ${bodyLength}`);
      continue;
    }
    lines.push(`${nameOf(h.name)}: ${h.value}`);
  }
  if (!clWritten) lines.push(`${opts.compact ? "l" : "Content-Length"}: ${bodyLength}`);
  return `${lines.join("\r\n")}\r\n\r\n`;
}

export function serializeMessage(msg: SipMessage, opts: SerializeOptions = {}): Uint8Array {
  const head = encoder.encode(serializeHead(msg, msg.body.byteLength, opts));
  if (msg.body.byteLength === 0) return head;
  const out = new Uint8Array(head.byteLength + msg.body.byteLength);
  out.set(head, 0);
  out.set(msg.body, head.byteLength);
  return out;
}
