/**
 * Who the proxy core is (RFC 3261 §16.4): the host:port of every interface, their Via sent-by values, and configured
 * aliases, so that Route entries, Request-URIs and Via headers that designate this proxy are recognised.
 */
import { bareHost, defaultPort, isSipUri, type Uri, uriParam, viaTransport } from "./index.ts";
import type { ProxyInterface } from "./proxyTypes.ts";

export class ProxyAddresses {
  private readonly aliasHosts = new Set<string>();
  private readonly own = new Set<string>();
  /** "host:port" strings of our Via sent-by values (a cheap pre-check before parsing every Via for loops) */
  private ownSentBy: string[] = [];

  /** `aliases`: further host names or host:port values that designate this proxy */
  constructor(aliases: readonly string[]) {
    for (const a of aliases) this.aliasHosts.add(a.toLowerCase());
  }

  /** Learns the bound addresses of every interface (call after the layers started). */
  refresh(interfaces: readonly ProxyInterface[]): void {
    this.own.clear();
    const sentBy = new Set<string>();
    for (const iface of interfaces) {
      for (const p of iface.layer.protocols()) {
        const a = iface.layer.address(p);
        if (a) this.own.add(`${bareHost(a.host)}|${a.port}`);
        try {
          const v = iface.layer.localVia(p);
          if (v.port !== undefined) this.own.add(`${bareHost(v.host)}|${v.port}`);
          sentBy.add(`${v.host}:${v.port ?? 5060}`);
        } catch {
          // not started
        }
      }
    }
    this.ownSentBy = [...sentBy];
  }

  /** True when the URI designates this proxy (host:port of an interface, or an alias). */
  isOwnUri(uri: Uri): boolean {
    if (!isSipUri(uri)) return false;
    const host = bareHost(uri.host);
    if (this.aliasHosts.has(host)) return true;
    const tp = uriParam(uri, "transport");
    // RFC 3261 §19.1.2 / RFC 3263 §4.2: the transport's default port (5061 for sips: and TLS)
    const t = typeof tp === "string" ? viaTransport(tp) : undefined;
    const port = uri.port ?? defaultPort(t ?? (uri.scheme === "sips" ? "TLS" : "UDP"));
    if (this.aliasHosts.has(`${host}:${port}`)) return true;
    return this.own.has(`${host}|${port}`);
  }

  /** True when host:port is one of our bound or sent-by addresses (aliases excluded). */
  isOwnHostPort(host: string, port: number): boolean {
    return this.own.has(`${bareHost(host)}|${port}`);
  }

  /** Cheap pre-check: the raw Via text contains one of our sent-by values. */
  mayAppearIn(rawVia: string): boolean {
    return this.ownSentBy.some((sb) => rawVia.includes(sb));
  }
}
