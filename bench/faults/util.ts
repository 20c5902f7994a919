/** Small waits shared by the fault scenarios (bench/faults/*.ts). Every wait is bounded. */
import { deadline } from "../../src/errors.ts";

export const sleep = (ms: number): Promise<void> => new Promise((r) => setTimeout(r, ms));

/** Polls `cond` every `stepMs` (default 10 ms); true when it held within `ms`. */
export async function waitUntil(cond: () => boolean, ms: number, stepMs = 10): Promise<boolean> {
  const end = Date.now() + ms;
  while (!cond()) {
    if (Date.now() > end) return false;
    await sleep(stepMs);
  }
  return true;
}

/** `p`'s value, or undefined when it does not settle (or rejects) within `ms` (`deadline` of src/errors.ts). */
export function within<T>(p: Promise<T>, ms: number): Promise<T | undefined> {
  return deadline<T | undefined>(p, ms, () => new Error("timeout")).catch(() => undefined);
}
