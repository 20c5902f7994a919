/**
 * P-CSCF limits (issue 8 item 4) and the UE that never sends ACK (item 3): per-source rate limit answered 503 +
 * Retry-After (RFC 3261 §21.5.4), the session and registration capacities, and the session table staying exact.
 */
import { createSocket, type Socket } from "node:dgram";
import { afterEach, describe, expect, it } from "vitest";
import { SourceRateLimiter } from "../../../src/ims/pcscf/limits.ts";
import { Pcscf } from "../../../src/ims/pcscf/node.ts";
import { AuditLog } from "../../../src/log.ts";
import { createResponse, parseMessage, type SipResponse } from "../../../src/sip/index.ts";
import { DcEndpoint } from "../../../src/ue/dcEndpoint.ts";
import type { ImsUe, UeCall } from "../../../src/ue/ue.ts";
import { type Core, DOMAIN, startCore, startUe, TIMERS } from "../e2e-helpers.ts";

const closers: (() => Promise<unknown> | unknown)[] = [];
afterEach(async () => {
  for (const c of closers.splice(0).reverse()) await c();
});

async function waitFor(cond: () => boolean, ms: number, what: string): Promise<void> {
  const end = Date.now() + ms;
  while (!cond()) {
    if (Date.now() > end) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 20));
  }
}

describe("SourceRateLimiter (token bucket per source)", () => {
  it("admits the burst, then refuses with Retry-After; answers are capped at the rate, the rest dropped", () => {
    let t = 0;
    const ended: { source: string; refused: number }[] = [];
    const l = new SourceRateLimiter(
      { rate: 2, burst: 4, key: "flow", maxSources: 10 },
      (e) => ended.push(e),
      () => t,
    );
    const out = Array.from({ length: 10 }, () => l.check("a"));
    expect(out.slice(0, 4).every((a) => a.admit)).toBe(true);
    expect(out[4]).toEqual({ admit: false, answer: true, retryAfter: 1, first: true });
    expect(out[5]).toEqual({ admit: false, answer: true, retryAfter: 1, first: false });
    // rate 2/s: two 503s per second, then silence
    expect(out.slice(6).every((a) => !a.admit && !a.answer)).toBe(true);
    expect(l.refusedTotal).toBe(6);
    expect(l.droppedTotal).toBe(4);
    // another source is not affected
    expect(l.check("b").admit).toBe(true);
    // half a second later one token is back: admitted, and the episode of "a" is reported once with its count
    t = 500;
    expect(l.check("a").admit).toBe(true);
    expect(ended).toEqual([{ source: "a", refused: 6 }]);
  });

  it("tracks at most maxSources (least recently seen forgotten first) and keys flows or addresses", () => {
    const l = new SourceRateLimiter({ rate: 1, burst: 1, key: "flow", maxSources: 3 }, undefined, () => 0);
    for (const k of ["a", "b", "c", "d"]) l.check(k);
    expect(l.tracked).toBe(3);
    // "a" was forgotten: a fresh bucket
    expect(l.check("a").admit).toBe(true);
    const src = { transport: "UDP", host: "10.0.0.1", port: 5070 };
    expect(l.keyOf(src)).toBe("UDP|10.0.0.1|5070");
    const byAddr = new SourceRateLimiter({ rate: 1, burst: 1, key: "address", maxSources: 3 });
    expect(byAddr.keyOf(src)).toBe("10.0.0.1");
  });
});

/** A raw UDP SIP client: sends text, collects parsed responses. */
async function rawUdp(): Promise<{ sock: Socket; port: number; responses: SipResponse[]; requests: string[] }> {
  const sock = createSocket("udp4");
  const responses: SipResponse[] = [];
  const requests: string[] = [];
  sock.on("message", (b, rinfo) => {
    try {
      const m = parseMessage(new Uint8Array(b), { datagram: true });
      if (m.kind === "response") responses.push(m);
      else {
        requests.push(new TextDecoder().decode(b));
        // a BYE is answered (so the far end's BYE transaction ends at once)
        if (m.method === "BYE") sock.send(createResponse(m, 200).toBytes(), rinfo.port, rinfo.address);
      }
    } catch {
      // not SIP
    }
  });
  await new Promise<void>((r) => sock.bind(0, "127.0.0.1", () => r()));
  closers.push(() => new Promise<void>((r) => sock.close(() => r())));
  return { sock, port: sock.address().port, responses, requests };
}

