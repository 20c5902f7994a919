/**
 * Data channel media description and full-session builders for offers and answers (RFC 8841, RFC 8842, RFC 8864,
 * TS 26.114 §6.2.10). Builders never throw: they return the SDP together with the findings of validating it.
 */
import { answerTlsId, type TlsIdChoice } from "./association.ts";
import { type DcMap, type DcSa, formatDcMap, formatDcSa } from "./dcmap.ts";
import { type E2aeValue, format3ge2ae } from "./e2ae.ts";
import { type Finding, makeFinding } from "./findings.ts";
import { type Fingerprint, formatFingerprint } from "./fingerprint.ts";
import { analyzeSdp, type MediaInfo } from "./model.ts";
import { formatSdpLines } from "./parse.ts";
import { formatQosHint, type QosHint } from "./qos.ts";
import { DC_FMT, formatMaxMessageSize, formatSctpPort, MAX_MESSAGE_SIZE_DEFAULT, SCTP_PORT_DEFAULT } from "./sctp.ts";
import { formatSetup, type SetupRole } from "./setup.ts";
import { generateTlsId } from "./tlsid.ts";
import { validateAnswer, validateOffer } from "./validate.ts";

export interface ConnectionAddress {
  address: string;
  /** Inferred from the address when omitted (":" → IP6). */
  addrType?: "IP4" | "IP6";
}

export interface IceOptions {
  ufrag: string;
  pwd: string;
  /** Candidate values, with or without a leading "a=candidate:" / "candidate:". */
  candidates?: readonly string[];
  endOfCandidates?: boolean;
  options?: readonly string[];
}

export interface DcMediaOptions {
  /** UDP (or TCP) port of the DTLS transport; 0 builds a rejected m-line. */
  port: number;
  proto?: "UDP/DTLS/SCTP" | "TCP/DTLS/SCTP";
  /** Media-level c= line. */
  connection?: ConnectionAddress;
  setup: SetupRole;
  /** Omitted from the m-section when undefined. */
  tlsId?: string;
  fingerprints: readonly Fingerprint[];
  /** Default 5000 (RFC 8841 §5); always written. */
  sctpPort?: number;
  /** Default 65536 (RFC 8841 §6); always written. */
  maxMessageSize?: number;
  dcmaps?: readonly DcMap[];
  dcsas?: readonly DcSa[];
  /** a=3gpp-bdc-used-by value, e.g. "sender" (TS 24.186 §9.3.3.2.1), written as given. */
  bdcUsedBy?: string;
  /** a=3gpp-req-app values (TS 26.114 §6.2.10), written as given. */
  reqApps?: readonly string[];
  ice?: IceOptions;
  qosHint?: QosHint;
  /** a=3ge2ae value (TS 24.229 §7.5.2); never set it on an e2e offer (TS 33.328 §7.2.5). */
  e2ae?: E2aeValue;
  bandwidthAs?: number;
  mid?: string;
  /** Extra raw attribute lines ("a=…") appended to the m-section. */
  extraAttributes?: readonly string[];
}

function connLine(c: ConnectionAddress): string {
  const type = c.addrType ?? (c.address.includes(":") ? "IP6" : "IP4");
  return `c=IN ${type} ${c.address}`;
}

function candidateLine(c: string): string {
  return `a=candidate:${c.replace(/^a=/, "").replace(/^candidate:/, "")}`;
}

