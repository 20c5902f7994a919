/**
 * SDP for e2ae media on the UE (TR 29.828 §5.2.1.2.x MSRP, §5.2.1.3.x BFCP): builders for the m=message
 * TCP/TLS/MSRP and m=application TCP/TLS/BFCP sections of an offer (with a=3ge2ae:requested) and of an answer,
 * full offer/answer bodies validated with src/sdp, readers for the remote side, and the RFC 4145 / RFC 8856 role
 * decisions (who connects, who is TLS client, who is floor control server). Built on the src/sdp codecs.
 */
import {
  allowedFloorCtrlAnswers,
  type E2aeValue,
  type Finding,
  type Fingerprint,
  type FloorCtrlRole,
  type FloorId,
  formatAcceptTypes,
  formatBfcpVer,
  formatFingerprint,
  formatFloorCtrl,
  formatFloorId,
  formatMsrpUri,
  formatSdpLines,
  type MediaInfo,
  type MsrpUri,
  makeFinding,
  randomSessionId,
  readMedia,
  type SecurityIndication,
  type SetupRole,
  securityIndication,
  validateAnswer,
  validateOffer,
} from "../../sdp/index.ts";
import type { TlsRole } from "./tls.ts";

export type E2aeKind = "msrp" | "bfcp";

export interface SdpAddress {
  address: string;
  /** Inferred from the address when omitted (":" → IP6). */
  addrType?: "IP4" | "IP6";
}

interface CommonMediaOptions {
  /** TCP port; RFC 4145 §4: an `active`-only endpoint SHOULD use port 9. 0 builds a rejected m-line. */
  port: number;
  /** TCP/TLS/… (default) or the plain TCP/… proto. */
  tls?: boolean;
  /** Media-level c= line. */
  connection?: SdpAddress;
  /** RFC 4145 §4 a=setup. */
  setup: SetupRole;
  /** RFC 4145 §5 a=connection (default "new"). */
  connectionAttr?: "new" | "existing";
  /** RFC 8122 §5 a=fingerprint lines (sha-256 or stronger). */
  fingerprints: readonly Fingerprint[];
  /** TS 24.229 §7.5.2 a=3ge2ae value: "requested" in a UE's e2ae offer (TR 29.828 step 1). */
  e2ae?: E2aeValue;
  /** Extra raw "a=…" lines. */
  extraAttributes?: readonly string[];
}

export interface MsrpMediaOptions extends CommonMediaOptions {
  /** RFC 4975 §8.2 a=path (our own URI last). */
  path: ReadonlyArray<string | MsrpUri>;
  /** RFC 4975 §8.6 a=accept-types (mandatory). */
  acceptTypes: readonly string[];
  acceptWrappedTypes?: readonly string[];
}

export interface BfcpMediaOptions extends CommonMediaOptions {
  /** RFC 8856 §5.1 a=floorctrl. */
  floorctrl: readonly FloorCtrlRole[];
  /** RFC 8856 §5.2 a=confid (floor control server side). */
  confid?: number | string;
  /** RFC 8856 §5.3 a=userid (the user id the server assigns to the client). */
  userid?: number | string;
  /** RFC 8856 §5.4 a=floorid lines. */
  floorIds?: ReadonlyArray<number | FloorId>;
  /** RFC 8856 §5.5 a=bfcpver; 1 = BFCP over a reliable transport (RFC 8855 §5.1). */
  bfcpver?: readonly number[];
}

export type E2aeMediaOptions = ({ kind: "msrp" } & MsrpMediaOptions) | ({ kind: "bfcp" } & BfcpMediaOptions);

function connLine(c: SdpAddress): string {
  const type = c.addrType ?? (c.address.includes(":") ? "IP6" : "IP4");
  return `c=IN ${type} ${c.address}`;
}

