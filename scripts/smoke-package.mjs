#!/usr/bin/env node
/**
 * Package smoke test (`npm run test:package`, run by .ci/run): what a user gets from `npm install imsdc`.
 *
 *  1. `npm pack` (the prepare script patches werift, vendors it and builds dist/ and web/dist first);
 *     the tarball must hold dist/, vendor/werift (the hardened engine), web/dist, LICENSE and every file README links to.
 *  2. A fresh ESM project outside the repository installs the tarball with install scripts DISABLED
 *     (`--ignore-scripts`, the setting that silently dropped the old postinstall patch) next to the PUBLISHED werift
 *     0.24.4 at its top level (the unpatched engine a consumer may well have).
 *  3. There, with plain `node` (no loader): every public entry imports; a two-UE data channel call through the embedded
 *     IMS network verifies both fingerprints; the DTLS impersonator is refused in both roles.
 *     The README's library snippets run as printed.
 *  4. A strict NodeNext TypeScript consumer typechecks against the shipped .d.ts (skipLibCheck off).
 *  5. `npx imsdc demo` serves the page and its script.
 *  6. The installed package's engine is swapped for the unpatched published build: the UE refuses the call with
 *     E_ENGINE_UNHARDENED (fail closed), audited.
 *
 * Prints one line per check and `N passed, M failed`; exit 0 only when all pass. `--keep` keeps the project directory.
 */
