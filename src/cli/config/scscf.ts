/** `imsdc scscf --config FILE`: the S-CSCF's config (examples/configs/scscf.json). */
import type { ScscfOptions } from "../../ims/scscf/index.ts";
import { ConfigError } from "../errors.ts";
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
  };

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
    }),
  );
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
    if (out.udp === undefined && out.tcp === undefined && out.ws === undefined)
      r.problem("", "needs at least one of udp, tcp, ws");
  }
  if (r.problems.length > 0) throw new ConfigError(file, r.problems);
  return out;
}
