/**
 * Shared SDP samples and the malformed-input table. Each case names the finding codes it must produce; the
 * validate test and the CLI test both run the whole table.
 */
import { readFileSync } from "node:fs";
import { fileURLToPath } from "node:url";

export const FIXTURES = fileURLToPath(new URL("../fixtures/sdp/", import.meta.url));

export function fixture(name: string): string {
  return readFileSync(`${FIXTURES}${name}`, "latin1");
}

export const FP256 = "4A:AD:B9:B1:3F:82:18:3B:54:02:12:DF:3E:5D:49:6B:19:E5:7C:AB:4A:AD:B9:B1:3F:82:18:3B:54:02:12:DF";
export const FP256_B =
  "12:DF:3E:5D:49:6B:19:E5:7C:AB:4A:AD:B9:B1:3F:82:18:3B:54:02:12:DF:3E:5D:49:6B:19:E5:7C:AB:4A:AD";
export const FP1 = "AB:CD:EF:01:23:45:67:89:AB:CD:EF:01:23:45:67:89:AB:CD:EF:01";
export const TLSID_A = "Xk3v9qT7LmP2sR8wZa1bC4dE";
export const TLSID_B = "p9Q2wE5rT8yU1iO4aS7dF0gH";

export const sdp = (lines: readonly string[]): string => lines.map((l) => `${l}\r\n`).join("");

const SESSION = ["v=0", "o=- 3923741090 1 IN IP4 192.0.2.1", "s=-", "c=IN IP4 192.0.2.1", "t=0 0"];
const AUDIO = ["m=audio 49152 RTP/AVP 116", "a=rtpmap:116 AMR-WB/16000"];

export interface DcOpts {
  session?: string[];
  /** Replaces the whole DC attribute block. */
  attrs?: string[];
  /** Appended to the DC attribute block. */
  extra?: string[];
  mline?: string;
  audio?: boolean;
}

export const DC_ATTRS = [
  "a=setup:actpass",
  `a=tls-id:${TLSID_A}`,
  `a=fingerprint:sha-256 ${FP256}`,
  "a=sctp-port:5000",
  "a=max-message-size:65536",
  'a=dcmap:1000 label="chat";subprotocol="msrp";ordered=true',
];

/** A valid DCMTSI offer: audio + one application data channel m-line. */
export function dcOffer(o: DcOpts = {}): string {
  return sdp([
    ...SESSION,
    ...(o.session ?? []),
    ...(o.audio === false ? [] : AUDIO),
    o.mline ?? "m=application 52718 UDP/DTLS/SCTP webrtc-datachannel",
    ...(o.attrs ?? DC_ATTRS),
    ...(o.extra ?? []),
  ]);
}

export const DC_ANSWER_ATTRS = [
  "a=setup:active",
  `a=tls-id:${TLSID_B}`,
  `a=fingerprint:sha-256 ${FP256_B}`,
  "a=sctp-port:5000",
  "a=max-message-size:65536",
  'a=dcmap:1000 label="chat";subprotocol="msrp";ordered=true',
];

/** A valid answer to `dcOffer()`. */
export function dcAnswer(o: DcOpts = {}): string {
  return sdp([
    "v=0",
    "o=- 1820539946 1 IN IP4 192.0.2.2",
    "s=-",
    "c=IN IP4 192.0.2.2",
    "t=0 0",
    ...(o.session ?? []),
    ...(o.audio === false ? [] : ["m=audio 49170 RTP/AVP 116", "a=rtpmap:116 AMR-WB/16000"]),
    o.mline ?? "m=application 49172 UDP/DTLS/SCTP webrtc-datachannel",
    ...(o.attrs ?? DC_ANSWER_ATTRS),
    ...(o.extra ?? []),
  ]);
}

const MSRP_ATTRS = [
  "a=accept-types:message/cpim text/plain",
  "a=path:msrps://192.0.2.10:7654/jshA7we;tcp",
  "a=setup:actpass",
  "a=connection:new",
  `a=fingerprint:sha-256 ${FP256}`,
];

export function msrpOffer(o: DcOpts = {}): string {
  return sdp([
    ...SESSION,
    ...(o.session ?? []),
    o.mline ?? "m=message 7654 TCP/TLS/MSRP *",
    ...(o.attrs ?? MSRP_ATTRS),
    ...(o.extra ?? []),
  ]);
}

export function msrpAnswer(o: DcOpts = {}): string {
  return sdp([
    "v=0",
    "o=- 1 1 IN IP4 192.0.2.2",
    "s=-",
    "c=IN IP4 192.0.2.2",
    "t=0 0",
    o.mline ?? "m=message 9 TCP/TLS/MSRP *",
    ...(o.attrs ?? [
      "a=accept-types:message/cpim",
      "a=path:msrps://192.0.2.2:9/kjhd37s2s20w2a;tcp",
      "a=setup:active",
      "a=connection:new",
      `a=fingerprint:sha-256 ${FP256_B}`,
    ]),
    ...(o.extra ?? []),
  ]);
}

const BFCP_ATTRS = [
  "a=setup:actpass",
  "a=connection:new",
  `a=fingerprint:sha-256 ${FP256}`,
  "a=floorctrl:s-only",
  "a=confid:4321",
  "a=userid:1234",
  "a=floorid:1 mstrm:10",
  "a=bfcpver:2 1",
];

export function bfcpOffer(o: DcOpts = {}): string {
  return sdp([
    ...SESSION,
    o.mline ?? "m=application 50000 TCP/TLS/BFCP *",
    ...(o.attrs ?? BFCP_ATTRS),
    ...(o.extra ?? []),
  ]);
}

export function bfcpAnswer(o: DcOpts = {}): string {
  return sdp([
    "v=0",
    "o=- 1 1 IN IP4 192.0.2.2",
    "s=-",
    "c=IN IP4 192.0.2.2",
    "t=0 0",
    o.mline ?? "m=application 9 TCP/TLS/BFCP *",
    ...(o.attrs ?? ["a=setup:active", "a=connection:new", `a=fingerprint:sha-256 ${FP256_B}`, "a=floorctrl:c-only"]),
    ...(o.extra ?? []),
  ]);
}

/** TS 24.186 §9.3.3.2.1: the remote bootstrap dcmaps (stream ids 100 and 110, subprotocol "http"). */
const REMOTE_BDC = ['a=dcmap:100 subprotocol="http"', 'a=dcmap:110 subprotocol="http"'];