import { execFileSync, spawn } from "node:child_process";
import { copyFileSync, cpSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { dirname, join, resolve } from "node:path";
import { fileURLToPath } from "node:url";

const ROOT = resolve(dirname(fileURLToPath(import.meta.url)), "..");
const CONSUMER = join(ROOT, "test", "package", "consumer");
const args = process.argv.slice(2);
if (args.includes("--help") || args.includes("-h")) {
  process.stdout.write(
    "usage: node scripts/smoke-package.mjs [--keep]\n  pack, install into a fresh project, run it\n",
  );
  process.exit(0);
}
const keep = args.includes("--keep");
const pkg = JSON.parse(readFileSync(join(ROOT, "package.json"), "utf8"));
const npm = process.platform === "win32" ? "npm.cmd" : "npm";
let passed = 0;
let failed = 0;

function check(name, fn) {
  const t0 = performance.now();
  try {
    const detail = fn();
    passed++;
    process.stdout.write(
      `✔ ${name} (${Math.round(performance.now() - t0)} ms)${detail ? `\n${indent(detail)}` : ""}\n`,
    );
    return true;
  } catch (e) {
    failed++;
    const out = [e?.stdout, e?.stderr].filter(Boolean).map(String).join("\n");
    process.stdout.write(`✘ ${name}: ${e?.message?.split("\n")[0] ?? e}\n${indent(out)}\n`);
    return false;
  }
}

const indent = (s) =>
  String(s)
    .trimEnd()
    .split("\n")
    .map((l) => `    ${l}`)
    .join("\n");

function run(cmd, argv, cwd, opts = {}) {
  return execFileSync(cmd, argv, {
    cwd,
    encoding: "utf8",
    stdio: ["ignore", "pipe", "pipe"],
    timeout: opts.timeout ?? 120_000,
    env: { ...process.env, npm_config_audit: "false", npm_config_fund: "false", npm_config_update_notifier: "false" },
  });
}

const work = mkdtempSync(join(tmpdir(), "imsdc-smoke-"));
const project = join(work, "consumer");
let tarball;

try {
  check("npm pack", () => {
    const out = run(npm, ["pack", "--json", "--pack-destination", work], ROOT, { timeout: 300_000 });
    const info = JSON.parse(out.slice(out.indexOf("[")))[0];
    tarball = join(work, info.filename);
    const files = new Set(info.files.map((f) => f.path));
    const need = [
      "bin/imsdc.mjs",
      "dist/cli/bin.js",
      "dist/ue/index.js",
      "dist/ue/index.d.ts",
      "dist/browser.js",
      "vendor/werift/index.mjs",
      "vendor/werift/PROVENANCE.json",
      `patches/werift+${pkg.devDependencies.werift}.patch`,
      "web/dist/index.html",
      "web/dist/app.js",
      "LICENSE",
      "README.md",
    ];
    const missing = need.filter((f) => !files.has(f));
    // README may only link to what is packed
    const readme = readFileSync(join(ROOT, "README.md"), "utf8");
    for (const m of readme.matchAll(/\]\((?!https?:|#|mailto:)([^)#\s]+)(?:#[^)]*)?\)/g)) {
      const target = m[1].replace(/^\.\//, "").replace(/\/$/, "");
      if (![...files].some((f) => f === target || f.startsWith(`${target}/`)))
        missing.push(`${target} (linked from README)`);
    }
    if (missing.length) throw new Error(`tarball lacks: ${missing.join(", ")}`);
    if ([...files].some((f) => f.startsWith("src/") || f.startsWith("test/")))
      throw new Error("tarball ships src/ or test/");
    const vendored = readFileSync(join(ROOT, "vendor/werift/index.mjs"), "utf8");
    if (!vendored.includes("IMSDC_HARDENING")) throw new Error("vendor/werift is not the hardened build");
    return `${info.filename}: ${info.entryCount} files, ${(info.size / 1024).toFixed(0)} KiB packed`;
  });
  if (!tarball) throw new Error("no tarball");

  check("install the tarball (--ignore-scripts) beside the published werift, typescript and @types/node", () => {
    cpSync(CONSUMER, project, { recursive: true });
    writeFileSync(
      join(project, "package.json"),
      `${JSON.stringify({ name: "imsdc-consumer", private: true, type: "module" }, null, 2)}\n`,
    );
    const dev = pkg.devDependencies;
    run(
      npm,
      [
        "install",
        "--ignore-scripts",
        "--prefer-offline",
        "--no-package-lock",
        tarball,
        `werift@${dev.werift}`,
        `typescript@${dev.typescript}`,
        `@types/node@${dev["@types/node"]}`,
      ],
      project,
      { timeout: 300_000 },
    );
    const top = readFileSync(join(project, "node_modules/werift/lib/index.mjs"), "utf8");
    if (top.includes("IMSDC_HARDENING")) throw new Error("the consumer's top-level werift is not the published one");
    return "node_modules/werift is the published (unpatched) 0.24.4; imsdc must not use it";
  });

  check("plain node: every public entry imports; the engine is the hardened one", () =>
    run(process.execPath, ["entries.mjs"], project),
  );
  check("plain node: two-UE data channel call through the embedded network, both peers verified", () =>
    run(process.execPath, ["call.mjs"], project, { timeout: 60_000 }),
  );
  check("plain node: DTLS impersonator (genuine certificate, own key) refused in both roles", () =>
    run(process.execPath, ["impersonate.mjs"], project, { timeout: 60_000 }),
  );
  for (const name of ["sdp-check", "embedded-call"]) {
    check(`plain node: README snippet "${name}" runs as printed`, () => {
      const file = join(project, `readme-${name}.mjs`);
      writeFileSync(file, readmeSnippet(name));
      return run(process.execPath, [file], project, { timeout: 60_000 });
    });
  }
  check("strict NodeNext TypeScript consumer typechecks against the shipped .d.ts", () =>
    run(process.execPath, [join(project, "node_modules/typescript/bin/tsc"), "-p", "tsconfig.json"], project),
  );
  await checkAsync("npx imsdc demo serves the page", () => demo(project));

  check("the installed engine swapped for the published werift: the UE refuses (E_ENGINE_UNHARDENED), audited", () => {
    const vendored = join(project, "node_modules/imsdc/vendor/werift/index.mjs");
    copyFileSync(join(project, "node_modules/werift/lib/index.mjs"), vendored);
    return run(process.execPath, ["call.mjs", "expect-refusal"], project, { timeout: 60_000 });
  });
} finally {
  if (keep) process.stdout.write(`kept ${work}\n`);
  else rmSync(work, { recursive: true, force: true });
}

process.stdout.write(`\npackage smoke: ${passed} passed, ${failed} failed\n`);
process.exit(failed === 0 ? 0 : 1);

/** The ```js block after `<!-- snippet: name -->` in README.md. */
function readmeSnippet(name) {
  const readme = readFileSync(join(ROOT, "README.md"), "utf8");
  const m = readme.match(new RegExp(`<!-- snippet: ${name} -->\\s*\`\`\`js\\n([\\s\\S]*?)\`\`\``));
  if (!m) throw new Error(`README.md has no snippet "${name}"`);
  return m[1];
}

async function checkAsync(name, fn) {
  const t0 = performance.now();
  try {
    const detail = await fn();
    passed++;
    process.stdout.write(
      `✔ ${name} (${Math.round(performance.now() - t0)} ms)${detail ? `\n${indent(detail)}` : ""}\n`,
    );
  } catch (e) {
    failed++;
    process.stdout.write(`✘ ${name}: ${e?.message ?? e}\n`);
  }
}

/** `npx imsdc demo --port 0 --json`: wait for its ready line, fetch / and /app.js, stop it with SIGINT (exit 0). */
async function demo(cwd) {
  const child = spawn(
    npm,
    ["exec", "--offline", "--", "imsdc", "demo", "--port", "0", "--sip-ws-port", "0", "--json"],
    {
      cwd,
      stdio: ["ignore", "pipe", "pipe"],
      detached: true,
    },
  );
  let out = "";
  let err = "";
  child.stdout.on("data", (d) => {
    out += d;
  });
  child.stderr.on("data", (d) => {
    err += d;
  });
  const exited = new Promise((r) => child.once("exit", (code, signal) => r({ code, signal })));
  try {
    const url = await new Promise((res, rej) => {
      const t = setTimeout(() => rej(new Error(`no ready line within 30 s\n${out}\n${err}`)), 30_000);
      const poll = setInterval(() => {
        for (const line of out.split("\n")) {
          try {
            const j = JSON.parse(line);
            if (typeof j.url === "string") {
              clearInterval(poll);
              clearTimeout(t);
              res(j.url);
            }
          } catch {}
        }
      }, 50);
      void exited.then(() => {
        clearInterval(poll);
        clearTimeout(t);
        rej(new Error(`demo exited before it was ready\n${out}\n${err}`));
      });
    });
    const page = await fetch(url);
    const html = await page.text();
    if (page.status !== 200 || !/<script[^>]+app\.js/.test(html)) throw new Error(`GET / → ${page.status}`);
    const js = await fetch(new URL("app.js", url));
    const body = await js.text();
    if (js.status !== 200 || body.length < 10_000) throw new Error(`GET /app.js → ${js.status}, ${body.length} bytes`);
    return `${url} → index.html ${html.length} B, app.js ${body.length} B`;
  } finally {
    // npm exec runs imsdc as its child: signal the whole group we started
    if (child.exitCode === null) process.kill(-child.pid, "SIGINT");
    const r = await Promise.race([exited, new Promise((r) => setTimeout(() => r(undefined), 10_000))]);
    if (r === undefined && child.exitCode === null) process.kill(-child.pid, "SIGKILL");
  }
}
