/**
 * `a=dcmap` / `a=dcsa` codecs (RFC 8864 §5.1, §5.2) and the 3GPP stream-id classes (TS 24.186 §9.3.2.2.1,
 * TS 26.114 §6.2.10.1).
 */
import { type Parsed, type Problem, problem, result } from "./findings.ts";
import { isCanonicalUint, isToken, parseUint, show } from "./text.ts";

export interface DcMapExtOpt {
  name: string;
  /** The ext-opt value exactly as written (a token, or a quoted-string including its quotes). */
  value: string;
}

export interface DcMap {
  /** RFC 8864 §5.1.1: the SCTP stream identifier (0-65534). */
  streamId: number;
  /** Decoded UTF-8 label (RFC 8864 §5.1.1 quoted-visible-string with %-escapes). */
  label?: string;
  /** Decoded subprotocol, e.g. "http" for 3GPP bootstrap channels. */
  subprotocol?: string;
  /** RFC 8864 §5.1.1: `ordered` is optional and defaults to true when absent. */
  ordered?: boolean;
  maxRetr?: number;
  maxTime?: number;
  priority?: number;
  /** Unknown ext-opts, kept and ignored (RFC 8864 §5.1.1). */
  ext?: DcMapExtOpt[];
}

export interface DcSa {
  streamId: number;
  /** The embedded attribute name (att-field), e.g. "accept-types". */
  attribute: string;
  /** The embedded attribute value; undefined for a property attribute (no ":"). */
  value?: string;
}

// RFC 8832 §6.4: stream id 65535 is reserved, so usable ids are 0-65534.
export const MAX_STREAM_ID = 65534;
// RFC 8832 §5.1: the reliability parameter is 32-bit, the priority 16-bit.
const MAX_U32 = 0xffff_ffff;
const MAX_U16 = 0xffff;

/** TS 24.186 §9.3.2.2.1: bootstrap data channel stream ids (0/10 local, 100/110 remote). */
export const BOOTSTRAP_STREAM_IDS: readonly number[] = [0, 10, 100, 110];
/** TS 24.186 §9.3.2.2.1: the subprotocol of a bootstrap data channel. */
export const BOOTSTRAP_SUBPROTOCOL = "http";
/** TS 24.186 / TS 26.114 §6.2.10.1: application data channels use stream ids starting at 1000. */
export const APPLICATION_STREAM_ID_MIN = 1000;

export type StreamIdClass = "bootstrap-local" | "bootstrap-remote" | "application" | "reserved";

export function classifyStreamId(id: number): StreamIdClass {
  // TS 24.186 §9.3.2.2.1: 0 and 10 are local bootstrap, 100 and 110 remote bootstrap.
  if (id === 0 || id === 10) return "bootstrap-local";
  if (id === 100 || id === 110) return "bootstrap-remote";
  // TS 26.114 §6.2.10.1 / TS 24.186: application data channels start at 1000.
  if (id >= APPLICATION_STREAM_ID_MIN) return "application";
  return "reserved";
}

const encoder = new TextEncoder();

/**
 * RFC 8864 §5.1.1 quoted-visible-string content: every byte of the UTF-8 encoding outside %x20-21 / %x23-24 /
 * %x26-7E (i.e. control bytes, DQUOTE, "%", non-ASCII) is written as "%" 2HEXDIG.
 */
export function encodeDcString(s: string): string {
  let out = "";
  for (const b of encoder.encode(s)) {
    const visible = b >= 0x20 && b <= 0x7e && b !== 0x22 && b !== 0x25;
    out += visible ? String.fromCharCode(b) : `%${b.toString(16).toUpperCase().padStart(2, "0")}`;
  }
  return out;
}

/** Decodes the content of a quoted-visible-string (without the quotes). Undefined when not valid per the ABNF/UTF-8. */
export function decodeDcString(s: string): string | undefined {
  const bytes: number[] = [];
  for (let i = 0; i < s.length; i++) {
    const c = s.charCodeAt(i);
    if (c === 0x25) {
      // RFC 8864 §5.1.1: escaped-char = "%" 2HEXDIG
      const hex = s.slice(i + 1, i + 3);
      if (!/^[0-9A-Fa-f]{2}$/.test(hex)) return undefined;
      bytes.push(Number.parseInt(hex, 16));
      i += 2;
    } else if (c >= 0x20 && c <= 0x7e && c !== 0x22) {
      bytes.push(c);
    } else {
      return undefined;
    }
  }
  try {
    // RFC 8864 §5.1.1: label/subprotocol are UTF-8; invalid sequences are rejected (fatal decoder).
    return new TextDecoder("utf-8", { fatal: true, ignoreBOM: true }).decode(new Uint8Array(bytes));
  } catch {
    return undefined;
  }
}

