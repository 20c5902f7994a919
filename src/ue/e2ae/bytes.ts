/** A growable byte queue for stream framing (amortised O(n) appends, no per-read concatenation). */
import { randomBytes } from "node:crypto";

export class ByteQueue {
  private buf: Buffer;
  private head = 0;
  private tail = 0;

  constructor(initial = 4096) {
    this.buf = Buffer.allocUnsafe(initial);
  }

  get length(): number {
    return this.tail - this.head;
  }

  append(data: Uint8Array): void {
    if (data.length === 0) return;
    if (this.tail + data.length > this.buf.length) {
      const live = this.length;
      if (live + data.length <= this.buf.length && this.head > 0) {
        this.buf.copy(this.buf, 0, this.head, this.tail);
      } else {
        let cap = this.buf.length;
        while (cap < live + data.length) cap *= 2;
        const next = Buffer.allocUnsafe(cap);
        this.buf.copy(next, 0, this.head, this.tail);
        this.buf = next;
      }
      this.head = 0;
      this.tail = live;
    }
    this.buf.set(data, this.tail);
    this.tail += data.length;
  }

  /** A view of the queued bytes (valid until the next append/consume). */
  view(): Buffer {
    return this.buf.subarray(this.head, this.tail);
  }

  /** Drops `n` bytes from the front. */
  consume(n: number): void {
    this.head = Math.min(this.tail, this.head + n);
    if (this.head === this.tail) {
      this.head = 0;
      this.tail = 0;
    }
  }

  clear(): void {
    this.head = 0;
    this.tail = 0;
  }
}

const ALNUM = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789";

/** `n` random alphanumeric characters (unbiased: 62 * 4 = 248 < 256, rejection above). */
export function randomAlnum(n: number): string {
  let out = "";
  while (out.length < n) {
    for (const b of randomBytes(n * 2)) {
      if (b < 248) out += ALNUM[b % 62];
      if (out.length === n) break;
    }
  }
  return out;
}
