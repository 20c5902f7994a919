/**
 * `imsdc demo` (`npm start`): builds the page if web/dist is missing or stale, starts the embedded network
 * (S-CSCF, P-CSCF(A), P-CSCF(B), IMS-AGW) and the headless UE "bob", serves the page and prints where to open it.
 * Runs until SIGINT / SIGTERM, then closes every socket and exits 0.
 */
import { createHash, X509Certificate } from "node:crypto";
import { existsSync } from "node:fs";
import { mkdtemp, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { DemoError } from "../demo/errors.ts";
import { normalizeAllowedHost } from "../demo/guard.ts";
import { DemoServer } from "../demo/server.ts";
import { createLogger, type Logger } from "../log.ts";
import { parseArgs, wantsHelp } from "./args.ts";
import { CliError, UsageError } from "./errors.ts";
import { type CliIo, EXIT, untilStopped } from "./main.ts";

const USAGE = `usage: imsdc demo [--port N] [--host H] [--sip-ws-port N] [--allow-host NAMES] [--tls] [--no-build] [--quiet]
                  [--json] [--log-level L]

Starts the embedded IMS network on 127.0.0.1 (S-CSCF, P-CSCF(A), P-CSCF(B), IMS-AGW), a headless UE "bob" that
answers and echoes chat messages, and serves the browser demo (the browser is UE "alice").

  --port N          HTTP port of the page (default 8080)
  --host H          listening address of every node and the page (default 127.0.0.1)
  --sip-ws-port N   P-CSCF(A)'s SIP WebSocket port the page registers on (default: HTTP port + 1)
  --allow-host NAMES  comma-separated host names or addresses the page may be opened under, besides localhost,
                    127.0.0.1, [::1] and --host (any other Host is refused with 421: DNS rebinding)
  --tls             TLS everywhere: SIP over TLS between the nodes (RFC 3261 §26.2), the page over https and its
                    SIP over WSS (RFC 7118 §5), with a CA generated at start (its PEM is written to a file; for
                    Chromium: --ignore-certificate-errors-spki-list=<the printed SPKI hash>)
  --no-build        do not (re)build web/dist
  --quiet           only the line saying where to open the page, and warnings
  --json            print one JSON line {"url",…} when ready; logs as NDJSON
  --log-level L     fatal|error|warn|info|debug|trace (default info)

Stop with Ctrl-C (SIGINT) or SIGTERM: every node is closed, exit 0.
`;

const SPEC = {
  port: "port",
  host: "string",
  "sip-ws-port": "port",
  "allow-host": "string",
  tls: "boolean",
  "no-build": "boolean",
  quiet: "boolean",
  json: "boolean",
  "log-level": "string",
  help: "boolean",
} as const;

const LEVELS = ["fatal", "error", "warn", "info", "debug", "trace"] as const;

function demoLogger(io: CliIo, level: (typeof LEVELS)[number], json: boolean): Logger {
  return createLogger({ name: "imsdc", level, pretty: io.isTTY === true && !json });
}

export async function demoCommand(args: string[], io: CliIo): Promise<number> {
  if (wantsHelp(args)) {
    io.stdout(USAGE);
    return EXIT.OK;
  }
  let o: ReturnType<typeof parseArgs<typeof SPEC>>["options"];
  let allowHosts: string[] = [];
  try {
    o = parseArgs(args, SPEC).options;
    if (o["log-level"] !== undefined && !(LEVELS as readonly string[]).includes(o["log-level"]))
      throw new UsageError(`--log-level must be one of ${LEVELS.join(", ")}`);
    allowHosts = (o["allow-host"] ?? "")
      .split(",")
      .filter((h) => h.trim() !== "")
      .map((h) => {
        try {
          return normalizeAllowedHost(h);
        } catch (e) {
          throw e instanceof DemoError ? new UsageError(`--allow-host: ${e.message}`) : e;
        }
      });
  } catch (e) {
    if (e instanceof UsageError) {
      io.stderr(`imsdc demo: ${e.message}\n${USAGE}`);
      return EXIT.USAGE;
    }
    throw e;
  }
  const quiet = o.quiet === true;
  const json = o.json === true;
  const level = (o["log-level"] ?? (quiet ? "warn" : "info")) as (typeof LEVELS)[number];
  const log = demoLogger(io, level, json);
  const progress = (s: string) => {
    if (!quiet && !json) io.stderr(`· ${s}\n`);
  };
  if (o["no-build"] !== true) {
    progress("checking the demo page (web/dist)");
    await ensurePage(progress);
  }
  progress("starting S-CSCF, P-CSCF(A), P-CSCF(B), IMS-AGW and bob");
  const port = o.port ?? 8080;
  const server = await DemoServer.start({
    host: o.host ?? "127.0.0.1",
    port,
    ...(o["sip-ws-port"] !== undefined ? { sipWsPort: o["sip-ws-port"] } : {}),
    ...(allowHosts.length > 0 ? { allowHosts } : {}),
    ...(o.tls === true ? { tls: true } : {}),
    logger: log,
  }).catch((e: unknown) => {
    // a port in use is a runtime failure (exit 3) with a hint
    const msg = e instanceof Error ? e.message : String(e);
    throw new Error(/EADDRINUSE/.test(msg) ? `${msg} (choose other ports with --port / --sip-ws-port)` : msg, {
      cause: e,
    });
  });
  const net = server.net;
  const info = {
    url: server.url,
    sipWs: net.wsUrlA(),
    pcscfA: { access: net.pcscfUri("A", "UDP"), ws: net.wsUrlA() },
    pcscfB: { access: net.pcscfUri("B", "UDP") },
    scscf: net.scscf.uri(net.coreTransport),
    ...(net.ca ? { ca: { pemFile: await writeCaPem(net.ca.certPem), spkiSha256: spkiSha256(net.ca.certPem) } } : {}),
    agw: net.agw ? "in-process (Iq binding)" : "off",
    bob: `sip:bob@${net.domain}`,
  };
  // listen for SIGINT/SIGTERM before announcing readiness: a supervisor may stop us the moment it reads the line
  const stopped = untilStopped(io);
  if (json) io.stdout(`${JSON.stringify({ event: "ready", ...info })}\n`);
  else {
    io.stdout(`\nimsdc demo ready: open ${server.url} in Chromium / Chrome\n`);
    if (!quiet) {
      io.stdout(
        [
          `  the page is UE "alice"; it registers over ${net.pageTransport === "WSS" ? "SIP/WSS" : "SIP/WS"} at ${info.sipWs} (P-CSCF(A), RFC 7118)`,
          ...(info.ca
            ? [
                `  local CA   ${info.ca.pemFile} (every node trusts it; SPKI sha256 ${info.ca.spkiSha256})`,
                `             Chromium: --ignore-certificate-errors-spki-list=${info.ca.spkiSha256}`,
              ]
            : []),
          `  S-CSCF     ${info.scscf}`,
          `  P-CSCF(A)  ${info.pcscfA.access}  ws ${info.sipWs}`,
          `  P-CSCF(B)  ${info.pcscfB.access}`,
          `  IMS-AGW    ${info.agw}`,
          `  UE B       ${info.bob} (headless, auto-answer, echoes chat)`,
          "  Ctrl-C stops everything",
          "",
        ].join("\n"),
      );
    }
  }
  const why = await stopped;
  log.info({ signal: why }, "demo: stopping");
  await server.close();
  if (!json && !quiet) io.stderr(`· stopped (${why}): all nodes closed\n`);
  if (json) io.stdout(`${JSON.stringify({ event: "stopped", reason: why })}\n`);
  return EXIT.OK;
}

/**
 * The page is built ahead (npm run build; an installed package ships web/dist). Run from the sources of a clone
 * (src/cli/demo.ts under tsx) it is rebuilt when stale, with web/build.ts and esbuild (devDependencies).
 */
async function ensurePage(progress: (s: string) => void): Promise<void> {
  const root = join(import.meta.dirname, "..", "..");
  const builder = join(root, "web", "build.ts");
  if (import.meta.url.endsWith(".ts") && existsSync(builder)) {
    try {
      const { ensureWebBuilt } = (await import(builder)) as {
        ensureWebBuilt(): Promise<{ built: boolean; ms: number }>;
      };
      const b = await ensureWebBuilt();
      if (b.built) progress(`built web/dist in ${Math.round(b.ms)} ms`);
      return;
    } catch (e) {
      throw new CliError("E_WEB_BUILD", `cannot build the demo page: ${e instanceof Error ? e.message : String(e)}`, {
        cause: e,
      });
    }
  }
  if (!existsSync(join(root, "web", "dist", "index.html"))) {
    throw new CliError(
      "E_WEB_BUILD",
      `the demo page is not built (${join(root, "web", "dist")}): run \`npm run build\``,
    );
  }
}

/** The base64 SHA-256 of a certificate's SubjectPublicKeyInfo (what Chromium's SPKI allow-list takes). */
export function spkiSha256(certPem: string): string {
  const spki = new X509Certificate(certPem).publicKey.export({ type: "spki", format: "der" });
  return createHash("sha256").update(spki).digest("base64");
}

/** Writes the demo CA's certificate to a fresh private directory; returns the file's path. */
async function writeCaPem(pem: string): Promise<string> {
  const dir = await mkdtemp(join(tmpdir(), "imsdc-demo-ca-"));
  const file = join(dir, "ca.pem");
  await writeFile(file, pem, { mode: 0o600 });
  return file;
}
