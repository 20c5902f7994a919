/** MSRP header block decoding (RFC 4975 §9): the known headers, checked and typed; the others kept in order. */
import { parseMsrpUri } from "../../sdp/index.ts";
import { E2aeError, type E2aeErrorCode } from "./errors.ts";
import { CONTENT_TYPE_RE, fail, HEADER_RE, IDENT_RE, parseByteRange } from "./msrpGrammar.ts";
import type { ByteRange, MsrpHeader, MsrpStatusHeader } from "./msrpTypes.ts";

export interface DecodedHeaders {
  toPath?: string[];
  fromPath?: string[];
  messageId?: string;
  byteRange?: ByteRange;
  successReport?: "yes" | "no";
  failureReport?: "yes" | "no" | "partial";
  status?: MsrpStatusHeader;
  contentType?: string;
  other: MsrpHeader[];
  error?: E2aeError;
}

export function decodeHeaders(lines: readonly string[]): DecodedHeaders {
  const d: DecodedHeaders = { other: [] };
  const seen = new Set<string>();
  const bad = (code: E2aeErrorCode, msg: string): DecodedHeaders => ({ ...d, error: fail(code, msg) });
  for (const line of lines) {
    const m = HEADER_RE.exec(line);
    if (!m) return bad("E_MSRP_HEADER", `header line "${line.slice(0, 60)}" is not hname ":" SP hval`);
    const name = m[1] ?? "";
    const value = m[2] ?? "";
    const key = name.toLowerCase();
    const known = [
      "to-path",
      "from-path",
      "message-id",
      "byte-range",
      "success-report",
      "failure-report",
      "status",
      "content-type",
    ];
    if (known.includes(key)) {
      // RFC 4975 §9: each of these headers appears at most once
      if (seen.has(key)) return bad("E_MSRP_HEADER", `${name} appears twice`);
      seen.add(key);
    }
    switch (key) {
      case "to-path":
      case "from-path": {
        const uris = value.split(/ +/).filter((u) => u !== "");
        if (uris.length === 0) return bad("E_MSRP_PATH", `${name} is empty`);
        // RFC 4975 §9: To-Path / From-Path = MSRP-URI *(SP MSRP-URI)
        const badUri = uris.find((u) => !parseMsrpUri(u).value);
        if (badUri !== undefined) return bad("E_MSRP_PATH", `${name} URI "${badUri.slice(0, 60)}" is not an MSRP-URI`);
        if (key === "to-path") d.toPath = uris;
        else d.fromPath = uris;
        break;
      }
      case "message-id":
        // RFC 4975 §9: Message-ID = "Message-ID:" SP ident
        if (!IDENT_RE.test(value)) return bad("E_MSRP_HEADER", `Message-ID "${value.slice(0, 40)}" is not an ident`);
        d.messageId = value;
        break;
      case "byte-range": {
        const r = parseByteRange(value);
        if (r instanceof E2aeError) return { ...d, error: r };
        d.byteRange = r;
        break;
      }
      case "success-report":
        // RFC 4975 §9: Success-Report = "yes" / "no"
        if (value !== "yes" && value !== "no") return bad("E_MSRP_HEADER", `Success-Report "${value}" is not yes/no`);
        d.successReport = value;
        break;
      case "failure-report":
        // RFC 4975 §9: Failure-Report = "yes" / "no" / "partial"
        if (value !== "yes" && value !== "no" && value !== "partial")
          return bad("E_MSRP_HEADER", `Failure-Report "${value}" is not yes/no/partial`);
        d.failureReport = value;
        break;
      case "status": {
        // RFC 4975 §9: Status = namespace SP status-code [SP text-reason]; namespace = 3DIGIT
        const s = /^(\d{3}) (\d{3})(?: (.*))?$/.exec(value);
        if (!s) return bad("E_MSRP_HEADER", `Status "${value.slice(0, 40)}" is not namespace SP code`);
        d.status = { namespace: s[1] ?? "", code: Number(s[2]) };
        if (s[3] !== undefined && s[3] !== "") d.status.reason = s[3];
        break;
      }
      case "content-type":
        if (!CONTENT_TYPE_RE.test(value))
          return bad("E_MSRP_HEADER", `Content-Type "${value.slice(0, 60)}" is not type/subtype`);
        d.contentType = value;
        break;
      default:
        d.other.push({ name, value });
    }
  }
  return d;
}
