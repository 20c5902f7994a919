/** `imsdc scscf --config FILE`: the S-CSCF's config (examples/configs/scscf.json). */
import { dirname, resolve } from "node:path";
import type { ScscfOptions } from "../../ims/scscf/index.ts";
import { TrustedPeers } from "../../ims/scscf/trust.ts";
import { ConfigError } from "../errors.ts";
import { readSipTls, type SipTlsBlock, tlsAuthenticates } from "../tlsConfig.ts";
import {
  type AllowPublicConfig,
  type ConnectionLimitsConfig,
  configKeys,
  connectionLimits,
  hostOf,
  Reader,
} from "./reader.ts";

/** `imsdc scscf --config`: the S-CSCF's options as JSON, plus `allowPublic` and the connection limits. */
export type ScscfConfig = Pick<
  ScscfOptions,
  "name" | "host" | "udp" | "tcp" | "ws" | "viaHost" | "domains" | "aliases" | "timers"
> &
  AllowPublicConfig & {
    /** SIP connection limits (docs/sip.md "Connection admission") */
    limits?: ConnectionLimitsConfig;
    /** SIP over TLS / WSS (tlsConfig.ts) */
    tls?: SipTlsBlock;
    /** registration authentication (docs/auth.md); required: an object, or false to run without */
    auth?: ScscfAuthConfig | false;
    /**
     * RFC 3325 §5: the P-CSCFs originating requests are accepted from (IP, IP:port, CIDR, "sha-256 AB:…" certificate
     * fingerprint). Absent or empty: none (every originating request 403): the S-CSCF trusts no peer it was not told of.
     */
    trustedPcscfs?: string[];
  };

/** The `auth` block: the subscriber file (relative to the configuration file) and the registrar's auth options. */
export interface ScscfAuthConfig {
  store: string;
  schemes?: ("digest" | "aka")[];
  realm?: string;
  digestAlgorithms?: string[];
  nonceLifetimeMs?: number;
  maxFailures?: number;
  allowNoQop?: boolean;
}

function scscfAuth(r: Reader, o: Record<string, unknown>, file: string): ScscfAuthConfig | false | undefined {
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
  const o = r.object(
    v,
    "",
    configKeys<ScscfConfig>({
      name: true,
      host: true,
      allowPublic: true,
      udp: true,
      tcp: true,
      ws: true,
      viaHost: true,
      domains: true,
      aliases: true,
      timers: true,
      limits: true,
      tls: true,
      auth: true,
      trustedPcscfs: true,
    }),
  );
  const out: ScscfConfig = {};
  if (o) {
    const set = <K extends keyof ScscfConfig>(k: K, x: ScscfConfig[K] | undefined) => {
      if (x !== undefined) out[k] = x;
    };
    set("name", r.string(o, "name", ""));
    set(
      "tls",
      readSipTls(o.tls, "tls", (p, m) => r.problem(p, m), file),
    );
    set("host", hostOf(r, o, "", tlsAuthenticates(o, out.tls)));
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
    const trusted = r.stringList(o, "trustedPcscfs", "");
    if (trusted) {
      try {
        new TrustedPeers(trusted);
        out.trustedPcscfs = trusted;
      } catch (e) {
        r.problem("trustedPcscfs", e instanceof Error ? e.message : String(e));
      }
    }
    if (out.udp === undefined && out.tcp === undefined && out.ws === undefined && out.tls === undefined)
      r.problem("", "needs at least one of udp, tcp, ws, tls");
  }
  if (r.problems.length > 0) throw new ConfigError(file, r.problems);
  return out;
}
