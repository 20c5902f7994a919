/**
 * The demo server of `imsdc demo` (`npm start`): the embedded network (S-CSCF, P-CSCF(A), P-CSCF(B), IMS-AGW), the
 * headless UE "bob" (auto-answer, echoes chat messages with a prefix), and an HTTP server on 127.0.0.1 that serves
 * the page (web/dist) and two small APIs:
 *
 *   GET /api/config   where the page's SIP WebSocket is (P-CSCF(A)'s access side, its own port), AORs, channel
 *   GET /api/events   Server-Sent Events: every SIP hop, audit decision and bob's data channel events (DemoEvent)
 *
 * The browser's SIP goes straight to P-CSCF(A)'s WebSocket listener (RFC 7118), not through this HTTP server.
 *
 * Who may use them (guard.ts): every request and the SIP WebSocket upgrade must name one of our hosts (DNS
 * rebinding); the API and the SIP WebSocket refuse other origins (cross-site requests, WebSocket hijacking); no CORS
 * header is ever sent. Event streams have per-client and global slots with eviction (sseSlots.ts).
 */
import { readFile } from "node:fs/promises";
import { createServer, type IncomingMessage, type Server, type ServerResponse } from "node:http";
import { createServer as createHttpsServer } from "node:https";
import type { AddressInfo } from "node:net";
import { join } from "node:path";
import { type Logger, silentLogger } from "../log.ts";
import type { ImsUe } from "../ue/index.ts";
import type { DemoEvent } from "./events.ts";
import { DemoGuard } from "./guard.ts";
import { DEMO_CHANNEL, EmbeddedNetwork } from "./network.ts";
import { clientKey, SseSlots } from "./sseSlots.ts";

export interface DemoServerOptions {
  /** HTTP listening address (default 127.0.0.1) */
  host?: string;
  /** HTTP port (default 8080; 0 = any) */
  port?: number;
  /** P-CSCF(A)'s SIP WebSocket port for the page (default: HTTP port + 1, or any when the HTTP port is 0) */
  sipWsPort?: number;
  /** the built page (default web/dist) */
  webDir?: string;
  /** bob's echo prefix */
  echoPrefix?: string;
  e2aeAvailable?: boolean;
  /** host names (or addresses) allowed besides localhost, 127.0.0.1, [::1] and the listening address */
  allowHosts?: readonly string[];
  /** event streams in all (default 16); a new one evicts the oldest stale one, else the oldest */
  maxEventStreams?: number;
  /** event streams per client, i.e. remote address + the page's id (default 2) */
  maxEventStreamsPerClient?: number;
  /**
   * TLS everywhere (`imsdc demo --tls`): SIP over TLS between the nodes, the page served over https and its SIP over
   * WSS (RFC 7118 §5), all with certificates of a CA generated at start (`caPem` / `spkiSha256` to trust it)
   */
  tls?: boolean;
  logger?: Logger;
}

const TYPES: Record<string, string> = {
  ".html": "text/html; charset=utf-8",
  ".js": "text/javascript; charset=utf-8",
  ".css": "text/css; charset=utf-8",
  ".map": "application/json; charset=utf-8",
};
/** the only files served: nothing outside web/dist, no directory listing */
const STATIC = new Set(["index.html", "app.js", "app.css", "app.js.map", "app.css.map"]);

export class DemoServer {
  private readonly sse: SseSlots;
  private readonly heartbeat: NodeJS.Timeout;
  private readonly offEvents: () => void;
  private closed = false;

  private constructor(
    readonly net: EmbeddedNetwork,
    readonly bob: ImsUe,
    private readonly http: Server,
    private readonly opts: DemoServerOptions & { webDir: string },
    private readonly log: Logger,
    readonly guard: DemoGuard,
  ) {
    this.sse = new SseSlots(
      {
        ...(opts.maxEventStreams !== undefined ? { maxTotal: opts.maxEventStreams } : {}),
        ...(opts.maxEventStreamsPerClient !== undefined ? { maxPerClient: opts.maxEventStreamsPerClient } : {}),
      },
      (client, reason) => this.log.info({ client, reason }, "demo: event stream evicted"),
    );
    this.offEvents = net.on("event", (e) => this.broadcast(e));
    this.heartbeat = setInterval(() => this.sse.write(": keep-alive\n\n"), 15_000);
    this.heartbeat.unref();
  }

