import { afterEach, beforeEach, describe, expect, it } from "vitest";
import WebSocket from "ws";
import { getParam } from "../../src/sip/grammar.ts";
import { mediasecMechanisms } from "../../src/sip/headers.ts";
import { createRequest, generateCallId, generateTag, type SipResponse } from "../../src/sip/message.ts";
import { TransactionManager } from "../../src/sip/transaction/manager.ts";
import { type BrowserWebSocketLike, BrowserWsTransport } from "../../src/sip/transport/browserWs.ts";
import { SipTransportLayer } from "../../src/sip/transport/layer.ts";
import type { TcpTransport } from "../../src/sip/transport/tcp.ts";
import type { SipTransportProtocol } from "../../src/sip/transport/types.ts";
import type { WsTransport } from "../../src/sip/transport/ws.ts";
import {
  FLOW_RECOVERY_DEFAULTS,
  type FlowFailedInfo,
  flowRecoveryDelay,
  type RegistrationFailedInfo,
  rejectOffer,
  type SipCall,
  type SipSdpHandler,
  SipUserAgent,
  type UserAgentEvents,
} from "../../src/sip/ua.ts";
import { formatUri, type SipUri } from "../../src/sip/uri.ts";
import { activeResources, expectNoLeaks, sleep, waitFor } from "./helpers.ts";
import { RegistrarStub } from "./registrar-stub.ts";

const TIMERS = { T1: 50, T2: 400, T4: 500, D: 500 };
const te = new TextEncoder();
const td = new TextDecoder();

/** A fake offer/answer engine: offers and answers are numbered byte strings (with a non-ASCII character). */
function fakeSdp(
  name: string,
  log: string[] = [],
): SipSdpHandler & { answers: string[]; delayOffer: number; refuse: boolean } {
  let n = 0;
  const h = {
    answers: [] as string[],
    delayOffer: 0,
    refuse: false,
    createOffer: () => te.encode(`v=0\r\no=${name} ${++n} offer ü\r\n`),
    onOffer: async (offer: Uint8Array) => {
      log.push(`${name} got offer: ${td.decode(offer).split("\r\n")[1]}`);
      if (h.delayOffer) await sleep(h.delayOffer);
      if (h.refuse) return rejectOffer(488);
      return te.encode(`v=0\r\no=${name} ${++n} answer ü\r\n`);
    },
    onAnswer: (answer: Uint8Array) => {
      h.answers.push(td.decode(answer));
    },
  };
  return h;
}

let before: Map<string, number>;
const closers: (() => Promise<void>)[] = [];
beforeEach(() => {
  before = activeResources();
});
afterEach(async () => {
  for (const c of closers.splice(0).reverse()) await c();
  expect(await expectNoLeaks(before)).toEqual({});
});

async function setup(proto: SipTransportProtocol, opts: { mediasec?: boolean } = {}) {
  const registrar = await new RegistrarStub(proto).start();
  closers.push(() => registrar.close());
  const key = proto.toLowerCase();
  // alice: for WS a pure WebSocket client (like a browser), else a listener too
  const aliceLayer = new SipTransportLayer(proto === "WS" ? { ws: { listen: false } } : { [key]: true });
  const bobLayer = new SipTransportLayer({ [key]: true });
  await aliceLayer.start();
  await bobLayer.start();
  const aliceSdp = fakeSdp("alice");
  const bobSdp = fakeSdp("bob");
  const alice = new SipUserAgent({
    transport: aliceLayer,
    ownsTransport: true,
    aor: "sip:alice@ims.example.com",
    displayName: "Alice",
    registrar: registrar.uri,
    preferredTransport: proto,
    mediasec: opts.mediasec ?? true,
    useServiceRoute: false,
    sdp: aliceSdp,
    timers: TIMERS,
  });
  const bob = new SipUserAgent({
    transport: bobLayer,
    ownsTransport: true,
    aor: "sip:bob@ims.example.com",
    registrar: registrar.uri,
    preferredTransport: proto,
    useServiceRoute: false,
    sdp: bobSdp,
    timers: TIMERS,
  });
  closers.push(
    () => alice.close(),
    () => bob.close(),
  );
  const bobUri = `sip:bob@127.0.0.1:${bobLayer.address(proto)!.port}${proto === "UDP" ? "" : `;transport=${key}`}`;
  return { registrar, alice, bob, aliceSdp, bobSdp, bobUri, aliceLayer, bobLayer };
}

