/**
 * The Iq parts of the node configs (docs/agw.md "Iq security"): the AGW's listener (`iq`: WSS with pinned controllers,
 * or plain ws:// under the insecure rule, per-controller quota), its address policy (`accessNetworks`,
 * `coreNetworks`), and the P-CSCF's link to the AGW (`agw`). Shapes are checked at validation (`--check`); the PEM
 * files are read when the node starts (`loadIqListenerTls`, `loadAgwLinkTls`; ConfigError naming the file).
 *
 * The insecure rule, here and in `IqWsServer.listen` / `IqWsClient.connect`: a plain ws:// Iq endpoint needs
 * `insecure: true` AND a loopback address (127.0.0.0/8, ::1, localhost); anything else needs `tls`.
 */

import { readFileSync } from "node:fs";
import { dirname, resolve } from "node:path";
import {
  type IqPin,
  type IqQuota,
  type IqTlsClientOptions,
  type IqTlsServerOptions,
  parseCidr,
  parsePin,
  pinOfCertificate,
} from "../ims/agw/index.ts";
import { isLoopbackHost } from "../loopback.ts";
import { ConfigError, type ConfigProblem } from "./errors.ts";

type Problem = (path: string, message: string) => void;
type Obj = Record<string, unknown>;

/** A pinned controller: its name and its certificate's fingerprint, or the certificate file to take it from. */
export interface IqControllerConfig {
  name: string;
  fingerprint?: string;
  cert?: string;
}

export interface IqListenerConfig {
  host?: string;
  port: number;
  /** plain ws:// on loopback (no authentication): only with insecure: true */
  insecure?: boolean;
  /** WSS with mutual TLS: the AGW's PEM files and the pinned controllers (paths relative to the config file) */
  tls?: { cert: string; key: string; controllers: IqControllerConfig[] };
  quota?: Partial<IqQuota>;
}

export interface AgwLinkConfig {
  url: string;
  insecure?: boolean;
  /** the P-CSCF's PEM files and the AGW's pin: `agwFingerprint` ("sha-256 AB:…") or `agwCert` (a PEM file) */
  tls?: { cert: string; key: string; agwFingerprint?: string; agwCert?: string };
}

function obj(v: unknown, path: string, keys: readonly string[], problem: Problem): Obj | undefined {
  if (typeof v !== "object" || v === null || Array.isArray(v)) {
    problem(path, v === undefined ? "is required" : "must be an object");
    return undefined;
  }
  for (const k of Object.keys(v)) if (!keys.includes(k)) problem(`${path}.${k}`, "unknown key");
  return v as Obj;
}

function str(o: Obj, k: string, path: string, problem: Problem, required = false): string | undefined {
  const v = o[k];
  if (v === undefined) {
    if (required) problem(`${path}.${k}`, "is required");
    return undefined;
  }
  if (typeof v !== "string" || v === "") {
    problem(`${path}.${k}`, "must be a non-empty string");
    return undefined;
  }
  return v;
}

/** A file path of the config, resolved against the config file's directory. */
function pathOf(o: Obj, k: string, path: string, problem: Problem, base: string, required = false): string | undefined {
  const v = str(o, k, path, problem, required);
  return v === undefined ? undefined : resolve(dirname(base), v);
}

function tlsFiles(o: Obj, path: string, problem: Problem, base: string): { cert: string; key: string } | undefined {
  const cert = pathOf(o, "cert", path, problem, base, true);
  const key = pathOf(o, "key", path, problem, base, true);
  return cert !== undefined && key !== undefined ? { cert, key } : undefined;
}

