import { describe, expect, it } from "vitest";
import { FINDING_CODES, type Finding, validateAnswer, validateOffer } from "../../src/sdp/index.ts";
import { MALFORMED, type MalformedCase } from "./cases.ts";

function runCase(c: MalformedCase): { ok: boolean; findings: Finding[] } {
  const opts = c.e2eDc ? { e2eDc: true } : {};
  return c.kind === "answer" ? validateAnswer(c.offer ?? "", c.sdp, opts) : validateOffer(c.sdp, opts);
}

describe("malformed SDP table", () => {
  it("has at least 60 cases", () => {
    expect(MALFORMED.length).toBeGreaterThanOrEqual(60);
  });

  it("covers every finding code", () => {
    const covered = new Set(MALFORMED.flatMap((c) => c.expect));
    const missing = Object.keys(FINDING_CODES).filter((code) => !covered.has(code));
    expect(missing).toEqual([]);
  });

  it("names only codes that exist", () => {
    const unknown = MALFORMED.flatMap((c) => [...c.expect, ...(c.absent ?? [])]).filter(
      (code) => !(code in FINDING_CODES),
    );
    expect(unknown).toEqual([]);
  });

  for (const c of MALFORMED) {
    it(`${c.name} → ${c.expect.join(", ")}`, () => {
      const res = runCase(c);
      const codes = res.findings.map((f) => f.code);
      for (const code of c.expect) expect(codes, JSON.stringify(res.findings, null, 1)).toContain(code);
      for (const code of c.absent ?? []) expect(codes).not.toContain(code);
      const expectsError = c.expect.some((code) => code.startsWith("E_"));
      if (expectsError) expect(res.ok).toBe(false);
      if (c.line !== undefined) {
        const first = res.findings.find((f) => f.code === c.expect[0]);
        expect(first?.line).toBe(c.line);
      }
      for (const f of res.findings) {
        expect(f.severity).toBe(FINDING_CODES[f.code as keyof typeof FINDING_CODES].severity);
        expect(f.clause.length).toBeGreaterThan(0);
      }
    });
  }

  it("handles 1 MB of garbage quickly", () => {
    const c = MALFORMED.find((x) => x.name === "1 MB of garbage");
    const t0 = performance.now();
    const res = runCase(c!);
    expect(performance.now() - t0).toBeLessThan(200);
    expect(res.findings).toHaveLength(1);
  });

  it("handles 60 KiB of line garbage quickly and caps syntax findings", () => {
    const body = Array.from({ length: 6000 }, (_, i) => `garbage ${i}`).join("\n");
    const t0 = performance.now();
    const res = validateOffer(body);
    expect(performance.now() - t0).toBeLessThan(1000);
    expect(res.findings.filter((f) => f.code === "E_SDP_SYNTAX").length).toBeLessThanOrEqual(21);
  });
});

describe("docs/sdp.md", () => {
  it("documents every finding code with its severity and clause", async () => {
    const { readFileSync } = await import("node:fs");
    const doc = readFileSync(new URL("../../docs/sdp.md", import.meta.url), "utf8");
    for (const [code, info] of Object.entries(FINDING_CODES)) {
      expect(doc, code).toContain(`| \`${code}\` | ${info.severity} | ${info.clause} |`);
    }
  });
});
