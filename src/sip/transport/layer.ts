/**
 * The transport layer (RFC 3261 §18): owns the UDP, TCP, TLS, WS and WSS transports (buildTransports.ts), parses what they frame, answers
 * what cannot be parsed (400 with a Warning, 505, 413/513), stamps received/rport on inbound requests (§18.2.1,
 * RFC 3581 §4), checks the top Via of inbound responses (§18.1.2), and routes outbound responses (§18.2.2, RFC 3581
 * §4) and requests (reusing TCP/WS connections), and reports every closed TCP/WS connection
 * (`onConnectionClosed`, the flow-failure signal of RFC 5626 §4.4), and every refused one (`onConnectionRefused`,
 * an audit event when `audit` is given; limiter.ts). A connection over which a REGISTER got a 2xx becomes a registered
 * flow (kept under pressure, long idle timeout). Transactions talk to it through `TransactionTransport`.
 */
import type { AuditEvent, Logger } from "../../log.ts";
import { silentLogger } from "../../log.ts";
import { type PartialMessage, SipError, SipParseError } from "../errors.ts";
import { getParam, randomHex, setParam } from "../grammar.ts";
import { formatVia, parseVia, type Via } from "../headers.ts";
import {
  createResponse,
  generateTag,
  type SipHeader,
  type SipMessage,
  type SipRequest,
  type SipResponse,
} from "../message.ts";
import { findHeaderEnd, parseMessage, readPartial } from "../parse.ts";
import { answerableRows, errorResponseFor } from "../reply.ts";
import { buildTransports } from "./buildTransports.ts";
import { type ConnectionLimiterStats, type ConnectionRefusedInfo, messageKind } from "./limiter.ts";
import { defaultPort, responseTarget, viaTransport } from "./route.ts";
import type { SipTlsConfig } from "./tlsContext.ts";
import {
  bareHost,
  type ConnectionClosedInfo,
  type ConnectionClosedListener,
  DEFAULT_LIMITS,
  type SipEndpoint,
  type SipSource,
  type SipTarget,
  type SipTransport,
  type SipTransportProtocol,
  sipHost,
  type TlsRefusedInfo,
  type TransportHandlers,
  type TransportLimits,
} from "./types.ts";
import type { WsUpgradeCheck } from "./wsUpgrade.ts";

export interface ListenOptions {
  host?: string;
  /** 0 (default) picks a free port; the bound port is reported by address() */
  port?: number;
  /** false: no listening socket, outbound connections only (TCP, WS) */
  listen?: boolean;
}

export interface SipTransportLayerOptions {
  /** default listening host for all transports; default 127.0.0.1 */
  host?: string;
  udp?: boolean | ListenOptions;
  tcp?: boolean | ListenOptions;
  ws?: boolean | (ListenOptions & { path?: string });
  /** SIP over TLS (RFC 3261 §26.2; tls.ts); needs `tlsConfig` */
  tls?: boolean | ListenOptions;
  /** SIP over secure WebSocket (RFC 7118 §5, WSS; ws.ts); needs `tlsConfig` */
  wss?: boolean | (ListenOptions & { path?: string; verifyUpgrade?: WsUpgradeCheck });
  /** the credential and trust store of the TLS and WSS transports (tlsContext.ts) */
  tlsConfig?: SipTlsConfig;
  limits?: Partial<TransportLimits>;
  /**
   * Host written in Via sent-by and Contact. Default: the listening address; for a WebSocket client without a
   * listener, a random "<x>.invalid" name (RFC 7118 §5.2).
   */
  viaHost?: string;
  /** warn-agent of the Warning header in error answers (RFC 3261 §20.43); default the Via host */
  warningAgent?: string;
  /**
   * How much of each inbound message is validated before it is handed on (`ParseOptions.validate`): "full" (default)
   * answers 400 to any malformed header with a typed codec; "proxy" only to those a proxy reads, the others are
   * forwarded unchanged (RFC 3261 §16.3 item 1).
   */
  validate?: "full" | "proxy";
  /** RFC 3261 §18.1.2: drop responses whose top Via sent-by is not ours; default true */
  checkResponseVia?: boolean;
  logger?: Logger;
  /** where refused connections are recorded as audit events (decision "connection-refused") */
  audit?: { record(e: AuditEvent): void };
  /** `node` of those audit events; default "sip" */
  auditNode?: string;
}

