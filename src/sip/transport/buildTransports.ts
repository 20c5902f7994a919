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
  // what every stream transport takes: its listening address, whether it listens, the layer's limits and logger
  const stream = (l: ListenOptions) => ({
    host: l.host ?? host,
    port: l.port ?? 0,
    listen: l.listen !== false,
    limits,
    logger: log,
  });
  if (udp) {
    const bufferSize = limits.udpBufferSize;
    transports.set(
      "UDP",
      new UdpTransport(handlers, { host: udp.host ?? host, port: udp.port ?? 0, bufferSize, logger: log }),
    );
  }
  if (tcp) transports.set("TCP", new TcpTransport(handlers, stream(tcp)));
  if (ws) {
    const path = typeof opts.ws === "object" ? opts.ws.path : undefined;
    transports.set("WS", new WsTransport(handlers, { ...stream(ws), ...(path !== undefined ? { path } : {}) }));
  }
  if (tls && opts.tlsConfig) transports.set("TLS", new TlsTransport(handlers, { ...stream(tls), tls: opts.tlsConfig }));
  if (wss && opts.tlsConfig) {
    const w = typeof opts.wss === "object" ? opts.wss : {};
    transports.set(
      "WSS",
      new WsTransport(handlers, {
        ...stream(wss),
        ...(w.path !== undefined ? { path: w.path } : {}),
        ...(w.verifyUpgrade !== undefined ? { verifyUpgrade: w.verifyUpgrade } : {}),
        tls: opts.tlsConfig,
      }),
    );
  }
  return transports;
}
