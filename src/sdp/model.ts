/**
 * Attribute-level model of an SDP: every attribute we own is decoded with its codec, placement and multiplicity
 * are checked, effective values (media level overriding session level) are computed, and per-m-line findings are
 * produced (`mediaChecks.ts`). Role-specific (offer/answer) rules are in `validate.ts`.
 */
import { ATTRS, BFCP_ATTRS, classifyMedia, DC_ATTRS, MSRP_ATTRS, transportSecurity } from "./attrTable.ts";
import { parseBfcpVer, parseConfId, parseFloorCtrl, parseFloorId, parseUserId } from "./bfcp.ts";
import { parseBdcUsedBy, parseReqApp } from "./dc3gpp.ts";
import { parseDcMap, parseDcSa } from "./dcmap.ts";
import { parse3ge2ae } from "./e2ae.ts";
import { type Finding, type FindingCode, makeFinding, type Parsed, problemToFinding } from "./findings.ts";
import { type Fingerprint, parseFingerprint } from "./fingerprint.ts";
import { checkCandidate, parseIcePwd, parseIceUfrag } from "./ice.ts";
import { checkMedia } from "./mediaChecks.ts";
import type { BfcpInfo, IceInfo, MediaInfo, MsrpInfo, SdpModel, SessionInfo } from "./mediaInfo.ts";
import { parseAcceptTypes, parseAcceptWrappedTypes, parseMsrpPath } from "./msrp.ts";
import { type ParsedSdp, type ParseOptions, parseSdp } from "./parse.ts";
import { parseQosHint } from "./qos.ts";
import { parseMaxMessageSize, parseSctpMap, parseSctpPort } from "./sctp.ts";
import { parseConnection, parseSetup } from "./setup.ts";
import { parseTlsId } from "./tlsid.ts";

export { classifyMedia, isTcpProto, transportSecurity } from "./attrTable.ts";
export type {
  BfcpInfo,
  IceInfo,
  MediaInfo,
  MediaKind,
  MsrpInfo,
  SdpModel,
  SessionInfo,
  TransportSecurity,
} from "./mediaInfo.ts";

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
      dcsaLines: [],
      reqApps: [],
      reqAppLines: [],
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
            info.dcsaLines.push(a.line);
          }
          break;
        }
        case "3gpp-bdc-used-by": {
          const b = addP(parseBdcUsedBy(v), a.line, mi);
          if (b) info.bdcUsedBy = b;
          break;
        }
        case "3gpp-req-app": {
          const r = addP(parseReqApp(v), a.line, mi);
          if (r) {
            info.reqApps.push(r);
            info.reqAppLines.push(a.line);
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

    if (ml) checkMedia(info, { add, e2aeLines });
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