function commonTail(o: CommonMediaOptions): string[] {
  const lines = [`a=setup:${o.setup}`, `a=connection:${o.connectionAttr ?? "new"}`];
  for (const fp of o.fingerprints) lines.push(`a=fingerprint:${formatFingerprint(fp)}`);
  if (o.e2ae !== undefined) lines.push(`a=3ge2ae:${o.e2ae}`);
  lines.push(...(o.extraAttributes ?? []));
  return lines;
}

/** RFC 4975 §8.1: m=message <port> TCP/TLS/MSRP * with a=path, a=accept-types, setup, fingerprint, 3ge2ae. */
export function buildMsrpMediaLines(o: MsrpMediaOptions): string[] {
  const proto = o.tls === false ? "TCP/MSRP" : "TCP/TLS/MSRP";
  const lines = [`m=message ${o.port} ${proto} *`];
  if (o.connection) lines.push(connLine(o.connection));
  if (o.port === 0) return lines;
  // RFC 4975 §8.1: a=accept-types and a=path are mandatory
  lines.push(`a=accept-types:${formatAcceptTypes(o.acceptTypes)}`);
  if (o.acceptWrappedTypes) lines.push(`a=accept-wrapped-types:${formatAcceptTypes(o.acceptWrappedTypes)}`);
  lines.push(`a=path:${o.path.map((u) => (typeof u === "string" ? u : formatMsrpUri(u))).join(" ")}`);
  return [...lines, ...commonTail(o)];
}

/** RFC 8856 §4-5: m=application <port> TCP/TLS/BFCP * with floorctrl, confid, userid, floorid, bfcpver. */
export function buildBfcpMediaLines(o: BfcpMediaOptions): string[] {
  const proto = o.tls === false ? "TCP/BFCP" : "TCP/TLS/BFCP";
  const lines = [`m=application ${o.port} ${proto} *`];
  if (o.connection) lines.push(connLine(o.connection));
  if (o.port === 0) return lines;
  lines.push(`a=floorctrl:${formatFloorCtrl(o.floorctrl)}`);
  if (o.confid !== undefined) lines.push(`a=confid:${o.confid}`);
  if (o.userid !== undefined) lines.push(`a=userid:${o.userid}`);
  for (const f of o.floorIds ?? []) lines.push(`a=floorid:${typeof f === "number" ? String(f) : formatFloorId(f)}`);
  if (o.bfcpver) lines.push(`a=bfcpver:${formatBfcpVer(o.bfcpver)}`);
  return [...lines, ...commonTail(o)];
}

export function buildE2aeMediaLines(o: E2aeMediaOptions): string[] {
  return o.kind === "msrp" ? buildMsrpMediaLines(o) : buildBfcpMediaLines(o);
}

export interface E2aeSessionOptions {
  origin?: { username?: string; sessionId?: string; sessionVersion?: string; address?: string };
  sessionName?: string;
  /** Session-level c= line. */
  connection: SdpAddress;
}

export interface E2aeBuildResult {
  ok: boolean;
  sdp: string;
  findings: Finding[];
}

function sessionLines(o: E2aeSessionOptions): string[] {
  const addr = o.origin?.address ?? o.connection.address;
  const type = addr.includes(":") ? "IP6" : "IP4";
  // RFC 8866 §5: v= o= s= c= t= in this order
  return [
    "v=0",
    `o=${o.origin?.username ?? "-"} ${o.origin?.sessionId ?? randomSessionId()} ${o.origin?.sessionVersion ?? "1"} IN ${type} ${addr}`,
    `s=${o.sessionName ?? "-"}`,
    connLine(o.connection),
    "t=0 0",
  ];
}

/** A full offer with the given e2ae media sections, validated as an offer (src/sdp findings). Never throws. */
export function buildE2aeOffer(opts: E2aeSessionOptions & { media: readonly E2aeMediaOptions[] }): E2aeBuildResult {
  try {
    const lines = [...sessionLines(opts)];
    for (const m of opts.media) lines.push(...buildE2aeMediaLines(m));
    const sdp = formatSdpLines(lines);
    const v = validateOffer(sdp);
    return { ok: v.ok, sdp, findings: v.findings };
  } catch (e) {
    const msg = e instanceof Error ? e.message : String(e);
    return { ok: false, sdp: "", findings: [makeFinding("E_SDP_SYNTAX", `cannot build the offer: ${msg}`)] };
  }
}

