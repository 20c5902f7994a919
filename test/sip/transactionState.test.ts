/**
 * What a waiting transaction holds (docs/sip.md "Transactions"): in Completed / Accepted / Confirmed the request and
 * the response objects are released, and every retransmission is still answered byte-identically.
 */
import { setFlagsFromString } from "node:v8";
import { runInNewContext } from "node:vm";
import { afterEach, describe, expect, it } from "vitest";
import {
  createRequest,
  createResponse,
  generateTag,
  type SipRequest,
  type SipResponse,
} from "../../src/sip/message.ts";
import type { ClientTransaction } from "../../src/sip/transaction/client.ts";
import { TransactionManager } from "../../src/sip/transaction/manager.ts";
import type { ServerTransaction } from "../../src/sip/transaction/server.ts";
import type { TransactionTransport } from "../../src/sip/transport/layer.ts";
import type { SipSource, SipTarget } from "../../src/sip/transport/types.ts";
import { RecordingTransport, sleep } from "./helpers.ts";

setFlagsFromString("--expose-gc");
const gc = runInNewContext("gc") as () => void;

const T = { T1: 20, T2: 80, T4: 100, D: 200 };

/** The recording transport with a lookup of the texts sent by start line. */
class WireTransport extends RecordingTransport {
  texts(kind: "request" | "response", startLine: string): string[] {
    return this.sent.filter((s) => s.kind === kind && s.text.startsWith(startLine)).map((s) => s.text);
  }
}

const SRC: SipSource = { transport: "UDP", host: "127.0.0.1", port: 5070, localHost: "127.0.0.1", localPort: 5060 };
const UDP: SipTarget = { transport: "UDP", host: "127.0.0.1", port: 5070 };
const SDP = "v=0\r\no=- 1 1 IN IP4 127.0.0.1\r\ns=-\r\nc=IN IP4 127.0.0.1\r\nt=0 0\r\nm=audio 4000 RTP/AVP 0\r\n";

function req(method: string): SipRequest {
  return createRequest({
    method,
    uri: "sip:bob@127.0.0.1:5070",
    from: `<sip:alice@example.com>;tag=${generateTag()}`,
    to: "<sip:bob@example.com>",
    callId: `call-${generateTag()}`,
    cseq: 1,
    via: [`SIP/2.0/UDP 127.0.0.1:5070;branch=z9hG4bK${generateTag()}`],
    headers: [{ name: "Content-Type", value: "application/sdp" }],
    body: new TextEncoder().encode(SDP),
  });
}

const managers: TransactionManager[] = [];
afterEach(() => {
  for (const m of managers.splice(0)) m.close();
});

function manager(t: TransactionTransport): TransactionManager {
  const m = new TransactionManager(t, { timers: T });
  managers.push(m);
  return m;
}

const released = expect.objectContaining({ code: "E_SIP_TRANSACTION" });

/** True when the object behind `ref` was collected (after the current job, as WeakRef semantics require). */
async function collected(ref: WeakRef<object>): Promise<boolean> {
  for (let i = 0; i < 5; i++) {
    await sleep(0);
    gc();
    if (ref.deref() === undefined) return true;
  }
  return false;
}

