/**
 * The IMS-AGW engine: contexts of (at most two) terminations, the Iq procedures of TS 23.334 as methods, the TCP
 * establishment control of TR 29.828 §4.4.2 and the relay between the terminations of a context.
 *
 * The object itself is the in-process Iq binding (it implements `IqAgw`); `IqWsServer` exposes the same object
 * over a WebSocket, and `IqWsClient` implements the same interface on the IMS-ALG side.
 */
import { AuditLog, type Logger, silentLogger } from "../../log.ts";
import { generateSessionCertificate, type SessionCertificate } from "../../security/certificate.ts";
import { AddressPolicy } from "./addressPolicy.ts";
import { type AgwResources, type ContextView, DEFAULT_TIMERS, type ImsAgwOptions } from "./agwTypes.ts";
import { TlsContextPool, TlsCredential } from "./credential.ts";
import { AgwError } from "./iqErrors.ts";
import type { IqEvent, IqEventListener } from "./iqEvents.ts";
import { IqListeners } from "./iqListeners.ts";
import type {
  AgwConnectionPoint,
  ConfigureAgwConnectionPointRequest,
  IqAgw,
  ReleaseAgwConnectionPointRequest,
  ReleaseAgwConnectionPointResponse,
  ReleaseAgwContextRequest,
  ReleaseAgwContextResponse,
  ReserveAgwConnectionPointRequest,
  ReserveAndConfigureAgwConnectionPointRequest,
  TerminationSide,
} from "./iqTypes.ts";
import {
  parseConfigureRequest,
  parseReleaseContextRequest,
  parseReleaseRequest,
  parseReserveAndConfigureRequest,
  parseReserveRequest,
} from "./iqValidate.ts";
import { Relay, type RelayResult } from "./relay.ts";
import { Termination } from "./termination.ts";
import type { ResolvedTimers, TerminationHooks } from "./terminationTypes.ts";

export { type AgwResources, type ContextView, DEFAULT_TIMERS, type ImsAgwOptions } from "./agwTypes.ts";

interface Context {
  readonly id: string;
  readonly terminations: Map<string, Termination>;
  /** reservations in progress (a context holds at most two terminations) */
  reserving: number;
  interlinkage: boolean;
  relay: Relay | undefined;
}

const MAX_TERMINATIONS_PER_CONTEXT = 2;
const SHARED_CERTIFICATE_LIFETIME_MS = 86_400_000;

export class ImsAgw implements IqAgw {
  readonly audit: AuditLog;
  private readonly log: Logger;
  private readonly contexts = new Map<string, Context>();
  private readonly listeners: IqListeners;
  private nextContext = 1;
  private nextTermination = 1;
  private closed = false;
  /** terminations reserved or being reserved (maxTerminations) */
  private terminationCount = 0;
  /** TLS handshakes in progress (maxHandshakes) */
  private handshakes = 0;
  /** rate limit of warn lines per code under a flood (one per second, with the count suppressed) */
  private readonly warned = new Map<string, { at: number; suppressed: number }>();
  private readonly opts: Required<
    Pick<
      ImsAgwOptions,
      | "accessAddress"
      | "coreAddress"
      | "tcpEstablishmentInterlinkage"
      | "maxContexts"
      | "maxTerminations"
      | "maxHandshakes"
      | "keepAliveMs"
      | "maxParkedPerTermination"
      | "maxCandidatesPerTermination"
      | "highWaterMark"
      | "halfCloseMs"
      | "tlsMinVersion"
    >
  >;
  private readonly timers: ResolvedTimers;
  private readonly certificateFactory: () => SessionCertificate;
  private readonly certificateScope: "termination" | "agw";
  private shared: { credential: TlsCredential; created: number } | undefined;
  /** the one native TLS context of every termination, whatever its certificate (credential.ts) */
  private readonly tlsContexts: TlsContextPool;
  private readonly addresses: AddressPolicy;

