/**
 * One command per node, each its own process: `imsdc scscf|pcscf|agw|ue --config FILE`. The JSON config is validated
 * first (exit 2 with every problem listed); the node then runs until SIGINT / SIGTERM and closes every socket (exit
 * 0). The first stdout line after start says where the node listens ({"event":"ready",…} with --json).
 * Examples: examples/configs/*.json.
 */
import { ImsAgw, IqWsClient, IqWsServer } from "../ims/agw/index.ts";
import { Pcscf, type PcscfInterfaceConfig } from "../ims/pcscf/index.ts";
import { Scscf } from "../ims/scscf/index.ts";
import { AuditLog, createLogger, type Logger, loggerAuditSink } from "../log.ts";
import { connectionRefusedEvent, type SipTransportLayer } from "../sip/index.ts";
import { ImsUe, type UeCall } from "../ue/index.ts";
import { parseArgs, wantsHelp } from "./args.ts";
import {
  type InterfaceConfig,
  readJsonFile,
  type UeConfig,
  validateAgwConfig,
  validatePcscfConfig,
  validateScscfConfig,
  validateUeConfig,
} from "./config.ts";
import { ConfigError, UsageError } from "./errors.ts";
import { loadAgwLinkTls, loadIqListenerTls } from "./iqConfig.ts";
import { type CliIo, EXIT, untilStopped } from "./main.ts";
import { loadSipTls } from "./tlsConfig.ts";

const SPEC = {
  config: "string",
  check: "boolean",
  quiet: "boolean",
  json: "boolean",
  "log-level": "string",
  help: "boolean",
} as const;

const LEVELS = ["fatal", "error", "warn", "info", "debug", "trace"] as const;
type Level = (typeof LEVELS)[number];

function usage(node: string, what: string): string {
  return `usage: imsdc ${node} --config FILE [--check] [--quiet] [--json] [--log-level L]

${what}

  --config FILE   JSON configuration (examples/configs/${node === "pcscf" ? "pcscf-a" : node === "ue" ? "ue-bob" : node}.json)
  --check         validate the configuration and exit (0 valid, 2 invalid)
  --quiet         warnings and errors only
  --json          NDJSON logs and a JSON "ready" line
  --log-level L   fatal|error|warn|info|debug|trace (default info)

exit: 0 stopped by SIGINT/SIGTERM, 2 bad command line or configuration, 3 runtime/network failure
`;
}

interface Running {
  /** what the ready line says */
  ready: Record<string, unknown>;
  close(): Promise<void>;
  /** resolves with an exit code when the node ends on its own (e.g. a UE with exitAfterCall) */
  done?: Promise<number>;
}

async function runNode<C>(
  node: "scscf" | "pcscf" | "agw" | "ue",
  what: string,
  args: string[],
  io: CliIo,
  validate: (v: unknown, file: string) => C,
  start: (cfg: C, log: Logger, audit: AuditLog) => Promise<Running>,
): Promise<number> {
  const USAGE = usage(node, what);
  if (wantsHelp(args)) {
    io.stdout(USAGE);
    return EXIT.OK;
  }
  let cfg: C;
  let o: ReturnType<typeof parseArgs<typeof SPEC>>["options"];
  try {
    o = parseArgs(args, SPEC).options;
    if (o.config === undefined) throw new UsageError("--config FILE is required");
    if (o["log-level"] !== undefined && !(LEVELS as readonly string[]).includes(o["log-level"]))
      throw new UsageError(`--log-level must be one of ${LEVELS.join(", ")}`);
    cfg = validate(await readJsonFile(o.config), o.config);
  } catch (e) {
    if (e instanceof UsageError) {
      io.stderr(`imsdc ${node}: ${e.message}\n${USAGE}`);
      return EXIT.USAGE;
    }
    if (e instanceof ConfigError) {
      io.stderr(`imsdc ${node}: ${e.message}\n`);
      return EXIT.USAGE;
    }
    throw e;
  }
  if (o.check === true) {
    io.stdout(`${o.config}: valid ${node} configuration\n`);
    return EXIT.OK;
  }
  const json = o.json === true;
  const level = (o["log-level"] ?? (o.quiet === true ? "warn" : "info")) as Level;
  const log = createLogger({ name: `imsdc-${node}`, level, pretty: io.isTTY === true && !json });
  const audit = new AuditLog({ max: 1000, sink: loggerAuditSink(log) });
  const running = await start(cfg, log, audit);
  // listen for SIGINT/SIGTERM before announcing readiness: a supervisor may stop us the moment it reads the line
  const stop = untilStopped(io).then((why) => ({ why, code: EXIT.OK as number }));
  if (json) io.stdout(`${JSON.stringify({ event: "ready", node, ...running.ready })}\n`);
  else
    io.stdout(
      `imsdc ${node} ready: ${Object.entries(running.ready)
        .map(([k, v]) => `${k} ${typeof v === "string" ? v : JSON.stringify(v)}`)
        .join(", ")}\n`,
    );
  const outcome = await Promise.race([
    stop,
    ...(running.done ? [running.done.then((code) => ({ why: "done", code }))] : []),
  ]);
  log.info({ reason: outcome.why }, `${node}: stopping`);
  await running.close();
  if (!json && o.quiet !== true) io.stderr(`imsdc ${node}: stopped (${outcome.why})\n`);
  return outcome.code;
}

