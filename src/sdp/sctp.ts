/** `a=sctp-port` and `a=max-message-size` codecs (RFC 8841 §5, §6) and SCTP-over-DTLS proto helpers. */
import { type Parsed, problem, result } from "./findings.ts";
import { parseUint, show } from "./text.ts";

// RFC 8841 §5: if the sctp-port attribute is absent, the default SCTP port is 5000.
export const SCTP_PORT_DEFAULT = 5000;
// RFC 8841 §6: if max-message-size is absent, the default is 64K; 0 means the peer accepts any size.
export const MAX_MESSAGE_SIZE_DEFAULT = 65536;
export const MAX_MESSAGE_SIZE_UNLIMITED = 0;

/** RFC 8841 §4: the proto values for SCTP over DTLS. `DTLS/SCTP` is the legacy pre-RFC form (with a=sctpmap). */
export const SCTP_DTLS_PROTOS = ["UDP/DTLS/SCTP", "TCP/DTLS/SCTP"] as const;
export type SctpDtlsProto = (typeof SCTP_DTLS_PROTOS)[number];
export const LEGACY_SCTP_PROTO = "DTLS/SCTP";
/** TS 26.114 §6.2.10.1: the data channel fmt. */
export const DC_FMT = "webrtc-datachannel";

export function isSctpDtlsProto(proto: string): proto is SctpDtlsProto {
  return (SCTP_DTLS_PROTOS as readonly string[]).includes(proto);
}

/** RFC 8841 §5: sctp-port-attr = "a=sctp-port:" port-number; port-number = port (RFC 8866: 1*DIGIT, 0-65535). */
export function parseSctpPort(text: string): Parsed<number> {
  const n = parseUint(text, 65535);
  if (n === undefined)
    return result<number>(undefined, [problem("E_SCTP_PORT_SYNTAX", `sctp-port ${show(text)} is not 0-65535`)]);
  return result(n, []);
}

export function formatSctpPort(port: number): string {
  return String(port);
}

/** RFC 8841 §6: max-message-size-attr = "a=max-message-size:" max-message-size; 1*DIGIT, 0 = unlimited. */
export function parseMaxMessageSize(text: string): Parsed<number> {
  const n = parseUint(text);
  if (n === undefined) {
    return result<number>(undefined, [
      problem("E_MAX_MSG_SIZE_SYNTAX", `max-message-size ${show(text)} is not an integer`),
    ]);
  }
  return result(n, []);
}

export function formatMaxMessageSize(size: number): string {
  return String(size);
}

/** Legacy `a=sctpmap:<port> <app> [<streams>]` (draft-ietf-mmusic-sctp-sdp-05), accepted for interop. */
export interface SctpMap {
  port: number;
  app: string;
  streams?: number;
}

export function parseSctpMap(text: string): Parsed<SctpMap> {
  const m = /^(\d+) (\S+)(?: (\d+))?$/.exec(text);
  const port = m ? parseUint(m[1] ?? "", 65535) : undefined;
  if (!m || port === undefined) {
    return result<SctpMap>(undefined, [
      problem("E_SCTP_PORT_SYNTAX", `sctpmap ${show(text)} is malformed`, "RFC 8841 §4"),
    ]);
  }
  const streams = m[3] === undefined ? undefined : parseUint(m[3]);
  return result(streams === undefined ? { port, app: m[2] ?? "" } : { port, app: m[2] ?? "", streams }, []);
}
