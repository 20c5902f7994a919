/**
 * Grammar-aware SIP mutations (RFC 3261 §7, §20, §25): a message is a start line, header rows and a body; mutations
 * drop / duplicate / reorder headers, rename them (compact forms, case), replace values with boundary values chosen
 * for that header, append parameters, fold lines, change the start line (method, URI, version, status), lie about
 * Content-Length, mutate the SDP body with the SDP mutator, change line endings, truncate, concatenate, flip bytes,
 * grow tokens. Plain data in, latin1 string out (one char per byte).
 */
import fc from "fast-check";
import { applySdpOps, replaceNumber, type SdpOp, sdpOpsArb } from "./sdpMutate.ts";
import {
  INJECT,
  LONG_CHARS,
  LONG_LENGTHS,
  NUMBERS,
  pick,
  SIP_HEADER_NAMES,
  SIP_HEADER_VALUES,
  SIP_METHODS,
  SIP_STATUS,
  SIP_URIS,
  SIP_VERSIONS,
  STRINGS,
} from "./values.ts";

export type SipOp =
  | { k: "dropHeader"; i: number }
  | { k: "dupHeader"; i: number; j: number }
  | { k: "swapHeaders"; i: number; j: number }
  | { k: "rename"; i: number; v: number }
  | { k: "nameCase"; i: number; mode: "upper" | "lower" }
  | { k: "value"; i: number; v: number; generic: boolean }
  | { k: "addHeader"; j: number; name: number; v: number }
  | { k: "param"; i: number; v: number; n: number }
  | { k: "inject"; i: number; pos: number; v: number }
  | { k: "number"; i: number; n: number; v: number }
  | { k: "long"; i: number; pos: number; len: number; ch: number }
  | { k: "fold"; i: number; pos: number }
  | { k: "colon"; i: number; mode: "space-before" | "none" | "double" | "tab" }
  | { k: "nestedQuotes"; i: number; depth: number }
  | { k: "method"; v: number }
  | { k: "uri"; v: number }
  | { k: "version"; v: number }
  | { k: "status"; v: number }
  | { k: "reason"; v: number }
  | { k: "startLine"; mode: "extra-space" | "tab" | "no-version" | "lws-uri" | "leading-space" }
  | { k: "clDelta"; d: number }
  | { k: "clValue"; v: number }
  | { k: "clDrop" }
  | { k: "clDup"; v: number }
  | { k: "body"; ops: SdpOp[] }
  | { k: "bodyReplace"; other: number }
  | { k: "bodyDrop" }
  | { k: "eol"; mode: "lf" | "cr" | "mixed" | "no-blank" | "leading-crlf" | "trailing-garbage" }
  | { k: "truncate"; at: number }
  | { k: "concat"; other: number }
  | { k: "byte"; at: number; b: number };

interface SipModel {
  start: string;
  rows: string[];
  body: string;
  /** an op has set Content-Length explicitly: do not recompute it */
  clFixed: boolean;
}

const PARAMS: readonly string[] = [
  "lr",
  "tag=x",
  "tag=",
  "branch=z9hG4bK",
  "rport",
  "rport=",
  "received=127.0.0.1",
  "maddr=127.0.0.1",
  "ttl=1",
  "transport=tcp",
  "expires=0",
  "q=0.5",
  "=",
  "",
  '"q"="v"',
  "a=b=c",
  "mediasec",
  '+sip.instance="<urn:uuid:x>"',
];

/** Splits a raw message (latin1) into start line, header lines and body. */
export function sipModel(msg: string): SipModel {
  let sep = msg.indexOf("\r\n\r\n");
  let sepLen = 4;
  const lf = msg.indexOf("\n\n");
  if (sep < 0 || (lf >= 0 && lf < sep)) {
    sep = lf;
    sepLen = 2;
  }
  const head = sep < 0 ? msg : msg.slice(0, sep);
  const body = sep < 0 ? "" : msg.slice(sep + sepLen);
  const lines = head.split(/\r?\n/);
  return { start: lines[0] ?? "", rows: lines.slice(1), body, clFixed: false };
}

function nameOf(row: string): string {
  const c = row.indexOf(":");
  return (c < 0 ? row : row.slice(0, c)).trim().toLowerCase();
}

const COMPACT: Readonly<Record<string, string>> = {
  v: "via",
  f: "from",
  t: "to",
  i: "call-id",
  m: "contact",
  l: "content-length",
  c: "content-type",
  k: "supported",
  s: "subject",
  e: "content-encoding",
  o: "event",
};

function canonical(row: string): string {
  const n = nameOf(row);
  return COMPACT[n] ?? n;
}

function splitRow(row: string): { name: string; value: string } {
  const c = row.indexOf(":");
  if (c < 0) return { name: row, value: "" };
  return { name: row.slice(0, c), value: row.slice(c + 1).trimStart() };
}

