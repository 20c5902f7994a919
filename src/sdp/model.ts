/**
 * Attribute-level model of an SDP: every attribute we own is decoded with its codec, placement and multiplicity
 * are checked, effective values (media level overriding session level) are computed, and per-m-line findings are
 * produced. Role-specific (offer/answer) rules are in `validate.ts`.
 */
import {
  type FloorCtrlRole,
  type FloorId,
  isBfcpProto,
  parseBfcpVer,
  parseConfId,
  parseFloorCtrl,
  parseFloorId,
  parseUserId,
} from "./bfcp.ts";
import { classifyStreamId, type DcMap, type DcSa, parseDcMap, parseDcSa } from "./dcmap.ts";
import { type E2ae, parse3ge2ae } from "./e2ae.ts";
import { type Finding, type FindingCode, makeFinding, type Parsed, problemToFinding } from "./findings.ts";
import { type Fingerprint, hasSha256OrStronger, parseFingerprint } from "./fingerprint.ts";
import { checkCandidate, parseIcePwd, parseIceUfrag } from "./ice.ts";
import { isMsrpProto, type MsrpUri, parseAcceptTypes, parseAcceptWrappedTypes, parseMsrpPath } from "./msrp.ts";
import {
  type ParsedSdp,
  type ParseOptions,
  parseSdp,
  type SdpAttribute,
  type SdpConnectionData,
  type SdpOrigin,
} from "./parse.ts";
import { parseQosHint, type QosHint } from "./qos.ts";
import { DC_FMT, LEGACY_SCTP_PROTO, parseMaxMessageSize, parseSctpMap, parseSctpPort, type SctpMap } from "./sctp.ts";
import { type ConnectionValue, parseConnection, parseSetup, type SetupRole } from "./setup.ts";
import { parseTlsId } from "./tlsid.ts";

export type MediaKind = "dc" | "sctp" | "msrp" | "bfcp" | "audio" | "video" | "other";
/** Transport security family of a proto: DTLS (UDP/DTLS/SCTP, UDP/TLS/RTP/SAVP, …), TLS over TCP, SDES-SRTP, none. */
export type TransportSecurity = "dtls" | "tls" | "srtp" | "none";

export interface IceInfo {
  ufrag?: string;
  pwd?: string;
  /** `a=ice-lite` at session level (RFC 8839 §5.3). */
  lite: boolean;
  options?: string[];
  /** Candidate attribute values (after "candidate:"), as strings. */
  candidates: string[];
  endOfCandidates: boolean;
}

export interface SessionInfo {
  origin?: SdpOrigin;
  name?: string;
  connection?: SdpConnectionData;
  fingerprints: Fingerprint[];
  setup?: SetupRole;
  connectionAttr?: ConnectionValue;
  ice: IceInfo;
}

export interface MsrpInfo {
  path?: MsrpUri[];
  acceptTypes?: string[];
  acceptWrappedTypes?: string[];
}

export interface BfcpInfo {
  floorctrl?: FloorCtrlRole[];
  confid?: string;
  userid?: string;
  floorids: FloorId[];
  bfcpver?: number[];
}