describe.each(["UDP", "TCP", "WS"] as SipTransportProtocol[])("UA to UA over %s", (proto) => {
  it("REGISTER with DC feature tag and mediasec Security-Client; unregister", async () => {
    const { registrar, alice } = await setup(proto);
    const events: string[] = [];
    alice.on("registered", (i) => events.push(`registered ${i.expires}`));
    alice.on("unregistered", () => events.push("unregistered"));
    registrar.minExpires = 700; // RFC 3261 §10.2.8: 423 then retry with Min-Expires
    const info = await alice.register({ expires: 600 });
    expect(info.expires).toBe(700);
    const reqs = registrar.requests.map((r) => r.req);
    expect(reqs.map((r) => r.expires())).toEqual([600, 700]);
    const reg = reqs[1]!;
    expect(reg.callId()).toBe(reqs[0]!.callId());
    expect(reg.cseq().seq).toBe(reqs[0]!.cseq().seq + 1);
    const c = reg.contact();
    expect(c !== "*" && getParam(c[0]!.params, "+sip.app-subtype")).toBe("webrtc-datachannel");
    expect(c !== "*" && (c[0]!.uri as SipUri).params.map((p) => `${p.name}=${p.value}`)).toEqual(
      proto === "UDP" ? [] : [`transport=${proto.toLowerCase()}`],
    );
    expect(reg.getHeader("Security-Client")).toBe("msrp-tls;mediasec, bfcp-tls;mediasec");
    expect(mediasecMechanisms(reg.securityClient())).toEqual(["msrp-tls", "bfcp-tls"]);
    expect(reg.topVia().transport).toBe(proto);
    if (proto === "WS" && c !== "*") expect((c[0]!.uri as SipUri).host.endsWith(".invalid")).toBe(true);
    expect(alice.registered?.serviceRoute).toHaveLength(1);
    await alice.unregister();
    expect(events).toEqual(["registered 700", "unregistered"]);
    expect(registrar.bindings.size).toBe(0);
  });

  it("INVITE / 100 / 180 / 200 / ACK, re-INVITE both ways, BYE from the callee", async () => {
    const { alice, bob, aliceSdp, bobSdp, bobUri, registrar } = await setup(proto);
    await alice.register();
    await bob.register();
    expect(registrar.bindings.size).toBe(2);
    const bobStates: string[] = [];
    let bobCall: SipCall | undefined;
    bob.on("incomingCall", (call) => {
      bobCall = call;
      call.on("state", (s) => bobStates.push(s));
      setTimeout(() => void call.answer(), 20);
    });
    const call = alice.call(bobUri);
    const aliceStates: string[] = [];
    call.on("state", (s) => aliceStates.push(s));
    await call.established();
    await waitFor(() => bobCall?.state === "established", 3000, "bob established");
    expect(aliceStates).toEqual(["trying", "ringing", "established"]);
    expect(bobStates).toEqual(["answering", "established"]);
    expect(aliceSdp.answers).toEqual(["v=0\r\no=bob 1 answer ü\r\n"]);
    // byte-exact bodies
    expect(td.decode(bobCall!.remoteSdp!)).toBe("v=0\r\no=alice 1 offer ü\r\n");
    expect(bobCall!.request!.contentLength()).toBe(te.encode("v=0\r\no=alice 1 offer ü\r\n").length);
    expect(call.dialog?.state).toBe("confirmed");
    expect(bobCall!.dialog?.remoteTarget).toContain("alice@");

    // re-INVITE from the caller (the callee's side ends with the ACK)
    const bobSaw = bobCall!.next("reinvite");
    await expect(call.reinvite()).resolves.toEqual({ status: 200 });
    expect(await bobSaw).toEqual([{ direction: "incoming", status: 200 }]);
    expect(aliceSdp.answers.at(-1)).toBe("v=0\r\no=bob 2 answer ü\r\n");
    // re-INVITE from the callee (toward a WebSocket client: over its connection)
    const aliceSaw = call.next("reinvite");
    await expect(bobCall!.reinvite()).resolves.toEqual({ status: 200 });
    await aliceSaw;
    expect(bobSdp.answers.at(-1)).toBe("v=0\r\no=alice 3 answer ü\r\n");
    expect(call.dialog!.remoteSeq).toBe(1);

    // a refused re-offer leaves the call up (RFC 3261 §14.2)
    bobSdp.refuse = true;
    await expect(call.reinvite()).rejects.toMatchObject({ status: 488 });
    expect(call.state).toBe("established");
    bobSdp.refuse = false;

    // BYE from the callee
    const ended = call.terminated();
    const bobEnd = await bobCall!.hangup();
    expect(bobEnd).toMatchObject({ reason: "local-bye", status: 200 });
    expect(await ended).toMatchObject({ reason: "remote-bye" });
    expect(alice.activeCalls()).toHaveLength(0);
    expect(bob.activeCalls()).toHaveLength(0);
  });

  it("CANCEL before the answer: 487 to the INVITE, both sides terminated", async () => {
    const { alice, bob, bobUri } = await setup(proto);
    let bobCall: SipCall | undefined;
    bob.on("incomingCall", (c) => {
      bobCall = c;
    });
    const call = alice.call(bobUri);
    await call.next("ringing");
    call.cancel();
    expect(await call.terminated()).toMatchObject({ reason: "local-cancel", status: 487 });
    await waitFor(() => bobCall?.state === "terminated", 3000, "bob cancelled");
    expect(bobCall!.terminatedInfo).toMatchObject({ reason: "remote-cancel", status: 487 });
    await expect(bobCall!.answer()).rejects.toMatchObject({ code: "E_SIP_STATE" });
  });

  it("rejection, refused offer, and glare (491) on simultaneous re-INVITEs", async () => {
    const { alice, bob, bobSdp, bobUri } = await setup(proto);
    let n = 0;
    bob.on("incomingCall", (c) => {
      n++;
      if (n === 1) c.reject(486);
      else void c.answer();
    });
    const c1 = alice.call(bobUri);
    expect(await c1.terminated()).toMatchObject({ reason: "rejected", status: 486 });
    bobSdp.refuse = true;
    const c2 = alice.call(bobUri);
    expect(await c2.terminated()).toMatchObject({ reason: "rejected", status: 488 });
    bobSdp.refuse = false;
    let bobCall: SipCall | undefined;
    bob.on("incomingCall", (c) => {
      bobCall = c;
    });
    const c3 = alice.call(bobUri);
    await c3.established();
    await waitFor(() => bobCall?.state === "established", 3000, "bob established");
    // RFC 3261 §14.2: both sides re-INVITE at once: each answers the other's with 491
    const [ra, rb] = await Promise.allSettled([c3.reinvite(), bobCall!.reinvite()]);
    expect(ra.status === "rejected" && (ra.reason as { status: number }).status).toBe(491);
    expect(rb.status === "rejected" && (rb.reason as { status: number }).status).toBe(491);
    expect(c3.state).toBe("established");
    // and after the glare, a retry works
    await expect(c3.reinvite()).resolves.toEqual({ status: 200 });
    await c3.hangup();
    await waitFor(() => bobCall?.state === "terminated", 3000, "bob ended");
  });
});

