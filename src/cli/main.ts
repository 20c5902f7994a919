/**
 * imsdc command line. Exit codes: 0 ok, 1 the checked thing failed (e.g. SDP has an error finding), 2 usage error,
 * 3 runtime/network failure, 4 security failure (fail-closed outcome where success was expected).
 */
export const EXIT = { OK: 0, FINDINGS: 1, USAGE: 2, RUNTIME: 3, SECURITY: 4 } as const;

export interface CliIo {
  stdout: (s: string) => void;
  stderr: (s: string) => void;
  readStdin: () => Promise<string>;
}

export const processIo: CliIo = {
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

run 'imsdc <command> --help' for details
`;

type Command = (args: string[], io: CliIo) => Promise<number>;

const COMMANDS: Record<string, () => Promise<Command>> = {
  sdp: async () => (await import("./sdp.ts")).sdpCommand,
};

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
    return EXIT.RUNTIME;
  }
}