export interface MediaInfo {
  /** 0-based m-line index. */
  index: number;
  /** 1-based line number of the m= line. */
  line: number;
  /** Character range [start, end) of the m-section in the text. */
  range: [number, number];
  media: string;
  port: number;
  proto: string;
  fmts: string[];
  /** true when the m= line could not be parsed (other fields are then empty). */
  malformed: boolean;
  /** Port 0: the m-line is rejected/disabled (RFC 3264 §6). */
  rejected: boolean;
  kind: MediaKind;
  security: TransportSecurity;
  mid?: string;
  /** Effective connection data (media level, else session level). */
  connection?: SdpConnectionData;
  bandwidths: Array<{ type: string; value: string }>;
  /** Effective usable fingerprints (media level if the m-section has any fingerprint line, else session level). */
  fingerprints: Fingerprint[];
  fingerprintLevel: "media" | "session" | "none";
  /** Effective setup (media, else session); undefined when absent (RFC 4145 §4 defaults then apply). */
  setup?: SetupRole;
  connectionAttr?: ConnectionValue;
  tlsId?: string;
  /** Explicit values only; see `readDcMedia` for defaults. */
  sctpPort?: number;
  maxMessageSize?: number;
  sctpmap?: SctpMap;
  dcmaps: DcMap[];
  /** Line numbers of `dcmaps`, same order. */
  dcmapLines: number[];
  dcsas: DcSa[];
  qosHint?: QosHint;
  /** The 3ge2ae values present (valid tokens, including ones that are ignored). */
  e2ae: E2ae[];
  msrp?: MsrpInfo;
  bfcp?: BfcpInfo;
  ice: IceInfo;
  /** Raw attributes of the m-section, in order. */
  attributes: SdpAttribute[];
  /** First line number of each attribute name in the m-section. */
  attrLine: Record<string, number>;
}

export interface SdpModel {
  parsed: ParsedSdp;
  session: SessionInfo;
  media: MediaInfo[];
  /** Structural + attribute findings (no offer/answer role rules). */
  findings: Finding[];
}

interface AttrSpec {
  level: "session" | "media" | "both";
  single: boolean;
  clause: string;
}

// Placement and multiplicity of the attributes this layer owns.
const ATTRS: Record<string, AttrSpec> = {
  fingerprint: { level: "both", single: false, clause: "RFC 8122 §5" }, // RFC 8122 §5: session or media level, several allowed
  setup: { level: "both", single: true, clause: "RFC 4145 §4" }, // RFC 4145 §10: session- and media-level
  connection: { level: "both", single: true, clause: "RFC 4145 §5" }, // RFC 4145 §10: session- and media-level
  "tls-id": { level: "media", single: true, clause: "RFC 8842 §4" }, // RFC 8842 §4: media level, at most one
  "sctp-port": { level: "media", single: true, clause: "RFC 8841 §5" }, // RFC 8841 §5: media level, one per m-line
  "max-message-size": { level: "media", single: true, clause: "RFC 8841 §6" }, // RFC 8841 §6: media level, one
  sctpmap: { level: "media", single: true, clause: "RFC 8841 §4" },
  dcmap: { level: "media", single: false, clause: "RFC 8864 §5.1" }, // RFC 8864 §5.1: media level
  dcsa: { level: "media", single: false, clause: "RFC 8864 §5.2" }, // RFC 8864 §5.2: media level
  "3gpp-qos-hint": { level: "media", single: true, clause: "TS 26.114 Annex M.11" }, // TS 26.114 M.11: media level
  "3ge2ae": { level: "media", single: false, clause: "TS 24.229 §7.5.2" }, // TS 24.229 §7.5.2.3: media level
  path: { level: "media", single: true, clause: "RFC 4975 §8.1" },
  "accept-types": { level: "media", single: true, clause: "RFC 4975 §8.1" },
  "accept-wrapped-types": { level: "media", single: true, clause: "RFC 4975 §8.1" },
  floorctrl: { level: "media", single: true, clause: "RFC 8856 §5.1" },
  confid: { level: "media", single: true, clause: "RFC 8856 §5.2" },
  userid: { level: "media", single: true, clause: "RFC 8856 §5.3" },
  floorid: { level: "media", single: false, clause: "RFC 8856 §5.4" },
  bfcpver: { level: "media", single: true, clause: "RFC 8856 §5.5" },
  "ice-ufrag": { level: "both", single: true, clause: "RFC 8839 §5.4" }, // RFC 8839 §5.4: session or media level
  "ice-pwd": { level: "both", single: true, clause: "RFC 8839 §5.4" },
  "ice-lite": { level: "session", single: true, clause: "RFC 8839 §5.3" }, // RFC 8839 §5.3: session level only
  "ice-options": { level: "both", single: true, clause: "RFC 8839 §5.6" },
  candidate: { level: "media", single: false, clause: "RFC 8839 §5.1" }, // RFC 8839 §5.1: media level
  mid: { level: "media", single: true, clause: "RFC 5888 §4" }, // RFC 5888 §4: media level
};

