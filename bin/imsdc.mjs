#!/usr/bin/env node
// imsdc launcher: runs the compiled CLI (dist/) with plain node. In a clone, `npm ci` builds dist/ (the `prepare`
// script); after editing src/, run `npm run build`, or run the sources: `node --import tsx src/cli/bin.ts`.
import { existsSync } from "node:fs";

const entry = new URL("../dist/cli/bin.js", import.meta.url);
if (!existsSync(entry)) {
  process.stderr.write("imsdc: dist/ is missing: run `npm run build` in the repository (npm ci does it too)\n");
  process.exit(3);
}
await import(entry.href);