const ignore = (): void => undefined;

export type ConnectionRefusedListener = (info: ConnectionRefusedInfo) => void;

/** The audit event of a refused connection (one per refusal, the node that refused it). */
export function connectionRefusedEvent(node: string, info: ConnectionRefusedInfo): AuditEvent {
  // RFC 3261 §26.3.2.4: refusals that protect the proxy from denial of service are security decisions
  return {
    node,
    decision: "connection-refused",
    clause: "RFC 3261 §26.3.2.4",
    transport: info.transport,
    remote: `${info.remote.host}:${info.remote.port}`,
    reason: info.reason,
    code: info.code,
    limit: info.limit,
    open: info.open,
  };
}

export { defaultPort, responseTarget, uriTarget, viaTransport } from "./route.ts";

/** What the transaction layer needs from a transport (a fake can implement it in unit tests). */
export interface TransactionTransport {
  sendRequest(req: SipRequest, target: SipTarget): Promise<SipSource>;
  sendResponse(res: SipResponse, source: SipSource | undefined): Promise<void>;
  /** sent-by for a Via we add on this transport (RFC 3261 §18.1.1) */
  localVia(transport: SipTransportProtocol): { transport: string; host: string; port: number | undefined };
  isReliable(transport: SipTransportProtocol): boolean;
  /** whether a transport is configured (for the RFC 3261 §18.1.1 switch to TCP) */
  hasTransport?(transport: SipTransportProtocol): boolean;
}

export type InboundListener = (message: SipMessage, source: SipSource) => void;

/**
 * Admission of an inbound request before it is parsed (responses are never gated): undefined passes it; "drop"
 * discards it unread; a refusal is answered statelessly from the request's readable rows (RFC 3261 §16.11 / §8.2.6)
 * and nothing else happens to it. A flood that is dropped here costs no parse.
 */
export type InboundGate = (
  source: SipSource,
  bytes: Uint8Array,
) => undefined | "drop" | { status: number; reason?: string; headers: SipHeader[] };

export class SipTransportLayer implements TransactionTransport {
  private readonly transports: Map<SipTransportProtocol, SipTransport>;
  private readonly listeners = new Set<InboundListener>();
  private readonly closedListeners = new Set<ConnectionClosedListener>();
  private readonly refusedListeners = new Set<ConnectionRefusedListener>();
  private readonly limits: TransportLimits;
  private readonly log: Logger;
  private readonly viaHosts = new Map<SipTransportProtocol, { host: string; port: number | undefined }>();
  private started = false;
  private closed = false;
  private gate: InboundGate | undefined;

  constructor(private readonly opts: SipTransportLayerOptions = {}) {
    this.limits = { ...DEFAULT_LIMITS, ...opts.limits };
    this.log = opts.logger ?? silentLogger;
    const handlers: TransportHandlers = {
      onMessage: (bytes, source) => this.inbound(bytes, source),
      onStreamError: (err, head, tooLarge, source) => this.streamError(err, head, tooLarge, source),
      onConnectionClosed: (info) => this.connectionClosed(info),
      onConnectionRefused: (info) => this.connectionRefused(info),
      onTlsRefused: (info) => this.tlsRefused(info),
    };
    this.transports = buildTransports(opts, handlers, this.limits, this.log);
  }

  /** Binds every configured transport. */
  async start(): Promise<void> {
    if (this.started) return;
    this.started = true;
    try {
      for (const [proto, t] of this.transports) {
        const ep = await t.listen();
        if (ep) this.viaHosts.set(proto, { host: this.opts.viaHost ?? sipHost(ep.host), port: ep.port });
        else
          this.viaHosts.set(proto, {
            // RFC 7118 §5.2: a client that cannot receive connections uses a random .invalid domain in Via/Contact
            host: this.opts.viaHost ?? `${randomHex(6)}.invalid`,
            port: undefined,
          });
      }
    } catch (e) {
      await this.close();
      throw e;
    }
  }

