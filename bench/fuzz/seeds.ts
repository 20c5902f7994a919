/**
 * Seed corpus of the fuzzers: the SIP torture fixtures (test/fixtures/sip/*.sip), the SDP fixtures
 * (test/fixtures/sdp/*.sdp, test/fixtures/pcscf/*.sdp), offers and answers made by the src/sdp builders, and SIP
 * requests that carry them. Everything is a latin1 string (one char per byte).
 */
import { readdirSync, readFileSync } from "node:fs";
import { fileURLToPath } from "node:url";
import { buildDcAnswer, buildDcOffer, type Fingerprint } from "../../src/sdp/index.ts";

const ROOT = fileURLToPath(new URL("../../test/fixtures/", import.meta.url));

function readDir(dir: string, ext: string): { name: string; text: string }[] {
  return readdirSync(`${ROOT}${dir}`)
    .filter((f) => f.endsWith(ext))
    .sort()
    .map((f) => ({ name: f, text: readFileSync(`${ROOT}${dir}/${f}`, "latin1") }));
}

const FP: Fingerprint = {
  hash: "sha-256",
  value: "4A:AD:B9:B1:3F:82:18:3B:54:02:12:DF:3E:5D:49:6B:19:E5:7C:AB:3A:4F:8C:1D:2E:6B:7A:90:11:22:33:44",
};
const FP2: Fingerprint = {
  hash: "sha-256",
  value: "5A:91:73:C3:EF:64:7F:C3:15:11:82:93:27:75:E8:D7:4A:D9:01:B2:66:C0:38:FF:58:F5:6E:B3:6E:82:E7:5A",
};

/** An offer/answer pair and the IMS-ALG context it belongs to. */
export interface SdpPair {
  name: string;
  offer: string;
  answer: string;
  direction: "originating" | "terminating";
  caps: string[];
}

function built(): SdpPair[] {
  const ice = {
    ufrag: "abcd",
    pwd: "abcdefghijklmnopqrstuv",
    candidates: ["1 1 udp 2130706431 127.0.0.1 50000 typ host"],
    endOfCandidates: true,
  };
  const offers = [
    buildDcOffer({
      origin: { sessionId: "1", address: "127.0.0.1" },
      connection: { address: "127.0.0.1" },
      audio: { port: 49152 },
      dataChannels: [
        {
          port: 50000,
          fingerprints: [FP],
          dcmaps: [
            { streamId: 1000, label: "chat", subprotocol: "msrp" },
            { streamId: 1002, label: "sensor", ordered: false, maxRetr: 3, priority: 256 },
          ],
          dcsas: [{ streamId: 1000, attribute: "accept-types:text/plain" }],
          ice,
          qosHint: { loss: 0.01, latency: 100 },
        },
      ],
      e2eDc: true,
    }),
    buildDcOffer({
      origin: { sessionId: "2", address: "::1" },
      connection: { address: "::1" },
      dataChannels: [
        { port: 50002, fingerprints: [FP, { hash: "sha-512", value: Array(64).fill("0F").join(":") }], ice },
        { port: 50004, fingerprints: [FP], tlsId: null, ice, e2ae: "requested" },
      ],
    }),
  ];
  const out: SdpPair[] = [];
  offers.forEach((o, k) => {
    const a = buildDcAnswer(o.sdp, {
      origin: { sessionId: "9", address: "127.0.0.1" },
      connection: { address: "127.0.0.1" },
      port: 50010,
      fingerprints: [FP2],
      ice: { ...ice, ufrag: "wxyz" },
    });
    if (a.sdp !== undefined)
      out.push({ name: `built-${k}`, offer: o.sdp, answer: a.sdp, direction: "originating", caps: ["dc-dtls"] });
  });
  return out;
}

export interface Corpus {
  sipMessages: { name: string; text: string }[];
  sdpBodies: { name: string; text: string }[];
  pairs: SdpPair[];
}

let cached: Corpus | undefined;