function options(port: number, target: { host: string; port: number }, i: number): string {
  return [
    `OPTIONS sip:${target.host}:${target.port} SIP/2.0`,
    `Via: SIP/2.0/UDP 127.0.0.1:${port};branch=z9hG4bK-rl-${port}-${i};rport`,
    "Max-Forwards: 70",
    `From: <sip:flood@${DOMAIN}>;tag=f${i}`,
    `To: <sip:${target.host}:${target.port}>`,
    `Call-ID: rl-${port}-${i}@test`,
    `CSeq: ${i + 1} OPTIONS`,
    "Content-Length: 0",
    "",
    "",
  ].join("\r\n");
}

describe("P-CSCF per-source rate limit", () => {
  it("a flooding source gets 503 + Retry-After + Warning (capped), another source is served; one audit event", async () => {
    const audit = new AuditLog();
    const p = new Pcscf({
      name: "pcscf-rl",
      access: { udp: 0 },
      core: { tcp: 0 },
      scscf: "sip:127.0.0.1:1;transport=tcp;lr",
      rateLimit: { rate: 5, burst: 10 },
      audit,
      timers: TIMERS,
    });
    await p.start();
    closers.push(() => p.close());
    const target = p.address("access", "UDP");
    if (!target) throw new Error("no UDP");
    const flood = await rawUdp();
    const other = await rawUdp();
    for (let i = 0; i < 40; i++) flood.sock.send(options(flood.port, target, i), target.port, target.host);
    await waitFor(() => flood.responses.length >= 15, 3000, "answers to the flood");
    other.sock.send(options(other.port, target, 0), target.port, target.host);
    await waitFor(() => other.responses.length === 1, 3000, "the other source's answer");
    await new Promise((r) => setTimeout(r, 200));
    const ok = flood.responses.filter((r) => r.status === 200);
    const refused = flood.responses.filter((r) => r.status === 503);
    // the burst is served; within the same second at most `rate` refusals are answered, the rest dropped
    expect(ok.length).toBeGreaterThanOrEqual(10);
    expect(ok.length).toBeLessThanOrEqual(12);
    expect(refused.length).toBeGreaterThanOrEqual(5);
    expect(ok.length + refused.length).toBeLessThan(40);
    expect(refused[0]?.getHeader("Retry-After")).toBe("1");
    expect(refused[0]?.getHeader("Warning")).toBe(
      '399 pcscf-rl "E_PCSCF_RATE_LIMITED: more than 5 requests/s from this source"',
    );
    expect(other.responses[0]?.status).toBe(200);
    // every refusal counted; none was parsed or got transaction state (the layer gate, RFC 3261 §16.11)
    expect(p.refusals.get("E_PCSCF_RATE_LIMITED")).toBe(40 - ok.length);
    expect(audit.events.filter((e) => e.event === "rate-limit")).toHaveLength(1);
    expect(audit.events.find((e) => e.event === "rate-limit")).toMatchObject({
      code: "E_PCSCF_RATE_LIMITED",
      source: `UDP|127.0.0.1|${flood.port}`,
    });
  });

  it("rateLimit: false admits everything", async () => {
    const p = new Pcscf({
      name: "pcscf-nl",
      access: { udp: 0 },
      core: { tcp: 0 },
      scscf: "sip:127.0.0.1:1;transport=tcp;lr",
      rateLimit: false,
      timers: TIMERS,
    });
    await p.start();
    closers.push(() => p.close());
    const target = p.address("access", "UDP");
    if (!target) throw new Error("no UDP");
    const c = await rawUdp();
    for (let i = 0; i < 30; i++) c.sock.send(options(c.port, target, i), target.port, target.host);
    await waitFor(() => c.responses.length === 30, 3000, "30 answers");
    expect(c.responses.every((r) => r.status === 200)).toBe(true);
  });
});