function addresses(layer: SipTransportLayer): Record<string, string> {
  const out: Record<string, string> = {};
  for (const p of layer.protocols()) {
    const a = layer.address(p);
    if (a) out[p.toLowerCase()] = `${a.host.includes(":") ? `[${a.host}]` : a.host}:${a.port}`;
  }
  return out;
}

// -------------------------------------------------------------------------------------------------------------------

/** Connections refused by a node's SIP listeners (per-source or global cap) become audit events of that node. */
function auditRefusals(layer: SipTransportLayer, node: string, audit: AuditLog): void {
  layer.onConnectionRefused((info) => audit.record(connectionRefusedEvent(node, info)));
}

/** A P-CSCF interface of the config with its `tls` block loaded (PEM files read; tlsConfig.ts). */
function ifaceOptions(i: InterfaceConfig): PcscfInterfaceConfig {
  const { tls, ...rest } = i;
  return { ...rest, ...(tls ? loadSipTls(tls) : {}) };
}

export function scscfCommand(args: string[], io: CliIo): Promise<number> {
  return runNode(
    "scscf",
    "Runs the S-CSCF: registrar + location service and the routing proxy (originating and terminating).",
    args,
    io,
    validateScscfConfig,
    async (c, log, audit) => {
      const { allowPublic: _allowPublic, tls, ...rest } = c;
      const s = new Scscf({ ...rest, ...(tls ? loadSipTls(tls) : {}), logger: log, audit });
      await s.start();
      auditRefusals(s.iface.layer, s.name, audit);
      const proto = s.iface.layer.protocols().includes("TCP") ? "TCP" : (s.iface.layer.protocols()[0] ?? "UDP");
      return { ready: { name: s.name, listen: addresses(s.iface.layer), uri: s.uri(proto) }, close: () => s.close() };
    },
  );
}

export function pcscfCommand(args: string[], io: CliIo): Promise<number> {
  return runNode(
    "pcscf",
    'Runs a P-CSCF with its IMS-ALG (e2e / e2ae / e2DCe decision per m-line); with "agw" it binds the IMS-AGW\'s Iq\nWebSocket.',
    args,
    io,
    validatePcscfConfig,
    async (c, log, audit) => {
      const link = c.agw;
      const iq =
        link !== undefined
          ? await IqWsClient.connect(link.url, {
              logger: log,
              ...(link.tls ? { tls: loadAgwLinkTls(link.tls) } : { insecure: link.insecure === true }),
            })
          : undefined;
      const { agw: _agw, access: accessCfg, core: coreCfg, ...rest } = c;
      const p = new Pcscf({
        ...rest,
        access: ifaceOptions(accessCfg),
        ...(coreCfg ? { core: ifaceOptions(coreCfg) } : {}),
        logger: log,
        audit,
        ...(iq ? { iq } : {}),
      });
      try {
        await p.start();
      } catch (e) {
        await iq?.close();
        throw e;
      }
      auditRefusals(p.access.layer, p.name, audit);
      if (p.core !== p.access) auditRefusals(p.core.layer, p.name, audit);
      const access = addresses(p.access.layer);
      const ready: Record<string, unknown> = {
        name: p.name,
        access,
        core: p.core === p.access ? "shared" : addresses(p.core.layer),
        agw: c.agw?.url ?? "none",
      };
      for (const proto of p.access.layer.protocols()) ready[`uri${proto}`] = p.uri("access", proto);
      return {
        ready,
        close: async () => {
          await p.close();
          await iq?.close();
        },
      };
    },
  );
}

export function agwCommand(args: string[], io: CliIo): Promise<number> {
  return runNode(
    "agw",
    'Runs the IMS-AGW with its Iq interface on a WebSocket: wss:// with mutual TLS, the P-CSCFs pinned by certificate\n(they connect with "agw": {"url": "wss://…", "tls": {…}}); docs/agw.md "Iq security".',
    args,
    io,
    validateAgwConfig,
    async (c, log, audit) => {
      const agw = new ImsAgw({
        logger: log,
        audit,
        ...(c.accessAddress !== undefined ? { accessAddress: c.accessAddress } : {}),
        ...(c.coreAddress !== undefined ? { coreAddress: c.coreAddress } : {}),
        ...(c.accessNetworks !== undefined ? { accessNetworks: c.accessNetworks } : {}),
        ...(c.coreNetworks !== undefined ? { coreNetworks: c.coreNetworks } : {}),
        ...(c.tcpEstablishmentInterlinkage !== undefined
          ? { tcpEstablishmentInterlinkage: c.tcpEstablishmentInterlinkage }
          : {}),
        ...(c.maxContexts !== undefined ? { maxContexts: c.maxContexts } : {}),
        ...(c.maxTerminations !== undefined ? { maxTerminations: c.maxTerminations } : {}),
        ...(c.maxHandshakes !== undefined ? { maxHandshakes: c.maxHandshakes } : {}),
        ...(c.keepAliveMs !== undefined ? { keepAliveMs: c.keepAliveMs } : {}),
      });
      let server: IqWsServer;
      try {
        server = await IqWsServer.listen({
          agw,
          port: c.iq.port,
          logger: log,
          ...(c.iq.host ? { host: c.iq.host } : {}),
          ...(c.iq.tls ? { tls: loadIqListenerTls(c.iq.tls) } : { insecure: c.iq.insecure === true }),
          ...(c.iq.quota ? { quota: c.iq.quota } : {}),
          ...(c.orphanGraceMs !== undefined ? { orphanGraceMs: c.orphanGraceMs } : {}),
          ...(c.pingIntervalMs !== undefined ? { pingIntervalMs: c.pingIntervalMs } : {}),
        });
      } catch (e) {
        await agw.close();
        throw e;
      }
      return {
        ready: { iq: server.url },
        close: async () => {
          await server.close();
          await agw.close();
        },
      };
    },
  );
}

