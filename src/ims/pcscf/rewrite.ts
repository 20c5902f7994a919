/**
 * The e2ae SDP rewrites of the IMS-ALG (TR 29.828 §5.2.1.2.2/§5.2.1.2.3 MSRP, §5.2.1.3.2/§5.2.1.3.3 BFCP) and the
 * extraction of what the Iq procedures need from each SDP.
 *
 * Every rewrite works on one m-section through the src/sdp section editor: the session section and every other
 * m-section stay byte-identical, untouched lines inside the edited section stay byte-identical, and inserted lines
 * use the section's own line ending.
 *
 * | step               | body goes to | proto (MSRP; BFCP alike)      | security attributes                          |
 * |--------------------|--------------|-------------------------------|----------------------------------------------|
 * | originating-offer  | core         | TCP/TLS/MSRP → TCP/MSRP       | remove 3ge2ae, fingerprint (step 8)          |
 * | originating-answer | UE (access)  | TCP/MSRP → TCP/TLS/MSRP       | add AGW fingerprint (step 19 / BFCP step 17) |
 * | terminating-offer  | UE (access)  | TCP/MSRP → TCP/TLS/MSRP       | add 3ge2ae:applied + AGW fingerprint (step 8)|
 * | terminating-answer | core         | TCP/TLS/MSRP → TCP/MSRP       | remove UE fingerprint, 3ge2ae (step 17)      |
 *
 * In every step c= and the m-line port become the AGW address of the leg the body goes to ("inserts the address
 * information received from the IMS-AGW"), `a=setup` passes unchanged (TR 29.828 §4.4.2.1.2: an intermediate MGC
 * that forwards a=setup unmodified, with an AGW whose incoming TCP SYN on one termination triggers the SYN on the
 * other; the expected Iq behaviour), and the MSRP a=path follows `msrpPath` (docs/pcscf-alg.md "MSRP a=path").
 *
 * Data channels (UDP/DTLS/SCTP) — PROVISIONAL, no text seen specifies them (TS 33.328 §7.2.1 does not say whether
 * e2ae covers data channels; the rules follow the DTLS-SRTP analogue of TS 23.334 §6.2.10.5): the AGW terminates
 * DTLS on both legs and relays SCTP; the proto stays, fingerprint and tls-id become the AGW's on both legs, the
 * TS 24.186 §9.3.3.2.1 set of "DC endpoint information" (c=, port, tls-id, fingerprint, setup) is what changes.
 */
import {
  type Fingerprint,
  formatFingerprint,
  formatMsrpPath,
  generateTlsId,
  insertAttributes,
  isTlsId,
  type MsrpUri,
  parseFingerprint,
  parseMsrpPath,
  readMedia,
  removeAttributes,
  replaceAttributes,
  replaceMediaSection,
  type SetupRole,
  setConnectionLine,
  setMediaPort,
  setMediaProto,
  splitSections,
} from "../../sdp/index.ts";
import type { AlgDecision, E2aeStep, SdpKind } from "./algTypes.ts";
import { bodyText } from "./bytes.ts";
import type { AlgConfig, MsrpPathMode } from "./config.ts";
import { PcscfError } from "./errors.ts";

/** The AGW termination whose data goes into the body (the leg facing the receiver of the body). */
export interface AgwLegSdp {
  /** IPv4 or IPv6 address of the AGW termination (no brackets). */
  address: string;
  /** TCP/UDP port of the AGW termination (9 for an active TCP endpoint, RFC 4145 §4). */
  port: number;
  /** The AGW certificate fingerprints on this leg; required where the leg is TLS/DTLS (access side; DC both). */
  fingerprints?: readonly Fingerprint[];
  /**
   * tls-id of the AGW's (D)TLS association on this leg (RFC 8842 §4). MSRP/BFCP: inserted only when given. Data
   * channels: generated when omitted; null = none (the peer's offer had none, RFC 8842 §5.3).
   */
  tlsId?: string | null;
}

