/**
 * The `tls` block of the SIP node configs (S-CSCF, each P-CSCF interface, UE): SIP over TLS (RFC 3261 §26.2) and WSS
 * (RFC 7118 §5) listeners, the node's PEM certificate and key, its trust store (CA PEM files and/or pinned SHA-256
 * fingerprints, RFC 8122 §5 form) and, on a P-CSCF's access side, `requireTls` (requireTls.ts).
 *
 *   "tls": { "port": 5061, "wss": 7443, "cert": "pcscf.pem", "key": "pcscf.key", "ca": ["ca.pem"],
 *            "pins": ["sha-256 AB:…"], "requireClientCert": true, "requireTls": true }
 *
 * Shapes are checked at validation (`--check`; file paths resolved against the config file's directory); the PEM
 * files are read when the node starts (`loadSipTls`; ConfigError naming the file). Bind rule (binds.ts): a listener
 * authenticates its SIP peers only with mutual TLS (`requireClientCert`); TLS alone authenticates the server to its
 * clients, not the clients, so it does not lift the loopback rule.
 */
import { readFileSync } from "node:fs";
import { dirname, resolve } from "node:path";
import { parsePin } from "../ims/agw/iqTls.ts";
import type { SipTlsConfig } from "../sip/transport/tlsContext.ts";
import { ConfigError, type ConfigProblem } from "./errors.ts";

type Problem = (path: string, message: string) => void;
type Obj = Record<string, unknown>;

/** A validated `tls` block (paths absolute). */
export interface SipTlsBlock {
  /** TLS listener port (0 = any); absent with `wss` = no TLS listener */
  port?: number;
  /** WSS listener port (0 = any) */
  wss?: number;
  cert: string;
  key: string;
  ca?: string[];
  pins?: string[];
  requireClientCert?: boolean;
  /** P-CSCF access side only: refuse requests that did not arrive over TLS/WSS (403) */
  requireTls?: boolean;
}

const KEYS = ["port", "wss", "cert", "key", "ca", "pins", "requireClientCert", "requireTls"] as const;

function port(o: Obj, k: string, path: string, problem: Problem): number | undefined {
  const v = o[k];
  if (v === undefined) return undefined;
  if (typeof v !== "number" || !Number.isInteger(v) || v < 0 || v > 65535) {
    problem(`${path}.${k}`, "must be a port number (0..65535; 0 = any)");
    return undefined;
  }
  return v;
}

/**
 * Checks a `tls` block; `file` is the config file (relative paths are resolved against its directory).
 * `requireTls`: the block may say requireTls (a P-CSCF's access interface only); `listeners`: it must name a TLS or
 * WSS port (nodes; a UE's block is its credential and trust store only).
 */
export function readSipTls(
  v: unknown,
  path: string,
  problem: Problem,
  file: string,
  opts: { requireTls?: boolean; listeners?: boolean } = { listeners: true },
): SipTlsBlock | undefined {
  const requireTlsAllowed = opts.requireTls === true;
  if (v === undefined) return undefined;
  if (typeof v !== "object" || v === null || Array.isArray(v)) {
    problem(path, "must be an object");
    return undefined;
  }
  const o = v as Obj;
  for (const k of Object.keys(o)) if (!(KEYS as readonly string[]).includes(k)) problem(`${path}.${k}`, "unknown key");
  const base = dirname(resolve(file));
  const file1 = (k: "cert" | "key"): string | undefined => {
    const s = o[k];
    if (typeof s !== "string" || s === "") {
      problem(`${path}.${k}`, "is required (a PEM file)");
      return undefined;
    }
    return resolve(base, s);
  };
  const cert = file1("cert");
  const key = file1("key");
  const list = (k: "ca" | "pins"): string[] | undefined => {
    const l = o[k];
    if (l === undefined) return undefined;
    if (!Array.isArray(l) || l.some((x) => typeof x !== "string" || x === "")) {
      problem(`${path}.${k}`, "must be a list of strings");
      return undefined;
    }
    return l as string[];
  };
  const ca = list("ca")?.map((f) => resolve(base, f));
  const pins = list("pins");
  for (const [i, p] of (pins ?? []).entries()) {
    try {
      parsePin(p);
    } catch (e) {
      problem(`${path}.pins[${i}]`, e instanceof Error ? e.message : String(e));
    }
  }
  const bool = (k: "requireClientCert" | "requireTls"): boolean | undefined => {
    const b = o[k];
    if (b !== undefined && typeof b !== "boolean") problem(`${path}.${k}`, "must be true or false");
    return b === true ? true : undefined;
  };
  const requireClientCert = bool("requireClientCert");
  const requireTls = bool("requireTls");
  if (requireTls && !requireTlsAllowed) problem(`${path}.requireTls`, "is a P-CSCF access-side setting");
  if (requireClientCert && !ca && !pins)
    problem(`${path}.requireClientCert`, "needs ca or pins to check the client certificates with");
  const p = port(o, "port", path, problem);
  const w = port(o, "wss", path, problem);
  if (opts.listeners !== false && p === undefined && w === undefined)
    problem(path, "needs port (TLS) and/or wss (WSS)");
  if (cert === undefined || key === undefined) return undefined;
  return {
    cert,
    key,
    ...(p !== undefined ? { port: p } : {}),
    ...(w !== undefined ? { wss: w } : {}),
    ...(ca ? { ca } : {}),
    ...(pins ? { pins } : {}),
    ...(requireClientCert ? { requireClientCert } : {}),
    ...(requireTls ? { requireTls } : {}),
  };
}

/**
 * binds.ts `authenticated`: the listeners of an object authenticate their SIP peers only when every one of them is
 * mutual TLS (no UDP, TCP or WS listener beside it on the same host).
 */
export function tlsAuthenticates(o: Record<string, unknown>, block: SipTlsBlock | undefined): boolean {
  return (
    block?.requireClientCert === true &&
    (o.udp === undefined || o.udp === false) &&
    (o.tcp === undefined || o.tcp === false) &&
    (o.ws === undefined || o.ws === false)
  );
}

/** The node options of a validated block, PEM files read now (ConfigError listing every unreadable file). */
export function loadSipTls(
  b: SipTlsBlock,
  what = "SIP TLS credentials",
): { tls?: number; wss?: number; tlsConfig: SipTlsConfig; requireTls?: boolean } {
  const problems: ConfigProblem[] = [];
  const read = (p: string, key: string): string => {
    try {
      return readFileSync(p, "utf8");
    } catch (e) {
      problems.push({ path: key, message: `cannot read ${p} (${(e as { code?: string }).code ?? String(e)})` });
      return "";
    }
  };
  const certPem = read(b.cert, "tls.cert");
  const keyPem = read(b.key, "tls.key");
  const ca = (b.ca ?? []).map((f, i) => read(f, `tls.ca[${i}]`));
  if (problems.length > 0) throw new ConfigError(what, problems);
  const tlsConfig: SipTlsConfig = {
    certPem,
    keyPem,
    ...(ca.length > 0 ? { ca } : {}),
    ...(b.pins ? { pins: b.pins.map((p) => parsePin(p)) } : {}),
    ...(b.requireClientCert ? { requireClientCert: true } : {}),
  };
  return {
    ...(b.port !== undefined ? { tls: b.port } : {}),
    ...(b.wss !== undefined ? { wss: b.wss } : {}),
    tlsConfig,
    ...(b.requireTls ? { requireTls: true } : {}),
  };
}
