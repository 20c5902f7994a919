/**
 * Byte-preserving inspection and section-level editing for the P-CSCF (IMS-ALG).
 *
 * Contract: the body is a JS string holding one character per byte (decode the SIP body as latin1). Inspection
 * never re-serialises anything; ranges are character (= byte) offsets into that string. The editor splits the body
 * into the session section and the m-sections as raw text with their line endings; joining unchanged sections
 * gives back the exact input, and editing one section leaves every byte of the others untouched (DESIGN rule 3).
 */
import { type IndicationOptions, type SecurityIndication, securityIndication } from "./e2ae.ts";
import { type Finding, hasErrors } from "./findings.ts";
import { analyzeSdp } from "./model.ts";
import { type ParseOptions, parseMLine, splitLines } from "./parse.ts";
import { validateSdp } from "./validate.ts";

export interface InspectedMedia {
  /** 0-based m-line index. */
  index: number;
  media: string;
  /** undefined when the m= line is malformed. */
  port: number | undefined;
  proto: string;
  /** The fmt list as written. */
  fmt: string;
  fmts: string[];
  /** [start, end) character (byte) range of the m-section in the body, line endings included. */
  range: [number, number];
  /** 3ge2ae values present on the m-line, exactly as written (valid tokens or not). */
  e2ae: string[];
  /** The indication those values mean (unknown values ignored, TS 24.229 §7.5.2.1). */
  indication: SecurityIndication;
  /** a=fingerprint present at media level, or at session level (which applies to this m-line). */
  hasFingerprint: boolean;
  fingerprintAtMediaLevel: boolean;
  hasTlsId: boolean;
  /** a=setup present at media level or session level. */
  hasSetup: boolean;
  findings: Finding[];
}

export interface InspectResult {
  ok: boolean;
  /** All findings (session and media). */
  findings: Finding[];
  /** [start, end) of the session section. */
  sessionRange: [number, number];
  media: InspectedMedia[];
}

/** Inspects a body without re-serialising it. Never throws. */
export function inspectSdp(body: string, opts: ParseOptions & IndicationOptions = {}): InspectResult {
  const text = typeof body === "string" ? body : "";
  const model = analyzeSdp(text, opts);
  const validation = validateSdp(text, opts);
  const sessionFp = model.parsed.session.attributes.some((a) => a.name === "fingerprint");
  const sessionSetup = model.parsed.session.attributes.some((a) => a.name === "setup");
  const media: InspectedMedia[] = model.parsed.media.map((sec) => {
    const names = (n: string) => sec.attributes.filter((a) => a.name === n);
    const e2ae = names("3ge2ae").map((a) => a.value ?? "");
    const mediaFp = names("fingerprint").length > 0;
    return {
      index: sec.index,
      media: sec.mline?.media ?? "",
      port: sec.mline?.port,
      proto: sec.mline?.proto ?? "",
      fmt: sec.mline?.fmt ?? "",
      fmts: sec.mline?.fmts ?? [],
      range: [sec.start, sec.end],
      e2ae,
      indication: securityIndication(e2ae, opts),
      hasFingerprint: mediaFp || sessionFp,
      fingerprintAtMediaLevel: mediaFp,
      hasTlsId: names("tls-id").length > 0,
      hasSetup: names("setup").length > 0 || sessionSetup,
      findings: validation.findings.filter((f) => f.mline === sec.index),
    };
  });
  const sessionEnd = model.parsed.media[0]?.start ?? text.length;
  return { ok: !hasErrors(validation.findings), findings: validation.findings, sessionRange: [0, sessionEnd], media };
}

// ---- section split / join -------------------------------------------------------------------------------------

export interface RawSection {
  /** -1 for the session section, else the 0-based m-line index. */
  index: number;
  /** The raw text including line endings. */
  text: string;
  start: number;
  end: number;
}

export interface SplitSdp {
  session: RawSection;
  media: RawSection[];
}