describe("UA edge cases", () => {
  it("outbound proxy: every request goes to the configured next hop with the preloaded Route; refresh before expiry", async () => {
    const proxy = await new RegistrarStub("TCP").start();
    closers.push(() => proxy.close());
    const layer = new SipTransportLayer({ tcp: true });
    await layer.start();
    const ua = new SipUserAgent({
      transport: layer,
      ownsTransport: true,
      aor: "sip:carol@ims.example.com",
      // the registrar name does not resolve: the outbound proxy is the only next hop
      outboundProxy: `${proxy.uri};lr`,
      preloadedRoute: [`<${proxy.uri};lr>`],
      preferredTransport: "TCP",
      autoRefresh: true,
      sdp: fakeSdp("carol"),
      timers: TIMERS,
    });
    closers.push(() => ua.close());
    const info = await ua.register({ expires: 2 });
    expect(info.expires).toBe(2);
    const first = proxy.requests[0]!.req;
    expect(first.uri).toBe("sip:ims.example.com");
    expect(first.getHeaders("Route")).toEqual([`<${proxy.uri};lr>`]);
    expect(first.getHeader("Security-Client")).toBeUndefined();
    // RFC 3261 §10.2.4 refresh at half the granted expiry
    await waitFor(() => proxy.requests.length >= 2, 3000, "refresh");
    expect(proxy.requests[1]!.req.cseq().seq).toBe(first.cseq().seq + 1);
    // an initial INVITE goes to the proxy too, with the preloaded Route and the Service-Route learned at registration
    const call = ua.call("sip:dave@ims.example.com");
    await waitFor(() => proxy.requests.some((r) => r.req.method === "INVITE"), 3000, "INVITE at proxy");
    const inv = proxy.requests.find((r) => r.req.method === "INVITE")!.req;
    expect(inv.getHeaders("Route")).toEqual([
      `<${proxy.uri};lr>`,
      `<sip:orig@${proxy.address.host}:${proxy.address.port};lr>`,
    ]);
    expect(await call.terminated()).toMatchObject({ reason: "rejected", status: 405 });
  });

  it("an unanswered INVITE to nowhere times out (408) over UDP", async () => {
    const layer = new SipTransportLayer({ udp: true });
    await layer.start();
    const sink = new SipTransportLayer({ udp: true }); // receives and ignores everything
    await sink.start();
    const ua = new SipUserAgent({
      transport: layer,
      ownsTransport: true,
      aor: "sip:a@x.example.com",
      sdp: fakeSdp("a"),
      timers: { T1: 10, T2: 40, T4: 50, D: 50 },
    });
    closers.push(
      () => ua.close(),
      () => sink.close(),
    );
    const call = ua.call(`sip:nobody@127.0.0.1:${sink.address("UDP")!.port}`);
    expect(await call.terminated()).toMatchObject({ reason: "timeout", status: 408 });
  });

  it("answers OPTIONS; 481, 405, 501, 416, 420, 415, 482 and 480 where RFC 3261 says so", async () => {
    const { bobLayer } = await setup("UDP");
    const probeLayer = new SipTransportLayer({ udp: true });
    await probeLayer.start();
    const probe = new TransactionManager(probeLayer, { timers: TIMERS });
    probeLayer.onMessage((m, s) => probe.receive(m, s));
    closers.push(async () => {
      probe.close();
      await probeLayer.close();
    });
    const port = bobLayer.address("UDP")!.port;
    const target = { transport: "UDP" as const, host: "127.0.0.1", port };
    const ask = (
      method: string,
      o: {
        uri?: string;
        toTag?: string;
        headers?: [string, string][];
        body?: string;
        callId?: string;
        fromTag?: string;
      } = {},
    ) =>
      new Promise<SipResponse>((resolve) => {
        const req = createRequest({
          method,
          uri: o.uri ?? `sip:bob@127.0.0.1:${port}`,
          from: `<sip:probe@example.com>;tag=${o.fromTag ?? generateTag()}`,
          to: `<sip:bob@example.com>${o.toTag !== undefined ? `;tag=${o.toTag}` : ""}`,
          callId: o.callId ?? generateCallId(),
          cseq: 1,
          contact: "<sip:probe@127.0.0.1>",
          headers: (o.headers ?? []).map(([name, value]) => ({ name, value })),
          ...(o.body !== undefined ? { body: te.encode(o.body), contentType: "text/plain" } : {}),
        });
        probe.sendRequest(req, target, { onResponse: (r) => r.status >= 200 && resolve(r) });
      });
    const opt = await ask("OPTIONS");
    expect(opt.status).toBe(200);
    expect(opt.allow()).toEqual(["INVITE", "ACK", "BYE", "CANCEL", "OPTIONS"]);
    expect((await ask("BYE", { toTag: "nope" })).status).toBe(481);
    expect((await ask("MESSAGE")).status).toBe(405);
    expect((await ask("FROBNICATE")).status).toBe(501);
    expect((await ask("OPTIONS", { uri: "mailto:bob@example.com" })).status).toBe(416);
    const r420 = await ask("OPTIONS", { headers: [["Require", "foo, bar"]] });
    expect(r420.status).toBe(420);
    expect(r420.unsupported()).toEqual(["foo", "bar"]);
    expect((await ask("INVITE", { body: "hello" })).status).toBe(415);
    expect((await ask("INVITE")).status).toBe(480); // no incomingCall listener
    // RFC 3261 §8.2.2.2: same Call-ID, From tag and CSeq on another branch → 482
    const merged = { callId: "merged-1", fromTag: "m1" };
    expect((await ask("OPTIONS", merged)).status).toBe(200);
    expect((await ask("OPTIONS", merged)).status).toBe(482);
  });
});