describe("server transactions in their waiting states", () => {
  it("non-INVITE Completed (Timer J) keeps only the final's bytes: retransmissions get the same bytes", async () => {
    const wt = new WireTransport();
    const m = manager(wt);
    const got: ServerTransaction[] = [];
    m.setUser({ onRequest: (t) => got.push(t) });
    const r = req("MESSAGE");
    m.receive(r, SRC);
    const stx = got[0]!;
    stx.reply(200, undefined, { toTag: "q" });
    expect(stx.state).toBe("completed");
    expect(() => stx.request).toThrow(released);
    expect(stx.lastResponse).toBeUndefined();
    expect(stx.lastStatus).toBe(200);
    expect(stx.finalSent).toBe(true);
    m.receive(r, SRC);
    m.receive(r, SRC);
    const oks = wt.texts("response", "SIP/2.0 200");
    expect(oks).toHaveLength(3);
    expect(oks[1]).toBe(oks[0]);
    expect(oks[2]).toBe(oks[0]);
    expect(() => stx.reply(200)).toThrow(released);
  });

  it("INVITE Completed (non-2xx): Timer G and retransmitted INVITEs resend the same bytes; ACK → Confirmed", async () => {
    const wt = new WireTransport();
    const m = manager(wt);
    const got: ServerTransaction[] = [];
    m.setUser({ onRequest: (t) => got.push(t) });
    const inv = req("INVITE");
    m.receive(inv, SRC);
    const stx = got[0]!;
    stx.reply(486, undefined, { toTag: "busy" });
    expect(stx.state).toBe("completed");
    expect(() => stx.request).toThrow(released);
    expect(stx.lastToTag).toBe("busy");
    m.receive(inv, SRC);
    await sleep(T.T1 * 2);
    const finals = wt.texts("response", "SIP/2.0 486");
    expect(finals.length).toBeGreaterThanOrEqual(3); // first, INVITE retransmission, Timer G
    for (const f of finals) expect(f).toBe(finals[0]);
    const ack = createRequest({
      method: "ACK",
      uri: inv.uri,
      from: inv.getHeader("From") ?? "",
      to: `${inv.getHeader("To")};tag=busy`,
      callId: inv.callId(),
      cseq: 1,
      via: [inv.getHeader("Via") ?? ""],
    });
    m.receive(ack, SRC);
    expect(stx.state).toBe("confirmed");
    const n = wt.sent.length;
    await sleep(T.T1 * 3);
    expect(wt.sent.length).toBe(n);
  });

  it("INVITE Accepted (RFC 6026 §7.1): absorbs INVITE retransmissions, the TU can still retransmit its 2xx", () => {
    const wt = new WireTransport();
    const m = manager(wt);
    const got: ServerTransaction[] = [];
    m.setUser({ onRequest: (t) => got.push(t) });
    const inv = req("INVITE");
    m.receive(inv, SRC);
    const stx = got[0]!;
    const ok = stx.reply(200, undefined, { toTag: "ok1" });
    expect(stx.state).toBe("accepted");
    expect(() => stx.request).toThrow(released);
    expect(stx.lastResponse).toBeUndefined();
    expect(stx.lastToTag).toBe("ok1");
    m.receive(inv, SRC);
    expect(wt.texts("response", "SIP/2.0 200")).toHaveLength(1);
    stx.respond(ok);
    const oks = wt.texts("response", "SIP/2.0 200");
    expect(oks).toHaveLength(2);
    expect(oks[1]).toBe(oks[0]);
  });

  it("a request and a final response are collected while their transaction waits", async () => {
    const wt = new WireTransport();
    const m = manager(wt);
    let stx: ServerTransaction | undefined;
    m.setUser({ onRequest: (t) => (stx = t) });
    let refs: { req: WeakRef<object>; res: WeakRef<object> } | undefined;
    (() => {
      const r = req("MESSAGE");
      m.receive(r, SRC);
      const res = stx?.reply(200, undefined, { toTag: "q" });
      if (res) refs = { req: new WeakRef(r), res: new WeakRef(res) };
    })();
    expect(stx?.state).toBe("completed");
    expect(refs).toBeDefined();
    expect(await collected(refs!.req)).toBe(true);
    expect(await collected(refs!.res)).toBe(true);
    expect(stx?.state).toBe("completed");
  });
});

describe("client transactions in their waiting states", () => {
  it("INVITE Completed (Timer D): each retransmitted non-2xx final gets the same ACK bytes, request released", async () => {
    const wt = new WireTransport();
    const m = manager(wt);
    const responses: number[] = [];
    const inv = req("INVITE");
    const ctx: ClientTransaction = m.sendRequest(inv, UDP, { onResponse: (r) => responses.push(r.status) });
    const busy = createResponse(inv, 486, undefined, { toTag: "tt" });
    m.receive(busy, SRC);
    expect(ctx.state).toBe("completed");
    expect(() => ctx.request).toThrow(released);
    expect(ctx.lastResponse).toBeUndefined();
    expect(ctx.lastStatus).toBe(486);
    m.receive(busy, SRC);
    m.receive(busy, SRC);
    await sleep(5);
    const acks = wt.texts("request", "ACK ");
    expect(acks).toHaveLength(3);
    expect(acks[1]).toBe(acks[0]);
    expect(acks[2]).toBe(acks[0]);
    expect(responses).toEqual([486]);
  });

  it("INVITE Accepted (Timer M, RFC 6026 §8.4): 2xx retransmissions still reach the TU; the INVITE is collected", async () => {
    const wt = new WireTransport();
    const m = manager(wt);
    const responses: number[] = [];
    let ref: WeakRef<object> | undefined;
    let ok: SipResponse | undefined;
    const ctx = ((): ClientTransaction => {
      const inv = req("INVITE");
      ref = new WeakRef(inv);
      const c = m.sendRequest(inv, UDP, { onResponse: (r) => responses.push(r.status) });
      ok = createResponse(inv, 200, undefined, { toTag: "x" });
      return c;
    })();
    await sleep(1); // the send resolved
    m.receive(ok!, SRC);
    expect(ctx.state).toBe("accepted");
    expect(() => ctx.request).toThrow(released);
    m.receive(ok!, SRC);
    expect(responses).toEqual([200, 200]);
    expect(await collected(ref!)).toBe(true);
  });

  it("non-INVITE Completed (Timer K) keeps the key only", () => {
    const wt = new WireTransport();
    const m = manager(wt);
    const responses: number[] = [];
    const r = req("MESSAGE");
    const ctx = m.sendRequest(r, UDP, { onResponse: (x) => responses.push(x.status) });
    const ok = createResponse(r, 200, undefined, { toTag: "y" });
    m.receive(ok, SRC);
    m.receive(ok, SRC);
    expect(ctx.state).toBe("completed");
    expect(() => ctx.request).toThrow(released);
    expect(ctx.lastResponse).toBeUndefined();
    expect(responses).toEqual([200]);
  });
});