/** The lines of one data channel m-section, in a conventional order, without line endings. */
export function buildDcMediaLines(o: DcMediaOptions): string[] {
  const proto = o.proto ?? "UDP/DTLS/SCTP";
  // TS 26.114 §6.2.10.1: m=application <port> UDP/DTLS/SCTP webrtc-datachannel
  const lines = [`m=application ${o.port} ${proto} ${DC_FMT}`];
  if (o.connection) lines.push(connLine(o.connection));
  // RFC 3264 §6: a rejected m-line needs nothing but the m= line (plus its mid for bundle bookkeeping).
  if (o.port === 0) {
    if (o.mid !== undefined) lines.push(`a=mid:${o.mid}`);
    return lines;
  }
  if (o.bandwidthAs !== undefined) lines.push(`b=AS:${o.bandwidthAs}`);
  if (o.mid !== undefined) lines.push(`a=mid:${o.mid}`);
  if (o.ice) {
    lines.push(`a=ice-ufrag:${o.ice.ufrag}`, `a=ice-pwd:${o.ice.pwd}`);
    if (o.ice.options && o.ice.options.length > 0) lines.push(`a=ice-options:${o.ice.options.join(" ")}`);
    for (const c of o.ice.candidates ?? []) lines.push(candidateLine(c));
    if (o.ice.endOfCandidates) lines.push("a=end-of-candidates");
  }
  lines.push(`a=setup:${formatSetup(o.setup)}`);
  if (o.tlsId !== undefined) lines.push(`a=tls-id:${o.tlsId}`);
  for (const fp of o.fingerprints) lines.push(`a=fingerprint:${formatFingerprint(fp)}`);
  lines.push(`a=sctp-port:${formatSctpPort(o.sctpPort ?? SCTP_PORT_DEFAULT)}`);
  lines.push(`a=max-message-size:${formatMaxMessageSize(o.maxMessageSize ?? MAX_MESSAGE_SIZE_DEFAULT)}`);
  if (o.e2ae !== undefined) lines.push(`a=3ge2ae:${format3ge2ae(o.e2ae)}`);
  if (o.qosHint) lines.push(`a=3gpp-qos-hint:${formatQosHint(o.qosHint)}`);
  for (const d of o.dcmaps ?? []) lines.push(`a=dcmap:${formatDcMap(d)}`);
  for (const s of o.dcsas ?? []) lines.push(`a=dcsa:${formatDcSa(s)}`);
  if (o.bdcUsedBy !== undefined) lines.push(`a=3gpp-bdc-used-by:${o.bdcUsedBy}`);
  for (const r of o.reqApps ?? []) lines.push(`a=3gpp-req-app:${r}`);
  lines.push(...(o.extraAttributes ?? []));
  return lines;
}

/** One data channel m-section as text (CRLF line endings by default). */
export function buildDcMedia(o: DcMediaOptions, eol: "\r\n" | "\n" = "\r\n"): string {
  return formatSdpLines(buildDcMediaLines(o), eol);
}

export interface SessionOptions {
  origin?: {
    username?: string;
    sessionId?: string;
    sessionVersion?: string;
    address?: string;
    addrType?: "IP4" | "IP6";
  };
  /** s= value, default "-". */
  sessionName?: string;
  /** Session-level c= line. */
  connection?: ConnectionAddress;
  /** a=ice-lite at session level (RFC 8839 §5.3). */
  iceLite?: boolean;
  /** Extra raw session-level attribute lines ("a=…"). */
  extraSessionAttributes?: readonly string[];
}

export interface AudioOptions {
  port: number;
  proto?: string;
  /** Default: 116 AMR-WB/16000. */
  formats?: ReadonlyArray<{ pt: number; rtpmap: string; fmtp?: string }>;
  bandwidthAs?: number;
  connection?: ConnectionAddress;
  extraAttributes?: readonly string[];
}

export type DcOfferMediaOptions = Omit<DcMediaOptions, "setup" | "tlsId"> & {
  /** A given tls-id (e.g. to continue an association); a fresh one is generated when undefined; null omits it. */
  tlsId?: string | null;
};

export interface DcOfferOptions extends SessionOptions {
  /** An audio m-line placed first (TS 26.114 §6.2.10.1: no DC m-line before the first speech m-line). */
  audio?: AudioOptions;
  dataChannels: readonly DcOfferMediaOptions[];
  /** Raw extra m-sections; audio ones are placed before the data channels, the others after. */
  extraMedia?: readonly string[];
  /** Validate with the e2e data channel profile (TS 33.328 §7.2.5). */
  e2eDc?: boolean;
}

export interface BuildResult {
  /** True when the built SDP has no error finding. */
  ok: boolean;
  sdp: string;
  findings: Finding[];
}

/** A random 62-bit decimal session id (RFC 8866 §5.2: numeric; kept < 2^63 as JSEP requires). */
export function randomSessionId(): string {
  const b = new Uint8Array(8);
  globalThis.crypto.getRandomValues(b);
  let n = 0n;
  for (const x of b) n = (n << 8n) | BigInt(x);
  return (n & 0x3fff_ffff_ffff_ffffn).toString();
}

function sessionLines(o: SessionOptions): string[] {
  const addr = o.origin?.address ?? o.connection?.address ?? "0.0.0.0";
  const type = o.origin?.addrType ?? (addr.includes(":") ? "IP6" : "IP4");
  const lines = [
    "v=0",
    `o=${o.origin?.username ?? "-"} ${o.origin?.sessionId ?? randomSessionId()} ${o.origin?.sessionVersion ?? "1"} IN ${type} ${addr}`,
    `s=${o.sessionName ?? "-"}`,
  ];
  if (o.connection) lines.push(connLine(o.connection));
  lines.push("t=0 0");
  if (o.iceLite) lines.push("a=ice-lite");
  lines.push(...(o.extraSessionAttributes ?? []));
  return lines;
}

