/**
 * The demo's guard in real Chromium (playwright-core, /usr/bin/chromium, notes/peers.md Recipe 2 plus one resolver
 * rule mapping evil.example to 127.0.0.1):
 * - a page from another origin (a second HTTP server on 127.0.0.1:<other port>) tries to open P-CSCF(A)'s SIP
 *   WebSocket and register as alice, and to read /api/events: both refused by the server (403, audited);
 * - a DNS-rebinding page (http://evil.example:X/, first served by the attacker's server on port X, then X is a
 *   demo's) reads /api/config and /api/events "same-origin" and opens ws://evil.example:<ws port>/: 421;
 * - the real page, in the same browser, still registers, gets its side channel and calls bob (verified both ways).
 */
import { mkdtemp, rm } from "node:fs/promises";
import { createServer, type Server } from "node:http";
import type { AddressInfo } from "node:net";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { chromium, type Page } from "playwright-core";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { DemoServer } from "../../src/demo/server.ts";
import { ensureWebBuilt } from "../../web/build.ts";
import { type Browser, CHROMIUM, chromiumPresent, recipe2Args } from "./chromium.ts";

const present = chromiumPresent();
if (!present) console.log(`Chromium not found at ${CHROMIUM}: browser tests SKIPPED`);

/** Recipe 2 with evil.example resolving to 127.0.0.1 (the rebinding's second answer); everything else as before. */
async function launchWithEvilDns(): Promise<Browser> {
  const udd = await mkdtemp(join(tmpdir(), "imsdc-chromium-"));
  const args = recipe2Args().map((a) =>
    a.startsWith("--host-resolver-rules=")
      ? "--host-resolver-rules=MAP evil.example 127.0.0.1 , MAP * ~NOTFOUND , EXCLUDE 127.0.0.1"
      : a,
  );
  const ctx = await chromium.launchPersistentContext(udd, {
    executablePath: CHROMIUM,
    headless: true,
    args,
    permissions: ["camera", "microphone"],
    timeout: 15_000,
  });
  return {
    ctx,
    async close() {
      await ctx.close().catch(() => undefined);
      await rm(udd, { recursive: true, force: true }).catch(() => undefined);
    },
  };
}

/**
 * The attacker's script: SIP WebSocket + REGISTER as alice, the event stream, /api/config; results in window.r.
 * Runs at once, or (`later`) when the test calls window.go(wsUrl).
 */
function attackScript(wsUrl: string, api: string, later = false): string {
  const register = [
    "REGISTER sip:ims.example.com SIP/2.0",
    "Via: SIP/2.0/WS evil1.invalid;branch=z9hG4bK-evil-1",
    "Max-Forwards: 70",
    "From: <sip:alice@ims.example.com>;tag=evil",
    "To: <sip:alice@ims.example.com>",
    "Call-ID: evil-1@evil1.invalid",
    "CSeq: 1 REGISTER",
    "Contact: <sip:alice@evil1.invalid;transport=ws>",
    "Expires: 600",
    "Content-Length: 0",
    "",
    "",
  ].join("\r\n");
  const run = `(wsUrl) => {
    const r = { ws: "pending", wsReply: null, es: "pending", events: 0, config: "pending" };
    window.r = r;
    const ws = new WebSocket(wsUrl, "sip");
    ws.onopen = () => { r.ws = "open"; ws.send(${JSON.stringify(register)}); };
    ws.onmessage = (m) => { r.wsReply = String(m.data).split("\\r\\n")[0]; };
    ws.onerror = () => { if (r.ws === "pending") r.ws = "refused"; };
    const es = new EventSource(${JSON.stringify(`${api}/api/events?client=attacker0001`)});
    es.onopen = () => { r.es = "open"; };
    es.onmessage = () => { r.events++; };
    es.onerror = () => { if (r.es !== "open") r.es = "refused"; es.close(); };
    fetch(${JSON.stringify(`${api}/api/config`)}).then(
      async (res) => { r.config = res.status + " " + (await res.text()).slice(0, 60); },
      () => { r.config = "refused"; },
    );
  }`;
  return later ? `window.go = ${run};` : `(${run})(${JSON.stringify(wsUrl)});`;
}

interface AttackResult {
  ws: string;
  wsReply: string | null;
  es: string;
  events: number;
  config: string;
}

async function settled(p: Page): Promise<AttackResult> {
  await p.waitForFunction(
    () => {
      const r = (window as unknown as { r?: AttackResult }).r;
      return r !== undefined && r.ws !== "pending" && r.es !== "pending" && r.config !== "pending";
    },
    undefined,
    { timeout: 10_000 },
  );
  // give an accepted WebSocket the time to get its REGISTER answered (it must not be)
  await p.waitForTimeout(500);
  return p.evaluate(() => (window as unknown as { r: AttackResult }).r);
}

