/**
 * TCP establishment control of one termination (TR 29.828 §4.4.2): the listener (indication 1), admission of incoming
 * connections in immediate or delayed mode (indication 4: drop or hold until Configure), the source filter
 * (indication 5) and the outgoing connection (indication 2, interlinkage indication 3).
 *
 *   incoming SYN ─┬─ immediate ──────────────────────────────────────┐
 *                 ├─ delayed/drop, not configured ─► RST (refused)  │
 *                 ├─ delayed/hold, not configured ─► parked unread ─┤ Configure (remote address)
 *                 └─ filtered source (indication 5) ─► RST          │
 *   outgoing SYN (indication 2 / interlinkage 3) ───────────────────┴─► adopted by the termination
 *
 * Nothing is read from a connection before it is adopted (listeners use `pauseOnConnect`). What happens to an adopted
 * connection (TLS, fingerprint, relay) is the termination's business.
 */
import net from "node:net";
import { AgwError } from "./iqErrors.ts";
import type { TcpRefusalReason } from "./iqEvents.ts";
import { type HighWaterMark, normalizeAddress, sameAddress } from "./sockets.ts";
import type { TerminationInit } from "./terminationTypes.ts";

const CLAUSE_DELAYED = "TR 29.828 §4.4.2.2 (delayed establishment), §4.4.2.1.2 indication 4";
const CLAUSE_FILTER = "TR 29.828 §4.4.2.1.2 indication 5; §4.4.2.2 NOTE 1";

/** Where the termination stands toward a new connection, and what it does with an admitted one. */
export interface EstablishmentHost {
  /** TLS transport: an incoming connection takes an AGW-wide handshake slot (maxHandshakes) */
  readonly isTls: boolean;
  /** "closed": a connection exists or the termination failed/was released; "gated": delayed mode before Configure */
  admission(): "closed" | "gated" | "open";
  /** The remote address and whether incoming connections are filtered on it (indication 5). */
  sourceFilter(): string | undefined;
  candidateCount(): number;
  /** An incoming connection was refused by the AGW-wide handshake bound. */
  handshakeRefused(peerAddress: string, peerPort: number): void;
  adopt(
    raw: net.Socket,
    direction: "incoming" | "outgoing",
    peerAddress: string,
    peerPort: number,
    trigger?: "request" | "interlinkage",
  ): void;
  track(s: net.Socket): void;
}

type Config = Pick<
  TerminationInit,
  | "contextId"
  | "terminationId"
  | "localAddress"
  | "tcpEstablishment"
  | "timers"
  | "maxParked"
  | "maxCandidates"
  | "highWaterMark"
  | "logger"
  | "hooks"
>;

export class Establishment {
  private server: net.Server | undefined;
  private readonly parked = new Map<net.Socket, NodeJS.Timeout | undefined>();
  private outgoing: { socket: net.Socket; timer: NodeJS.Timeout | undefined } | undefined;

  constructor(
    private readonly cfg: Config,
    private readonly host: EstablishmentHost,
  ) {}

  /** Parked connections, the listener and the armed timers (resource counters). */
  get counters(): { parked: number; listening: boolean; timers: number } {
    let timers = this.outgoing?.timer ? 1 : 0;
    for (const t of this.parked.values()) if (t) timers++;
    return { parked: this.parked.size, listening: this.server !== undefined, timers };
  }

  /** An outgoing connection attempt is in progress. */
  get dialing(): boolean {
    return this.outgoing !== undefined;
  }

  // -------------------------------------------------------------------------------------------------------------
  // Listening and incoming connections
  // -------------------------------------------------------------------------------------------------------------

  /** Binds the local transport address and listens at once (TR 29.828 §4.4.2.1.2 indication 1); the bound port. */
  async listen(port: number): Promise<number> {
    const { localAddress, highWaterMark } = this.cfg;
    // pauseOnConnect: not a byte is read from an accepted connection until we decide to adopt it
    const server = net.createServer({ pauseOnConnect: true, allowHalfOpen: true, noDelay: true, highWaterMark });
    server.on("connection", (raw) => this.onIncoming(raw));
    await new Promise<void>((resolve, reject) => {
      const onError = (e: NodeJS.ErrnoException) =>
        reject(new AgwError("E_AGW_BIND", `cannot bind ${localAddress}:${port}: ${e.code ?? e.message}`));
      server.once("error", onError);
      server.listen({ host: localAddress, port, backlog: 16, exclusive: true }, () => {
        server.off("error", onError);
        resolve();
      });
    });
    server.on("error", (e) =>
      this.cfg.logger.warn(
        { err: e.message, contextId: this.cfg.contextId, terminationId: this.cfg.terminationId },
        "listener error",
      ),
    );
    this.server = server;
    const addr = server.address();
    return addr && typeof addr === "object" ? addr.port : port;
  }