function audioLines(a: AudioOptions): string[] {
  const formats = a.formats ?? [{ pt: 116, rtpmap: "AMR-WB/16000" }];
  const lines = [`m=audio ${a.port} ${a.proto ?? "RTP/AVP"} ${formats.map((f) => f.pt).join(" ")}`];
  if (a.connection) lines.push(connLine(a.connection));
  if (a.bandwidthAs !== undefined) lines.push(`b=AS:${a.bandwidthAs}`);
  for (const f of formats) {
    lines.push(`a=rtpmap:${f.pt} ${f.rtpmap}`);
    if (f.fmtp !== undefined) lines.push(`a=fmtp:${f.pt} ${f.fmtp}`);
  }
  lines.push(...(a.extraAttributes ?? []));
  return lines;
}

function rawSection(s: string): string {
  const t = s.replace(/\r?\n$/, "");
  return `${t.split(/\r?\n/).join("\r\n")}\r\n`;
}

/**
 * A full SDP offer with data channel m-lines. RFC 5763 §5: the DTLS offerer uses setup:actpass; RFC 8842 §5.2:
 * a tls-id is generated per m-line unless given (null omits it).
 */
export function buildDcOffer(opts: DcOfferOptions): BuildResult {
  try {
    const parts: string[] = [formatSdpLines(sessionLines(opts))];
    if (opts.audio) parts.push(formatSdpLines(audioLines(opts.audio)));
    const extra = opts.extraMedia ?? [];
    for (const s of extra) if (s.startsWith("m=audio")) parts.push(rawSection(s));
    for (const dc of opts.dataChannels) {
      const { tlsId, ...rest } = dc;
      const media: DcMediaOptions = { ...rest, setup: "actpass" };
      // RFC 8842 §4/§5.2: a new association needs a freshly generated tls-id.
      if (tlsId !== null) media.tlsId = tlsId ?? generateTlsId();
      parts.push(buildDcMedia(media));
    }
    for (const s of extra) if (!s.startsWith("m=audio")) parts.push(rawSection(s));
    const sdp = parts.join("");
    const v = validateOffer(sdp, opts.e2eDc ? { e2eDc: true } : {});
    return { ok: v.ok, sdp, findings: v.findings };
  } catch (err) {
    return {
      ok: false,
      sdp: "",
      findings: [
        makeFinding("E_SDP_SYNTAX", `cannot build the offer: ${err instanceof Error ? err.message : "bad options"}`),
      ],
    };
  }
}

export interface DcAnswerMediaOptions {
  port?: number;
  connection?: ConnectionAddress;
  fingerprints?: readonly Fingerprint[];
  /** Default active (RFC 5763 §5: RECOMMENDED). */
  setup?: "active" | "passive";
  /** State of the existing association for the RFC 8842 §5.3 tls-id rules. */
  previous?: { localTlsId?: string; remoteTlsId?: string };
  /** The answerer needs a new association even if the offerer continues (new certificate, role change). */
  forceNewAssociation?: boolean;
  sctpPort?: number;
  maxMessageSize?: number;
  /** Which offered data channels to accept (default all). Accepted ones are echoed with the offered parameters. */
  acceptStreamIds?: readonly number[] | ((d: DcMap) => boolean);
  /** The answerer's own dcsa lines; only those for accepted stream ids are written. */
  dcsas?: readonly DcSa[];
  /**
   * Offered dcsa attributes (by name, or a predicate) the answerer supports and accepts as offered: they are echoed
   * for the accepted stream ids. Other offered dcsa lines of accepted stream ids, not answered by `dcsas` either,
   * are left out with a W_DCSA_NOT_ANSWERED finding (RFC 8864 §5.2). Default: none supported.
   */
  dcsaSupport?: readonly string[] | ((sa: DcSa, map: DcMap) => boolean);
  ice?: IceOptions;
  qosHint?: QosHint;
  bandwidthAs?: number;
  extraAttributes?: readonly string[];
  /** Reject this data channel m-line (port 0). */
  reject?: boolean;
}

export interface DcAnswerOptions extends SessionOptions, DcAnswerMediaOptions {
  /** Per m-line (0-based index) overrides for data channel m-lines. */
  perMedia?: Readonly<Record<number, DcAnswerMediaOptions>>;
  /** Raw answer m-sections for non-data-channel m-lines; others are rejected with port 0 (RFC 3264 §6). */
  otherMedia?: Readonly<Record<number, string>>;
  /** Build an answer even when the offer has error findings (default: refuse). */
  allowOfferErrors?: boolean;
  e2eDc?: boolean;
}

