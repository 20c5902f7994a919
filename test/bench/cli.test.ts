/** bench/cli.ts: the flag parser and the progress reporter shared by the bench scripts. */
import { describe, expect, it, vi } from "vitest";
import { Progress, parseArgv, wantsHelp } from "../../bench/cli.ts";

const SPEC = { runs: "number", impl: "list", rates: "numbers", findings: "string", list: "boolean" } as const;

describe("parseArgv", () => {
  it("reads every kind, in both --name value and --name=value forms", () => {
    expect(
      parseArgv(SPEC, ["--runs", "5", "--impl=ours,ndc", "--rates", "500,1000", "--findings", "-", "--list"]),
    ).toEqual({
      kind: "ok",
      flags: { runs: 5, impl: ["ours", "ndc"], rates: [500, 1000], findings: "-", list: true },
    });
    expect(parseArgv(SPEC, [])).toEqual({ kind: "ok", flags: {} });
  });

  it("--help or -h anywhere wins over everything, even a bad option", () => {
    expect(wantsHelp(["--runs", "3", "-h"])).toBe(true);
    expect(parseArgv(SPEC, ["--bogus", "--help"])).toEqual({ kind: "help" });
    expect(parseArgv(SPEC, ["-h"])).toEqual({ kind: "help" });
  });

  it("refuses unknown options, missing values, bad numbers and stray arguments", () => {
    const error = (argv: string[]) => {
      const r = parseArgv(SPEC, argv);
      return r.kind === "error" ? r.message : r.kind;
    };
    expect(error(["--bogus"])).toBe("unknown option --bogus");
    expect(error(["--runs"])).toBe("--runs needs a value");
    expect(error(["--runs", "--list"])).toBe("--runs needs a value");
    expect(error(["--runs", "five"])).toBe("--runs needs a number: 'five'");
    expect(error(["--rates", "500,x"])).toBe("--rates needs numbers: '500,x'");
    expect(error(["--list=yes"])).toBe("--list takes no value");
    expect(error(["runs"])).toBe("unexpected argument 'runs'");
    expect(error(["--constructor", "1"])).toBe("unknown option --constructor");
  });
});

function sink(isTTY: boolean, columns?: number) {
  const out: string[] = [];
  return {
    out,
    stream: {
      isTTY,
      ...(columns !== undefined ? { columns } : {}),
      write: (s: string | Uint8Array) => out.push(String(s)) > 0,
    },
  };
}

describe("Progress", () => {
  it("plain mode: one line per report with count, percentage, seconds and note", () => {
    let t = 0;
    const s = sink(false);
    const p = new Progress("soak", { total: 200, unit: "calls", stream: s.stream, now: () => t });
    p.set(50, "warm-up");
    t = 12_400;
    p.report();
    expect(s.out).toEqual(["[soak] 50/200 calls (25.0 %) · 12 s · warm-up\n"]);
    p.add(150).note("closing");
    expect(p.line()).toBe("[soak] 200/200 calls (100.0 %) · 12 s · closing");
    expect(new Progress("x", { now: () => 0 }).add(3).line()).toBe("[x] 3 · 0 s");
  });

  it("terminal mode: a single line redrawn with \\r, never wider than the terminal, erased at the end", () => {
    const s = sink(true, 60);
    const p = new Progress("fuzz", { total: 1000, unit: "inputs", stream: s.stream, now: () => 0 });
    p.set(500, "running: sip-codec, sdp, alg, pcscf-udp, pcscf-tcp, ue");
    p.report();
    const frame = s.out[0] ?? "";
    expect(frame.startsWith("\r[fuzz] ██████████░░░░░░░░░░ 500/1000 inputs (50.0 %)")).toBe(true);
    expect(frame.endsWith("\x1b[K")).toBe(true);
    expect(frame).not.toContain("\n");
    expect(frame.length - "\r".length - "\x1b[K".length).toBeLessThanOrEqual(59);
    p.stop("done");
    expect(s.out.slice(1)).toEqual(["\r\x1b[K", "done\n"]);
  });

  it("reports at once and then at least every 5 s, on an unref'd timer", () => {
    vi.useFakeTimers();
    try {
      const s = sink(false);
      const p = new Progress("faults", { total: 19, stream: s.stream }).start();
      expect(s.out).toHaveLength(1);
      vi.advanceTimersByTime(5000);
      expect(s.out.length).toBeGreaterThanOrEqual(2);
      vi.advanceTimersByTime(20_000);
      expect(s.out.length).toBeGreaterThanOrEqual(6);
      p.stop();
      const n = s.out.length;
      vi.advanceTimersByTime(20_000);
      expect(s.out).toHaveLength(n);
    } finally {
      vi.useRealTimers();
    }
  });

  it("its timer does not count as an active resource (the soak compares them)", () => {
    const before = process.getActiveResourcesInfo().filter((r) => r === "Timeout").length;
    const p = new Progress("soak", { stream: sink(false).stream }).start();
    expect(process.getActiveResourcesInfo().filter((r) => r === "Timeout").length).toBe(before);
    p.stop();
  });
});