describe("P-CSCF capacities", () => {
  let core: Core;
  const ues: ImsUe[] = [];
  afterEach(async () => {
    for (const u of ues.splice(0)) await u.close();
    await core?.close();
  });

  it("maxSessions: the INVITE beyond it gets 503 + Retry-After; BYE frees the slot (the table stays exact)", async () => {
    core = await startCore({ pcscfA: { maxSessions: 1, retryAfter: 7 } });
    const audit = new AuditLog();
    const alice = await startUe(core.a, "alice", "UDP", audit);
    const bob = await startUe(core.b, "bob", "UDP", audit);
    const carol = await startUe(core.b, "carol", "TCP", audit);
    ues.push(alice, bob, carol);
    const call = await alice.call(`sip:bob@${DOMAIN}`);
    expect(core.a.sessions.size).toBe(1);
    expect(core.b.sessions.size).toBe(1);
    const err = await alice.call(`sip:carol@${DOMAIN}`).then(
      () => undefined,
      (e: unknown) => e as { status?: number; response?: SipResponse },
    );
    expect(err?.status).toBe(503);
    expect(err?.response?.getHeader("Retry-After")).toBe("7");
    expect(err?.response?.getHeader("Warning")).toBe(
      '399 pcscf-a "E_PCSCF_SESSION_LIMIT: limit of 1 sessions reached"',
    );
    expect(core.a.refusals.get("E_PCSCF_SESSION_LIMIT")).toBe(1);
    await call.hangup();
    await waitFor(() => core.a.sessions.size === 0 && core.b.sessions.size === 0, 5000, "sessions freed by BYE");
    const again = await alice.call(`sip:carol@${DOMAIN}`);
    expect(core.a.sessions.size).toBe(1);
    await again.hangup();
    await waitFor(() => core.a.sessions.size === 0, 5000, "session freed");
  });

  it("maxRegistrations: a new UE beyond it gets 503 (nothing registered is evicted)", async () => {
    core = await startCore({ pcscfA: { maxRegistrations: 1 } });
    const audit = new AuditLog();
    const alice = await startUe(core.a, "alice", "UDP", audit);
    ues.push(alice);
    const err = await startUe(core.a, "dave", "UDP", audit).then(
      (u) => {
        ues.push(u);
        return undefined;
      },
      (e: unknown) => e as { status?: number; response?: SipResponse },
    );
    expect(err?.status).toBe(503);
    expect(err?.response?.getHeader("Warning")).toMatch(/E_PCSCF_REG_LIMIT: limit of 1 registrations reached/);
    // alice keeps her registration and can refresh it
    expect(core.a.registrations.size).toBe(1);
    expect((await alice.register()).expires).toBeGreaterThan(0);
  });
});

describe("a UE that never sends ACK (RFC 3261 §13.3.1.4)", () => {
  let core: Core;
  afterEach(async () => {
    await core?.close();
  });

  it("the callee retransmits its 2xx, then ends the session with BYE after 64*T1; P-CSCFs and the callee free it", async () => {
    core = await startCore({ pcscfA: { requireRegistration: false } });
    const audit = new AuditLog();
    const bob = await startUe(core.b, "bob", "UDP", audit);
    closers.push(() => bob.close());
    const calls: UeCall[] = [];
    bob.on("incoming", (c) => calls.push(c));
    // a real DC offer from a throwaway endpoint: the IMS-ALG lets it through e2e
    const ep = new DcEndpoint({ name: "raw" });
    closers.push(() => ep.close());
    const sdp = await ep.createOffer();
    const raw = await rawUdp();
    const a = core.a.address("access", "UDP");
    if (!a) throw new Error("no UDP");
    const body = new TextEncoder().encode(sdp);
    const invite = [
      `INVITE sip:bob@${DOMAIN} SIP/2.0`,
      `Via: SIP/2.0/UDP 127.0.0.1:${raw.port};branch=z9hG4bK-noack-1;rport`,
      "Max-Forwards: 70",
      `From: <sip:mallory@${DOMAIN}>;tag=noack`,
      `To: <sip:bob@${DOMAIN}>`,
      "Call-ID: noack-1@test",
      "CSeq: 1 INVITE",
      `Contact: <sip:mallory@127.0.0.1:${raw.port}>`,
      "Content-Type: application/sdp",
      `Content-Length: ${body.byteLength}`,
      "",
      sdp,
    ].join("\r\n");
    raw.sock.send(invite, a.port, a.host);
    await waitFor(() => raw.responses.some((r) => r.status === 200), 5000, "the 200 OK");
    expect(core.a.sessions.size).toBe(1);
    const call = calls[0];
    if (!call) throw new Error("bob saw no call");
    // never ACK: bob's UA retransmits the 2xx (T1 doubling), then sends BYE (64*T1 = 6.4 s with T1 = 100 ms)
    await waitFor(() => raw.requests.some((r) => r.startsWith("BYE ")), 10_000, "BYE from bob");
    expect(raw.responses.filter((r) => r.status === 200).length).toBeGreaterThan(2);
    const ended = await call.sip.terminated();
    expect(ended.reason).not.toBe("remote-bye");
    expect(ended.reason).not.toBe("remote-cancel");
    // the session is gone at both P-CSCFs, bob's data channel endpoint is closed
    await waitFor(() => core.a.sessions.size === 0 && core.b.sessions.size === 0, 3000, "sessions freed");
    await waitFor(() => call.dc.state === "closed" || call.dc.state === "failed", 3000, "bob's DC endpoint closed");
  }, 20_000);
});
