/**
 * The event-stream slots of the demo server (`GET /api/events`). A stream belongs to a client: the remote address
 * plus the page's own random id (`?client=`; streams without a valid id share one client per address). Policy:
 *
 * - per client at most `maxPerClient` streams: a new one ends that client's oldest (a page that reconnects replaces
 *   its previous stream);
 * - in all at most `maxTotal`: a new stream ends the oldest stale one, a stream whose socket is backpressured (the
 *   client does not read what we send: the write buffer is full, or `maxBufferedBytes` are unsent), or else the
 *   oldest one. A new page therefore always gets its stream; a 503 is never answered.
 * - a stream with twice `maxBufferedBytes` unsent is ended at the next write (memory bound).
 *
 * An ended stream gets `event: evicted` first, so the page stops reconnecting (a page evicted by a newer one does not
 * take the slot back in a loop).
 */
import type { ServerResponse } from "node:http";

export interface SseSlotsOptions {
  /** streams in all (default 16) */
  maxTotal?: number;
  /** streams per client (default 2) */
  maxPerClient?: number;
  /** unsent bytes after which a stream is stale; twice this ends it (default 256 KiB) */
  maxBufferedBytes?: number;
}

export type EvictReason = "same-client" | "stale" | "oldest" | "backpressure";

interface Slot {
  res: ServerResponse;
  client: string;
}

const CLIENT_ID = /^[A-Za-z0-9_-]{8,64}$/;

/** The client key of a stream: remote address + the page's id (or "-" when it sent none or an invalid one). */
export function clientKey(remote: string | undefined, id: string | null): string {
  return `${remote ?? "?"}|${id !== null && CLIENT_ID.test(id) ? id : "-"}`;
}

export class SseSlots {
  /** in opening order: the first is the oldest */
  private readonly slots: Slot[] = [];
  readonly maxTotal: number;
  readonly maxPerClient: number;
  private readonly maxBuffered: number;

  constructor(
    o: SseSlotsOptions = {},
    private readonly onEvict: (client: string, reason: EvictReason) => void = () => undefined,
  ) {
    this.maxTotal = Math.max(1, o.maxTotal ?? 16);
    this.maxPerClient = Math.max(1, o.maxPerClient ?? 2);
    this.maxBuffered = o.maxBufferedBytes ?? 256 * 1024;
  }

  get size(): number {
    return this.slots.length;
  }

  /** Clients currently holding a stream, oldest first (tests, diagnostics). */
  clients(): string[] {
    return this.slots.map((s) => s.client);
  }

  private stale(s: Slot): boolean {
    return s.res.writableNeedDrain || s.res.writableLength >= this.maxBuffered;
  }

  /** Makes room for a stream of `client` (ending others as the policy says), then holds it until `release`. */
  admit(res: ServerResponse, client: string): void {
    const mine = this.slots.filter((s) => s.client === client);
    for (let i = 0; i <= mine.length - this.maxPerClient; i++) {
      const s = mine[i];
      if (s) this.evict(s, "same-client");
    }
    while (this.slots.length >= this.maxTotal) {
      const stale = this.slots.find((s) => this.stale(s));
      const victim = stale ?? this.slots[0];
      if (!victim) break;
      this.evict(victim, stale ? "stale" : "oldest");
    }
    this.slots.push({ res, client });
  }

  /** Forgets a stream (its connection closed). */
  release(res: ServerResponse): void {
    const i = this.slots.findIndex((s) => s.res === res);
    if (i >= 0) this.slots.splice(i, 1);
  }

  /** Writes to every stream; a stream far behind (the client stopped reading) is ended instead. */
  write(chunk: string): void {
    for (const s of [...this.slots]) {
      if (s.res.writableLength >= 2 * this.maxBuffered) this.evict(s, "backpressure");
      else s.res.write(chunk);
    }
  }

  private evict(s: Slot, reason: EvictReason): void {
    this.release(s.res);
    this.onEvict(s.client, reason);
    // W3C HTML §9.2 (server-sent events): a named event, dispatched as "evicted" to the page's EventSource
    if (!s.res.writableEnded) s.res.end(`event: evicted\ndata: ${JSON.stringify({ reason })}\n\n`);
    // a client that does not read would keep the socket: it goes with the stream
    if (reason === "backpressure" || reason === "stale") s.res.destroy();
  }

  /** Ends every stream (server close). */
  closeAll(): void {
    for (const s of this.slots.splice(0)) s.res.end();
  }
}
