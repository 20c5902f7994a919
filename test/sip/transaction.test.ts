import { afterEach, beforeEach, describe, expect, it } from "vitest";
import { getParam } from "../../src/sip/grammar.ts";
import { createRequest, createResponse, generateTag, SipRequest, type SipResponse } from "../../src/sip/message.ts";
import { parseMessage } from "../../src/sip/parse.ts";
import type { ClientTransaction } from "../../src/sip/transaction/client.ts";
import { TransactionManager } from "../../src/sip/transaction/manager.ts";
import type { InviteServerTransaction, ServerTransaction } from "../../src/sip/transaction/server.ts";
import { SipTransportLayer, type TransactionTransport } from "../../src/sip/transport/layer.ts";
import type { SipSource, SipTarget } from "../../src/sip/transport/types.ts";
import { activeResources, expectNoLeaks, RecordingTransport, sleep, waitFor } from "./helpers.ts";

const T = { T1: 20, T2: 80, T4: 100, D: 200 };

/** The recording transport with lookups by method and status. */
class FakeTransport extends RecordingTransport {
  requests(method: string): SipRequest[] {
    return this.sent
      .filter((s) => s.kind === "request" && (s.msg as SipRequest).method === method)
      .map((s) => s.msg as SipRequest);
  }
  responses(status?: number): SipResponse[] {
    return this.sent
      .filter((s) => s.kind === "response" && (status === undefined || (s.msg as SipResponse).status === status))
      .map((s) => s.msg as SipResponse);
  }
}

const SRC: SipSource = { transport: "UDP", host: "127.0.0.1", port: 5070, localHost: "127.0.0.1", localPort: 5060 };
const UDP: SipTarget = { transport: "UDP", host: "127.0.0.1", port: 5070 };

function req(method: string, branch = `z9hG4bK${generateTag()}`, cseqMethod = method): SipRequest {
  return createRequest({
    method,
    uri: "sip:bob@127.0.0.1:5070",
    from: `<sip:alice@example.com>;tag=${generateTag()}`,
    to: "<sip:bob@example.com>",
    callId: `call-${generateTag()}`,
    cseq: 1,
    via: [`SIP/2.0/UDP 127.0.0.1:5070;branch=${branch}`],
  }).setHeader("CSeq", `1 ${cseqMethod}`);
}

function collector() {
  const responses: SipResponse[] = [];
  let terminated = 0;
  return {
    responses,
    get terminated() {
      return terminated;
    },
    tu: {
      onResponse: (r: SipResponse) => responses.push(r),
      onTerminated: () => {
        terminated++;
      },
    },
  };
}

let before: Map<string, number>;
const managers: TransactionManager[] = [];
const layers: SipTransportLayer[] = [];
beforeEach(() => {
  before = activeResources();
});
afterEach(async () => {
  for (const m of managers.splice(0)) m.close();
  await Promise.all(layers.splice(0).map((l) => l.close()));
  expect(await expectNoLeaks(before)).toEqual({});
});

function manager(t: TransactionTransport, opts: ConstructorParameters<typeof TransactionManager>[1] = {}) {
  const m = new TransactionManager(t, { timers: T, ...opts });
  managers.push(m);
  return m;
}