/** Splits a body into its session section and m-sections. `joinSections(splitSections(x)) === x` for every x. */
export function splitSections(body: string): SplitSdp {
  const text = typeof body === "string" ? body : "";
  const starts: number[] = [];
  for (const l of splitLines(text)) if (text.startsWith("m=", l.start)) starts.push(l.start);
  const firstStart = starts[0] ?? text.length;
  const session: RawSection = { index: -1, text: text.slice(0, firstStart), start: 0, end: firstStart };
  const media = starts.map((start, i) => {
    const end = starts[i + 1] ?? text.length;
    return { index: i, text: text.slice(start, end), start, end };
  });
  return { session, media };
}

/** Joins sections (RawSection or plain text) back into a body. */
export function joinSections(parts: {
  session: RawSection | string;
  media: ReadonlyArray<RawSection | string>;
}): string {
  const t = (s: RawSection | string): string => (typeof s === "string" ? s : s.text);
  return t(parts.session) + parts.media.map(t).join("");
}

/** Replaces m-section `index` with `section`; all other bytes stay identical. Out-of-range index: body unchanged. */
export function replaceMediaSection(body: string, index: number, section: string): string {
  const split = splitSections(body);
  if (index < 0 || index >= split.media.length) return body;
  return joinSections({ session: split.session, media: split.media.map((m, i) => (i === index ? section : m)) });
}

// ---- line-level editing inside one section --------------------------------------------------------------------

export interface RawLine {
  text: string;
  /** "\r\n", "\n" or "" (last line without a line ending). */
  eol: string;
}

export function sectionLines(section: string): RawLine[] {
  return splitLines(section).map((l) => ({ text: section.slice(l.start, l.end), eol: l.eol }));
}

export function joinLines(lines: readonly RawLine[]): string {
  return lines.map((l) => l.text + l.eol).join("");
}

function dominantEol(lines: readonly RawLine[]): string {
  return lines.find((l) => l.eol !== "")?.eol ?? "\r\n";
}

function insertAt(lines: RawLine[], at: number, texts: readonly string[]): RawLine[] {
  if (texts.length === 0) return lines;
  const eol = dominantEol(lines);
  const out = lines.map((l) => ({ ...l }));
  const before = out[at - 1];
  const appendingAtEnd = at >= out.length;
  // A last line without a line ending gets one before lines are added after it; the body keeps "no final EOL".
  if (appendingAtEnd && before && before.eol === "") {
    before.eol = eol;
    const added = texts.map((t, i) => ({ text: t, eol: i === texts.length - 1 ? "" : eol }));
    return [...out, ...added];
  }
  return [...out.slice(0, at), ...texts.map((t) => ({ text: t, eol })), ...out.slice(at)];
}

/** Changes the port of the m= line (other bytes of the section unchanged). */
export function setMediaPort(section: string, port: number): string {
  const lines = sectionLines(section);
  const first = lines[0];
  if (!first?.text.startsWith("m=")) return section;
  first.text = first.text.replace(/^(m=\S+ )\d+/, `$1${port}`);
  return joinLines(lines);
}

/** Changes the proto of the m= line, e.g. TCP/TLS/MSRP → TCP/MSRP. */
export function setMediaProto(section: string, proto: string): string {
  const lines = sectionLines(section);
  const first = lines[0];
  if (!first?.text.startsWith("m=")) return section;
  const ml = parseMLine(first.text.slice(2));
  if (!ml) return section;
  first.text = `m=${ml.media} ${ml.port}${ml.numPorts === undefined ? "" : `/${ml.numPorts}`} ${proto} ${ml.fmt}`;
  return joinLines(lines);
}

/**
 * Sets (value "IN IP4 192.0.2.1") or removes (null) the c= line of an m-section; an added c= goes after the m=
 * and i= lines (RFC 8866 §5: m i c b k a).
 */
export function setConnectionLine(section: string, value: string | null): string {
  const lines = sectionLines(section);
  const idx = lines.findIndex((l) => l.text.startsWith("c="));
  if (value === null) {
    if (idx < 0) return section;
    const removed = lines[idx];
    const out = lines.filter((_, i) => i !== idx);
    const last = out[out.length - 1];
    if (idx === lines.length - 1 && removed?.eol === "" && last) last.eol = "";
    return joinLines(out);
  }
  const existing = lines[idx];
  if (existing) {
    existing.text = `c=${value}`;
    return joinLines(lines);
  }
  let at = lines[0]?.text.startsWith("m=") ? 1 : 0;
  while (lines[at]?.text.startsWith("i=")) at++;
  return joinLines(insertAt(lines, at, [`c=${value}`]));
}

