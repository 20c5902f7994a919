/**
 * The termination's state machine: the table of allowed and forbidden transitions, and a real termination that
 * walks it (establishing → ready → relaying → released) and refuses an edge outside it with a typed error.
 */
import net from "node:net";
import { afterEach, describe, expect, it } from "vitest";
import { DEFAULT_TIMERS } from "../../../src/ims/agw/agw.ts";
import { AgwError } from "../../../src/ims/agw/iqErrors.ts";
import type { IqEvent } from "../../../src/ims/agw/iqEvents.ts";
import { Termination } from "../../../src/ims/agw/termination.ts";
import {
  assertTransition,
  canTransition,
  TERMINATION_PHASES,
  type TerminationPhase,
  TerminationTransitionError,
} from "../../../src/ims/agw/terminationState.ts";
import type { TerminationInit } from "../../../src/ims/agw/terminationTypes.ts";
import { silentLogger } from "../../../src/log.ts";
import { LOOPBACK, waitFor } from "./helpers.ts";

const ALLOWED: readonly (readonly [TerminationPhase, TerminationPhase])[] = [
  ["delayed", "establishing"],
  ["delayed", "failed"],
  ["delayed", "released"],
  ["establishing", "ready"],
  ["establishing", "failed"],
  ["establishing", "released"],
  ["ready", "relaying"],
  ["ready", "closed"],
  ["ready", "released"],
  ["relaying", "closed"],
  ["relaying", "released"],
  ["closed", "released"],
  ["failed", "released"],
];
const allowed = new Set(ALLOWED.map(([f, t]) => `${f}>${t}`));
const PAIRS = TERMINATION_PHASES.flatMap((from) => TERMINATION_PHASES.map((to) => [from, to] as const));

describe("termination transition table", () => {
  it.each(PAIRS.filter(([f, t]) => allowed.has(`${f}>${t}`)))("%s → %s is allowed and cites its clause", (f, t) => {
    expect(canTransition(f, t)).toBe(true);
    expect(assertTransition("T1", f, t)).toMatch(/(RFC|TR|TS) \d|local policy/);
  });

  it.each(PAIRS.filter(([f, t]) => !allowed.has(`${f}>${t}`)))("%s → %s is refused with E_AGW_STATE", (f, t) => {
    expect(canTransition(f, t)).toBe(false);
    let caught: unknown;
    try {
      assertTransition("T1", f, t);
    } catch (e) {
      caught = e;
    }
    expect(caught).toBeInstanceOf(TerminationTransitionError);
    expect(caught).toBeInstanceOf(AgwError);
    expect(caught).toMatchObject({ code: "E_AGW_STATE", terminationId: "T1", from: f, to: t });
  });

  it("released is terminal and nothing returns to delayed", () => {
    for (const p of TERMINATION_PHASES) {
      expect(canTransition("released", p)).toBe(false);
      expect(canTransition(p, "delayed")).toBe(false);
    }
  });
});

describe("a termination walks the table", () => {
  const open: { t: Termination; peer?: net.Socket }[] = [];
  afterEach(async () => {
    for (const o of open.splice(0)) {
      o.peer?.destroy();
      await o.t.release();
    }
  });

  function init(over: Partial<TerminationInit> = {}): { init: TerminationInit; events: IqEvent[] } {
    const events: IqEvent[] = [];
    return {
      events,
      init: {
        contextId: "C1",
        terminationId: "T1",
        side: "core",
        transport: "TCP",
        localAddress: LOOPBACK,
        localPort: 0,
        tcpEstablishment: { mode: "immediate" },
        establishTlsSession: false,
        notifyTlsFailure: false,
        localFingerprintRequested: false,
        timers: DEFAULT_TIMERS,
        maxParked: 4,
        maxCandidates: 4,
        highWaterMark: 64 * 1024,
        keepAliveMs: 0,
        logger: silentLogger,
        hooks: {
          emit: (e) => events.push(e),
          audit: () => {},
          tcpEstablished: () => {},
          ready: () => {},
          disconnected: () => {},
          handshakesFull: () => false,
          handshakeStarted: () => {},
          handshakeEnded: () => {},
          handshakeRefused: () => {},
        },
        ...over,
      },
    };
  }

  it("establishing → ready → relaying; a second relay start is a typed error; release is idempotent", async () => {
    const t = await Termination.create(init().init);
    open.push({ t });
    expect(t.phase).toBe("establishing");
    expect(() => t.relayStarted()).toThrowError(AgwError); // no connection to relay yet
    const peer = net.connect({ host: LOOPBACK, port: t.localPort });
    open.push({ t, peer });
    await waitFor(() => t.phase === "ready", 3000, "ready");
    expect(t.state).toBe("ready");
    t.relayStarted();
    expect(t.phase).toBe("relaying");
    expect(() => t.relayStarted()).toThrowError(TerminationTransitionError);
    expect(t.phase).toBe("relaying");
    const stats = await t.release();
    expect(t.phase).toBe("released");
    expect(await t.release()).toBe(stats);
    expect(() => t.configure({})).toThrowError(/released/);
  });

  it("delayed mode starts gated and opens on the Configure with the remote address", async () => {
    const { init: i, events } = init({ tcpEstablishment: { mode: "delayed", policy: "drop" } });
    const t = await Termination.create(i);
    open.push({ t });
    expect(t.phase).toBe("delayed");
    t.configure({ remote: { address: LOOPBACK, port: 9 } });
    expect(t.phase).toBe("establishing");
    const peer = net.connect({ host: LOOPBACK, port: t.localPort });
    open.push({ t, peer });
    await waitFor(() => t.phase === "ready", 3000, "ready");
    expect(events.map((e) => e.event)).toEqual(["tcpConnectionEstablished"]);
  });

  it("the establishment timer moves an unconnected termination to failed", async () => {
    const { init: i, events } = init({ timers: { ...DEFAULT_TIMERS, establishmentMs: 50 } });
    const t = await Termination.create(i);
    open.push({ t });
    await waitFor(() => t.phase === "failed", 3000, "failed");
    expect(t.state).toBe("failed");
    expect(events.map((e) => e.event)).toEqual(["tcpEstablishmentTimeout"]);
  });
});