/**
 * A full answer to `offer`: `media[i]` answers m-line i; every other m-line is rejected with port 0 (RFC 3264 §6),
 * keeping its media type, proto and fmt. Validated against the offer. Never throws.
 */
export function buildE2aeAnswer(
  offer: string,
  opts: E2aeSessionOptions & { media: Readonly<Record<number, E2aeMediaOptions>> },
): E2aeBuildResult {
  try {
    const lines = [...sessionLines(opts)];
    for (const m of readMedia(offer)) {
      const mine = opts.media[m.index];
      if (mine) lines.push(...buildE2aeMediaLines(mine));
      // RFC 3264 §6: a rejected stream keeps its m-line with port 0
      else lines.push(`m=${m.media} 0 ${m.proto} ${m.fmts.join(" ")}`);
    }
    const sdp = formatSdpLines(lines);
    const v = validateAnswer(offer, sdp);
    return { ok: v.ok, sdp, findings: v.findings };
  } catch (e) {
    const msg = e instanceof Error ? e.message : String(e);
    return { ok: false, sdp: "", findings: [makeFinding("E_SDP_SYNTAX", `cannot build the answer: ${msg}`)] };
  }
}

// ---------------------------------------------------------------------------------------------------------------
// Readers
// ---------------------------------------------------------------------------------------------------------------

export interface E2aeMedia {
  mline: number;
  kind: E2aeKind;
  media: string;
  proto: string;
  /** TCP/TLS/MSRP or TCP/TLS/BFCP. */
  tls: boolean;
  port: number;
  rejected: boolean;
  /** Effective c= address (media, else session). */
  address?: string;
  setup?: SetupRole;
  connectionAttr?: "new" | "existing";
  /** Usable fingerprints (media, else session level; RFC 8122 §5). */
  fingerprints: Fingerprint[];
  /** 3ge2ae values as written, and what they mean (TS 24.229 §7.5.2). */
  e2aeValues: string[];
  indication: SecurityIndication;
  msrp?: { path: MsrpUri[]; pathText: string[]; acceptTypes: string[]; acceptWrappedTypes?: string[] };
  bfcp?: {
    floorctrl: FloorCtrlRole[];
    confid?: string;
    userid?: string;
    floorIds: FloorId[];
    bfcpver?: number[];
  };
}

function toE2ae(m: MediaInfo): E2aeMedia | undefined {
  if (m.malformed || (m.kind !== "msrp" && m.kind !== "bfcp")) return undefined;
  const values = m.e2ae.map((x) => x.raw);
  const out: E2aeMedia = {
    mline: m.index,
    kind: m.kind,
    media: m.media,
    proto: m.proto,
    tls: m.security === "tls",
    port: m.port,
    rejected: m.rejected,
    fingerprints: m.fingerprints,
    e2aeValues: values,
    indication: securityIndication(values),
  };
  if (m.connection) out.address = m.connection.address;
  if (m.setup !== undefined) out.setup = m.setup;
  if (m.connectionAttr !== undefined) out.connectionAttr = m.connectionAttr;
  if (m.kind === "msrp") {
    const path = m.msrp?.path ?? [];
    out.msrp = { path, pathText: path.map(formatMsrpUri), acceptTypes: m.msrp?.acceptTypes ?? [] };
    if (m.msrp?.acceptWrappedTypes) out.msrp.acceptWrappedTypes = m.msrp.acceptWrappedTypes;
  } else {
    const b = m.bfcp;
    out.bfcp = { floorctrl: b?.floorctrl ?? [], floorIds: b?.floorids ?? [] };
    if (b?.confid !== undefined) out.bfcp.confid = b.confid;
    if (b?.userid !== undefined) out.bfcp.userid = b.userid;
    if (b?.bfcpver !== undefined) out.bfcp.bfcpver = b.bfcpver;
  }
  return out;
}

