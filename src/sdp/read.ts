/**
 * Convenience accessors for the layers above (UE data channel session, P-CSCF): the data channel m-lines of an SDP
 * with effective values and RFC defaults applied. Invalid attribute lines are left out here; use `validate*` for
 * the findings.
 */
import type { AssociationState } from "./association.ts";
import type { BdcUsedBy, ReqApp } from "./dc3gpp.ts";
import type { DcMap, DcSa } from "./dcmap.ts";
import { type E2ae, type IndicationOptions, type SecurityIndication, securityIndication } from "./e2ae.ts";
import type { Fingerprint } from "./fingerprint.ts";
import { analyzeSdp, type IceInfo, type MediaInfo, type SdpModel } from "./model.ts";
import type { ParsedSdp, ParseOptions } from "./parse.ts";
import type { QosHint } from "./qos.ts";
import { MAX_MESSAGE_SIZE_DEFAULT, SCTP_PORT_DEFAULT } from "./sctp.ts";
import { type ConnectionValue, type DtlsRole, negotiatedDtlsRole, type SetupRole } from "./setup.ts";

export interface DcMedia {
  /** 0-based m-line index. */
  mline: number;
  mid?: string;
  /** m-line port (UDP/TCP port of the DTLS transport; RFC 8841 §4). */
  port: number;
  /** Port 0 (RFC 3264 §6). */
  rejected: boolean;
  proto: string;
  fmt: string;
  /** Effective connection data (media level, else session level). */
  connection?: { netType: string; addrType: string; address: string };
  setup?: SetupRole;
  connectionAttr?: ConnectionValue;
  tlsId?: string;
  /** Usable fingerprints, media level else session level (RFC 8122 §5). */
  fingerprints: Fingerprint[];
  fingerprintLevel: "media" | "session" | "none";
  /** RFC 8841 §5 default 5000 applied when absent. */
  sctpPort: number;
  /** RFC 8841 §6 default 65536 applied when absent; 0 = unlimited. */
  maxMessageSize: number;
  dcmaps: DcMap[];
  dcsas: DcSa[];
  /** `a=3gpp-req-app` lines (TS 26.114 §6.2.10), each with its exact text in `raw`. */
  reqApps: ReqApp[];
  /** `a=3gpp-bdc-used-by` (TS 24.186 §9.3.3.2.1), when present. */
  bdcUsedBy?: BdcUsedBy;
  qosHint?: QosHint;
  /** b=AS value in kbit/s, when present. */
  bandwidthAs?: number;
  ice: IceInfo;
  /** 3ge2ae values present on the m-line. */
  e2ae: E2ae[];
  /** The security-scope indication those values mean (TS 33.328 §7.2.5 step 2). */
  indication: SecurityIndication;
}

function toModel(sdp: string | ParsedSdp | SdpModel, opts: ParseOptions): SdpModel {
  if (typeof sdp === "object" && sdp !== null && "media" in sdp && "session" in sdp && "parsed" in sdp) return sdp;
  return analyzeSdp(sdp, opts);
}

function toDc(m: MediaInfo, opts: IndicationOptions): DcMedia {
  const dc: DcMedia = {
    mline: m.index,
    port: m.port,
    rejected: m.rejected,
    proto: m.proto,
    fmt: m.fmts.join(" "),
    fingerprints: m.fingerprints,
    fingerprintLevel: m.fingerprintLevel,
    sctpPort: m.sctpPort ?? m.sctpmap?.port ?? SCTP_PORT_DEFAULT,
    maxMessageSize: m.maxMessageSize ?? MAX_MESSAGE_SIZE_DEFAULT,
    dcmaps: m.dcmaps,
    dcsas: m.dcsas,
    reqApps: m.reqApps,
    ice: m.ice,
    e2ae: m.e2ae,
    indication: securityIndication(
      m.e2ae.map((x) => x.raw),
      opts,
    ),
  };
  if (m.mid !== undefined) dc.mid = m.mid;
  if (m.connection)
    dc.connection = { netType: m.connection.netType, addrType: m.connection.addrType, address: m.connection.address };
  if (m.setup !== undefined) dc.setup = m.setup;
  if (m.connectionAttr !== undefined) dc.connectionAttr = m.connectionAttr;
  if (m.tlsId !== undefined) dc.tlsId = m.tlsId;
  if (m.qosHint) dc.qosHint = m.qosHint;
  if (m.bdcUsedBy) dc.bdcUsedBy = m.bdcUsedBy;
  const as = m.bandwidths.find((b) => b.type === "AS");
  if (as) dc.bandwidthAs = Number(as.value);
  return dc;
}