export interface RewriteMedia {
  mline: number;
  /** May be omitted only for an m-line with port 0 (rejected stream: only the proto is restored). */
  agw?: AgwLegSdp;
  /**
   * Add `a=3ge2ae:applied`. Default: terminating-offer true (TR 29.828 §5.2.1.2.3 step 8); originating-answer
   * `appliedInAnswer` (step 19 says nothing about `applied`); never in the bodies toward the core.
   */
  applied?: boolean;
}

export interface RewriteOptions {
  msrpPath?: MsrpPathMode;
  appliedInAnswer?: boolean;
}

export type RewriteFamily = "msrp" | "bfcp" | "dc";

export interface MediaChange {
  mline: number;
  step: E2aeStep;
  clause: string;
  /** Which AGW leg's data was inserted (the leg facing the receiver of the body). */
  leg: "core" | "access";
  family: RewriteFamily;
  proto: { from: string; to: string };
  port: { from: number; to: number };
  /** The media-level c= value before (null: none, the session c= applied) and after. */
  connection: { from: string | null; to: string | null };
  /** MSRP a=path before/after (absent when unchanged). */
  path?: { from: string; to: string };
  /**
   * a=setup passes unchanged (`value` as written, null = absent: RFC 4145 §4 default). `agwTcpRole` = role of the
   * AGW termination on this leg that follows from it (offer: as the offerer side; answer: as the answerer side),
   * null while undetermined (actpass / holdconn); `agwTlsRole`: its TLS/DTLS role where the leg is secured.
   */
  setup: { value: SetupRole | null; agwTcpRole: "active" | "passive" | null; agwTlsRole: "client" | "server" | null };
  /** Raw a= lines removed / inserted (removed lines in their original order). */
  removed: string[];
  inserted: string[];
  /** The stream was rejected (port 0): only the proto was restored. */
  rejected: boolean;
}

export type RewriteProblemCode =
  | "E_REWRITE_MLINE" // the m-line is malformed or not MSRP/BFCP/DC
  | "E_REWRITE_PROTO" // the m-line proto does not fit the step (e.g. TCP/MSRP in an originating offer)
  | "E_REWRITE_PATH"; // a=path missing or not parseable (RFC 4975 §9), so it cannot be rewritten

export interface RewriteProblem {
  mline: number;
  code: RewriteProblemCode;
  message: string;
}

export interface RewriteResult {
  /** false when any requested m-line could not be rewritten: the body must then not be sent. */
  ok: boolean;
  /** The body (latin1 string): requested m-sections rewritten, every other byte identical. */
  body: string;
  changes: MediaChange[];
  problems: RewriteProblem[];
}

const PLAIN: Readonly<Record<"msrp" | "bfcp", string>> = { msrp: "TCP/MSRP", bfcp: "TCP/BFCP" };
const TLS: Readonly<Record<"msrp" | "bfcp", string>> = { msrp: "TCP/TLS/MSRP", bfcp: "TCP/TLS/BFCP" };
const ICE_ATTRS = new Set([
  "candidate",
  "end-of-candidates",
  "ice-ufrag",
  "ice-pwd",
  "ice-options",
  "remote-candidates",
]);

/** The AGW leg whose data a step inserts: bodies toward the core carry the core side, toward the UE the access side. */
export function legForStep(step: E2aeStep): "core" | "access" {
  return step === "originating-offer" || step === "terminating-answer" ? "core" : "access";
}

function kindOfStep(step: E2aeStep): SdpKind {
  return step.endsWith("offer") ? "offer" : "answer";
}

function clauseFor(step: E2aeStep, family: RewriteFamily): string {
  if (family === "dc") return "TS 33.328 §7.2.1; TS 24.186 §9.3.3.2.1 (data channel rewrite provisional)";
  const msrp = family === "msrp";
  switch (step) {
    case "originating-offer":
      return msrp ? "TR 29.828 §5.2.1.2.2 step 8" : "TR 29.828 §5.2.1.3.2 step 8";
    case "originating-answer":
      return msrp ? "TR 29.828 §5.2.1.2.2 step 19" : "TR 29.828 §5.2.1.3.2 step 17";
    case "terminating-offer":
      return msrp ? "TR 29.828 §5.2.1.2.3 step 8" : "TR 29.828 §5.2.1.3.3 step 8";
    case "terminating-answer":
      return msrp ? "TR 29.828 §5.2.1.2.3 step 17" : "TR 29.828 §5.2.1.3.3 step 17";
  }
}

