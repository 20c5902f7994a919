/**
 * `imsdc sdp …`: the SDP security linter.
 *
 *   imsdc sdp check [FILE|-] [--as offer|answer] [--offer OFFER_FILE] [--e2e-dc] [--json]
 *   imsdc sdp codes [--json]
 *
 * Exit codes: 0 no error finding (warnings allowed), 1 at least one error finding, 2 usage error.
 */
import { readFile } from "node:fs/promises";
import {
  type Finding,
  listFindingCodes,
  type ValidationResult,
  validateAnswer,
  validateOffer,
  validateSdp,
} from "../sdp/index.ts";
import { parseArgs, wantsHelp } from "./args.ts";
import { UsageError } from "./errors.ts";
import { type CliIo, EXIT } from "./main.ts";

const USAGE = `usage: imsdc sdp check [FILE|-] [--as offer|answer] [--offer OFFER_FILE] [--e2e-dc] [--json]
       imsdc sdp codes [--json]

check   lint an SDP body (FILE, or stdin when FILE is "-" or absent).
        --as offer|answer   role of the body (default: offer, or answer when --offer is given)
        --offer FILE        the offer the body answers; the answer is validated against it
        --e2e-dc            also apply the e2e data channel profile (TS 33.328 §7.2.5)
        --json              print {"ok":bool,"findings":[{severity,code,message,clause,line}]}
codes   list every finding code with severity and clause

exit: 0 no error finding, 1 at least one error finding, 2 usage error
`;

interface CheckArgs {
  file?: string;
  as?: "offer" | "answer";
  offer?: string;
  json: boolean;
  e2eDc: boolean;
}

const CHECK_OPTIONS = { json: "boolean", "e2e-dc": "boolean", as: "string", offer: "string" } as const;

function parseCheckArgs(args: string[]): CheckArgs {
  const { options: o, positional } = parseArgs(args, CHECK_OPTIONS, Number.POSITIVE_INFINITY);
  const out: CheckArgs = { json: o.json === true, e2eDc: o["e2e-dc"] === true };
  if (o.as !== undefined) {
    if (o.as !== "offer" && o.as !== "answer") throw new UsageError(`--as must be offer or answer, not '${o.as}'`);
    out.as = o.as;
  }
  if (o.offer !== undefined) out.offer = o.offer;
  if (positional.length > 1) throw new UsageError(`only one FILE may be given (got ${positional.length})`);
  if (positional[0] !== undefined) out.file = positional[0];
  if (out.as === "offer" && out.offer !== undefined)
    throw new UsageError("--offer makes the body an answer; drop --as offer");
  return out;
}

async function readBody(file: string | undefined, io: CliIo): Promise<string> {
  if (file === undefined || file === "-") return io.readStdin();
  try {
    // latin1: one char per byte, the same view the P-CSCF has of a SIP body.
    return await readFile(file, "latin1");
  } catch (e) {
    const code = (e as { code?: string }).code;
    throw new UsageError(`cannot read '${file}'${code ? ` (${code})` : ""}`, false);
  }
}

function human(f: Finding): string {
  const where = f.line === undefined ? "body" : `line ${f.line}`;
  return `${where}: ${f.severity} ${f.code} ${f.message} (${f.clause})\n`;
}

async function check(args: string[], io: CliIo): Promise<number> {
  const a = parseCheckArgs(args);
  const body = await readBody(a.file, io);
  const opts = a.e2eDc ? { e2eDc: true } : {};
  let res: ValidationResult;
  if (a.offer !== undefined) res = validateAnswer(await readBody(a.offer, io), body, opts);
  else if (a.as === "answer") res = validateSdp(body, { ...opts, role: "answer" });
  else res = validateOffer(body, opts);
  if (a.json) {
    const findings = res.findings.map((f) => ({
      severity: f.severity,
      code: f.code,
      message: f.message,
      clause: f.clause,
      line: f.line ?? null,
    }));
    io.stdout(`${JSON.stringify({ ok: res.ok, findings })}\n`);
  } else {
    for (const f of res.findings) io.stdout(human(f));
    const errors = res.findings.filter((f) => f.severity === "error").length;
    const warnings = res.findings.length - errors;
    const role = a.offer !== undefined ? "answer (checked against the offer)" : (a.as ?? "offer");
    io.stdout(
      `${a.file ?? "stdin"} as ${role}: ${errors} error(s), ${warnings} warning(s): ${res.ok ? "OK" : "FAIL"}\n`,
    );
  }
  return res.ok ? EXIT.OK : EXIT.FINDINGS;
}

function codes(args: string[], io: CliIo): number {
  const json = parseArgs(args, { json: "boolean" }).options.json === true;
  const list = listFindingCodes();
  if (json) io.stdout(`${JSON.stringify(list)}\n`);
  else
    for (const c of list)
      io.stdout(`${c.code.padEnd(28)} ${c.severity.padEnd(7)} ${c.clause.padEnd(40)} ${c.description}\n`);
  return EXIT.OK;
}

export async function sdpCommand(args: string[], io: CliIo): Promise<number> {
  const [sub, ...rest] = args;
  try {
    if (sub === undefined || sub === "--help" || sub === "-h" || sub === "help") {
      io.stdout(USAGE);
      return sub === undefined ? EXIT.USAGE : EXIT.OK;
    }
    if (wantsHelp(rest)) {
      io.stdout(USAGE);
      return EXIT.OK;
    }
    if (sub === "check") return await check(rest, io);
    if (sub === "codes") return codes(rest, io);
    throw new UsageError(`unknown subcommand '${sub}'`);
  } catch (e) {
    if (e instanceof UsageError) {
      io.stderr(`imsdc sdp: ${e.message}\n${e.showUsage ? USAGE : ""}`);
      return EXIT.USAGE;
    }
    throw e;
  }
}