describe("INVITE client transaction (RFC 3261 §17.1.1)", () => {
  it("retransmits with Timer A doubling, times out with Timer B → 408", async () => {
    const ft = new FakeTransport();
    const m = manager(ft);
    const c = collector();
    const invite = new SipRequest(
      "INVITE",
      "sip:bob@127.0.0.1",
      req("INVITE").headers.filter((h) => h.name !== "Via"),
    );
    const txn = m.sendRequest(invite, UDP, c.tu);
    expect(invite.getHeader("Via")).toMatch(/^SIP\/2\.0\/UDP 127\.0\.0\.1:5060;branch=z9hG4bK[0-9a-f]+;rport$/);
    await waitFor(() => c.responses.length === 1, 3000, "408");
    expect(c.responses[0]!.status).toBe(408);
    expect(txn.localFailure).toBe("timeout");
    const at = ft.sent.map((s) => s.at);
    // sends at ~0, 20, 60, 140, 300, 620, 1260 (B = 64*T1 = 1280)
    expect(at.length).toBeGreaterThanOrEqual(6);
    expect(at.length).toBeLessThanOrEqual(7);
    // Timer A doubles without a cap: the last interval is many times the first (tolerant of timer jitter)
    const gaps = at.slice(1).map((t, i) => t - at[i]!);
    expect(gaps.at(-1)!).toBeGreaterThan(gaps[0]! * 4);
    expect(gaps.at(-1)!).toBeGreaterThan(T.T2 * 2);
    expect(txn.state).toBe("terminated");
    expect(m.clientCount).toBe(0);
  });

  it("does not retransmit over a reliable transport (§17.1.1.2)", async () => {
    const ft = new FakeTransport();
    const m = manager(ft);
    const c = collector();
    m.sendRequest(req("INVITE"), { transport: "TCP", host: "127.0.0.1", port: 5070 }, c.tu, { via: "keep" });
    await waitFor(() => c.responses.length === 1, 3000, "408");
    expect(ft.sent).toHaveLength(1);
  });

  it("ACKs a non-2xx final itself (§17.1.1.3), absorbs its retransmission, passes 2xx in Accepted (RFC 6026)", async () => {
    const ft = new FakeTransport();
    const m = manager(ft);
    const c = collector();
    const invite = req("INVITE");
    invite.addHeader("Route", "<sip:proxy.example.com;lr>");
    m.sendRequest(invite, UDP, c.tu, { via: "keep" });
    const ringing = createResponse(invite, 180, undefined, { toTag: "tt" });
    m.receive(ringing, SRC);
    const busy = createResponse(invite, 486, undefined, { toTag: "tt" });
    m.receive(busy, SRC);
    m.receive(busy, SRC);
    await sleep(30);
    expect(c.responses.map((r) => r.status)).toEqual([180, 486]);
    const acks = ft.requests("ACK");
    expect(acks).toHaveLength(2);
    const ack = acks[0]!;
    expect(ack.uri).toBe(invite.uri);
    expect(ack.cseq()).toEqual({ seq: 1, method: "ACK" });
    expect(ack.toTag()).toBe("tt");
    expect(ack.getHeaders("Via")).toEqual([invite.getHeader("Via")]);
    expect(ack.getHeaders("Route")).toEqual(["<sip:proxy.example.com;lr>"]);
    // no INVITE retransmission after the provisional
    expect(ft.requests("INVITE")).toHaveLength(1);

    const c2 = collector();
    const inv2 = req("INVITE");
    m.sendRequest(inv2, UDP, c2.tu, { via: "keep" });
    const ok = createResponse(inv2, 200, undefined, { toTag: "x" });
    m.receive(ok, SRC);
    m.receive(ok, SRC);
    expect(c2.responses.map((r) => r.status)).toEqual([200, 200]);
    expect(ft.requests("ACK")).toHaveLength(2); // the 2xx ACK is the TU's
  });
});

describe("non-INVITE client transaction (RFC 3261 §17.1.2)", () => {
  it("Timer E doubles up to T2, Timer F → 408", async () => {
    const ft = new FakeTransport();
    const m = manager(ft);
    const c = collector();
    m.sendRequest(req("OPTIONS"), UDP, c.tu, { via: "keep" });
    await waitFor(() => c.responses.length === 1, 3000, "408");
    expect(c.responses[0]!.status).toBe(408);
    const at = ft.sent.map((s) => s.at);
    const gaps = at.slice(1).map((t, i) => t - at[i]!);
    // 20, 40, 80, 80, 80 ... (capped at T2)
    expect(gaps.length).toBeGreaterThanOrEqual(10);
    // capped at T2: no interval far above T2, and the late ones at least about T2
    expect(Math.max(...gaps)).toBeLessThan(T.T2 * 3);
    expect(gaps.slice(4).every((g) => g >= T.T2 * 0.8)).toBe(true);
  });

  it("provisional → Proceeding; final → Completed, Timer K; later retransmissions ignored", async () => {
    const ft = new FakeTransport();
    const m = manager(ft);
    const c = collector();
    const r = req("OPTIONS");
    const txn: ClientTransaction = m.sendRequest(r, UDP, c.tu, { via: "keep" });
    m.receive(createResponse(r, 100), SRC);
    expect(txn.state).toBe("proceeding");
    m.receive(createResponse(r, 200, undefined, { toTag: "a" }), SRC);
    expect(txn.state).toBe("completed");
    m.receive(createResponse(r, 200, undefined, { toTag: "a" }), SRC);
    expect(c.responses.map((x) => x.status)).toEqual([100, 200]);
    await waitFor(() => txn.state === "terminated", 1000, "Timer K");
  });

  it("a transport error gives a synthetic 503", async () => {
    const ft = new FakeTransport();
    ft.sendRequest = () => Promise.reject(new Error("boom"));
    const m = manager(ft);
    const c = collector();
    const txn = m.sendRequest(req("OPTIONS"), UDP, c.tu, { via: "keep" });
    await waitFor(() => c.responses.length === 1);
    expect(c.responses[0]!.status).toBe(503);
    expect(txn.localFailure).toBe("transport-error");
  });
});

