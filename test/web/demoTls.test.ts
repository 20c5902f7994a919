/**
 * `imsdc demo --tls` in real Chromium: the page is served over https and registers over SIP/WSS (RFC 7118 §5) at
 * P-CSCF(A), every certificate issued by the CA generated at start. Chromium is told to trust that CA through
 * --ignore-certificate-errors-spki-list (the CA's SPKI hash; the servers send the chain leaf + CA), as a lab engineer
 * would; without it the page does not load at all (the certificate is not trusted). Then a call with both
 * fingerprints verified.
 */
import type { Page } from "playwright-core";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { spkiSha256 } from "../../src/cli/demo.ts";
import { DemoServer } from "../../src/demo/server.ts";
import { ensureWebBuilt } from "../../web/build.ts";
import { type Browser, CHROMIUM, chromiumPresent, launchChromium } from "./chromium.ts";

const present = chromiumPresent();
if (!present) console.log(`Chromium not found at ${CHROMIUM}: browser tests SKIPPED`);

describe.skipIf(!present)("browser demo over https + WSS (Chromium)", () => {
  let server: DemoServer;
  let browser: Browser;
  let page: Page;
  const pageErrors: string[] = [];

  beforeAll(async () => {
    await ensureWebBuilt();
    server = await DemoServer.start({ port: 0, sipWsPort: 0, tls: true });
    const ca = server.caPem;
    if (!ca) throw new Error("no CA");
    browser = await launchChromium({ extraArgs: [`--ignore-certificate-errors-spki-list=${spkiSha256(ca)}`] });
    page = browser.ctx.pages()[0] ?? (await browser.ctx.newPage());
    page.on("pageerror", (e) => pageErrors.push(e.message));
    page.on("console", (m) => {
      if (m.type() === "error") pageErrors.push(m.text());
    });
  }, 30_000);

  afterAll(async () => {
    await browser?.close();
    await server?.close();
  });

  it("serves the page over https and registers alice over SIP/WSS", async () => {
    expect(server.url).toMatch(/^https:\/\/127\.0\.0\.1:\d+\/$/);
    await page.goto(server.url);
    await page.waitForSelector("#pill-reg[data-state=ok]", { timeout: 10_000 });
    expect(await page.textContent("#pill-ws")).toContain("SIP/WSS");
    expect(server.net.pcscfA.access.layer.connectionStats("WSS")?.open).toBe(1);
    expect(server.net.pcscfA.registrations.size).toBe(1);
    expect(pageErrors).toEqual([]);
  });

  it("calls bob over TLS hops: data channel open, both fingerprints verified", async () => {
    await page.click("#btn-call");
    await page.waitForSelector("#v-a[data-state=ok]", { timeout: 15_000 });
    await page.waitForSelector("#v-b[data-state=ok]", { timeout: 15_000 });
    await page.waitForSelector(".msg.peer >> text=bob here", { timeout: 5_000 });
    expect(server.net.audit.events.filter((e) => e.decision === "tls-refused")).toEqual([]);
  });

  it("a browser that does not trust the demo CA cannot load the page", async () => {
    const b2 = await launchChromium();
    try {
      const p2 = b2.ctx.pages()[0] ?? (await b2.ctx.newPage());
      const err = await p2.goto(server.url).then(
        () => "loaded",
        (e: unknown) => String(e),
      );
      expect(err).toMatch(/ERR_CERT_AUTHORITY_INVALID|ERR_CERT/);
    } finally {
      await b2.close();
    }
  });
});
