/**
 * The browser demo in real Chromium (playwright-core, /usr/bin/chromium, notes/peers.md Recipe 2): the page loads,
 * registers over SIP/WS through P-CSCF(A), calls bob through S-CSCF and P-CSCF(B), the data channel opens with both
 * fingerprints verified, chat works both ways; the tamper control fails closed; the e2ae control gets the 488.
 * The demo network runs in-process on 127.0.0.1 ephemeral ports. Screenshots: test/artifacts/demo*.png.
 */
import { mkdirSync } from "node:fs";
import { fileURLToPath } from "node:url";
import type { Page } from "playwright-core";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { DemoServer } from "../../src/demo/server.ts";
import { ensureWebBuilt } from "../../web/build.ts";
import { type Browser, CHROMIUM, chromiumPresent, launchChromium } from "./chromium.ts";

const ARTIFACTS = fileURLToPath(new URL("../artifacts/", import.meta.url));
const present = chromiumPresent();
if (!present) console.log(`Chromium not found at ${CHROMIUM}: browser tests SKIPPED`);

describe.skipIf(!present)("browser demo (Chromium)", () => {
  let server: DemoServer;
  let browser: Browser;
  let page: Page;
  const pageErrors: string[] = [];

  beforeAll(async () => {
    mkdirSync(ARTIFACTS, { recursive: true });
    await ensureWebBuilt();
    server = await DemoServer.start({ port: 0, sipWsPort: 0 });
    browser = await launchChromium();
    page = browser.ctx.pages()[0] ?? (await browser.ctx.newPage());
    page.on("pageerror", (e) => pageErrors.push(e.message));
    page.on("console", (m) => {
      if (m.type() === "error") pageErrors.push(m.text());
    });
    await page.goto(server.url);
  }, 30_000);

  afterAll(async () => {
    await browser?.close();
    await server?.close();
  });

  it("loads and registers alice over SIP/WS through P-CSCF(A)", async () => {
    await page.waitForSelector("#pill-reg[data-state=ok]", { timeout: 10_000 });
    expect(await page.textContent("#pill-reg")).toContain("alice@ims.example.com");
    await page.waitForSelector("#pill-side[data-state=ok]", { timeout: 5_000 });
    // P-CSCF(A) keeps the page's registration (RFC 7118 §5.2: a .invalid Contact host)
    expect(server.net.pcscfA.registrations.size).toBe(1);
    expect(pageErrors).toEqual([]);
  });

  it("calls bob: data channel open, both fingerprints verified, chat both ways", async () => {
    await page.click("#btn-call");
    await page.waitForSelector("#v-a[data-state=ok]", { timeout: 15_000 });
    await page.waitForSelector("#v-b[data-state=ok]", { timeout: 15_000 });
    // bob → alice: bob's greeting arrives on the data channel
    await page.waitForSelector(".msg.peer >> text=bob here", { timeout: 5_000 });
    // alice → bob → alice: the echo
    await page.fill("#chat-input", "hello from chromium");
    await page.click("#chat-send");
    await page.waitForSelector(".msg.peer >> text=bob echoes: hello from chromium", { timeout: 5_000 });
    const got = server.net.events.filter((e) => e.type === "ue" && e.ue === "ueB" && e.what === "chat-in");
    expect(got.map((e) => (e.type === "ue" ? e.data.text : ""))).toContain("hello from chromium");
    // the certificate Chromium saw (getStats) is the one bob's answer signalled, and bob verified Chromium's
    expect(await page.textContent("#v-a-seen")).toBe(await page.textContent("#v-a-sdp"));
    expect(await page.textContent("#v-b-seen")).toBe(await page.textContent("#v-b-sdp"));
    // both P-CSCFs decided e2e and forwarded the bodies unchanged (TS 33.328 §7.2.5 steps 2 and 5)
    expect(await page.locator("#decisions .tag.e2e").count()).toBeGreaterThanOrEqual(4);
    // the offer shows the lines the page added with src/sdp
    expect(await page.textContent("#sdp")).toMatch(/a=tls-id:[A-Za-z0-9+/_-]{20,}/);
    expect(await page.textContent("#sdp")).toContain('a=dcmap:1000 label="chat";subprotocol="msrp"');
    // the ladder has the INVITE on all four hops
    expect(await page.locator("#ladder text.alabel", { hasText: "INVITE (SDP offer)" }).count()).toBe(4);
    await page.evaluate(() => document.querySelector(".col-left")?.scrollTo(0, 0));
    await page.screenshot({ path: `${ARTIFACTS}demo.png` });
    await page.click("#theme");
    await page.screenshot({ path: `${ARTIFACTS}demo-dark.png` });
    await page.click("#theme");
    await page.click("#btn-hangup");
    await page.waitForSelector("#callstate >> text=ended", { timeout: 5_000 });
    expect(pageErrors).toEqual([]);
  }, 30_000);

  it("tamper: the offer leaves with a flipped fingerprint byte; bob's DTLS refuses, no data, BYE", async () => {
    await page.check("#opt-tamper");
    await page.click("#btn-call");
    await page.waitForSelector("#v-b[data-state=bad]", { timeout: 15_000 });
    await page.waitForSelector("#banner >> text=Fail closed", { timeout: 15_000 });
    const refused = server.net.audit.events.filter((e) => e.node === "ue" && e.decision === "peer-refused");
    expect(refused.length).toBeGreaterThan(0);
    expect(await page.locator(".msg.peer").count()).toBe(0);
    expect(await page.locator("#ladder text.alabel", { hasText: "BYE" }).count()).toBeGreaterThan(0);
    await page.screenshot({ path: `${ARTIFACTS}demo-tamper.png` });
    await page.uncheck("#opt-tamper");
  }, 30_000);

  it("e2ae requested: P-CSCF(A) takes the e2ae branch and refuses with 488 + Warning (no AGW anchoring)", async () => {
    await page.check("#opt-e2ae");
    await page.click("#btn-call");
    await page.waitForSelector("#banner >> text=488", { timeout: 10_000 });
    expect(await page.textContent("#banner")).toContain("E_ALG_E2AE_UNAVAILABLE");
    expect(await page.locator("#decisions .tag.refuse").count()).toBeGreaterThan(0);
    await page.screenshot({ path: `${ARTIFACTS}demo-e2ae.png` });
    await page.uncheck("#opt-e2ae");
    expect(pageErrors).toEqual([]);
  }, 20_000);

  it("a browser without the media permission: the page asks for the microphone once, then gathers 127.0.0.1", async () => {
    const b2 = await launchChromium({ grantMedia: false });
    try {
      const p2 = b2.ctx.pages()[0] ?? (await b2.ctx.newPage());
      await p2.goto(server.url);
      await p2.waitForSelector("#pill-reg[data-state=ok]", { timeout: 10_000 });
      await p2.click("#btn-call");
      await p2.waitForSelector("#v-a[data-state=ok]", { timeout: 15_000 });
      await p2.waitForSelector("#v-b[data-state=ok]", { timeout: 15_000 });
      expect(await p2.textContent("#sdp")).toMatch(/a=candidate:\S+ 1 udp \d+ 127\.0\.0\.1 /);
      await p2.click("#btn-hangup");
      await p2.waitForSelector("#callstate >> text=ended", { timeout: 5_000 });
    } finally {
      await b2.close();
    }
  }, 30_000);
});
