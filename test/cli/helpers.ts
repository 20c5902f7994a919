import type { CliIo } from "../../src/cli/main.ts";

/** An in-memory CliIo: captured stdout/stderr, an AbortController standing in for SIGINT. */
export function memoryIo(): CliIo & { out: () => string; err: () => string; stop: () => void; lines: () => string[] } {
  let out = "";
  let err = "";
  const ac = new AbortController();
  return {
    stdout: (s) => {
      out += s;
    },
    stderr: (s) => {
      err += s;
    },
    readStdin: async () => "",
    isTTY: false,
    signal: ac.signal,
    out: () => out,
    err: () => err,
    lines: () => out.split("\n").filter((l) => l !== ""),
    stop: () => ac.abort(),
  };
}

/** Resolves with the first JSON line of `io`'s stdout that has event "ready" (polling, bounded). */
export async function readyLine(io: { lines: () => string[] }, ms = 10_000): Promise<Record<string, unknown>> {
  const start = Date.now();
  for (;;) {
    for (const l of io.lines()) {
      if (!l.startsWith("{")) continue;
      const v = JSON.parse(l) as Record<string, unknown>;
      if (v.event === "ready") return v;
    }
    if (Date.now() - start > ms) throw new Error(`no ready line within ${ms} ms`);
    await new Promise((r) => setTimeout(r, 20));
  }
}