describe("server transactions (RFC 3261 §17.2)", () => {
  it("INVITE: auto 100, non-2xx retransmitted with Timer G until ACK, then Confirmed", async () => {
    const ft = new FakeTransport();
    const m = manager(ft);
    const got: ServerTransaction[] = [];
    m.setUser({ onRequest: (t) => got.push(t) });
    const invite = req("INVITE");
    m.receive(invite, SRC);
    expect(ft.responses(100)).toHaveLength(1);
    m.receive(invite, SRC); // retransmission → resend 100, not passed up
    expect(got).toHaveLength(1);
    expect(ft.responses(100)).toHaveLength(2);
    const txn = got[0]!;
    txn.reply(486, undefined, { toTag: "z" });
    await sleep(120);
    expect(ft.responses(486).length).toBeGreaterThanOrEqual(3);
    const ack = createRequest({
      method: "ACK",
      uri: invite.uri,
      from: invite.getHeader("From")!,
      to: `${invite.getHeader("To")};tag=z`,
      callId: invite.callId(),
      cseq: 1,
      via: [invite.getHeader("Via")!],
    });
    m.receive(ack, SRC);
    expect(txn.state).toBe("confirmed");
    const n = ft.responses(486).length;
    await sleep(80);
    expect(ft.responses(486).length).toBe(n);
    await waitFor(() => txn.state === "terminated", 1000, "Timer I");
  });

  it("INVITE: Timer H fires without ACK", async () => {
    const ft = new FakeTransport();
    const m = manager(ft);
    let txn: InviteServerTransaction | undefined;
    m.setUser({ onRequest: (t) => (txn = t as InviteServerTransaction) });
    m.receive(req("INVITE"), SRC);
    let timedOut = false;
    txn!.onAckTimeout = () => {
      timedOut = true;
    };
    txn!.reply(500, undefined, { toTag: "z" });
    await waitFor(() => timedOut, 3000, "Timer H");
    expect(txn!.state).toBe("terminated");
  });

  it("non-INVITE: retransmission after the final gets the final again; Timer J", async () => {
    const ft = new FakeTransport();
    const m = manager(ft);
    const got: ServerTransaction[] = [];
    m.setUser({ onRequest: (t) => got.push(t) });
    const r = req("OPTIONS");
    m.receive(r, SRC);
    m.receive(r, SRC); // Trying: absorbed
    expect(ft.sent).toHaveLength(0);
    got[0]!.reply(200, undefined, { toTag: "q" });
    m.receive(r, SRC);
    expect(ft.responses(200)).toHaveLength(2);
    expect(got).toHaveLength(1);
    expect(() => got[0]!.reply(200)).toThrow(expect.objectContaining({ code: "E_SIP_TRANSACTION" }));
    await waitFor(() => got[0]!.state === "terminated", 3000, "Timer J");
  });

  it("CANCEL matches its INVITE (§9.2); ACK for 2xx goes to the TU; stray responses too", () => {
    const ft = new FakeTransport();
    const m = manager(ft);
    const got: ServerTransaction[] = [];
    const acks: SipRequest[] = [];
    const strays: SipResponse[] = [];
    m.setUser({ onRequest: (t) => got.push(t), onAck: (a) => acks.push(a), onStrayResponse: (r) => strays.push(r) });
    const invite = req("INVITE", "z9hG4bKmatchme");
    m.receive(invite, SRC);
    const cancel = m.createCancel(invite);
    expect(cancel.getHeader("Via")).toBe(invite.getHeader("Via"));
    expect(cancel.cseq()).toEqual({ seq: 1, method: "CANCEL" });
    m.receive(cancel, SRC);
    expect(got).toHaveLength(2);
    expect(got[1]!.method).toBe("CANCEL");
    expect(got[1]!.cancelTarget).toBe(got[0]);
    // a CANCEL for an unknown INVITE has no target
    m.receive(req("CANCEL", "z9hG4bKnothing"), SRC);
    expect(got[2]!.cancelTarget).toBeUndefined();
    got[0]!.reply(200, undefined, { toTag: "t" });
    const ack2xx = req("ACK", "z9hG4bKnewbranch");
    m.receive(ack2xx, SRC);
    expect(acks).toHaveLength(1);
    m.receive(createResponse(req("OPTIONS", "z9hG4bKunknown"), 200), SRC);
    expect(strays).toHaveLength(1);
  });

  it("RFC 2543 requests (no magic cookie) are matched by the fallback key", () => {
    const ft = new FakeTransport();
    const m = manager(ft);
    const got: ServerTransaction[] = [];
    m.setUser({ onRequest: (t) => got.push(t) });
    const r = req("OPTIONS", "oldstyle1");
    m.receive(r, SRC);
    m.receive(parseMessage(r.toBytes()), SRC);
    expect(got).toHaveLength(1);
  });
});

