/**
 * Chromium (full ICE, a peer we did not write) ↔ an imsdc UE in ICE-lite mode (TS 26.114 Annex A.17): whichever side
 * offers, Chromium is the full agent and controls ICE (RFC 8445 §6.1.1); the lite UE only answers its checks. The
 * channel opens with the fingerprint verified and carries data both ways. Recipe 2 of notes/peers.md: candidates are
 * filtered to 127.0.0.1 in both directions.
 */
import type { Page } from "playwright-core";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { DcEndpoint } from "../../src/ue/dcEndpoint.ts";
import { nextMessage, waitOpen } from "../ue/helpers.ts";
import { type Browser, CHROMIUM, chromiumPresent, launchChromium } from "./chromium.ts";

const present = chromiumPresent();
if (!present) console.log(`Chromium not found at ${CHROMIUM}: browser tests SKIPPED`);

/** Only 127.0.0.1 candidates cross (peers.md §2.2 Recipe 2). */
function loopbackOnly(sdp: string): string {
  return sdp
    .split(/\r\n/)
    .filter((l) => !l.startsWith("a=candidate:") || l.includes(" 127.0.0.1 "))
    .join("\r\n");
}

declare global {
  interface Window {
    pc: RTCPeerConnection;
    dc: RTCDataChannel;
    got: string[];
  }
}

/** A page-side peer with one negotiated channel (id 1000) that records what it receives. */
async function pagePeer(page: Page): Promise<void> {
  await page.evaluate(() => {
    window.got = [];
    window.pc = new RTCPeerConnection();
    window.dc = window.pc.createDataChannel("chat", { negotiated: true, id: 1000 });
    window.dc.onmessage = (e) => window.got.push(String(e.data));
  });
}

async function gathered(page: Page): Promise<string> {
  return page.evaluate(async () => {
    const pc = window.pc;
    if (pc.iceGatheringState !== "complete") {
      await new Promise<void>((r) => {
        pc.addEventListener("icegatheringstatechange", () => {
          if (pc.iceGatheringState === "complete") r();
        });
      });
    }
    return pc.localDescription?.sdp ?? "";
  });
}

async function exchange(page: Page, ue: DcEndpoint): Promise<void> {
  await page.waitForFunction(() => window.dc.readyState === "open", undefined, { timeout: 10_000 });
  await ue.connected();
  expect(ue.verdict?.verified).toBe(true);
  expect(ue.transport?.icePlan).toMatchObject({ kind: "ice", controlling: false });
  const ch = ue.channel(1000);
  if (!ch) throw new Error("channel missing");
  await waitOpen(ch);
  ch.send("from the lite UE");
  await page.waitForFunction(() => window.got.includes("from the lite UE"), undefined, { timeout: 5_000 });
  const back = nextMessage(ch);
  await page.evaluate(() => window.dc.send("from chromium"));
  expect(await back).toBe("from chromium");
}

describe.skipIf(!present)("Chromium (full ICE) ↔ imsdc UE (ICE-lite)", () => {
  let browser: Browser;
  let page: Page;

  beforeAll(async () => {
    browser = await launchChromium();
    page = browser.ctx.pages()[0] ?? (await browser.ctx.newPage());
  }, 30_000);

  afterAll(async () => {
    await browser?.close();
  });

  it("Chromium offers, the lite UE answers: Chromium controls, verified channel, data both ways", async () => {
    await pagePeer(page);
    await page.evaluate(() => window.pc.setLocalDescription());
    const offer = loopbackOnly(await gathered(page));
    const ue = new DcEndpoint({ name: "bob", ice: "lite" });
    try {
      const answer = await ue.acceptOffer(offer.replace(/(a=sctp-port:\d+\r\n)/, '$1a=dcmap:1000 label="chat"\r\n'));
      expect(answer).toMatch(/^a=ice-lite\r$/m);
      await page.evaluate((sdp) => window.pc.setRemoteDescription({ type: "answer", sdp }), loopbackOnly(answer));
      await exchange(page, ue);
    } finally {
      await ue.close();
      await page.evaluate(() => window.pc.close());
    }
  });

  it("the lite UE offers, Chromium answers and controls: verified channel, data both ways", async () => {
    await pagePeer(page);
    const ue = new DcEndpoint({ name: "alice", ice: "lite", channels: [{ id: 1000, label: "chat" }] });
    try {
      const offer = await ue.createOffer();
      expect(offer).toMatch(/^a=ice-lite\r$/m);
      await page.evaluate(async (sdp) => {
        await window.pc.setRemoteDescription({ type: "offer", sdp });
        await window.pc.setLocalDescription();
      }, loopbackOnly(offer));
      const answer = loopbackOnly(await gathered(page));
      await ue.acceptAnswer(answer);
      await exchange(page, ue);
    } finally {
      await ue.close();
      await page.evaluate(() => window.pc.close());
    }
  });
});