const DC_ATTRS = new Set(["sctp-port", "max-message-size", "sctpmap", "dcmap", "dcsa"]);
const MSRP_ATTRS = new Set(["path", "accept-types", "accept-wrapped-types"]);
const BFCP_ATTRS = new Set(["floorctrl", "confid", "userid", "floorid", "bfcpver"]);

/** Classifies an m-line by media type, proto and fmt. */
export function classifyMedia(media: string, proto: string, fmts: readonly string[]): MediaKind {
  // RFC 8841 §4 / TS 26.114 §6.2.10.1: m=application <port> UDP/DTLS/SCTP webrtc-datachannel
  if (proto === "UDP/DTLS/SCTP" || proto === "TCP/DTLS/SCTP") return fmts.includes(DC_FMT) ? "dc" : "sctp";
  if (proto === LEGACY_SCTP_PROTO) return "dc";
  if (media === "message" && isMsrpProto(proto)) return "msrp";
  if (isBfcpProto(proto)) return "bfcp";
  if (media === "audio") return "audio";
  if (media === "video") return "video";
  return "other";
}

/** Security family of a proto (RFC 8841, RFC 5764, RFC 4975, RFC 8856, RFC 7345, RFC 4568 naming). */
export function transportSecurity(proto: string): TransportSecurity {
  // RFC 8841 §4 (…/DTLS/SCTP), RFC 5764 §8 (UDP/TLS/RTP/SAVP), RFC 7345 (UDP/TLS/UDPTL), RFC 8856 (UDP/TLS/BFCP): DTLS
  if (proto.includes("DTLS") || proto.startsWith("UDP/TLS/")) return "dtls";
  // RFC 4975 / RFC 8856 / RFC 4572: TCP/TLS/… is TLS over TCP (TCP/WSS/BFCP is secured by the WebSocket layer)
  if (proto.startsWith("TCP/TLS/") || proto === "TCP/TLS") return "tls";
  // RFC 4568: RTP/SAVP(F) without DTLS is SDES-SRTP
  if (/(^|\/)SAVPF?$/.test(proto)) return "srtp";
  return "none";
}

/** RFC 4145 §3/§8: connection-oriented protos start with "TCP" (setup/connection apply). */
export function isTcpProto(proto: string): boolean {
  return proto === "TCP" || proto.startsWith("TCP/");
}

function emptyIce(): IceInfo {
  return { lite: false, candidates: [], endOfCandidates: false };
}