  static async start(o: DemoServerOptions = {}): Promise<DemoServer> {
    const host = o.host ?? "127.0.0.1";
    const port = o.port ?? 8080;
    const log = o.logger ?? silentLogger;
    const webDir = o.webDir ?? join(import.meta.dirname, "..", "..", "web", "dist");
    // throws E_DEMO_ALLOW_HOST before anything listens; refuses every Host and Origin until the ports are known
    const guard = new DemoGuard({
      listenHost: host,
      ...(o.allowHosts ? { allowHosts: o.allowHosts } : {}),
      ...(o.tls === true ? { scheme: "https" as const } : {}),
    });
    const net = await EmbeddedNetwork.start({
      host,
      ...(o.tls === true ? { tls: true } : {}),
      wsPortA: o.sipWsPort ?? (port === 0 ? 0 : port + 1),
      wsVerifyUpgrade: guard.checkWs,
      logger: log,
      ...(o.e2aeAvailable !== undefined ? { e2aeAvailable: o.e2aeAvailable } : {}),
    });
    guard.useAudit(net.audit);
    let http: Server | undefined;
    try {
      const bob = await net.addUe("ueB", "bob", {
        transport: "UDP",
        displayName: "Bob (headless)",
        echoPrefix: o.echoPrefix ?? "bob echoes: ",
        greeting: "hi alice, bob here: DTLS verified on my side, I echo what you send",
      });
      // with TLS the page is served over https with a certificate of the network's CA (the P-CSCF's WSS uses one too)
      const page = net.tlsFor("demo-page");
      const h = page
        ? createHttpsServer({ cert: page.certPem, key: page.keyPem, minVersion: "TLSv1.2" })
        : createServer();
      http = h;
      const server = new DemoServer(net, bob, h, { ...o, host, webDir }, log, guard);
      h.on("request", (req, res) => void server.handle(req, res));
      h.on("clientError", (_e, socket) => socket.destroy());
      await new Promise<void>((resolve, reject) => {
        h.once("error", reject);
        h.listen({ host, port }, () => {
          h.off("error", reject);
          const wsPort = net.pcscfA.address("access", net.pageTransport)?.port;
          if (wsPort !== undefined) guard.setPorts((h.address() as AddressInfo).port, wsPort);
          resolve();
        });
      });
      return server;
    } catch (e) {
      http?.close();
      await net.close();
      throw e;
    }
  }

  /** http://host:port/ of the page (a wildcard listener: its loopback address, a name the guard allows). */
  get url(): string {
    const a = this.http.address() as AddressInfo;
    const addr = a.address === "0.0.0.0" ? "127.0.0.1" : a.address === "::" ? "::1" : a.address;
    const h = addr.includes(":") ? `[${addr}]` : addr;
    return `${this.net.ca ? "https" : "http"}://${h}:${a.port}/`;
  }

  /** The CA the demo's certificates chain to (with `tls`), PEM. */
  get caPem(): string | undefined {
    return this.net.ca?.certPem;
  }

  private pageAuth(): { impi: string; realm: string; password: string } | undefined {
    const c = this.net.credentials("alice");
    return c?.password !== undefined ? { impi: c.impi, realm: this.net.domain, password: c.password } : undefined;
  }

  private config(req: IncomingMessage): Record<string, unknown> {
    const d = this.net.domain;
    let ws = this.net.wsUrlA();
    const wildcard = /^(wss?):\/\/(0\.0\.0\.0|\[::\]):/.exec(ws);
    if (wildcard) {
      // listening on every address: the page reaches P-CSCF(A) on the host it loaded the page from
      const host = (req.headers.host ?? "127.0.0.1").replace(/:\d+$/, "");
      ws = ws.replace(wildcard[0], `${wildcard[1]}://${host}:`);
    }
    return {
      sipWsUrl: ws,
      outboundProxy: this.net.pcscfUri("A", this.net.pageTransport),
      aor: `sip:alice@${d}`,
      peer: `sip:bob@${d}`,
      domain: d,
      // TS 24.229 §7.2A.7: what the page lists in Security-Client (the DC name is the P-CSCF's provisional one)
      mediasec: ["msrp-tls", "bfcp-tls", this.net.pcscfA.alg.dcE2aeMechanism],
      channel: DEMO_CHANNEL,
      // docs/auth.md "The demo": alice's generated lab Digest credentials, for this same-origin page only (the guard
      // refuses /api/* to any other origin); the page answers the S-CSCF's SHA-256 challenge with WebCrypto
      ...(this.pageAuth() ? { auth: this.pageAuth() } : {}),
    };
  }

