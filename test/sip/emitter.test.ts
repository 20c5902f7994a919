import { describe, expect, it } from "vitest";
import { TypedEmitter } from "../../src/sip/emitter.ts";

interface Events {
  ping: [number];
  other: [];
}

class Hooked extends TypedEmitter<Events> {
  readonly errors: Array<{ e: unknown; event: string }> = [];
  constructor() {
    super();
    this.onListenerError = (e, event) => this.errors.push({ e, event });
  }
}

class Plain extends TypedEmitter<Events> {}

describe("TypedEmitter listener-error policy", () => {
  it("a throwing listener: emit returns normally, the next listener runs, the error reaches the hook", () => {
    const em = new Hooked();
    const seen: number[] = [];
    const boom = new Error("listener bug");
    em.on("ping", () => {
      throw boom;
    });
    em.on("ping", (n) => seen.push(n));
    expect(em.emit("ping", 7)).toBe(true);
    expect(seen).toEqual([7]);
    expect(em.errors).toEqual([{ e: boom, event: "ping" }]);
  });

  it("by default the error is rethrown on a microtask, after the emitting code finished", async () => {
    const em = new Plain();
    const boom = new Error("surfaces later");
    em.on("ping", () => {
      throw boom;
    });
    const orig = globalThis.queueMicrotask;
    const queued: Array<() => void> = [];
    globalThis.queueMicrotask = (cb: () => void) => {
      queued.push(cb);
    };
    let after = false;
    try {
      em.emit("ping", 1);
      after = true;
    } finally {
      globalThis.queueMicrotask = orig;
    }
    expect(after).toBe(true);
    expect(queued).toHaveLength(1);
    expect(() => queued[0]?.()).toThrow(boom);
  });

  it("on/once/off/removeAllListeners/listenerCount keep Node's semantics", () => {
    const em = new Plain();
    const calls: string[] = [];
    const a = (n: number) => calls.push(`a${n}`);
    const b = (n: number) => calls.push(`b${n}`);
    em.on("ping", a);
    em.once("ping", b);
    expect(em.listenerCount("ping")).toBe(2);
    em.emit("ping", 1);
    em.emit("ping", 2);
    expect(calls).toEqual(["a1", "b1", "a2"]);
    em.once("ping", b);
    em.off("ping", b); // a once listener is removed by its own function
    em.off("ping", a);
    expect(em.emit("ping", 3)).toBe(false);
    const stop = em.on("other", () => calls.push("o"));
    stop();
    em.on("other", () => calls.push("o2"));
    em.removeAllListeners("other");
    em.emit("other");
    expect(calls).toEqual(["a1", "b1", "a2"]);
    expect(em.listenerCount("other")).toBe(0);
  });
});
