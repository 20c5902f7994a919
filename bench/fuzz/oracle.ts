/**
 * The fuzzing oracle: what counts as a failure, and the target interface the bench (bench/fuzz.ts) and the CI subset
 * (test/fuzz/*.test.ts) share.
 *
 * A target run on one input either returns an `Outcome` (accepted, or rejected with stable codes) or throws a
 * `FuzzViolation`: a crash, an untyped exception (anything that is not an `ImsdcError` with a stable code), an
 * internal error masked as a finding, a broken invariant, a call that exceeded its time bound, a node that stopped
 * answering or answered wrongly (docs/sip.md "Oversize and malformed input").
 */
import type fc from "fast-check";
import { ImsdcError } from "../../src/errors.ts";

export type ViolationKind =
  | "untyped-throw"
  | "masked-internal"
  | "threw"
  | "slow"
  | "invariant"
  | "no-answer"
  | "wrong-answer"
  | "unresponsive"
  | "leak"
  | "unhandled-rejection"
  | "hang";

export class FuzzViolation extends ImsdcError {
  readonly kind: ViolationKind;
  readonly details: Record<string, unknown>;
  constructor(kind: ViolationKind, message: string, details: Record<string, unknown> = {}, cause?: unknown) {
    super(`E_FUZZ_${kind.toUpperCase().replace(/-/g, "_")}`, message, cause !== undefined ? { cause } : undefined);
    this.kind = kind;
    this.details = details;
  }
}

/** What a target did with one input. `codes`: stable rejection codes (parse error, finding, status, UeError …). */
export interface Outcome {
  accepted: boolean;
  codes: string[];
}

export interface Reproducer {
  /** file extension of the reproducer (sip, sdp, json) */
  ext: string;
  bytes: Uint8Array | string;
  /** what to run it through, for the findings README */
  note: string;
}

export interface FuzzTarget<I> {
  name: string;
  /** one line: what is fed to what */
  description: string;
  arbitrary: fc.Arbitrary<I>;
  /** starts sockets / nodes (async targets) */
  start?(): Promise<void>;
  run(input: I): Outcome | Promise<Outcome>;
  /** frees everything; returns figures to report (leak check, nodes' state) */
  stop?(): Promise<Record<string, unknown>>;
  reproducer(input: I): Reproducer;
  /** per-call bound in ms (a slower call is a violation) */
  boundMs: number;
}

/** Describes a thrown value without throwing (for reports). */
export function describeThrown(e: unknown): { name: string; code?: string; message: string } {
  if (e instanceof ImsdcError) return { name: e.name, code: e.code, message: e.message };
  if (e instanceof Error) return { name: e.name, message: e.message };
  try {
    return { name: typeof e, message: String(e) };
  } catch {
    return { name: typeof e, message: "unprintable" };
  }
}

/**
 * The typed-error rule (DESIGN rule 7): `e` must be an `ImsdcError` (optionally of `cls`) with a code in `codes` (when
 * given), and not a wrapper around an internal error (a `cause` that is not one of ours, e.g. a TypeError turned into
 * E_SIP_HEADER by a catch-all). Returns the code.
 */
export function expectTyped(
  e: unknown,
  where: string,
  opts: { cls?: abstract new (...args: never[]) => ImsdcError; codes?: ReadonlySet<string> } = {},
): string {
  if (e instanceof FuzzViolation) throw e;
  if (!(e instanceof ImsdcError)) {
    throw new FuzzViolation("untyped-throw", `${where} threw ${describeThrown(e).name}: ${describeThrown(e).message}`, {
      where,
      thrown: describeThrown(e),
      stack: e instanceof Error ? e.stack?.split("\n").slice(0, 6).join("\n") : undefined,
    });
  }
  const thrown = describeThrown(e);
  const cls = opts.cls;
  if (cls !== undefined && !((e as object) instanceof cls)) {
    throw new FuzzViolation("untyped-throw", `${where} threw ${thrown.name} (${thrown.code}), expected ${cls.name}`, {
      where,
      thrown,
    });
  }
  if (opts.codes && !opts.codes.has(e.code)) {
    throw new FuzzViolation("untyped-throw", `${where} threw ${e.name} with unknown code ${e.code}`, {
      where,
      thrown: describeThrown(e),
    });
  }
  const cause = e.cause;
  if (cause !== undefined && !(cause instanceof ImsdcError) && isCatchAll(e, cause)) {
    throw new FuzzViolation("masked-internal", `${where}: ${e.code} wraps an internal ${describeThrown(cause).name}`, {
      where,
      thrown: describeThrown(e),
      cause: describeThrown(cause),
      stack: cause instanceof Error ? cause.stack?.split("\n").slice(0, 6).join("\n") : undefined,
    });
  }
  return e.code;
}

const PROGRAMMING_ERRORS = [TypeError, RangeError, ReferenceError, SyntaxError, EvalError, URIError];