describe.skipIf(!present)("demo guard in Chromium: foreign origins and DNS rebinding", () => {
  let server: DemoServer;
  let evil: Server;
  let evilPort: number;
  let browser: Browser;
  let demoPort: number;

  beforeAll(async () => {
    await ensureWebBuilt();
    server = await DemoServer.start({ port: 0, sipWsPort: 0 });
    demoPort = Number(new URL(server.url).port);
    // the attacker's site: another origin on 127.0.0.1 (another port)
    evil = createServer((_req, res) => {
      res.writeHead(200, { "Content-Type": "text/html; charset=utf-8" });
      res.end(
        `<!doctype html><title>evil</title><script>${attackScript(server.net.wsUrlA(), `http://127.0.0.1:${demoPort}`)}</script>`,
      );
    });
    await new Promise<void>((r) => evil.listen({ host: "127.0.0.1", port: 0 }, () => r()));
    evilPort = (evil.address() as AddressInfo).port;
    browser = await launchWithEvilDns();
  }, 30_000);

  afterAll(async () => {
    await browser?.close();
    if (evil) await new Promise<void>((r) => evil.close(() => r()));
    await server?.close();
  });

  const refusals = () => server.net.audit.events.filter((e) => e.node === "demo" && e.decision === "refused");

  it("a page from another origin can neither register over the SIP WebSocket nor read the event stream", async () => {
    const p = await browser.ctx.newPage();
    try {
      await p.goto(`http://127.0.0.1:${evilPort}/`);
      const r = await settled(p);
      expect(r.ws).toBe("refused");
      expect(r.wsReply).toBe(null);
      expect(r.es).toBe("refused");
      expect(r.events).toBe(0);
      expect(r.config).toBe("refused");
      // refused by the server itself (not only by the browser's CORS): audited, no stream held, nobody registered
      const origin = `http://127.0.0.1:${evilPort}`;
      expect(refusals()).toEqual(
        expect.arrayContaining([
          expect.objectContaining({ code: "E_DEMO_ORIGIN", surface: "sip-ws", origin }),
          expect.objectContaining({ code: "E_DEMO_ORIGIN", surface: "http", origin, path: "/api/events" }),
        ]),
      );
      expect(server.eventStreams).toBe(0);
      expect(server.net.pcscfA.registrations.size).toBe(0);
    } finally {
      await p.close();
    }
  }, 30_000);

  it("a DNS-rebound page (evil.example → 127.0.0.1) gets 421 on the API, the event stream and the SIP WebSocket", async () => {
    // DNS rebinding, same name and port: the attacker's server answers first at evil.example:X (X = a port on
    // 127.0.0.1), the page loads, then X is the demo's: the page's later requests reach the demo under its own name
    const attacker = createServer((_req, res) => {
      res.writeHead(200, { "Content-Type": "text/html; charset=utf-8", Connection: "close" });
      res.end(`<!doctype html><title>rebound</title><script>${attackScript("", "", true)}</script>`);
    });
    await new Promise<void>((r) => attacker.listen({ host: "127.0.0.1", port: 0 }, () => r()));
    const x = (attacker.address() as AddressInfo).port;
    const p = await browser.ctx.newPage();
    let rebound: DemoServer | undefined;
    try {
      await p.goto(`http://evil.example:${x}/`);
      attacker.closeAllConnections();
      await new Promise<void>((r) => attacker.close(() => r()));
      rebound = await DemoServer.start({ port: x, sipWsPort: 0 });
      const ws = Number(new URL(rebound.net.wsUrlA()).port);
      await p.evaluate((u) => (window as unknown as { go(u: string): void }).go(u), `ws://evil.example:${ws}/`);
      const r = await settled(p);
      expect(r.config).toMatch(/^421 /);
      expect(r.config).not.toContain("sipWsUrl");
      expect(r.es).toBe("refused");
      expect(r.ws).toBe("refused");
      const seen = rebound.net.audit.events.filter((e) => e.node === "demo" && e.decision === "refused");
      expect(seen).toEqual(
        expect.arrayContaining([
          expect.objectContaining({ code: "E_DEMO_HOST", surface: "http", path: "/api/config" }),
          expect.objectContaining({ code: "E_DEMO_HOST", surface: "http", path: "/api/events" }),
          expect.objectContaining({ code: "E_DEMO_HOST", surface: "sip-ws", host: `evil.example:${ws}` }),
        ]),
      );
      expect(rebound.eventStreams).toBe(0);
      expect(rebound.net.pcscfA.registrations.size).toBe(0);
    } finally {
      await p.close();
      if (attacker.listening) attacker.close();
      await rebound?.close();
    }
  }, 30_000);

  it("the real page still registers, gets its side channel and calls bob (both fingerprints verified)", async () => {
    const p = await browser.ctx.newPage();
    const errors: string[] = [];
    p.on("pageerror", (e) => errors.push(e.message));
    try {
      await p.goto(server.url);
      await p.waitForSelector("#pill-reg[data-state=ok]", { timeout: 10_000 });
      await p.waitForSelector("#pill-side[data-state=ok]", { timeout: 5_000 });
      expect(server.net.pcscfA.registrations.size).toBe(1);
      expect(server.eventStreams).toBe(1);
      await p.click("#btn-call");
      await p.waitForSelector("#v-a[data-state=ok]", { timeout: 15_000 });
      await p.waitForSelector("#v-b[data-state=ok]", { timeout: 15_000 });
      await p.waitForSelector(".msg.peer >> text=bob here", { timeout: 5_000 });
      await p.click("#btn-hangup");
      await p.waitForSelector("#callstate >> text=ended", { timeout: 5_000 });
      expect(errors).toEqual([]);
    } finally {
      await p.close();
    }
  }, 40_000);
});