/** The `iq` block of the AGW config (`host` and `port` are read by the caller: they follow the bind policy). */
export function readIqListener(
  iq: Obj,
  problem: Problem,
  host: string | undefined,
  base: string,
): Omit<IqListenerConfig, "port"> {
  const out: Omit<IqListenerConfig, "port"> = {};
  if (iq.insecure !== undefined && typeof iq.insecure !== "boolean") problem("iq.insecure", "must be true or false");
  if (iq.tls !== undefined) {
    if (iq.insecure === true) problem("iq.insecure", "cannot be combined with iq.tls");
    const t = obj(iq.tls, "iq.tls", ["cert", "key", "controllers"], problem);
    const files = t ? tlsFiles(t, "iq.tls", problem, base) : undefined;
    const controllers: IqControllerConfig[] = [];
    if (t && (!Array.isArray(t.controllers) || t.controllers.length === 0)) {
      problem("iq.tls.controllers", "must list at least one controller {name, fingerprint | cert}");
    } else if (t && Array.isArray(t.controllers)) {
      const names = new Set<string>();
      t.controllers.forEach((c: unknown, i: number) => {
        const p = `iq.tls.controllers[${i}]`;
        const co = obj(c, p, ["name", "fingerprint", "cert"], problem);
        if (!co) return;
        const name = str(co, "name", p, problem, true);
        if (name !== undefined && names.has(name)) problem(`${p}.name`, `duplicate controller ${name}`);
        if (name !== undefined) names.add(name);
        const fingerprint = str(co, "fingerprint", p, problem);
        const cert = pathOf(co, "cert", p, problem, base);
        if ((fingerprint === undefined) === (cert === undefined)) problem(p, "needs fingerprint or cert (one of them)");
        if (fingerprint !== undefined) {
          try {
            parsePin(fingerprint);
          } catch (e) {
            problem(`${p}.fingerprint`, e instanceof Error ? e.message : String(e));
          }
        }
        controllers.push({
          name: name ?? "",
          ...(fingerprint !== undefined ? { fingerprint } : {}),
          ...(cert !== undefined ? { cert } : {}),
        });
      });
    }
    if (files) out.tls = { ...files, controllers };
  } else if (iq.insecure !== true) {
    problem("iq", "needs tls {cert, key, controllers} (or insecure: true, on a loopback host only)");
  } else if (!isLoopbackHost(host ?? "127.0.0.1")) {
    problem("iq.host", `insecure (plain ws://) Iq is allowed on a loopback host only, not ${host}`);
  } else out.insecure = true;
  if (iq.quota !== undefined) {
    const q = obj(
      iq.quota,
      "iq.quota",
      ["contexts", "terminations", "reservationsPerSecond", "reservationBurst"],
      problem,
    );
    if (q) {
      const quota: Record<string, number> = {};
      for (const [k, v] of Object.entries(q)) {
        if (typeof v !== "number" || !Number.isInteger(v) || v < 1 || v > 10_000_000) {
          problem(`iq.quota.${k}`, "must be an integer 1-10000000");
        } else quota[k] = v;
      }
      out.quota = quota as Partial<IqQuota>;
    }
  }
  return out;
}

/** `accessNetworks` / `coreNetworks`: CIDR lists. */
export function readNetworks(v: unknown, path: string, problem: Problem): string[] | undefined {
  if (v === undefined) return undefined;
  if (!Array.isArray(v) || v.length === 0 || v.some((x) => typeof x !== "string")) {
    problem(path, 'must be a non-empty list of CIDR blocks, e.g. ["10.20.0.0/16"]');
    return undefined;
  }
  const out: string[] = [];
  for (const [i, c] of (v as string[]).entries()) {
    try {
      parseCidr(c);
      out.push(c);
    } catch (e) {
      problem(`${path}[${i}]`, e instanceof Error ? e.message : String(e));
    }
  }
  return out;
}

