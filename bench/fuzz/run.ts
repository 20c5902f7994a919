/**
 * The fuzz loop shared by the bench child processes and `--replay`: inputs come from fast-check in chunks, each chunk
 * generated from its own seed (`seed * 1_000_003 + chunk`), so any input is reproducible from (target, seed, chunk,
 * index). Violations are written as reproducer files (input bytes + a JSON sidecar with the replay command).
 */
import { createHash } from "node:crypto";
import { mkdirSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import fc from "fast-check";
import { type FuzzTarget, FuzzViolation, runOne, Tally } from "./oracle.ts";

export const CHUNK = 250;

export function chunkInputs<I>(t: FuzzTarget<I>, seed: number, chunk: number, size = CHUNK): I[] {
  return fc.sample(t.arbitrary, { seed: seed * 1_000_003 + chunk, numRuns: size });
}

export interface Position {
  chunk: number;
  index: number;
  done: number;
}

export interface RunOptions {
  seed: number;
  maxInputs: number;
  maxSeconds: number;
  findingsDir?: string;
  /** at most this many reproducer files per target */
  maxFindings?: number;
  onProgress?: (p: Position) => void;
}

export interface Finding {
  target: string;
  kind: string;
  message: string;
  seed: number;
  chunk: number;
  index: number;
  file?: string;
}

/** Writes one reproducer (bytes + JSON sidecar); returns the file name. */
export function writeFinding<I>(dir: string, t: FuzzTarget<I>, input: I, f: Finding, v: FuzzViolation): string {
  mkdirSync(dir, { recursive: true });
  const rep = t.reproducer(input);
  const bytes = typeof rep.bytes === "string" ? Buffer.from(rep.bytes, "latin1") : Buffer.from(rep.bytes);
  const hash = createHash("sha256").update(bytes).digest("hex").slice(0, 10);
  const base = `${t.name}-${f.kind}-${hash}`;
  writeFileSync(join(dir, `${base}.${rep.ext}`), bytes);
  writeFileSync(
    join(dir, `${base}.json`),
    `${JSON.stringify(
      {
        target: t.name,
        kind: f.kind,
        code: v.code,
        message: f.message,
        details: v.details,
        how: rep.note,
        replay: `node --import tsx bench/fuzz.ts --replay ${t.name}:${f.seed}:${f.chunk}:${f.index}`,
        input,
      },
      null,
      2,
    )}\n`,
  );
  return `${base}.${rep.ext}`;
}

/** Runs a target until `maxInputs` or `maxSeconds`; returns the tally and the violations found. */
export async function fuzzLoop<I>(
  t: FuzzTarget<I>,
  o: RunOptions,
): Promise<{ tally: Tally; findings: Finding[]; seconds: number }> {
  const tally = new Tally();
  const findings: Finding[] = [];
  const t0 = performance.now();
  const deadline = t0 + o.maxSeconds * 1000;
  let done = 0;
  for (let chunk = 0; done < o.maxInputs && performance.now() < deadline; chunk++) {
    const inputs = chunkInputs(t, o.seed, chunk);
    // a synchronous target never reaches the event loop on its own: let timers run (the parent's heartbeat) per chunk
    await new Promise((r) => setImmediate(r));
    for (let index = 0; index < inputs.length && done < o.maxInputs; index++) {
      if ((index & 15) === 0 && performance.now() >= deadline) break;
      o.onProgress?.({ chunk, index, done });
      const input = inputs[index] as I;
      const r = await runOne(t, input);
      done++;
      if (r.violation) {
        tally.violation(r.violation, r.ms);
        const f: Finding = {
          target: t.name,
          kind: r.violation.kind,
          message: r.violation.message,
          seed: o.seed,
          chunk,
          index,
        };
        if (o.findingsDir && findings.length < (o.maxFindings ?? 10))
          f.file = writeFinding(o.findingsDir, t, input, f, r.violation);
        findings.push(f);
      } else if (r.outcome) tally.add(r.outcome, r.ms);
    }
  }
  return { tally, findings, seconds: (performance.now() - t0) / 1000 };
}

export { FuzzViolation };
