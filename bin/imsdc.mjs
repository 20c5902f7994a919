#!/usr/bin/env node
// imsdc launcher: runs the TypeScript sources through tsx's loader (no build step needed on a clone).
import { register } from "tsx/esm/api";

register();
const { main } = await import("../src/cli/main.ts");
const code = await main(process.argv.slice(2));
// every command has finished its work (long-running ones return after a clean shutdown): do not let a library
// timer that was not cleared keep the process alive
process.exit(code);