export interface AnsweredMedia {
  mline: number;
  accepted: boolean;
  /** The tls-id decision for accepted data channel m-lines. */
  tlsId?: TlsIdChoice;
  /** Accepted dcmap stream ids. */
  streamIds: number[];
}

export interface AnswerBuildResult {
  ok: boolean;
  /** Absent when the offer was refused. */
  sdp?: string;
  findings: Finding[];
  media: AnsweredMedia[];
}

/**
 * The dcsa lines of an answered data channel m-line (RFC 8864 §5.2): the answerer's own lines for accepted stream
 * ids, then the offered lines it supports (echoed). An offered attribute answered by neither is left out; the answer
 * validation reports it (W_DCSA_NOT_ANSWERED).
 */
function answerDcsas(m: MediaInfo, accepted: readonly DcMap[], o: DcAnswerMediaOptions): DcSa[] {
  const byId = new Map(accepted.map((d) => [d.streamId, d]));
  const own = (o.dcsas ?? []).filter((s) => byId.has(s.streamId));
  const out = [...own];
  const support = o.dcsaSupport ?? [];
  for (const sa of m.dcsas) {
    const map = byId.get(sa.streamId);
    if (!map) continue; // RFC 8864 §6: a data channel that is not accepted takes its dcsa lines with it
    const name = sa.attribute.toLowerCase();
    // RFC 8864 §5.2: the embedded attribute follows its subprotocol's rules; the answerer's own line answers it.
    if (own.some((s) => s.streamId === sa.streamId && s.attribute.toLowerCase() === name)) continue;
    const supported = typeof support === "function" ? support(sa, map) : support.some((x) => x.toLowerCase() === name);
    if (supported) out.push(sa);
  }
  return out;
}

function rejectedLines(m: MediaInfo): string[] {
  // RFC 3264 §6: a rejected stream is answered with port 0 and the offered formats.
  const lines = [`m=${m.media} 0 ${m.proto} ${m.fmts.join(" ")}`];
  if (m.mid !== undefined) lines.push(`a=mid:${m.mid}`);
  return lines;
}

/**
 * A full SDP answer to an offer with data channel m-lines (RFC 8841 §9, RFC 8842 §5.3, RFC 8864 §6):
 * same proto and fmt as offered, setup active by default, tls-id per RFC 8842 §5.3 (absent when the offer had
 * none), dcmaps echoed for the accepted subset, non-DC m-lines rejected with port 0 unless supplied.
 */
