/**
 * The bench's messages (bench/pcscf/uac_dc.xml, uas_rr.xml) as the P-CSCF receives them: the INVITE with a data
 * channel SDP offer, the 200 OK with the answer and a double Record-Route, and the BYE along the route set. Shared by
 * micro.ts and ab.ts.
 */
export const OFFER = [
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
export const ANSWER = OFFER.replace("o=uac", "o=uas")
  .replace("a=setup:actpass", "a=setup:active")
  .replace("m=audio 6000 RTP/AVP 0 101", "m=audio 6002 RTP/AVP 0")
  .replace("a=rtpmap:101 telephone-event/8000\r\na=sendrecv\r\n", "");

const enc = new TextEncoder();
export const INVITE = enc.encode(
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
export const OK = enc.encode(
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
export const BYE = enc.encode(
  [
    "BYE sip:uas@127.0.0.1:5062 SIP/2.0",
    "Via: SIP/2.0/UDP 127.0.0.1:5061;branch=z9hG4bK-1-1-5;rport",
    "Route: <sip:a-AbCdEfGhIjKlMnOpQrStUvWxYz0123456789@127.0.0.1:5060;lr>, <sip:c@127.0.0.1:5060;lr>",
    "From: <sip:uac@127.0.0.1:5061>;tag=1Tag1",
    "To: <sip:dc@127.0.0.1:5060>;tag=2Uas1",
    "Call-ID: 1-1@127.0.0.1",
    "CSeq: 2 BYE",
    "Max-Forwards: 70",
    "Content-Length: 0",
    "",
    "",
  ].join("\r\n"),
);
