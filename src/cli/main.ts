/**
 * imsdc command line. Exit codes: 0 ok, 1 the checked thing failed or the expected outcome was not met (e.g. SDP has
 * an error finding, a tampered call did not fail closed), 2 usage or configuration error, 3 runtime/network failure,
 * 4 security failure (fail-closed outcome where success was expected), 5 not available yet (the scenario or node
 * depends on a part that is not built yet).
 */
import { CliError, ConfigError, UsageError } from "./errors.ts";

export const EXIT = { OK: 0, FINDINGS: 1, USAGE: 2, RUNTIME: 3, SECURITY: 4, NOT_AVAILABLE: 5 } as const;

export interface CliIo {
  stdout: (s: string) => void;
  stderr: (s: string) => void;
  readStdin: () => Promise<string>;
  /** stdout is a terminal: pretty logs and colours (default false) */
  isTTY?: boolean;
  /** long-running commands (demo, nodes) stop when this aborts; default: SIGINT / SIGTERM */
  signal?: AbortSignal;
}

const processIo: CliIo = {
  isTTY: Boolean(process.stdout.isTTY) && process.env.NO_COLOR === undefined,
  stdout: (s) => process.stdout.write(s),
  stderr: (s) => process.stderr.write(s),
  readStdin: async () => {
    const chunks: Buffer[] = [];
    for await (const c of process.stdin) chunks.push(c as Buffer);
    return Buffer.concat(chunks).toString("latin1");
  },
};

const USAGE = `usage: imsdc <command> [options]

commands:
  sdp check [FILE|-] [--as offer|answer] [--offer OFFER_FILE] [--json]   SDP security linter
  demo [--port N] [--host H] [--sip-ws-port N]         embedded IMS network + browser demo page (npm start)
  call --scenario e2e|tamper|e2ae-msrp|e2ae-bfcp [--json]   one call through the embedded network, as a ladder
  scscf --config FILE                                  run the S-CSCF as its own process
  pcscf --config FILE                                  run a P-CSCF (IMS-ALG) as its own process
  agw --config FILE                                    run the IMS-AGW (Iq over WebSocket) as its own process
  ue --config FILE                                     run a UE (register, answer, echo, call) as its own process

exit codes: 0 ok, 1 findings / expected outcome not met, 2 usage or config error, 3 runtime or network failure,
            4 security failure where success was expected, 5 not available yet

run 'imsdc <command> --help' for details
`;

type Command = (args: string[], io: CliIo) => Promise<number>;

const COMMANDS: Record<string, () => Promise<Command>> = {
  sdp: async () => (await import("./sdp.ts")).sdpCommand,
  demo: async () => (await import("./demo.ts")).demoCommand,
  call: async () => (await import("./call.ts")).callCommand,
  scscf: async () => (await import("./nodes.ts")).scscfCommand,
  pcscf: async () => (await import("./nodes.ts")).pcscfCommand,
  agw: async () => (await import("./nodes.ts")).agwCommand,
  ue: async () => (await import("./nodes.ts")).ueCommand,
};

/** Exit code for an error that escaped a command. */
function exitCodeOf(e: unknown): number {
  if (e instanceof UsageError || e instanceof ConfigError) return EXIT.USAGE;
  if (e instanceof CliError && e.code === "E_NOT_AVAILABLE") return EXIT.NOT_AVAILABLE;
  return EXIT.RUNTIME;
}

/**
 * Resolves when a long-running command should stop: `io.signal` aborts, or the process gets SIGINT / SIGTERM.
 * Returns the reason ("SIGINT", "SIGTERM", "abort").
 */
export function untilStopped(io: CliIo): Promise<string> {
  return new Promise((resolve) => {
    const done = (why: string) => {
      process.off("SIGINT", onInt);
      process.off("SIGTERM", onTerm);
      io.signal?.removeEventListener("abort", onAbort);
      resolve(why);
    };
    const onInt = () => done("SIGINT");
    const onTerm = () => done("SIGTERM");
    const onAbort = () => done("abort");
    if (io.signal) {
      if (io.signal.aborted) {
        resolve("abort");
        return;
      }
      io.signal.addEventListener("abort", onAbort);
    }
    process.once("SIGINT", onInt);
    process.once("SIGTERM", onTerm);
  });
}

export async function main(argv: string[], io: CliIo = processIo): Promise<number> {
  const [cmd, ...rest] = argv;
  if (cmd === undefined || cmd === "--help" || cmd === "-h" || cmd === "help") {
    io.stdout(USAGE);
    return cmd === undefined ? EXIT.USAGE : EXIT.OK;
  }
  const load = COMMANDS[cmd];
  if (!load) {
    io.stderr(`imsdc: unknown command '${cmd}'\n${USAGE}`);
    return EXIT.USAGE;
  }
  try {
    return await (await load())(rest, io);
  } catch (e) {
    io.stderr(`imsdc ${cmd}: ${e instanceof Error ? e.message : String(e)}\n`);
    return exitCodeOf(e);
  }
}