const IPV4_RE = /^(?:25[0-5]|2[0-4]\d|1\d\d|[1-9]?\d)(?:\.(?:25[0-5]|2[0-4]\d|1\d\d|[1-9]?\d)){3}$/;
const IPV6_RE = /^[0-9A-Fa-f:.]+$/;

function addrType(address: string): "IP4" | "IP6" | undefined {
  if (IPV4_RE.test(address)) return "IP4";
  if (address.includes(":") && IPV6_RE.test(address)) return "IP6";
  return undefined;
}

/** RFC 4145 §4 / RFC 5763 §5: the role of the side that sent `setup` (defaults: offer active, answer passive). */
function effectiveRole(setup: SetupRole | null | undefined, kind: SdpKind): SetupRole {
  return setup ?? (kind === "offer" ? "active" : "passive");
}

function tlsRoleOf(tcp: "active" | "passive" | null): "client" | "server" | null {
  // RFC 5763 §5 / RFC 4145 §4: the active party initiates the connection and the (D)TLS handshake (client).
  return tcp === null ? null : tcp === "active" ? "client" : "server";
}

function checkLeg(mline: number, agw: AgwLegSdp, needFp: boolean): void {
  const fail = (why: string): never => {
    throw new PcscfError("E_REWRITE_ARGS", `m-line ${mline}: ${why}`, { details: { mline } });
  };
  if (addrType(agw.address) === undefined) fail(`AGW address ${JSON.stringify(agw.address)} is not an IP address`);
  if (!Number.isInteger(agw.port) || agw.port < 1 || agw.port > 65535) fail(`AGW port ${agw.port} is not 1-65535`);
  if (needFp && (agw.fingerprints === undefined || agw.fingerprints.length === 0))
    fail("the AGW fingerprint is required on a TLS/DTLS leg (TR 29.828 steps 5-7 / 2-4)");
  for (const fp of agw.fingerprints ?? []) {
    const r = parseFingerprint(formatFingerprint(fp));
    if (!r.ok || r.value === undefined) fail(`AGW fingerprint ${JSON.stringify(fp.value)} is malformed (RFC 8122 §5)`);
  }
  if (typeof agw.tlsId === "string" && !isTlsId(agw.tlsId)) fail("AGW tls-id is not valid (RFC 8842 §4)");
}

function attrName(line: string): string | undefined {
  if (!line.startsWith("a=")) return undefined;
  const colon = line.indexOf(":");
  return colon < 0 ? line.slice(2) : line.slice(2, colon);
}

/** The a= lines (without line endings) whose attribute name satisfies `match`, in order. */
function attrLinesWhere(section: string, match: (name: string) => boolean): string[] {
  const out: string[] = [];
  for (const line of section.split("\n")) {
    const t = line.endsWith("\r") ? line.slice(0, -1) : line;
    const n = attrName(t);
    if (n !== undefined && match(n)) out.push(t);
  }
  return out;
}

function attrLines(section: string, name: string): string[] {
  return attrLinesWhere(section, (n) => n === name);
}

function uriHost(address: string): string {
  return address.includes(":") ? `[${address}]` : address;
}

/**
 * Rewrites the last URI of an MSRP path to the AGW leg (RFC 4975 §9 MSRP-URI): scheme per leg (msrps toward the
 * UE's TLS leg, msrp toward the core, RFC 4975 §6), host/port = the AGW termination, transport tcp; the session-id,
 * userinfo and URI parameters are kept (RFC 4975 §5.4 / RFC 6714 session matching rests on the session-id).
 */