  /** Frees every socket and timer of every transport. */
  async close(): Promise<void> {
    if (this.closed) return;
    this.closed = true;
    this.listeners.clear();
    // connection-closed listeners still hear the "transport-closed" reports of this close
    await Promise.all([...this.transports.values()].map((t) => t.close()));
    this.closedListeners.clear();
    this.refusedListeners.clear();
  }

  get maxMessageSize(): number {
    return this.limits.maxMessageSize;
  }

  protocols(): SipTransportProtocol[] {
    return [...this.transports.keys()];
  }

  transport(p: SipTransportProtocol): SipTransport | undefined {
    return this.transports.get(p);
  }

  /** The certificate the peer presented on the TLS connection a message came over (undefined otherwise). */
  peerCertificate(source: SipSource): Uint8Array | undefined {
    if (source.connectionId === undefined) return undefined;
    return this.transports.get(source.transport)?.peerCertificate?.(source.connectionId);
  }

  /** Bound address of a transport's listening socket (undefined when not listening). */
  address(p: SipTransportProtocol): SipEndpoint | undefined {
    return this.transports.get(p)?.address();
  }

  localVia(p: SipTransportProtocol): { transport: string; host: string; port: number | undefined } {
    const v = this.viaHosts.get(p);
    if (!v) throw new SipError("E_SIP_TRANSPORT", `transport ${p} is not configured or not started`);
    return { transport: p, host: v.host, port: v.port };
  }

  isReliable(p: SipTransportProtocol): boolean {
    return p !== "UDP";
  }

  hasTransport(p: SipTransportProtocol): boolean {
    return this.transports.has(p);
  }

  /** The connection is open both ways (it can carry new requests). */
  hasConnection(p: SipTransportProtocol, id: string): boolean {
    return this.transports.get(p)?.hasConnection(id) ?? false;
  }

  /** The connection can still carry a response (RFC 3261 §18.2.2: also when the peer half-closed it). */
  canRespond(p: SipTransportProtocol, id: string): boolean {
    const t = this.transports.get(p);
    if (!t) return false;
    return t.canRespond ? t.canRespond(id) : t.hasConnection(id);
  }

  /** Subscribes to parsed inbound messages; returns an unsubscribe function. */
  onMessage(listener: InboundListener): () => void {
    this.listeners.add(listener);
    return () => this.listeners.delete(listener);
  }

  /**
   * Subscribes to closed TCP/WS connections (peer FIN, reset, idle timeout, read deadline, our close …), one report
   * per connection; returns an unsubscribe function. A UA uses it to detect the failure of its registration flow
   * (RFC 5626 §4.4).
   */
  onConnectionClosed(listener: ConnectionClosedListener): () => void {
    this.closedListeners.add(listener);
    return () => this.closedListeners.delete(listener);
  }

  /** Subscribes to inbound connections refused at accept (per-source or global limit); returns an unsubscribe. */
  onConnectionRefused(listener: ConnectionRefusedListener): () => void {
    this.refusedListeners.add(listener);
    return () => this.refusedListeners.delete(listener);
  }

  /** Admission counters of a stream transport (limiter.ts); undefined for UDP or an absent transport. */
  connectionStats(p: SipTransportProtocol): ConnectionLimiterStats | undefined {
    return this.transports.get(p)?.connectionStats?.();
  }

  /**
   * Marks a connection as carrying a registered flow, or not (RFC 5626 §5.2). The layer does it by itself when a 2xx
   * to a REGISTER leaves on a connection; a registrar or edge proxy may call it for finer control.
   */
  setFlow(p: SipTransportProtocol, connectionId: string, registered: boolean): void {
    this.transports.get(p)?.setFlow?.(connectionId, registered);
  }

  private connectionRefused(info: ConnectionRefusedInfo): void {
    if (info.reason === "closed") return;
    try {
      this.opts.audit?.record(connectionRefusedEvent(this.opts.auditNode ?? "sip", info));
    } catch (e) {
      this.log.error({ err: e }, "sip: audit of a refused connection failed");
    }
    for (const l of this.refusedListeners) {
      try {
        l(info);
      } catch (e) {
        this.log.error({ err: e }, "sip: connection-refused listener failed");
      }
    }
  }