interface RawOpt {
  name: string;
  value: string;
  quoted: boolean;
}

const QUOTED_PARAMS = new Set(["label", "subprotocol"]);

/** Splits `opt *(";" opt)`, honouring quotes; undefined on a grammar error. */
function splitOpts(text: string): RawOpt[] | string {
  const opts: RawOpt[] = [];
  let i = 0;
  while (i < text.length) {
    const eq = text.indexOf("=", i);
    if (eq < 0) return `parameter ${show(text.slice(i), 30)} has no "="`;
    const name = text.slice(i, eq);
    if (!isToken(name)) return `parameter name ${show(name, 30)} is not a token`;
    i = eq + 1;
    let value: string;
    let quoted = false;
    if (text[i] === '"') {
      quoted = true;
      let j = i + 1;
      const isKnown = QUOTED_PARAMS.has(name.toLowerCase());
      while (j < text.length && text[j] !== '"') {
        // ext-opt values may be RFC 3261 quoted-strings with backslash escapes; label/subprotocol may not.
        if (!isKnown && text[j] === "\\") j++;
        j++;
      }
      if (j >= text.length) return `unterminated quoted value for ${name}`;
      value = text.slice(i, j + 1);
      i = j + 1;
    } else {
      const semi = text.indexOf(";", i);
      const end = semi < 0 ? text.length : semi;
      value = text.slice(i, end);
      if (value === "" || !isToken(value)) return `value ${show(value, 30)} of ${name} is not a token`;
      i = end;
    }
    opts.push({ name, value, quoted });
    if (i < text.length) {
      if (text[i] !== ";") return `expected ";" after ${name}`;
      i++;
      if (i === text.length) return 'trailing ";"';
    }
  }
  return opts;
}

/** Parses the value of `a=dcmap:` (RFC 8864 §5.1.1). `value` is returned whenever the stream id could be read. */
export function parseDcMap(text: string): Parsed<DcMap> {
  // RFC 8864 §5.1.1: dcmap-value = dcmap-stream-id [SP dcmap-opt *(";" dcmap-opt)]; dcmap-stream-id = 1*5DIGIT
  const m = /^(\d{1,5})(?: (.+))?$/.exec(text);
  if (!m)
    return result<DcMap>(undefined, [
      problem("E_DCMAP_SYNTAX", `dcmap ${show(text)} does not start with a 1-5 digit stream id`),
    ]);
  const streamId = Number(m[1]);
  const problems: Problem[] = [];
  // RFC 8832 §6.4: stream id 65535 is reserved.
  if (streamId > MAX_STREAM_ID)
    problems.push(problem("E_DCMAP_ID_RANGE", `dcmap stream id ${streamId} is above ${MAX_STREAM_ID}`));
  const map: DcMap = { streamId };
  const optsText = m[2];
  if (optsText === undefined) return result(map, problems);
  const opts = splitOpts(optsText);
  if (typeof opts === "string") {
    problems.push(problem("E_DCMAP_SYNTAX", `dcmap ${streamId}: ${opts}`));
    return result(map, problems);
  }
  const seen = new Set<string>();
  const ext: DcMapExtOpt[] = [];
  for (const o of opts) {
    const name = o.name.toLowerCase();
    if (seen.has(name)) {
      problems.push(problem("E_DCMAP_SYNTAX", `dcmap ${streamId}: parameter ${name} repeated`));
      continue;
    }
    seen.add(name);
    switch (name) {
      case "label":
      case "subprotocol": {
        // RFC 8864 §5.1.1: label-opt / subprotocol-opt = name "=" quoted-visible-string
        const decoded = o.quoted ? decodeDcString(o.value.slice(1, -1)) : undefined;
        if (decoded === undefined) {
          problems.push(
            problem(
              "E_DCMAP_SYNTAX",
              `dcmap ${streamId}: ${name} ${show(o.value, 40)} is not a valid quoted-visible-string`,
            ),
          );
        } else if (name === "label") {
          map.label = decoded;
        } else {
          map.subprotocol = decoded;
        }
        break;
      }
      case "ordered": {
        // RFC 8864 §5.1.1: ordering-value = "true" / "false"
        const v = o.value.toLowerCase();
        if (!o.quoted && (v === "true" || v === "false")) map.ordered = v === "true";
        else
          problems.push(problem("E_DCMAP_SYNTAX", `dcmap ${streamId}: ordered=${show(o.value, 20)} is not true/false`));
        break;
      }
      case "max-retr":
      case "max-time":
      case "priority": {
        // RFC 8864 §5.1.1: maxretr-value / maxtime-value / priority-value = "0" / integer
        const n = !o.quoted && isCanonicalUint(o.value) ? parseUint(o.value) : undefined;
        if (n === undefined) {
          problems.push(problem("E_DCMAP_SYNTAX", `dcmap ${streamId}: ${name}=${show(o.value, 20)} is not an integer`));
          break;
        }
        const max = name === "priority" ? MAX_U16 : MAX_U32;
        // RFC 8832 §5.1: reliability parameter 32 bits, priority 16 bits.
        if (n > max) problems.push(problem("E_DCMAP_VALUE_RANGE", `dcmap ${streamId}: ${name}=${n} exceeds ${max}`));
        if (name === "max-retr") map.maxRetr = n;
        else if (name === "max-time") map.maxTime = n;
        else map.priority = n;
        break;
      }
      default:
        // RFC 8864 §5.1.1: ext-opt = ext-opt-name "=" ext-opt-value; unknown options are kept and ignored.
        ext.push({ name: o.name, value: o.value });
    }
  }
  // RFC 8864 §5.1.1: only one of maxretr-opt or maxtime-opt may be present; both MUST NOT be present.
  if (map.maxRetr !== undefined && map.maxTime !== undefined) {
    problems.push(problem("E_DCMAP_RETR_AND_TIME", `dcmap ${streamId} has both max-retr and max-time`));
  }
  if (ext.length > 0) map.ext = ext;
  return result(map, problems);
}

