/**
 * SIP over TLS (RFC 3261 §26.2, RFC 5630; Via transport "TLS", default port 5061, RFC 3263 §4.2): the TCP transport
 * (tcp.ts: Content-Length framing, connection reuse, the admission limits of limiter.ts, read deadlines, half-close,
 * keep-alive pongs) with a TLS layer under it. An inbound TCP connection is admitted by the limiter before the
 * handshake (a flood of handshakes takes slots, not CPU beyond them), and must finish its handshake within the
 * per-message read deadline (messageTimeoutMs). The peer's certificate is checked (tlsContext.ts) before a SIP byte
 * is read or written; a refusal is reported (`TransportHandlers.onTlsRefused`, an audit event in the layer).
 */
import type { Socket } from "node:net";
import tls from "node:tls";
import type { SipError } from "../errors.ts";
import type { Slot } from "./limiter.ts";
import { type DialedSocket, TcpTransport, type TcpTransportOptions } from "./tcp.ts";
import {
  checkClient,
  checkServer,
  checkTlsConfig,
  clientTlsOptions,
  type SipTlsConfig,
  serverTlsOptions,
} from "./tlsContext.ts";
import { bareHost, type SipTarget, type TransportHandlers } from "./types.ts";

export interface TlsTransportOptions extends TcpTransportOptions {
  tls: SipTlsConfig;
}

export class TlsTransport extends TcpTransport {
  private readonly tlsCfg: SipTlsConfig;
  private readonly serverOpts: tls.TLSSocketOptions;
  private readonly handshaking = new Set<Socket>();

  constructor(handlers: TransportHandlers, opts: TlsTransportOptions) {
    super(handlers, opts, "TLS");
    checkTlsConfig(opts.tls);
    this.tlsCfg = opts.tls;
    this.serverOpts = serverTlsOptions(opts.tls);
  }

  /** The certificate the peer of connection `id` presented in its handshake (mutual TLS: the client's). */
  peerCertificate(id: string): Uint8Array | undefined {
    const socket = this.table.get(id)?.socket;
    if (!(socket instanceof tls.TLSSocket)) return undefined;
    return socket.getPeerX509Certificate()?.raw;
  }

  /** The TLS handshake of an admitted inbound connection, then (client checked, if mutual) the TCP handling. */
  protected override accept(raw: Socket, slot: Slot): void {
    const remote = { host: bareHost(raw.remoteAddress ?? ""), port: raw.remotePort ?? 0 };
    raw.on("error", () => undefined);
    const socket = new tls.TLSSocket(raw, this.serverOpts);
    this.handshaking.add(socket);
    let done = false;
    const release = () => this.table.limiter.release(slot);
    // under pressure the limiter may evict a connection still in its handshake
    slot.evict = () => socket.destroy();
    const timer = setTimeout(() => {
      if (done) return;
      this.log.warn(
        { code: "E_SIP_TLS_HANDSHAKE", remote, timeoutMs: this.limits.messageTimeoutMs },
        "sip tls: no TLS handshake within the read deadline, closing",
      );
      socket.destroy();
    }, this.limits.messageTimeoutMs);
    const fail = (e: Error | undefined) => {
      if (done) return;
      done = true;
      clearTimeout(timer);
      this.handshaking.delete(socket);
      if (e) {
        this.log.info({ code: "E_SIP_TLS_HANDSHAKE", remote, err: e.message }, "sip tls: handshake failed");
        this.report("E_SIP_TLS_HANDSHAKE", remote, e.message, true);
      }
      socket.destroy();
      raw.destroy();
      release();
    };
    socket.once("error", fail);
    socket.once("close", () => {
      // closed before the handshake ended without a TLS error (a scan, the deadline, eviction): nothing to audit
      if (!done) fail(undefined);
    });
    socket.once("secure", () => {
      if (done) return;
      done = true;
      clearTimeout(timer);
      this.handshaking.delete(socket);
      socket.removeListener("error", fail);
      if (this.isClosed) {
        socket.destroy();
        release();
        return;
      }
      const refused = checkClient(this.tlsCfg, socket);
      if (refused) {
        this.log.warn({ code: refused.code, remote, msg: refused.message }, "sip tls: client refused");
        this.report(refused.code, remote, refused.message, true);
        socket.on("error", () => undefined);
        socket.destroy();
        release();
        return;
      }
      this.adopt(socket, true, slot);
    });
  }

  protected override openSocket(target: SipTarget): DialedSocket {
    const local = this.localHost;
    const socket = tls.connect({
      ...clientTlsOptions(this.tlsCfg, target.host, target.port),
      ...(local !== undefined ? { localAddress: local } : {}),
    });
    return { socket, ready: "secureConnect", check: () => checkServer(this.tlsCfg, socket, target.host) };
  }

  protected override onCheckFailed(e: SipError, host: string, port: number): void {
    this.log.warn({ code: e.code, host, port, msg: e.message }, "sip tls: server refused");
    this.report(e.code, { host: bareHost(host), port }, e.message, false);
  }

  private report(code: string, remote: { host: string; port: number }, detail: string, inbound: boolean): void {
    try {
      this.handlers.onTlsRefused?.({ transport: "TLS", remote, code, detail, inbound });
    } catch (e) {
      this.log.error({ err: e }, "sip tls: refusal handler failed");
    }
  }

  override async close(): Promise<void> {
    for (const s of this.handshaking) s.destroy();
    this.handshaking.clear();
    await super.close();
  }
}