  constructor(options: ImsAgwOptions = {}) {
    this.log = (options.logger ?? silentLogger).child({ node: "agw" });
    this.listeners = new IqListeners(this.log);
    this.audit = options.audit ?? new AuditLog();
    const maxContexts = options.maxContexts ?? 10_000;
    this.opts = {
      accessAddress: options.accessAddress ?? "127.0.0.1",
      coreAddress: options.coreAddress ?? "127.0.0.1",
      tcpEstablishmentInterlinkage: options.tcpEstablishmentInterlinkage ?? true,
      maxContexts,
      maxTerminations: options.maxTerminations ?? 2 * maxContexts,
      maxHandshakes: options.maxHandshakes ?? 256,
      keepAliveMs: options.keepAliveMs ?? 30_000,
      maxParkedPerTermination: options.maxParkedPerTermination ?? 4,
      maxCandidatesPerTermination: options.maxCandidatesPerTermination ?? 4,
      highWaterMark: options.highWaterMark ?? 256 * 1024,
      halfCloseMs: options.halfCloseMs ?? 30_000,
      tlsMinVersion: options.tlsMinVersion ?? "TLSv1.2",
    };
    this.addresses = new AddressPolicy({
      accessAddress: this.opts.accessAddress,
      coreAddress: this.opts.coreAddress,
      accessNetworks: options.accessNetworks,
      coreNetworks: options.coreNetworks,
    });
    this.timers = { ...DEFAULT_TIMERS, ...(options.timers ?? {}) };
    this.certificateFactory = options.certificateFactory ?? (() => generateSessionCertificate());
    this.certificateScope = options.certificateScope ?? "termination";
    this.tlsContexts = new TlsContextPool(this.opts.tlsMinVersion);
  }

  // -------------------------------------------------------------------------------------------------------------
  // Iq procedures
  // -------------------------------------------------------------------------------------------------------------

  async reserveAgwConnectionPoint(req: ReserveAgwConnectionPointRequest): Promise<AgwConnectionPoint> {
    const r = parseReserveRequest(req);
    return this.reserve(r, undefined);
  }

  async reserveAndConfigureAgwConnectionPoint(
    req: ReserveAndConfigureAgwConnectionPointRequest,
  ): Promise<AgwConnectionPoint> {
    const r = parseReserveAndConfigureRequest(req);
    return this.reserve(r, r);
  }

  async configureAgwConnectionPoint(req: ConfigureAgwConnectionPointRequest): Promise<AgwConnectionPoint> {
    this.assertOpen();
    const r = parseConfigureRequest(req);
    const { ctx, t } = this.find(r.contextId, r.terminationId);
    if (r.remote?.address !== undefined) this.checkRemote(t.side, r.remote.address, ctx.id);
    if (r.tcpEstablishmentInterlinkage !== undefined) ctx.interlinkage = r.tcpEstablishmentInterlinkage;
    const { contextId: _c, terminationId: _t, tcpEstablishmentInterlinkage: _i, ...rest } = r;
    t.configure(rest);
    this.log.debug({ contextId: ctx.id, terminationId: t.id, state: t.state }, "configured");
    return t.point();
  }

  async releaseAgwConnectionPoint(req: ReleaseAgwConnectionPointRequest): Promise<ReleaseAgwConnectionPointResponse> {
    const r = parseReleaseRequest(req);
    const { ctx, t } = this.find(r.contextId, r.terminationId);
    const statistics = await this.releaseTermination(ctx, t);
    return { contextId: ctx.id, terminationId: t.id, statistics };
  }

  async releaseAgwContext(req: ReleaseAgwContextRequest): Promise<ReleaseAgwContextResponse> {
    const r = parseReleaseContextRequest(req);
    const ctx = this.contexts.get(r.contextId);
    if (!ctx) throw new AgwError("E_AGW_UNKNOWN_CONTEXT", `no context ${r.contextId}`);
    const terminations = await Promise.all(
      [...ctx.terminations.values()].map(async (t) => ({
        contextId: ctx.id,
        terminationId: t.id,
        statistics: await this.releaseTermination(ctx, t),
      })),
    );
    this.contexts.delete(ctx.id);
    return { contextId: ctx.id, terminations };
  }

  onEvent(listener: IqEventListener): () => void {
    return this.listeners.on("event", listener);
  }

  /** Releases every context and stops accepting requests. */
  async close(): Promise<void> {
    if (this.closed) return;
    this.closed = true;
    await Promise.all([...this.contexts.values()].map((c) => this.releaseAgwContext({ contextId: c.id })));
    this.listeners.removeAllListeners();
  }

