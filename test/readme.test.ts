import { readFileSync } from "node:fs";
import { describe, expect, it } from "vitest";
import { buildReadme } from "../scripts/build-readme.ts";

describe("README.md", () => {
  it("is up to date with docs/ (run `npm run readme`)", () => {
    expect(readFileSync(new URL("../README.md", import.meta.url), "utf8")).toBe(buildReadme());
  });

  it("gives the set-up in two commands and the test command CI runs", () => {
    const readme = readFileSync(new URL("../README.md", import.meta.url), "utf8");
    const ci = readFileSync(new URL("../.ci/run", import.meta.url), "utf8");
    expect(readme).toContain("npm ci && npm test");
    expect(ci).toMatch(/^npm test$/m);
  });
});
