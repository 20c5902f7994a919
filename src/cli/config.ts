/**
 * JSON configuration files of the per-node commands (`imsdc scscf|pcscf|agw|ue --config FILE`), validated into typed
 * objects. Every problem is collected (unknown keys included) and reported at once as a ConfigError (exit 2).
 * Examples: examples/configs/*.json; reference: docs/demo.md "Running the nodes apart".
 */
import { readFile } from "node:fs/promises";
import { dirname, resolve } from "node:path";
import { type AlgConfig, AlgConfigError, loadAlgConfig } from "../ims/pcscf/index.ts";
import { parseSipUri } from "../sip/index.ts";
import { bindProblem } from "./binds.ts";
import { ConfigError, type ConfigProblem } from "./errors.ts";
import { type AgwLinkConfig, type IqListenerConfig, readAgwLink, readIqListener, readNetworks } from "./iqConfig.ts";

import { type UeAuthFileConfig, validateUeAuth } from "./ueAuthConfig.ts";

type Json = unknown;

/** Collects problems while reading one object tree. */
class Reader {
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

  timers(o: Record<string, Json>, path: string): Partial<Record<"T1" | "T2" | "T4" | "D", number>> | undefined {
    const t = this.object(o.timers, join(path, "timers"), ["T1", "T2", "T4", "D"], false);
    if (!t) return undefined;
    const out: Partial<Record<"T1" | "T2" | "T4" | "D", number>> = {};
    for (const k of ["T1", "T2", "T4", "D"] as const) {
      const n = this.int(t, k, join(path, "timers"), 1, 600_000);
      if (n !== undefined) out[k] = n;
    }
    return out;
  }
}

function join(path: string, key: string): string {
  return path === "" ? key : `${path}.${key}`;
}

const LOOPBACK_HINT = "the lab network is loopback only: use 127.0.0.1 or ::1";

/**
 * The `host` of a listener without authentication (every SIP listener and the Iq WebSocket today): loopback only,
 * unless the same object says `allowPublic: true` (binds.ts; TLS / authentication will be the other way out).
 */
