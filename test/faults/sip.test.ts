/**
 * SIP transport faults through the embedded IMS core (S-CSCF + P-CSCFs + ImsUe on 127.0.0.1): the P-CSCF restarts
 * and the UEs registered over WS or TCP re-register on their own (RFC 5626 §4.4 / §4.5 flow recovery, TS 24.229
 * §5.1.1.4); then a call with a data channel goes through the new P-CSCF. Without flow recovery nothing re-registers.
 */
import { afterEach, describe, expect, it } from "vitest";
import { Pcscf } from "../../src/ims/pcscf/index.ts";
import type { Binding } from "../../src/ims/scscf/registrar.ts";
import type { FlowFailedInfo, SipTransportProtocol } from "../../src/sip/index.ts";
import type { ImsUe, UeCall } from "../../src/ue/ue.ts";
import { CHANNELS, type Core, DOMAIN, startCore, startUe, TIMERS } from "../ims/e2e-helpers.ts";
import { activeResources, expectNoLeaks, sleep } from "../sip/helpers.ts";
import { nextMessage, waitOpen } from "../ue/helpers.ts";

const closers: (() => Promise<void>)[] = [];
afterEach(async () => {
  for (const c of closers.splice(0).reverse()) await c().catch(() => undefined);
});

/** Closes P-CSCF(A) and starts a new one with the same configuration on the same ports (a P-CSCF restart). */
async function restartPcscfA(core: Core): Promise<Pcscf> {
  const old = core.a;
  const port = (side: "access" | "core", p: SipTransportProtocol) => {
    const a = old.address(side, p);
    if (!a) throw new Error(`P-CSCF(A) has no ${side} ${p} address`);
    return a.port;
  };
  const access = { udp: port("access", "UDP"), tcp: port("access", "TCP"), ws: port("access", "WS") };
  const coreSide = { tcp: port("core", "TCP") };
  await old.close();
  const p = new Pcscf({
    name: "pcscf-a",
    access,
    core: coreSide,
    scscf: core.scscf.uri("TCP"),
    audit: core.audit,
    timers: TIMERS,
  });
  await p.start();
  // RFC 3325 §5: the restarted P-CSCF is the same trusted node; the S-CSCF follows its new core connections
  core.hops.follow(p.core.layer);
  return p;
}

function waitFor<T>(what: string, ms: number, subscribe: (done: (v: T) => void) => () => void): Promise<T> {
  return new Promise((resolve, reject) => {
    let off: () => void = () => undefined;
    const t = setTimeout(() => {
      off();
      reject(new Error(`timed out waiting for ${what}`));
    }, ms);
    off = subscribe((v) => {
      clearTimeout(t);
      off();
      resolve(v);
    });
  });
}

const aorOf = (user: string) => `sip:${user}@${DOMAIN}`;

async function setup(transport: SipTransportProtocol, flowRecovery: boolean) {
  const core = await startCore();
  closers.push(() => core.close());
  // ImsUeOptions.flowRecovery (RFC 5626 §4.5 base/max shortened for the test)
  const fr = flowRecovery ? { baseMs: 100, maxMs: 1000 } : (false as const);
  const alice = await startUe(core.a, "alice", transport, core.audit, { dc: { channels: CHANNELS }, flowRecovery: fr });
  closers.push(() => alice.close());
  const bob = await startUe(core.a, "bob", transport, core.audit, { flowRecovery: fr });
  closers.push(() => bob.close());
  const paths = new Map<string, string[]>();
  for (const u of ["alice", "bob"]) {
    const b = core.scscf.location.lookup(aorOf(u))[0];
    if (!b) throw new Error(`${u} has no binding`);
    paths.set(u, b.path);
  }
  return { core, alice, bob, paths };
}

/** Resolves with the flowFailed report of a UE. */
function flowFailed(ue: ImsUe, ms: number): Promise<FlowFailedInfo> {
  return waitFor("flowFailed", ms, (done) => ue.ua.on("flowFailed", done));
}

