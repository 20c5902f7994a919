/**
 * Grammar-aware SDP mutations (RFC 8866 §5 line grammar `<type>=<value>`, attributes `a=<name>[:<value>]`): start
 * from a valid body and drop / duplicate / reorder / move lines between the session and media levels, replace
 * attribute values with boundary values chosen for that attribute, inject CR/LF/NUL/UTF-8, flip case, change line
 * endings, truncate, concatenate, grow tokens. The mutation is plain data (fast-check shrinks it); applying it is cheap.
 */
import fc from "fast-check";
import { INJECT, LONG_CHARS, LONG_LENGTHS, NUMBERS, pick, SDP_LINES, SDP_VALUES, STRINGS } from "./values.ts";

export type SdpOp =
  | { k: "drop"; i: number }
  | { k: "dup"; i: number; j: number }
  | { k: "swap"; i: number; j: number }
  | { k: "move"; i: number; j: number }
  | { k: "value"; i: number; v: number; generic: boolean }
  | { k: "insert"; j: number; v: number }
  | { k: "inject"; i: number; pos: number; v: number }
  | { k: "case"; i: number; mode: "upper" | "lower" | "flip" }
  | { k: "number"; i: number; n: number; v: number }
  | { k: "long"; i: number; pos: number; len: number; ch: number }
  | { k: "eol"; mode: "lf" | "cr" | "mixed" | "none-last" | "blank" }
  | { k: "truncate"; at: number }
  | { k: "concat"; other: number }
  | { k: "byte"; at: number; b: number }
  | { k: "random"; i: number; s: string };

interface Line {
  text: string;
  eol: string;
}

/** Splits a body into lines keeping each line's own terminator (CRLF, LF, or "" for the last). */
export function sdpLines(body: string): Line[] {
  const out: Line[] = [];
  let start = 0;
  for (let i = 0; i < body.length; i++) {
    if (body.charCodeAt(i) !== 10) continue;
    const crlf = i > start && body.charCodeAt(i - 1) === 13;
    out.push({ text: body.slice(start, crlf ? i - 1 : i), eol: crlf ? "\r\n" : "\n" });
    start = i + 1;
  }
  if (start < body.length) out.push({ text: body.slice(start), eol: "" });
  return out;
}

function join(lines: readonly Line[]): string {
  let s = "";
  for (const l of lines) s += l.text + l.eol;
  return s;
}

/** The key a line's value is mutated by: the attribute name for `a=` lines, else the type letter. */
function keyOf(text: string): { key: string; prefix: string; value: string } {
  if (text.startsWith("a=")) {
    const colon = text.indexOf(":");
    if (colon < 0) return { key: text.slice(2).toLowerCase(), prefix: text, value: "" };
    return { key: text.slice(2, colon).toLowerCase(), prefix: text.slice(0, colon + 1), value: text.slice(colon + 1) };
  }
  const eq = text.indexOf("=");
  if (eq < 0) return { key: "*", prefix: "", value: text };
  return { key: text.slice(0, eq).toLowerCase(), prefix: text.slice(0, eq + 1), value: text.slice(eq + 1) };
}

/** ASCII-only case changes (toUpperCase would turn latin1 µ into U+039C, breaking the one-char-per-byte contract). */
function flipCase(s: string, mode: "upper" | "lower" | "flip"): string {
  return s.replace(/[A-Za-z]/g, (c) => {
    const up = c >= "A" && c <= "Z";
    if (mode === "upper") return c.toUpperCase();
    if (mode === "lower") return c.toLowerCase();
    return up ? c.toLowerCase() : c.toUpperCase();
  });
}

/** Replaces the n-th decimal number of `s` with `v`. */
export function replaceNumber(s: string, n: number, v: string): string {
  const nums = [...s.matchAll(/\d+/g)];
  if (nums.length === 0) return s;
  const m = nums[Math.abs(n) % nums.length];
  if (!m || m.index === undefined) return s;
  return s.slice(0, m.index) + v + s.slice(m.index + m[0].length);
}