  /** Operational view of a context (not an Iq procedure): states and bytes buffered in the AGW per leg. */
  inspectContext(contextId: string): ContextView | undefined {
    const ctx = this.contexts.get(contextId);
    if (!ctx) return undefined;
    return {
      contextId: ctx.id,
      interlinkage: ctx.interlinkage,
      relaying: ctx.relay !== undefined,
      terminations: [...ctx.terminations.values()].map((t) => {
        const s = t.readyStream;
        return {
          terminationId: t.id,
          side: t.side,
          transport: t.transport,
          state: t.state,
          localPort: t.localPort,
          writableLength: s?.writableLength ?? 0,
          readableLength: s?.readableLength ?? 0,
        };
      }),
    };
  }

  hasContext(contextId: string): boolean {
    return this.contexts.has(contextId);
  }

  /** Terminations of a context, reserved or being reserved (0 for an unknown context): per-controller quotas. */
  terminationsIn(contextId: string): number {
    const ctx = this.contexts.get(contextId);
    return ctx ? ctx.terminations.size + ctx.reserving : 0;
  }

  /** Number of contexts (informative). */
  get contextCount(): number {
    return this.contexts.size;
  }

  /** Everything the AGW holds right now; all zero once every context is released. */
  resources(): AgwResources {
    const r: AgwResources = {
      contexts: this.contexts.size,
      terminations: this.terminationCount,
      handshakes: this.handshakes,
      relays: 0,
      sockets: 0,
      listeners: 0,
      parked: 0,
      candidates: 0,
      timers: 0,
    };
    for (const ctx of this.contexts.values()) {
      if (ctx.relay?.active) r.relays++;
      for (const t of ctx.terminations.values()) {
        const x = t.resources;
        r.sockets += x.sockets;
        if (x.listening) r.listeners++;
        r.parked += x.parked;
        r.candidates += x.candidates;
        r.timers += x.timers;
      }
    }
    return r;
  }

  // -------------------------------------------------------------------------------------------------------------
  // Internals
  // -------------------------------------------------------------------------------------------------------------

  private assertOpen(): void {
    if (this.closed) throw new AgwError("E_AGW_CLOSED", "the AGW is closed");
  }

  private find(contextId: string, terminationId: string): { ctx: Context; t: Termination } {
    const ctx = this.contexts.get(contextId);
    if (!ctx) throw new AgwError("E_AGW_UNKNOWN_CONTEXT", `no context ${contextId}`);
    const t = ctx.terminations.get(terminationId);
    if (!t) throw new AgwError("E_AGW_UNKNOWN_TERMINATION", `no termination ${terminationId} in ${contextId}`);
    return { ctx, t };
  }