/** The data channel m-lines of an SDP (UDP/DTLS/SCTP, TCP/DTLS/SCTP or legacy DTLS/SCTP with webrtc-datachannel). */
export function readDcMedia(
  sdp: string | ParsedSdp | SdpModel,
  opts: ParseOptions & IndicationOptions = {},
): DcMedia[] {
  return toModel(sdp, opts)
    .media.filter((m) => m.kind === "dc")
    .map((m) => toDc(m, opts));
}

/** Every m-line of an SDP with its effective values (see `MediaInfo`). */
export function readMedia(sdp: string | ParsedSdp | SdpModel, opts: ParseOptions = {}): MediaInfo[] {
  return toModel(sdp, opts).media;
}

export interface DcNegotiation {
  /** 0-based m-line index. */
  mline: number;
  /** Both sides kept a non-zero port (RFC 3264 §6). */
  accepted: boolean;
  offer: DcMedia;
  /** undefined when the answer has no data channel m-line at this index. */
  answer?: DcMedia;
  /** The local DTLS role (client = active), when the setup pair is valid (RFC 4145 §4, RFC 5763 §5). */
  localRole?: DtlsRole;
  /** The data channels both sides agreed on (the answer's dcmaps that were offered). */
  channels: DcMap[];
  local: DcMedia;
  remote?: DcMedia;
  /** State to feed `decideAssociation` on the next exchange (RFC 8842 §3). */
  association?: AssociationState;
}

/**
 * Pairs the data channel m-lines of an offer and its answer from the local endpoint's point of view: who is DTLS
 * client, which fingerprints/tls-id the peer signalled, which data channels were agreed, and the association state.
 */
export function negotiateDcMedia(
  offer: string | ParsedSdp | SdpModel,
  answer: string | ParsedSdp | SdpModel,
  opts: ParseOptions & IndicationOptions & { localIsOfferer: boolean },
): DcNegotiation[] {
  const om = toModel(offer, opts);
  const am = toModel(answer, opts);
  const out: DcNegotiation[] = [];
  for (const o of om.media) {
    if (o.kind !== "dc") continue;
    const a = am.media[o.index];
    const od = toDc(o, opts);
    const ad = a && a.kind === "dc" ? toDc(a, opts) : undefined;
    const local = opts.localIsOfferer ? od : (ad ?? od);
    const remote = opts.localIsOfferer ? ad : od;
    const n: DcNegotiation = {
      mline: o.index,
      accepted: !o.rejected && ad !== undefined && !ad.rejected,
      offer: od,
      channels: [],
      local,
    };
    if (ad) n.answer = ad;
    if (remote) n.remote = remote;
    if (n.accepted && ad) {
      const offeredIds = new Set(od.dcmaps.map((d) => d.streamId));
      n.channels = ad.dcmaps.filter((d) => offeredIds.has(d.streamId));
      const role = negotiatedDtlsRole({
        offerSetup: od.setup,
        answerSetup: ad.setup,
        localIsOfferer: opts.localIsOfferer,
      });
      if (role) {
        n.localRole = role;
        const state: AssociationState = {
          localFingerprints: local.fingerprints,
          remoteFingerprints: remote?.fingerprints ?? [],
          role,
        };
        if (local.tlsId !== undefined) state.localTlsId = local.tlsId;
        if (remote?.tlsId !== undefined) state.remoteTlsId = remote.tlsId;
        if (remote?.connection) state.transport = `${od.proto} ${remote.connection.address}:${remote.port}`;
        n.association = state;
      }
    }
    out.push(n);
  }
  return out;
}