/** The seed corpus (read once per process). */
export function corpus(): Corpus {
  if (cached) return cached;
  const sdpFix = readDir("sdp", ".sdp");
  const pcscfFix = readDir("pcscf", ".sdp");
  const byName = new Map([...sdpFix, ...pcscfFix].map((f) => [f.name, f.text]));
  const pairs: SdpPair[] = [];
  for (const base of ["dcmtsi", "chromium", "werift", "libdatachannel", "e2ae-msrp", "bfcp-tls"]) {
    const offer = byName.get(`${base}-offer.sdp`);
    const answer = byName.get(`${base}-answer.sdp`);
    const caps = base === "e2ae-msrp" ? ["msrp-tls"] : base === "bfcp-tls" ? ["bfcp-tls"] : [];
    if (offer && answer) pairs.push({ name: base, offer, answer, direction: "originating", caps });
  }
  for (const fam of ["msrp", "bfcp"]) {
    for (const dir of ["orig", "term"] as const) {
      const offer = byName.get(`${fam}-${dir}-offer.in.sdp`);
      const answer = byName.get(`${fam}-${dir}-answer.in.sdp`);
      if (offer && answer)
        pairs.push({
          name: `pcscf-${fam}-${dir}`,
          offer,
          answer,
          direction: dir === "orig" ? "originating" : "terminating",
          caps: [`${fam}-tls`],
        });
    }
  }
  const builtPairs = built();
  pairs.push(...builtPairs);
  const sdpBodies = [
    ...sdpFix,
    ...pcscfFix,
    ...builtPairs.flatMap((p) => [
      { name: `${p.name}-offer`, text: p.offer },
      { name: `${p.name}-answer`, text: p.answer },
    ]),
  ];
  const sipFix = readDir("sip", ".sip");
  // SIP requests carrying the DC / e2ae offers and a 200 carrying an answer (RFC 3261 §13.2.1: INVITE with SDP)
  const carried = pairs.slice(0, 8).flatMap((p, k) => [
    { name: `invite-${p.name}`, text: invite(p.offer, k) },
    { name: `ok-${p.name}`, text: ok200(p.answer, k) },
  ]);
  cached = { sipMessages: [...sipFix, ...carried], sdpBodies, pairs };
  return cached;
}

function crlf(s: string): string {
  return s.replace(/\r?\n/g, "\r\n");
}

function invite(body: string, k: number): string {
  const b = crlf(body);
  return [
    "INVITE sip:bob@ims.example.com SIP/2.0",
    `Via: SIP/2.0/UDP 127.0.0.1:5071;branch=z9hG4bK-seed-${k};rport`,
    "Max-Forwards: 70",
    "Route: <sip:127.0.0.1:5060;lr>",
    '"Alice" <sip:alice@ims.example.com>;tag=a1'.replace(/^/, "From: "),
    "To: <sip:bob@ims.example.com>",
    `Call-ID: seed-${k}@127.0.0.1`,
    "CSeq: 1 INVITE",
    '<sip:alice@127.0.0.1:5071>;+sip.app-subtype="webrtc-datachannel"'.replace(/^/, "Contact: "),
    "Supported: path",
    "Security-Verify: msrp-tls;mediasec",
    "Content-Type: application/sdp",
    `Content-Length: ${b.length}`,
    "",
    b,
  ].join("\r\n");
}

function ok200(body: string, k: number): string {
  const b = crlf(body);
  return [
    "SIP/2.0 200 OK",
    `Via: SIP/2.0/UDP 127.0.0.1:5060;branch=z9hG4bK-seed-${k}`,
    `Via: SIP/2.0/UDP 127.0.0.1:5071;branch=z9hG4bK-seed-${k};rport=5071;received=127.0.0.1`,
    "Record-Route: <sip:c@127.0.0.1:5070;lr>, <sip:a-x@127.0.0.1:5060;lr>",
    "From: <sip:alice@ims.example.com>;tag=a1",
    "To: <sip:bob@ims.example.com>;tag=b1",
    `Call-ID: seed-${k}@127.0.0.1`,
    "CSeq: 1 INVITE",
    "Contact: <sip:bob@127.0.0.1:5081>",
    "Content-Type: application/sdp",
    `Content-Length: ${b.length}`,
    "",
    b,
  ].join("\r\n");
}