function rewritePath(uris: readonly MsrpUri[], leg: AgwLegSdp, tls: boolean): MsrpUri[] {
  const out = uris.map((u) => ({ ...u }));
  const last = out[out.length - 1];
  if (!last) return out;
  last.scheme = tls ? "msrps" : "msrp";
  last.host = uriHost(leg.address);
  last.port = leg.port;
  last.transport = "tcp";
  return out;
}

interface SectionResult {
  section?: string;
  change?: MediaChange;
  problem?: RewriteProblem;
}

function rewriteSection(
  section: string,
  body: string,
  step: E2aeStep,
  req: RewriteMedia,
  opts: Required<RewriteOptions>,
): SectionResult {
  const mi = req.mline;
  const info = readMedia(body)[mi];
  const problem = (code: RewriteProblemCode, message: string): SectionResult => ({
    problem: { mline: mi, code, message },
  });
  if (!info || info.malformed) return problem("E_REWRITE_MLINE", `m-line ${mi} is missing or malformed`);
  const family: RewriteFamily | undefined =
    info.kind === "msrp"
      ? "msrp"
      : info.kind === "bfcp"
        ? "bfcp"
        : info.kind === "dc" || info.kind === "sctp"
          ? "dc"
          : undefined;
  if (family === undefined) return problem("E_REWRITE_MLINE", `m-line ${mi} (${info.proto}) is not MSRP, BFCP or DC`);
  const leg = legForStep(step);
  const kind = kindOfStep(step);
  const toTls = leg === "access";

  // The proto the step expects on input and writes on output.
  let toProto = info.proto;
  if (family !== "dc") {
    const from = step === "originating-offer" || step === "terminating-answer" ? TLS[family] : PLAIN[family];
    toProto = toTls ? TLS[family] : PLAIN[family];
    // TR 29.828 step 8 (originating) acts on TCP/TLS/…, step 8 (terminating) on TCP/…; the answers echo the offer's
    // proto (RFC 3264 §6), which the core (TCP/…) or the UE (TCP/TLS/…) may have got wrong: tolerated if the family
    // matches, any other proto is refused.
    if (info.proto !== from && info.proto !== (from === TLS[family] ? PLAIN[family] : TLS[family]))
      return problem("E_REWRITE_PROTO", `m-line ${mi} proto ${info.proto} does not fit ${step}`);
    if (kind === "offer" && info.proto !== from)
      return problem("E_REWRITE_PROTO", `m-line ${mi} proto ${info.proto} does not fit ${step} (expected ${from})`);
  } else if (info.security !== "dtls") {
    return problem("E_REWRITE_PROTO", `data channel m-line ${mi} proto ${info.proto} is not DTLS`);
  }

  const setupValue = info.setup ?? null;
  // The AGW side of this leg signals the kept value (as offerer in an offer, as answerer in an answer).
  const role = effectiveRole(setupValue, kind);
  const agwTcpRole: "active" | "passive" | null = role === "active" || role === "passive" ? role : null;
  const securedLeg = family === "dc" || toTls;
  const changeBase = {
    mline: mi,
    step,
    clause: clauseFor(step, family),
    leg,
    family,
    proto: { from: info.proto, to: toProto },
    setup: { value: setupValue, agwTcpRole, agwTlsRole: securedLeg ? tlsRoleOf(agwTcpRole) : null },
  };
  const mediaConn = /^c=(.*)$/m.exec(section.replace(/\r/g, ""));
  const connFrom = mediaConn?.[1] ?? null;

  // RFC 3264 §6: a rejected stream keeps port 0; only the proto is restored for the receiver's offer/answer state.
  if (info.rejected) {
    const s = toProto === info.proto ? section : setMediaProto(section, toProto);
    return {
      section: s,
      change: {
        ...changeBase,
        port: { from: info.port, to: info.port },
        connection: { from: connFrom, to: connFrom },
        removed: [],
        inserted: [],
        rejected: true,
      },
    };
  }

  const agw = req.agw;
  if (!agw) throw new PcscfError("E_REWRITE_ARGS", `m-line ${mi}: AGW leg data missing`, { details: { mline: mi } });
  checkLeg(mi, agw, securedLeg);

  let s = section;
  // What goes away, in the original order: indications, the peer's (D)TLS identity, ICE (see below).
  const removed = attrLinesWhere(
    section,
    (n) => n === "3ge2ae" || n === "fingerprint" || n === "tls-id" || ICE_ATTRS.has(n),
  );
  const inserted: string[] = [];

  // m-line port and c= (TR 29.828 step 8/19/17: "inserts the address information received from the IMS-AGW").
  s = setMediaPort(s, agw.port);
  if (toProto !== info.proto) s = setMediaProto(s, toProto);
  const connTo = `IN ${addrType(agw.address)} ${agw.address}`;
  s = setConnectionLine(s, connTo);

  // TR 29.828 §5.2.1.2.2 step 8: remove "a=3ge2ae:requested"; §5.2.1.2.3 step 17: the answer to the core carries
  // no indication; step 8 (terminating) adds "applied" (below), so any 3ge2ae from the core goes first.
  s = removeAttributes(s, "3ge2ae");

  // TS 24.186 §9.3.3.2.1: an anchor replaces c= and the m-line port (no ICE); far-end ICE attributes would bypass it.
  s = removeAttributes(s, (name) => ICE_ATTRS.has(name));

  // Fingerprints: the peer's never cross the AGW (steps 8/17 remove them); a TLS/DTLS leg gets the AGW's
  // (step 19 / step 8 terminating: "includes the fingerprint of the IMS-AGW's certificate", RFC 8122 §5).
  const newFp = securedLeg ? (agw.fingerprints ?? []).map((fp) => `a=fingerprint:${formatFingerprint(fp)}`) : [];
  const hadFp = attrLines(s, "fingerprint").length > 0;
  if (hadFp && newFp.length > 0) s = replaceAttributes(s, "fingerprint", newFp);
  else {
    s = removeAttributes(s, "fingerprint");
    if (newFp.length > 0) s = insertAttributes(s, newFp);
  }
  inserted.push(...newFp);

  // tls-id (RFC 8842 §4): the AGW's association on a secured leg has its own identity; none on a plain leg.
  const newTlsId =
    !securedLeg || agw.tlsId === null
      ? undefined
      : typeof agw.tlsId === "string"
        ? agw.tlsId
        : family === "dc"
          ? generateTlsId()
          : undefined;
  const hadTlsId = attrLines(s, "tls-id").length > 0;
  if (newTlsId !== undefined && hadTlsId) s = replaceAttributes(s, "tls-id", [`a=tls-id:${newTlsId}`]);
  else {
    s = removeAttributes(s, "tls-id");
    if (newTlsId !== undefined) s = insertAttributes(s, [`a=tls-id:${newTlsId}`]);
  }
  if (newTlsId !== undefined) inserted.push(`a=tls-id:${newTlsId}`);

  // MSRP a=path (the seed is silent; docs/pcscf-alg.md "MSRP a=path").
  let path: { from: string; to: string } | undefined;
  if (family === "msrp" && opts.msrpPath === "rewrite-last") {
    const pathLine = attrLines(s, "path")[0];
    const parsed = pathLine === undefined ? undefined : parseMsrpPath(pathLine.slice("a=path:".length));
    if (!pathLine || !parsed?.ok || !parsed.value)
      return problem("E_REWRITE_PATH", `MSRP m-line ${mi} has no parseable a=path (RFC 4975 §9)`);
    const to = `a=path:${formatMsrpPath(rewritePath(parsed.value, agw, toTls))}`;
    if (to !== pathLine) {
      s = replaceAttributes(s, "path", [to]);
      path = { from: pathLine, to };
    }
  }

  // a=3ge2ae:applied — TR 29.828 §5.2.1.2.3 / §5.2.1.3.3 step 8 (offer to the terminating UE); in the answer to the
  // originating UE only when configured (TR 29.828 §5.2.1.2.2 step 19 names only proto and fingerprint).
  const applied =
    req.applied ?? (step === "terminating-offer" ? true : step === "originating-answer" ? opts.appliedInAnswer : false);
  if (applied && leg === "access") {
    s = insertAttributes(s, ["a=3ge2ae:applied"]);
    inserted.push("a=3ge2ae:applied");
  }

  return {
    section: s,
    change: {
      ...changeBase,
      port: { from: info.port, to: agw.port },
      connection: { from: connFrom, to: connTo },
      ...(path ? { path } : {}),
      removed,
      inserted,
      rejected: false,
    },
  };
}