  private async reserve(
    r: ReserveAgwConnectionPointRequest,
    rc: ReserveAndConfigureAgwConnectionPointRequest | undefined,
  ): Promise<AgwConnectionPoint> {
    this.assertOpen();
    // the address policy first: a refused request leaves nothing behind
    const localAddress = r.localAddress ?? (r.side === "access" ? this.opts.accessAddress : this.opts.coreAddress);
    const why = this.addresses.localRefusal(r.side, localAddress);
    if (why !== undefined) throw this.addressRefusal("local", r.side, localAddress, why, r.contextId);
    if (rc?.remote.address !== undefined) this.checkRemote(r.side, rc.remote.address, r.contextId);
    let ctx: Context;
    let created = false;
    if (r.contextId !== undefined) {
      const existing = this.contexts.get(r.contextId);
      if (!existing) throw new AgwError("E_AGW_UNKNOWN_CONTEXT", `no context ${r.contextId}`);
      if (existing.terminations.size + existing.reserving >= MAX_TERMINATIONS_PER_CONTEXT) {
        throw new AgwError("E_AGW_CONTEXT_FULL", `context ${existing.id} already has two terminations`);
      }
      ctx = existing;
      if (this.terminationCount >= this.opts.maxTerminations) {
        throw this.limitRefusal("maxTerminations", this.opts.maxTerminations, r);
      }
    } else {
      if (this.terminationCount >= this.opts.maxTerminations) {
        throw this.limitRefusal("maxTerminations", this.opts.maxTerminations, r);
      }
      if (this.contexts.size >= this.opts.maxContexts) {
        throw this.limitRefusal("maxContexts", this.opts.maxContexts, r);
      }
      // H.248 "Context Request" ($): a new context
      ctx = {
        id: `C${this.nextContext++}`,
        terminations: new Map(),
        reserving: 0,
        interlinkage: this.opts.tcpEstablishmentInterlinkage,
        relay: undefined,
      };
      this.contexts.set(ctx.id, ctx);
      created = true;
    }
    if (r.tcpEstablishmentInterlinkage !== undefined) ctx.interlinkage = r.tcpEstablishmentInterlinkage;
    if (rc?.tcpConnect) {
      const port = rc.remote.port;
      if (rc.remote.address === undefined || port === undefined || port === 0 || port === 9) {
        if (created) this.contexts.delete(ctx.id);
        throw new AgwError("E_AGW_INVALID_PARAM", "tcpConnect needs a remote address and port (not 0 or 9)");
      }
    }
    const isTls = r.transport.includes("TLS");
    let credential: TlsCredential | undefined;
    if (isTls) {
      try {
        credential = this.credentialForNewTermination();
      } catch (cause) {
        if (created) this.contexts.delete(ctx.id);
        throw new AgwError("E_AGW_CERT", "certificate generation failed", { cause });
      }
    }
    const terminationId = `T${this.nextTermination++}`;
    ctx.reserving++;
    this.terminationCount++;
    let t: Termination;
    try {
      t = await Termination.create({
        contextId: ctx.id,
        terminationId,
        side: r.side,
        transport: r.transport,
        localAddress,
        localPort: r.localPort ?? 0,
        tcpEstablishment: r.tcpEstablishment ?? { mode: "immediate" }, // TR 29.828 §4.4.2.2: immediate is mandatory
        establishTlsSession: r.establishTlsSession ?? false,
        ...(r.tlsRole !== undefined ? { tlsRole: r.tlsRole } : {}),
        notifyTlsFailure: r.notifyTlsSessionEstablishmentFailureEvent ?? false,
        localFingerprintRequested: r.localCertificateFingerprintRequest ?? false,
        ...(rc?.acceptTcpOnlyFromRemote !== undefined ? { acceptTcpOnlyFromRemote: rc.acceptTcpOnlyFromRemote } : {}),
        ...(rc ? { remote: rc.remote } : {}),
        timers: { ...this.timers, ...(r.timers ?? {}) },
        maxParked: this.opts.maxParkedPerTermination,
        maxCandidates: this.opts.maxCandidatesPerTermination,
        highWaterMark: this.opts.highWaterMark,
        keepAliveMs: this.opts.keepAliveMs,
        ...(credential ? { credential } : {}),
        logger: this.log, // every line carries contextId/terminationId; no child logger per termination (memory)
        hooks: this.hooks,
      });
    } catch (e) {
      ctx.reserving--;
      this.terminationCount--;
      if (created && ctx.terminations.size === 0) this.contexts.delete(ctx.id);
      throw e;
    }
    ctx.reserving--;
    if (this.closed || !this.contexts.has(ctx.id)) {
      this.terminationCount--;
      await t.release();
      throw new AgwError("E_AGW_CLOSED", "the AGW closed or the context was released during the reservation");
    }
    ctx.terminations.set(t.id, t);
    this.log.debug(
      { contextId: ctx.id, terminationId: t.id, side: t.side, transport: t.transport, port: t.localPort },
      "reserved",
    );
    if (rc?.tcpConnect) t.connect("request"); // TR 29.828 §4.4.2.1.2 indication 2
    // Indication 3: the other termination may already carry a peer-opened connection.
    if (ctx.interlinkage) {
      for (const o of ctx.terminations.values()) {
        if (o !== t && o.hasConnection && !t.hasConnection && !t.peerIsActive) t.connect("interlinkage");
      }
    }
    return t.point();
  }

