/**
 * The demo server's guard with real HTTP and WebSocket on 127.0.0.1 (no browser): the Host allowlist on every
 * request and on the SIP WebSocket upgrade (DNS rebinding → 421), the Origin / Sec-Fetch-Site checks on the API and
 * on the SIP WebSocket (→ 403), every refusal audited; and the event-stream slots (a new page always gets its
 * stream, per-client and global eviction instead of 503).
 */
import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { request } from "node:http";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import WebSocket from "ws";
import { EXIT, main } from "../../src/cli/main.ts";
import { DemoError } from "../../src/demo/errors.ts";
import { DemoGuard, normalizeAllowedHost, parseHostHeader } from "../../src/demo/guard.ts";
import { DemoServer } from "../../src/demo/server.ts";
import { memoryIo } from "../cli/helpers.ts";

interface Reply {
  status: number;
  headers: Record<string, string | string[] | undefined>;
  body: string;
}

/** One HTTP GET on 127.0.0.1 with chosen headers (Host included); the body is read for at most `readMs`. */
function get(port: number, path: string, headers: Record<string, string> = {}, readMs = 300): Promise<Reply> {
  return new Promise((resolve, reject) => {
    const req = request(
      { host: "127.0.0.1", port, path, headers: { Host: `127.0.0.1:${port}`, ...headers } },
      (res) => {
        let body = "";
        res.setEncoding("utf8");
        res.on("data", (d: string) => {
          body += d;
        });
        const done = () => resolve({ status: res.statusCode ?? 0, headers: res.headers, body });
        res.on("end", done);
        // an event stream does not end: take what came within readMs
        setTimeout(() => {
          done();
          req.destroy();
        }, readMs);
      },
    );
    req.on("error", reject);
    req.end();
  });
}

/** An open event stream: what it received so far, whether the server ended it. */
interface Stream {
  status: number;
  text: () => string;
  ended: () => boolean;
  close: () => void;
}

function openStream(port: number, client?: string): Promise<Stream> {
  return new Promise((resolve, reject) => {
    let text = "";
    let ended = false;
    const path = client === undefined ? "/api/events" : `/api/events?client=${client}`;
    const req = request({ host: "127.0.0.1", port, path }, (res) => {
      res.setEncoding("utf8");
      res.on("data", (d: string) => {
        text += d;
      });
      res.on("end", () => {
        ended = true;
      });
      res.on("close", () => {
        ended = true;
      });
      resolve({ status: res.statusCode ?? 0, text: () => text, ended: () => ended, close: () => req.destroy() });
    });
    req.on("error", reject);
    req.end();
  });
}

function wsAttempt(url: string, o: { origin?: string; host?: string } = {}): Promise<number | "open"> {
  const ws = new WebSocket(url, "sip", {
    ...(o.origin !== undefined ? { origin: o.origin } : {}),
    ...(o.host !== undefined ? { headers: { Host: o.host } } : {}),
  });
  return new Promise((resolve, reject) => {
    ws.on("open", () => {
      ws.terminate();
      resolve("open");
    });
    ws.on("unexpected-response", (_req, res) => {
      res.resume();
      ws.terminate();
      resolve(res.statusCode ?? 0);
    });
    ws.on("error", reject);
  });
}

async function waitFor(pred: () => boolean, ms: number, what: string): Promise<void> {
  const start = Date.now();
  while (!pred()) {
    if (Date.now() - start > ms) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 10));
  }
}

const webDir = mkdtempSync(join(tmpdir(), "imsdc-demo-guard-"));
writeFileSync(join(webDir, "index.html"), "<!doctype html><title>imsdc</title>");

let server: DemoServer;
let port: number;
let wsUrl: string;
let wsPort: number;
let origin: string;

beforeAll(async () => {
  server = await DemoServer.start({ port: 0, sipWsPort: 0, webDir, allowHosts: ["demo.lab"] });
  port = Number(new URL(server.url).port);
  wsUrl = server.net.wsUrlA();
  wsPort = Number(new URL(wsUrl).port);
  origin = `http://127.0.0.1:${port}`;
});

afterAll(async () => {
  await server?.close();
  rmSync(webDir, { recursive: true, force: true });
});

const refusals = () => server.net.audit.events.filter((e) => e.node === "demo" && e.decision === "refused");