describe("RFC 3261 §18.1.1 size switch", () => {
  it("a large request meant for UDP goes over TCP when udpMaxRequestSize is set", () => {
    const ft = new FakeTransport();
    (ft as unknown as { hasTransport: (p: string) => boolean }).hasTransport = () => true;
    const m = manager(ft, { udpMaxRequestSize: 1300 });
    const big = new SipRequest(
      "MESSAGE",
      "sip:bob@127.0.0.1",
      req("MESSAGE").headers.filter((h) => h.name !== "Via"),
    );
    big.setBody(new Uint8Array(1400).fill(0x61), "text/plain");
    const txn = m.sendRequest(big, UDP, collector().tu);
    expect(txn.target.transport).toBe("TCP");
    expect(big.topVia().transport).toBe("TCP");
    const small = new SipRequest(
      "MESSAGE",
      "sip:bob@127.0.0.1",
      req("MESSAGE").headers.filter((h) => h.name !== "Via"),
    );
    expect(m.sendRequest(small, UDP, collector().tu).target.transport).toBe("UDP");
  });
});

describe("over real UDP sockets with small T1", () => {
  async function pair() {
    const a = new SipTransportLayer({ udp: true });
    const b = new SipTransportLayer({ udp: true });
    layers.push(a, b);
    await a.start();
    await b.start();
    const ma = manager(a);
    const mb = manager(b);
    a.onMessage((msg, src) => ma.receive(msg, src));
    const seenAtB: SipRequest[] = [];
    b.onMessage((msg, src) => {
      if (msg.kind === "request") seenAtB.push(msg);
      mb.receive(msg, src);
    });
    const bTarget: SipTarget = { transport: "UDP", host: "127.0.0.1", port: b.address("UDP")!.port };
    return { a, b, ma, mb, seenAtB, bTarget };
  }

  it("retransmissions are observed by the peer; no answer → 408", async () => {
    const { ma, mb, seenAtB, bTarget } = await pair();
    mb.setUser({ onRequest: () => undefined }); // never answers
    const c = collector();
    ma.sendRequest(
      new SipRequest(
        "OPTIONS",
        `sip:b@127.0.0.1:${bTarget.port}`,
        req("OPTIONS").headers.filter((h) => h.name !== "Via"),
      ),
      bTarget,
      c.tu,
    );
    await waitFor(() => c.responses.length === 1, 5000, "408");
    expect(c.responses[0]!.status).toBe(408);
    expect(seenAtB.length).toBeGreaterThanOrEqual(8);
    expect(new Set(seenAtB.map((r) => getParam(r.topVia().params, "branch"))).size).toBe(1);
  });

  it("INVITE → 180 → CANCEL → 200 (CANCEL) + 487 (INVITE) → ACK by the client transaction", async () => {
    const { ma, mb, seenAtB, bTarget } = await pair();
    let inviteTxn: ServerTransaction | undefined;
    mb.setUser({
      onRequest: (t) => {
        if (t.method === "INVITE") {
          inviteTxn = t;
          t.reply(180, undefined, { toTag: "b1" });
        } else if (t.method === "CANCEL") {
          // RFC 3261 §9.2: 200 to the CANCEL, 487 to the INVITE
          t.reply(200, undefined, { toTag: "b1" });
          if (t.cancelTarget && !t.cancelTarget.finalSent) t.cancelTarget.reply(487, undefined, { toTag: "b1" });
        }
      },
    });
    const inv = new SipRequest(
      "INVITE",
      `sip:b@127.0.0.1:${bTarget.port}`,
      req("INVITE").headers.filter((h) => h.name !== "Via"),
    );
    const c = collector();
    ma.sendRequest(inv, bTarget, c.tu);
    await waitFor(() => c.responses.some((r) => r.status === 180), 3000, "180");
    const cc = collector();
    ma.sendRequest(ma.createCancel(inv), bTarget, cc.tu, { via: "keep" });
    await waitFor(() => c.responses.some((r) => r.status === 487), 3000, "487");
    await waitFor(() => cc.responses.some((r) => r.status === 200), 3000, "200 CANCEL");
    await waitFor(() => seenAtB.some((r) => r.method === "ACK"), 3000, "ACK");
    await waitFor(() => inviteTxn?.state === "confirmed" || inviteTxn?.state === "terminated", 3000, "confirmed");
    expect(c.responses.map((r) => r.status)).toEqual([100, 180, 487]);
  });
});