/** Builds the model and its findings. Never throws. */
export function analyzeSdp(input: string | ParsedSdp, opts: ParseOptions = {}): SdpModel {
  const parsed =
    typeof input === "object" && input !== null && Array.isArray(input.lines)
      ? input
      : parseSdp(typeof input === "string" ? input : "", opts);
  const findings: Finding[] = [...parsed.findings];
  const addP = <T>(r: Parsed<T>, line: number, mline?: number): T | undefined => {
    for (const p of r.problems) findings.push(problemToFinding(p, { line, mline }));
    return r.value;
  };
  const add = (code: FindingCode, message: string, line?: number, mline?: number, clause?: string): void => {
    findings.push(makeFinding(code, message, { line, mline, clause }));
  };

  // ---- session level ------------------------------------------------------------------------------------------
  const session: SessionInfo = { fingerprints: [], ice: emptyIce() };
  const ps = parsed.session;
  if (ps.origin) session.origin = ps.origin;
  if (ps.name !== undefined) session.name = ps.name;
  if (ps.connection) session.connection = ps.connection;
  const seenSession = new Map<string, number>();
  for (const a of ps.attributes) {
    const spec = ATTRS[a.name];
    if (!spec) continue;
    if (spec.level === "media") {
      // TS 24.229 §7.5.2.3: 3ge2ae is media level only.
      if (a.name === "3ge2ae")
        add("E_3GE2AE_SESSION_LEVEL", "a=3ge2ae at session level is invalid (media-level attribute)", a.line);
      else
        add(
          "E_ATTR_LEVEL",
          `a=${a.name} is a media-level attribute but appears at session level`,
          a.line,
          undefined,
          spec.clause,
        );
      continue;
    }
    if (spec.single) {
      const first = seenSession.get(a.name);
      if (first !== undefined) {
        add(
          "E_ATTR_DUPLICATE",
          `a=${a.name} repeated at session level (first on line ${first})`,
          a.line,
          undefined,
          spec.clause,
        );
        continue;
      }
      seenSession.set(a.name, a.line);
    }
    const v = a.value ?? "";
    switch (a.name) {
      case "fingerprint": {
        const r = parseFingerprint(v);
        addP(r, a.line);
        if (r.ok && r.value) session.fingerprints.push(r.value);
        break;
      }
      case "setup": {
        const s = addP(parseSetup(v), a.line);
        if (s) session.setup = s;
        break;
      }
      case "connection": {
        const c = addP(parseConnection(v), a.line);
        if (c) session.connectionAttr = c;
        break;
      }
      case "ice-ufrag": {
        const u = addP(parseIceUfrag(v), a.line);
        if (u !== undefined) session.ice.ufrag = u;
        break;
      }
      case "ice-pwd": {
        const p = addP(parseIcePwd(v), a.line);
        if (p !== undefined) session.ice.pwd = p;
        break;
      }
      case "ice-lite":
        session.ice.lite = true;
        break;
      case "ice-options":
        session.ice.options = v.split(" ").filter((x) => x !== "");
        break;
      default:
        break;
    }
  }
  if (ps.attributes.some((a) => a.name === "end-of-candidates")) session.ice.endOfCandidates = true;

  // ---- media level --------------------------------------------------------------------------------------------
  const media: MediaInfo[] = [];
  for (const sec of parsed.media) {
    const ml = sec.mline;
    const mi = sec.index;
    const info: MediaInfo = {
      index: mi,
      line: sec.mlineNumber,
      range: [sec.start, sec.end],
      media: ml?.media ?? "",
      port: ml?.port ?? 0,
      proto: ml?.proto ?? "",
      fmts: ml?.fmts ?? [],
      malformed: ml === undefined,
      rejected: ml === undefined || ml.port === 0,
      kind: ml ? classifyMedia(ml.media, ml.proto, ml.fmts) : "other",
      security: ml ? transportSecurity(ml.proto) : "none",
      bandwidths: sec.bandwidths.map((b) => ({ type: b.type, value: b.value })),
      fingerprints: [],
      fingerprintLevel: "none",
      dcmaps: [],
      dcmapLines: [],
      dcsas: [],
      e2ae: [],
      ice: { ...emptyIce(), lite: session.ice.lite },
      attributes: sec.attributes,
      attrLine: {},
    };
    const conn = sec.connection ?? session.connection;
    if (conn) info.connection = conn;
    const seen = new Map<string, number>();
    const mediaFps: Fingerprint[] = [];
    let mediaFpLines = 0;
    const dcsaLines: number[] = [];
    const e2aeLines: number[] = [];
    const bfcp: BfcpInfo = { floorids: [] };
    const msrp: MsrpInfo = {};

    for (const a of sec.attributes) {
      if (info.attrLine[a.name] === undefined) info.attrLine[a.name] = a.line;
      const spec = ATTRS[a.name];
      if (!spec) continue;
      if (spec.level === "session") {
        add(
          "E_ATTR_LEVEL",
          `a=${a.name} is a session-level attribute but appears in m-line ${mi}`,
          a.line,
          mi,
          spec.clause,
        );
        continue;
      }
      if (spec.single) {
        const first = seen.get(a.name);
        if (first !== undefined) {
          // RFC 8842 §4: at most one tls-id per m-line.
          if (a.name === "tls-id")
            add("E_TLSID_DUPLICATE", `second a=tls-id in m-line ${mi} (first on line ${first})`, a.line, mi);
          else
            add(
              "E_ATTR_DUPLICATE",
              `a=${a.name} repeated in m-line ${mi} (first on line ${first})`,
              a.line,
              mi,
              spec.clause,
            );
          continue;
        }
        seen.set(a.name, a.line);
      }
      const notFor =
        (DC_ATTRS.has(a.name) && info.kind !== "dc" && info.kind !== "sctp") ||
        (MSRP_ATTRS.has(a.name) && info.kind !== "msrp") ||
        (BFCP_ATTRS.has(a.name) && info.kind !== "bfcp");
      if (notFor && ml) {
        add(
          "W_ATTR_IGNORED",
          `a=${a.name} has no meaning on a ${ml.media} ${ml.proto} m-line`,
          a.line,
          mi,
          spec.clause,
        );
        continue;
      }
      const v = a.value ?? "";
      switch (a.name) {
        case "fingerprint": {
          mediaFpLines++;
          const r = parseFingerprint(v);
          addP(r, a.line, mi);
          if (r.ok && r.value) mediaFps.push(r.value);
          break;
        }
        case "setup": {
          const s = addP(parseSetup(v), a.line, mi);
          if (s) info.setup = s;
          break;
        }
        case "connection": {
          const c = addP(parseConnection(v), a.line, mi);
          if (c) info.connectionAttr = c;
          break;
        }
        case "tls-id": {
          const t = addP(parseTlsId(v), a.line, mi);
          if (t !== undefined) info.tlsId = t;
          if (info.security === "none" || info.security === "srtp") {
            add("W_ATTR_IGNORED", `a=tls-id on a non-TLS/DTLS m-line (${info.proto})`, a.line, mi, "RFC 8842 §4");
          }
          break;
        }
        case "sctp-port": {
          const p = addP(parseSctpPort(v), a.line, mi);
          if (p !== undefined) info.sctpPort = p;
          break;
        }
        case "max-message-size": {
          const s = addP(parseMaxMessageSize(v), a.line, mi);
          if (s !== undefined) info.maxMessageSize = s;
          break;
        }
        case "sctpmap": {
          const s = addP(parseSctpMap(v), a.line, mi);
          if (s) info.sctpmap = s;
          break;
        }
        case "dcmap": {
          const d = addP(parseDcMap(v), a.line, mi);
          if (d) {
            info.dcmaps.push(d);
            info.dcmapLines.push(a.line);
          }
          break;
        }
        case "dcsa": {
          const d = addP(parseDcSa(v), a.line, mi);
          if (d) {
            info.dcsas.push(d);
            dcsaLines.push(a.line);
          }
          break;
        }
        case "3gpp-qos-hint": {
          const q = addP(parseQosHint(v), a.line, mi);
          if (q) info.qosHint = q;
          break;
        }
        case "3ge2ae": {
          const x = addP(parse3ge2ae(v), a.line, mi);
          if (x) {
            info.e2ae.push(x);
            e2aeLines.push(a.line);
          }
          break;
        }
        case "path": {
          const p = addP(parseMsrpPath(v), a.line, mi);
          if (p) msrp.path = p;
          break;
        }
        case "accept-types": {
          const t = addP(parseAcceptTypes(v), a.line, mi);
          if (t) msrp.acceptTypes = t;
          break;
        }
        case "accept-wrapped-types": {
          const t = addP(parseAcceptWrappedTypes(v), a.line, mi);
          if (t) msrp.acceptWrappedTypes = t;
          break;
        }
        case "floorctrl": {
          const r = addP(parseFloorCtrl(v), a.line, mi);
          if (r) bfcp.floorctrl = r;
          break;
        }
        case "confid": {
          const r = addP(parseConfId(v), a.line, mi);
          if (r !== undefined) bfcp.confid = r;
          break;
        }
        case "userid": {
          const r = addP(parseUserId(v), a.line, mi);
          if (r !== undefined) bfcp.userid = r;
          break;
        }
        case "floorid": {
          const r = addP(parseFloorId(v), a.line, mi);
          if (r) bfcp.floorids.push(r);
          break;
        }
        case "bfcpver": {
          const r = addP(parseBfcpVer(v), a.line, mi);
          if (r) bfcp.bfcpver = r;
          break;
        }
        case "ice-ufrag": {
          const u = addP(parseIceUfrag(v), a.line, mi);
          if (u !== undefined) info.ice.ufrag = u;
          break;
        }
        case "ice-pwd": {
          const p = addP(parseIcePwd(v), a.line, mi);
          if (p !== undefined) info.ice.pwd = p;
          break;
        }
        case "ice-options":
          info.ice.options = v.split(" ").filter((x) => x !== "");
          break;
        case "candidate": {
          addP(checkCandidate(v), a.line, mi);
          info.ice.candidates.push(v);
          break;
        }
        case "mid":
          info.mid = v;
          break;
        default:
          break;
      }
    }
    if (sec.attributes.some((a) => a.name === "end-of-candidates")) info.ice.endOfCandidates = true;
    if (session.ice.endOfCandidates) info.ice.endOfCandidates = true;

    // RFC 8122 §5: a media-level fingerprint overrides the session-level one; with media-level lines present, only
    // they count (fail closed if none of them is usable).
    if (mediaFpLines > 0) {
      info.fingerprints = mediaFps;
      info.fingerprintLevel = "media";
    } else if (session.fingerprints.length > 0) {
      info.fingerprints = [...session.fingerprints];
      info.fingerprintLevel = "session";
    }
    // RFC 4145 §4/§5: a session-level setup/connection applies to m-lines without their own.
    if (info.setup === undefined && session.setup !== undefined) info.setup = session.setup;
    if (info.connectionAttr === undefined && session.connectionAttr !== undefined)
      info.connectionAttr = session.connectionAttr;
    // RFC 8839 §5.4: media-level ice-ufrag/ice-pwd override session-level ones.
    if (info.ice.ufrag === undefined && session.ice.ufrag !== undefined) info.ice.ufrag = session.ice.ufrag;
    if (info.ice.pwd === undefined && session.ice.pwd !== undefined) info.ice.pwd = session.ice.pwd;
    if (info.ice.options === undefined && session.ice.options !== undefined) info.ice.options = session.ice.options;
    if (info.kind === "msrp") info.msrp = msrp;
    if (info.kind === "bfcp") info.bfcp = bfcp;

    if (ml) checkMedia(info, { add, dcsaLines, e2aeLines });
    media.push(info);
  }

  // TS 26.114 §6.2.10.1: a data channel media description shall not be placed before the first speech one.
  const firstAudio = media.findIndex((m) => m.media === "audio");
  if (firstAudio > 0) {
    for (const m of media.slice(0, firstAudio)) {
      if (m.kind === "dc")
        add(
          "W_DC_BEFORE_AUDIO",
          `data channel m-line ${m.index} comes before the first audio m-line ${firstAudio}`,
          m.line,
          m.index,
        );
    }
  }

  return { parsed, session, media, findings };
}