  private tlsRefused(info: TlsRefusedInfo): void {
    try {
      // RFC 5922 §7 / RFC 3261 §26.2: a peer whose certificate is not trusted is a security decision
      this.opts.audit?.record({
        node: this.opts.auditNode ?? "sip",
        decision: "tls-refused",
        clause: "RFC 5922 §7",
        transport: info.transport,
        remote: `${info.remote.host}:${info.remote.port}`,
        code: info.code,
        detail: info.detail,
        direction: info.inbound ? "inbound" : "outbound",
      });
    } catch (e) {
      this.log.error({ err: e }, "sip: audit of a refused TLS peer failed");
    }
  }

  private connectionClosed(info: ConnectionClosedInfo): void {
    this.log.debug({ ...info }, "sip: connection closed");
    for (const l of this.closedListeners) {
      try {
        l(info);
      } catch (e) {
        this.log.error({ err: e }, "sip: connection-closed listener failed");
      }
    }
  }

  private get agent(): string {
    if (this.opts.warningAgent !== undefined) return this.opts.warningAgent;
    const first = this.viaHosts.values().next().value;
    return first ? `${first.host}${first.port !== undefined ? `:${first.port}` : ""}` : "localhost";
  }

  // ------------------------------------------------------------------------------------------------------------------
  // inbound

  /** Installs (or removes) the pre-parse admission of inbound requests (e.g. the P-CSCF's per-source rate limit). */
  setInboundGate(gate: InboundGate | undefined): void {
    this.gate = gate;
  }

  private inbound(bytes: Uint8Array, source: SipSource): void {
    if (this.closed) return;
    // a response starts with "SIP/" (RFC 3261 §7.2); everything else is a request (or garbage) and is gated
    if (this.gate && !(bytes[0] === 0x53 && bytes[1] === 0x49 && bytes[2] === 0x50 && bytes[3] === 0x2f)) {
      const g = this.gate(source, bytes);
      if (g === "drop") {
        this.settle(source, bytes);
        return;
      }
      if (g !== undefined) {
        this.refuse(bytes, source, g);
        return;
      }
    }
    // RFC 3261 §18.3: a stream (TCP, TLS) frames by Content-Length; a datagram or WebSocket message is one message
    const datagram = source.transport !== "TCP" && source.transport !== "TLS";
    if (bytes.byteLength > this.limits.maxMessageSize) {
      this.oversize(bytes, source);
      return;
    }
    let msg: SipMessage;
    try {
      msg = parseMessage(bytes, { datagram, validate: this.opts.validate ?? "full" });
    } catch (e) {
      const err = e instanceof SipParseError ? e : new SipParseError("E_SIP_HEADER", "unparseable");
      this.answerMalformed(err, err.partial, source, undefined, bytes);
      return;
    }
    try {
      if (msg.kind === "request") this.stampVia(msg, source);
      else if (!this.responseViaIsOurs(msg)) {
        // RFC 3261 §18.1.2: a response whose top Via is not ours is discarded
        this.log.info({ source, status: msg.status }, "sip: response with foreign top Via dropped");
        return;
      }
    } catch (e) {
      this.log.info({ err: e, source }, "sip: message dropped");
      this.settle(source, bytes);
      return;
    }
    for (const l of this.listeners) {
      try {
        l(msg, source);
      } catch (e) {
        this.log.error({ err: e }, "sip: inbound listener failed");
      }
    }
  }

  /**
   * An inbound message left unanswered here: the connection it came on owes nothing for it (a half-closed TCP
   * connection then closes instead of waiting for an answer that never comes). Only what the transport counted as a
   * request (limiter.ts `messageKind`: not a response, not an ACK) owed an answer.
   */
  private settle(source: SipSource, bytes: Uint8Array): void {
    if (source.connectionId === undefined || source.transport === "UDP" || messageKind(bytes) !== "request") return;
    this.transports.get(source.transport)?.settle?.(source.connectionId);
  }

  /** RFC 3261 §18.2.1 and RFC 3581 §4: add received (and fill rport) to the top Via of an inbound request. */
  private stampVia(req: SipRequest, source: SipSource): void {
    const v = req.topVia();
    let params = v.params;
    const rport = getParam(params, "rport");
    if (rport === null) {
      // RFC 3581 §4: rport without value → set to the source port, and received MUST be added
      params = setParam(params, "rport", String(source.port));
      params = setParam(params, "received", source.host);
    } else if (bareHost(v.host) !== bareHost(source.host)) {
      // RFC 3261 §18.2.1: received when sent-by differs from the packet's source address
      params = setParam(params, "received", source.host);
    }
    if (params !== v.params) req.setTopVia({ ...v, params });
  }

