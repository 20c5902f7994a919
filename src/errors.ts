/**
 * Base class of every error this project throws on purpose. `code` is stable (documented in README) and is what
 * callers, tests and the CLI switch on; `message` is for humans and may change.
 */
export class ImsdcError extends Error {
  readonly code: string;
  override readonly cause?: unknown;

  constructor(code: string, message: string, options?: { cause?: unknown }) {
    super(message);
    this.name = new.target.name;
    this.code = code;
    if (options?.cause !== undefined) this.cause = options.cause;
  }

  toJSON(): { name: string; code: string; message: string } {
    return { name: this.name, code: this.code, message: this.message };
  }
}

/** True when `e` is one of ours, optionally with a given code. */
export function isImsdcError(e: unknown, code?: string): e is ImsdcError {
  return e instanceof ImsdcError && (code === undefined || e.code === code);
}

/**
 * Rejects with `onTimeout(ms)` when `p` does not settle within `ms` (`ms` ≤ 0 or NaN: no bound). The timer never
 * keeps the process alive and is cleared as soon as `p` settles. The one deadline helper of src/, test/ and bench/.
 */
export function deadline<T>(p: Promise<T>, ms: number, onTimeout: (ms: number) => Error): Promise<T> {
  if (!(ms > 0)) return p;
  return new Promise<T>((resolve, reject) => {
    const t = setTimeout(() => reject(onTimeout(ms)), ms);
    t.unref?.();
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