  /**
   * "agw" scope (an option): one certificate and one TLS context shared by all terminations, renewed daily; a
   * termination keeps the credential it was reserved with, so its signalled fingerprint never changes (RFC 8842 §3).
   * Each leg is still bound to its own session by the AGW's check of the peer certificate against that termination's
   * Remote certificate fingerprint before any byte is relayed (RFC 8122 §5.1, §6.2). "termination" scope (default): a fresh
   * ECDSA P-256 certificate per TLS termination (sessions are not linkable by the AGW certificate, which TLS 1.2 sends
   * in clear; one key generation per reservation, and a certificate and key per connection). Both scopes share one
   * native TLS context; each connection still gets its termination's certificate (`TlsContextPool`).
   */
  private credentialForNewTermination(): TlsCredential {
    if (this.certificateScope === "termination") {
      return new TlsCredential(this.certificateFactory(), this.tlsContexts, true);
    }
    const now = Date.now();
    if (!this.shared || now - this.shared.created > SHARED_CERTIFICATE_LIFETIME_MS) {
      this.shared = { credential: new TlsCredential(this.certificateFactory(), this.tlsContexts, false), created: now };
    }
    return this.shared.credential;
  }

  /** One hooks object for every termination (not a set of closures per termination: memory per idle leg). */
  private readonly hooks: TerminationHooks = this.makeHooks();

  private makeHooks(): TerminationHooks {
    return {
      emit: (e) => this.emit(e),
      audit: (e) => this.audit.record(e),
      tcpEstablished: (t, direction) => {
        // TR 29.828 §4.4.2.1.2 indication 3: a peer-opened connection triggers a SYN on the other termination,
        // unless that termination's peer is the active party (RFC 4145 §4: it will connect to us).
        const ctx = this.contexts.get(t.contextId);
        if (direction !== "incoming" || !ctx?.interlinkage) return;
        for (const o of ctx.terminations.values()) {
          if (o !== t && !o.hasConnection && !o.peerIsActive) o.connect("interlinkage");
        }
      },
      ready: (t) => {
        const ctx = this.contexts.get(t.contextId);
        if (ctx) this.maybeStartRelay(ctx);
      },
      disconnected: () => {},
      handshakesFull: () => this.handshakes >= this.opts.maxHandshakes,
      handshakeStarted: () => {
        this.handshakes++;
      },
      handshakeEnded: () => {
        this.handshakes--;
      },
      handshakeRefused: (t, peerAddress, peerPort) => {
        this.audit.record({
          node: "agw",
          decision: "handshake-limit",
          code: "E_AGW_HANDSHAKE_LIMIT",
          clause: "local policy (maxHandshakes): TLS work before peer authentication is bounded",
          contextId: t.contextId,
          terminationId: t.id,
          peerAddress,
          peerPort,
          limit: this.opts.maxHandshakes,
        });
        this.warnLimited(
          "E_AGW_HANDSHAKE_LIMIT",
          { contextId: t.contextId, terminationId: t.id, peerAddress, limit: this.opts.maxHandshakes },
          "TLS handshake limit reached: connection refused",
        );
      },
    };
  }

  /** An E_AGW_LIMIT refusal of a reservation: logged (rate-limited), audited, returned to be thrown. */
  private limitRefusal(limit: string, value: number, r: ReserveAgwConnectionPointRequest): AgwError {
    this.audit.record({
      node: "agw",
      decision: "limit",
      code: "E_AGW_LIMIT",
      // the IMS-ALG answers the session with 503 + Retry-After (RFC 3261 §21.5.4)
      clause: `local policy (${limit})`,
      limit,
      value,
      side: r.side,
      ...(r.contextId !== undefined ? { contextId: r.contextId } : {}),
    });
    this.warnLimited("E_AGW_LIMIT", { limit, value, side: r.side }, `${limit} reached: reservation refused`);
    return new AgwError(
      "E_AGW_LIMIT",
      `limit of ${value} ${limit === "maxContexts" ? "contexts" : "terminations"} reached`,
    );
  }

  private checkRemote(side: TerminationSide, address: string, contextId: string | undefined): void {
    const why = this.addresses.remoteRefusal(side, address);
    if (why !== undefined) throw this.addressRefusal("remote", side, address, why, contextId);
  }

