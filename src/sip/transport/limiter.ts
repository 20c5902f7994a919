/**
 * Admission and eviction of stream connections (TCP, WS, and the TLS listeners to come): one `ConnectionLimiter` per
 * stream transport, one `Slot` per socket it holds (inbound from accept, outbound from connect).
 *
 * - **Per-source cap.** At most `maxConnectionsPerSource` inbound sockets per source IP: one address cannot take the
 *   table (RFC 3261 §26.3.2.4: a proxy must guard against denial of service).
 * - **Eviction under pressure.** When the table is near full (`EVICT_RATIO` of `maxConnections`), each new inbound
 *   socket evicts the least recently active *idle* one: not a registered flow (RFC 5626 §5.2: the P-CSCF's route to a
 *   UE), not carrying a transaction (a request either way still waiting for its final response, within 64·T1 of its
 *   last traffic, RFC 3261 §17.1.2.2 Timer F), and quiet for `evictIdleMs`. Full and nothing evictable: refused.
 * - **Two idle timeouts.** A registered flow and an outbound connection live `idleTimeoutMs` without traffic; an
 *   inbound connection that never carried an accepted registration only `unregisteredIdleTimeoutMs` (unless a
 *   transaction is in progress on it).
 * - **Typed refusals and counters.** Every refusal closes the socket, is logged with its code (E_SIP_SOURCE_LIMIT /
 *   E_SIP_CONNECTION_LIMIT) and reported to `onRefused` (the layer turns it into an audit event); `stats()` counts
 *   admissions, refusals by reason, evictions and idle closes.
 */
import type { Logger } from "../../log.ts";
import type { SipErrorCode } from "../errors.ts";
import { bareHost, type SipEndpoint, type TransportLimits } from "./types.ts";

/** Why an inbound connection was refused at accept. */
export type ConnectionRefusalReason =
  /** the source IP already holds `maxConnectionsPerSource` connections */
  | "per-source"
  /** the table holds `maxConnections` and none of them is idle enough to evict */
  | "global"
  /** the transport is closing */
  | "closed";

/** One refused connection, as `SipTransportLayer.onConnectionRefused` reports it. */
export interface ConnectionRefusedInfo {
  transport: string;
  remote: SipEndpoint;
  reason: ConnectionRefusalReason;
  code: SipErrorCode;
  /** the limit that was hit */
  limit: number;
  /** connections held at the time: from that source ("per-source"), in the table (otherwise) */
  open: number;
}

/** Counters of one limiter (`SipTransportLayer.connectionStats()`). */
export interface ConnectionLimiterStats {
  /** sockets held now (inbound and outbound) */
  open: number;
  /** distinct source IPs with inbound sockets now */
  sources: number;
  /** the most inbound sockets one source IP holds now */
  maxFromOneSource: number;
  /** registered flows held now */
  flows: number;
  accepted: number;
  refused: Record<ConnectionRefusalReason, number>;
  /** idle connections closed to make room (the table was near full) */
  evicted: number;
  /** connections closed by the idle timeout: registered flows / outbound (long), unregistered inbound (short) */
  idleClosed: { long: number; unregistered: number };
}

/** Part of the table from which each new inbound connection evicts an idle one. */
const EVICT_RATIO = 7 / 8;
/** RFC 3261 §17.1.2.2: Timer F = 64·T1 (T1 = 500 ms), the longest a non-INVITE transaction waits for its final answer. */
const TRANSACTION_MS = 64 * 500;

/** One socket the limiter counts. The transport sets `evict` (close it with reason "evicted"). */
export interface Slot {
  readonly id: number;
  /** source IP (inbound) or peer IP (outbound), bare form */
  readonly ip: string;
  readonly inbound: boolean;
  /** last traffic either way (performance.now()) */
  lastActivity: number;
  /** requests received on it that still wait for our final response */
  owed: number;
  /** requests we sent on it that still wait for a final response */
  awaiting: number;
  /** an accepted registration runs over it (RFC 5626 flow) */
  registered: boolean;
  /** the peer closed its side (TCP FIN): it only carries the responses it is owed */
  halfClosed: boolean;
  released: boolean;
  evict: () => void;
  idleTimer?: NodeJS.Timeout | undefined;
}

/** What a message is, from its first bytes only (no parse): a slot counts the transactions it carries. */
export function messageKind(b: Uint8Array): "request" | "ack" | "provisional" | "final" {
  // "SIP/2.0 " then the status code
  if (b[0] === 0x53 && b[1] === 0x49 && b[2] === 0x50 && b[3] === 0x2f && b[7] === 0x20) {
    return b[8] === 0x31 ? "provisional" : "final";
  }
  return b[0] === 0x41 && b[1] === 0x43 && b[2] === 0x4b && b[3] === 0x20 ? "ack" : "request";
}