  private async handle(req: IncomingMessage, res: ServerResponse): Promise<void> {
    try {
      const url = new URL(req.url ?? "/", "http://x");
      const no = this.guard.checkHttp(req, url.pathname);
      if (no) {
        res.writeHead(no.status, { "Content-Type": "text/plain; charset=utf-8", Connection: "close" });
        res.end(`${no.reason} (${no.code})\n`);
        return;
      }
      if (req.method !== "GET" && req.method !== "HEAD") {
        res.writeHead(405, { Allow: "GET, HEAD" }).end();
        return;
      }
      if (url.pathname === "/api/config") {
        this.json(res, this.config(req));
        return;
      }
      if (url.pathname === "/api/events") {
        this.openSse(req, res, url);
        return;
      }
      const name = url.pathname === "/" ? "index.html" : url.pathname.slice(1);
      if (!STATIC.has(name)) {
        res.writeHead(404, { "Content-Type": "text/plain" }).end("not found\n");
        return;
      }
      const body = await readFile(join(this.opts.webDir, name)).catch(() => undefined);
      if (!body) {
        res.writeHead(503, { "Content-Type": "text/plain" }).end("the demo page is not built (web/dist)\n");
        return;
      }
      const ext = name.slice(name.lastIndexOf("."));
      res.writeHead(200, {
        "Content-Type": TYPES[ext] ?? "application/octet-stream",
        "Cache-Control": "no-cache",
        "X-Content-Type-Options": "nosniff",
        ...(ext === ".html"
          ? {
              "Content-Security-Policy":
                "default-src 'self'; connect-src 'self' ws: wss: ; img-src 'self' data:; style-src 'self'; script-src 'self'; frame-ancestors 'none'",
            }
          : {}),
      });
      res.end(req.method === "HEAD" ? undefined : body);
    } catch (e) {
      this.log.warn({ err: String(e) }, "demo: request failed");
      if (!res.headersSent) res.writeHead(500).end();
    }
  }

  private json(res: ServerResponse, v: unknown): void {
    res.writeHead(200, {
      "Content-Type": "application/json; charset=utf-8",
      "Cache-Control": "no-store",
      "X-Content-Type-Options": "nosniff",
      // Fetch Standard #cross-origin-resource-policy-header: no-cors reads from other origins blocked too (no CORS)
      "Cross-Origin-Resource-Policy": "same-origin",
    });
    res.end(JSON.stringify(v));
  }

  private openSse(req: IncomingMessage, res: ServerResponse, url: URL): void {
    this.sse.admit(res, clientKey(req.socket.remoteAddress, url.searchParams.get("client")));
    req.on("close", () => this.sse.release(res));
    res.writeHead(200, {
      "Content-Type": "text/event-stream; charset=utf-8",
      "Cache-Control": "no-store",
      "X-Content-Type-Options": "nosniff",
      "Cross-Origin-Resource-Policy": "same-origin",
      Connection: "keep-alive",
    });
    res.write("retry: 2000\n\n");
  }

  /** Event streams open now (tests). */
  get eventStreams(): number {
    return this.sse.size;
  }

  private broadcast(e: DemoEvent): void {
    if (this.sse.size === 0) return;
    this.sse.write(`data: ${JSON.stringify(e)}\n\n`);
  }

  /** Stops bob, every node and the HTTP server (open SSE streams are ended). Idempotent. */
  async close(): Promise<void> {
    if (this.closed) return;
    this.closed = true;
    clearInterval(this.heartbeat);
    this.offEvents();
    this.sse.closeAll();
    const http = this.http;
    http.closeAllConnections();
    await new Promise<void>((r) => http.close(() => r()));
    await this.net.close();
  }
}