  /** An E_AGW_ADDRESS_POLICY refusal: audited, logged (rate-limited), returned to be thrown. */
  private addressRefusal(
    which: "local" | "remote",
    side: TerminationSide,
    address: string,
    why: string,
    contextId: string | undefined,
  ): AgwError {
    this.audit.record({
      node: "agw",
      decision: "address-refused",
      code: "E_AGW_ADDRESS_POLICY",
      // TS 33.210 §5.6.1 (Za/Zb): the interfaces are protected by configuration; the relay stays in its networks
      clause: `local policy (${which === "local" ? `${side}Address` : `${side}Networks`}): ${which} address refused`,
      which,
      side,
      address: address.slice(0, 64),
      ...(contextId !== undefined ? { contextId } : {}),
    });
    this.warnLimited("E_AGW_ADDRESS_POLICY", { which, side, address: address.slice(0, 64) }, why);
    return new AgwError("E_AGW_ADDRESS_POLICY", why);
  }

  /** One warn line per code per second under a flood; the next line says how many were suppressed. */
  private warnLimited(code: string, fields: Record<string, unknown>, msg: string): void {
    const now = Date.now();
    const w = this.warned.get(code);
    if (w && now - w.at < 1000) {
      w.suppressed++;
      return;
    }
    this.log.warn({ code, ...fields, ...(w?.suppressed ? { suppressed: w.suppressed } : {}) }, msg);
    this.warned.set(code, { at: now, suppressed: 0 });
  }

  private maybeStartRelay(ctx: Context): void {
    if (ctx.relay) return;
    const terms = [...ctx.terminations.values()];
    if (terms.length !== 2) return;
    const [x, y] = terms;
    if (!x || !y) return;
    // access first, so statistics read naturally
    const [a, b] = x.side === "core" && y.side === "access" ? [y, x] : [x, y];
    const sa = a.readyStream;
    const sb = b.readyStream;
    if (!sa || !sb) return; // no byte flows before both legs are ready (TLS: fingerprint verified)
    const idles = [a.idleMs, b.idleMs].filter((v) => v > 0);
    const ra = a.readyRaw;
    const rb = b.readyRaw;
    const relay = new Relay(
      sa,
      sb,
      {
        idleMs: idles.length ? Math.min(...idles) : 0,
        halfCloseMs: this.opts.halfCloseMs,
        ...(ra ? { rawA: ra } : {}),
        ...(rb ? { rawB: rb } : {}),
      },
      (res) => this.onRelayEnd(ctx, a, b, res),
    );
    ctx.relay = relay;
    a.relayStarted();
    b.relayStarted();
    this.log.info({ contextId: ctx.id, a: a.id, b: b.id }, "relay started");
    this.emit({ event: "relayStarted", contextId: ctx.id, terminationId: a.id, peerTerminationId: b.id });
    this.emit({ event: "relayStarted", contextId: ctx.id, terminationId: b.id, peerTerminationId: a.id });
    relay.start();
  }

  private onRelayEnd(ctx: Context, a: Termination, b: Termination, res: RelayResult): void {
    ctx.relay = undefined;
    a.relayEnded(res.a);
    b.relayEnded(res.b);
    this.log.info({ contextId: ctx.id, reason: res.reason, error: res.error, a: res.a, b: res.b }, "relay ended");
    if (res.reason === "idle-timeout") {
      this.emit({ event: "idleTimeout", contextId: ctx.id, terminationId: a.id });
      this.emit({ event: "idleTimeout", contextId: ctx.id, terminationId: b.id });
    }
    const base = {
      event: "relayEnded",
      contextId: ctx.id,
      reason: res.reason,
      ...(res.endedBy !== undefined ? { endedBy: res.endedBy === "a" ? a.id : b.id } : {}),
      ...(res.cause !== undefined ? { cause: res.cause } : {}),
      ...(res.error !== undefined ? { detail: res.error } : {}),
    } as const;
    this.emit({ ...base, terminationId: a.id, peerTerminationId: b.id, statistics: res.a });
    this.emit({ ...base, terminationId: b.id, peerTerminationId: a.id, statistics: res.b });
  }

  private async releaseTermination(ctx: Context, t: Termination) {
    if (ctx.relay) ctx.relay.destroy("released");
    if (ctx.terminations.delete(t.id)) this.terminationCount--;
    const stats = await t.release();
    if (ctx.terminations.size === 0 && ctx.reserving === 0) this.contexts.delete(ctx.id);
    return stats;
  }

  private emit(e: IqEvent): void {
    this.log.debug({ ...e }, `event ${e.event}`);
    this.listeners.emit("event", e);
  }
}
