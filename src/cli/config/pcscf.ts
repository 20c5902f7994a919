/** `imsdc pcscf --config FILE`: the P-CSCF's config (examples/configs/pcscf*.json). */
import { AlgConfigError, loadAlgConfig, type PcscfInterfaceConfig, type PcscfOptions } from "../../ims/pcscf/index.ts";
import { ConfigError } from "../errors.ts";
import { type AgwLinkConfig, readAgwLink } from "../iqConfig.ts";
import { readSipTls, type SipTlsBlock, tlsAuthenticates } from "../tlsConfig.ts";
import {
  type AllowPublicConfig,
  type ConnectionLimitsConfig,
  configKeys,
  connectionLimits,
  hostOf,
  type Json,
  join,
  Reader,
} from "./reader.ts";

/** One side of the P-CSCF: the node's interface options plus `allowPublic` and its SIP over TLS / WSS block. */
export type InterfaceConfig = Omit<PcscfInterfaceConfig, "tls" | "wss" | "tlsConfig"> &
  AllowPublicConfig & {
    /** SIP over TLS / WSS, and on the access side requireTls (tlsConfig.ts) */
    tls?: SipTlsBlock;
  };

/** The config's `rateLimit` object: the P-CSCF's rate limit without its internal bound on sources. */
type RateLimitSettings = Pick<Exclude<NonNullable<PcscfOptions["rateLimit"]>, false>, "rate" | "burst" | "key">;

/** `imsdc pcscf --config`: the P-CSCF's options as JSON (interfaces with `allowPublic`), plus the Iq link `agw`. */
export type PcscfConfig = Pick<
  PcscfOptions,
  | "name"
  | "scscf"
  | "coreNextHop"
  | "requireRegistration"
  | "securityServer"
  | "alg"
  | "aliases"
  | "timers"
  | "maxSessions"
  | "maxRegistrations"
  | "retryAfter"
  | "sessionMaxAgeMs"
> & {
  access: InterfaceConfig;
  core?: InterfaceConfig;
  /** the IMS-AGW's Iq WebSocket (imsdc agw): wss:// with mutual TLS, or ws:// on loopback with insecure; absent = no AGW */
  agw?: AgwLinkConfig;
  /** limits (docs/pcscf.md "Limits") */
  rateLimit?: false | RateLimitSettings;
  /** SIP connection limits of both interfaces (docs/sip.md "Connection admission") */
  limits?: ConnectionLimitsConfig;
};

function iface(r: Reader, v: Json, path: string, required: boolean, file: string): InterfaceConfig | undefined {
  const o = r.object(v, path, ["host", "allowPublic", "udp", "tcp", "ws", "tls", "viaHost"], required);
  if (!o) return undefined;
  const out: InterfaceConfig = {};
  const tls = readSipTls(o.tls, `${path}.tls`, (p, m) => r.problem(p, m), file, {
    requireTls: path === "access",
    listeners: true,
  });
  if (tls) out.tls = tls;
  const h = hostOf(r, o, path, tlsAuthenticates(o, tls));
  if (h !== undefined) out.host = h;
  if (o.allowPublic === true) out.allowPublic = true;
  for (const k of ["udp", "tcp", "ws"] as const) {
    const l = r.listen(o, k, path);
    if (l !== undefined) out[k] = l;
  }
  const via = r.string(o, "viaHost", path);
  if (via !== undefined) out.viaHost = via;
  if (out.udp === undefined && out.tcp === undefined && out.ws === undefined && out.tls === undefined)
    r.problem(path, "needs at least one of udp, tcp, ws, tls");
  return out;
}

export function validatePcscfConfig(v: unknown, file: string): PcscfConfig {
  const r = new Reader();
  const o = r.object(
    v,
    "",
    configKeys<PcscfConfig>({
      name: true,
      access: true,
      core: true,
      scscf: true,
      coreNextHop: true,
      requireRegistration: true,
      securityServer: true,
      alg: true,
      agw: true,
      aliases: true,
      timers: true,
      maxSessions: true,
      maxRegistrations: true,
      retryAfter: true,
      sessionMaxAgeMs: true,
      rateLimit: true,
      limits: true,
    }),
  );
  let out: PcscfConfig = { name: "pcscf", access: {} };
  if (o) {
    const name = r.string(o, "name", "", true) ?? "pcscf";
    if (!/^[A-Za-z0-9\-.!%*_+`'~]+$/.test(name)) r.problem("name", "must be a SIP token (e.g. pcscf-a)");
    out = { name, access: iface(r, o.access, "access", true, file) ?? {} };
    const core = iface(r, o.core, "core", false, file);
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
        out.alg = o.alg as NonNullable<PcscfOptions["alg"]>;
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
        const v: RateLimitSettings = {};
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