function hostOf(r: Reader, o: Record<string, Json>, path: string): string | undefined {
  const h = r.string(o, "host", path);
  const allowPublic = r.bool(o, "allowPublic", path);
  if (h !== undefined) {
    const p = bindProblem(h, { allowPublic, authenticated: false });
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

// -------------------------------------------------------------------------------------------------------------------
// S-CSCF

export interface ScscfConfig {
  name?: string;
  host?: string;
  /** accept a wildcard or non-loopback `host` (SIP has no authentication here: binds.ts) */
  allowPublic?: boolean;
  udp?: boolean | number;
  tcp?: boolean | number;
  ws?: boolean | number;
  viaHost?: string;
  domains?: string[];
  aliases?: string[];
  timers?: Partial<Record<"T1" | "T2" | "T4" | "D", number>>;
  /** SIP connection limits (docs/sip.md "Connection admission") */
  limits?: ConnectionLimitsConfig;
  /** registration authentication (docs/auth.md); required: an object, or false to run without */
  auth?: ScscfAuthConfig | false;
}

/** The connection limits a node's config may set (src/sip/transport/limiter.ts). */
export interface ConnectionLimitsConfig {
  maxConnections?: number;
  maxConnectionsPerSource?: number;
  idleTimeoutMs?: number;
  unregisteredIdleTimeoutMs?: number;
  messageTimeoutMs?: number;
}

const LIMIT_KEYS = [
  ["maxConnections", 1, 1_000_000],
  ["maxConnectionsPerSource", 1, 1_000_000],
  ["idleTimeoutMs", 1000, 86_400_000],
  ["unregisteredIdleTimeoutMs", 1000, 86_400_000],
  ["messageTimeoutMs", 100, 600_000],
] as const;

function connectionLimits(r: Reader, o: Record<string, Json>): ConnectionLimitsConfig | undefined {
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

export interface ScscfAuthConfig {
  /** subscriber file, relative to the configuration file */
  store: string;
  schemes?: ("digest" | "aka")[];
  realm?: string;
  digestAlgorithms?: string[];
  nonceLifetimeMs?: number;
  maxFailures?: number;
  allowNoQop?: boolean;
}

function scscfAuth(r: Reader, o: Record<string, Json>, file: string): ScscfAuthConfig | false | undefined {
  const v = o.auth;
  if (v === false) return false;
  if (v === undefined) {
    r.problem("auth", 'is required: { "store": "subscribers.json", ... } (docs/auth.md), or false for none');
    return undefined;
  }
  const a = r.object(v, "auth", [
    "store",
    "schemes",
    "realm",
    "digestAlgorithms",
    "nonceLifetimeMs",
    "maxFailures",
    "allowNoQop",
  ]);
  if (!a) return undefined;
  const store = r.string(a, "store", "auth", true);
  if (store === undefined) return undefined;
  const out: ScscfAuthConfig = { store: resolve(dirname(file), store) };
  const schemes = r.stringList(a, "schemes", "auth");
  if (schemes !== undefined) {
    const badScheme = schemes.find((x) => x !== "digest" && x !== "aka");
    if (badScheme !== undefined || schemes.length === 0) r.problem("auth.schemes", 'must list "digest" and/or "aka"');
    else out.schemes = schemes as ("digest" | "aka")[];
  }
  const realm = r.string(a, "realm", "auth");
  if (realm !== undefined) out.realm = realm;
  const algs = r.stringList(a, "digestAlgorithms", "auth");
  if (algs !== undefined) out.digestAlgorithms = algs;
  const life = r.int(a, "nonceLifetimeMs", "auth", 1000, 86_400_000);
  if (life !== undefined) out.nonceLifetimeMs = life;
  const mf = r.int(a, "maxFailures", "auth", 1, 1000);
  if (mf !== undefined) out.maxFailures = mf;
  const nq = r.bool(a, "allowNoQop", "auth");
  if (nq !== undefined) out.allowNoQop = nq;
  return out;
}

export function validateScscfConfig(v: unknown, file: string): ScscfConfig {
  const r = new Reader();
  const o = r.object(v, "", [
    "name",
    "host",
    "allowPublic",
    "udp",
    "tcp",
    "ws",
    "viaHost",
    "domains",
    "aliases",
    "timers",
    "limits",
    "auth",
  ]);
  const out: ScscfConfig = {};
  if (o) {
    const set = <K extends keyof ScscfConfig>(k: K, x: ScscfConfig[K] | undefined) => {
      if (x !== undefined) out[k] = x;
    };
    set("name", r.string(o, "name", ""));
    set("host", hostOf(r, o, ""));
    set("allowPublic", r.bool(o, "allowPublic", ""));
    set("udp", r.listen(o, "udp", ""));
    set("tcp", r.listen(o, "tcp", ""));
    set("ws", r.listen(o, "ws", ""));
    set("viaHost", r.string(o, "viaHost", ""));
    set("domains", r.stringList(o, "domains", ""));
    set("aliases", r.stringList(o, "aliases", ""));
    set("timers", r.timers(o, ""));
    set("limits", connectionLimits(r, o));
    set("auth", scscfAuth(r, o, file));
    if (out.udp === undefined && out.tcp === undefined && out.ws === undefined)
      r.problem("", "needs at least one of udp, tcp, ws");
  }
  if (r.problems.length > 0) throw new ConfigError(file, r.problems);
  return out;
}

// -------------------------------------------------------------------------------------------------------------------
// P-CSCF

export interface InterfaceConfig {
  host?: string;
  /** accept a wildcard or non-loopback `host` (SIP has no authentication here: binds.ts) */
  allowPublic?: boolean;
  udp?: boolean | number;
  tcp?: boolean | number;
  ws?: boolean | number;
  viaHost?: string;
}

export interface PcscfConfig {
  name: string;
  access: InterfaceConfig;
  core?: InterfaceConfig;
  scscf?: string;
  coreNextHop?: string;
  requireRegistration?: boolean;
  securityServer?: boolean;
  alg?: Partial<AlgConfig>;
  /** the IMS-AGW's Iq WebSocket (imsdc agw): wss:// with mutual TLS, or ws:// on loopback with insecure; absent = no AGW */
  agw?: AgwLinkConfig;
  aliases?: string[];
  timers?: Partial<Record<"T1" | "T2" | "T4" | "D", number>>;
  /** limits (docs/pcscf.md "Limits") */
  maxSessions?: number;
  maxRegistrations?: number;
  retryAfter?: number;
  sessionMaxAgeMs?: number;
  rateLimit?: false | { rate?: number; burst?: number; key?: "flow" | "address" };
  /** SIP connection limits of both interfaces (docs/sip.md "Connection admission") */
  limits?: ConnectionLimitsConfig;
}

function iface(r: Reader, v: Json, path: string, required: boolean): InterfaceConfig | undefined {
  const o = r.object(v, path, ["host", "allowPublic", "udp", "tcp", "ws", "viaHost"], required);
  if (!o) return undefined;
  const out: InterfaceConfig = {};
  const h = hostOf(r, o, path);
  if (h !== undefined) out.host = h;
  if (o.allowPublic === true) out.allowPublic = true;
  for (const k of ["udp", "tcp", "ws"] as const) {
    const l = r.listen(o, k, path);
    if (l !== undefined) out[k] = l;
  }
  const via = r.string(o, "viaHost", path);
  if (via !== undefined) out.viaHost = via;
  if (out.udp === undefined && out.tcp === undefined && out.ws === undefined)
    r.problem(path, "needs at least one of udp, tcp, ws");
  return out;
}

export function validatePcscfConfig(v: unknown, file: string): PcscfConfig {
  const r = new Reader();
  const o = r.object(v, "", [
    "name",
    "access",
    "core",
    "scscf",
    "coreNextHop",
    "requireRegistration",
    "securityServer",
    "alg",
    "agw",
    "aliases",
    "timers",
    "maxSessions",
    "maxRegistrations",
    "retryAfter",
    "sessionMaxAgeMs",
    "rateLimit",
    "limits",
  ]);
  let out: PcscfConfig = { name: "pcscf", access: {} };
  if (o) {
    const name = r.string(o, "name", "", true) ?? "pcscf";
    if (!/^[A-Za-z0-9\-.!%*_+`'~]+$/.test(name)) r.problem("name", "must be a SIP token (e.g. pcscf-a)");
    out = { name, access: iface(r, o.access, "access", true) ?? {} };
    const core = iface(r, o.core, "core", false);
    if (core) out.core = core;
    const scscf = r.sipUri(o, "scscf", "");
    if (scscf !== undefined) out.scscf = scscf;
    const hop = r.sipUri(o, "coreNextHop", "");
    if (hop !== undefined) out.coreNextHop = hop;
    if (scscf === undefined && hop === undefined) r.problem("scscf", "is required (or coreNextHop)");
    const rr = r.bool(o, "requireRegistration", "");
    if (rr !== undefined) out.requireRegistration = rr;
    const ss = r.bool(o, "securityServer", "");
    if (ss !== undefined) out.securityServer = ss;
    if (o.alg !== undefined) {
      try {
        loadAlgConfig(o.alg);
        out.alg = o.alg as Partial<AlgConfig>;
      } catch (e) {
        if (e instanceof AlgConfigError) for (const p of e.problems) r.problem(join("alg", p.path), p.message);
        else r.problem("alg", e instanceof Error ? e.message : String(e));
      }
    }
    if (o.agw !== undefined) {
      // docs/agw.md "Iq security": wss:// with pinned certificates, or plain ws:// only insecure and on loopback
      const agw = readAgwLink(o.agw, (p, m) => r.problem(p, m), file);
      if (agw) out.agw = agw;
    }
    const aliases = r.stringList(o, "aliases", "");
    if (aliases) out.aliases = aliases;
    const timers = r.timers(o, "");
    if (timers) out.timers = timers;
    const maxSessions = r.int(o, "maxSessions", "", 1, 10_000_000);
    if (maxSessions !== undefined) out.maxSessions = maxSessions;
    const maxRegistrations = r.int(o, "maxRegistrations", "", 1, 10_000_000);
    if (maxRegistrations !== undefined) out.maxRegistrations = maxRegistrations;
    const retryAfter = r.int(o, "retryAfter", "", 1, 86_400);
    if (retryAfter !== undefined) out.retryAfter = retryAfter;
    const age = r.int(o, "sessionMaxAgeMs", "", 0, 7 * 86_400_000);
    if (age !== undefined) out.sessionMaxAgeMs = age;
    const limits = connectionLimits(r, o);
    if (limits) out.limits = limits;
    if (o.rateLimit === false) out.rateLimit = false;
    else if (o.rateLimit !== undefined) {
      const rl = r.object(o.rateLimit, "rateLimit", ["rate", "burst", "key"]);
      if (rl) {
        const v: { rate?: number; burst?: number; key?: "flow" | "address" } = {};
        const rate = r.int(rl, "rate", "rateLimit", 1, 1_000_000);
        if (rate !== undefined) v.rate = rate;
        const burst = r.int(rl, "burst", "rateLimit", 1, 1_000_000);
        if (burst !== undefined) v.burst = burst;
        const key = r.string(rl, "key", "rateLimit");
        if (key === "flow" || key === "address") v.key = key;
        else if (key !== undefined) r.problem("rateLimit.key", `must be "flow" or "address", not ${key}`);
        out.rateLimit = v;
      }
    }
  }
  if (r.problems.length > 0) throw new ConfigError(file, r.problems);
  return out;
}

// -------------------------------------------------------------------------------------------------------------------
// IMS-AGW

export interface AgwConfig {
  /** the Iq listener: WSS with pinned controllers, or insecure ws:// on loopback; per-controller quota */
  iq: IqListenerConfig;
  /** remote addresses allowed per side (CIDR lists; default loopback and the side's own address) */
  accessNetworks?: string[];
  coreNetworks?: string[];
  accessAddress?: string;
  coreAddress?: string;
  tcpEstablishmentInterlinkage?: boolean;
  maxContexts?: number;
  /** limits and fault timers (docs/agw.md "Faults and limits") */
  maxTerminations?: number;
  maxHandshakes?: number;
  keepAliveMs?: number;
  orphanGraceMs?: number;
  pingIntervalMs?: number;
}

const AGW_NUMBERS = [
  ["maxTerminations", 1, 10_000_000],
  ["maxHandshakes", 1, 1_000_000],
  ["keepAliveMs", 0, 3_600_000],
  ["orphanGraceMs", 0, 86_400_000],
  ["pingIntervalMs", 0, 3_600_000],
] as const;

export function validateAgwConfig(v: unknown, file: string): AgwConfig {
  const r = new Reader();
  const o = r.object(v, "", [
    "iq",
    "accessAddress",
    "coreAddress",
    "accessNetworks",
    "coreNetworks",
    "tcpEstablishmentInterlinkage",
    "maxContexts",
    ...AGW_NUMBERS.map(([k]) => k),
  ]);
  let out: AgwConfig = { iq: { port: 0 } };
  if (o) {
    const iq = r.object(o.iq, "iq", ["host", "port", "insecure", "tls", "quota"]);
    const port = iq ? r.int(iq, "port", "iq", 0, 65535) : undefined;
    if (iq && iq.port === undefined) r.problem("iq.port", "is required");
    const host = iq ? r.string(iq, "host", "iq") : undefined;
    // binds.ts: Iq over mutual TLS authenticates its controllers and may bind beyond loopback; an insecure ws:// Iq
    // listener is loopback only (iqConfig.ts says why)
    // (an `insecure` listener gets iqConfig.ts's loopback rule instead, one problem per mistake)
    const bind =
      host !== undefined && iq?.insecure !== true
        ? bindProblem(host, { authenticated: iq?.tls !== undefined })
        : undefined;
    if (bind !== undefined) r.problem("iq.host", bind.replace("set allowPublic: true on it", "configure iq.tls"));
    // docs/agw.md "Iq security": tls (mutual, pinned) or insecure: true on a loopback host; quota per controller
    const sec = iq ? readIqListener(iq, (p, m) => r.problem(p, m), host, file) : {};
    out = { iq: { port: port ?? 0, ...(host !== undefined ? { host } : {}), ...sec } };
    for (const k of ["accessNetworks", "coreNetworks"] as const) {
      const n = readNetworks(o[k], k, (p, m) => r.problem(p, m));
      if (n) out[k] = n;
    }
    for (const k of ["accessAddress", "coreAddress"] as const) {
      const a = r.string(o, k, "");
      if (a !== undefined) {
        if (!/^(127\.\d+\.\d+\.\d+|::1)$/.test(a)) r.problem(k, `${a} is not a loopback address (${LOOPBACK_HINT})`);
        else out[k] = a;
      }
    }
    const il = r.bool(o, "tcpEstablishmentInterlinkage", "");
    if (il !== undefined) out.tcpEstablishmentInterlinkage = il;
    const mc = r.int(o, "maxContexts", "", 1, 1_000_000);
    if (mc !== undefined) out.maxContexts = mc;
    for (const [k, min, max] of AGW_NUMBERS) {
      const n = r.int(o, k, "", min, max);
      if (n !== undefined) out[k] = n;
    }
  }
  if (r.problems.length > 0) throw new ConfigError(file, r.problems);
  return out;
}

// -------------------------------------------------------------------------------------------------------------------
// UE

export interface UeChannelConfig {
  id: number;
  label?: string;
  subprotocol?: string;
}

export interface UeConfig {
  aor: string;
  displayName?: string;
  transport: "UDP" | "TCP" | "WS";
  sipHost?: string;
  sipPort?: number;
  outboundProxy: string;
  registrar?: string;
  mediasec?: boolean | string[];
  autoAnswer?: boolean;
  /** ICE mode of the data channel: "full" (default), "lite" (TS 26.114 Annex A.17) or "none" (TS 24.186 §9.3) */
  ice?: "full" | "lite" | "none";
  dc?: {
    channels?: UeChannelConfig[];
    requestE2ae?: boolean;
    answerSetup?: "active" | "passive";
    /** RFC 7675 §5.1 consent expiry of the data channel (ms, default 30 000) */
    consentMs?: number;
  };
  /** calls held at once; further incoming INVITEs get 486 Busy Here (default 16) */
  maxCalls?: number;
  /** RFC 5626 §4.5 re-registration when the TCP/WS flow to the P-CSCF fails (default base 30 s / max 1800 s) */
  flowRecovery?: false | { baseMs?: number; maxMs?: number };
  /** echo every data channel message back with this prefix */
  echoPrefix?: string;
  /** call this URI once registered */
  call?: string;
  /** messages to send on the first open channel of that call */
  send?: string[];
  /** hang up this long after the channel opened (default: keep the call) */
  hangupAfterMs?: number;
  /** exit once the call ended (status 0 when the data channel opened verified, else 4/3) */
  exitAfterCall?: boolean;
  timers?: Partial<Record<"T1" | "T2" | "T4" | "D", number>>;
  /** registration credentials (ueAuthConfig.ts): Digest password or AKA SIM stand-in */
  auth?: UeAuthFileConfig;
}

export function validateUeConfig(v: unknown, file: string): UeConfig {
  const r = new Reader();
  const o = r.object(v, "", [
    "aor",
    "displayName",
    "transport",
    "sipHost",
    "sipPort",
    "outboundProxy",
    "registrar",
    "mediasec",
    "autoAnswer",
    "ice",
    "maxCalls",
    "flowRecovery",
    "dc",
    "echoPrefix",
    "call",
    "send",
    "hangupAfterMs",
    "exitAfterCall",
    "timers",
    "auth",
  ]);
  let out: UeConfig = { aor: "", transport: "UDP", outboundProxy: "" };
  if (o) {
    const aor = r.sipUri(o, "aor", "", true) ?? "";
    const t = r.string(o, "transport", "") ?? "UDP";
    if (t !== "UDP" && t !== "TCP" && t !== "WS") r.problem("transport", "must be UDP, TCP or WS");
    const transport = t === "TCP" || t === "WS" ? t : "UDP";
    const outboundProxy = r.sipUri(o, "outboundProxy", "", true) ?? "";
    out = { aor, transport, outboundProxy };
    const dn = r.string(o, "displayName", "");
    if (dn !== undefined) out.displayName = dn;
    const sh = r.string(o, "sipHost", "");
    if (sh !== undefined) {
      if (!/^(127\.\d+\.\d+\.\d+|::1)$/.test(sh))
        r.problem("sipHost", `${sh} is not a loopback address (${LOOPBACK_HINT})`);
      else out.sipHost = sh;
    }
    const sp = r.int(o, "sipPort", "", 0, 65535);
    if (sp !== undefined) out.sipPort = sp;
    const reg = r.sipUri(o, "registrar", "");
    if (reg !== undefined) out.registrar = reg;
    if (o.mediasec !== undefined) {
      if (typeof o.mediasec === "boolean") out.mediasec = o.mediasec;
      else {
        const l = r.stringList(o, "mediasec", "");
        if (l) out.mediasec = l;
      }
    }
    const aa = r.bool(o, "autoAnswer", "");
    if (aa !== undefined) out.autoAnswer = aa;
    const ice = r.string(o, "ice", "");
    if (ice !== undefined) {
      if (ice !== "full" && ice !== "lite" && ice !== "none") r.problem("ice", "must be full, lite or none");
      else out.ice = ice;
    }
    // RFC 3261 §21.4.24: beyond maxCalls an incoming INVITE is answered 486 Busy Here
    const mc = r.int(o, "maxCalls", "", 0, 100_000);
    if (mc !== undefined) out.maxCalls = mc;
    if (o.flowRecovery === false) out.flowRecovery = false;
    else if (o.flowRecovery !== undefined) {
      const fr = r.object(o.flowRecovery, "flowRecovery", ["baseMs", "maxMs"]);
      if (fr) {
        const v: { baseMs?: number; maxMs?: number } = {};
        const b = r.int(fr, "baseMs", "flowRecovery", 10, 3_600_000);
        if (b !== undefined) v.baseMs = b;
        const m = r.int(fr, "maxMs", "flowRecovery", 10, 86_400_000);
        if (m !== undefined) v.maxMs = m;
        out.flowRecovery = v;
      }
    }
    const dc = r.object(o.dc, "dc", ["channels", "requestE2ae", "answerSetup", "consentMs"], false);
    if (dc) {
      const d: NonNullable<UeConfig["dc"]> = {};
      if (dc.channels !== undefined) {
        if (!Array.isArray(dc.channels)) r.problem("dc.channels", "must be an array");
        else {
          const chans: UeChannelConfig[] = [];
          dc.channels.forEach((c: Json, i: number) => {
            const p = `dc.channels[${i}]`;
            const co = r.object(c, p, ["id", "label", "subprotocol"]);
            if (!co) return;
            // RFC 8864 §5.1.1: stream id 0-65534
            const id = r.int(co, "id", p, 0, 65534);
            if (co.id === undefined) r.problem(`${p}.id`, "is required");
            const ch: UeChannelConfig = { id: id ?? 0 };
            const l = r.string(co, "label", p);
            if (l !== undefined) ch.label = l;
            const s = r.string(co, "subprotocol", p);
            if (s !== undefined) ch.subprotocol = s;
            chans.push(ch);
          });
          d.channels = chans;
        }
      }
      // RFC 7675 §5.1: consent expiry (the UE accepts 1000 ms and more)
      const cm = r.int(dc, "consentMs", "dc", 1000, 600_000);
      if (cm !== undefined) d.consentMs = cm;
      const e2ae = r.bool(dc, "requestE2ae", "dc");
      if (e2ae !== undefined) d.requestE2ae = e2ae;
      const as = r.string(dc, "answerSetup", "dc");
      if (as !== undefined) {
        // RFC 5763 §5: the answerer is active or passive
        if (as !== "active" && as !== "passive") r.problem("dc.answerSetup", "must be active or passive");
        else d.answerSetup = as;
      }
      out.dc = d;
    }
    const ep = o.echoPrefix;
    if (ep !== undefined) {
      if (typeof ep !== "string") r.problem("echoPrefix", "must be a string");
      else out.echoPrefix = ep;
    }
    const call = r.sipUri(o, "call", "");
    if (call !== undefined) out.call = call;
    const send = r.stringList(o, "send", "");
    if (send) out.send = send;
    const h = r.int(o, "hangupAfterMs", "", 0, 3_600_000);
    if (h !== undefined) out.hangupAfterMs = h;
    const x = r.bool(o, "exitAfterCall", "");
    if (x !== undefined) out.exitAfterCall = x;
    if (out.exitAfterCall && out.call === undefined) r.problem("exitAfterCall", "needs call");
    const timers = r.timers(o, "");
    if (timers) out.timers = timers;
    if (o.auth !== undefined) {
      const a = validateUeAuth(o.auth);
      for (const p of a.problems) r.problem(p.path, p.message);
      if (a.value) out.auth = a.value;
    }
  }
  if (r.problems.length > 0) throw new ConfigError(file, r.problems);
  return out;
}