/** The UE config's `dc` block as DcEndpoint options (`consentMs` goes into `timeouts`). */
function ueDcOptions(d: NonNullable<UeConfig["dc"]>) {
  const { consentMs, ...rest } = d;
  return { ...rest, ...(consentMs !== undefined ? { timeouts: { consentMs } } : {}) };
}

export function ueCommand(args: string[], io: CliIo): Promise<number> {
  return runNode(
    "ue",
    "Runs a UE: registers through its P-CSCF, answers calls (data channel e2e, TS 33.328 §7.2.5), echoes chat\nmessages when echoPrefix is set, and optionally places one call and sends messages.",
    args,
    io,
    validateUeConfig,
    async (c, log, audit) => {
      const ue = new ImsUe({
        aor: c.aor,
        transport: c.transport,
        ...(c.tls ? { tls: loadSipTls(c.tls).tlsConfig } : {}),
        outboundProxy: c.outboundProxy,
        ...(c.displayName !== undefined ? { displayName: c.displayName } : {}),
        ...(c.sipHost !== undefined ? { sipHost: c.sipHost } : {}),
        ...(c.sipPort !== undefined ? { sipPort: c.sipPort } : {}),
        ...(c.registrar !== undefined ? { registrar: c.registrar } : {}),
        ...(c.mediasec !== undefined ? { mediasec: c.mediasec } : {}),
        ...(c.autoAnswer !== undefined ? { autoAnswer: c.autoAnswer } : {}),
        ...(c.ice !== undefined ? { ice: c.ice } : {}),
        ...(c.timers ? { timers: c.timers } : {}),
        ...(c.maxCalls !== undefined ? { maxCalls: c.maxCalls } : {}),
        ...(c.prewarm !== undefined ? { prewarm: c.prewarm } : {}),
        ...(c.flowRecovery !== undefined ? { flowRecovery: c.flowRecovery } : {}),
        ...(c.acceptFrom !== undefined ? { acceptFrom: c.acceptFrom } : {}),
        ...(c.dc ? { dc: ueDcOptions(c.dc) } : {}),
        ...(c.auth ? { auth: c.auth } : {}),
        logger: log,
        audit,
      });
      const watch = (call: UeCall) => {
        call.dc.on("channel", (ch) => {
          ch.on("message", (m) => {
            const text = typeof m === "string" ? m : m.toString("utf8");
            log.info({ channel: ch.id, text }, "ue: message received");
            if (c.echoPrefix !== undefined && ch.readyState === "open") ch.send(`${c.echoPrefix}${text}`);
          });
        });
      };
      ue.on("call", watch);
      await ue.start();
      try {
        await ue.register();
      } catch (e) {
        await ue.close();
        throw e;
      }
      const ready = { aor: c.aor, via: c.outboundProxy, transport: c.transport };
      if (c.call === undefined) return { ready, close: () => ue.close() };
      const target = c.call;
      const done = (async (): Promise<number> => {
        let call: UeCall;
        try {
          call = await ue.call(target);
        } catch (e) {
          log.error({ err: e instanceof Error ? e.message : String(e) }, "ue: call failed");
          return EXIT.RUNTIME;
        }
        try {
          await call.dc.connected();
        } catch (e) {
          log.error({ err: e instanceof Error ? e.message : String(e) }, "ue: data channel failed");
          await call.hangup();
          return call.dc.verdict?.verified === false ? EXIT.SECURITY : EXIT.RUNTIME;
        }
        const ch = call.dc.channels()[0];
        if (ch) {
          if (ch.readyState !== "open") await new Promise<void>((r) => ch.once("open", () => r()));
          for (const m of c.send ?? []) ch.send(m);
        }
        if (c.hangupAfterMs !== undefined) {
          await new Promise((r) => setTimeout(r, c.hangupAfterMs));
          await call.hangup();
        }
        await call.sip.terminated();
        return EXIT.OK;
      })();
      return {
        ready,
        close: () => ue.close(),
        ...(c.exitAfterCall ? { done } : {}),
      };
    },
  );
}