function nested(depth: number): string {
  let s = "x";
  for (let d = 0; d < depth; d++) s = `"${s.replace(/(["\\])/g, "\\$1")}"`;
  return s;
}

function setStart(m: SipModel, part: 0 | 1 | 2, v: string): void {
  const parts = m.start.split(" ");
  if (m.start.startsWith("SIP/")) {
    // Status-Line: SIP-Version SP Status-Code SP Reason-Phrase
    const map: Record<0 | 1 | 2, number> = { 0: 0, 1: 1, 2: 2 };
    parts[map[part]] = v;
  } else {
    // Request-Line: Method SP Request-URI SP SIP-Version
    parts[part] = v;
  }
  m.start = parts.join(" ");
}

/**
 * Applies SIP mutations to a message. Content-Length is kept equal to the body length unless an op sets it, so that
 * body mutations reach the body parsers. `others` are other messages (concat) and bodies (bodyReplace).
 */
export function applySipOps(
  msg: string,
  ops: readonly SipOp[],
  others: { messages: readonly string[]; bodies: readonly string[] },
): string {
  const m = sipModel(msg);
  let eolMode: string | undefined;
  const tail: ((s: string) => string)[] = [];
  const at = (i: number) => (m.rows.length === 0 ? -1 : Math.abs(i) % m.rows.length);
  for (const op of ops) {
    switch (op.k) {
      case "dropHeader": {
        const i = at(op.i);
        if (i >= 0) m.rows.splice(i, 1);
        break;
      }
      case "dupHeader": {
        const i = at(op.i);
        const r = m.rows[i];
        if (r !== undefined) m.rows.splice(Math.abs(op.j) % (m.rows.length + 1), 0, r);
        break;
      }
      case "swapHeaders": {
        const i = at(op.i);
        const j = at(op.j);
        const a = m.rows[i];
        const b = m.rows[j];
        if (a !== undefined && b !== undefined) {
          m.rows[i] = b;
          m.rows[j] = a;
        }
        break;
      }
      case "rename": {
        const i = at(op.i);
        const r = m.rows[i];
        if (r !== undefined) m.rows[i] = `${pick(SIP_HEADER_NAMES, op.v)}: ${splitRow(r).value}`;
        break;
      }
      case "nameCase": {
        const i = at(op.i);
        const r = m.rows[i];
        if (r === undefined) break;
        const { name, value } = splitRow(r);
        const ascii = (c: string) => (op.mode === "upper" ? c.toUpperCase() : c.toLowerCase());
        m.rows[i] = `${name.replace(/[A-Za-z]/g, ascii)}: ${value}`;
        break;
      }
      case "value": {
        const i = at(op.i);
        const r = m.rows[i];
        if (r === undefined) break;
        const key = canonical(r);
        const list = op.generic ? STRINGS : (SIP_HEADER_VALUES[key] ?? STRINGS);
        m.rows[i] = `${splitRow(r).name}: ${pick(list, op.v)}`;
        if (key === "content-length") m.clFixed = true;
        break;
      }
      case "addHeader": {
        const name = pick(SIP_HEADER_NAMES, op.name);
        const key = COMPACT[name.trim().toLowerCase()] ?? name.trim().toLowerCase();
        const list = SIP_HEADER_VALUES[key] ?? STRINGS;
        m.rows.splice(Math.abs(op.j) % (m.rows.length + 1), 0, `${name}: ${pick(list, op.v)}`);
        if (key === "content-length") m.clFixed = true;
        break;
      }
      case "param": {
        const i = at(op.i);
        const r = m.rows[i];
        if (r === undefined) break;
        const sep = op.n % 3 === 0 ? ";" : op.n % 3 === 1 ? " ; " : ";;";
        m.rows[i] = `${r}${sep}${pick(PARAMS, op.v)}`;
        break;
      }
      case "inject": {
        const i = at(op.i);
        const r = m.rows[i];
        if (r === undefined) break;
        const p = Math.abs(op.pos) % (r.length + 1);
        m.rows[i] = r.slice(0, p) + pick(INJECT, op.v) + r.slice(p);
        break;
      }
      case "number": {
        const i = at(op.i);
        const r = m.rows[i];
        if (r === undefined) break;
        m.rows[i] = replaceNumber(r, op.n, pick(NUMBERS, op.v));
        if (canonical(r) === "content-length") m.clFixed = true;
        break;
      }
      case "long": {
        const i = at(op.i);
        const r = m.rows[i];
        // inside the row, not only at its end: long runs in the middle are where regexes backtrack
        const p = Math.abs(op.pos) % (r === undefined ? 1 : r.length + 1);
        if (r !== undefined)
          m.rows[i] = r.slice(0, p) + pick(LONG_CHARS, op.ch).repeat(pick(LONG_LENGTHS, op.len)) + r.slice(p);
        break;
      }
      case "fold": {
        // RFC 3261 §7.3.1: header field values can be folded onto several lines (LWS = [*WSP CRLF] 1*WSP)
        const i = at(op.i);
        const r = m.rows[i];
        if (r === undefined) break;
        const p = Math.abs(op.pos) % (r.length + 1);
        m.rows.splice(i, 1, r.slice(0, p), ` ${r.slice(p)}`);
        break;
      }
      case "colon": {
        const i = at(op.i);
        const r = m.rows[i];
        if (r === undefined) break;
        const { name, value } = splitRow(r);
        m.rows[i] =
          op.mode === "space-before"
            ? `${name} : ${value}`
            : op.mode === "none"
              ? `${name} ${value}`
              : op.mode === "double"
                ? `${name}:: ${value}`
                : `${name}\t:\t${value}`;
        break;
      }
      case "nestedQuotes": {
        const i = at(op.i);
        const r = m.rows[i];
        if (r === undefined) break;
        const { name, value } = splitRow(r);
        m.rows[i] = `${name}: ${nested(1 + (op.depth % 8))} ${value}`;
        break;
      }
      case "method":
        if (!m.start.startsWith("SIP/")) setStart(m, 0, pick(SIP_METHODS, op.v));
        break;
      case "uri":
        if (!m.start.startsWith("SIP/")) setStart(m, 1, pick(SIP_URIS, op.v));
        break;
      case "version":
        if (m.start.startsWith("SIP/")) setStart(m, 0, pick(SIP_VERSIONS, op.v));
        else setStart(m, 2, pick(SIP_VERSIONS, op.v));
        break;
      case "status":
        if (m.start.startsWith("SIP/")) setStart(m, 1, pick(SIP_STATUS, op.v));
        break;
      case "reason":
        if (m.start.startsWith("SIP/")) setStart(m, 2, pick(STRINGS, op.v) + pick(INJECT, op.v >> 3));
        break;
      case "startLine":
        m.start =
          op.mode === "extra-space"
            ? m.start.replace(" ", "  ")
            : op.mode === "tab"
              ? m.start.replace(" ", "\t")
              : op.mode === "no-version"
                ? m.start.replace(/ SIP\/2\.0$/, "")
                : op.mode === "lws-uri"
                  ? m.start.replace(/ (\S+) /, " $1 x ")
                  : ` ${m.start}`;
        break;
      case "clDelta":
      case "clValue":
      case "clDup": {
        const len = latin1Length(m.body);
        const v =
          op.k === "clDelta" ? String(len + op.d) : op.k === "clValue" ? pick(NUMBERS, op.v) : pick(NUMBERS, op.v);
        if (op.k === "clDup") m.rows.push(`Content-Length: ${v}`);
        else {
          const i = m.rows.findIndex((r) => canonical(r) === "content-length");
          if (i >= 0) m.rows[i] = `${splitRow(m.rows[i] ?? "").name}: ${v}`;
          else m.rows.push(`Content-Length: ${v}`);
        }
        m.clFixed = true;
        break;
      }
      case "clDrop":
        m.rows = m.rows.filter((r) => canonical(r) !== "content-length");
        m.clFixed = true;
        break;
      case "body":
        m.body = applySdpOps(m.body, op.ops, others.bodies);
        break;
      case "bodyReplace":
        if (others.bodies.length > 0) m.body = pick(others.bodies, op.other);
        break;
      case "bodyDrop":
        m.body = "";
        break;
      case "eol":
        eolMode = op.mode;
        break;
      case "truncate":
        tail.push((s) => s.slice(0, Math.abs(op.at) % (s.length + 1)));
        break;
      case "concat":
        if (others.messages.length > 0) tail.push((s) => s + pick(others.messages, op.other));
        break;
      case "byte":
        tail.push((s) => {
          if (s.length === 0) return s;
          const p = Math.abs(op.at) % s.length;
          return s.slice(0, p) + String.fromCharCode(op.b & 0xff) + s.slice(p + 1);
        });
        break;
    }
  }
  if (!m.clFixed) {
    const i = m.rows.findIndex((r) => canonical(r) === "content-length");
    const len = String(latin1Length(m.body));
    if (i >= 0) m.rows[i] = `${splitRow(m.rows[i] ?? "").name}: ${len}`;
  }
  const eol = eolMode === "lf" ? "\n" : eolMode === "cr" ? "\r" : "\r\n";
  let head = [m.start, ...m.rows].join(eol);
  if (eolMode === "mixed") head = [m.start, ...m.rows].map((l, k) => l + (k % 2 ? "\n" : "\r\n")).join("");
  else head += eol;
  let out = eolMode === "no-blank" ? head + m.body : `${head}${eolMode === "mixed" ? "\r\n" : eol}${m.body}`;
  if (eolMode === "leading-crlf") out = `\r\n\r\n${out}`;
  if (eolMode === "trailing-garbage") out += "\r\n\r\nGARBAGE\0";
  for (const f of tail) out = f(out);
  return out;
}