describe("Host allowlist (DNS rebinding)", () => {
  it.each(["/", "/api/config", "/api/events"])("Host: evil.example → 421 for %s, audited", async (path) => {
    const before = refusals().length;
    const r = await get(port, path, { Host: `evil.example:${port}` });
    expect(r.status).toBe(421);
    expect(r.body).toContain("E_DEMO_HOST");
    expect(r.body).not.toContain("sipWsUrl");
    const ev = refusals().at(-1);
    expect(refusals().length).toBe(before + 1);
    expect(ev).toMatchObject({ code: "E_DEMO_HOST", status: 421, surface: "http", host: `evil.example:${port}`, path });
    expect(ev?.clause).toBe("RFC 9110 §7.4");
  });

  it("our names with our port pass: 127.0.0.1, localhost, [::1], the --allow-host name", async () => {
    for (const h of [
      `127.0.0.1:${port}`,
      `localhost:${port}`,
      `[::1]:${port}`,
      `demo.lab:${port}`,
      `DEMO.LAB:${port}`,
    ]) {
      const r = await get(port, "/api/config", { Host: h });
      expect(r.status, h).toBe(200);
      expect(JSON.parse(r.body).aor).toBe("sip:alice@ims.example.com");
    }
    expect((await get(port, "/", {})).status).toBe(200);
  });

  it("our name with another port, no Host, or a malformed Host → 421", async () => {
    expect((await get(port, "/api/config", { Host: `127.0.0.1:${port + 1}` })).status).toBe(421);
    expect((await get(port, "/api/config", { Host: "127.0.0.1" })).status).toBe(421);
    expect((await get(port, "/api/config", { Host: "127.0.0.1:99999" })).status).toBe(421);
    expect((await get(port, "/api/config", { Host: "a b" })).status).toBe(421);
  });

  it("the SIP WebSocket upgrade with Host: evil.example → 421, audited", async () => {
    expect(await wsAttempt(wsUrl, { host: `evil.example:${wsPort}` })).toBe(421);
    expect(refusals().at(-1)).toMatchObject({ code: "E_DEMO_HOST", surface: "sip-ws", host: `evil.example:${wsPort}` });
    expect(await wsAttempt(wsUrl, { host: `localhost:${wsPort}` })).toBe("open");
  });
});

describe("Origin checks (cross-site requests, cross-site WebSocket hijacking)", () => {
  it("the SIP WebSocket refuses a foreign Origin (403), accepts the page's origins and clients without Origin", async () => {
    expect(await wsAttempt(wsUrl, { origin: "http://evil.example" })).toBe(403);
    expect(refusals().at(-1)).toMatchObject({ code: "E_DEMO_ORIGIN", surface: "sip-ws", clause: "RFC 6455 §10.2" });
    // another port on the same host is another origin (RFC 6454 §5)
    expect(await wsAttempt(wsUrl, { origin: `http://127.0.0.1:${port + 7}` })).toBe(403);
    expect(await wsAttempt(wsUrl, { origin: "null" })).toBe(403);
    expect(await wsAttempt(wsUrl, { origin })).toBe("open");
    expect(await wsAttempt(wsUrl, { origin: `http://localhost:${port}` })).toBe("open");
    expect(await wsAttempt(wsUrl, { origin: `http://demo.lab:${port}` })).toBe("open");
    // a non-browser client (the CLI UEs) sends no Origin
    expect(await wsAttempt(wsUrl)).toBe("open");
  });

  it("the API refuses a foreign Origin (403) and sends no CORS header", async () => {
    for (const path of ["/api/config", "/api/events"]) {
      const r = await get(port, path, { Origin: "http://evil.example" });
      expect(r.status, path).toBe(403);
      expect(r.body).toContain("E_DEMO_ORIGIN");
      expect(Object.keys(r.headers).filter((h) => h.startsWith("access-control-"))).toEqual([]);
    }
    const ok = await get(port, "/api/config", { Origin: origin, "Sec-Fetch-Site": "same-origin" });
    expect(ok.status).toBe(200);
    expect(Object.keys(ok.headers).filter((h) => h.startsWith("access-control-"))).toEqual([]);
    expect(ok.headers["cross-origin-resource-policy"]).toBe("same-origin");
  });

  it("the API refuses Sec-Fetch-Site cross-site and same-site (403); a navigation (none) passes", async () => {
    expect((await get(port, "/api/events", { "Sec-Fetch-Site": "cross-site" })).status).toBe(403);
    expect(refusals().at(-1)).toMatchObject({ code: "E_DEMO_FETCH_SITE", site: "cross-site" });
    expect((await get(port, "/api/config", { "Sec-Fetch-Site": "same-site" })).status).toBe(403);
    expect((await get(port, "/api/config", { "Sec-Fetch-Site": "none" })).status).toBe(200);
    // a page may be opened from anywhere (a link): the static page has only the Host check
    expect((await get(port, "/", { "Sec-Fetch-Site": "cross-site", Origin: "http://evil.example" })).status).toBe(200);
  });
});

