#!/usr/bin/env node
/**
 * The hardened werift that imsdc ships (DESIGN.md "Dependencies that fail open").
 *
 *   node scripts/werift.mjs vendor            node_modules/werift (patched by patch-package) → vendor/werift/
 *   node scripts/werift.mjs pristine <dir>    an UNPATCHED copy at <dir>/node_modules/werift (tests of the guard)
 *
 * `vendor` fails (exit 1) unless node_modules/werift is the pinned version with every hunk of
 * patches/werift+<version>.patch applied (`git apply --check -R`), so a package can never be built from an unpatched or
 * partly patched werift. vendor/werift/ holds the ESM build `index.mjs` byte for byte as patched, werift's licence, and
 * PROVENANCE.json (upstream version, patch file and the SHA-256 of both). It is git-ignored and packed into the
 * tarball; `package.json#imports["#werift"]` points the sources at it, so an installed imsdc never resolves a werift
 * of the consumer's tree.
 */
import { execFileSync } from "node:child_process";
import { createHash } from "node:crypto";
import { cpSync, existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { dirname, join, resolve } from "node:path";
import { fileURLToPath } from "node:url";

const ROOT = resolve(dirname(fileURLToPath(import.meta.url)), "..");
const pkg = JSON.parse(readFileSync(join(ROOT, "package.json"), "utf8"));
const VERSION = pkg.devDependencies?.werift;
const PATCH = `patches/werift+${VERSION}.patch`;
const SOURCE = join(ROOT, "node_modules", "werift");
const VENDOR = join(ROOT, "vendor", "werift");

function fail(message) {
  process.stderr.write(`scripts/werift.mjs: ${message}\n`);
  process.exit(1);
}

function sha256(path) {
  return createHash("sha256").update(readFileSync(path)).digest("hex");
}

function gitApply(args, cwd) {
  try {
    execFileSync("git", ["apply", ...args, join(ROOT, PATCH)], { cwd, stdio: ["ignore", "ignore", "pipe"] });
    return undefined;
  } catch (e) {
    return e instanceof Error && "stderr" in e ? String(e.stderr) : String(e);
  }
}

function checkSource() {
  if (!/^\d+\.\d+\.\d+$/.test(VERSION ?? ""))
    fail(`package.json must pin werift to an exact version (found ${VERSION})`);
  if (!existsSync(join(ROOT, PATCH))) fail(`${PATCH} is missing`);
  const installed = JSON.parse(readFileSync(join(SOURCE, "package.json"), "utf8")).version;
  if (installed !== VERSION) fail(`node_modules/werift is ${installed}, the patch is for ${VERSION}: run npm ci`);
  // every hunk applied ⇔ the patch reverses cleanly (paths in the patch are relative to the repository root)
  const err = gitApply(["--check", "-R"], ROOT);
  if (err !== undefined)
    fail(`${PATCH} is not (fully) applied to node_modules/werift: run \`npx patch-package\`\n${err}`);
}

function vendor() {
  checkSource();
  rmSync(VENDOR, { recursive: true, force: true });
  mkdirSync(VENDOR, { recursive: true });
  const upstream = JSON.parse(readFileSync(join(SOURCE, "package.json"), "utf8"));
  cpSync(join(SOURCE, "lib", "index.mjs"), join(VENDOR, "index.mjs"));
  const provenance = {
    upstream: `werift@${VERSION}`,
    file: "lib/index.mjs",
    patch: PATCH,
    patchSha256: sha256(join(ROOT, PATCH)),
    sha256: sha256(join(VENDOR, "index.mjs")),
  };
  writeFileSync(join(VENDOR, "PROVENANCE.json"), `${JSON.stringify(provenance, null, 2)}\n`);
  writeFileSync(
    join(VENDOR, "package.json"),
    `${JSON.stringify(
      {
        name: "werift",
        version: `${VERSION}+imsdc-hardened`,
        description: "werift's ESM build with imsdc's hardening patch applied (see PROVENANCE.json)",
        license: upstream.license,
        private: true,
        type: "module",
        exports: { ".": "./index.mjs" },
      },
      null,
      2,
    )}\n`,
  );
  writeFileSync(
    join(VENDOR, "LICENSE"),
    `the npm package werift ${VERSION} is published under the ${upstream.license} licence\n` +
      `by ${typeof upstream.author === "string" ? upstream.author : (upstream.author?.name ?? "its authors")}. ` +
      `index.mjs is its lib/index.mjs with ${PATCH} applied.\n`,
  );
  process.stdout.write(`vendor/werift: werift@${VERSION} + ${PATCH} (sha256 ${provenance.sha256.slice(0, 16)}…)\n`);
}

function pristine(dir) {
  if (!dir) fail("usage: node scripts/werift.mjs pristine <dir>");
  checkSource();
  const target = join(resolve(dir), "node_modules", "werift");
  // reverse outside any git work tree: inside one, `git apply` resolves paths from the top of that tree and silently
  // skips the rest
  const scratch = mkdtempSync(join(tmpdir(), "werift-pristine-"));
  try {
    cpSync(SOURCE, join(scratch, "node_modules", "werift"), { recursive: true });
    const err = gitApply(["-R"], scratch);
    if (err !== undefined) fail(`could not reverse ${PATCH}\n${err}`);
    if (readFileSync(join(scratch, "node_modules", "werift", "lib", "index.mjs"), "utf8").includes("IMSDC_HARDENING")) {
      fail(`reversing ${PATCH} left the hardening marker in place`);
    }
    rmSync(target, { recursive: true, force: true });
    mkdirSync(dirname(target), { recursive: true });
    cpSync(join(scratch, "node_modules", "werift"), target, { recursive: true });
  } finally {
    rmSync(scratch, { recursive: true, force: true });
  }
  process.stdout.write(`${target}: werift@${VERSION} without the patch\n`);
}

const [cmd, arg] = process.argv.slice(2);
if (cmd === "vendor") vendor();
else if (cmd === "pristine") pristine(arg);
else fail("usage: node scripts/werift.mjs vendor | pristine <dir>");