interface CheckCtx {
  add: (code: FindingCode, message: string, line?: number, mline?: number, clause?: string) => void;
  dcsaLines: number[];
  e2aeLines: number[];
}

function checkMedia(m: MediaInfo, ctx: CheckCtx): void {
  const { add } = ctx;
  const mi = m.index;
  const active = !m.rejected;

  // ---- transport security (RFC 8122, RFC 4145, RFC 5763) ----------------------------------------------------
  const needsFp = m.security === "dtls" || m.security === "tls";
  if (needsFp && active) {
    // RFC 8122 §5 / RFC 5763 §5: a TLS/DTLS m-line needs at least one usable fingerprint.
    if (m.fingerprints.length === 0)
      add("E_FP_MISSING", `m-line ${mi} (${m.proto}) has no usable a=fingerprint`, m.line, mi);
    // RFC 8122 §5.1: SHA-256 MUST be calculated (a stronger hash may replace it).
    else if (!hasSha256OrStronger(m.fingerprints))
      add(
        "W_FP_NO_SHA256",
        `m-line ${mi} offers no sha-256 or stronger fingerprint`,
        m.attrLine.fingerprint ?? m.line,
        mi,
      );
  }
  const setupApplies = m.security === "dtls" || isTcpProto(m.proto);
  if (setupApplies && active && m.setup === undefined) {
    // RFC 4145 §4: absent setup means active in an offer and passive in an answer.
    add("W_SETUP_MISSING", `m-line ${mi} (${m.proto}) has no a=setup; the RFC 4145 default applies`, m.line, mi);
  }
  // RFC 5763 §5: holdconn is not a valid DTLS setup value.
  if (m.security === "dtls" && m.setup === "holdconn")
    add("E_SETUP_HOLDCONN_DTLS", `m-line ${mi} uses setup:holdconn with DTLS`, m.attrLine.setup ?? m.line, mi);
  // RFC 4145 §4: the active endpoint SHOULD use port 9 (TCP without ICE).
  if (isTcpProto(m.proto) && active && m.setup === "active" && m.port !== 9 && m.ice.candidates.length === 0) {
    add("W_TCP_ACTIVE_PORT", `m-line ${mi} is setup:active but uses port ${m.port}, not 9`, m.line, mi);
  }

  // ---- ICE ------------------------------------------------------------------------------------------------------
  // RFC 8839 §5.4: ice-ufrag and ice-pwd come together.
  if (active && (m.ice.ufrag === undefined) !== (m.ice.pwd === undefined)) {
    add(
      "E_ICE_CREDENTIALS",
      `m-line ${mi} has ${m.ice.ufrag === undefined ? "ice-pwd without ice-ufrag" : "ice-ufrag without ice-pwd"}`,
      m.line,
      mi,
    );
  }

  // ---- 3ge2ae ---------------------------------------------------------------------------------------------------
  if (m.e2ae.length > 1)
    add("W_3GE2AE_DUPLICATE", `m-line ${mi} has ${m.e2ae.length} a=3ge2ae lines`, ctx.e2aeLines[1], mi);
  if (m.e2ae.some((x) => x.indicator !== "other") && m.security === "none") {
    // specs §4.6 / TS 23.334 §6.2.10: e2ae applies to TLS/DTLS/SRTP media; on a plain proto it is ignored.
    add(
      "W_3GE2AE_NOT_SECURE",
      `a=3ge2ae on m-line ${mi} whose proto ${m.proto} has no TLS/DTLS/SRTP`,
      ctx.e2aeLines[0],
      mi,
    );
  }

  // ---- data channels (RFC 8841, RFC 8864, TS 26.114, TS 24.186) ---------------------------------------------------
  if (m.kind === "dc" || m.kind === "sctp") {
    // RFC 8841 §4: legacy "DTLS/SCTP <sctp-port>" + a=sctpmap (pre-RFC draft) is accepted with a warning.
    if (m.proto === LEGACY_SCTP_PROTO) add("W_SCTP_LEGACY", `m-line ${mi} uses the legacy DTLS/SCTP form`, m.line, mi);
    // TS 26.114 §6.2.10.1: the DCMTSI proto shall be UDP/DTLS/SCTP.
    if (m.kind === "dc" && m.proto === "TCP/DTLS/SCTP")
      add("W_DC_TCP_PROTO", `m-line ${mi} uses TCP/DTLS/SCTP`, m.line, mi);
    // TS 26.114 §6.2.10.1: the fmt shall be webrtc-datachannel.
    if (m.kind === "sctp") add("W_DC_FMT", `m-line ${mi} fmt ${m.fmts.join(" ")} is not ${DC_FMT}`, m.line, mi);
    checkDcMaps(m, ctx);
  }

  // ---- MSRP (RFC 4975) ------------------------------------------------------------------------------------------
  if (m.kind === "msrp") {
    // RFC 4975 §8.1: the fmt list of an MSRP m-line is "*".
    if (m.fmts.length !== 1 || m.fmts[0] !== "*")
      add("E_MSRP_FMT", `MSRP m-line ${mi} fmt is ${m.fmts.join(" ")}, not *`, m.line, mi);
    if (active) {
      // RFC 4975 §8.1: a=path and a=accept-types are mandatory.
      if (m.attrLine.path === undefined) add("E_MSRP_PATH", `MSRP m-line ${mi} has no a=path`, m.line, mi);
      if (m.attrLine["accept-types"] === undefined)
        add("E_MSRP_ACCEPT_TYPES", `MSRP m-line ${mi} has no a=accept-types`, m.line, mi);
    }
    const tls = m.proto === "TCP/TLS/MSRP";
    const wrong = (m.msrp?.path ?? []).filter((u) => (u.scheme === "msrps") !== tls);
    // RFC 4975 §6: msrps URIs denote TLS; the scheme must match the proto.
    if (wrong.length > 0) {
      add(
        "W_MSRP_SCHEME",
        `MSRP m-line ${mi} (${m.proto}) has ${tls ? "msrp" : "msrps"} URIs in a=path`,
        m.attrLine.path ?? m.line,
        mi,
      );
    }
  }

  // ---- BFCP (RFC 8856) ------------------------------------------------------------------------------------------
  // RFC 8856 §4: the fmt of a BFCP m-line is "*".
  if (m.kind === "bfcp" && (m.fmts.length !== 1 || m.fmts[0] !== "*")) {
    add("E_BFCP_FMT", `BFCP m-line ${mi} (${m.proto}) fmt is ${m.fmts.join(" ")}, not *`, m.line, mi);
  }
}

