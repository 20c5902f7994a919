/**
 * What every node config of the imsdc commands shares: the problem-collecting JSON Reader, the loopback/`allowPublic`
 * bind rule of a listener's host, the SIP timers and connection limits, and reading the JSON file.
 */
import { readFile } from "node:fs/promises";
import type { SipTimerConfig, TransportLimits } from "../../sip/index.ts";
import { parseSipUri } from "../../sip/index.ts";
import { bindProblem } from "../binds.ts";
import { ConfigError, type ConfigProblem } from "../errors.ts";

export type Json = unknown;

/** The SIP transaction timers a node's config may set (src/sip/transaction/timers.ts). */
export type TimersConfig = Partial<SipTimerConfig>;

/** The connection limits a node's config may set (src/sip/transport/limiter.ts). */
export type ConnectionLimitsConfig = Partial<
  Pick<
    TransportLimits,
    "maxConnections" | "maxConnectionsPerSource" | "idleTimeoutMs" | "unregisteredIdleTimeoutMs" | "messageTimeoutMs"
  >
>;

/** What a SIP listener's config adds to the node's options: accept a wildcard or non-loopback `host` (binds.ts). */
export interface AllowPublicConfig {
  allowPublic?: boolean;
}

/**
 * The top-level keys of a config type, listed once and checked by the compiler both ways: a key of the node options
 * picked into the config type must be read here, and nothing else may be.
 */
export function configKeys<T>(keys: { [K in keyof Required<T>]: true }): string[] {
  return Object.keys(keys);
}

/** Collects problems while reading one object tree. */
export class Reader {
  readonly problems: ConfigProblem[] = [];

  problem(path: string, message: string): void {
    this.problems.push({ path, message });
  }

  /** The object at `path` (undefined and a problem when it is not one); unknown keys are problems. */
  object(v: Json, path: string, keys: readonly string[], required = true): Record<string, Json> | undefined {
    if (v === undefined && !required) return undefined;
    if (typeof v !== "object" || v === null || Array.isArray(v)) {
      this.problem(path, v === undefined ? "is required" : "must be an object");
      return undefined;
    }
    const o = v as Record<string, Json>;
    for (const k of Object.keys(o)) if (!keys.includes(k)) this.problem(join(path, k), "unknown key");
    return o;
  }

  string(o: Record<string, Json>, key: string, path: string, required = false): string | undefined {
    const v = o[key];
    if (v === undefined) {
      if (required) this.problem(join(path, key), "is required");
      return undefined;
    }
    if (typeof v !== "string" || v === "") {
      this.problem(join(path, key), "must be a non-empty string");
      return undefined;
    }
    return v;
  }

  bool(o: Record<string, Json>, key: string, path: string): boolean | undefined {
    const v = o[key];
    if (v === undefined) return undefined;
    if (typeof v !== "boolean") {
      this.problem(join(path, key), "must be true or false");
      return undefined;
    }
    return v;
  }

  int(o: Record<string, Json>, key: string, path: string, min: number, max: number): number | undefined {
    const v = o[key];
    if (v === undefined) return undefined;
    if (typeof v !== "number" || !Number.isInteger(v) || v < min || v > max) {
      this.problem(join(path, key), `must be an integer ${min}-${max}`);
      return undefined;
    }
    return v;
  }

  /** A listening transport: a port (0 = any free port) or true (any port) / false (off). */
  listen(o: Record<string, Json>, key: string, path: string): boolean | number | undefined {
    const v = o[key];
    if (v === undefined || typeof v === "boolean") return v;
    return this.int(o, key, path, 0, 65535);
  }

  sipUri(o: Record<string, Json>, key: string, path: string, required = false): string | undefined {
    const s = this.string(o, key, path, required);
    if (s === undefined) return undefined;
    try {
      parseSipUri(s);
      return s;
    } catch {
      this.problem(join(path, key), `is not a SIP URI: ${s}`);
      return undefined;
    }
  }

  stringList(o: Record<string, Json>, key: string, path: string): string[] | undefined {
    const v = o[key];
    if (v === undefined) return undefined;
    if (!Array.isArray(v) || v.some((x) => typeof x !== "string" || x === "")) {
      this.problem(join(path, key), "must be an array of non-empty strings");
      return undefined;
    }
    return v as string[];
  }

  timers(o: Record<string, Json>, path: string): TimersConfig | undefined {
    const t = this.object(o.timers, join(path, "timers"), ["T1", "T2", "T4", "D"], false);
    if (!t) return undefined;
    const out: TimersConfig = {};
    for (const k of ["T1", "T2", "T4", "D"] as const) {
      const n = this.int(t, k, join(path, "timers"), 1, 600_000);
      if (n !== undefined) out[k] = n;
    }
    return out;
  }
}

export function join(path: string, key: string): string {
  return path === "" ? key : `${path}.${key}`;
}

export const LOOPBACK_HINT = "the lab network is loopback only: use 127.0.0.1 or ::1";

/**
 * The `host` of a listener without authentication (every SIP listener and the Iq WebSocket today): loopback only,
 * unless the same object says `allowPublic: true` (binds.ts; TLS / authentication will be the other way out).
 */
export function hostOf(r: Reader, o: Record<string, Json>, path: string, authenticated = false): string | undefined {
  const h = r.string(o, "host", path);
  const allowPublic = r.bool(o, "allowPublic", path);
  if (h !== undefined) {
    const p = bindProblem(h, { allowPublic, authenticated });
    if (p !== undefined) r.problem(join(path, "host"), p);
  }
  return h;
}

/** Reads and parses a JSON file; ConfigError when unreadable or not JSON. */
export async function readJsonFile(file: string): Promise<unknown> {
  let text: string;
  try {
    text = await readFile(file, "utf8");
  } catch (e) {
    const code = (e as { code?: string }).code;
    throw new ConfigError(file, [{ path: "", message: `cannot read the file${code ? ` (${code})` : ""}` }], {
      cause: e,
    });
  }
  try {
    return JSON.parse(text) as unknown;
  } catch (e) {
    throw new ConfigError(
      file,
      [{ path: "", message: `not valid JSON: ${e instanceof Error ? e.message : String(e)}` }],
      {
        cause: e,
      },
    );
  }
}

const LIMIT_KEYS = [
  ["maxConnections", 1, 1_000_000],
  ["maxConnectionsPerSource", 1, 1_000_000],
  ["idleTimeoutMs", 1000, 86_400_000],
  ["unregisteredIdleTimeoutMs", 1000, 86_400_000],
  ["messageTimeoutMs", 100, 600_000],
] as const;

export function connectionLimits(r: Reader, o: Record<string, Json>): ConnectionLimitsConfig | undefined {
  const l = r.object(
    o.limits,
    "limits",
    LIMIT_KEYS.map(([k]) => k),
    false,
  );
  if (!l) return undefined;
  const out: ConnectionLimitsConfig = {};
  for (const [k, min, max] of LIMIT_KEYS) {
    const n = r.int(l, k, "limits", min, max);
    if (n !== undefined) out[k] = n;
  }
  return out;
}
