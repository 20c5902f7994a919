/** The attribute-level model of an SDP: session and m-line values with their effective (inherited) values. */
import type { FloorCtrlRole, FloorId } from "./bfcp.ts";
import type { BdcUsedBy, ReqApp } from "./dc3gpp.ts";
import type { DcMap, DcSa } from "./dcmap.ts";
import type { E2ae } from "./e2ae.ts";
import type { Finding } from "./findings.ts";
import type { Fingerprint } from "./fingerprint.ts";
import type { MsrpUri } from "./msrp.ts";
import type { ParsedSdp, SdpAttribute, SdpConnectionData, SdpOrigin } from "./parse.ts";
import type { QosHint } from "./qos.ts";
import type { SctpMap } from "./sctp.ts";
import type { ConnectionValue, SetupRole } from "./setup.ts";

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
  /** Line numbers of `dcsas`, same order. */
  dcsaLines: number[];
  /** `a=3gpp-bdc-used-by` (TS 24.186 §9.3.3.2.1), when present and readable. */
  bdcUsedBy?: BdcUsedBy;
  /** `a=3gpp-req-app` lines (TS 26.114 §6.2.10), in order. */
  reqApps: ReqApp[];
  /** Line numbers of `reqApps`, same order. */
  reqAppLines: number[];
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