  private responseViaIsOurs(res: SipResponse): boolean {
    if (this.opts.checkResponseVia === false) return true;
    const v = res.topVia();
    const t = viaTransport(v.transport);
    for (const [proto, mine] of this.viaHosts) {
      if (t !== undefined && t !== proto) continue;
      if (bareHost(mine.host) !== bareHost(v.host)) continue;
      if (mine.port === undefined || (v.port ?? defaultPort(proto)) === mine.port) return true;
    }
    return false;
  }

  /** RFC 3261 §18.3: a malformed request is answered (400/505) when it can be; anything else is dropped. */
  private answerMalformed(
    err: SipError,
    partial: PartialMessage | undefined,
    source: SipSource,
    status: number | undefined,
    bytes: Uint8Array,
  ): void {
    const res = errorResponseFor(partial, err, this.agent, status);
    if (!res) {
      this.log.info(
        { code: err.code, msg: err.message, source, kind: partial?.kind },
        "sip: malformed message dropped",
      );
      this.settle(source, bytes);
      return;
    }
    this.log.info({ code: err.code, msg: err.message, source, status: res.status }, "sip: malformed request answered");
    this.stampViaSafe(res, source);
    this.sendResponse(res, source).catch((e) => this.log.info({ err: e }, "sip: error answer not sent"));
  }

  /** A stateless refusal from the gate, built from the rows that can be read (an ACK is never answered, §17.1.1.3). */
  private refuse(
    bytes: Uint8Array,
    source: SipSource,
    g: { status: number; reason?: string; headers: SipHeader[] },
  ): void {
    const partial = readPartial(
      bytes.byteLength > this.limits.maxMessageSize ? bytes.subarray(0, this.limits.maxMessageSize) : bytes,
    );
    const rows = partial ? answerableRows(partial) : undefined;
    if (!rows) {
      this.settle(source, bytes);
      return;
    }
    const res = createResponse({ headers: rows }, g.status, g.reason, { toTag: generateTag(), headers: g.headers });
    this.stampViaSafe(res, source);
    this.sendResponse(res, source).catch((e: unknown) => this.log.info({ err: e }, "sip: refusal not sent"));
  }

  private stampViaSafe(res: SipResponse, source: SipSource): void {
    try {
      const v = parseVia(res.getHeaders("Via")[0] ?? "")[0];
      if (!v) return;
      let params = v.params;
      if (getParam(params, "rport") === null) params = setParam(params, "rport", String(source.port));
      if (bareHost(v.host) !== bareHost(source.host) || params !== v.params)
        params = setParam(params, "received", source.host);
      if (params !== v.params) res.replaceFirstValue("Via", formatVia({ ...v, params }));
    } catch {
      // routing falls back to the source
    }
  }

  /**
   * RFC 3261 §21.4.11 413 when the header section fits but the body makes the message too large; §21.5.14 513 when
   * the header section alone is too large. Either only when the request can be answered.
   */
  private oversize(bytes: Uint8Array, source: SipSource): void {
    const end = findHeaderEnd(bytes);
    const headTooLarge = !end || end.bodyStart > this.limits.maxMessageSize;
    const err = new SipError(
      "E_SIP_TOO_LARGE",
      `message of ${bytes.byteLength} bytes exceeds ${this.limits.maxMessageSize}`,
    );
    this.answerMalformed(err, readPartial(bytes), source, headTooLarge ? 513 : 413, bytes);
  }

  private streamError(
    err: SipError,
    head: Uint8Array | undefined,
    tooLarge: "head" | "body" | undefined,
    source: SipSource,
  ): Uint8Array | undefined {
    if (!head) {
      this.log.info({ code: err.code, source }, "sip: unframeable stream closed");
      return undefined;
    }
    const status = tooLarge === "body" ? 413 : tooLarge === "head" ? 513 : 400;
    const res = errorResponseFor(readPartial(head), err, this.agent, status);
    if (!res) return undefined;
    this.stampViaSafe(res, source);
    this.log.info({ code: err.code, source, status }, "sip: answering before closing the stream");
    return res.toBytes();
  }

