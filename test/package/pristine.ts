/**
 * An unpatched werift (the published 0.24.4) for the tests of the fail-closed guard: node_modules/werift copied under
 * test/artifacts/ and the hardening patch reversed (`scripts/werift.mjs pristine`). Inside the repository, so its own
 * dependencies resolve from the project's node_modules.
 */
import { execFileSync } from "node:child_process";
import { existsSync } from "node:fs";
import { join } from "node:path";
import { fileURLToPath } from "node:url";

const ROOT = fileURLToPath(new URL("../..", import.meta.url));

/** Directory containing node_modules/werift (unpatched); created once per process. */
export function pristineWeriftDir(): string {
  const dir = join(ROOT, "test", "artifacts", `werift-pristine-${process.pid}`);
  if (!existsSync(join(dir, "node_modules", "werift", "lib", "index.mjs"))) {
    execFileSync(process.execPath, [join(ROOT, "scripts", "werift.mjs"), "pristine", dir], { stdio: "ignore" });
  }
  return dir;
}

/** The unpatched ESM build, as `#werift` would load it. */
export function pristineWeriftEsm(): string {
  return join(pristineWeriftDir(), "node_modules", "werift", "lib", "index.mjs");
}