export function buildDcAnswer(offerSdp: string, opts: DcAnswerOptions): AnswerBuildResult {
  try {
    const check = validateOffer(offerSdp, opts.e2eDc ? { e2eDc: true } : {});
    if (!check.ok && !opts.allowOfferErrors) return { ok: false, findings: check.findings, media: [] };
    const offer = analyzeSdp(offerSdp);
    const answered: AnsweredMedia[] = [];
    const sections: string[] = [];
    const acceptedMids: string[] = [];
    for (const m of offer.media) {
      if (m.kind === "dc" && !m.malformed) {
        const o: DcAnswerMediaOptions = { ...opts, ...(opts.perMedia?.[m.index] ?? {}) };
        if (m.rejected || o.reject) {
          sections.push(formatSdpLines(rejectedLines(m)));
          answered.push({ mline: m.index, accepted: false, streamIds: [] });
          continue;
        }
        const accept = o.acceptStreamIds;
        const dcmaps = m.dcmaps.filter((d) =>
          accept === undefined ? true : typeof accept === "function" ? accept(d) : accept.includes(d.streamId),
        );
        const ids = dcmaps.map((d) => d.streamId);
        // RFC 8842 §5.3: new tls-id for a new association, the previous one when continuing, none for legacy offers.
        const choice = answerTlsId({
          offerTlsId: m.attrLine["tls-id"] === undefined ? undefined : (m.tlsId ?? ""),
          ...(o.previous ? { previous: o.previous } : {}),
          ...(o.forceNewAssociation ? { forceNew: true } : {}),
        });
        const media: DcMediaOptions = {
          port: o.port ?? 9,
          proto: m.proto === "TCP/DTLS/SCTP" ? "TCP/DTLS/SCTP" : "UDP/DTLS/SCTP",
          // RFC 5763 §5: the answerer uses active or passive; active is RECOMMENDED.
          setup: o.setup ?? "active",
          fingerprints: o.fingerprints ?? [],
          sctpPort: o.sctpPort ?? SCTP_PORT_DEFAULT,
          maxMessageSize: o.maxMessageSize ?? MAX_MESSAGE_SIZE_DEFAULT,
          dcmaps,
          dcsas: answerDcsas(m, dcmaps, o),
        };
        // TS 24.186 §9.3.3.2.1: the remote bootstrap m-line keeps its bdc-used-by value (the IMS AS finds it by it).
        if (m.bdcUsedBy) media.bdcUsedBy = m.bdcUsedBy.raw;
        // TS 26.114 §6.2.10: the answer repeats the 3gpp-req-app of each accepted application data channel, verbatim.
        const reqApps = m.reqApps.filter((r) => ids.includes(r.streamId)).map((r) => r.raw);
        if (reqApps.length > 0) media.reqApps = reqApps;
        if (choice.tlsId !== undefined) media.tlsId = choice.tlsId;
        if (o.connection) media.connection = o.connection;
        if (o.ice) media.ice = o.ice;
        if (o.qosHint) media.qosHint = o.qosHint;
        if (o.bandwidthAs !== undefined) media.bandwidthAs = o.bandwidthAs;
        if (o.extraAttributes) media.extraAttributes = o.extraAttributes;
        if (m.mid !== undefined) {
          media.mid = m.mid;
          acceptedMids.push(m.mid);
        }
        // The legacy DTLS/SCTP form is answered in the RFC 8841 form with the same proto semantics.
        if (m.proto === "DTLS/SCTP") {
          // RFC 8841 §4 (pre-RFC form): answer in kind, "DTLS/SCTP <sctp-port>" + a=sctpmap instead of a=sctp-port.
          const body = buildDcMediaLines(media)
            .slice(1)
            .filter((l) => !l.startsWith("a=sctp-port:") && !l.startsWith("a=max-message-size:"));
          const sctpPort = m.sctpmap?.port ?? Number(m.fmts[0] ?? SCTP_PORT_DEFAULT);
          const streams = m.sctpmap?.streams === undefined ? "" : ` ${m.sctpmap.streams}`;
          sections.push(
            formatSdpLines([
              `m=application ${media.port} DTLS/SCTP ${sctpPort}`,
              ...body,
              `a=sctpmap:${sctpPort} ${DC_FMT}${streams}`,
            ]),
          );
        } else {
          sections.push(buildDcMedia(media));
        }
        answered.push({ mline: m.index, accepted: true, tlsId: choice, streamIds: ids });
      } else {
        const raw = opts.otherMedia?.[m.index];
        if (raw !== undefined && !m.malformed && !m.rejected) {
          sections.push(rawSection(raw));
          answered.push({ mline: m.index, accepted: true, streamIds: [] });
          const mid = /(?:^|\n)a=mid:(\S+)/.exec(raw)?.[1];
          if (mid !== undefined) acceptedMids.push(mid);
        } else {
          sections.push(
            formatSdpLines(m.malformed ? ["m=application 0 UDP/DTLS/SCTP webrtc-datachannel"] : rejectedLines(m)),
          );
          answered.push({ mline: m.index, accepted: false, streamIds: [] });
        }
      }
    }
    const extraSession = [...(opts.extraSessionAttributes ?? [])];
    // RFC 9143 §7.3: the answerer's BUNDLE group holds the accepted mids of the offered group.
    const group = offer.parsed.session.attributes.find(
      (a) => a.name === "group" && (a.value ?? "").startsWith("BUNDLE"),
    );
    if (group) {
      const offeredMids = (group.value ?? "").split(" ").slice(1);
      const mids = acceptedMids.filter((x) => offeredMids.includes(x));
      if (mids.length > 0) extraSession.unshift(`a=group:BUNDLE ${mids.join(" ")}`);
    }
    const sdp = formatSdpLines(sessionLines({ ...opts, extraSessionAttributes: extraSession })) + sections.join("");
    const v = validateAnswer(offerSdp, sdp, opts.e2eDc ? { e2eDc: true } : {});
    // With allowOfferErrors the caller knowingly answers a faulty offer; E_OFFER_INVALID is then not news.
    const findings = opts.allowOfferErrors ? v.findings.filter((f) => f.code !== "E_OFFER_INVALID") : v.findings;
    return { ok: !findings.some((f) => f.severity === "error"), sdp, findings, media: answered };
  } catch (err) {
    return {
      ok: false,
      findings: [
        makeFinding("E_SDP_SYNTAX", `cannot build the answer: ${err instanceof Error ? err.message : "bad options"}`),
      ],
      media: [],
    };
  }
}