function checkDcMaps(m: MediaInfo, ctx: CheckCtx): void {
  const { add } = ctx;
  const mi = m.index;
  const ids = new Map<number, number>();
  let local = false;
  let remote = false;
  m.dcmaps.forEach((d, i) => {
    const line = m.dcmapLines[i] ?? m.line;
    const first = ids.get(d.streamId);
    // RFC 8864 §5.1.1 / TS 26.114 §6.2.10.1: stream ids are unique within one m-line.
    if (first !== undefined)
      add("E_DCMAP_DUP_ID", `dcmap stream id ${d.streamId} repeated (first on line ${first})`, line, mi);
    else ids.set(d.streamId, line);
    const cls = classifyStreamId(d.streamId);
    if (cls === "bootstrap-local" || cls === "bootstrap-remote") {
      if (cls === "bootstrap-local") local = true;
      else remote = true;
      // TS 24.186 §9.3.2.2.1: bootstrap data channels use subprotocol "http".
      if (d.subprotocol !== "http") {
        add(
          "E_BOOTSTRAP_SUBPROTOCOL",
          `bootstrap stream id ${d.streamId} has subprotocol ${JSON.stringify(d.subprotocol ?? null)}, not "http"`,
          line,
          mi,
        );
      }
    } else if (cls === "reserved") {
      // TS 26.114 §6.2.10.1: application data channels use stream ids from 1000 up.
      add(
        "W_DC_ID_RESERVED",
        `stream id ${d.streamId} is neither a bootstrap id (0/10/100/110) nor an application id (>= 1000)`,
        line,
        mi,
      );
    }
  });
  // TS 24.186 §9.3.2.2.1: local (0/10) and remote (100/110) bootstrap channels are separate m-lines.
  if (local && remote) add("W_BOOTSTRAP_MIXED", `m-line ${mi} mixes local and remote bootstrap stream ids`, m.line, mi);
  m.dcsas.forEach((s, i) => {
    // RFC 8864 §5.2: a dcsa refers to the stream of a dcmap in the same m-line.
    if (!ids.has(s.streamId))
      add(
        "E_DCSA_UNKNOWN_ID",
        `dcsa for stream id ${s.streamId} has no matching dcmap`,
        ctx.dcsaLines[i] ?? m.line,
        mi,
      );
  });
}
