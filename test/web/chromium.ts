/**
 * Headless Chromium for the browser tests, exactly as notes/peers.md §2.2 Recipe 2 (default network namespace):
 * BASE flags + --allow-loopback-in-peer-connection + Playwright's own --disable-features list MERGED with
 * WebRtcHideLocalIpsWithMdns (a second --disable-features would replace Playwright's list) + host-resolver-rules as
 * ONE argv element (no DNS at all), camera+microphone permissions (no mDNS candidates), a persistent context on a
 * temporary user-data-dir. The page itself filters candidates to 127.0.0.1 in both directions (web/src/sdp.ts).
 */
import { existsSync, readFileSync } from "node:fs";
import { mkdtemp, rm } from "node:fs/promises";
import { createRequire } from "node:module";
import { tmpdir } from "node:os";
import { dirname, join } from "node:path";
import { type BrowserContext, chromium } from "playwright-core";

export const CHROMIUM = process.env.CHROME_BIN ?? "/usr/bin/chromium";

export function chromiumPresent(): boolean {
  return existsSync(CHROMIUM);
}

export const BASE_ARGS = [
  "--headless",
  "--no-sandbox",
  "--disable-gpu",
  "--disable-quic",
  "--no-first-run",
  "--disable-background-networking",
  "--disable-component-update",
  "--disable-sync",
];

/** playwright-core 1.65.1's own --disable-features list (chromiumSwitches.ts), used when it cannot be read. */
const PLAYWRIGHT_DISABLED_FEATURES_1_65 = [
  "AvoidUnnecessaryBeforeUnloadCheckSync",
  "DestroyProfileOnBrowserClose",
  "HttpsUpgrades",
  "HttpsFirstBalancedModeAutoEnable",
  "LensOverlay",
  "MediaRouter",
  "PaintHolding",
  "ThirdPartyStoragePartitioning",
  "AvoidCorsURLLoaderRestartOnRedirect",
  "TcpPortRandomizationWin",
  "OptimizationHints",
  "NetworkTimeServiceQuerying",
  "AimEnabled",
  "PreconnectToSearch",
  "msForceBrowserSignIn",
  "msEdgeUpdateLaunchServicesPreferredVersion",
];

/** Playwright's --disable-features list, read from the installed playwright-core (so the merge follows upgrades). */
export function playwrightDisabledFeatures(): string[] {
  try {
    const req = createRequire(import.meta.url);
    const root = dirname(req.resolve("playwright-core/package.json"));
    const src = readFileSync(join(root, "lib", "coreBundle.js"), "utf8");
    const start = src.indexOf("disabledFeatures = [");
    const end = src.indexOf("].filter(Boolean)", start);
    if (start < 0 || end < 0) return PLAYWRIGHT_DISABLED_FEATURES_1_65;
    const names = [...src.slice(start, end).matchAll(/^\s*"([A-Za-z0-9]+)",?\s*$/gm)].map((m) => m[1] ?? "");
    return names.length >= 5 ? names : PLAYWRIGHT_DISABLED_FEATURES_1_65;
  } catch {
    return PLAYWRIGHT_DISABLED_FEATURES_1_65;
  }
}

export function recipe2Args(): string[] {
  return [
    ...BASE_ARGS,
    "--allow-loopback-in-peer-connection",
    `--disable-features=${[...playwrightDisabledFeatures(), "WebRtcHideLocalIpsWithMdns"].join(",")}`,
    // one argv element, spaces inside (split, Playwright refuses it)
    "--host-resolver-rules=MAP * ~NOTFOUND , EXCLUDE 127.0.0.1",
  ];
}

export interface Browser {
  ctx: BrowserContext;
  close(): Promise<void>;
}

/**
 * Recipe 2. `grantMedia: false` leaves out the Playwright permission grant and adds Chromium's fake media UI and
 * device instead: the page then has to ask for the microphone itself (what a lab engineer's browser does).
 */
export async function launchChromium(opts: { grantMedia?: boolean; extraArgs?: string[] } = {}): Promise<Browser> {
  const udd = await mkdtemp(join(tmpdir(), "imsdc-chromium-"));
  const grant = opts.grantMedia !== false;
  const ctx = await chromium.launchPersistentContext(udd, {
    executablePath: CHROMIUM,
    headless: true,
    args: [
      ...recipe2Args(),
      ...(grant ? [] : ["--use-fake-ui-for-media-stream", "--use-fake-device-for-media-stream"]),
      ...(opts.extraArgs ?? []),
    ],
    ...(grant ? { permissions: ["camera", "microphone"] } : {}),
    viewport: { width: 1280, height: 800 },
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