/**
 * Applies one e2ae step to the listed m-lines of a body. Bad SDP yields `problems` (ok false), never an exception;
 * a contract violation by the caller (missing/invalid AGW data, unknown m-line) throws PcscfError E_REWRITE_ARGS.
 */
export function rewriteE2ae(
  body: Uint8Array | string,
  step: E2aeStep,
  media: readonly RewriteMedia[],
  options: RewriteOptions = {},
): RewriteResult {
  const opts: Required<RewriteOptions> = {
    msrpPath: options.msrpPath ?? "rewrite-last",
    appliedInAnswer: options.appliedInAnswer ?? false,
  };
  const text = bodyText(body);
  const count = splitSections(text).media.length;
  const seen = new Set<number>();
  for (const r of media) {
    if (!Number.isInteger(r.mline) || r.mline < 0 || r.mline >= count)
      throw new PcscfError("E_REWRITE_ARGS", `m-line ${r.mline} does not exist (body has ${count})`);
    if (seen.has(r.mline)) throw new PcscfError("E_REWRITE_ARGS", `m-line ${r.mline} listed twice`);
    seen.add(r.mline);
  }
  let out = text;
  const changes: MediaChange[] = [];
  const problems: RewriteProblem[] = [];
  for (const r of [...media].sort((a, b) => a.mline - b.mline)) {
    const section = splitSections(out).media[r.mline]?.text ?? "";
    const res = rewriteSection(section, text, step, r, opts);
    if (res.problem) problems.push(res.problem);
    if (res.section !== undefined && res.change) {
      out = replaceMediaSection(out, r.mline, res.section);
      changes.push(res.change);
    }
  }
  return { ok: problems.length === 0, body: out, changes, problems };
}

