import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { dirname, join, resolve } from "node:path";
import { fileURLToPath } from "node:url";
import { beforeAll, describe, expect, it } from "vitest";
import { type DeadExport, findDeadExports } from "../scripts/dead-exports.ts";

const ROOT = resolve(dirname(fileURLToPath(import.meta.url)), "..");

/**
 * Deliberate exports that nothing imports yet (`file#name`), each with its reason. Keep it short: an export nobody
 * uses is removed (or made local) instead.
 */
const ALLOWLIST: ReadonlyMap<string, string> = new Map<string, string>([]);

describe("dead exports (scripts/dead-exports.ts)", () => {
  let found: DeadExport[] = [];
  beforeAll(() => {
    found = findDeadExports(ROOT);
  });

  it("every export of src/ is imported somewhere or is public API", () => {
    const dead = found.map((d) => `${d.file}#${d.name}`).filter((k) => !ALLOWLIST.has(k));
    expect(dead).toEqual([]);
  });

  it("the allowlist holds no stale entry", () => {
    const dead = new Set(found.map((d) => `${d.file}#${d.name}`));
    expect([...ALLOWLIST.keys()].filter((k) => !dead.has(k))).toEqual([]);
  });

  it("finds an unused export, follows barrels, entries, dynamic imports and signature types", () => {
    const root = mkdtempSync(join(tmpdir(), "dead-exports-"));
    try {
      const w = (p: string, text: string) => {
        mkdirSync(dirname(join(root, p)), { recursive: true });
        writeFileSync(join(root, p), text);
      };
      w("package.json", JSON.stringify({ exports: { "./api": { import: "./dist/api/index.js" } } }));
      w("src/cli/bin.ts", 'import { run } from "./run.ts";\nrun();\n');
      w("src/cli/run.ts", 'export function run() { return import("./lazy.ts"); }\nexport const unused = 1;\n');
      w("src/cli/lazy.ts", "export const a = 1;\n");
      w("src/api/index.ts", 'export { used } from "../lib/barrel.ts";\n');
      w("src/lib/barrel.ts", 'export { used, notReexported } from "./impl.ts";\n');
      w(
        "src/lib/impl.ts",
        "export interface Shape { x: number }\nexport function used(): Shape { return { x: 1 }; }\n" +
          "export function notReexported() {}\nexport const onlyTests = 2;\nexport type Orphan = string;\n",
      );
      w("test/impl.test.ts", 'import { onlyTests } from "../src/lib/impl.ts";\nvoid onlyTests;\n');
      const dead = findDeadExports(root).map((d) => `${d.file}#${d.name}`);
      expect(dead.sort()).toEqual(
        [
          "src/cli/run.ts#unused",
          "src/lib/barrel.ts#notReexported",
          "src/lib/impl.ts#notReexported",
          "src/lib/impl.ts#Orphan",
        ].sort(),
      );
    } finally {
      rmSync(root, { recursive: true, force: true });
    }
  });
});