// ---------------------------------------------------------------------------------------------------------------------
// flow recovery (RFC 5626 §4.4 / §4.5, TS 24.229 §5.1.1.4)

/** A registrar that answers every REGISTER with 200 (its Contact with expires), on a given port. */
async function miniRegistrar(proto: "TCP" | "WS", port = 0) {
  const layer = new SipTransportLayer(proto === "TCP" ? { tcp: { port } } : { ws: { port } });
  await layer.start();
  const txm = new TransactionManager(layer, { timers: TIMERS });
  layer.onMessage((m, s) => txm.receive(m, s));
  const requests: { cseq: number; callId: string; connectionId: string | undefined }[] = [];
  const state = { refuse: 0 };
  txm.setUser({
    onRequest: (txn) => {
      const req = txn.request;
      requests.push({ cseq: req.cseq().seq, callId: req.callId(), connectionId: txn.source.connectionId });
      if (state.refuse > 0) {
        state.refuse--;
        txn.reply(403, undefined, { toTag: generateTag() });
        return;
      }
      const c = req.contact();
      txn.reply(200, undefined, {
        toTag: generateTag(),
        headers:
          c === "*" || !c[0]
            ? []
            : [{ name: "Contact", value: `<${formatUri(c[0].uri)}>;expires=${req.expires() ?? 600}` }],
      });
    },
  });
  const a = layer.address(proto)!;
  return {
    layer,
    txm,
    state,
    requests,
    port: a.port,
    uri: `sip:127.0.0.1:${a.port};transport=${proto.toLowerCase()}`,
    async close() {
      txm.close();
      await layer.close();
    },
  };
}

