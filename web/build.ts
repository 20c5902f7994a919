/**
 * Builds the demo page into web/dist with esbuild: web/src/main.ts → app.js (ESM, browser), style.css → app.css,
 * index.html copied. `imsdc demo` calls `ensureWebBuilt()` at start, so `npm ci && npm start` works on a fresh
 * clone; web/dist is git-ignored. Stale = any file under web/src, src/sdp, src/sip or src/demo is newer than the
 * bundle. Run by hand: `node --import tsx web/build.ts [--force]`.
 */
import { copyFile, mkdir, mkdtemp, readdir, rename, rm, stat } from "node:fs/promises";
import { join } from "node:path";
import { fileURLToPath } from "node:url";

const ROOT = fileURLToPath(new URL("..", import.meta.url));
export const WEB_DIST = join(ROOT, "web", "dist");
const SOURCES = ["web/src", "src/sdp", "src/sip", "src/demo", "src/errors.ts", "src/log.ts", "web/build.ts"];
const OUTPUTS = ["index.html", "app.js", "app.css"];

async function newest(path: string): Promise<number> {
  const s = await stat(path).catch(() => undefined);
  if (!s) return 0;
  if (!s.isDirectory()) return s.mtimeMs;
  let m = s.mtimeMs;
  for (const e of await readdir(path)) m = Math.max(m, await newest(join(path, e)));
  return m;
}

/** True when web/dist is missing or older than any of its sources. */
export async function webIsStale(): Promise<boolean> {
  let oldest = Number.POSITIVE_INFINITY;
  for (const o of OUTPUTS) {
    const s = await stat(join(WEB_DIST, o)).catch(() => undefined);
    if (!s) return true;
    oldest = Math.min(oldest, s.mtimeMs);
  }
  let src = 0;
  for (const p of SOURCES) src = Math.max(src, await newest(join(ROOT, p)));
  return src > oldest;
}

export interface WebBuildResult {
  built: boolean;
  ms: number;
  bytes: number;
}

/** Builds web/dist when it is missing or stale (or `force`). Throws when esbuild is missing or the build fails. */
export async function ensureWebBuilt(opts: { force?: boolean } = {}): Promise<WebBuildResult> {
  const t0 = performance.now();
  if (!opts.force && !(await webIsStale())) return { built: false, ms: performance.now() - t0, bytes: 0 };
  let esbuild: typeof import("esbuild");
  try {
    esbuild = await import("esbuild");
  } catch (e) {
    throw new Error(
      "esbuild is not installed (a devDependency): run `npm ci` in the repository to build the demo page",
      {
        cause: e,
      },
    );
  }
  await mkdir(WEB_DIST, { recursive: true });
  // build into a private directory, then rename each file into place (atomic): two processes building at once
  // (the demo and a test) never see a half-written bundle
  const tmp = await mkdtemp(join(WEB_DIST, ".build-"));
  let bytes = 0;
  try {
    const common = {
      bundle: true,
      minify: true,
      sourcemap: true,
      metafile: true,
      logLevel: "silent",
      legalComments: "none",
      platform: "browser",
      target: "chrome120",
    } as const;
    const js = await esbuild.build({
      ...common,
      entryPoints: [join(ROOT, "web/src/main.ts")],
      outfile: join(tmp, "app.js"),
      format: "esm",
    });
    const css = await esbuild.build({
      ...common,
      entryPoints: [join(ROOT, "web/src/style.css")],
      outfile: join(tmp, "app.css"),
    });
    await copyFile(join(ROOT, "web/src/index.html"), join(tmp, "index.html"));
    for (const f of ["app.js.map", "app.css.map", "app.js", "app.css", "index.html"]) {
      await rename(join(tmp, f), join(WEB_DIST, f));
    }
    for (const r of [js, css]) bytes += Object.values(r.metafile?.outputs ?? {}).reduce((n, o) => n + o.bytes, 0);
  } finally {
    await rm(tmp, { recursive: true, force: true });
  }
  return { built: true, ms: performance.now() - t0, bytes };
}

if (process.argv[1] && fileURLToPath(import.meta.url) === process.argv[1]) {
  const r = await ensureWebBuilt({ force: process.argv.includes("--force") });
  console.log(r.built ? `web/dist built in ${r.ms.toFixed(0)} ms (${r.bytes} bytes)` : "web/dist is up to date");
}