  private onIncoming(raw: net.Socket): void {
    raw.on("error", () => {}); // errors of a connection we have not adopted are of no interest
    const peerAddress = normalizeAddress(raw.remoteAddress ?? "");
    const peerPort = raw.remotePort ?? 0;
    const admission = this.host.admission();
    if (admission === "closed") {
      this.refuse(raw, peerAddress, peerPort, "duplicate");
      return;
    }
    if (admission === "gated") {
      if (this.cfg.tcpEstablishment.mode === "delayed" && this.cfg.tcpEstablishment.policy === "drop") {
        // TR 29.828 §4.4.2.1.2 indication 4: ignore any incoming SYN until configured (emulated: RST after accept)
        this.refuse(raw, peerAddress, peerPort, "delayed-not-configured", "connection-refused-delayed", CLAUSE_DELAYED);
      } else if (this.parked.size >= this.cfg.maxParked) {
        this.refuse(raw, peerAddress, peerPort, "limit");
      } else {
        this.park(raw, peerAddress, peerPort);
      }
      return;
    }
    this.admit(raw, peerAddress, peerPort);
  }

  /** Source filter, then adoption. */
  private admit(raw: net.Socket, peerAddress: string, peerPort: number): void {
    const remote = this.host.sourceFilter();
    if (remote !== undefined && !sameAddress(peerAddress, remote)) {
      // TR 29.828 §4.4.2.1.2 indication 5: accept TCP SYN only from the indicated remote address
      this.refuse(raw, peerAddress, peerPort, "source-filtered", "source-filtered", CLAUSE_FILTER, remote);
      return;
    }
    if (this.host.admission() === "closed") {
      this.refuse(raw, peerAddress, peerPort, "duplicate");
      return;
    }
    if (this.host.candidateCount() >= this.cfg.maxCandidates) {
      this.refuse(raw, peerAddress, peerPort, "limit");
      return;
    }
    const { hooks, contextId, terminationId } = this.cfg;
    if (this.host.isTls && hooks.handshakesFull()) {
      // local policy (maxHandshakes): bound the AGW-wide TLS work an unauthenticated peer can cause; RST, unread
      if (!raw.destroyed) raw.resetAndDestroy();
      this.host.handshakeRefused(peerAddress, peerPort);
      hooks.emit({
        event: "tcpConnectionRefused",
        contextId,
        terminationId,
        reason: "handshake-limit",
        code: "E_AGW_HANDSHAKE_LIMIT",
        peerAddress,
        peerPort,
      });
      return;
    }
    this.host.adopt(raw, "incoming", peerAddress, peerPort);
  }

  private refuse(
    raw: net.Socket,
    peerAddress: string,
    peerPort: number,
    reason: TcpRefusalReason,
    decision?: string,
    clause?: string,
    expectedAddress?: string,
  ): void {
    const { contextId, terminationId, hooks, tcpEstablishment } = this.cfg;
    if (!raw.destroyed) raw.resetAndDestroy();
    this.cfg.logger.debug({ contextId, terminationId, peerAddress, peerPort, reason }, "refused");
    if (decision && clause) {
      hooks.audit({
        node: "agw",
        decision,
        clause,
        contextId,
        terminationId,
        peerAddress,
        peerPort,
        ...(expectedAddress !== undefined ? { expectedAddress } : {}),
        policy: tcpEstablishment.mode === "delayed" ? tcpEstablishment.policy : "immediate",
      });
    }
    hooks.emit({ event: "tcpConnectionRefused", contextId, terminationId, reason, peerAddress, peerPort });
  }