async function recoveringUa(
  proto: "TCP" | "WS",
  registrar: string,
  flowRecovery: { baseMs: number; maxMs: number } | false,
): Promise<SipUserAgent> {
  const layer = new SipTransportLayer(proto === "WS" ? { ws: { listen: false } } : { tcp: true });
  await layer.start();
  let ua: SipUserAgent;
  try {
    ua = new SipUserAgent({
      transport: layer,
      ownsTransport: true,
      aor: "sip:erin@ims.example.com",
      registrar,
      preferredTransport: proto,
      sdp: fakeSdp("erin"),
      timers: TIMERS,
      flowRecovery,
    });
  } catch (e) {
    await layer.close();
    throw e;
  }
  closers.push(() => ua.close());
  return ua;
}

/** The next `name` event of a UA (bounded wait). */
function nextEvent<K extends keyof UserAgentEvents>(
  ua: SipUserAgent,
  name: K,
  ms = 3000,
): Promise<UserAgentEvents[K][0]> {
  return new Promise((resolve, reject) => {
    const off = ua.once(name, (...args: UserAgentEvents[K]) => {
      clearTimeout(t);
      resolve(args[0]);
    });
    const t = setTimeout(() => {
      off();
      reject(new Error(`no ${String(name)} within ${ms} ms`));
    }, ms);
  });
}

