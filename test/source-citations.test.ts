/**
 * Source comments cite the specification clause itself, never a note file outside the repository: a reader of the
 * published package cannot open such a note.
 */
import { mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join, relative } from "node:path";
import { describe, expect, it } from "vitest";

const ROOT = join(import.meta.dirname, "..");
const FORBIDDEN = [/specs\.md/, /shared\/notes/];

function sources(dir: string): string[] {
  return readdirSync(dir, { withFileTypes: true }).flatMap((e) => {
    const p = join(dir, e.name);
    if (e.isDirectory()) return sources(p);
    return /\.(ts|tsx|js|mjs|css|html)$/.test(e.name) ? [p] : [];
  });
}

function offending(files: readonly string[]): string[] {
  const hits: string[] = [];
  for (const f of files) {
    readFileSync(f, "utf8")
      .split("\n")
      .forEach((line, i) => {
        if (FORBIDDEN.some((re) => re.test(line))) hits.push(`${relative(ROOT, f)}:${i + 1}: ${line.trim()}`);
      });
  }
  return hits;
}

describe("source citations", () => {
  it("no file under src/ cites a note outside the repository (specs.md, shared/notes)", () => {
    const files = sources(join(ROOT, "src"));
    expect(files.length).toBeGreaterThan(50);
    expect(offending(files)).toEqual([]);
  });

  it("the check reports a comment that cites a note, with file and line", () => {
    const dir = mkdtempSync(join(tmpdir(), "imsdc-cite-"));
    try {
      const f = join(dir, "x.ts");
      writeFileSync(
        f,
        "// RFC 8122 §5: ok\n// TS 24.229 §5.2.2 (specs.md §5)\n/* see /work/shared/notes/peers.md */\n",
      );
      expect(offending([f]).map((h) => h.replace(/^.*x\.ts:/, ""))).toEqual([
        "2: // TS 24.229 §5.2.2 (specs.md §5)",
        "3: /* see /work/shared/notes/peers.md */",
      ]);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });
});
