/**
 * Line-level SDP parser and writer. It never throws, keeps every line (unknown ones too) in order with its exact
 * text, offsets and line ending, and reports structural problems as findings. Attribute semantics live in
 * `model.ts`; this file only knows the RFC 8866 line grammar.
 *
 * Input is a JS string. For byte-exact work (P-CSCF) pass the body decoded as latin1 (one char per byte).
 * Digit-only values (o= session id, tls-id, confid, …) are kept as strings: nothing here turns text into numbers
 * except ports, which are range-checked.
 */
import { type Finding, type FindingCode, makeFinding } from "./findings.ts";
import { hasControlChar, isToken, show } from "./text.ts";

/** Default maximum body size (bytes, i.e. latin1 characters). Larger bodies are refused unparsed. */
export const DEFAULT_MAX_SDP_BYTES = 65536;

export interface ParseOptions {
  /** Maximum accepted body size in characters (default 65536). */
  maxBytes?: number;
}

export interface SdpLine {
  /** 0-based index in `lines`. */
  index: number;
  /** 1-based line number in the text. */
  line: number;
  /** Character offset of the first character of the line. */
  start: number;
  /** Character offset just after the line text (before the line ending). */
  end: number;
  /** The line ending that followed the line: "\r\n", "\n" or "" (last line without ending). */
  eol: string;
  /** The line text without its line ending. */
  text: string;
  /** The type letter, or "" when the line is not `<letter>=…`. */
  type: string;
  /** Everything after "=" (or the whole text when malformed). */
  value: string;
}

export interface SdpAttribute {
  /** Attribute name (att-field) as written. */
  name: string;
  /** Attribute value after the first ":"; undefined for a property attribute. */
  value: string | undefined;
  /** 1-based line number. */
  line: number;
  /** Index in `ParsedSdp.lines`. */
  index: number;
}

export interface SdpConnectionData {
  netType: string;
  addrType: string;
  /** Address exactly as written (may carry /ttl/number for multicast). */
  address: string;
  line: number;
}

export interface SdpOrigin {
  username: string;
  /** Exact digits: may exceed 2^53 (Chromium uses 19-digit ids), so never a number. */
  sessionId: string;
  sessionVersion: string;
  netType: string;
  addrType: string;
  address: string;
  line: number;
}

export interface SdpMLine {
  media: string;
  port: number;
  /** `<port>/<number of ports>` when present. */
  numPorts?: number;
  proto: string;
  fmts: string[];
  /** The fmt list exactly as written (after the proto). */
  fmt: string;
}

export interface SdpSection {
  /** -1 for the session section, otherwise the 0-based m-line index. */
  index: number;
  /** Lines of the section (for a media section, the first is the m= line). */
  lines: SdpLine[];
  attributes: SdpAttribute[];
  connection?: SdpConnectionData;
  bandwidths: Array<{ type: string; value: string; line: number }>;
  /** Character range of the section in the text, [start, end), line endings included. */
  start: number;
  end: number;
}

export interface SdpMediaSection extends SdpSection {
  /** undefined when the m= line is malformed (E_SDP_MLINE). */
  mline?: SdpMLine;
  /** 1-based line number of the m= line. */
  mlineNumber: number;
}

export interface SdpSessionSection extends SdpSection {
  version?: string;
  origin?: SdpOrigin;
  name?: string;
}

export interface ParsedSdp {
  text: string;
  lines: SdpLine[];
  session: SdpSessionSection;
  media: SdpMediaSection[];
  /** Structural findings (syntax, order, m=/c=/o= lines, size). */
  findings: Finding[];
  /** Line-ending style of the body. */
  eol: "crlf" | "lf" | "mixed" | "none";
  /** True when the body was refused (too large): nothing was parsed. */
  refused: boolean;
}

// RFC 8866 §5: session lines v o s i u e p c b (t r)* z k a; media lines m i c b k a.
const SESSION_ORDER = "vosiuepcbtrzka";
const MEDIA_ORDER = "micbka";
const MAX_SYNTAX_FINDINGS = 20;

