/**
 * Consent freshness (RFC 7675) timing per ICE connection: the `consentIntervalMs` / `consentTimeoutMs` options of the
 * werift patch (docs/werift-patches.md "Consent freshness timing"). Unpatched werift ignores both options: its first
 * consent check leaves 4–6 s after nomination and a vanished peer is noticed after 30 s, so every test below fails
 * within its bounded wait.
 *
 * Two ICE agents on 127.0.0.1 (no DTLS: consent is an ICE matter); "vanish" closes B's connection and sockets
 * without sending anything, as a killed process would.
 */
import { afterEach, beforeAll, describe, expect, it } from "vitest";
import { loadWerift, sleep, WERIFT_BUILDS, type Werift, waitFor } from "./harness.ts";

type IceTransport = InstanceType<Werift["RTCIceTransport"]>;

interface IceAgent {
  ice: IceTransport;
  states: string[];
  close(): Promise<void>;
}

function agent(w: Werift, consent: { consentIntervalMs?: number; consentTimeoutMs?: number }): IceAgent {
  const gatherer = new w.RTCIceGatherer({
    useIpv4: false,
    useIpv6: false,
    additionalHostAddresses: ["127.0.0.1"],
    interfaceAddresses: { udp4: "127.0.0.1" },
    ...consent,
  });
  const ice = new w.RTCIceTransport(gatherer);
  const states: string[] = [];
  ice.onStateChange.subscribe((s) => {
    states.push(s);
  });
  return {
    ice,
    states,
    close: async () => {
      await ice.stop().catch(() => {});
      await gatherer.connection.close().catch(() => {});
    },
  };
}

async function connectPair(w: Werift, consentA: Parameters<typeof agent>[1]): Promise<[IceAgent, IceAgent]> {
  const a = agent(w, consentA);
  const b = agent(w, {});
  await Promise.all([a.ice.gather(), b.ice.gather()]);
  const introduce = async (from: IceAgent, to: IceAgent, controlling: boolean) => {
    to.ice.connection.iceControlling = controlling;
    const lp = from.ice.localParameters;
    to.ice.setRemoteParams(new w.RTCIceParameters({ usernameFragment: lp.usernameFragment, password: lp.password }));
    for (const c of from.ice.localCandidates.filter((c) => c.ip === "127.0.0.1")) await to.ice.addRemoteCandidate(c);
    await to.ice.addRemoteCandidate(undefined);
  };
  await introduce(b, a, true);
  await introduce(a, b, false);
  await Promise.all([a.ice.start(), b.ice.start()]);
  return [a, b];
}

describe.each(WERIFT_BUILDS)("werift %s build", (build) => {
  let werift: Werift;
  const open: IceAgent[] = [];
  beforeAll(async () => {
    werift = await loadWerift(build);
  });
  afterEach(async () => {
    await Promise.all(open.splice(0).map((x) => x.close()));
  });

  it("consent: checks follow consentIntervalMs and a live peer keeps consent past consentTimeoutMs", async () => {
    const [a, b] = await connectPair(werift, { consentIntervalMs: 200, consentTimeoutMs: 1000 });
    open.push(a, b);
    expect(a.ice.state).toBe("connected");
    // RFC 7675 §5.1: twice the expiry with the peer alive; every answered check refreshes consent
    await sleep(2000);
    expect(a.ice.state).toBe("connected");
    expect(a.states).not.toContain("failed");
    // ≈ 10 checks at 200 ms ± 20 %; unpatched: none yet (the first leaves after 4–6 s)
    expect(a.ice.connection.nominated?.consentRequestsSent ?? 0).toBeGreaterThanOrEqual(5);
    expect(a.ice.connection.consentIntervalMs).toBe(200);
    expect(a.ice.connection.consentTimeoutMs).toBe(1000);
  }, 15_000);

  it("consent: a peer that vanishes silently fails the ICE connection after consentTimeoutMs", async () => {
    const [a, b] = await connectPair(werift, { consentIntervalMs: 200, consentTimeoutMs: 1000 });
    open.push(a, b);
    await b.close(); // no packet leaves: B's sockets are simply gone
    // RFC 7675 §5.1: no answered check for consentTimeoutMs → consent expired → ICE "failed"; unpatched: 30 s
    await waitFor(() => a.ice.state === "failed", 6000, "A's ICE failed after consent expiry");
    expect(a.states).toContain("failed");
  }, 15_000);

  it("consent: without the options the RFC 7675 defaults apply (5 s interval, 30 s expiry)", async () => {
    const [a, b] = await connectPair(werift, {});
    open.push(a, b);
    expect(a.ice.connection.consentIntervalMs).toBe(5000);
    expect(a.ice.connection.consentTimeoutMs).toBe(30_000);
    // invalid values fall back to the defaults
    const c = agent(werift, { consentIntervalMs: -1, consentTimeoutMs: Number.NaN });
    open.push(c);
    expect(c.ice.connection.consentIntervalMs).toBe(5000);
    expect(c.ice.connection.consentTimeoutMs).toBe(30_000);
  }, 15_000);
});
