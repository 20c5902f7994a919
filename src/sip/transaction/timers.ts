/**
 * Transaction timers (RFC 3261 §17, Table 4 of §A). T1, T2, T4 and Timer D are configurable; tests use small values.
 */

export interface SipTimerConfig {
  /** RTT estimate; RFC 3261 §17.1.1.1: default 500 ms */
  T1: number;
  /** maximum retransmit interval for non-INVITE requests and INVITE responses; default 4 s */
  T2: number;
  /** maximum duration a message remains in the network; default 5 s */
  T4: number;
  /** Timer D, wait time for response retransmits (unreliable transports); RFC 3261 §17.1.1.2: at least 32 s */
  D: number;
}

export const DEFAULT_TIMERS: SipTimerConfig = { T1: 500, T2: 4000, T4: 5000, D: 32000 };

export function resolveTimers(p: Partial<SipTimerConfig> = {}): SipTimerConfig {
  return { ...DEFAULT_TIMERS, ...p };
}

type Handle = ReturnType<typeof setTimeout>;

/** Named one-shot timers of one transaction; clearAll() leaves nothing behind. */
export class TimerBag {
  private readonly timers = new Map<string, Handle>();

  set(name: string, ms: number, fn: () => void): void {
    this.clear(name);
    const h = setTimeout(() => {
      this.timers.delete(name);
      fn();
    }, ms);
    this.timers.set(name, h);
  }

  has(name: string): boolean {
    return this.timers.has(name);
  }

  clear(name: string): void {
    const h = this.timers.get(name);
    if (h !== undefined) clearTimeout(h);
    this.timers.delete(name);
  }

  clearAll(): void {
    for (const h of this.timers.values()) clearTimeout(h);
    this.timers.clear();
  }

  get size(): number {
    return this.timers.size;
  }
}
