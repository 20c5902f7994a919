/**
 * Who may talk to the demo: the Host allowlist (DNS rebinding) on every HTTP request and on the SIP WebSocket
 * upgrade, and the Origin / Sec-Fetch-Site checks (cross-site requests, cross-site WebSocket hijacking) on the API and
 * on the SIP WebSocket. Every refusal is an audit event (node "demo", rate-limited).
 *
 * Allowed names: localhost, 127.0.0.1, [::1], the listening address when it is a specific one, and the configured
 * names (`allowHosts`, `imsdc demo --allow-host`), each only with the port of the listener asked (HTTP or SIP WS).
 * Allowed origins: http://<allowed name>:<HTTP port>, i.e. the page itself, under any of its allowed names.
 */
import type { IncomingMessage } from "node:http";
import type { AuditLog } from "../log.ts";
import type { WsUpgradeInfo } from "../sip/transport/wsUpgrade.ts";
import { DemoError, type DemoErrorCode } from "./errors.ts";

export interface GuardRefusal {
  status: 403 | 421;
  code: DemoErrorCode;
  reason: string;
}

/** The loopback names and addresses always allowed. */
const LOOPBACK_HOSTS: readonly string[] = ["localhost", "127.0.0.1", "[::1]"];

const DNS_NAME = /^(?=.{1,253}$)[a-z0-9](?:[a-z0-9-]{0,61}[a-z0-9])?(?:\.[a-z0-9](?:[a-z0-9-]{0,61}[a-z0-9])?)*$/;
const IPV6 = /^[0-9a-f:.]{2,45}$/;
/** Refusal audit events per second at most (a flood of foreign requests must not flood the audit log). */
const AUDIT_PER_SECOND = 20;
const MAX_LOGGED = 200;

/**
 * Normalizes one allowed host name: lower case, an IPv6 literal in brackets, no port. Throws E_DEMO_ALLOW_HOST.
 * RFC 3986 §3.2.2: host = IP-literal / IPv4address / reg-name (here: DNS names only, no percent-encoding).
 */
export function normalizeAllowedHost(value: string): string {
  const v = value.trim().toLowerCase();
  const inner = v.startsWith("[") && v.endsWith("]") ? v.slice(1, -1) : v;
  if (inner.includes(":")) {
    if (IPV6.test(inner)) return `[${inner}]`;
  } else if (DNS_NAME.test(inner)) return inner;
  throw new DemoError("E_DEMO_ALLOW_HOST", `not a host name or IP address (no port, no scheme): '${value}'`);
}

/**
 * RFC 9110 §7.2: Host = uri-host [ ":" port ]. Returns the lower-cased name (IPv6 in brackets) and the port
 * (undefined when absent), or undefined when the value is not one.
 */
export function parseHostHeader(value: string | undefined): { name: string; port: number | undefined } | undefined {
  if (value === undefined) return undefined;
  const m = /^(\[[0-9a-fA-F:.]+\]|[A-Za-z0-9.-]+)(?::(\d{1,5}))?$/.exec(value.trim());
  if (!m?.[1]) return undefined;
  const port = m[2] === undefined ? undefined : Number(m[2]);
  if (port !== undefined && port > 65535) return undefined;
  return { name: m[1].toLowerCase(), port };
}

function bracketed(address: string): string {
  return address.includes(":") ? `[${address.toLowerCase()}]` : address.toLowerCase();
}

const clip = (v: string | undefined): string | undefined =>
  v === undefined ? undefined : v.length > MAX_LOGGED ? `${v.slice(0, MAX_LOGGED)}…` : v;

export interface DemoGuardOptions {
  /** the listening address of the HTTP server and of P-CSCF(A)'s WebSocket (allowed when it is a specific one) */
  listenHost: string;
  /** extra names allowed in Host and in the page's origin (normalized with normalizeAllowedHost) */
  allowHosts?: readonly string[];
  audit?: AuditLog;
  /** the page's scheme: "https" when the demo serves over TLS (`imsdc demo --tls`); default "http" */
  scheme?: "http" | "https";
}

export class DemoGuard {
  /** allowed Host names (without port) */
  readonly names: ReadonlySet<string>;
  private httpPort: number | undefined;
  private wsPort: number | undefined;
  private origins = new Set<string>();
  private audit: AuditLog | undefined;
  private auditWindow = { start: 0, count: 0, suppressed: 0 };
  private readonly scheme: "http" | "https";

  constructor(o: DemoGuardOptions) {
    this.scheme = o.scheme ?? "http";
    const names = new Set(LOOPBACK_HOSTS);
    const listen = o.listenHost.replace(/^\[|\]$/g, "");
    if (listen !== "0.0.0.0" && listen !== "::" && listen !== "") names.add(bracketed(listen));
    for (const h of o.allowHosts ?? []) names.add(normalizeAllowedHost(h));
    this.names = names;
    this.audit = o.audit;
  }

  /** Where refusals are recorded (the network's audit log, known once it runs). */
  useAudit(audit: AuditLog): void {
    this.audit = audit;
  }

