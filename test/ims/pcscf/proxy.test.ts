/**
 * The P-CSCF as an RFC 3261 §16 proxy, driven with raw SIP over UDP from plain sockets (a hand-written UAC and UAS),
 * so every header on the wire can be checked.
 */
import { afterEach, describe, expect, it } from "vitest";
import { loopHash, Pcscf, type PcscfOptions, ProxyCore } from "../../../src/ims/pcscf/index.ts";
import { AuditLog } from "../../../src/log.ts";
import {
  parseMessage,
  type SipMessage,
  type SipRequest,
  type SipResponse,
  SipTransportLayer,
  TransactionManager,
} from "../../../src/sip/index.ts";
import type { ProxyTransaction } from "../../../src/sip/proxy.ts";
import { activeResources, expectNoLeaks } from "../../sip/helpers.ts";
import { type UdpPeer, udpPeer } from "./udpPeer.ts";

const TIMERS = { T1: 50, T2: 200, T4: 200, D: 200 };

type Peer = UdpPeer<SipMessage>;

const peer = (): Promise<Peer> => udpPeer((b) => parseMessage(new Uint8Array(b), { datagram: true }));

const isRes = (status: number, method?: string) => (m: SipMessage) =>
  m.kind === "response" && m.status === status && (method === undefined || m.cseq().method === method);
const isReq = (method: string) => (m: SipMessage) => m.kind === "request" && m.method === method;

const SDP = [
  "v=0",
  "o=- 1 1 IN IP4 127.0.0.1",
  "s=-",
  "c=IN IP4 127.0.0.1",
  "t=0 0",
  "m=application 10001 UDP/DTLS/SCTP webrtc-datachannel",
  "a=sctp-port:5000",
  "a=setup:actpass",
  "a=tls-id:4a756c6961206973206b696e6420746f",
  "a=fingerprint:sha-256 79:BF:B0:E2:BA:76:B9:D4:47:60:6D:DB:CC:49:48:34:F0:5A:4C:11:DE:B0:52:E7:4B:49:EA:30:7A:3C:5B:CD",
  "",
].join("\r\n");

function invite(
  uac: Peer,
  pcscfPort: number,
  opts: { mf?: number; extra?: string[]; callId?: string; body?: string } = {},
): string {
  const body = opts.body ?? SDP;
  return [
    `INVITE sip:bob@127.0.0.1:${pcscfPort} SIP/2.0`,
    `Via: SIP/2.0/UDP 127.0.0.1:${uac.port};branch=z9hG4bK-uac-${opts.callId ?? "1"};rport`,
    `Max-Forwards: ${opts.mf ?? 70}`,
    "From: <sip:alice@ims.example.com>;tag=a1",
    "To: <sip:bob@ims.example.com>",
    `Call-ID: ${opts.callId ?? "call-1"}@test`,
    "CSeq: 1 INVITE",
    `Contact: <sip:alice@127.0.0.1:${uac.port}>`,
    ...(opts.extra ?? []),
    "Content-Type: application/sdp",
    `Content-Length: ${body.length}`,
    "",
    body,
  ].join("\r\n");
}

/** A response built from a request received by the hand-written UAS (Via, From, To, Call-ID, CSeq copied). */
function answer(req: SipRequest, status: string, extra: string[] = [], body = ""): string {
  const rows = req.headers.filter((h) =>
    ["via", "v", "from", "f", "call-id", "i", "cseq"].includes(h.name.toLowerCase()),
  );
  const to = req.getHeader("To") ?? "";
  return [
    `SIP/2.0 ${status}`,
    ...rows.map((h) => `${h.name}: ${h.value}`),
    `To: ${to}${/;tag=/.test(to) || status.startsWith("100") ? "" : ";tag=b1"}`,
    ...req.getHeaders("Record-Route").map((v) => `Record-Route: ${v}`),
    ...extra,
    ...(body ? ["Content-Type: application/sdp"] : []),
    `Content-Length: ${body.length}`,
    "",
    body,
  ].join("\r\n");
}

const closers: (() => Promise<void>)[] = [];
afterEach(async () => {
  for (const c of closers.splice(0).reverse()) await c().catch(() => undefined);
});