const without = (arr: readonly string[], prefix: string): string[] => arr.filter((l) => !l.startsWith(prefix));
const swap = (arr: readonly string[], prefix: string, line: string): string[] =>
  arr.map((l) => (l.startsWith(prefix) ? line : l));

export interface MalformedCase {
  name: string;
  kind: "offer" | "answer";
  sdp: string;
  /** For answers: the offer they answer. */
  offer?: string;
  e2eDc?: boolean;
  /** Codes that must all be reported. */
  expect: string[];
  /** Codes that must not be reported. */
  absent?: string[];
  /** Expected line of the first expected code, when pinned. */
  line?: number;
}

const garbage1M = (() => {
  let s = "";
  let x = 12345;
  while (s.length < 1024 * 1024) {
    x = (x * 1103515245 + 12345) & 0x7fffffff;
    s += String.fromCharCode(32 + (x % 95));
    if (x % 97 === 0) s += "\n";
  }
  return s;
})();

const binaryJunk = Array.from({ length: 512 }, (_, i) => String.fromCharCode((i * 37 + 11) % 256)).join("");

/** Line numbers in dcOffer(): 1-5 session, 6-7 audio, 8 m=application, 9.. DC attributes. */
export const MALFORMED: MalformedCase[] = [
  // ---- SDP text and structure --------------------------------------------------------------------------------
  { name: "empty string", kind: "offer", sdp: "", expect: ["E_SDP_EMPTY"] },
  { name: "whitespace only", kind: "offer", sdp: "  \r\n\t\r\n", expect: ["E_SDP_EMPTY"] },
  { name: "1 MB of garbage", kind: "offer", sdp: garbage1M, expect: ["E_SDP_TOO_LARGE"] },
  { name: "binary junk", kind: "offer", sdp: binaryJunk, expect: ["E_SDP_BINARY", "E_SDP_SYNTAX", "E_SDP_VERSION"] },
  {
    name: "NUL inside s= line",
    kind: "offer",
    sdp: dcOffer().replace("s=-", "s=a\u0000b"),
    expect: ["E_SDP_BINARY"],
    line: 3,
  },
  { name: "lone CR inside a line", kind: "offer", sdp: dcOffer().replace("s=-", "s=a\rb"), expect: ["E_SDP_BINARY"] },
  {
    name: "garbage line",
    kind: "offer",
    sdp: dcOffer({ extra: ["this is not sdp"] }),
    expect: ["E_SDP_SYNTAX"],
    line: 15,
  },
  { name: "space around =", kind: "offer", sdp: dcOffer({ extra: ["a =foo"] }), expect: ["E_SDP_SYNTAX"] },
  { name: "upper-case type letter", kind: "offer", sdp: dcOffer({ extra: ["A=foo"] }), expect: ["E_SDP_SYNTAX"] },
  {
    name: "attribute name not a token",
    kind: "offer",
    sdp: dcOffer({ extra: ["a=bad name:1"] }),
    expect: ["E_SDP_SYNTAX"],
  },
  { name: "v=1", kind: "offer", sdp: dcOffer().replace("v=0", "v=1"), expect: ["E_SDP_VERSION"], line: 1 },
  { name: "missing v=", kind: "offer", sdp: dcOffer().replace("v=0\r\n", ""), expect: ["E_SDP_VERSION"] },
  {
    name: "malformed o=",
    kind: "offer",
    sdp: dcOffer().replace("o=- 3923741090 1 IN IP4 192.0.2.1", "o=- abc"),
    expect: ["E_SDP_ORIGIN"],
    line: 2,
  },
  {
    name: "missing o=",
    kind: "offer",
    sdp: dcOffer().replace("o=- 3923741090 1 IN IP4 192.0.2.1\r\n", ""),
    expect: ["E_SDP_ORIGIN"],
  },
  { name: "missing s=", kind: "offer", sdp: dcOffer().replace("s=-\r\n", ""), expect: ["E_SDP_STRUCTURE"] },
  { name: "missing t=", kind: "offer", sdp: dcOffer().replace("t=0 0\r\n", ""), expect: ["E_SDP_STRUCTURE"] },
  {
    name: "duplicate s=",
    kind: "offer",
    sdp: dcOffer().replace("s=-\r\n", "s=-\r\ns=x\r\n"),
    expect: ["E_SDP_STRUCTURE"],
    line: 4,
  },
  {
    name: "m= port not a number",
    kind: "offer",
    sdp: dcOffer({ mline: "m=application abc UDP/DTLS/SCTP webrtc-datachannel" }),
    expect: ["E_SDP_MLINE"],
    line: 8,
  },
  {
    name: "m= port above 65535",
    kind: "offer",
    sdp: dcOffer({ mline: "m=application 70000 UDP/DTLS/SCTP webrtc-datachannel" }),
    expect: ["E_SDP_MLINE"],
  },
  {
    name: "m= without fmt",
    kind: "offer",
    sdp: dcOffer({ mline: "m=application 5000 UDP/DTLS/SCTP" }),
    expect: ["E_SDP_MLINE"],
  },
  {
    name: "c= with bad addrtype",
    kind: "offer",
    sdp: dcOffer().replace("c=IN IP4 192.0.2.1", "c=IN IP5 192.0.2.1"),
    expect: ["E_SDP_CONNECTION"],
    line: 4,
  },
  {
    name: "no c= anywhere",
    kind: "offer",
    sdp: dcOffer().replace("c=IN IP4 192.0.2.1\r\n", ""),
    expect: ["E_SDP_CONNECTION"],
  },
  {
    name: "mixed CRLF and LF",
    kind: "offer",
    sdp: dcOffer().replace("s=-\r\n", "s=-\n").replace("t=0 0\r\n", "t=0 0\n"),
    expect: ["W_SDP_MIXED_EOL"],
    absent: ["E_SDP_SYNTAX"],
  },
  {
    name: "blank line in the middle",
    kind: "offer",
    sdp: dcOffer().replace("t=0 0\r\n", "t=0 0\r\n\r\n"),
    expect: ["W_SDP_BLANK_LINE"],
    line: 6,
  },
  {
    name: "c= after a= in media",
    kind: "offer",
    sdp: dcOffer({ extra: ["c=IN IP4 192.0.2.9"] }),
    expect: ["W_SDP_LINE_ORDER"],
  },
  { name: "unknown type letter", kind: "offer", sdp: dcOffer({ extra: ["x=foo"] }), expect: ["W_SDP_UNKNOWN_LINE"] },

  // ---- placement -------------------------------------------------------------------------------------------------
  {
    name: "sctp-port at session level",
    kind: "offer",
    sdp: dcOffer({ session: ["a=sctp-port:5000"] }),
    expect: ["E_ATTR_LEVEL"],
    line: 6,
  },
  {
    name: "tls-id at session level",
    kind: "offer",
    sdp: dcOffer({ session: [`a=tls-id:${TLSID_B}`] }),
    expect: ["E_ATTR_LEVEL"],
  },
  { name: "ice-lite at media level", kind: "offer", sdp: dcOffer({ extra: ["a=ice-lite"] }), expect: ["E_ATTR_LEVEL"] },
  {
    name: "duplicate sctp-port",
    kind: "offer",
    sdp: dcOffer({ extra: ["a=sctp-port:5001"] }),
    expect: ["E_ATTR_DUPLICATE"],
    line: 15,
  },
  {
    name: "duplicate setup",
    kind: "offer",
    sdp: dcOffer({ extra: ["a=setup:actpass"] }),
    expect: ["E_ATTR_DUPLICATE"],
  },
  {
    name: "duplicate max-message-size",
    kind: "offer",
    sdp: dcOffer({ extra: ["a=max-message-size:1"] }),
    expect: ["E_ATTR_DUPLICATE"],
  },
  {
    name: "dcmap on an audio m-line",
    kind: "offer",
    sdp: dcOffer().replace("a=rtpmap:116 AMR-WB/16000", 'a=rtpmap:116 AMR-WB/16000\r\na=dcmap:1000 label="x"'),
    expect: ["W_ATTR_IGNORED"],
    line: 8,
  },

  // ---- fingerprint -------------------------------------------------------------------------------------------------
  {
    name: "fingerprint trailing colon",
    kind: "offer",
    sdp: dcOffer({ attrs: swap(DC_ATTRS, "a=fingerprint", `a=fingerprint:sha-256 ${FP256}:`) }),
    expect: ["E_FP_SYNTAX", "E_FP_MISSING"],
    line: 11,
  },
  {
    name: "fingerprint without value",
    kind: "offer",
    sdp: dcOffer({ attrs: swap(DC_ATTRS, "a=fingerprint", "a=fingerprint:sha-256") }),
    expect: ["E_FP_SYNTAX"],
  },
  {
    name: "fingerprint odd hex digit",
    kind: "offer",
    sdp: dcOffer({ attrs: swap(DC_ATTRS, "a=fingerprint", `a=fingerprint:sha-256 ${FP256.slice(0, -1)}`) }),
    expect: ["E_FP_SYNTAX"],
  },
  {
    name: "fingerprint with spaces",
    kind: "offer",
    sdp: dcOffer({ attrs: swap(DC_ATTRS, "a=fingerprint", `a=fingerprint:sha-256 ${FP256.replaceAll(":", " ")}`) }),
    expect: ["E_FP_SYNTAX"],
  },
  {
    name: "sha-256 with 20 bytes",
    kind: "offer",
    sdp: dcOffer({ attrs: swap(DC_ATTRS, "a=fingerprint", `a=fingerprint:sha-256 ${FP1}`) }),
    expect: ["E_FP_HASH_LEN", "E_FP_MISSING"],
  },
  {
    name: "md5 fingerprint only",
    kind: "offer",
    sdp: dcOffer({
      attrs: swap(DC_ATTRS, "a=fingerprint", "a=fingerprint:md5 AB:CD:EF:01:23:45:67:89:AB:CD:EF:01:23:45:67:89"),
    }),
    expect: ["E_FP_WEAK_HASH", "E_FP_MISSING"],
  },
  {
    name: "MD2 fingerprint next to sha-256",
    kind: "offer",
    sdp: dcOffer({ extra: ["a=fingerprint:MD2 AB:CD:EF:01:23:45:67:89:AB:CD:EF:01:23:45:67:89"] }),
    expect: ["E_FP_WEAK_HASH"],
    absent: ["E_FP_MISSING"],
  },
  {
    name: "unknown hash next to sha-256",
    kind: "offer",
    sdp: dcOffer({ extra: [`a=fingerprint:sha3-256 ${FP256}`] }),
    expect: ["W_FP_UNKNOWN_HASH"],
    absent: ["E_FP_MISSING"],
  },
  {
    name: "unknown hash only",
    kind: "offer",
    sdp: dcOffer({ attrs: swap(DC_ATTRS, "a=fingerprint", `a=fingerprint:blake3 ${FP256}`) }),
    expect: ["W_FP_UNKNOWN_HASH", "E_FP_MISSING"],
  },
  {
    name: "lower-case fingerprint",
    kind: "offer",
    sdp: dcOffer({ attrs: swap(DC_ATTRS, "a=fingerprint", `a=fingerprint:sha-256 ${FP256.toLowerCase()}`) }),
    expect: ["W_FP_LOWERCASE"],
    absent: ["E_FP_MISSING", "E_FP_SYNTAX"],
  },
  {
    name: "sha-1 only",
    kind: "offer",
    sdp: dcOffer({ attrs: swap(DC_ATTRS, "a=fingerprint", `a=fingerprint:sha-1 ${FP1}`) }),
    expect: ["W_FP_SHA1", "W_FP_NO_SHA256"],
    absent: ["E_FP_MISSING"],
  },
  {
    name: "no fingerprint on DTLS",
    kind: "offer",
    sdp: dcOffer({ attrs: without(DC_ATTRS, "a=fingerprint") }),
    expect: ["E_FP_MISSING"],
    line: 8,
  },
  {
    name: "no fingerprint on TCP/TLS/MSRP",
    kind: "offer",
    sdp: msrpOffer({ attrs: without(MSRP_ATTRS, "a=fingerprint") }),
    expect: ["E_FP_MISSING"],
  },

  // ---- setup ------------------------------------------------------------------------------------------------------
  {
    name: "setup value unknown",
    kind: "offer",
    sdp: dcOffer({ attrs: swap(DC_ATTRS, "a=setup", "a=setup:both") }),
    expect: ["E_SETUP_VALUE"],
    line: 9,
  },
  {
    name: "DTLS offer setup:active",
    kind: "offer",
    sdp: dcOffer({ attrs: swap(DC_ATTRS, "a=setup", "a=setup:active") }),
    expect: ["E_SETUP_OFFER_NOT_ACTPASS"],
    line: 9,
  },
  {
    name: "DTLS offer setup:passive",
    kind: "offer",
    sdp: dcOffer({ attrs: swap(DC_ATTRS, "a=setup", "a=setup:passive") }),
    expect: ["E_SETUP_OFFER_NOT_ACTPASS"],
  },
  {
    name: "DTLS setup:holdconn",
    kind: "offer",
    sdp: dcOffer({ attrs: swap(DC_ATTRS, "a=setup", "a=setup:holdconn") }),
    expect: ["E_SETUP_HOLDCONN_DTLS"],
    absent: ["E_SETUP_OFFER_NOT_ACTPASS"],
  },
  {
    name: "DTLS answer setup:actpass",
    kind: "answer",
    offer: dcOffer(),
    sdp: dcAnswer({ attrs: swap(DC_ANSWER_ATTRS, "a=setup", "a=setup:actpass") }),
    expect: ["E_SETUP_ANSWER_ROLE"],
    line: 9,
  },
  {
    name: "DTLS answer setup:holdconn",
    kind: "answer",
    offer: dcOffer(),
    sdp: dcAnswer({ attrs: swap(DC_ANSWER_ATTRS, "a=setup", "a=setup:holdconn") }),
    expect: ["E_SETUP_HOLDCONN_DTLS", "E_SETUP_ANSWER_ROLE"],
  },
  {
    name: "TCP offer active, answer active",
    kind: "answer",
    offer: msrpOffer({ attrs: swap(MSRP_ATTRS, "a=setup", "a=setup:active") }),
    sdp: msrpAnswer(),
    expect: ["E_SETUP_ANSWER_ROLE"],
  },
  {
    name: "DTLS m-line without setup",
    kind: "offer",
    sdp: dcOffer({ attrs: without(DC_ATTRS, "a=setup") }),
    expect: ["W_SETUP_MISSING"],
  },
  {
    name: "TCP active endpoint not on port 9",
    kind: "answer",
    offer: msrpOffer(),
    sdp: msrpAnswer({ mline: "m=message 7777 TCP/TLS/MSRP *" }),
    expect: ["W_TCP_ACTIVE_PORT"],
  },

  // ---- tls-id ----------------------------------------------------------------------------------------------------
  {
    name: "tls-id 19 chars",
    kind: "offer",
    sdp: dcOffer({ attrs: swap(DC_ATTRS, "a=tls-id", "a=tls-id:abcdefghij123456789") }),
    expect: ["E_TLSID_SYNTAX"],
    line: 10,
  },
  {
    name: "tls-id 256 chars",
    kind: "offer",
    sdp: dcOffer({ attrs: swap(DC_ATTRS, "a=tls-id", `a=tls-id:${"a".repeat(256)}`) }),
    expect: ["E_TLSID_SYNTAX"],
  },
  {
    name: "tls-id with a space before the value (TS 26.114 Annex A.17 style)",
    kind: "offer",
    sdp: dcOffer({ attrs: swap(DC_ATTRS, "a=tls-id", `a=tls-id: ${TLSID_A}`) }),
    expect: ["W_TLSID_LEADING_SPACE"],
    absent: ["E_TLSID_SYNTAX", "W_TLSID_MISSING"],
    line: 10,
  },
  {
    name: "tls-id with bad character",
    kind: "offer",
    sdp: dcOffer({ attrs: swap(DC_ATTRS, "a=tls-id", "a=tls-id:abcdefghij1234567890.xyz") }),
    expect: ["E_TLSID_SYNTAX"],
  },
  {
    name: "two tls-id lines",
    kind: "offer",
    sdp: dcOffer({ extra: [`a=tls-id:${TLSID_B}`] }),
    expect: ["E_TLSID_DUPLICATE"],
    line: 15,
  },
  {
    name: "DTLS offer without tls-id",
    kind: "offer",
    sdp: dcOffer({ attrs: without(DC_ATTRS, "a=tls-id") }),
    expect: ["W_TLSID_MISSING"],
  },
  {
    name: "answer tls-id to an offer without",
    kind: "answer",
    offer: dcOffer({ attrs: without(DC_ATTRS, "a=tls-id") }),
    sdp: dcAnswer(),
    expect: ["E_TLSID_ANSWER_UNEXPECTED"],
    line: 10,
  },
  {
    name: "answer echoes the offerer's tls-id",
    kind: "answer",
    offer: dcOffer(),
    sdp: dcAnswer({ attrs: swap(DC_ANSWER_ATTRS, "a=tls-id", `a=tls-id:${TLSID_A}`) }),
    expect: ["W_TLSID_ECHOED"],
    line: 10,
  },
  {
    name: "answer without tls-id to an offer with",
    kind: "answer",
    offer: dcOffer(),
    sdp: dcAnswer({ attrs: without(DC_ANSWER_ATTRS, "a=tls-id") }),
    expect: ["W_TLSID_ANSWER_MISSING"],
  },

  // ---- connection ----------------------------------------------------------------------------------------------------
  {
    name: "connection value unknown",
    kind: "offer",
    sdp: msrpOffer({ attrs: swap(MSRP_ATTRS, "a=connection", "a=connection:reuse") }),
    expect: ["E_CONNECTION_VALUE"],
  },
  {
    name: "connection new answered existing",
    kind: "answer",
    offer: msrpOffer(),
    sdp: msrpAnswer().replace("a=connection:new", "a=connection:existing"),
    expect: ["E_CONNECTION_ANSWER"],
  },

  // ---- SCTP / DC m-line ---------------------------------------------------------------------------------------------
  {
    name: "sctp-port above 65535",
    kind: "offer",
    sdp: dcOffer({ attrs: swap(DC_ATTRS, "a=sctp-port", "a=sctp-port:70000") }),
    expect: ["E_SCTP_PORT_SYNTAX"],
    line: 12,
  },
  {
    name: "sctp-port not a number",
    kind: "offer",
    sdp: dcOffer({ attrs: swap(DC_ATTRS, "a=sctp-port", "a=sctp-port:five") }),
    expect: ["E_SCTP_PORT_SYNTAX"],
  },
  {
    name: "max-message-size negative",
    kind: "offer",
    sdp: dcOffer({ attrs: swap(DC_ATTRS, "a=max-message-size", "a=max-message-size:-1") }),
    expect: ["E_MAX_MSG_SIZE_SYNTAX"],
  },
  {
    name: "max-message-size with unit",
    kind: "offer",
    sdp: dcOffer({ attrs: swap(DC_ATTRS, "a=max-message-size", "a=max-message-size:64k") }),
    expect: ["E_MAX_MSG_SIZE_SYNTAX"],
  },
  {
    name: "legacy DTLS/SCTP form",
    kind: "offer",
    sdp: dcOffer({
      mline: "m=application 9 DTLS/SCTP 5000",
      attrs: [...without(DC_ATTRS, "a=sctp-port"), "a=sctpmap:5000 webrtc-datachannel 1024"],
    }),
    expect: ["W_SCTP_LEGACY"],
    absent: ["W_ATTR_IGNORED"],
  },
  {
    name: "TCP/DTLS/SCTP data channel",
    kind: "offer",
    sdp: dcOffer({ mline: "m=application 9 TCP/DTLS/SCTP webrtc-datachannel" }),
    expect: ["W_DC_TCP_PROTO"],
  },
  {
    name: "UDP/DTLS/SCTP with another fmt",
    kind: "offer",
    sdp: dcOffer({ mline: "m=application 9 UDP/DTLS/SCTP bfcp" }),
    expect: ["W_DC_FMT"],
  },
  {
    name: "data channel before audio",
    kind: "offer",
    sdp: dcOffer({ audio: false, extra: ["m=audio 49152 RTP/AVP 116"] }),
    expect: ["W_DC_BEFORE_AUDIO"],
    line: 6,
  },

  // ---- dcmap / dcsa / stream ids ------------------------------------------------------------------------------------
  {
    name: "dcmap unterminated quote",
    kind: "offer",
    sdp: dcOffer({ extra: ['a=dcmap:1002 label="chat'] }),
    expect: ["E_DCMAP_SYNTAX"],
    line: 15,
  },
  {
    name: "dcmap unquoted label",
    kind: "offer",
    sdp: dcOffer({ extra: ["a=dcmap:1002 label=chat"] }),
    expect: ["E_DCMAP_SYNTAX"],
  },
  {
    name: "dcmap ordered=yes",
    kind: "offer",
    sdp: dcOffer({ extra: ["a=dcmap:1002 ordered=yes"] }),
    expect: ["E_DCMAP_SYNTAX"],
  },
  {
    name: "dcmap bad %-escape",
    kind: "offer",
    sdp: dcOffer({ extra: ['a=dcmap:1002 label="a%zzb"'] }),
    expect: ["E_DCMAP_SYNTAX"],
  },
  {
    name: "dcmap label not UTF-8",
    kind: "offer",
    sdp: dcOffer({ extra: ['a=dcmap:1002 label="%FF%FE"'] }),
    expect: ["E_DCMAP_SYNTAX"],
  },
  {
    name: "dcmap without stream id",
    kind: "offer",
    sdp: dcOffer({ extra: ['a=dcmap:label="x"'] }),
    expect: ["E_DCMAP_SYNTAX"],
  },
  {
    name: "dcmap space after semicolon",
    kind: "offer",
    sdp: dcOffer({ extra: ['a=dcmap:1002 label="x"; ordered=true'] }),
    expect: ["E_DCMAP_SYNTAX"],
  },
  {
    name: "dcmap repeated parameter",
    kind: "offer",
    sdp: dcOffer({ extra: ['a=dcmap:1002 label="x";label="y"'] }),
    expect: ["E_DCMAP_SYNTAX"],
  },
  {
    name: "dcmap max-retr with leading zero",
    kind: "offer",
    sdp: dcOffer({ extra: ["a=dcmap:1002 max-retr=05"] }),
    expect: ["E_DCMAP_SYNTAX"],
  },
  {
    name: "dcmap stream id 65535",
    kind: "offer",
    sdp: dcOffer({ extra: ["a=dcmap:65535"] }),
    expect: ["E_DCMAP_ID_RANGE"],
  },
  {
    name: "dcmap stream id 99999",
    kind: "offer",
    sdp: dcOffer({ extra: ["a=dcmap:99999"] }),
    expect: ["E_DCMAP_ID_RANGE"],
  },
  {
    name: "dcmap duplicate id",
    kind: "offer",
    sdp: dcOffer({ extra: ['a=dcmap:1000 label="again"'] }),
    expect: ["E_DCMAP_DUP_ID"],
    line: 15,
  },
  {
    name: "dcmap max-retr and max-time",
    kind: "offer",
    sdp: dcOffer({ extra: ["a=dcmap:1002 ordered=false;max-retr=3;max-time=1000"] }),
    expect: ["E_DCMAP_RETR_AND_TIME"],
  },
  {
    name: "dcmap priority above 16 bits",
    kind: "offer",
    sdp: dcOffer({ extra: ["a=dcmap:1002 priority=70000"] }),
    expect: ["E_DCMAP_VALUE_RANGE"],
  },
  {
    name: "dcmap max-retr above 32 bits",
    kind: "offer",
    sdp: dcOffer({ extra: ["a=dcmap:1002 max-retr=4294967296"] }),
    expect: ["E_DCMAP_VALUE_RANGE"],
  },
  {
    name: "answer dcmap not offered",
    kind: "answer",
    offer: dcOffer(),
    sdp: dcAnswer({ extra: ['a=dcmap:1004 label="new"'] }),
    expect: ["E_DCMAP_NOT_OFFERED"],
    line: 15,
  },
  {
    name: "answer dcmap changed label",
    kind: "answer",
    offer: dcOffer(),
    sdp: dcAnswer({
      attrs: swap(DC_ANSWER_ATTRS, "a=dcmap", 'a=dcmap:1000 label="talk";subprotocol="msrp";ordered=true'),
    }),
    expect: ["W_DCMAP_PARAM_CHANGED"],
  },
  {
    name: "dcsa without attribute",
    kind: "offer",
    sdp: dcOffer({ extra: ["a=dcsa:1000"] }),
    expect: ["E_DCSA_SYNTAX"],
  },
  {
    name: "dcsa non-numeric id",
    kind: "offer",
    sdp: dcOffer({ extra: ["a=dcsa:abc accept-types:text/plain"] }),
    expect: ["E_DCSA_SYNTAX"],
  },
  {
    name: "dcsa for unknown id",
    kind: "offer",
    sdp: dcOffer({ extra: ["a=dcsa:2000 accept-types:text/plain"] }),
    expect: ["E_DCSA_UNKNOWN_ID"],
    line: 15,
  },
  {
    name: "bootstrap id with msrp subprotocol",
    kind: "offer",
    sdp: dcOffer({ extra: ['a=dcmap:0 label="b";subprotocol="msrp"'] }),
    expect: ["E_BOOTSTRAP_SUBPROTOCOL"],
  },
  {
    name: "bootstrap id without subprotocol",
    kind: "offer",
    sdp: dcOffer({ extra: ['a=dcmap:100 label="b"'] }),
    expect: ["E_BOOTSTRAP_SUBPROTOCOL"],
  },
  {
    name: "local and remote bootstrap mixed",
    kind: "offer",
    sdp: dcOffer({ extra: ['a=dcmap:0 subprotocol="http"', 'a=dcmap:100 subprotocol="http"'] }),
    expect: ["W_BOOTSTRAP_MIXED"],
  },
  {
    name: "stream id 500",
    kind: "offer",
    sdp: dcOffer({ extra: ['a=dcmap:500 label="x"'] }),
    expect: ["W_DC_ID_RESERVED"],
  },

  {
    name: "answer drops an offered dcsa of an accepted data channel",
    kind: "answer",
    offer: dcOffer({ extra: ["a=dcsa:1000 accept-types:text/plain"] }),
    sdp: dcAnswer(),
    expect: ["W_DCSA_NOT_ANSWERED"],
    line: 14,
  },

  // ---- 3gpp-bdc-used-by / 3gpp-req-app ------------------------------------------------------------------------------
  {
    name: "3gpp-bdc-used-by value not a token",
    kind: "offer",
    sdp: dcOffer({ attrs: [...without(DC_ATTRS, "a=dcmap"), ...REMOTE_BDC, "a=3gpp-bdc-used-by:send er"] }),
    expect: ["E_BDC_USED_BY_SYNTAX"],
    line: 16,
  },
  {
    name: "3gpp-bdc-used-by unknown value",
    kind: "offer",
    sdp: dcOffer({ attrs: [...without(DC_ATTRS, "a=dcmap"), ...REMOTE_BDC, "a=3gpp-bdc-used-by:both"] }),
    expect: ["W_BDC_USED_BY_UNKNOWN"],
    absent: ["W_BDC_USED_BY_NOT_REMOTE"],
    line: 16,
  },
  {
    name: "3gpp-bdc-used-by on an application data channel m-line",
    kind: "offer",
    sdp: dcOffer({ extra: ["a=3gpp-bdc-used-by:sender"] }),
    expect: ["W_BDC_USED_BY_NOT_REMOTE"],
    line: 15,
  },
  {
    name: "two 3gpp-bdc-used-by lines",
    kind: "offer",
    sdp: dcOffer({
      attrs: [
        ...without(DC_ATTRS, "a=dcmap"),
        ...REMOTE_BDC,
        "a=3gpp-bdc-used-by:sender",
        "a=3gpp-bdc-used-by:receiver",
      ],
    }),
    expect: ["E_ATTR_DUPLICATE"],
    line: 17,
  },
  {
    name: "answer changes 3gpp-bdc-used-by",
    kind: "answer",
    offer: dcOffer({ attrs: [...without(DC_ATTRS, "a=dcmap"), ...REMOTE_BDC, "a=3gpp-bdc-used-by:sender"] }),
    sdp: dcAnswer({
      attrs: [...without(DC_ANSWER_ATTRS, "a=dcmap"), ...REMOTE_BDC, "a=3gpp-bdc-used-by:receiver"],
    }),
    expect: ["W_BDC_USED_BY_CHANGED"],
    line: 16,
  },
  {
    name: "3gpp-req-app without an app-id",
    kind: "offer",
    sdp: dcOffer({ extra: ["a=3gpp-req-app:1000"] }),
    expect: ["E_REQ_APP_SYNTAX"],
    line: 15,
  },
  {
    name: "3gpp-req-app with a broken parameter",
    kind: "offer",
    sdp: dcOffer({ extra: ['a=3gpp-req-app:1000 "chat app" app-dc-status="open'] }),
    expect: ["E_REQ_APP_SYNTAX"],
  },
  {
    name: "3gpp-req-app for a stream id without dcmap",
    kind: "offer",
    sdp: dcOffer({ extra: ["a=3gpp-req-app:1002 chat"] }),
    expect: ["E_REQ_APP_UNKNOWN_ID"],
    line: 15,
  },
  {
    name: "3gpp-req-app on a bootstrap stream id",
    kind: "offer",
    sdp: dcOffer({ extra: ['a=dcmap:0 subprotocol="http"', "a=3gpp-req-app:0 chat"] }),
    expect: ["W_REQ_APP_NOT_APPLICATION"],
    line: 16,
  },
  {
    name: "two 3gpp-req-app lines for one stream id",
    kind: "offer",
    sdp: dcOffer({ extra: ["a=3gpp-req-app:1000 chat", "a=3gpp-req-app:1000 game"] }),
    expect: ["W_REQ_APP_DUPLICATE"],
    line: 16,
  },
  {
    name: "3gpp-req-app on an audio m-line",
    kind: "offer",
    sdp: dcOffer().replace("a=rtpmap:116 AMR-WB/16000", "a=rtpmap:116 AMR-WB/16000\r\na=3gpp-req-app:1000 chat"),
    expect: ["W_ATTR_IGNORED"],
    line: 8,
  },
  {
    name: "answer accepts an application data channel without its 3gpp-req-app",
    kind: "answer",
    offer: dcOffer({ extra: ["a=3gpp-req-app:1000 chat"] }),
    sdp: dcAnswer(),
    expect: ["W_REQ_APP_ANSWER_MISMATCH"],
    line: 14,
  },
  {
    name: "answer changes the app-id of 3gpp-req-app",
    kind: "answer",
    offer: dcOffer({ extra: ["a=3gpp-req-app:1000 chat"] }),
    sdp: dcAnswer({ extra: ["a=3gpp-req-app:1000 game"] }),
    expect: ["W_REQ_APP_ANSWER_MISMATCH"],
  },

  // ---- 3gpp-qos-hint -------------------------------------------------------------------------------------------------
  {
    name: "qos-hint param without value",
    kind: "offer",
    sdp: dcOffer({ extra: ["a=3gpp-qos-hint:loss"] }),
    expect: ["E_QOS_HINT_SYNTAX"],
  },
  {
    name: "qos-hint empty",
    kind: "offer",
    sdp: dcOffer({ extra: ["a=3gpp-qos-hint:"] }),
    expect: ["E_QOS_HINT_SYNTAX"],
  },
  {
    name: "qos-hint empty parameter",
    kind: "offer",
    sdp: dcOffer({ extra: ["a=3gpp-qos-hint:loss=0.1;;latency=5"] }),
    expect: ["E_QOS_HINT_SYNTAX"],
  },
  {
    name: "qos-hint loss above 1",
    kind: "offer",
    sdp: dcOffer({ extra: ["a=3gpp-qos-hint:loss=1.5;latency=100"] }),
    expect: ["E_QOS_HINT_VALUE"],
  },
  {
    name: "qos-hint latency 0",
    kind: "offer",
    sdp: dcOffer({ extra: ["a=3gpp-qos-hint:loss=0.1;latency=0"] }),
    expect: ["E_QOS_HINT_VALUE"],
  },

  // ---- 3ge2ae ------------------------------------------------------------------------------------------------------
  { name: "3ge2ae empty", kind: "offer", sdp: msrpOffer({ extra: ["a=3ge2ae:"] }), expect: ["E_3GE2AE_SYNTAX"] },
  {
    name: "3ge2ae with space",
    kind: "offer",
    sdp: msrpOffer({ extra: ["a=3ge2ae:req uested"] }),
    expect: ["E_3GE2AE_SYNTAX"],
  },
  {
    name: "3ge2ae unknown token",
    kind: "offer",
    sdp: msrpOffer({ extra: ["a=3ge2ae:e2dce"] }),
    expect: ["W_3GE2AE_UNKNOWN"],
    absent: ["E_3GE2AE_SYNTAX"],
  },
  {
    name: "3ge2ae at session level",
    kind: "offer",
    sdp: msrpOffer({ session: ["a=3ge2ae:requested"] }),
    expect: ["E_3GE2AE_SESSION_LEVEL"],
    line: 6,
  },
  {
    name: "3ge2ae twice",
    kind: "offer",
    sdp: msrpOffer({ extra: ["a=3ge2ae:requested", "a=3ge2ae:applied"] }),
    expect: ["W_3GE2AE_DUPLICATE"],
  },
  {
    name: "3ge2ae on plain TCP/MSRP",
    kind: "offer",
    sdp: msrpOffer({
      mline: "m=message 7654 TCP/MSRP *",
      attrs: ["a=accept-types:text/plain", "a=path:msrp://192.0.2.10:7654/jshA7we;tcp", "a=setup:actpass"],
      extra: ["a=3ge2ae:requested"],
    }),
    expect: ["W_3GE2AE_NOT_SECURE"],
  },

  // ---- MSRP ------------------------------------------------------------------------------------------------------
  {
    name: "MSRP fmt not *",
    kind: "offer",
    sdp: msrpOffer({ mline: "m=message 7654 TCP/TLS/MSRP 0" }),
    expect: ["E_MSRP_FMT"],
  },
  {
    name: "MSRP without path",
    kind: "offer",
    sdp: msrpOffer({ attrs: without(MSRP_ATTRS, "a=path") }),
    expect: ["E_MSRP_PATH"],
  },
  {
    name: "MSRP path without transport",
    kind: "offer",
    sdp: msrpOffer({ attrs: swap(MSRP_ATTRS, "a=path", "a=path:msrps://192.0.2.10:7654/jshA7we") }),
    expect: ["E_MSRP_PATH"],
  },
  {
    name: "MSRP path with http scheme",
    kind: "offer",
    sdp: msrpOffer({ attrs: swap(MSRP_ATTRS, "a=path", "a=path:http://192.0.2.10:7654/x;tcp") }),
    expect: ["E_MSRP_PATH"],
  },
  {
    name: "MSRP path with bad port",
    kind: "offer",
    sdp: msrpOffer({ attrs: swap(MSRP_ATTRS, "a=path", "a=path:msrps://192.0.2.10:99999/x;tcp") }),
    expect: ["E_MSRP_PATH"],
  },
  {
    name: "MSRP without accept-types",
    kind: "offer",
    sdp: msrpOffer({ attrs: without(MSRP_ATTRS, "a=accept-types") }),
    expect: ["E_MSRP_ACCEPT_TYPES"],
  },
  {
    name: "MSRP accept-types without subtype",
    kind: "offer",
    sdp: msrpOffer({ attrs: swap(MSRP_ATTRS, "a=accept-types", "a=accept-types:text") }),
    expect: ["E_MSRP_ACCEPT_TYPES"],
  },
  {
    name: "MSRP accept-wrapped-types malformed",
    kind: "offer",
    sdp: msrpOffer({ extra: ["a=accept-wrapped-types:text//plain"] }),
    expect: ["E_MSRP_ACCEPT_WRAPPED_TYPES"],
  },
  {
    name: "msrp URI on TCP/TLS/MSRP",
    kind: "offer",
    sdp: msrpOffer({ attrs: swap(MSRP_ATTRS, "a=path", "a=path:msrp://192.0.2.10:7654/jshA7we;tcp") }),
    expect: ["W_MSRP_SCHEME"],
  },

  // ---- BFCP ------------------------------------------------------------------------------------------------------
  {
    name: "BFCP fmt not *",
    kind: "offer",
    sdp: bfcpOffer({ mline: "m=application 50000 TCP/TLS/BFCP 1" }),
    expect: ["E_BFCP_FMT"],
  },
  {
    name: "BFCP floorctrl unknown role",
    kind: "offer",
    sdp: bfcpOffer({ attrs: swap(BFCP_ATTRS, "a=floorctrl", "a=floorctrl:master") }),
    expect: ["E_BFCP_FLOORCTRL"],
  },
  {
    name: "BFCP answer keeps s-only",
    kind: "answer",
    offer: bfcpOffer(),
    sdp: bfcpAnswer().replace("a=floorctrl:c-only", "a=floorctrl:s-only"),
    expect: ["E_BFCP_FLOORCTRL_ANSWER"],
  },
  {
    name: "BFCP answer with two roles",
    kind: "answer",
    offer: bfcpOffer({ attrs: swap(BFCP_ATTRS, "a=floorctrl", "a=floorctrl:c-s") }),
    sdp: bfcpAnswer().replace("a=floorctrl:c-only", "a=floorctrl:c-only s-only"),
    expect: ["E_BFCP_FLOORCTRL_ANSWER"],
  },
  {
    name: "BFCP confid not digits",
    kind: "offer",
    sdp: bfcpOffer({ attrs: swap(BFCP_ATTRS, "a=confid", "a=confid:abc") }),
    expect: ["E_BFCP_CONFID"],
  },
  {
    name: "BFCP confid above 32 bits",
    kind: "offer",
    sdp: bfcpOffer({ attrs: swap(BFCP_ATTRS, "a=confid", "a=confid:99999999999") }),
    expect: ["E_BFCP_CONFID"],
  },
  {
    name: "BFCP userid above 16 bits",
    kind: "offer",
    sdp: bfcpOffer({ attrs: swap(BFCP_ATTRS, "a=userid", "a=userid:70000") }),
    expect: ["E_BFCP_USERID"],
  },
  {
    name: "BFCP floorid not digits",
    kind: "offer",
    sdp: bfcpOffer({ attrs: swap(BFCP_ATTRS, "a=floorid", "a=floorid:x mstrm:10") }),
    expect: ["E_BFCP_FLOORID"],
  },
  {
    name: "BFCP floorid empty mstrm",
    kind: "offer",
    sdp: bfcpOffer({ attrs: swap(BFCP_ATTRS, "a=floorid", "a=floorid:1 mstrm:") }),
    expect: ["E_BFCP_FLOORID"],
  },
  {
    name: "BFCP bfcpver not a number",
    kind: "offer",
    sdp: bfcpOffer({ attrs: swap(BFCP_ATTRS, "a=bfcpver", "a=bfcpver:two") }),
    expect: ["E_BFCP_VERSION"],
  },

  // ---- ICE -------------------------------------------------------------------------------------------------------
  {
    name: "ice-ufrag too short",
    kind: "offer",
    sdp: dcOffer({ extra: ["a=ice-ufrag:ab", "a=ice-pwd:e5fa516fb518630e421934"] }),
    expect: ["E_ICE_UFRAG"],
  },
  {
    name: "ice-pwd too short",
    kind: "offer",
    sdp: dcOffer({ extra: ["a=ice-ufrag:abcd", "a=ice-pwd:short"] }),
    expect: ["E_ICE_PWD"],
  },
  {
    name: "ice-ufrag without ice-pwd",
    kind: "offer",
    sdp: dcOffer({ extra: ["a=ice-ufrag:abcd"] }),
    expect: ["E_ICE_CREDENTIALS"],
  },
  {
    name: "malformed candidate",
    kind: "offer",
    sdp: dcOffer({ extra: ["a=ice-ufrag:abcd", "a=ice-pwd:e5fa516fb518630e421934", "a=candidate:garbage"] }),
    expect: ["W_ICE_CANDIDATE"],
  },

  // ---- offer/answer -------------------------------------------------------------------------------------------------
  {
    name: "answer to an invalid offer",
    kind: "answer",
    offer: dcOffer({ attrs: without(DC_ATTRS, "a=fingerprint") }),
    sdp: dcAnswer(),
    expect: ["E_OFFER_INVALID"],
  },
  {
    name: "answer with fewer m-lines",
    kind: "answer",
    offer: dcOffer(),
    sdp: dcAnswer({ audio: false }),
    expect: ["E_ANSWER_MLINE_COUNT"],
  },
  {
    name: "answer with another media type",
    kind: "answer",
    offer: dcOffer(),
    sdp: dcAnswer().replace("m=audio 49170 RTP/AVP 116", "m=video 49170 RTP/AVP 116"),
    expect: ["E_ANSWER_MEDIA_TYPE"],
  },
  {
    name: "answer revives a port-0 m-line",
    kind: "answer",
    offer: dcOffer({ mline: "m=application 0 UDP/DTLS/SCTP webrtc-datachannel" }),
    sdp: dcAnswer(),
    expect: ["E_ANSWER_PORT"],
  },
  {
    name: "answer with another proto",
    kind: "answer",
    offer: dcOffer(),
    sdp: dcAnswer({ mline: "m=application 49172 TCP/DTLS/SCTP webrtc-datachannel" }),
    expect: ["E_PROTO_MISMATCH"],
  },
  {
    name: "answer with another fmt",
    kind: "answer",
    offer: msrpOffer(),
    sdp: msrpAnswer({ mline: "m=message 9 TCP/TLS/MSRP 1" }),
    expect: ["E_FMT_MISMATCH"],
  },

  // ---- e2e data channel profile (TS 33.328 §7.2.5) -----------------------------------------------------------------
  {
    name: "e2e offer without data channel",
    kind: "offer",
    e2eDc: true,
    sdp: sdp([...SESSION, ...AUDIO]),
    expect: ["E_E2E_NO_DC"],
  },
  {
    name: "e2e offer on TCP/DTLS/SCTP",
    kind: "offer",
    e2eDc: true,
    sdp: dcOffer({ mline: "m=application 9 TCP/DTLS/SCTP webrtc-datachannel" }),
    expect: ["E_E2E_PROTO"],
  },
  {
    name: "e2e offer without tls-id",
    kind: "offer",
    e2eDc: true,
    sdp: dcOffer({ attrs: without(DC_ATTRS, "a=tls-id") }),
    expect: ["E_E2E_TLSID_MISSING"],
  },
  {
    name: "e2e offer without setup",
    kind: "offer",
    e2eDc: true,
    sdp: dcOffer({ attrs: without(DC_ATTRS, "a=setup") }),
    expect: ["E_E2E_SETUP_MISSING"],
  },
  {
    name: "e2e offer with sha-1 only",
    kind: "offer",
    e2eDc: true,
    sdp: dcOffer({ attrs: swap(DC_ATTRS, "a=fingerprint", `a=fingerprint:sha-1 ${FP1}`) }),
    expect: ["E_E2E_FP_STRENGTH"],
  },
  {
    name: "e2e offer without sctp-port",
    kind: "offer",
    e2eDc: true,
    sdp: dcOffer({ attrs: without(DC_ATTRS, "a=sctp-port") }),
    expect: ["E_E2E_SCTP_PORT_MISSING"],
  },
  {
    name: "e2e offer with 3ge2ae",
    kind: "offer",
    e2eDc: true,
    sdp: dcOffer({ extra: ["a=3ge2ae:requested"] }),
    expect: ["E_E2E_SCOPE_INDICATION"],
    line: 15,
  },
  {
    name: "e2e answer without tls-id",
    kind: "answer",
    e2eDc: true,
    offer: dcOffer(),
    sdp: dcAnswer({ attrs: without(DC_ANSWER_ATTRS, "a=tls-id") }),
    expect: ["E_E2E_TLSID_ANSWER_MISSING"],
    absent: ["W_TLSID_ANSWER_MISSING"],
  },
];
