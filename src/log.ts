/**
 * Structured logging (pino). Secrets never reach a log line: private keys, ICE passwords and TLS key material are
 * redacted by path. `createLogger` gives pretty output on a TTY and NDJSON otherwise.
 * Security decisions go to the audit log (`audit()`), one JSON object per decision.
 * Every line has each key once (src/logKeys.ts): a reader that keeps the last of two equal keys (`JSON.parse`, `jq`)
 * loses nothing, e.g. the reason of a refusal. Errors go under `err` (pino's serializer: type, message, stack, code).
 */
import { type Logger, pino } from "pino";
import { uniqueBindings, uniqueFieldsHook } from "./logKeys.ts";

export type { Logger };

/** Paths redacted wherever they appear (pino redact syntax). */
const REDACT_PATHS = [
  "privateKey",
  "keyPem",
  "key",
  "icePwd",
  "password",
  "masterSecret",
  "*.privateKey",
  "*.keyPem",
  "*.key",
  "*.icePwd",
  "*.password",
  "*.masterSecret",
  "*.*.privateKey",
  "*.*.keyPem",
  "*.*.icePwd",
];

const CENSOR = "[redacted]";
/** The redacted keys at the top level of a line (a field renamed by src/logKeys.ts keeps its censorship). */
const SECRET_KEYS: ReadonlySet<string> = new Set(REDACT_PATHS.filter((p) => !p.includes(".")));

export interface LoggerOptions {
  name?: string;
  level?: pino.LevelWithSilent;
  /** Force pretty (true) or NDJSON (false); default: pretty when stdout is a TTY. */
  pretty?: boolean;
  /** Write to this stream instead of stdout (tests). */
  destination?: pino.DestinationStream;
}

export function createLogger(opts: LoggerOptions = {}): Logger {
  const level = opts.level ?? (process.env.IMSDC_LOG_LEVEL as pino.LevelWithSilent | undefined) ?? "info";
  const base: pino.LoggerOptions = {
    level,
    redact: { paths: REDACT_PATHS, censor: CENSOR },
    serializers: { err: pino.stdSerializers.err },
    hooks: { logMethod: uniqueFieldsHook(SECRET_KEYS, CENSOR) },
    onChild: uniqueBindings,
    ...(opts.name !== undefined ? { name: opts.name } : {}),
  };
  if (opts.destination) return pino(base, opts.destination);
  const pretty = opts.pretty ?? Boolean(process.stdout.isTTY);
  if (pretty) {
    return pino({
      ...base,
      transport: { target: "pino-pretty", options: { colorize: true, translateTime: "HH:MM:ss.l" } },
    });
  }
  return pino(base);
}

/** A logger that drops everything (library default: embedding apps pass their own). */
export const silentLogger: Logger = pino({ level: "silent" });

/** One security decision. Every field is plain JSON; no secrets. */
export interface AuditEvent {
  /** what decided: "pcscf", "ue", "agw", ... */
  node: string;
  /** the decision taken, e.g. "e2e", "e2ae", "refuse", "fingerprint-verified", "fingerprint-mismatch" */
  decision: string;
  /** spec clause the decision follows */
  clause: string;
  [k: string]: unknown;
}

export type AuditSink = (event: AuditEvent & { ts: string }) => void;

/** Collects audit events in memory (tests, CLI ladder) and forwards them to an optional sink. */
export class AuditLog {
  readonly events: (AuditEvent & { ts: string })[] = [];
  private readonly sinks: AuditSink[] = [];
  private readonly max: number;

  constructor(opts: { max?: number; sink?: AuditSink } = {}) {
    this.max = opts.max ?? 10_000;
    if (opts.sink) this.sinks.push(opts.sink);
  }

  onEvent(sink: AuditSink): () => void {
    this.sinks.push(sink);
    return () => {
      const i = this.sinks.indexOf(sink);
      if (i >= 0) this.sinks.splice(i, 1);
    };
  }

  record(event: AuditEvent): void {
    const e = { ts: new Date().toISOString(), ...event };
    this.events.push(e);
    if (this.events.length > this.max) this.events.splice(0, this.events.length - this.max);
    for (const s of this.sinks) {
      try {
        s(e);
      } catch {
        // an audit sink must never break the decision path
      }
    }
  }
}

/** An audit sink writing NDJSON lines through a pino logger at info level with `audit: true`. */
export function loggerAuditSink(log: Logger): AuditSink {
  return (e) => log.info({ audit: true, ...e }, `audit ${e.node} ${e.decision}`);
}