describe("event-stream slots", () => {
  it("17+ streams: the newest page still gets its stream, the oldest is evicted (told so), never 503", async () => {
    const streams: Stream[] = [];
    try {
      for (let i = 0; i < 20; i++) streams.push(await openStream(port, `page${String(i).padStart(4, "0")}`));
      expect(streams.map((s) => s.status)).toEqual(Array(20).fill(200));
      await waitFor(() => server.eventStreams === 16, 2000, "16 streams");
      // the four oldest were told and ended; the newest holds a slot and receives events
      await waitFor(() => streams.slice(0, 4).every((s) => s.ended()), 2000, "evictions");
      expect(streams[0]?.text()).toContain("event: evicted");
      expect(streams[0]?.text()).toContain('"reason":"oldest"');
      expect(streams.slice(4).some((s) => s.ended())).toBe(false);
      const newest = streams[19];
      await get(port, "/api/config", { Host: "rebound.example" });
      await waitFor(() => newest?.text().includes("rebound.example") === true, 2000, "event on the newest");
    } finally {
      for (const s of streams) s.close();
    }
    await waitFor(() => server.eventStreams === 0, 2000, "streams released");
  });

  it("per client: a page's third stream replaces its oldest, other pages keep theirs", async () => {
    const other = await openStream(port, "otherpage1");
    const a = await openStream(port, "samepage01");
    const b = await openStream(port, "samepage01");
    const c = await openStream(port, "samepage01");
    try {
      await waitFor(() => a.ended(), 2000, "same-client eviction");
      expect(a.text()).toContain('"reason":"same-client"');
      expect(b.ended() || c.ended() || other.ended()).toBe(false);
      expect(server.eventStreams).toBe(3);
    } finally {
      for (const s of [other, a, b, c]) s.close();
    }
    await waitFor(() => server.eventStreams === 0, 2000, "streams released");
  });
});

describe("guard units", () => {
  it("parses Host values (RFC 9110 §7.2)", () => {
    expect(parseHostHeader("LocalHost:8080")).toEqual({ name: "localhost", port: 8080 });
    expect(parseHostHeader("[::1]:1")).toEqual({ name: "[::1]", port: 1 });
    expect(parseHostHeader("127.0.0.1")).toEqual({ name: "127.0.0.1", port: undefined });
    for (const bad of [undefined, "", "a b", "x:y", "x:123456", "user@host:1", "::1"])
      expect(parseHostHeader(bad)).toBe(undefined);
  });

  it("normalizes allowed hosts and refuses anything else with E_DEMO_ALLOW_HOST", () => {
    expect(normalizeAllowedHost("Demo.Lab")).toBe("demo.lab");
    expect(normalizeAllowedHost("::1")).toBe("[::1]");
    expect(normalizeAllowedHost("[fe80::1]")).toBe("[fe80::1]");
    for (const bad of ["demo.lab:8080", "http://demo.lab", "*.lab", "", "-x", "a_b"]) {
      expect(() => normalizeAllowedHost(bad), bad).toThrow(DemoError);
    }
  });

  it("refuses every Host and Origin until the ports are known; adds a specific listening address", () => {
    const g = new DemoGuard({ listenHost: "127.0.0.5" });
    expect(g.names.has("127.0.0.5")).toBe(true);
    expect(g.checkWs({ origin: undefined, host: "127.0.0.1:5", remote: "x" })?.status).toBe(421);
    g.setPorts(80, 5);
    expect(g.allowedOrigins()).toContain("http://127.0.0.5");
    expect(g.checkWs({ origin: "http://localhost", host: "127.0.0.1:5", remote: "x" })).toBe(undefined);
    expect(new DemoGuard({ listenHost: "0.0.0.0" }).names.has("0.0.0.0")).toBe(false);
  });

  it("imsdc demo --allow-host: a value that is not a host name or address is a usage error (exit 2)", async () => {
    for (const bad of ["http://demo.lab", "demo.lab:8080", "ok.lab,*.lab"]) {
      const io = memoryIo();
      expect(await main(["demo", "--no-build", "--allow-host", bad], io), bad).toBe(EXIT.USAGE);
      expect(io.err()).toContain("--allow-host: not a host name or IP address");
    }
  });

  it("DemoServer.start refuses a bad allowHosts entry before anything listens (E_DEMO_ALLOW_HOST)", async () => {
    await expect(DemoServer.start({ port: 0, sipWsPort: 0, allowHosts: ["a b"] })).rejects.toMatchObject({
      code: "E_DEMO_ALLOW_HOST",
    });
  });
});