/** Formats the value of `a=dcmap:` (label, subprotocol, ordered, max-retr, max-time, priority, ext-opts). */
export function formatDcMap(map: DcMap): string {
  const opts: string[] = [];
  if (map.label !== undefined) opts.push(`label="${encodeDcString(map.label)}"`);
  if (map.subprotocol !== undefined) opts.push(`subprotocol="${encodeDcString(map.subprotocol)}"`);
  if (map.ordered !== undefined) opts.push(`ordered=${map.ordered}`);
  if (map.maxRetr !== undefined) opts.push(`max-retr=${map.maxRetr}`);
  if (map.maxTime !== undefined) opts.push(`max-time=${map.maxTime}`);
  if (map.priority !== undefined) opts.push(`priority=${map.priority}`);
  for (const x of map.ext ?? []) opts.push(`${x.name}=${x.value}`);
  return opts.length > 0 ? `${map.streamId} ${opts.join(";")}` : String(map.streamId);
}

/** Compares the negotiated parameters of two dcmaps (ext-opts compared verbatim). */
export function sameDcMapParams(a: DcMap, b: DcMap): boolean {
  return formatDcMap(a) === formatDcMap(b);
}

/** Parses the value of `a=dcsa:` (RFC 8864 §5.2: dcsa-stream-id SP attribute). */
export function parseDcSa(text: string): Parsed<DcSa> {
  const m = /^(\d{1,5}) ([^:\s]+)(?::(.*))?$/.exec(text);
  if (!m || !isToken(m[2] ?? "")) {
    return result<DcSa>(undefined, [
      problem("E_DCSA_SYNTAX", `dcsa ${show(text)} is not "<stream-id> SP <attribute>"`),
    ]);
  }
  const streamId = Number(m[1]);
  const problems: Problem[] = [];
  if (streamId > MAX_STREAM_ID)
    problems.push(problem("E_DCMAP_ID_RANGE", `dcsa stream id ${streamId} is above ${MAX_STREAM_ID}`, "RFC 8864 §5.2"));
  const sa: DcSa = { streamId, attribute: m[2] ?? "" };
  if (m[3] !== undefined) sa.value = m[3];
  return result(sa, problems);
}

export function formatDcSa(sa: DcSa): string {
  return `${sa.streamId} ${sa.attribute}${sa.value === undefined ? "" : `:${sa.value}`}`;
}