function latin1Length(s: string): number {
  return s.length;
}

const idx = fc.nat({ max: 1 << 16 });

/** One SIP mutation; structural and value mutations weigh more than byte-level ones. */
export const sipOpArb: fc.Arbitrary<SipOp> = fc.oneof(
  { weight: 3, arbitrary: fc.record({ k: fc.constant("dropHeader" as const), i: idx }) },
  { weight: 2, arbitrary: fc.record({ k: fc.constant("dupHeader" as const), i: idx, j: idx }) },
  { weight: 2, arbitrary: fc.record({ k: fc.constant("swapHeaders" as const), i: idx, j: idx }) },
  { weight: 1, arbitrary: fc.record({ k: fc.constant("rename" as const), i: idx, v: idx }) },
  {
    weight: 1,
    arbitrary: fc.record({ k: fc.constant("nameCase" as const), i: idx, mode: fc.constantFrom("upper", "lower") }),
  },
  { weight: 8, arbitrary: fc.record({ k: fc.constant("value" as const), i: idx, v: idx, generic: fc.boolean() }) },
  { weight: 3, arbitrary: fc.record({ k: fc.constant("addHeader" as const), j: idx, name: idx, v: idx }) },
  { weight: 2, arbitrary: fc.record({ k: fc.constant("param" as const), i: idx, v: idx, n: idx }) },
  { weight: 3, arbitrary: fc.record({ k: fc.constant("inject" as const), i: idx, pos: idx, v: idx }) },
  { weight: 3, arbitrary: fc.record({ k: fc.constant("number" as const), i: idx, n: idx, v: idx }) },
  { weight: 1, arbitrary: fc.record({ k: fc.constant("long" as const), i: idx, pos: idx, len: idx, ch: idx }) },
  { weight: 1, arbitrary: fc.record({ k: fc.constant("fold" as const), i: idx, pos: idx }) },
  {
    weight: 1,
    arbitrary: fc.record({
      k: fc.constant("colon" as const),
      i: idx,
      mode: fc.constantFrom("space-before", "none", "double", "tab"),
    }),
  },
  { weight: 1, arbitrary: fc.record({ k: fc.constant("nestedQuotes" as const), i: idx, depth: idx }) },
  { weight: 1, arbitrary: fc.record({ k: fc.constant("method" as const), v: idx }) },
  { weight: 1, arbitrary: fc.record({ k: fc.constant("uri" as const), v: idx }) },
  { weight: 1, arbitrary: fc.record({ k: fc.constant("version" as const), v: idx }) },
  { weight: 1, arbitrary: fc.record({ k: fc.constant("status" as const), v: idx }) },
  { weight: 1, arbitrary: fc.record({ k: fc.constant("reason" as const), v: idx }) },
  {
    weight: 1,
    arbitrary: fc.record({
      k: fc.constant("startLine" as const),
      mode: fc.constantFrom("extra-space", "tab", "no-version", "lws-uri", "leading-space"),
    }),
  },
  { weight: 2, arbitrary: fc.record({ k: fc.constant("clDelta" as const), d: fc.integer({ min: -20, max: 20 }) }) },
  { weight: 1, arbitrary: fc.record({ k: fc.constant("clValue" as const), v: idx }) },
  { weight: 1, arbitrary: fc.record({ k: fc.constant("clDrop" as const) }) },
  { weight: 1, arbitrary: fc.record({ k: fc.constant("clDup" as const), v: idx }) },
  { weight: 4, arbitrary: fc.record({ k: fc.constant("body" as const), ops: sdpOpsArb }) },
  { weight: 1, arbitrary: fc.record({ k: fc.constant("bodyReplace" as const), other: idx }) },
  { weight: 1, arbitrary: fc.record({ k: fc.constant("bodyDrop" as const) }) },
  {
    weight: 1,
    arbitrary: fc.record({
      k: fc.constant("eol" as const),
      mode: fc.constantFrom("lf", "cr", "mixed", "no-blank", "leading-crlf", "trailing-garbage"),
    }),
  },
  { weight: 1, arbitrary: fc.record({ k: fc.constant("truncate" as const), at: fc.nat() }) },
  { weight: 1, arbitrary: fc.record({ k: fc.constant("concat" as const), other: idx }) },
  { weight: 1, arbitrary: fc.record({ k: fc.constant("byte" as const), at: fc.nat(), b: fc.nat({ max: 255 }) }) },
);

export const sipOpsArb = fc.array(sipOpArb, { minLength: 0, maxLength: 6 });