type LimiterLimits = Pick<
  TransportLimits,
  "maxConnections" | "maxConnectionsPerSource" | "idleTimeoutMs" | "unregisteredIdleTimeoutMs" | "evictIdleMs"
>;

export class ConnectionLimiter {
  private seq = 0;
  private readonly slots = new Set<Slot>();
  private readonly perSource = new Map<string, number>();
  private readonly counters = {
    accepted: 0,
    refused: { "per-source": 0, global: 0, closed: 0 } as Record<ConnectionRefusalReason, number>,
    evicted: 0,
    idleClosed: { long: 0, unregistered: 0 },
  };

  constructor(
    private readonly protocol: string,
    private readonly limits: LimiterLimits,
    private readonly log: Logger,
    private readonly onRefused?: (info: ConnectionRefusedInfo) => void,
  ) {}

  get size(): number {
    return this.slots.size;
  }

  /** Inbound sockets from one source IP now. */
  fromSource(ip: string): number {
    return this.perSource.get(bareHost(ip)) ?? 0;
  }

  /**
   * Admission of an inbound socket from `host:port`; `extra` = connections the table holds besides the slots (outbound
   * connects in progress). A slot, or undefined when refused (logged, counted, reported: the caller closes the socket).
   */
  admit(host: string, port: number, extra = 0, closing = false): Slot | undefined {
    const ip = bareHost(host);
    if (closing) return this.refuse(ip, port, "closed", 0, this.slots.size);
    const mine = this.perSource.get(ip) ?? 0;
    if (mine >= this.limits.maxConnectionsPerSource)
      return this.refuse(ip, port, "per-source", this.limits.maxConnectionsPerSource, mine);
    const max = this.limits.maxConnections;
    // near full: make room by evicting the idlest connection, so the table never fills with idle ones
    if (this.slots.size + extra >= Math.max(1, Math.floor(max * EVICT_RATIO))) this.evictOne();
    if (this.slots.size + extra >= max) return this.refuse(ip, port, "global", max, this.slots.size + extra);
    this.counters.accepted++;
    this.perSource.set(ip, mine + 1);
    return this.add(ip, true);
  }

  /** An outbound socket (we connected): counted in the table, never refused here (see `canConnect`). */
  outbound(host: string): Slot {
    return this.add(bareHost(host), false);
  }

  /** Whether one more outbound connection fits (evicting an idle one if the table is full). */
  canConnect(extra = 0): boolean {
    if (this.slots.size + extra < this.limits.maxConnections) return true;
    this.evictOne();
    return this.slots.size + extra < this.limits.maxConnections;
  }

  private add(ip: string, inbound: boolean): Slot {
    const slot: Slot = {
      id: ++this.seq,
      ip,
      inbound,
      lastActivity: performance.now(),
      owed: 0,
      awaiting: 0,
      registered: false,
      halfClosed: false,
      released: false,
      evict: () => undefined,
    };
    this.slots.add(slot);
    return slot;
  }

  private refuse(ip: string, port: number, reason: ConnectionRefusalReason, limit: number, open: number): undefined {
    this.counters.refused[reason]++;
    const code: SipErrorCode = reason === "per-source" ? "E_SIP_SOURCE_LIMIT" : "E_SIP_CONNECTION_LIMIT";
    if (reason !== "closed") {
      this.log.warn(
        { code, reason, remote: `${ip}:${port}`, limit, open, transport: this.protocol },
        `sip ${this.protocol.toLowerCase()}: connection refused (${reason} limit)`,
      );
    }
    try {
      this.onRefused?.({ transport: this.protocol, remote: { host: ip, port }, reason, code, limit, open });
    } catch (e) {
      this.log.error({ err: e }, "sip: connection-refused handler failed");
    }
    return undefined;
  }

  /** Frees a slot (the socket closed); idempotent. */
  release(slot: Slot): void {
    if (slot.released) return;
    slot.released = true;
    if (slot.idleTimer !== undefined) clearTimeout(slot.idleTimer);
    slot.idleTimer = undefined;
    this.slots.delete(slot);
    if (!slot.inbound) return;
    const n = (this.perSource.get(slot.ip) ?? 1) - 1;
    if (n <= 0) this.perSource.delete(slot.ip);
    else this.perSource.set(slot.ip, n);
  }

