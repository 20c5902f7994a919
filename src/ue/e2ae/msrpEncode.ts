/** MSRP encoder (RFC 4975 §7.1, §9): one frame to bytes, refusing a frame that could not be sent as is. */
import { parseMsrpUri } from "../../sdp/index.ts";
import { E2aeError } from "./errors.ts";
import {
  CONTENT_TYPE_RE,
  CRLF,
  FLAGS,
  fail,
  formatByteRange,
  IDENT_RE,
  METHOD_RE,
  parseByteRange,
} from "./msrpGrammar.ts";
import type { MsrpFrame } from "./msrpTypes.ts";

function checkValue(name: string, value: string): void {
  // RFC 4975 §9: header values are single lines (hval = utf8text, no CR/LF)
  if (/[\r\n]/.test(value)) throw fail("E_MSRP_HEADER", `${name} value contains CR or LF`);
}

function checkPath(name: string, uris: readonly string[]): void {
  // RFC 4975 §9: To-Path/From-Path carry at least one MSRP-URI
  if (uris.length === 0) throw fail("E_MSRP_MISSING_HEADER", `${name} is empty`);
  for (const u of uris) {
    if (!parseMsrpUri(u).value) throw fail("E_MSRP_PATH", `${name} URI "${u.slice(0, 60)}" is not an MSRP-URI`);
  }
}

/** True when `body` + CRLF would contain the end-line of `tid` before the real one (RFC 4975 §7.1). */
export function bodyContainsEndLine(body: Uint8Array, tid: string): boolean {
  const marker = Buffer.from(`\r\n-------${tid}`, "latin1");
  const hay = Buffer.concat([body, CRLF]);
  let from = 0;
  for (;;) {
    const i = hay.indexOf(marker, from);
    if (i < 0 || i >= body.length) return false;
    const flag = hay[i + marker.length];
    if (
      flag !== undefined &&
      FLAGS.has(flag) &&
      hay[i + marker.length + 1] === 0x0d &&
      hay[i + marker.length + 2] === 0x0a
    )
      return true;
    from = i + 1;
  }
}

/**
 * Encodes one frame. Throws E2aeError on a frame that cannot be sent as is (bad ident, path, header value, or a
 * body that contains its own end-line): a programming error of the caller, never a property of received input.
 */
export function encodeMsrp(f: MsrpFrame): Buffer {
  // RFC 4975 §9: transact-id = ident
  if (!IDENT_RE.test(f.transactionId))
    throw fail("E_MSRP_START_LINE", `transact-id "${f.transactionId}" is not an ident`);
  const lines: string[] = [];
  if (f.kind === "request") {
    if (!METHOD_RE.test(f.method)) throw fail("E_MSRP_START_LINE", `method "${f.method}" is not 1*UPALPHA`);
    // RFC 4975 §9: req-start = pMSRP SP transact-id SP method CRLF
    lines.push(`MSRP ${f.transactionId} ${f.method}`);
  } else {
    if (!Number.isInteger(f.status) || f.status < 100 || f.status > 999)
      throw fail("E_MSRP_START_LINE", `status ${f.status} is not 3DIGIT`);
    if (f.comment !== undefined) checkValue("comment", f.comment);
    // RFC 4975 §9: resp-start = pMSRP SP transact-id SP status-code [SP comment] CRLF
    lines.push(`MSRP ${f.transactionId} ${f.status}${f.comment ? ` ${f.comment}` : ""}`);
  }
  checkPath("To-Path", f.toPath);
  checkPath("From-Path", f.fromPath);
  // RFC 4975 §7.1: To-Path and From-Path come first, in this order
  lines.push(`To-Path: ${f.toPath.join(" ")}`, `From-Path: ${f.fromPath.join(" ")}`);
  if (f.kind === "request") {
    if (f.messageId !== undefined) {
      if (!IDENT_RE.test(f.messageId)) throw fail("E_MSRP_HEADER", `Message-ID "${f.messageId}" is not an ident`);
      lines.push(`Message-ID: ${f.messageId}`);
    }
    if (f.successReport !== undefined) lines.push(`Success-Report: ${f.successReport}`);
    if (f.failureReport !== undefined) lines.push(`Failure-Report: ${f.failureReport}`);
    if (f.byteRange !== undefined) {
      const r = parseByteRange(formatByteRange(f.byteRange));
      if (r instanceof E2aeError) throw r;
      lines.push(`Byte-Range: ${formatByteRange(f.byteRange)}`);
    }
    if (f.status !== undefined) {
      const s = f.status;
      if (!/^\d{3}$/.test(s.namespace) || !Number.isInteger(s.code) || s.code < 100 || s.code > 999)
        throw fail("E_MSRP_HEADER", "Status is not namespace SP 3DIGIT");
      if (s.reason !== undefined) checkValue("Status", s.reason);
      lines.push(`Status: ${s.namespace} ${s.code}${s.reason ? ` ${s.reason}` : ""}`);
    }
  }
  for (const h of f.headers) {
    if (!/^[A-Za-z][A-Za-z0-9\-.!%*_+`'~]*$/.test(h.name)) throw fail("E_MSRP_HEADER", `bad header name "${h.name}"`);
    checkValue(h.name, h.value);
    lines.push(`${h.name}: ${h.value}`);
  }
  const end = Buffer.from(`-------${f.transactionId}${f.continuation}\r\n`, "latin1");
  if (f.kind === "response" || f.contentType === undefined) {
    if (f.kind === "request" && f.body !== undefined && f.body.length > 0)
      throw fail("E_MSRP_MISSING_HEADER", "a body needs a Content-Type (RFC 4975 §9 content-stuff)");
    // RFC 4975 §9: msrp-response = resp-start headers end-line (no body)
    return Buffer.concat([Buffer.from(`${lines.join("\r\n")}\r\n`, "utf8"), end]);
  }
  if (!CONTENT_TYPE_RE.test(f.contentType))
    throw fail("E_MSRP_HEADER", `Content-Type "${f.contentType.slice(0, 60)}" is not type/subtype`);
  lines.push(`Content-Type: ${f.contentType}`);
  const body = f.body ?? new Uint8Array(0);
  // RFC 4975 §7.1: the sender MUST ensure that the end-line does not appear in the body
  if (bodyContainsEndLine(body, f.transactionId))
    throw fail("E_MSRP_END_LINE", "the body contains the end-line of its transaction");
  // RFC 4975 §9: content-stuff = *(Other-Mime-header CRLF) Content-Type 2CRLF data CRLF
  return Buffer.concat([Buffer.from(`${lines.join("\r\n")}\r\n\r\n`, "utf8"), body, CRLF, end]);
}