/**
 * A typed error that only wraps an untyped one at a boundary: the cause is a programming error (TypeError, …: a bug
 * wherever it came from), or the wrapper is one of the catch-alls that exist so nothing escapes (parse.ts
 * "unparseable message", the E_DTLS_FAILED fallback of DcTransport.connect / DcEndpoint.apply, whose message is
 * the cause's own). A classified wrapper (DTLS alert → E_DTLS_AUTH, ICE failure → E_ICE_FAILED) is fine.
 */
export function isCatchAll(e: ImsdcError, cause: unknown): boolean {
  if (PROGRAMMING_ERRORS.some((c) => cause instanceof c)) return true;
  if (e.code === "E_SIP_HEADER" && /^unparseable/.test(e.message)) return true;
  if (e.code === "E_DTLS_FAILED" && cause instanceof Error)
    return e.message === cause.message || e.message === String(cause);
  return false;
}

/** Runs `fn`, which must not throw at all (the src/sdp contract). */
export function mustNotThrow<T>(where: string, fn: () => T): T {
  try {
    return fn();
  } catch (e) {
    throw new FuzzViolation("threw", `${where} threw ${describeThrown(e).name}: ${describeThrown(e).message}`, {
      where,
      thrown: describeThrown(e),
      stack: e instanceof Error ? e.stack?.split("\n").slice(0, 6).join("\n") : undefined,
    });
  }
}

export function invariant(ok: boolean, where: string, message: string, details: Record<string, unknown> = {}): void {
  if (!ok) throw new FuzzViolation("invariant", `${where}: ${message}`, { where, ...details });
}

/** Rejects with a `FuzzViolation(kind)` when `p` does not settle within `ms`. */
export function bounded<T>(p: Promise<T>, ms: number, where: string, kind: ViolationKind = "hang"): Promise<T> {
  return new Promise<T>((resolve, reject) => {
    const t = setTimeout(
      () => reject(new FuzzViolation(kind, `${where} did not settle within ${ms} ms`, { where })),
      ms,
    );
    p.then(
      (v) => {
        clearTimeout(t);
        resolve(v);
      },
      (e: unknown) => {
        clearTimeout(t);
        reject(e);
      },
    );
  });
}

/** Per-target tallies: inputs, accepted, rejections by code, violations, time. */
export class Tally {
  inputs = 0;
  accepted = 0;
  readonly codes = new Map<string, number>();
  readonly violations = new Map<string, number>();
  maxMs = 0;
  busyMs = 0;
  add(o: Outcome, ms: number): void {
    this.inputs++;
    if (o.accepted) this.accepted++;
    for (const c of new Set(o.codes)) this.codes.set(c, (this.codes.get(c) ?? 0) + 1);
    this.busyMs += ms;
    if (ms > this.maxMs) this.maxMs = ms;
  }
  violation(v: FuzzViolation, ms: number): void {
    this.inputs++;
    this.violations.set(v.kind, (this.violations.get(v.kind) ?? 0) + 1);
    this.busyMs += ms;
    if (ms > this.maxMs) this.maxMs = ms;
  }
  toJSON(): Record<string, unknown> {
    return {
      inputs: this.inputs,
      accepted: this.accepted,
      rejected: this.inputs - this.accepted - [...this.violations.values()].reduce((a, b) => a + b, 0),
      violations: Object.fromEntries(this.violations),
      rejectionsByCode: Object.fromEntries([...this.codes].sort((a, b) => b[1] - a[1])),
      maxCallMs: Math.round(this.maxMs * 10) / 10,
      busyMs: Math.round(this.busyMs),
    };
  }
}

/** Runs one input through a target with its time bound; returns the outcome or the violation. */
export async function runOne<I>(
  t: FuzzTarget<I>,
  input: I,
): Promise<{ outcome?: Outcome; violation?: FuzzViolation; ms: number }> {
  const t0 = performance.now();
  try {
    const r = t.run(input);
    const outcome = r instanceof Promise ? await bounded(r, t.boundMs * 4, `${t.name} run`) : r;
    const ms = performance.now() - t0;
    if (ms > t.boundMs)
      return { violation: new FuzzViolation("slow", `${t.name}: one call took ${Math.round(ms)} ms`, { ms }), ms };
    return { outcome, ms };
  } catch (e) {
    const ms = performance.now() - t0;
    if (e instanceof FuzzViolation) return { violation: e, ms };
    // an async target's own error escaped its oracle: that is an untyped escape
    try {
      expectTyped(e, `${t.name} run`);
      return {
        violation: new FuzzViolation("untyped-throw", `${t.name}: escaped ${describeThrown(e).name}`, {
          thrown: describeThrown(e),
        }),
        ms,
      };
    } catch (v) {
      return { violation: v instanceof FuzzViolation ? v : new FuzzViolation("untyped-throw", String(v)), ms };
    }
  }
}