/**
 * Applies an IMS-ALG decision: rewrites the e2ae m-lines (`decision.anchors.e2ae`) with the AGW legs reserved for
 * them; a "forward" decision returns the body unchanged. `appliedInAnswer` is honoured only for m-lines whose offer
 * carried `a=3ge2ae:requested` (not for the RCS policy, TR 29.828 §5.2.1.2.2 NOTE 1).
 */
export function applyDecision(
  body: Uint8Array | string,
  decision: AlgDecision,
  legs: ReadonlyMap<number, AgwLegSdp> | Readonly<Record<number, AgwLegSdp>>,
  config: Pick<AlgConfig, "msrpPath" | "appliedInAnswer">,
): RewriteResult {
  const text = bodyText(body);
  if (decision.action === "refuse")
    throw new PcscfError("E_REWRITE_ARGS", "a refused decision has no body to send", {
      details: { callId: decision.callId },
    });
  const items = decision.perMedia.filter((p) => p.decision === "e2ae" && p.step !== undefined);
  const first = items[0];
  if (!first?.step) return { ok: true, body: text, changes: [], problems: [] };
  const step = first.step;
  const get = (i: number): AgwLegSdp | undefined =>
    legs instanceof Map ? legs.get(i) : (legs as Record<number, AgwLegSdp>)[i];
  const media: RewriteMedia[] = items.map((p) => {
    const agw = get(p.mline);
    const r: RewriteMedia = { mline: p.mline };
    if (agw) r.agw = agw;
    if (step === "originating-answer") r.applied = config.appliedInAnswer && p.requestedInOffer === true;
    return r;
  });
  return rewriteE2ae(text, step, media, { msrpPath: config.msrpPath, appliedInAnswer: config.appliedInAnswer });
}

