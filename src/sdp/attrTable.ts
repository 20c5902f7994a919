/**
 * Placement and multiplicity of the SDP attributes this layer owns, and the classification of m-lines by media
 * type, proto and fmt.
 */
import { isBfcpProto } from "./bfcp.ts";
import type { MediaKind, TransportSecurity } from "./mediaInfo.ts";
import { isMsrpProto } from "./msrp.ts";
import { DC_FMT, LEGACY_SCTP_PROTO } from "./sctp.ts";

export interface AttrSpec {
  level: "session" | "media" | "both";
  single: boolean;
  clause: string;
}

// Placement and multiplicity of the attributes this layer owns.
export const ATTRS: Record<string, AttrSpec> = {
  fingerprint: { level: "both", single: false, clause: "RFC 8122 §5" }, // RFC 8122 §5: session or media level, several allowed
  setup: { level: "both", single: true, clause: "RFC 4145 §4" }, // RFC 4145 §10: session- and media-level
  connection: { level: "both", single: true, clause: "RFC 4145 §5" }, // RFC 4145 §10: session- and media-level
  "tls-id": { level: "media", single: true, clause: "RFC 8842 §4" }, // RFC 8842 §4: media level, at most one
  "sctp-port": { level: "media", single: true, clause: "RFC 8841 §5" }, // RFC 8841 §5: media level, one per m-line
  "max-message-size": { level: "media", single: true, clause: "RFC 8841 §6" }, // RFC 8841 §6: media level, one
  sctpmap: { level: "media", single: true, clause: "RFC 8841 §4" },
  dcmap: { level: "media", single: false, clause: "RFC 8864 §5.1" }, // RFC 8864 §5.1: media level
  dcsa: { level: "media", single: false, clause: "RFC 8864 §5.2" }, // RFC 8864 §5.2: media level
  "3gpp-bdc-used-by": { level: "media", single: true, clause: "TS 24.186 §9.3.3.2.1" }, // one per remote bootstrap m-line
  "3gpp-req-app": { level: "media", single: false, clause: "TS 26.114 §6.2.10" }, // one per application data channel
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

export const DC_ATTRS = new Set([
  "sctp-port",
  "max-message-size",
  "sctpmap",
  "dcmap",
  "dcsa",
  "3gpp-bdc-used-by",
  "3gpp-req-app",
]);
export const MSRP_ATTRS = new Set(["path", "accept-types", "accept-wrapped-types"]);
export const BFCP_ATTRS = new Set(["floorctrl", "confid", "userid", "floorid", "bfcpver"]);

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
