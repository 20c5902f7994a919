/**
 * Builds the transports a `SipTransportLayer` is configured with (RFC 3261 §18 UDP/TCP, §26.2 TLS; RFC 7118 WS/WSS),
 * each with its listening options, the layer's limits and logger, and (TLS, WSS) the layer's `tlsConfig`.
 */
import type { Logger } from "../../log.ts";
import { SipError } from "../errors.ts";
import type { ListenOptions, SipTransportLayerOptions } from "./layer.ts";
import { TcpTransport } from "./tcp.ts";
import { TlsTransport } from "./tls.ts";
import type { SipTransport, SipTransportProtocol, TransportHandlers, TransportLimits } from "./types.ts";
import { UdpTransport } from "./udp.ts";
import { WsTransport } from "./ws.ts";

export function buildTransports(
  opts: SipTransportLayerOptions,
  handlers: TransportHandlers,
  limits: TransportLimits,
  log: Logger,
): Map<SipTransportProtocol, SipTransport> {
  const transports = new Map<SipTransportProtocol, SipTransport>();
  const host = opts.host ?? "127.0.0.1";
  const cfg = (c: boolean | ListenOptions | undefined): ListenOptions | undefined =>
    c === undefined || c === false ? undefined : c === true ? {} : c;
  const udp = cfg(opts.udp);
  const tcp = cfg(opts.tcp);
  const ws = cfg(opts.ws);
  const tls = cfg(opts.tls);
  const wss = cfg(opts.wss);
  if (!udp && !tcp && !ws && !tls && !wss)
    throw new SipError("E_SIP_CONFIG", "at least one transport (udp, tcp, tls, ws, wss) is needed");
  if ((tls || wss) && !opts.tlsConfig)
    throw new SipError("E_SIP_TLS_CONFIG", "the tls and wss transports need tlsConfig (certificate, key, trust)");
  if (udp) {
    transports.set(
      "UDP",
      new UdpTransport(handlers, {
        host: udp.host ?? host,
        port: udp.port ?? 0,
        bufferSize: limits.udpBufferSize,
        logger: log,
      }),
    );
  }
  if (tcp) {
    transports.set(
      "TCP",
      new TcpTransport(handlers, {
        host: tcp.host ?? host,
        port: tcp.port ?? 0,
        listen: tcp.listen !== false,
        limits: limits,
        logger: log,
      }),
    );
  }
  if (ws) {
    const path = typeof opts.ws === "object" ? opts.ws.path : undefined;
    transports.set(
      "WS",
      new WsTransport(handlers, {
        host: ws.host ?? host,
        port: ws.port ?? 0,
        listen: ws.listen !== false,
        ...(path !== undefined ? { path } : {}),
        limits: limits,
        logger: log,
      }),
    );
  }
  if (tls && opts.tlsConfig) {
    transports.set(
      "TLS",
      new TlsTransport(handlers, {
        host: tls.host ?? host,
        port: tls.port ?? 0,
        listen: tls.listen !== false,
        limits: limits,
        logger: log,
        tls: opts.tlsConfig,
      }),
    );
  }
  if (wss && opts.tlsConfig) {
    const w = typeof opts.wss === "object" ? opts.wss : {};
    transports.set(
      "WSS",
      new WsTransport(handlers, {
        host: wss.host ?? host,
        port: wss.port ?? 0,
        listen: wss.listen !== false,
        ...(w.path !== undefined ? { path: w.path } : {}),
        ...(w.verifyUpgrade !== undefined ? { verifyUpgrade: w.verifyUpgrade } : {}),
        limits: limits,
        logger: log,
        tls: opts.tlsConfig,
      }),
    );
  }
  return transports;
}