describe.each(["WS", "TCP"] as SipTransportProtocol[])("P-CSCF restart, UEs over %s", (transport) => {
  it("both UEs re-register on their own (new Path at the S-CSCF), then a call with a data channel succeeds", async () => {
    const before = activeResources();
    const { core, alice, bob, paths } = await setup(transport, true);
    // the S-CSCF sees each UE's re-REGISTER (through the new P-CSCF: a new Path flow token)
    const rebound = new Map<string, Binding[]>();
    core.scscf.on("registered", (aor, bindings) => rebound.set(aor.replace(/^sip:([^@]+)@.*/, "$1"), bindings));
    const failed = [flowFailed(alice, 5000), flowFailed(bob, 5000)];
    const reregistered = [alice, bob].map((ue) =>
      waitFor("re-registration", 10_000, (done) => ue.ua.on("registered", done)),
    );

    const pcscf = await restartPcscfA(core);
    closers.push(() => pcscf.close());

    for (const f of await Promise.all(failed)) {
      expect(f.code).toBe("E_SIP_FLOW_FAILED");
      expect(f.transport).toBe(transport);
      expect(f.recovering).toBe(true);
      expect(f.calls).toEqual([]);
    }
    await Promise.all(reregistered);
    for (const u of ["alice", "bob"]) {
      const b = rebound.get(u)?.[0];
      expect(b, `${u} re-registered at the S-CSCF`).toBeDefined();
      // RFC 3327 §5.3: the binding's Path is the new P-CSCF's (a new flow token for the new connection)
      expect(b?.path).toHaveLength(1);
      expect(b?.path[0]).not.toBe(paths.get(u)?.[0]);
      expect(core.scscf.location.lookup(aorOf(u))).toHaveLength(1);
    }
    expect(alice.ua.registered).toBeDefined();
    expect(bob.ua.registered).toBeDefined();

    // a call with a data channel through the restarted P-CSCF
    const incoming = waitFor<UeCall>("incoming call", 10_000, (done) => bob.on("incoming", done));
    const call = await alice.call(`sip:bob@${DOMAIN}`);
    const bcall = await incoming;
    await Promise.all([call.dc.connected(), bcall.dc.connected()]);
    const ca = call.dc.channel(1000);
    const cb = bcall.dc.channel(1000);
    if (!ca || !cb) throw new Error("channels missing");
    await Promise.all([waitOpen(ca), waitOpen(cb)]);
    const got = nextMessage(cb);
    ca.send("after the P-CSCF restart");
    expect(await got).toBe("after the P-CSCF restart");
    await call.hangup();
    await bcall.sip.terminated();

    for (const c of closers.splice(0).reverse()) await c();
    // the recovery left no socket or timer behind
    expect(await expectNoLeaks(before, 3000)).toEqual({});
  });
});

describe("P-CSCF restart during a call", () => {
  it("the call is reported in flowFailed.calls and kept: its data channel still works, its BYE goes over the new flow", async () => {
    const { core, alice, bob } = await setup("WS", true);
    const incoming = waitFor<UeCall>("incoming call", 10_000, (done) => bob.on("incoming", done));
    const call = await alice.call(`sip:bob@${DOMAIN}`);
    const bcall = await incoming;
    const ca = call.dc.channel(1000);
    const cb = bcall.dc.channel(1000);
    if (!ca || !cb) throw new Error("channels missing");
    await Promise.all([waitOpen(ca), waitOpen(cb)]);
    const failed = [flowFailed(alice, 5000), flowFailed(bob, 5000)];
    const reregistered = [alice, bob].map((ue) =>
      waitFor("re-registration", 10_000, (done) => ue.ua.on("registered", done)),
    );
    const pcscf = await restartPcscfA(core);
    closers.push(() => pcscf.close());
    const [fa, fb] = await Promise.all(failed);
    expect(fa?.calls).toEqual([call.sip]);
    expect(fb?.calls).toEqual([bcall.sip]);
    await Promise.all(reregistered);
    expect(call.sip.state).toBe("established");
    // the media runs end to end, not through the P-CSCF: the session survives the signalling flow
    const got = nextMessage(cb);
    ca.send("still here");
    expect(await got).toBe("still here");
    // BYE over the new flow, through the new P-CSCF (it routes by the re-registered contact)
    expect(await call.sip.hangup()).toMatchObject({ reason: "local-bye", status: 200 });
    expect(await bcall.sip.terminated()).toMatchObject({ reason: "remote-bye" });
  });
});

describe("P-CSCF restart without flow recovery", () => {
  it("flowRecovery: false → the failure is reported, nothing re-registers", async () => {
    const { core, alice, bob } = await setup("WS", false);
    const failed = [flowFailed(alice, 5000), flowFailed(bob, 5000)];
    const registers: string[] = [];
    core.scscf.on("request", (req) => {
      if (req.method === "REGISTER") registers.push(req.callId());
    });
    const pcscf = await restartPcscfA(core);
    closers.push(() => pcscf.close());
    for (const f of await Promise.all(failed)) {
      expect(f.recovering).toBe(false);
      expect(f.retryInMs).toBeUndefined();
    }
    expect(alice.ua.registered).toBeUndefined();
    expect(alice.ua.recovering).toBeUndefined();
    // ten base periods of the recovering configuration above: a recovering UE would have re-registered by now
    await sleep(1000);
    expect(registers).toEqual([]);
    expect(alice.ua.registered).toBeUndefined();
    expect(bob.ua.registered).toBeUndefined();
  });
});