/** The MSRP and BFCP m-lines of an SDP with effective values (invalid attribute lines left out; validate first). */
export function readE2aeMedia(sdp: string): E2aeMedia[] {
  return readMedia(sdp)
    .map(toE2ae)
    .filter((x): x is E2aeMedia => x !== undefined);
}

// ---------------------------------------------------------------------------------------------------------------
// Role decisions
// ---------------------------------------------------------------------------------------------------------------

/** RFC 4145 §4: the answerer's role for an offered one (actpass → `preferred`). undefined for holdconn. */
export function answerSetupFor(offered: SetupRole | undefined, preferred: "active" | "passive" = "active") {
  // RFC 4145 §4: an offer without a=setup means active
  const o = offered ?? "active";
  if (o === "actpass") return preferred;
  if (o === "active") return "passive" as const;
  if (o === "passive") return "active" as const;
  return undefined;
}

/**
 * RFC 4145 §4: the local TCP role after an exchange. `offerSetup`/`answerSetup` as signalled (defaults: offer
 * active, answer passive). undefined when no connection results (holdconn, or an invalid pair).
 */
export function localTcpRole(args: {
  offerSetup: SetupRole | undefined;
  answerSetup: SetupRole | undefined;
  localIsOfferer: boolean;
}): "active" | "passive" | undefined {
  const o = args.offerSetup ?? "active";
  const a = args.answerSetup ?? "passive";
  const valid =
    (o === "actpass" && (a === "active" || a === "passive")) ||
    (o === "active" && a === "passive") ||
    (o === "passive" && a === "active");
  if (!valid) return undefined;
  const answererActive = a === "active";
  const localActive = args.localIsOfferer ? !answererActive : answererActive;
  return localActive ? "active" : "passive";
}

/**
 * The local TLS role.
 * - MSRP (RFC 4975 §5.4 with RFC 6135 / RFC 4145 §4): the endpoint that opens the TCP connection starts TLS on
 *   it, i.e. the TCP-active endpoint is the TLS client.
 * - BFCP (RFC 8856, carried over from RFC 4583 §7): once TCP is up, the SDP answerer is the TLS server whatever
 *   the TCP roles; this is why the seed's BFCP-terminating IMS-AGW (offerer toward UE B) starts TLS although
 *   UE B opened the TCP connection (TR 29.828 §5.2.1.3.3 steps 2-4, 12).
 */
export function localTlsRole(kind: E2aeKind, tcp: "active" | "passive", localIsOfferer: boolean): TlsRole {
  if (kind === "bfcp") return localIsOfferer ? "client" : "server";
  return tcp === "active" ? "client" : "server";
}

/**
 * RFC 8856 §5.1: the answerer's floorctrl for an offered list (one role). `prefer` picks between c-only and s-only
 * when the offer allows both (default c-only: the UE is a floor participant). undefined when nothing fits.
 */
export function answerFloorCtrl(
  offered: readonly FloorCtrlRole[],
  prefer: "c-only" | "s-only" = "c-only",
): FloorCtrlRole | undefined {
  // RFC 8856 §5.1: an offer without floorctrl means c-only (the offerer is a client)
  const allowed = allowedFloorCtrlAnswers(offered.length > 0 ? offered : ["c-only"]);
  if (allowed.includes(prefer)) return prefer;
  return allowed[0];
}

/** RFC 8856 §5.1: whether the local side is the floor control server after the exchange. */
export function localIsFloorServer(
  localRoles: readonly FloorCtrlRole[],
  remoteRoles: readonly FloorCtrlRole[],
): boolean {
  if (localRoles.length === 1 && localRoles[0] === "s-only") return true;
  if (localRoles.length === 1 && localRoles[0] === "c-only") return false;
  // we offered c-s: the answer's single role decides (answer c-only ⇒ we serve)
  return remoteRoles.length === 1 && remoteRoles[0] === "c-only";
}
