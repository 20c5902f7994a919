/**
 * Routing decisions without I/O (runs in the browser too): where a response goes (RFC 3261 §18.2.2, RFC 3581 §4) and
 * where a request for a URI goes (RFC 3263 reduced: no NAPTR/SRV).
 */
import { SipError } from "../errors.ts";
import { getParam } from "../grammar.ts";
import type { Via } from "../headers.ts";
import { isSipUri, type Uri, uriParam } from "../uri.ts";
import { bareHost, type SipSource, type SipTarget, type SipTransportProtocol } from "./types.ts";

/** RFC 3261 §18.2.2 (with RFC 3581 §4): where a response goes, from its top Via. */
export function responseTarget(via: Via, source?: SipSource): SipTarget {
  const transport = viaTransport(via.transport) ?? source?.transport ?? "UDP";
  const maddr = getParam(via.params, "maddr");
  const received = getParam(via.params, "received");
  const rport = getParam(via.params, "rport");
  const sentByPort = via.port ?? defaultPort(transport);
  // RFC 3261 §18.2.2: maddr → send there (port from sent-by, default 5060)
  if (typeof maddr === "string") return { transport, host: bareHost(maddr), port: sentByPort };
  // RFC 3581 §4: rport with a value → the source port of the request
  const port =
    typeof rport === "string" && rport !== "" ? Number(rport) : rport === null && source ? source.port : sentByPort;
  // RFC 3261 §18.2.2: received → that address
  if (typeof received === "string") return { transport, host: bareHost(received), port };
  if (rport === null && source) return { transport, host: source.host, port: source.port };
  return { transport, host: bareHost(via.host), port };
}

/** A Via transport token or a URI transport parameter (RFC 3261 §20.42 / §19.1.1, RFC 7118 §5.2 / §7). */
export function viaTransport(t: string): SipTransportProtocol | undefined {
  const u = t.toUpperCase();
  if (u === "UDP" || u === "TCP" || u === "TLS" || u === "WS" || u === "WSS") return u;
  return undefined;
}

/**
 * RFC 3261 §19.1.2 / RFC 3263 §4.2: 5060 for UDP/TCP, 5061 for TLS; RFC 7118 §5: WS and WSS have no SIP default,
 * the HTTP ports 80 and 443 are assumed.
 */
export function defaultPort(t: SipTransportProtocol): number {
  return t === "WS" ? 80 : t === "WSS" ? 443 : t === "TLS" ? 5061 : 5060;
}

/**
 * Where a request for `uri` goes (RFC 3263 reduced to what a lab needs: no NAPTR/SRV): the transport parameter (or
 * `fallback`), maddr or host, the port or the transport's default (RFC 3261 §19.1.2).
 */
export function uriTarget(uri: Uri, fallback: SipTransportProtocol): SipTarget {
  if (!isSipUri(uri)) throw new SipError("E_SIP_TRANSPORT", `cannot route to a ${uri.scheme}: URI`);
  const tp = uriParam(uri, "transport");
  let transport = fallback;
  if (typeof tp === "string") {
    const t = viaTransport(tp);
    if (!t) throw new SipError("E_SIP_TRANSPORT", `unsupported transport=${tp}`);
    transport = t;
  }
  if (uri.scheme === "sips") {
    // RFC 3261 §26.2.2 / RFC 5630 §3.1.3: a sips: URI is reached over TLS only (RFC 7118 §5.2: WSS for a WebSocket);
    // RFC 3263 §4.1: without a transport parameter a sips: URI means TLS over TCP
    if (typeof tp === "string" && transport === "UDP")
      throw new SipError("E_SIP_TRANSPORT", "a sips: URI cannot be reached over UDP (RFC 3261 §26.2.2)");
    transport = typeof tp !== "string" ? "TLS" : transport === "WS" || transport === "WSS" ? "WSS" : "TLS";
  }
  const maddr = uriParam(uri, "maddr");
  return {
    transport,
    host: bareHost(typeof maddr === "string" ? maddr : uri.host),
    port: uri.port ?? defaultPort(transport),
  };
}