function attrName(text: string): string | undefined {
  if (!text.startsWith("a=")) return undefined;
  const colon = text.indexOf(":");
  return colon < 0 ? text.slice(2) : text.slice(2, colon);
}

export type AttributeMatch = string | ((name: string, value: string | undefined, text: string) => boolean);

function matches(m: AttributeMatch, text: string): boolean {
  const name = attrName(text);
  if (name === undefined) return false;
  if (typeof m === "string") return name === m;
  const colon = text.indexOf(":");
  return m(name, colon < 0 ? undefined : text.slice(colon + 1), text);
}

/** Removes every a= line that matches (by name, or by predicate). */
export function removeAttributes(section: string, match: AttributeMatch): string {
  const lines = sectionLines(section);
  const keep = lines.filter((l) => !matches(match, l.text));
  if (keep.length === lines.length) return section;
  const lastOld = lines[lines.length - 1];
  const lastNew = keep[keep.length - 1];
  if (lastOld && lastOld.eol === "" && lastNew && lastNew !== lastOld) lastNew.eol = "";
  return joinLines(keep);
}

/**
 * Inserts raw lines ("a=3ge2ae:applied", "a=fingerprint:…"). By default after the last a= line (or at the end);
 * with `after`, after the last a= line of that attribute name (falling back to the default).
 */
export function insertAttributes(section: string, texts: readonly string[], opts: { after?: string } = {}): string {
  const lines = sectionLines(section);
  let at = -1;
  if (opts.after !== undefined) {
    for (const [i, l] of lines.entries()) if (attrName(l.text) === opts.after) at = i + 1;
  }
  if (at < 0) {
    for (const [i, l] of lines.entries()) if (l.text.startsWith("a=")) at = i + 1;
  }
  if (at < 0) {
    // No attribute yet: after the last non-blank line.
    at = lines.length;
    while (at > 0 && lines[at - 1]?.text === "") at--;
  }
  return joinLines(insertAt(lines, at, texts));
}

/** Replaces all a=<name> lines by `texts`, placed where the first one was (or appended when there was none). */
export function replaceAttributes(section: string, name: string, texts: readonly string[]): string {
  const lines = sectionLines(section);
  const first = lines.findIndex((l) => attrName(l.text) === name);
  if (first < 0) return insertAttributes(section, texts);
  const before = lines.slice(0, first);
  const after = lines.slice(first).filter((l) => attrName(l.text) !== name);
  const lastOld = lines[lines.length - 1];
  const rebuilt = insertAt([...before, ...after], before.length, texts);
  const lastNew = rebuilt[rebuilt.length - 1];
  if (lastOld && lastOld.eol === "" && lastNew) lastNew.eol = "";
  return joinLines(rebuilt);
}

export interface MediaSectionEdit {
  port?: number;
  proto?: string;
  /** c= value to set, or null to remove the media-level c= line. */
  connection?: string | null;
  /** a= lines to remove (names or a predicate), applied before `insert`. */
  remove?: ReadonlyArray<AttributeMatch>;
  /** Raw lines to insert after the last a= line. */
  insert?: readonly string[];
}

/** Applies several edits to one m-section. */
export function editMediaSection(section: string, edit: MediaSectionEdit): string {
  let s = section;
  if (edit.port !== undefined) s = setMediaPort(s, edit.port);
  if (edit.proto !== undefined) s = setMediaProto(s, edit.proto);
  if (edit.connection !== undefined) s = setConnectionLine(s, edit.connection);
  for (const r of edit.remove ?? []) s = removeAttributes(s, r);
  if (edit.insert && edit.insert.length > 0) s = insertAttributes(s, edit.insert);
  return s;
}

/** Edits m-section `index` of a body; all bytes outside that section stay identical. */
export function editSdpMedia(body: string, index: number, edit: MediaSectionEdit): string {
  const split = splitSections(body);
  const sec = split.media[index];
  if (!sec) return body;
  return replaceMediaSection(body, index, editMediaSection(sec.text, edit));
}