// ---- extraction for the Iq procedures -------------------------------------------------------------------------

export interface IqMediaInfo {
  mline: number;
  family: RewriteFamily | "other";
  media: string;
  proto: string;
  /** Port 0 or malformed m= line. */
  rejected: boolean;
  /** Effective connection address (media c=, else session c=; RFC 8866 §5.7), null when absent. */
  address: string | null;
  addrType: string | null;
  port: number;
  /** Usable fingerprints, media level else session level (RFC 8122 §5); the AGW verifies the peer against them. */
  fingerprints: Fingerprint[];
  tlsId: string | null;
  /** a=setup as signalled (effective: media, else session), null when absent. */
  setup: SetupRole | null;
  /** With the RFC 4145 §4 default applied (offer active, answer passive). */
  effectiveSetup: SetupRole;
  /**
   * TCP role of the AGW termination facing the sender of this SDP (RFC 4145 §4: peer active ⇒ AGW passive, peer
   * passive ⇒ AGW active); null when the sender offered actpass (the answer decides) or holdconn.
   */
  agwTcpRole: "active" | "passive" | null;
  /** (D)TLS role of that termination when this SDP's proto is TLS/DTLS (active ⇒ client, RFC 5763 §5). */
  agwTlsRole: "client" | "server" | null;
  /** MSRP a=path URIs as written (RFC 4975 §9), null when absent or not MSRP. */
  msrpPath: string[] | null;
  /** session-id of the last path URI (the sender's own URI), null when none. */
  msrpSessionId: string | null;
}

/**
 * What the Iq procedures need from each m-line of an SDP (TR 29.828 steps 5-7 / 13-16: remote address, port,
 * remote fingerprint, TLS setup direction). For BFCP on the terminating side the seed has the IMS-AGW start TLS
 * regardless of the TCP role (TR 29.828 §5.2.1.3.3 steps 2-4/12; TR 29.828 §4.3.3.1.4 ties the TLS role to the BFCP
 * role, not to the TCP setup): pass `{ step }` to apply it.
 */
export function extractIqMedia(
  body: Uint8Array | string,
  kind: SdpKind,
  opts: { step?: E2aeStep } = {},
): IqMediaInfo[] {
  const text = bodyText(body);
  return readMedia(text).map((m): IqMediaInfo => {
    const family: IqMediaInfo["family"] =
      m.kind === "msrp" ? "msrp" : m.kind === "bfcp" ? "bfcp" : m.kind === "dc" || m.kind === "sctp" ? "dc" : "other";
    const setup = m.setup ?? null;
    const eff = effectiveRole(setup, kind);
    // RFC 4145 §4: the AGW takes the opposite TCP role of the sender; actpass/holdconn leave it open.
    const agwTcpRole: "active" | "passive" | null = eff === "active" ? "passive" : eff === "passive" ? "active" : null;
    const secured = m.security === "tls" || m.security === "dtls";
    let agwTlsRole = secured ? tlsRoleOf(agwTcpRole) : null;
    // TR 29.828 §5.2.1.3.3 steps 2-4: "The IMS-ALG instructs the IMS-AGW to start the establishment of the TLS session".
    if (secured && family === "bfcp" && opts.step?.startsWith("terminating")) agwTlsRole = "client";
    const path = m.msrp?.path;
    const last = path?.[path.length - 1];
    return {
      mline: m.index,
      family,
      media: m.media,
      proto: m.proto,
      rejected: m.rejected,
      address: m.connection?.address ?? null,
      addrType: m.connection?.addrType ?? null,
      port: m.port,
      fingerprints: m.fingerprints,
      tlsId: m.tlsId ?? null,
      setup,
      effectiveSetup: eff,
      agwTcpRole,
      agwTlsRole,
      msrpPath: path ? formatMsrpPath(path).split(" ") : null,
      msrpSessionId: last?.sessionId ?? null,
    };
  });
}
