/**
 * The `imsdc` process entry: bin/imsdc.mjs runs the compiled dist/cli/bin.js with plain node; tests and development run
 * this source with `node --import tsx src/cli/bin.ts`.
 */
import { main } from "./main.ts";

const code = await main(process.argv.slice(2));
// every command has finished its work (long-running ones return after a clean shutdown): do not let a library
// timer that was not cleared keep the process alive
process.exit(code);
