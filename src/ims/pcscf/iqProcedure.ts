/**
 * One Iq procedure as the e2ae anchoring sees it (TS 23.334 Iq, TR 29.828 §5.2.1): its failure (which procedure, the
 * clause it serves, the AGW's error code) and its timeout.
 */
import type { IqFailure } from "./e2aeSession.ts";
import type { IqConnectionPoint } from "./iq.ts";

/** An Iq procedure that got no answer in time (its late answer is released when it arrives). */
class IqTimeout extends Error {}

/** A failed Iq procedure: which one, the clause it serves, and the AGW's error code. */
export class IqProcedureError extends Error {
  readonly agwCode: string | undefined;
  readonly timeout: boolean;
  constructor(
    readonly procedure: string,
    readonly clause: string,
    cause: unknown,
  ) {
    super(
      typeof cause === "string" ? cause : cause instanceof Error ? cause.message : String(cause),
      typeof cause === "string" ? undefined : { cause },
    );
    this.agwCode = agwCodeOf(cause);
    this.timeout = cause instanceof IqTimeout;
  }
}

export function agwCodeOf(e: unknown): string | undefined {
  const c = typeof e === "object" && e !== null ? (e as { code?: unknown }).code : undefined;
  return typeof c === "string" && /^E_[A-Z0-9_]{1,40}$/.test(c) ? c : undefined;
}

/** "127.0.0.1:40123" / "[::1]:40123" */
export function hostPort(p: IqConnectionPoint): string {
  return p.localAddress.includes(":") ? `[${p.localAddress}]:${p.localPort}` : `${p.localAddress}:${p.localPort}`;
}

/** A procedure bounded by `ms` (AgwPolicy.iqTimeoutMs): IqTimeout when late; a late answer goes to `onLate`. */
export function withTimeout<T>(ms: number, p: Promise<T>, onLate: (v: T) => void): Promise<T> {
  return new Promise<T>((resolve, reject) => {
    let done = false;
    const t = setTimeout(() => {
      done = true;
      reject(new IqTimeout(`no answer from the IMS-AGW within ${ms} ms`));
    }, ms);
    p.then(
      (v) => {
        if (done) onLate(v);
        else {
          done = true;
          clearTimeout(t);
          resolve(v);
        }
      },
      (e: unknown) => {
        if (done) return;
        done = true;
        clearTimeout(t);
        reject(e);
      },
    );
  });
}

/** The IqFailure an offer or answer reports for an error of its Iq procedures. */
export function failureOf(e: unknown, mline: number, clause: string): IqFailure {
  const err = e instanceof IqProcedureError ? e : new IqProcedureError("Iq", clause, e);
  return {
    code: err.timeout ? "E_ALG_IQ_TIMEOUT" : "E_ALG_IQ_FAILED",
    procedure: err.procedure,
    mline,
    agwCode: err.agwCode,
    message: err.message,
    clause: err.clause,
  };
}