  /** A slot carries a transaction: a request either way still waits for its final response, recently. */
  busy(slot: Slot, now = performance.now()): boolean {
    return (slot.owed > 0 || slot.awaiting > 0) && now - slot.lastActivity < TRANSACTION_MS;
  }

  /** Evicts the least recently active idle slot, if any; true when one was evicted. */
  private evictOne(): boolean {
    const now = performance.now();
    let victim: Slot | undefined;
    for (const s of this.slots) {
      if (s.registered || this.busy(s, now) || now - s.lastActivity < this.limits.evictIdleMs) continue;
      if (!victim || s.lastActivity < victim.lastActivity) victim = s;
    }
    if (!victim) return false;
    this.counters.evicted++;
    this.log.info(
      {
        code: "E_SIP_EVICTED",
        remote: victim.ip,
        inbound: victim.inbound,
        idleMs: Math.round(now - victim.lastActivity),
        open: this.slots.size,
        transport: this.protocol,
      },
      `sip ${this.protocol.toLowerCase()}: table near full, evicting the idlest connection`,
    );
    const evict = victim.evict;
    this.release(victim);
    try {
      evict();
    } catch (e) {
      this.log.error({ err: e }, "sip: eviction failed");
    }
    return true;
  }

  /** Traffic on a slot: a message in (`received`) or out, counted by kind for `busy`. */
  note(slot: Slot, bytes: Uint8Array | undefined, received: boolean): void {
    slot.lastActivity = performance.now();
    if (!bytes) return;
    const kind = messageKind(bytes);
    if (kind === "request") {
      if (received) slot.owed++;
      else slot.awaiting++;
    } else if (kind === "final") {
      if (received) slot.awaiting = Math.max(0, slot.awaiting - 1);
      else slot.owed = Math.max(0, slot.owed - 1);
    }
  }

  /** A request received on the slot will never be answered (the layer dropped it): it no longer counts as owed. */
  settle(slot: Slot): void {
    slot.owed = Math.max(0, slot.owed - 1);
  }

  /** Marks (or unmarks) a slot as a registered flow: kept under pressure, long idle timeout. */
  setRegistered(slot: Slot, registered: boolean): void {
    slot.registered = registered;
  }

  /** The idle timeout that applies to a slot now. */
  idleTimeoutFor(slot: Slot): number {
    const long = this.limits.idleTimeoutMs;
    // RFC 3261 §17.1.2.2: a half-closed connection waits for its owed responses no longer than a transaction lives
    if (slot.halfClosed) return Math.min(long, TRANSACTION_MS);
    if (!slot.inbound || slot.registered || this.busy(slot)) return long;
    return Math.min(long, this.limits.unregisteredIdleTimeoutMs);
  }

  /**
   * Arms the idle timer of a slot: when no traffic went either way for its idle timeout (re-read at expiry: it
   * shrinks or grows as the slot registers or carries transactions), `onIdle(timeoutMs)` closes it.
   */
  armIdle(slot: Slot, onIdle: (timeoutMs: number) => void): void {
    const check = () => {
      slot.idleTimer = undefined;
      if (slot.released) return;
      const timeout = this.idleTimeoutFor(slot);
      const left = slot.lastActivity + timeout - performance.now();
      if (left > 0) {
        // re-checked at least every short timeout: a flow that deregisters or a transaction that ends shortens it
        const short = Math.min(this.limits.idleTimeoutMs, this.limits.unregisteredIdleTimeoutMs);
        slot.idleTimer = setTimeout(check, Math.ceil(Math.min(left, short)));
        return;
      }
      if (timeout < this.limits.idleTimeoutMs) this.counters.idleClosed.unregistered++;
      else this.counters.idleClosed.long++;
      onIdle(timeout);
    };
    slot.idleTimer = setTimeout(check, this.idleTimeoutFor(slot));
  }

  stats(): ConnectionLimiterStats {
    let flows = 0;
    for (const s of this.slots) if (s.registered) flows++;
    let maxFromOneSource = 0;
    for (const n of this.perSource.values()) if (n > maxFromOneSource) maxFromOneSource = n;
    return {
      open: this.slots.size,
      sources: this.perSource.size,
      maxFromOneSource,
      flows,
      accepted: this.counters.accepted,
      refused: { ...this.counters.refused },
      evicted: this.counters.evicted,
      idleClosed: { ...this.counters.idleClosed },
    };
  }

  /** Stops every idle timer (the transport is closing). */
  clear(): void {
    for (const s of this.slots) {
      if (s.idleTimer !== undefined) clearTimeout(s.idleTimer);
      s.idleTimer = undefined;
    }
  }
}