async function setup(over: Partial<PcscfOptions> = {}) {
  const uac = await peer();
  const uas = await peer();
  const audit = new AuditLog();
  const p = new Pcscf({
    name: "pcscf-t",
    access: { udp: 0 },
    core: { udp: 0 },
    coreNextHop: `sip:127.0.0.1:${uas.port}`,
    requireRegistration: false,
    timers: TIMERS,
    audit,
    ...over,
  });
  await p.start();
  closers.push(
    () => uac.close(),
    () => uas.close(),
    () => p.close(),
  );
  const access = p.address("access", "UDP")?.port ?? 0;
  const core = p.address("core", "UDP")?.port ?? 0;
  return { uac, uas, p, access, core, audit };
}

describe("P-CSCF proxy core (RFC 3261 §16) on the wire", () => {
  it("INVITE/200/ACK/BYE: own Via added and stripped, double Record-Route, Max-Forwards decremented, body byte-exact", async () => {
    const before = activeResources();
    const { uac, uas, p, access, core, audit } = await setup();
    uac.send(invite(uac, access), access);
    const trying = await uac.next(isRes(100));
    expect(trying.getHeaders("Via")).toHaveLength(1);
    const inv = (await uas.next(isReq("INVITE"))) as SipRequest;
    const vias = inv.vias();
    expect(vias).toHaveLength(2);
    expect(vias[0]?.port).toBe(core);
    expect(vias[0]?.params.find((x) => x.name === "branch")?.value).toMatch(/^z9hG4bK[0-9a-f]{16}\.0\.[0-9a-f]{12}$/);
    // RFC 3581 §4: the UAC's Via got received and rport
    expect(inv.getHeaders("Via")[1]).toMatch(/;rport=\d+;received=127\.0\.0\.1$/);
    expect(inv.maxForwards()).toBe(69);
    const rr = inv.recordRoutes();
    expect(rr).toHaveLength(2);
    expect(rr[0]?.uri).toMatchObject({ user: "c", port: core });
    expect(rr[1]?.uri).toMatchObject({ port: access });
    expect((rr[1]?.uri as { user?: string } | undefined)?.user).toMatch(/^a-/);
    expect(Buffer.from(inv.body).toString("latin1")).toBe(SDP);
    // answer
    uas.send(answer(inv, "180 Ringing"), inv.vias()[0]?.port ?? 0);
    const ringing = await uac.next(isRes(180));
    expect(ringing.getHeaders("Via")).toHaveLength(1);
    uas.send(
      answer(inv, "200 OK", [`Contact: <sip:bob@127.0.0.1:${uas.port}>`], SDP.replace("actpass", "active")),
      core,
    );
    const ok = (await uac.next(isRes(200, "INVITE"))) as SipResponse;
    expect(ok.getHeaders("Via")).toHaveLength(1);
    expect(ok.recordRoutes()).toHaveLength(2);
    // ACK along the route set (reversed Record-Route on the UAC side)
    const routes = [...ok.getHeaders("Record-Route")].reverse();
    const ack = [
      `ACK sip:bob@127.0.0.1:${uas.port} SIP/2.0`,
      `Via: SIP/2.0/UDP 127.0.0.1:${uac.port};branch=z9hG4bK-uac-ack;rport`,
      "Max-Forwards: 70",
      ...routes.map((r) => `Route: ${r}`),
      "From: <sip:alice@ims.example.com>;tag=a1",
      "To: <sip:bob@ims.example.com>;tag=b1",
      "Call-ID: call-1@test",
      "CSeq: 1 ACK",
      "Content-Length: 0",
      "",
      "",
    ].join("\r\n");
    uac.send(ack, access);
    const fwdAck = (await uas.next(isReq("ACK"))) as SipRequest;
    expect(fwdAck.getHeader("Route")).toBeUndefined();
    expect(fwdAck.vias()).toHaveLength(2);
    expect(fwdAck.uri).toBe(`sip:bob@127.0.0.1:${uas.port}`);
    // a retransmitted ACK is forwarded with the same (deterministic) branch (RFC 3261 §16.11)
    uac.send(ack, access);
    const fwdAck2 = (await uas.next(isReq("ACK"))) as SipRequest;
    expect(fwdAck2.getHeaders("Via")[0]).toBe(fwdAck.getHeaders("Via")[0]);
    // BYE from the callee toward the caller: it follows the Record-Route in order
    const bye = [
      `BYE sip:alice@127.0.0.1:${uac.port} SIP/2.0`,
      `Via: SIP/2.0/UDP 127.0.0.1:${uas.port};branch=z9hG4bK-uas-bye;rport`,
      "Max-Forwards: 70",
      ...inv.getHeaders("Record-Route").map((r) => `Route: ${r}`),
      "From: <sip:bob@ims.example.com>;tag=b1",
      "To: <sip:alice@ims.example.com>;tag=a1",
      "Call-ID: call-1@test",
      "CSeq: 1 BYE",
      "Content-Length: 0",
      "",
      "",
    ].join("\r\n");
    uas.send(bye, core);
    const fwdBye = (await uac.next(isReq("BYE"))) as SipRequest;
    expect(fwdBye.getHeader("Route")).toBeUndefined();
    expect(fwdBye.vias()[0]?.port).toBe(access);
    uac.send(answer(fwdBye, "200 OK"), access);
    await uas.next(isRes(200, "BYE"));
    // the audit shows e2e and equal hashes for the offer and the answer
    const ev = audit.events.filter((e) => e.proto === "UDP/DTLS/SCTP");
    expect(ev.map((e) => [e.kind, e.decision, e.bodyUnchanged])).toEqual([
      ["offer", "e2e", true],
      ["answer", "e2e", true],
    ]);
    await p.close();
    await uac.close();
    await uas.close();
    closers.splice(0);
    expect(await expectNoLeaks(before, 2000)).toEqual({});
  });

  it("Max-Forwards: 0 → 483 Too Many Hops (§16.3 item 3)", async () => {
    const { uac, access } = await setup();
    uac.send(invite(uac, access, { mf: 0 }), access);
    await uac.next(isRes(483));
  });

  it("a request that comes back to the proxy unchanged is a loop → 482 (§16.3 item 4)", async () => {
    const uac = await peer();
    closers.push(() => uac.close());
    // a free port for the access side, so that the static next hop can name the proxy itself
    const probe = await peer();
    const port = probe.port;
    await probe.close();
    const p = new Pcscf({
      name: "pcscf-loop",
      access: { udp: port },
      core: { udp: 0 },
      coreNextHop: `sip:127.0.0.1:${port}`,
      requireRegistration: false,
      timers: TIMERS,
    });
    await p.start();
    closers.push(() => p.close());
    uac.send(invite(uac, port), port);
    await uac.next(isRes(482, "INVITE"));
  });

  it("Proxy-Require with an unknown option → 420 with Unsupported; sec-agree is understood (§16.3 item 5)", async () => {
    const { uac, uas, access } = await setup();
    uac.send(invite(uac, access, { extra: ["Proxy-Require: foo, sec-agree"] }), access);
    const r = await uac.next(isRes(420));
    expect(r.getHeader("Unsupported")).toBe("foo");
    uac.send(invite(uac, access, { extra: ["Proxy-Require: sec-agree"], callId: "c2" }), access);
    const inv = (await uas.next(isReq("INVITE"))) as SipRequest;
    // TS 24.229 §5.2.2: sec-agree does not go on toward the core
    expect(inv.getHeader("Proxy-Require")).toBeUndefined();
  });

  it("CANCEL before any provisional: 200 at once, held until the 180, then sent downstream; 487 relayed", async () => {
    const { uac, uas, access, core } = await setup();
    uac.send(invite(uac, access), access);
    const inv = (await uas.next(isReq("INVITE"))) as SipRequest;
    const cancel = [
      `CANCEL sip:bob@127.0.0.1:${access} SIP/2.0`,
      `Via: SIP/2.0/UDP 127.0.0.1:${uac.port};branch=z9hG4bK-uac-1;rport`,
      "Max-Forwards: 70",
      "From: <sip:alice@ims.example.com>;tag=a1",
      "To: <sip:bob@ims.example.com>",
      "Call-ID: call-1@test",
      "CSeq: 1 CANCEL",
      "Content-Length: 0",
      "",
      "",
    ].join("\r\n");
    uac.send(cancel, access);
    await uac.next(isRes(200, "CANCEL"));
    // RFC 3261 §9.1: nothing goes downstream before a provisional response
    await new Promise((r) => setTimeout(r, 100));
    expect(uas.inbox.some((m) => m.kind === "request" && m.method === "CANCEL")).toBe(false);
    uas.send(answer(inv, "180 Ringing"), core);
    const c = (await uas.next(isReq("CANCEL"))) as SipRequest;
    // RFC 3261 §9.1: same branch as the INVITE it cancels
    expect(c.getHeaders("Via")[0]).toBe(inv.getHeaders("Via")[0]);
    uas.send(answer(c, "200 OK"), core);
    uas.send(answer(inv, "487 Request Terminated"), core);
    await uac.next(isRes(487, "INVITE"));
    // the proxy's client transaction acknowledges the 487 downstream (§17.1.1.3)
    await uas.next(isReq("ACK"));
  });

  it("a 503 from downstream is answered 500 upstream (§16.7 step 6); OPTIONS to the proxy itself → 200", async () => {
    const { uac, uas, access, core } = await setup();
    uac.send(invite(uac, access), access);
    const inv = (await uas.next(isReq("INVITE"))) as SipRequest;
    uas.send(answer(inv, "503 Service Unavailable"), core);
    await uac.next(isRes(500, "INVITE"));
    const opt = [
      `OPTIONS sip:127.0.0.1:${access} SIP/2.0`,
      `Via: SIP/2.0/UDP 127.0.0.1:${uac.port};branch=z9hG4bK-opt;rport`,
      "Max-Forwards: 70",
      "From: <sip:alice@ims.example.com>;tag=o1",
      "To: <sip:pcscf@ims.example.com>",
      "Call-ID: opt@test",
      "CSeq: 1 OPTIONS",
      "Content-Length: 0",
      "",
      "",
    ].join("\r\n");
    uac.send(opt, access);
    await uac.next(isRes(200, "OPTIONS"));
  });

  it("a malformed fingerprint in the INVITE → 488 with the finding code; nothing goes downstream", async () => {
    const { uac, uas, access, audit } = await setup();
    uac.send(invite(uac, access, { body: SDP.replace("sha-256 79:BF", "sha-256 7:BF") }), access);
    const r = await uac.next(isRes(488));
    expect(r.getHeader("Warning")).toMatch(/^399 pcscf-t "E_FP_SYNTAX: /);
    await new Promise((res) => setTimeout(res, 50));
    expect(uas.inbox.some((m) => m.kind === "request" && m.method === "INVITE")).toBe(false);
    expect(audit.events.find((e) => e.proto === "UDP/DTLS/SCTP")).toMatchObject({
      decision: "refuse",
      sha256Out: null,
    });
  });

  it("a bad answer in an 18x: the branch is cancelled and the caller gets 488 instead of the 487", async () => {
    const { uac, uas, access, core } = await setup();
    uac.send(invite(uac, access), access);
    const inv = (await uas.next(isReq("INVITE"))) as SipRequest;
    const bad = SDP.replace("actpass", "active").replace("a=fingerprint:sha-256 79:BF", "a=fingerprint:sha-256 7:BF");
    uas.send(answer(inv, "183 Session Progress", [], bad), core);
    const c = (await uas.next(isReq("CANCEL"))) as SipRequest;
    uas.send(answer(c, "200 OK"), core);
    uas.send(answer(inv, "487 Request Terminated"), core);
    const r = await uac.next(isRes(488, "INVITE"));
    expect(r.getHeader("Warning")).toMatch(/E_FP_SYNTAX/);
    expect(uac.inbox.some((m) => m.kind === "response" && m.status === 183)).toBe(false);
  });

  it("INVITE without SDP: the offer in the 200 and the answer in the ACK are both decided (RFC 3261 §13.2.1)", async () => {
    const { uac, uas, access, core, audit } = await setup();
    const noSdp = invite(uac, access, { body: "" }).replace("Content-Type: application/sdp\r\n", "");
    uac.send(noSdp, access);
    const inv = (await uas.next(isReq("INVITE"))) as SipRequest;
    expect(inv.body.byteLength).toBe(0);
    uas.send(answer(inv, "200 OK", [`Contact: <sip:bob@127.0.0.1:${uas.port}>`], SDP), core);
    const ok = (await uac.next(isRes(200, "INVITE"))) as SipResponse;
    const ack = [
      `ACK sip:bob@127.0.0.1:${uas.port} SIP/2.0`,
      `Via: SIP/2.0/UDP 127.0.0.1:${uac.port};branch=z9hG4bK-uac-ack2;rport`,
      "Max-Forwards: 70",
      ...[...ok.getHeaders("Record-Route")].reverse().map((r) => `Route: ${r}`),
      "From: <sip:alice@ims.example.com>;tag=a1",
      "To: <sip:bob@ims.example.com>;tag=b1",
      "Call-ID: call-1@test",
      "CSeq: 1 ACK",
      "Content-Type: application/sdp",
      `Content-Length: ${SDP.length - 1}`,
      "",
      SDP.replace("actpass", "active"),
    ].join("\r\n");
    uac.send(ack, access);
    const fwd = (await uas.next(isReq("ACK"))) as SipRequest;
    expect(Buffer.from(fwd.body).toString("latin1")).toBe(SDP.replace("actpass", "active"));
    const ev = audit.events.filter((e) => e.proto === "UDP/DTLS/SCTP");
    expect(ev.map((e) => [e.sip, e.kind, e.direction, e.decision])).toEqual([
      ["200 INVITE", "offer", "terminating", "e2e"],
      ["ACK", "answer", "terminating", "e2e"],
    ]);
  });

  it("loopHash ignores the Via (a looping request keeps it) but not the Request-URI", () => {
    const a = parseMessage(Buffer.from(invite({ port: 1 } as Peer, 5060), "latin1"), { datagram: true }) as SipRequest;
    const b = a.clone();
    b.prependHeader("Via", "SIP/2.0/UDP 10.0.0.1:5060;branch=z9hG4bKxyz");
    expect(loopHash(b)).toBe(loopHash(a));
    b.uri = "sip:bob@127.0.0.1:5061";
    expect(loopHash(b)).not.toBe(loopHash(a));
  });
});

describe("ProxyCore: 2xx retransmissions (RFC 3261 §16.7 step 10, RFC 6026 §7.1)", () => {
  it("a retransmitted 2xx leaves with what the policy changed in the first one (the IMS-ALG's rewritten answer)", async () => {
    const uac = await peer();
    const uas = await peer();
    const layer = new SipTransportLayer({ host: "127.0.0.1", udp: { port: 0 } });
    await layer.start();
    const iface = { name: "one", layer, txm: new TransactionManager(layer, { timers: TIMERS }) };
    let ptx: ProxyTransaction<undefined> | undefined;
    const proxy = new ProxyCore<undefined>({
      interfaces: [iface],
      policy: {
        route: (pr) => {
          ptx ??= pr.ptx as ProxyTransaction<undefined> | undefined;
          return { kind: "forward", iface, target: { transport: "UDP", host: "127.0.0.1", port: uas.port } };
        },
        onResponse: (res) => {
          if (res.status === 200) res.setBody(new TextEncoder().encode("rewritten by the policy"));
          return undefined;
        },
      },
    });
    proxy.refreshAddresses();
    closers.push(async () => {
      proxy.close();
      await layer.close();
      await uac.close();
      await uas.close();
    });
    const port = layer.address("UDP")?.port ?? 0;
    uac.send(invite(uac, port), port);
    const req = (await uas.next(isReq("INVITE"))) as SipRequest;
    const ok = answer(req, "200 OK", [`Contact: <sip:bob@127.0.0.1:${uas.port}>`], "original answer");
    uas.send(ok, port);
    const first = await uac.next(isRes(200, "INVITE"));
    uas.send(ok, port); // the UAS retransmits its 2xx (RFC 3261 §13.3.1.4)
    const again = await uac.next(isRes(200, "INVITE"));
    for (const r of [first, again]) expect(Buffer.from(r.body).toString("latin1")).toBe("rewritten by the policy");
    expect(Buffer.from(again.toBytes()).equals(Buffer.from(first.toBytes()))).toBe(true);
    // the context settled: the messages are released, what the dialog needs is kept (docs/sip.md "Transactions")
    expect(ptx?.forwarded).toBeUndefined();
    expect(() => ptx?.received).toThrow(expect.objectContaining({ code: "E_SIP_TRANSACTION" }));
    expect(ptx?.stx.state).toBe("accepted");
    expect(ptx?.callId).toBe(first.callId());
    expect(ptx?.okToTag).toBe(first.toTag());
    expect(Buffer.from(ptx?.ok?.body ?? []).toString("latin1")).toBe("rewritten by the policy");
  });
});