/** Splits text into lines: "\n" ends a line, a "\r" right before it belongs to the line ending. */
export function splitLines(text: string): Array<{ start: number; end: number; eol: string }> {
  const out: Array<{ start: number; end: number; eol: string }> = [];
  let pos = 0;
  while (pos < text.length) {
    const nl = text.indexOf("\n", pos);
    if (nl < 0) {
      out.push({ start: pos, end: text.length, eol: "" });
      break;
    }
    const crlf = nl > pos && text.charCodeAt(nl - 1) === 13;
    out.push({ start: pos, end: crlf ? nl - 1 : nl, eol: crlf ? "\r\n" : "\n" });
    pos = nl + 1;
  }
  return out;
}

function emptySession(): SdpSessionSection {
  return { index: -1, lines: [], attributes: [], bandwidths: [], start: 0, end: 0 };
}

/** Parses an SDP body. Never throws. */
export function parseSdp(text: string, opts: ParseOptions = {}): ParsedSdp {
  const findings: Finding[] = [];
  const add = (code: FindingCode, message: string, line?: number, mline?: number): void => {
    findings.push(makeFinding(code, message, { line, mline }));
  };
  const src = typeof text === "string" ? text : "";
  const maxBytes = opts.maxBytes ?? DEFAULT_MAX_SDP_BYTES;
  const base: ParsedSdp = {
    text: src,
    lines: [],
    session: emptySession(),
    media: [],
    findings,
    eol: "none",
    refused: false,
  };
  // imsdc limit: refuse oversized bodies before any per-line work (bounded time on hostile input).
  if (src.length > maxBytes) {
    add("E_SDP_TOO_LARGE", `body is ${src.length} bytes; the limit is ${maxBytes}`);
    return { ...base, refused: true };
  }
  // RFC 8866 §5: an SDP description consists of at least v=, o=, s=, t= lines.
  if (src.trim() === "") {
    add("E_SDP_EMPTY", "the SDP body is empty");
    return base;
  }

  const raw = splitLines(src);
  const lines: SdpLine[] = [];
  const session = emptySession() as SdpSessionSection;
  const media: SdpMediaSection[] = [];
  let current: SdpSection = session;
  let syntaxCount = 0;
  let crlf = 0;
  let lf = 0;
  let lastOrder = -1;
  let binaryReported = false;
  const seenSessionTypes = new Map<string, number>();

  raw.forEach((r, index) => {
    const lineText = src.slice(r.start, r.end);
    const lineNo = index + 1;
    if (r.eol === "\r\n") crlf++;
    else if (r.eol === "\n") lf++;
    const eq = lineText.indexOf("=");
    const okShape = eq === 1 && /^[a-z]$/.test(lineText[0] ?? "");
    const type = okShape ? (lineText[0] ?? "") : "";
    const value = okShape ? lineText.slice(2) : lineText;
    const line: SdpLine = { index, line: lineNo, start: r.start, end: r.end, eol: r.eol, text: lineText, type, value };
    lines.push(line);

    // RFC 8866 §5: text fields must not contain NUL; other control characters (except TAB) are not SDP text.
    if (!binaryReported && hasControlChar(lineText)) {
      binaryReported = true;
      add("E_SDP_BINARY", `line ${lineNo} holds control characters`, lineNo);
    }

    if (lineText === "") {
      // RFC 8866 §5: no blank lines; tolerated (common trailing CRLF CRLF) but reported.
      add("W_SDP_BLANK_LINE", "blank line ignored", lineNo, current.index >= 0 ? current.index : undefined);
      current.lines.push(line);
      return;
    }
    if (!okShape) {
      // RFC 8866 §5: <type>=<value>, type is exactly one case-significant character, no whitespace around "=".
      syntaxCount++;
      if (syntaxCount <= MAX_SYNTAX_FINDINGS)
        add(
          "E_SDP_SYNTAX",
          `line ${lineNo} is not <type>=<value>: ${show(lineText, 40)}`,
          lineNo,
          current.index >= 0 ? current.index : undefined,
        );
      current.lines.push(line);
      return;
    }

    if (type === "m") {
      const sec: SdpMediaSection = {
        index: media.length,
        lines: [line],
        attributes: [],
        bandwidths: [],
        start: r.start,
        end: r.end + r.eol.length,
        mlineNumber: lineNo,
      };
      const ml = parseMLine(value);
      if (ml) sec.mline = ml;
      else add("E_SDP_MLINE", `m= line ${show(value, 60)} is malformed`, lineNo, sec.index);
      media.push(sec);
      current = sec;
      lastOrder = 0;
      return;
    }

    current.lines.push(line);
    const inMedia = current.index >= 0;
    const order = (inMedia ? MEDIA_ORDER : SESSION_ORDER).indexOf(type);
    if (order < 0) {
      // RFC 8866 §5: unknown type letters are ignored (or the description rejected); we keep and report them.
      add(
        "W_SDP_UNKNOWN_LINE",
        `unknown line type "${type}=" ${inMedia ? "in a media section" : "at session level"}`,
        lineNo,
        inMedia ? current.index : undefined,
      );
      return;
    }
    // RFC 8866 §5: t= may be followed by r= and another t= (time descriptions repeat).
    const timeRepeat =
      !inMedia &&
      type === "t" &&
      (lastOrder === SESSION_ORDER.indexOf("r") || lastOrder === SESSION_ORDER.indexOf("t"));
    if (order < lastOrder && !timeRepeat) {
      add("W_SDP_LINE_ORDER", `"${type}=" line after a later line type`, lineNo, inMedia ? current.index : undefined);
    }
    lastOrder = Math.max(lastOrder, order);

    if (!inMedia && "vosct".includes(type)) {
      const prev = seenSessionTypes.get(type);
      // RFC 8866 §5: v=, o=, s=, c= appear once at session level.
      if (prev !== undefined && type !== "t")
        add("E_SDP_STRUCTURE", `second "${type}=" line at session level (first on line ${prev})`, lineNo);
      else seenSessionTypes.set(type, lineNo);
    }

    switch (type) {
      case "v":
        if (!inMedia) session.version = value;
        break;
      case "o":
        if (!inMedia && session.origin === undefined) {
          const o = parseOrigin(value, lineNo);
          if (o) session.origin = o;
          else add("E_SDP_ORIGIN", `o= line ${show(value, 60)} is malformed`, lineNo);
        }
        break;
      case "s":
        if (!inMedia) session.name = value;
        break;
      case "c": {
        const c = parseConnectionData(value, lineNo);
        if (!c)
          add(
            "E_SDP_CONNECTION",
            `c= line ${show(value, 60)} is malformed`,
            lineNo,
            inMedia ? current.index : undefined,
          );
        else if (current.connection === undefined) current.connection = c;
        break;
      }
      case "b": {
        const m = /^([A-Za-z0-9-]+):(\d+)$/.exec(value);
        if (m) current.bandwidths.push({ type: m[1] ?? "", value: m[2] ?? "", line: lineNo });
        break;
      }
      case "a": {
        // RFC 8866 §5.13: a=<attribute-name>[:<attribute-value>]
        const colon = value.indexOf(":");
        const name = colon < 0 ? value : value.slice(0, colon);
        const attrValue = colon < 0 ? undefined : value.slice(colon + 1);
        // RFC 8866 §5.13: att-field = token
        if (!isToken(name))
          add(
            "E_SDP_SYNTAX",
            `attribute name ${show(name, 30)} is not a token`,
            lineNo,
            inMedia ? current.index : undefined,
          );
        current.attributes.push({ name, value: attrValue, line: lineNo, index });
        break;
      }
      default:
        break;
    }
  });

  // Section extents (media sections end where the next begins).
  for (const [i, sec] of media.entries()) {
    const next = media[i + 1];
    sec.end = next ? next.start : src.length;
  }
  session.end = media[0] ? media[0].start : src.length;

  if (syntaxCount > MAX_SYNTAX_FINDINGS) {
    add("E_SDP_SYNTAX", `${syntaxCount - MAX_SYNTAX_FINDINGS} more malformed lines not listed`);
  }
  // RFC 8866 §5.1: the first line is v=0.
  const first = lines.find((l) => l.text !== "");
  if (first?.type !== "v" || first.value !== "0") {
    add(
      "E_SDP_VERSION",
      first?.type === "v" ? `version ${show(first.value)} is not 0` : "the first line is not v=0",
      first?.line,
    );
  }
  // RFC 8866 §5.2: o= is mandatory.
  if (!seenSessionTypes.has("o")) add("E_SDP_ORIGIN", "no o= line at session level");
  // RFC 8866 §5.3, §5.9: s= and t= are mandatory.
  if (!seenSessionTypes.has("s")) add("E_SDP_STRUCTURE", "no s= line at session level");
  if (!seenSessionTypes.has("t")) add("E_SDP_STRUCTURE", "no t= line at session level");
  // RFC 8866 §5.7: every active media needs connection data at session or media level.
  if (session.connection === undefined) {
    for (const m of media) {
      if (m.mline && m.mline.port !== 0 && m.connection === undefined) {
        add(
          "E_SDP_CONNECTION",
          `m-line ${m.index} has no c= line and there is no session-level c=`,
          m.mlineNumber,
          m.index,
        );
      }
    }
  }
  // RFC 8866 §5: lines end with CRLF; parsers should accept LF; a mix is suspicious (munged body).
  const eol: ParsedSdp["eol"] = crlf > 0 && lf > 0 ? "mixed" : crlf > 0 ? "crlf" : lf > 0 ? "lf" : "none";
  if (eol === "mixed") add("W_SDP_MIXED_EOL", `${crlf} CRLF and ${lf} LF line endings mixed`);

  return { text: src, lines, session, media, findings, eol, refused: false };
}

