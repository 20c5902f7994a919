/**
 * Interop: a JsSIP-style Digest REGISTER over SIP/WebSocket (RFC 7118) through the P-CSCF to the S-CSCF, built by
 * hand with the exact header shapes JsSIP sends (Via …/WSS x.invalid, Contact with reg-id / +sip.instance, and
 * `Authorization: Digest algorithm=MD5, username="…", realm="…", nonce="…", uri="sip:…", response="…", qop=auth,
 * cnonce="…", nc=00000001`). JsSIP answers the first WWW-Authenticate only, and only MD5 (RFC 2617 / RFC 7616 §3.4).
 */
import { createHash, randomUUID } from "node:crypto";
import { afterEach, describe, expect, it } from "vitest";
import WebSocket from "ws";
import { Pcscf } from "../../../src/ims/pcscf/index.ts";
import { MemorySubscriberStore, Scscf } from "../../../src/ims/scscf/index.ts";
import { parseChallenge } from "../../../src/sip/auth/index.ts";
import { parseMessage, type SipResponse } from "../../../src/sip/index.ts";

const DOMAIN = "ims.example.com";
const open: { close(): Promise<void> }[] = [];
afterEach(async () => {
  for (const c of open.splice(0).reverse()) await c.close();
});

const md5 = (s: string) => createHash("md5").update(s).digest("hex");

async function setup(digestAlgorithms: ("MD5" | "SHA-256")[]) {
  const store = new MemorySubscriberStore([
    { impi: "alice", impus: [`sip:alice@${DOMAIN}`], password: "lab-only-jssip-pw" },
  ]);
  const scscf = new Scscf({ tcp: 0, domains: [DOMAIN], auth: { store, digestAlgorithms } });
  await scscf.start();
  open.push(scscf);
  const pcscf = new Pcscf({ name: "pcscf-ws", access: { ws: 0 }, core: { tcp: 0 }, scscf: scscf.uri("TCP") });
  await pcscf.start();
  open.push(pcscf);
  const port = pcscf.address("access", "WS")?.port ?? 0;
  const ws = new WebSocket(`ws://127.0.0.1:${port}/`, "sip");
  await new Promise<void>((res, rej) => {
    ws.once("open", () => res());
    ws.once("error", rej);
  });
  open.push({ close: async () => ws.close() });
  const responses: SipResponse[] = [];
  ws.on("message", (d: Buffer) => {
    const m = parseMessage(new Uint8Array(d));
    if (m.kind === "response" && m.status >= 200) responses.push(m);
  });
  const next = async (n: number) => {
    for (let i = 0; i < 300 && responses.length < n; i++) await new Promise((r) => setTimeout(r, 10));
    const r = responses[n - 1];
    if (!r) throw new Error("no response");
    return r;
  };
  return { scscf, ws, next };
}

/** a REGISTER as JsSIP 3.x builds it */
function jssipRegister(cseq: number, callId: string, instance: string, authorization?: string): string {
  const lines = [
    `REGISTER sip:${DOMAIN} SIP/2.0`,
    `Via: SIP/2.0/WSS 3f2k9a1c7b.invalid;branch=z9hG4bK${Math.random().toString(36).slice(2)}`,
    "Max-Forwards: 69",
    `To: <sip:alice@${DOMAIN}>`,
    `From: <sip:alice@${DOMAIN}>;tag=m4r1k7o2p`,
    `Call-ID: ${callId}`,
    `CSeq: ${cseq} REGISTER`,
    ...(authorization ? [`Authorization: ${authorization}`] : []),
    `Contact: <sip:x8q2w1e5@3f2k9a1c7b.invalid;transport=ws>;+sip.ice;reg-id=1;+sip.instance="<urn:uuid:${instance}>";expires=600`,
    "Expires: 600",
    "Allow: INVITE,ACK,CANCEL,BYE,UPDATE,MESSAGE,OPTIONS,REFER,INFO,NOTIFY",
    "Supported: path,gruu,outbound",
    "User-Agent: JsSIP 3.10.0",
    "Content-Length: 0",
    "",
    "",
  ];
  return lines.join("\r\n");
}

async function register(password: string) {
  const { scscf, ws, next } = await setup(["MD5"]);
  const callId = randomUUID().replace(/-/g, "").slice(0, 22);
  const instance = randomUUID();
  ws.send(jssipRegister(1, callId, instance));
  const r1 = await next(1);
  expect(r1.status).toBe(401);
  // JsSIP reads the first WWW-Authenticate only
  const ch = parseChallenge(r1.getHeaders("WWW-Authenticate")[0] ?? "");
  expect(ch.algorithm ?? "MD5").toBe("MD5");
  const uri = `sip:${DOMAIN}`;
  const cnonce = Math.random().toString(36).slice(2, 14);
  // RFC 2617 §3.2.2.1 (what JsSIP's DigestAuthentication computes): KD(H(A1), nonce:nc:cnonce:qop:H(A2))
  const ha1 = md5(`alice:${ch.realm}:${password}`);
  const ha2 = md5(`REGISTER:${uri}`);
  const response = md5(`${ha1}:${ch.nonce}:00000001:${cnonce}:auth:${ha2}`);
  const opaque = ch.opaque !== undefined ? `, opaque="${ch.opaque}"` : "";
  const authorization = `Digest algorithm=MD5, username="alice", realm="${ch.realm}", nonce="${ch.nonce}", uri="${uri}", response="${response}"${opaque}, qop=auth, cnonce="${cnonce}", nc=00000001`;
  ws.send(jssipRegister(2, callId, instance, authorization));
  return { r2: await next(2), scscf };
}

describe("JsSIP-style Digest REGISTER over WebSocket → P-CSCF → S-CSCF", () => {
  it("answers the 401 with JsSIP's Authorization shape → 200 with rspauth; alice bound over the WS flow", async () => {
    const { r2, scscf } = await register("lab-only-jssip-pw");
    expect(r2.status).toBe(200);
    expect(r2.getHeader("Authentication-Info")).toMatch(/rspauth="[0-9a-f]{32}"/);
    expect(scscf.location.lookup(`sip:alice@${DOMAIN}`)).toHaveLength(1);
  });

  it("a wrong password in the same shape gets a new 401, no binding", async () => {
    const { r2, scscf } = await register("wrong");
    expect(r2.status).toBe(401);
    expect(scscf.location.lookup(`sip:alice@${DOMAIN}`)).toHaveLength(0);
  });
});