/** Applies SDP mutations to a body (latin1 string). `others` are bodies for "concat". */
export function applySdpOps(body: string, ops: readonly SdpOp[], others: readonly string[] = []): string {
  let lines = sdpLines(body);
  let tail: ((s: string) => string)[] = [];
  const at = (i: number) => (lines.length === 0 ? -1 : Math.abs(i) % lines.length);
  for (const op of ops) {
    switch (op.k) {
      case "drop": {
        const i = at(op.i);
        if (i >= 0) lines.splice(i, 1);
        break;
      }
      case "dup": {
        const i = at(op.i);
        const l = lines[i];
        if (l) lines.splice(Math.abs(op.j) % (lines.length + 1), 0, { ...l, eol: l.eol || "\r\n" });
        break;
      }
      case "swap": {
        const i = at(op.i);
        const j = at(op.j);
        const a = lines[i];
        const b = lines[j];
        if (a && b) {
          lines[i] = { text: b.text, eol: a.eol };
          lines[j] = { text: a.text, eol: b.eol };
        }
        break;
      }
      case "move": {
        // moves a line to another position: session ↔ media level, before v=, after the last m-section
        const i = at(op.i);
        const l = lines[i];
        if (!l) break;
        lines.splice(i, 1);
        lines.splice(Math.abs(op.j) % (lines.length + 1), 0, { ...l, eol: l.eol || "\r\n" });
        break;
      }
      case "value": {
        const i = at(op.i);
        const l = lines[i];
        if (!l) break;
        const { key, prefix } = keyOf(l.text);
        const list = op.generic ? STRINGS : (SDP_VALUES[key] ?? SDP_VALUES["*"] ?? STRINGS);
        lines[i] = { ...l, text: prefix + pick(list, op.v) };
        break;
      }
      case "insert":
        lines.splice(Math.abs(op.j) % (lines.length + 1), 0, { text: pick(SDP_LINES, op.v), eol: "\r\n" });
        break;
      case "inject": {
        const i = at(op.i);
        const l = lines[i];
        if (!l) break;
        const p = Math.abs(op.pos) % (l.text.length + 1);
        lines[i] = { ...l, text: l.text.slice(0, p) + pick(INJECT, op.v) + l.text.slice(p) };
        break;
      }
      case "case": {
        const i = at(op.i);
        const l = lines[i];
        if (l) lines[i] = { ...l, text: flipCase(l.text, op.mode) };
        break;
      }
      case "number": {
        const i = at(op.i);
        const l = lines[i];
        if (l) lines[i] = { ...l, text: replaceNumber(l.text, op.n, pick(NUMBERS, op.v)) };
        break;
      }
      case "long": {
        const i = at(op.i);
        const l = lines[i];
        if (!l) break;
        // inside the line, not only at its end: long runs in the middle are where regexes backtrack
        const p = Math.abs(op.pos) % (l.text.length + 1);
        const run = pick(LONG_CHARS, op.ch).repeat(pick(LONG_LENGTHS, op.len));
        lines[i] = { ...l, text: l.text.slice(0, p) + run + l.text.slice(p) };
        break;
      }
      case "random": {
        const i = at(op.i);
        const l = lines[i];
        if (!l) break;
        const { prefix } = keyOf(l.text);
        lines[i] = { ...l, text: prefix + op.s };
        break;
      }
      case "eol":
        if (op.mode === "lf") lines = lines.map((l) => ({ ...l, eol: l.eol ? "\n" : "" }));
        else if (op.mode === "cr") lines = lines.map((l) => ({ ...l, eol: l.eol ? "\r" : "" }));
        else if (op.mode === "mixed")
          lines = lines.map((l, k) => ({ ...l, eol: l.eol ? (k % 2 ? "\n" : "\r\n") : "" }));
        else if (op.mode === "none-last") {
          const last = lines[lines.length - 1];
          if (last) last.eol = "";
        } else lines.splice(Math.floor(lines.length / 2), 0, { text: "", eol: "\r\n" });
        break;
      case "truncate":
        tail = [...tail, (s) => s.slice(0, Math.abs(op.at) % (s.length + 1))];
        break;
      case "concat":
        if (others.length > 0) tail = [...tail, (s) => s + pick(others, op.other)];
        break;
      case "byte":
        tail = [
          ...tail,
          (s) => {
            if (s.length === 0) return s;
            const p = Math.abs(op.at) % s.length;
            return s.slice(0, p) + String.fromCharCode(op.b & 0xff) + s.slice(p + 1);
          },
        ];
        break;
    }
  }
  let out = join(lines);
  for (const f of tail) out = f(out);
  return out;
}

const idx = fc.nat({ max: 1 << 16 });
const utf8 = new TextEncoder();

/** Any text as its UTF-8 bytes, one char per byte (the src/sdp and P-CSCF body contract). */
export function utf8Latin1(s: string): string {
  let o = "";
  for (const b of utf8.encode(s)) o += String.fromCharCode(b);
  return o;
}

/** One SDP mutation. Structural and value mutations are weighted above byte-level ones. */
export const sdpOpArb: fc.Arbitrary<SdpOp> = fc.oneof(
  { weight: 3, arbitrary: fc.record({ k: fc.constant("drop" as const), i: idx }) },
  { weight: 2, arbitrary: fc.record({ k: fc.constant("dup" as const), i: idx, j: idx }) },
  { weight: 2, arbitrary: fc.record({ k: fc.constant("swap" as const), i: idx, j: idx }) },
  { weight: 2, arbitrary: fc.record({ k: fc.constant("move" as const), i: idx, j: idx }) },
  { weight: 8, arbitrary: fc.record({ k: fc.constant("value" as const), i: idx, v: idx, generic: fc.boolean() }) },
  { weight: 4, arbitrary: fc.record({ k: fc.constant("insert" as const), j: idx, v: idx }) },
  { weight: 3, arbitrary: fc.record({ k: fc.constant("inject" as const), i: idx, pos: idx, v: idx }) },
  {
    weight: 1,
    arbitrary: fc.record({ k: fc.constant("case" as const), i: idx, mode: fc.constantFrom("upper", "lower", "flip") }),
  },
  { weight: 3, arbitrary: fc.record({ k: fc.constant("number" as const), i: idx, n: idx, v: idx }) },
  { weight: 1, arbitrary: fc.record({ k: fc.constant("long" as const), i: idx, pos: idx, len: idx, ch: idx }) },
  {
    weight: 1,
    arbitrary: fc.record({
      k: fc.constant("eol" as const),
      mode: fc.constantFrom("lf", "cr", "mixed", "none-last", "blank"),
    }),
  },
  { weight: 1, arbitrary: fc.record({ k: fc.constant("truncate" as const), at: fc.nat() }) },
  { weight: 1, arbitrary: fc.record({ k: fc.constant("concat" as const), other: idx }) },
  { weight: 1, arbitrary: fc.record({ k: fc.constant("byte" as const), at: fc.nat(), b: fc.nat({ max: 255 }) }) },
  {
    weight: 1,
    arbitrary: fc.record({
      k: fc.constant("random" as const),
      i: idx,
      s: fc.string({ unit: "binary", maxLength: 24 }).map(utf8Latin1),
    }),
  },
);

export const sdpOpsArb = fc.array(sdpOpArb, { minLength: 0, maxLength: 6 });
