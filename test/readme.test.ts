/**
 * README.md and docs/*.md: every relative link and every #anchor resolves (the file exists; the anchor is a
 * GitHub-style heading slug of the target file), the README stays short and free of stale status words, and it
 * gives the two set-up commands, the second of which is what CI runs.
 */
import { existsSync, readdirSync, readFileSync, statSync } from "node:fs";
import { dirname, join, relative } from "node:path";
import { fileURLToPath } from "node:url";
import { describe, expect, it } from "vitest";

const ROOT = fileURLToPath(new URL("..", import.meta.url));
const read = (p: string) => readFileSync(join(ROOT, p), "utf8");

/** The Markdown files whose links are checked. */
const FILES = [
  "README.md",
  ...readdirSync(join(ROOT, "docs"))
    .filter((f) => f.endsWith(".md"))
    .map((f) => `docs/${f}`),
];

/** Lines outside fenced code blocks, with HTML comments and inline code spans blanked out. */
function prose(md: string): { line: number; text: string }[] {
  const out: { line: number; text: string }[] = [];
  let fence: string | undefined;
  const lines = md.replace(/<!--[\s\S]*?-->/g, (c) => c.replace(/[^\n]/g, " ")).split("\n");
  for (const [i, raw] of lines.entries()) {
    const f = /^\s*(`{3,}|~{3,})/.exec(raw)?.[1];
    if (f !== undefined) {
      if (fence === undefined) fence = f;
      else if (f.startsWith(fence)) fence = undefined;
      continue;
    }
    if (fence !== undefined) continue;
    out.push({ line: i + 1, text: raw.replace(/(`+)[^`]*?\1/g, (c) => " ".repeat(c.length)) });
  }
  return out;
}

/** GitHub's heading anchor: lower case, punctuation removed (letters, digits, `_`, `-` and spaces kept), spaces → `-`. */
function slug(heading: string): string {
  const text = heading
    .replace(/\[([^\]]*)\]\([^)]*\)/g, "$1")
    .replace(/<[^>]+>/g, "")
    .trim();
  return text
    .toLowerCase()
    .replace(/[^\p{L}\p{M}\p{N}\p{Pc} -]/gu, "")
    .replace(/ /g, "-");
}

/** Every anchor a file offers: heading slugs (repeats get -1, -2 …) and explicit `<a id|name="…">`. */
function anchors(md: string): Set<string> {
  const seen = new Map<string, number>();
  const out = new Set<string>();
  let fence: string | undefined;
  for (const line of md.split("\n")) {
    const f = /^\s*(`{3,}|~{3,})/.exec(line)?.[1];
    if (f !== undefined) {
      if (fence === undefined) fence = f;
      else if (f.startsWith(fence)) fence = undefined;
      continue;
    }
    if (fence !== undefined) continue;
    const h = /^#{1,6}\s+(.*?)\s*#*\s*$/.exec(line);
    if (h?.[1] !== undefined) {
      const base = slug(h[1]);
      const n = seen.get(base) ?? 0;
      seen.set(base, n + 1);
      out.add(n === 0 ? base : `${base}-${n}`);
    }
    for (const m of line.matchAll(/<a\s+(?:id|name)="([^"]+)"/g)) if (m[1]) out.add(m[1]);
  }
  return out;
}

interface Link {
  file: string;
  line: number;
  target: string;
}

function links(file: string): Link[] {
  const out: Link[] = [];
  for (const { line, text } of prose(read(file))) {
    // inline links and images: [text](target "title"); reference definitions: [id]: target
    for (const m of text.matchAll(/!?\[[^\]]*\]\(\s*<?([^)\s>]+)>?(?:\s+"[^"]*")?\s*\)/g))
      if (m[1]) out.push({ file, line, target: m[1] });
    const def = /^\s{0,3}\[[^\]]+\]:\s+<?(\S+?)>?(?:\s|$)/.exec(text);
    if (def?.[1]) out.push({ file, line, target: def[1] });
  }
  return out;
}

/** Why a link does not resolve, or undefined when it does. External URLs are not fetched. */
function broken(l: Link): string | undefined {
  if (/^[a-z][a-z0-9+.-]*:/i.test(l.target)) return undefined;
  const [pathPart = "", anchor] = l.target.split("#", 2);
  const path = decodeURIComponent(pathPart.split("?")[0] ?? "");
  const target = path === "" ? join(ROOT, l.file) : join(ROOT, dirname(l.file), path);
  if (!existsSync(target)) return `${relative(ROOT, target)} does not exist`;
  if (anchor === undefined || anchor === "") return undefined;
  if (statSync(target).isDirectory() || !target.endsWith(".md"))
    return `#${anchor}: ${relative(ROOT, target)} is not a Markdown file`;
  return anchors(readFileSync(target, "utf8")).has(anchor.toLowerCase())
    ? undefined
    : `#${anchor} is no heading of ${relative(ROOT, target)}`;
}

describe("links in README.md and docs/*.md", () => {
  it("the slug is GitHub's", () => {
    expect(slug("Flow recovery (RFC 5626 §4.4 / §4.5, TS 24.229 §5.1.1.4)")).toBe(
      "flow-recovery-rfc-5626-44--45-ts-24229-5114",
    );
    expect(slug("Data channel benchmark (`bench/dc.ts`)")).toBe("data-channel-benchmark-benchdcts");
    expect(slug("Spec conformance")).toBe("spec-conformance");
    expect([...anchors("# A\n## A\n```\n# not a heading\n```\n## B")]).toEqual(["a", "a-1", "b"]);
  });

  it("the checker catches a missing file and a missing anchor", () => {
    expect(broken({ file: "README.md", line: 1, target: "docs/nope.md" })).toMatch(/does not exist/);
    expect(broken({ file: "README.md", line: 1, target: "#no-such-heading" })).toMatch(/no heading/);
    expect(broken({ file: "docs/ue.md", line: 1, target: "sdp.md#no-such-heading" })).toMatch(/no heading/);
    expect(broken({ file: "docs/ue.md", line: 1, target: "https://example.com/x#y" })).toBeUndefined();
  });

  it("every relative link and every #anchor resolves", () => {
    const all = FILES.flatMap(links);
    expect(all.length).toBeGreaterThan(20);
    const bad = all.flatMap((l) => {
      const why = broken(l);
      return why ? [`${l.file}:${l.line}: (${l.target}) ${why}`] : [];
    });
    expect(bad).toEqual([]);
  });
});

describe("README.md", () => {
  const readme = read("README.md");

  it("is under 300 lines and names no issue numbers or planned work", () => {
    expect(readme.split("\n").length).toBeLessThan(300);
    expect(readme).not.toMatch(/\bissues?\s*#?\d/i);
    expect(readme).not.toMatch(/\bplanned\b/i);
  });

  it("gives the set-up in two commands, and the test command is the one CI runs", () => {
    expect(readme).toContain("npm ci && npm start");
    expect(readme).toMatch(/^npm test\b/m);
    expect(read(".ci/run")).toMatch(/^npm test$/m);
  });

  it("links every doc in docs/", () => {
    for (const f of FILES.filter((f) => f.startsWith("docs/"))) expect(readme).toContain(`](${f})`);
  });

  it("marks each library snippet for extraction: a named comment, then a js fence", () => {
    const names = [...readme.matchAll(/^<!-- snippet: ([\w-]+) -->\n```js\n/gm)].map((m) => m[1]);
    expect(names).toEqual(["sdp-check", "embedded-call", "standalone-ue"]);
    expect(readme.match(/<!-- snippet:/g)?.length).toBe(3);
  });
});