/** RFC 8866 §5.14: m=<media> <port>[/<number of ports>] <proto> <fmt> ... */
export function parseMLine(value: string): SdpMLine | undefined {
  const m = /^([A-Za-z0-9!#$%&'*+\-.^_`{|}~]+) (\d{1,5})(?:\/(\d{1,5}))? ([A-Za-z0-9/_.+-]+) (\S+(?: \S+)*)$/.exec(
    value,
  );
  if (!m) return undefined;
  const port = Number(m[2]);
  if (port > 65535) return undefined;
  const fmt = m[5] ?? "";
  const ml: SdpMLine = { media: m[1] ?? "", port, proto: m[4] ?? "", fmts: fmt.split(" "), fmt };
  if (m[3] !== undefined) ml.numPorts = Number(m[3]);
  return ml;
}

/** RFC 8866 §5.2: o=<username> <sess-id> <sess-version> <nettype> <addrtype> <unicast-address> */
export function parseOrigin(value: string, line = 0): SdpOrigin | undefined {
  const m = /^(\S+) (\d+) (\d+) (\S+) (\S+) (\S+)$/.exec(value);
  if (!m) return undefined;
  return {
    username: m[1] ?? "",
    sessionId: m[2] ?? "",
    sessionVersion: m[3] ?? "",
    netType: m[4] ?? "",
    addrType: m[5] ?? "",
    address: m[6] ?? "",
    line,
  };
}

/** RFC 8866 §5.7: c=<nettype> <addrtype> <connection-address> */
export function parseConnectionData(value: string, line = 0): SdpConnectionData | undefined {
  const m = /^(\S+) (\S+) (\S+)$/.exec(value);
  if (!m) return undefined;
  const netType = m[1] ?? "";
  const addrType = m[2] ?? "";
  const address = m[3] ?? "";
  if (netType === "IN") {
    // RFC 8866 §5.7: for IN, addrtype is IP4 or IP6 and the address must fit it.
    if (addrType === "IP4" && !/^[0-9.]+(?:\/\d+){0,2}$|^[A-Za-z0-9.-]+$/.test(address)) return undefined;
    if (addrType === "IP6" && !/^[0-9A-Fa-f:.]+(?:\/\d+)?$|^[A-Za-z0-9.-]+$/.test(address)) return undefined;
    if (addrType !== "IP4" && addrType !== "IP6") return undefined;
  }
  return { netType, addrType, address, line };
}

/** Writes parsed lines back. With no options the result is the exact input text. */
export function writeSdp(sdp: ParsedSdp, opts: { eol?: "\r\n" | "\n" } = {}): string {
  if (sdp.refused || sdp.lines.length === 0) return sdp.text;
  const eol = opts.eol;
  return sdp.lines.map((l) => l.text + (eol === undefined || l.eol === "" ? l.eol : eol)).join("");
}

/** Joins lines with CRLF (RFC 8866 §5), ending with a CRLF. */
export function formatSdpLines(lines: readonly string[], eol: "\r\n" | "\n" = "\r\n"): string {
  return lines.map((l) => l + eol).join("");
}
