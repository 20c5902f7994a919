/**
 * Serialisation (RFC 3261 §7): start line, header rows in order, empty line, body bytes unchanged. Known header
 * names are written in their canonical (or, on request, compact §7.3.3) form; unknown names exactly as received.
 * Content-Length is always the body's byte length (RFC 3261 §20.14), written once.
 */
import { canonicalOfKey, compactHeaderName, headerKey } from "./headers.ts";
import type { SipHeader, SipMessage } from "./message.ts";

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
  let out = `${startLine(msg)}\r\n`;
  let clWritten = false;
  const nameOf = (n: string, key: string) => {
    if (opts.preserveNames) return n;
    const canonical = canonicalOfKey(key);
    if (canonical === undefined) return n;
    return opts.compact ? compactHeaderName(n) : canonical;
  };
  const rows = msg.headers;
  const keys = msg.headerKeys;
  for (let i = 0; i < rows.length; i++) {
    const h = rows[i] as SipHeader;
    const key = keys[i] ?? headerKey(h.name);
    if (key === "content-length") {
      if (clWritten) continue;
      clWritten = true;
      out += `${nameOf(h.name, key)}: ${bodyLength}\r\n`;
      continue;
    }
    out += `${nameOf(h.name, key)}: ${h.value}\r\n`;
  }
  if (!clWritten) out += `${opts.compact ? "l" : "Content-Length"}: ${bodyLength}\r\n`;
  return `${out}\r\n`;
}

export function serializeMessage(msg: SipMessage, opts: SerializeOptions = {}): Uint8Array {
  const head = encoder.encode(serializeHead(msg, msg.body.byteLength, opts));
  if (msg.body.byteLength === 0) return head;
  const out = new Uint8Array(head.byteLength + msg.body.byteLength);
  out.set(head, 0);
  out.set(msg.body, head.byteLength);
  return out;
}
