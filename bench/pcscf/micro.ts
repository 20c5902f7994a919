/**
 * CPU time per operation of the P-CSCF's per-message work, in-process and without sockets: parsing the bench's
 * INVITE and 200 OK (RFC 3261 §7), serialising them, and the IMS-ALG decision on their SDP offer and answer. User +
 * system CPU time (process.cpuUsage), so a loaded machine inflates it less than wall time; compare runs on one machine.
 *
 *   node --import tsx bench/pcscf/micro.ts [--n N] [--only "parse INVITE"]
 */
import { decideSdp } from "../../src/ims/pcscf/alg.ts";
import { algConfig } from "../../src/ims/pcscf/config.ts";
import { parseMessage } from "../../src/sip/parse.ts";
import { exitOnHelp } from "../cli.ts";

exitOnHelp(`usage: node --import tsx bench/pcscf/micro.ts [--n N] [--only OP]

CPU µs per operation (parse INVITE / 200, serialise, IMS-ALG decision on offer / answer); one JSON line each.
`);

const nIdx = process.argv.indexOf("--n");
const N = nIdx > 0 ? Number(process.argv[nIdx + 1]) : 20000;
const onlyIdx = process.argv.indexOf("--only");
const only = onlyIdx > 0 ? process.argv[onlyIdx + 1] : undefined;

const OFFER = [
  "v=0",
  "o=uac 53655765 2353687637 IN IP4 127.0.0.1",
  "s=-",
  "c=IN IP4 127.0.0.1",
  "t=0 0",
  "m=audio 6000 RTP/AVP 0 101",
  "a=rtpmap:0 PCMU/8000",
  "a=rtpmap:101 telephone-event/8000",
  "a=sendrecv",
  "m=application 10001 UDP/DTLS/SCTP webrtc-datachannel",
  "a=sctp-port:5000",
  "a=max-message-size:65536",
  "a=setup:actpass",
  "a=tls-id:4a756c6961206973206b696e6420746f",
  "a=fingerprint:sha-256 79:BF:B0:E2:BA:76:B9:D4:47:60:6D:DB:CC:49:48:34:F0:5A:4C:11:DE:B0:52:E7:4B:49:EA:30:7A:3C:5B:CD",
  'a=dcmap:0 label="bfcp";subprotocol="bfcp";max-retr=3',
  'a=dcmap:1 label="msrp";subprotocol="msrp";ordered=true',
  'a=dcmap:2 label="bootstrap";subprotocol="http"',
  "",
].join("\r\n");
const ANSWER = OFFER.replace("o=uac", "o=uas")
  .replace("a=setup:actpass", "a=setup:active")
  .replace("m=audio 6000 RTP/AVP 0 101", "m=audio 6002 RTP/AVP 0")
  .replace("a=rtpmap:101 telephone-event/8000\r\na=sendrecv\r\n", "");

const enc = new TextEncoder();
const INVITE = enc.encode(
  [
    "INVITE sip:dc@127.0.0.1:5060 SIP/2.0",
    "Via: SIP/2.0/UDP 127.0.0.1:5061;branch=z9hG4bK-1-1-0;rport",
    "From: <sip:uac@127.0.0.1:5061>;tag=1Tag1",
    "To: <sip:dc@127.0.0.1:5060>",
    "Call-ID: 1-1@127.0.0.1",
    "CSeq: 1 INVITE",
    'Contact: <sip:uac@127.0.0.1:5061;transport=UDP>;+sip.app-subtype="webrtc-datachannel"',
    "Max-Forwards: 70",
    "Content-Type: application/sdp",
    `Content-Length: ${OFFER.length}`,
    "",
    OFFER,
  ].join("\r\n"),
);
const OK = enc.encode(
  [
    "SIP/2.0 200 OK",
    "Via: SIP/2.0/UDP 127.0.0.1:5060;branch=z9hG4bKabcdef.a.0123456789;rport=5060",
    "Via: SIP/2.0/UDP 127.0.0.1:5061;branch=z9hG4bK-1-1-0;rport=5061;received=127.0.0.1",
    "Record-Route: <sip:c@127.0.0.1:5060;lr>, <sip:a-AbCdEfGhIjKlMnOpQrStUvWxYz0123456789@127.0.0.1:5060;lr>",
    "From: <sip:uac@127.0.0.1:5061>;tag=1Tag1",
    "To: <sip:dc@127.0.0.1:5060>;tag=2Uas1",
    "Call-ID: 1-1@127.0.0.1",
    "CSeq: 1 INVITE",
    'Contact: <sip:uas@127.0.0.1:5062;transport=UDP>;+sip.app-subtype="webrtc-datachannel"',
    "Content-Type: application/sdp",
    `Content-Length: ${ANSWER.length}`,
    "",
    ANSWER,
  ].join("\r\n"),
);

function measure(name: string, fn: () => unknown): void {
  if (only !== undefined && name !== only) return;
  for (let i = 0; i < Math.min(2000, N); i++) fn();
  const c0 = process.cpuUsage();
  for (let i = 0; i < N; i++) fn();
  const c = process.cpuUsage(c0);
  const us = (c.user + c.system) / N;
  process.stdout.write(
    `${JSON.stringify({ bench: "pcscf-micro", op: name, n: N, cpuUsPerOp: Math.round(us * 100) / 100 })}\n`,
  );
}

const config = algConfig();
const caps = new Set<string>();
const inv = parseMessage(INVITE, { datagram: true });
const ok = parseMessage(OK, { datagram: true });
const offer = decideSdp(OFFER, { direction: "originating", kind: "offer", callId: "x", capabilities: caps, config });
measure("parse INVITE", () => parseMessage(INVITE, { datagram: true }));
measure("parse 200", () => parseMessage(OK, { datagram: true }));
// the P-CSCF's level (RFC 3261 §16.3 item 1: only what the proxy reads)
measure("parse INVITE proxy", () => parseMessage(INVITE, { datagram: true, validate: "proxy" }));
measure("parse 200 proxy", () => parseMessage(OK, { datagram: true, validate: "proxy" }));
measure("serialise INVITE", () => inv.toBytes());
measure("serialise 200", () => ok.toBytes());
measure("decide offer", () =>
  decideSdp(OFFER, { direction: "originating", kind: "offer", callId: "x", capabilities: caps, config }),
);
measure("decide answer", () =>
  decideSdp(ANSWER, { direction: "originating", kind: "answer", callId: "x", capabilities: caps, config, offer }),
);
