/**
 * P-CSCF fault scenarios (issue 8 item 3): a UE that never sends ACK, an IMS-AGW media fault on an anchored e2ae
 * stream, and the session capacity. Each composes its own S-CSCF + two P-CSCFs on 127.0.0.1, bounded in time.
 */
import { createSocket } from "node:dgram";
import { ImsAgw } from "../../src/ims/agw/index.ts";
import { Pcscf, type PcscfOptions } from "../../src/ims/pcscf/index.ts";
import { Scscf } from "../../src/ims/scscf/index.ts";
import { createResponse, parseMessage, type SipRequestError } from "../../src/sip/index.ts";
import { DcEndpoint } from "../../src/ue/dcEndpoint.ts";
import { ImsUe, type ImsUeOptions, type UeCall } from "../../src/ue/ue.ts";
import type { FaultResult, FaultScenario } from "./types.ts";
import { waitUntil } from "./util.ts";

const T = { T1: 100, T2: 400, T4: 500, D: 500 };
const DOMAIN = "ims.example.com";

async function core(a: Partial<PcscfOptions> = {}, b: Partial<PcscfOptions> = {}) {
  const scscf = new Scscf({ tcp: 0, domains: [DOMAIN], timers: T, auth: false, trustedPcscfs: ["127.0.0.1"] });
  await scscf.start();
  const mk = async (name: string, o: Partial<PcscfOptions>) => {
    const p = new Pcscf({ name, access: { udp: 0 }, core: { tcp: 0 }, scscf: scscf.uri("TCP"), timers: T, ...o });
    await p.start();
    return p;
  };
  const pa = await mk("pcscf-a", a);
  const pb = await mk("pcscf-b", b);
  const ues: ImsUe[] = [];
  return {
    a: pa,
    b: pb,
    async ue(p: Pcscf, user: string, o: Partial<ImsUeOptions> = {}) {
      const ue = new ImsUe({ aor: `sip:${user}@${DOMAIN}`, outboundProxy: p.uri("access", "UDP"), timers: T, ...o });
      ues.push(ue);
      await ue.start();
      await ue.register();
      return ue;
    },
    async close() {
      for (const u of ues) await u.close();
      await pa.close();
      await pb.close();
      await scscf.close();
    },
  };
}

/** A raw UDP UE: sends an INVITE with a real DC offer through P-CSCF(A) and never ACKs the 200. */
const noAck: FaultScenario = async () => {
  const c = await core({ requireRegistration: false });
  const raw = createSocket("udp4");
  const ep = new DcEndpoint({ name: "raw" });
  try {
    const bob = await c.ue(c.b, "bob");
    const calls: UeCall[] = [];
    bob.on("incoming", (x) => calls.push(x));
    let ok200 = 0;
    let byeAt = 0;
    raw.on("message", (b, r) => {
      const m = parseMessage(new Uint8Array(b), { datagram: true });
      if (m.kind === "response" && m.status === 200) ok200++;
      if (m.kind === "request" && m.method === "BYE") {
        byeAt ||= performance.now();
        raw.send(createResponse(m, 200).toBytes(), r.port, r.address);
      }
    });
    await new Promise<void>((r) => raw.bind(0, "127.0.0.1", () => r()));
    const port = raw.address().port;
    const sdp = await ep.createOffer();
    const a = c.a.address("access", "UDP");
    if (!a) throw new Error("no UDP");
    const len = new TextEncoder().encode(sdp).byteLength;
    raw.send(
      `INVITE sip:bob@${DOMAIN} SIP/2.0\r\nVia: SIP/2.0/UDP 127.0.0.1:${port};branch=z9hG4bK-noack;rport\r\n` +
        `Max-Forwards: 70\r\nFrom: <sip:mallory@${DOMAIN}>;tag=m\r\nTo: <sip:bob@${DOMAIN}>\r\nCall-ID: noack@bench\r\n` +
        `CSeq: 1 INVITE\r\nContact: <sip:mallory@127.0.0.1:${port}>\r\nContent-Type: application/sdp\r\n` +
        `Content-Length: ${len}\r\n\r\n${sdp}`,
      a.port,
      a.host,
    );
    await waitUntil(() => ok200 > 0, 5000);
    const t0 = performance.now();
    const before = { pcscfASessions: c.a.sessions.size, pcscfBSessions: c.b.sessions.size };
    await waitUntil(() => byeAt > 0, 15_000);
    const freed = await waitUntil(
      () => c.a.sessions.size === 0 && c.b.sessions.size === 0 && calls[0]?.dc.state === "closed",
      5000,
    );
    const after = { pcscfASessions: c.a.sessions.size, pcscfBSessions: c.b.sessions.size };
    return {
      scenario: "ue-never-acks",
      ok: byeAt > 0 && freed,
      detectMs: Math.round(byeAt - t0),
      releaseMs: Math.round(performance.now() - t0),
      before,
      after,
      detail: `callee retransmitted its 200 ${ok200 - 1} times, BYE after 64*T1 (T1 = ${T.T1} ms); sessions freed at both P-CSCFs, callee's DC endpoint closed`,
    } satisfies FaultResult;
  } finally {
    raw.close();
    await ep.close();
    await c.close();
  }
};

