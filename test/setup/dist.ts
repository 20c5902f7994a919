/**
 * vitest globalSetup: tests import the sources, but a few run what a consumer runs (examples/ import `imsdc/ue`, which
 * resolves through package.json#exports to dist/). When any file under src/ is newer than dist/ (or dist/ is missing),
 * dist/ is rebuilt once before the run, so those tests never exercise stale JavaScript.
 */
import { execFileSync } from "node:child_process";
import { readdirSync, statSync } from "node:fs";
import { join } from "node:path";
import { fileURLToPath } from "node:url";

const ROOT = fileURLToPath(new URL("../..", import.meta.url));

function newest(dir: string, ext: RegExp): number {
  let m = 0;
  for (const e of readdirSync(dir, { withFileTypes: true })) {
    const p = join(dir, e.name);
    if (e.isDirectory()) m = Math.max(m, newest(p, ext));
    else if (ext.test(e.name)) m = Math.max(m, statSync(p).mtimeMs);
  }
  return m;
}

export default function setup(): void {
  let built = 0;
  try {
    built = statSync(join(ROOT, "dist", "cli", "bin.js")).mtimeMs;
  } catch {
    built = 0;
  }
  if (built >= newest(join(ROOT, "src"), /\.ts$/)) return;
  execFileSync(
    process.execPath,
    [join(ROOT, "node_modules", "typescript", "bin", "tsc"), "-p", "tsconfig.build.json"],
    {
      cwd: ROOT,
      stdio: "inherit",
    },
  );
}
