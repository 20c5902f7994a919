/**
 * `imsdc/browser` (src/browser.ts) is what a web page loads: nothing reachable from it may be Node-only. esbuild
 * bundles the entry for the browser platform exactly as a consumer's bundler would; any Node built-in, werift, ws or
 * the vendored engine in the module graph fails the test, with the import chain that reached it.
 */
import { fileURLToPath } from "node:url";
import { build, type Metafile } from "esbuild";
import { describe, expect, it } from "vitest";

const ROOT = fileURLToPath(new URL("../..", import.meta.url));
const FORBIDDEN = [/^node:/, /(^|\/)node_modules\/(werift|ws|pino-pretty)\//, /^vendor\//];

async function graph(entry: string): Promise<{ inputs: Metafile["inputs"]; errors: string[] }> {
  const r = await build({
    absWorkingDir: ROOT,
    entryPoints: [entry],
    bundle: true,
    write: false,
    metafile: true,
    platform: "browser",
    format: "esm",
    logLevel: "silent",
  }).catch((e: { errors?: { text: string; location?: { file: string } | null }[] }) => {
    return { errors: (e.errors ?? []).map((x) => `${x.location?.file ?? "?"}: ${x.text}`), metafile: undefined };
  });
  return { inputs: r.metafile?.inputs ?? {}, errors: r.errors.map((x) => (typeof x === "string" ? x : x.text)) };
}

/** the chain of importers from the entry to `target` (for a readable failure) */
function chain(inputs: Metafile["inputs"], target: string): string[] {
  const parents = new Map<string, string>();
  for (const [file, v] of Object.entries(inputs))
    for (const i of v.imports) if (!parents.has(i.path)) parents.set(i.path, file);
  const out = [target];
  for (let p = parents.get(target); p && out.length < 30; p = parents.get(p)) out.unshift(p);
  return out;
}

describe("browser-safe entries", () => {
  for (const entry of ["src/browser.ts", "src/sdp/index.ts"]) {
    it(`${entry} bundles for the browser with no Node-only module in its graph`, async () => {
      const { inputs, errors } = await graph(entry);
      expect(errors).toEqual([]);
      const bad = Object.keys(inputs).filter((f) => FORBIDDEN.some((re) => re.test(f)));
      expect(bad.map((f) => chain(inputs, f).join(" → "))).toEqual([]);
      expect(Object.keys(inputs)).toContain(entry);
    });
  }

  it("the check fails on a Node-only module (the UE entry reaches node:crypto and werift)", async () => {
    const { inputs, errors } = await graph("src/ue/index.ts");
    const bad = Object.keys(inputs).filter((f) => FORBIDDEN.some((re) => re.test(f)));
    expect(errors.length + bad.length).toBeGreaterThan(0);
  });
});