/** The P-CSCF's `agw`: {url: "wss://…", tls: {cert, key, agwFingerprint | agwCert}} or {url: "ws://loopback", insecure}. */
export function readAgwLink(v: unknown, problem: Problem, base: string): AgwLinkConfig | undefined {
  if (typeof v === "string") {
    problem(
      "agw",
      'must be {url, tls: {cert, key, agwFingerprint | agwCert}} (or {url: "ws://127.0.0.1:…", insecure: true})',
    );
    return undefined;
  }
  const o = obj(v, "agw", ["url", "insecure", "tls"], problem);
  if (!o) return undefined;
  const url = str(o, "url", "agw", problem, true);
  if (url === undefined) return undefined;
  let u: URL | undefined;
  try {
    u = new URL(url);
  } catch {
    problem("agw.url", `is not a URL: ${url}`);
    return undefined;
  }
  if (o.insecure !== undefined && typeof o.insecure !== "boolean") problem("agw.insecure", "must be true or false");
  if (u.protocol === "wss:") {
    if (o.insecure === true) problem("agw.insecure", "cannot be combined with wss://");
    const t = obj(o.tls, "agw.tls", ["cert", "key", "agwFingerprint", "agwCert"], problem);
    if (!t) return undefined;
    const files = tlsFiles(t, "agw.tls", problem, base);
    const fp = str(t, "agwFingerprint", "agw.tls", problem);
    const cert = pathOf(t, "agwCert", "agw.tls", problem, base);
    if ((fp === undefined) === (cert === undefined))
      problem("agw.tls", "needs agwFingerprint or agwCert (one of them)");
    if (fp !== undefined) {
      try {
        parsePin(fp);
      } catch (e) {
        problem("agw.tls.agwFingerprint", e instanceof Error ? e.message : String(e));
      }
    }
    if (!files) return undefined;
    return {
      url,
      tls: {
        ...files,
        ...(fp !== undefined ? { agwFingerprint: fp } : {}),
        ...(cert !== undefined ? { agwCert: cert } : {}),
      },
    };
  }
  if (u.protocol === "ws:") {
    if (o.tls !== undefined) problem("agw.tls", "needs a wss:// url");
    if (o.insecure !== true) problem("agw", "plain ws:// needs insecure: true (loopback only); use wss:// with tls");
    else if (!isLoopbackHost(u.hostname))
      problem("agw.url", `plain ws:// is allowed on loopback only, not ${u.hostname}`);
    else return { url, insecure: true };
    return undefined;
  }
  problem("agw.url", `must be wss:// (or ws:// on loopback with insecure: true), not ${u.protocol}`);
  return undefined;
}

/** Reads the PEM files of a config (paths already resolved); one ConfigError listing every unreadable file. */
function pemReader(file: string): { read(path: string, key: string): string; done(): void } {
  const problems: ConfigProblem[] = [];
  return {
    read(path, key) {
      try {
        return readFileSync(path, "utf8");
      } catch (e) {
        problems.push({ path: key, message: `cannot read ${path} (${(e as { code?: string }).code ?? String(e)})` });
        return "";
      }
    },
    done() {
      if (problems.length > 0) throw new ConfigError(file, problems);
    },
  };
}

function pinProblem(file: string, key: string, e: unknown): ConfigError {
  return new ConfigError(file, [{ path: key, message: e instanceof Error ? e.message : String(e) }]);
}

/** The AGW's TLS options from its validated `iq.tls` (PEM files read now). */
export function loadIqListenerTls(
  t: NonNullable<IqListenerConfig["tls"]>,
  file = "Iq credentials",
): IqTlsServerOptions {
  const r = pemReader(file);
  const certPem = r.read(t.cert, "iq.tls.cert");
  const keyPem = r.read(t.key, "iq.tls.key");
  const pems = t.controllers.map((c, i) =>
    c.cert !== undefined ? r.read(c.cert, `iq.tls.controllers[${i}].cert`) : "",
  );
  r.done();
  const controllers: IqPin[] = t.controllers.map((c, i) => {
    const key = `iq.tls.controllers[${i}]`;
    try {
      return {
        name: c.name,
        fingerprint: c.fingerprint !== undefined ? parsePin(c.fingerprint) : pinOfCertificate(pems[i] ?? ""),
      };
    } catch (e) {
      throw pinProblem(file, key, e);
    }
  });
  return { certPem, keyPem, controllers };
}

/** The P-CSCF's TLS options from its validated `agw.tls` (PEM files read now). */
export function loadAgwLinkTls(t: NonNullable<AgwLinkConfig["tls"]>, file = "Iq credentials"): IqTlsClientOptions {
  const r = pemReader(file);
  const certPem = r.read(t.cert, "agw.tls.cert");
  const keyPem = r.read(t.key, "agw.tls.key");
  const agwPem = t.agwCert !== undefined ? r.read(t.agwCert, "agw.tls.agwCert") : "";
  r.done();
  try {
    const pin = t.agwFingerprint !== undefined ? parsePin(t.agwFingerprint) : pinOfCertificate(agwPem);
    return { certPem, keyPem, agwFingerprints: [pin] };
  } catch (e) {
    throw pinProblem(file, "agw.tls", e);
  }
}