  /** The bound ports (until they are known, every Host and every Origin is refused). */
  setPorts(httpPort: number, wsPort: number): void {
    this.httpPort = httpPort;
    this.wsPort = wsPort;
    // RFC 6454 §6.2: the ASCII serialization of an origin: scheme "://" host [":" port], the default port omitted
    const port = httpPort === (this.scheme === "https" ? 443 : 80) ? "" : `:${httpPort}`;
    this.origins = new Set([...this.names].map((n) => `${this.scheme}://${n}${port}`));
  }

  /** The page's origins (what a browser sends in Origin from the page, under each allowed name). */
  allowedOrigins(): string[] {
    return [...this.origins];
  }

  private hostAllowed(host: string | undefined, port: number | undefined): boolean {
    const h = parseHostHeader(host);
    // RFC 9110 §4.2.1 / §4.2.2: an http URI without a port is port 80, an https URI port 443
    const dflt = this.scheme === "https" ? 443 : 80;
    return h !== undefined && port !== undefined && this.names.has(h.name) && (h.port ?? dflt) === port;
  }

  /** RFC 6454 §7.1: Origin is a serialized origin or "null"; ours only, compared as ASCII lower case. */
  private originAllowed(origin: string): boolean {
    return this.origins.has(origin.trim().toLowerCase());
  }

  /**
   * An HTTP request to the demo server: the Host check on every path, and on /api/* the Origin and Sec-Fetch-Site
   * checks. Undefined = allowed. The refusal is audited.
   */
  checkHttp(req: IncomingMessage, path: string): GuardRefusal | undefined {
    const host = req.headers.host;
    const origin = req.headers.origin;
    const site = req.headers["sec-fetch-site"];
    let no: GuardRefusal | undefined;
    // RFC 9110 §7.4: a request for an authority we do not serve (DNS rebinding) is answered 421
    if (!this.hostAllowed(host, this.httpPort))
      no = { status: 421, code: "E_DEMO_HOST", reason: "this server answers only for its own host names" };
    else if (path.startsWith("/api/")) {
      // RFC 6454 §7.2: a browser names the origin of a cross-origin request; only the page's own origin may read
      if (origin !== undefined && !this.originAllowed(origin))
        no = { status: 403, code: "E_DEMO_ORIGIN", reason: "cross-origin requests are not allowed" };
      // W3C Fetch Metadata §2.3 (Sec-Fetch-Site): only same-origin requests and user navigations ("none")
      else if (site !== undefined && site !== "same-origin" && site !== "none")
        no = { status: 403, code: "E_DEMO_FETCH_SITE", reason: "cross-site requests are not allowed" };
    }
    if (no) this.record(no, "http", { host, origin, site, path, remote: req.socket.remoteAddress });
    return no;
  }

  /**
   * The SIP WebSocket upgrade (WsTransportOptions.verifyUpgrade of P-CSCF(A)'s access listener): Host, then Origin.
   * A request without Origin is a client that is not a browser (the CLI UEs, `ws`): allowed (RFC 6455 §10.2).
   */
  checkWs = (req: WsUpgradeInfo): { status: 403 | 421; reason: string } | undefined => {
    let no: GuardRefusal | undefined;
    if (!this.hostAllowed(req.host, this.wsPort))
      no = { status: 421, code: "E_DEMO_HOST", reason: "this server answers only for its own host names" };
    // RFC 6455 §10.2: a browser's handshake from a page that is not ours is refused with 403
    else if (req.origin !== undefined && !this.originAllowed(req.origin))
      no = { status: 403, code: "E_DEMO_ORIGIN", reason: "WebSocket connections from other origins are not allowed" };
    if (no) this.record(no, "sip-ws", { host: req.host, origin: req.origin, remote: req.remote });
    return no;
  };

  private record(no: GuardRefusal, surface: "http" | "sip-ws", what: Record<string, string | undefined>): void {
    if (!this.audit) return;
    const now = Date.now();
    if (now - this.auditWindow.start >= 1000)
      this.auditWindow = { start: now, count: 0, suppressed: this.auditWindow.suppressed };
    if (++this.auditWindow.count > AUDIT_PER_SECOND) {
      this.auditWindow.suppressed++;
      return;
    }
    const fields: Record<string, unknown> = {};
    for (const [k, v] of Object.entries(what)) if (v !== undefined) fields[k] = clip(v);
    const suppressed = this.auditWindow.suppressed;
    this.auditWindow.suppressed = 0;
    this.audit.record({
      node: "demo",
      decision: "refused",
      clause:
        no.code === "E_DEMO_HOST"
          ? "RFC 9110 §7.4"
          : no.code === "E_DEMO_FETCH_SITE"
            ? "W3C Fetch Metadata §2.3"
            : surface === "sip-ws"
              ? "RFC 6455 §10.2"
              : "RFC 6454 §7.2",
      code: no.code,
      status: no.status,
      surface,
      reason: no.reason,
      ...fields,
      ...(suppressed > 0 ? { suppressed } : {}),
    });
  }
}