/** An anchored MSRP stream goes idle: the IMS-AGW reports it, P-CSCF(A) sends BYE both ways. */
const agwMediaFault: FaultScenario = async () => {
  const agw = new ImsAgw({ timers: { idleMs: 1000 } });
  const c = await core({ iq: agw }, { iq: agw });
  try {
    const alice = await c.ue(c.a, "alice", { media: ["msrp"] });
    await c.ue(c.b, "bob", { media: ["msrp"] });
    const call = await alice.call(`sip:bob@${DOMAIN}`);
    const before = { agwContexts: agw.contextCount, pcscfASessions: c.a.sessions.size };
    await waitUntil(() => call.msrp?.state === "connected", 5000);
    const t0 = performance.now();
    const ended = await Promise.race([call.sip.terminated(), new Promise((r) => setTimeout(r, 10_000))]);
    const detectMs = Math.round(performance.now() - t0);
    const freed = await waitUntil(
      () => agw.contextCount === 0 && c.a.sessions.size === 0 && c.b.sessions.size === 0,
      5000,
    );
    return {
      scenario: "agw-idle-releases-session",
      ok: ended !== undefined && freed,
      code: "E_ALG_AGW_IDLE",
      detectMs,
      releaseMs: Math.round(performance.now() - t0),
      before,
      after: { agwContexts: agw.contextCount, pcscfASessions: c.a.sessions.size },
      detail:
        "AGW relay idle 1000 ms → idleTimeout event → P-CSCF(A) BYE to both UEs (Reason cause=503), contexts released",
    } satisfies FaultResult;
  } finally {
    await c.close();
    await agw.close();
  }
};

function retryAfter(e: SipRequestError | undefined): string | undefined {
  const r = e?.response as { getHeader?(n: string): string | undefined } | undefined;
  return r?.getHeader?.("Retry-After");
}

/** maxSessions: 1 → the second INVITE gets 503 + Retry-After; the slot is free again after BYE. */
const sessionLimit: FaultScenario = async () => {
  const c = await core({ maxSessions: 1 });
  try {
    const alice = await c.ue(c.a, "alice");
    await c.ue(c.b, "bob");
    await c.ue(c.b, "carol");
    const first = await alice.call(`sip:bob@${DOMAIN}`);
    const err = (await alice.call(`sip:carol@${DOMAIN}`).then(
      () => undefined,
      (e: unknown) => e,
    )) as SipRequestError | undefined;
    await first.hangup();
    const freed = await waitUntil(() => c.a.sessions.size === 0, 3000);
    const again = await alice.call(`sip:carol@${DOMAIN}`).then(
      (x) => x,
      () => undefined,
    );
    await again?.hangup();
    return {
      scenario: "pcscf-session-limit",
      ok: err?.status === 503 && retryAfter(err) === "5" && freed && again !== undefined,
      code: "E_PCSCF_SESSION_LIMIT",
      detail: `second INVITE → ${err?.status} Retry-After ${retryAfter(err)}; after BYE a new call ${again ? "succeeds" : "FAILS"}`,
    } satisfies FaultResult;
  } finally {
    await c.close();
  }
};

export const scenarios: Record<string, FaultScenario> = {
  "ue-never-acks": noAck,
  "agw-idle-releases-session": agwMediaFault,
  "pcscf-session-limit": sessionLimit,
};