  // ------------------------------------------------------------------------------------------------------------------
  // outbound

  /**
   * RFC 5626 §5.2 / RFC 3327: a 2xx to a REGISTER that leaves on a connection makes it the registered flow of that
   * UE (the edge proxy routes to it); a 2xx without any Contact (every binding removed, RFC 3261 §10.3 step 8) ends it.
   */
  private noteRegistration(res: SipResponse, transport: SipTransportProtocol, id: string): void {
    if (res.status < 200 || res.status > 299 || transport === "UDP") return;
    const cseq = res.getHeaders("CSeq")[0] ?? "";
    if (!/\sREGISTER\s*$/i.test(cseq)) return;
    this.setFlow(transport, id, res.getHeaders("Contact").length > 0);
  }

  /**
   * Sends a request (its top Via must already be set); resolves with the flow used. Not `async`: the transport's own
   * promise is handed back (no wrapper promise per message); a synchronous failure becomes a rejection all the same.
   */
  sendRequest(req: SipRequest, target: SipTarget): Promise<SipSource> {
    try {
      return this.sendBytes(req.toBytes(), target);
    } catch (e) {
      return Promise.reject(e);
    }
  }

  sendBytes(bytes: Uint8Array, target: SipTarget): Promise<SipSource> {
    if (this.closed) return Promise.reject(new SipError("E_SIP_CLOSED", "transport layer closed"));
    const t = this.transports.get(target.transport);
    if (!t) return Promise.reject(new SipError("E_SIP_TRANSPORT", `no ${target.transport} transport configured`));
    return t.send(bytes, target);
  }

  /**
   * RFC 3261 §18.2.2: over a reliable transport the response goes back on the request's connection while it is
   * open (else a new connection to received/sent-by); over UDP to received (or sent-by) and the rport/sent-by port.
   * Not `async` on the datagram path (one promise per response: the transport's).
   */
  sendResponse(res: SipResponse, source: SipSource | undefined): Promise<void> {
    try {
      // RFC 3261 §18.2.2: only the top Via routes a response. A 400 echoes the request's Via rows (§8.2.6.2), and a
      // malformed lower row must not stop it: read the first row only, as answerableRows (reply.ts) does.
      const via = parseVia(res.getHeaders("Via")[0] ?? "")[0];
      if (!via) throw new SipParseError("E_SIP_MISSING_HEADER", "missing Via", { header: "Via" });
      if (source?.connectionId !== undefined || (source !== undefined && this.isReliable(source.transport))) {
        return this.sendResponseOnFlow(res, via, source);
      }
      return this.sendBytes(res.toBytes(), responseTarget(via, source)).then(ignore);
    } catch (e) {
      return Promise.reject(e);
    }
  }

  /** `sendResponse` toward a request that came over a connection (RFC 3261 §18.2.2). */
  private async sendResponseOnFlow(res: SipResponse, via: Via, source: SipSource): Promise<void> {
    if (source.connectionId !== undefined && this.canRespond(source.transport, source.connectionId)) {
      try {
        await this.sendBytes(res.toBytes(), {
          transport: source.transport,
          host: source.host,
          port: source.port,
          connectionId: source.connectionId,
        });
        this.noteRegistration(res, source.transport, source.connectionId);
        return;
      } catch (e) {
        // the connection failed under the write: fall through to a new connection (RFC 3261 §18.2.2)
        if (!(e instanceof SipError) || e.code !== "E_SIP_TRANSPORT" || this.closed) throw e;
        this.log.info({ err: e, connectionId: source.connectionId }, "sip: response connection failed, reconnecting");
      }
    }
    const target = responseTarget(via, source);
    if (this.isReliable(source.transport) && target.transport === source.transport) {
      // the connection is gone: open a new one to the source address and the sent-by port (RFC 3261 §18.2.2)
      target.host = typeof getParam(via.params, "received") === "string" ? target.host : source.host;
    }
    await this.sendBytes(res.toBytes(), target);
  }
}