describe("flow recovery (RFC 5626 §4.5)", () => {
  it("flowRecoveryDelay = min(max, base · 2^failures), randomised between 50 % and 100 %", async () => {
    expect(flowRecoveryDelay(1, 30_000, 1_800_000, () => 1)).toBe(60_000);
    expect(flowRecoveryDelay(1, 30_000, 1_800_000, () => 0)).toBe(30_000);
    expect(flowRecoveryDelay(3, 30_000, 1_800_000, () => 1)).toBe(240_000);
    expect(flowRecoveryDelay(10, 30_000, 1_800_000, () => 1)).toBe(1_800_000);
    expect(flowRecoveryDelay(10, 30_000, 1_800_000, () => 0)).toBe(900_000);
    expect(flowRecoveryDelay(5000, 100, 1000, () => 0.5)).toBe(750);
    expect(FLOW_RECOVERY_DEFAULTS).toEqual({ baseMs: 30_000, maxMs: 1_800_000 });
    await expect(recoveringUa("TCP", "sip:127.0.0.1", { baseMs: 0, maxMs: 10 })).rejects.toThrow(/flowRecovery/);
  });

  it.each(["TCP", "WS"] as const)(
    "%s: the registrar drops the connection → flowFailed, then a re-REGISTER on a new connection",
    async (proto) => {
      const reg = await miniRegistrar(proto);
      closers.push(() => reg.close());
      const ua = await recoveringUa(proto, reg.uri, { baseMs: 50, maxMs: 400 });
      await ua.register();
      const first = reg.requests[0]!;
      await sleep(60); // older than base-time: the first new attempt is immediate
      const failed = nextEvent(ua, "flowFailed");
      const again = nextEvent(ua, "registered");
      (reg.layer.transport(proto) as TcpTransport | WsTransport).closeConnection(first.connectionId!);
      const f: FlowFailedInfo = await failed;
      expect(f).toMatchObject({ code: "E_SIP_FLOW_FAILED", transport: proto, recovering: true, retryInMs: 0 });
      expect(["peer-closed", "reset"]).toContain(f.reason);
      expect(ua.registered).toBeUndefined();
      await again;
      const second = reg.requests[1]!;
      // RFC 3261 §10.2.4: the same Call-ID, CSeq one higher; a new connection (RFC 5626 §4.5: a new flow)
      expect(second.callId).toBe(first.callId);
      expect(second.cseq).toBe(first.cseq + 1);
      expect(second.connectionId).not.toBe(first.connectionId);
      expect(ua.registered).toBeDefined();
      expect(ua.recovering).toBeUndefined();
    },
  );

  it("the proxy's FIN is a flow failure at once, even while a request it sent is unanswered; the call is reported", async () => {
    const reg = await miniRegistrar("TCP");
    closers.push(() => reg.close());
    const ua = await recoveringUa("TCP", reg.uri, { baseMs: 50, maxMs: 400 });
    const calls: SipCall[] = [];
    ua.on("incomingCall", (c) => calls.push(c)); // rings, never answers
    await ua.register();
    await sleep(60);
    const flow = reg.requests[0]!.connectionId!;
    // an INVITE from the registrar's side over the registration flow (as a P-CSCF delivers a terminating call)
    const contact = ua.contactUri("TCP");
    const invite = createRequest({
      method: "INVITE",
      uri: contact,
      from: `<sip:frank@ims.example.com>;tag=${generateTag()}`,
      to: "<sip:erin@ims.example.com>",
      callId: generateCallId(),
      cseq: 1,
      contact: `<${reg.uri}>`,
      body: te.encode("v=0\r\n"),
      contentType: "application/sdp",
    });
    const port = Number(/:(\d+);/.exec(contact)?.[1]);
    reg.txm.sendRequest(
      invite,
      { transport: "TCP", host: "127.0.0.1", port, connectionId: flow },
      { onResponse: () => undefined },
    );
    await waitFor(() => calls.length === 1, 2000, "incoming call");
    const failed = nextEvent(ua, "flowFailed", 2000);
    (reg.layer.transport("TCP") as TcpTransport).closeConnection(flow);
    const f: FlowFailedInfo = await failed;
    expect(f.reason).toBe("peer-closed");
    expect(f.calls).toEqual([calls[0]]);
    await nextEvent(ua, "registered");
  });

  it("backs off while the registrar is unreachable (E_SIP_TRANSPORT, growing delays), re-registers when it is back", async () => {
    let reg = await miniRegistrar("TCP");
    const port = reg.port;
    closers.push(() => reg.close());
    const ua = await recoveringUa("TCP", reg.uri, { baseMs: 50, maxMs: 400 });
    await ua.register();
    await sleep(60);
    const failures: RegistrationFailedInfo[] = [];
    ua.on("registrationFailed", (f) => failures.push(f));
    await reg.close(); // the registrar goes away: flow failure, then connection refused
    await waitFor(() => failures.length >= 3, 5000, "three failed attempts");
    expect(failures.every((f) => f.code === "E_SIP_TRANSPORT" && f.status === 503)).toBe(true);
    // RFC 5626 §4.5: attempt k fails → the next after min(max, base·2^(k)) · [0.5, 1]
    const [a, b, c] = failures.map((f) => f.retryInMs!);
    expect(a).toBeGreaterThanOrEqual(50);
    expect(a).toBeLessThanOrEqual(100);
    expect(b).toBeGreaterThanOrEqual(100);
    expect(b).toBeLessThanOrEqual(200);
    expect(c).toBeGreaterThanOrEqual(200);
    expect(c).toBeLessThanOrEqual(400);
    expect(ua.recovering?.failures).toBeGreaterThanOrEqual(3);
    const back = nextEvent(ua, "registered", 5000);
    reg = await miniRegistrar("TCP", port);
    await back;
    expect(reg.requests).toHaveLength(1);
    expect(ua.recovering).toBeUndefined();
  });

  it("a flow that fails within base-time of its registration is retried after the back-off, not at once", async () => {
    const reg = await miniRegistrar("TCP");
    closers.push(() => reg.close());
    const ua = await recoveringUa("TCP", reg.uri, { baseMs: 300, maxMs: 3000 });
    await ua.register();
    const failed = nextEvent(ua, "flowFailed");
    (reg.layer.transport("TCP") as TcpTransport).closeConnection(reg.requests[0]!.connectionId!);
    const f: FlowFailedInfo = await failed;
    expect(f.retryInMs).toBeGreaterThanOrEqual(300);
    expect(f.retryInMs).toBeLessThanOrEqual(600);
    await nextEvent(ua, "registered", 3000);
  });

  it("a failed refresh (autoRefresh) starts the recovery too: the flow is presumed dead", async () => {
    const reg = await miniRegistrar("TCP");
    closers.push(() => reg.close());
    const layer = new SipTransportLayer({ tcp: true });
    await layer.start();
    const ua = new SipUserAgent({
      transport: layer,
      ownsTransport: true,
      aor: "sip:erin@ims.example.com",
      registrar: reg.uri,
      preferredTransport: "TCP",
      sdp: fakeSdp("erin"),
      timers: TIMERS,
      autoRefresh: true,
      flowRecovery: { baseMs: 50, maxMs: 400 },
    });
    closers.push(() => ua.close());
    await ua.register({ expires: 2 }); // refresh after 1 s
    reg.state.refuse = 1;
    const f: FlowFailedInfo = await nextEvent(ua, "flowFailed", 3000);
    expect(f).toMatchObject({ reason: "refresh-failed", recovering: true });
    await nextEvent(ua, "registered", 3000);
    expect(reg.requests.map((r) => r.cseq)).toEqual([1, 2, 3]);
  });

  it("close(), unregister() and flowRecovery: false stop it", async () => {
    const reg = await miniRegistrar("TCP");
    closers.push(() => reg.close());
    // unregister(): the flow's close is no failure any more
    const ua1 = await recoveringUa("TCP", reg.uri, { baseMs: 20, maxMs: 40 });
    await ua1.register();
    await ua1.unregister();
    const events: string[] = [];
    ua1.on("flowFailed", () => events.push("flowFailed"));
    for (const r of reg.requests) (reg.layer.transport("TCP") as TcpTransport).closeConnection(r.connectionId!);
    await sleep(200);
    expect(events).toEqual([]);
    expect(reg.requests).toHaveLength(2);
    // flowRecovery: false: reported, not recovered
    const ua2 = await recoveringUa("TCP", reg.uri, false);
    await ua2.register();
    const failed = nextEvent(ua2, "flowFailed");
    (reg.layer.transport("TCP") as TcpTransport).closeConnection(reg.requests[2]!.connectionId!);
    expect(await failed).toMatchObject({ recovering: false });
    await sleep(200);
    expect(reg.requests).toHaveLength(3);
    // close() while recovering against an unreachable registrar: no attempt after it
    const reg3 = await miniRegistrar("TCP");
    closers.push(() => reg3.close());
    const ua4 = await recoveringUa("TCP", reg3.uri, { baseMs: 20, maxMs: 40 });
    await ua4.register();
    await sleep(30);
    const attempts: RegistrationFailedInfo[] = [];
    ua4.on("registrationFailed", (f) => attempts.push(f));
    await reg3.close();
    await waitFor(() => attempts.length >= 2, 3000, "two failed attempts");
    await ua4.close();
    const n = attempts.length;
    await sleep(200);
    expect(attempts.length).toBe(n);
  });

  it("a browser UA (BrowserWsTransport) reconnects and re-registers over a new WebSocket", async () => {
    const reg = await miniRegistrar("WS");
    closers.push(() => reg.close());
    let opens = 0;
    const closes: (number | undefined)[] = [];
    const transport = new BrowserWsTransport({
      url: `ws://127.0.0.1:${reg.port}/`,
      createSocket: (url, protocol) => new WebSocket(url, protocol) as unknown as BrowserWebSocketLike,
      onOpen: () => opens++,
      onClose: (code) => closes.push(code),
    });
    await transport.connect();
    const ua = new SipUserAgent({
      transport,
      ownsTransport: true,
      aor: "sip:page@ims.example.com",
      registrar: reg.uri,
      sdp: fakeSdp("page"),
      timers: TIMERS,
      flowRecovery: { baseMs: 50, maxMs: 400 },
    });
    closers.push(() => ua.close());
    await ua.register();
    await sleep(60);
    const failed = nextEvent(ua, "flowFailed");
    const again = nextEvent(ua, "registered");
    (reg.layer.transport("WS") as WsTransport).closeConnection(reg.requests[0]!.connectionId!);
    expect(await failed).toMatchObject({ code: "E_SIP_FLOW_FAILED", transport: "WS", reason: "reset" });
    await again;
    expect(opens).toBe(2);
    expect(closes).toEqual([1006]);
    expect(reg.requests[1]!.connectionId).not.toBe(reg.requests[0]!.connectionId);
    expect(reg.requests[1]!.callId).toBe(reg.requests[0]!.callId);
  });
});