  /** Editor's note "stored": the connection is kept at TCP level, nothing is read, until Configure decides. */
  private park(raw: net.Socket, peerAddress: string, peerPort: number): void {
    const holdMs = this.cfg.timers.holdMs;
    const timer =
      holdMs > 0
        ? setTimeout(() => {
            this.parked.delete(raw);
            this.refuse(raw, peerAddress, peerPort, "hold-timeout");
          }, holdMs)
        : undefined;
    this.parked.set(raw, timer);
    raw.once("close", () => {
      const t = this.parked.get(raw);
      if (t) clearTimeout(t);
      this.parked.delete(raw);
    });
    const { contextId, terminationId } = this.cfg;
    this.cfg.hooks.emit({ event: "tcpConnectionParked", contextId, terminationId, peerAddress, peerPort });
  }

  /** Delayed/hold: Configure arrived; parked connections are filtered by source and adopted or destroyed. */
  releaseParked(): void {
    const parked = [...this.parked.entries()];
    this.parked.clear();
    for (const [raw, timer] of parked) {
      clearTimeout(timer);
      if (raw.destroyed) continue;
      this.admit(raw, normalizeAddress(raw.remoteAddress ?? ""), raw.remotePort ?? 0);
    }
  }

  // -------------------------------------------------------------------------------------------------------------
  // Outgoing connection (indication 2, interlinkage indication 3)
  // -------------------------------------------------------------------------------------------------------------

  /** Sends a TCP SYN toward `host`:`port` (the termination checked that none is outstanding). */
  dial(host: string, port: number, trigger: "request" | "interlinkage"): void {
    const { contextId, terminationId, hooks } = this.cfg;
    const options: net.NetConnectOpts & HighWaterMark = {
      host,
      port,
      localAddress: this.cfg.localAddress,
      allowHalfOpen: true,
      noDelay: true,
      highWaterMark: this.cfg.highWaterMark,
    };
    const socket = net.connect(options);
    socket.pause(); // nothing flows before the leg is ready
    this.host.track(socket);
    const fail = (reason: string) => {
      if (this.outgoing?.socket !== socket) return;
      if (this.outgoing.timer) clearTimeout(this.outgoing.timer);
      this.outgoing = undefined;
      socket.destroy();
      hooks.emit({
        event: "tcpConnectFailure",
        contextId,
        terminationId,
        remoteAddress: host,
        remotePort: port,
        reason,
      });
    };
    const connectMs = this.cfg.timers.connectMs;
    const timer = connectMs > 0 ? setTimeout(() => fail("timeout"), connectMs) : undefined;
    this.outgoing = { socket, timer };
    socket.on("error", (e: NodeJS.ErrnoException) => fail(e.code ?? e.message));
    socket.once("connect", () => {
      if (this.outgoing?.socket !== socket) return;
      if (timer) clearTimeout(timer);
      this.outgoing = undefined;
      socket.removeAllListeners("error");
      socket.on("error", () => {});
      if (this.host.admission() === "closed") {
        socket.destroy();
        return;
      }
      this.host.adopt(socket, "outgoing", host, port, trigger);
    });
  }

  // -------------------------------------------------------------------------------------------------------------
  // Teardown
  // -------------------------------------------------------------------------------------------------------------

  /** One connection per termination (or none after a failure): stop accepting, drop parked and outgoing ones. */
  stop(): void {
    this.dropParked();
    this.dropOutgoing();
    const s = this.server;
    this.server = undefined;
    if (s) s.close();
  }

  /** Release: as `stop`, tracking the parked sockets so the release waits for them; resolves when the listener closed. */
  release(): Promise<void> {
    const server = this.server;
    this.server = undefined;
    const closed = server ? new Promise<void>((r) => server.close(() => r())) : Promise.resolve();
    for (const raw of this.parked.keys()) this.host.track(raw);
    this.dropParked();
    this.dropOutgoing();
    return closed;
  }

  private dropParked(): void {
    for (const [raw, t] of this.parked) {
      clearTimeout(t);
      raw.destroy();
    }
    this.parked.clear();
  }

  private dropOutgoing(): void {
    if (!this.outgoing) return;
    if (this.outgoing.timer) clearTimeout(this.outgoing.timer);
    this.outgoing.socket.destroy();
    this.outgoing = undefined;
  }
}
