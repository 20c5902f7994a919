/** `imsdc agw --config FILE`: the IMS-AGW's config (examples/configs/agw.json). */
import type { ImsAgwOptions, IqWsServerOptions } from "../../ims/agw/index.ts";
import { bindProblem } from "../binds.ts";
import { ConfigError } from "../errors.ts";
import { type IqListenerConfig, readIqListener, readNetworks } from "../iqConfig.ts";
import { configKeys, LOOPBACK_HINT, Reader } from "./reader.ts";

/** `imsdc agw --config`: the IMS-AGW's options as JSON, the Iq listener `iq` and its Iq session timers. */
export type AgwConfig = Pick<
  ImsAgwOptions,
  | "accessNetworks"
  | "coreNetworks"
  | "accessAddress"
  | "coreAddress"
  | "tcpEstablishmentInterlinkage"
  | "maxContexts"
  | "maxTerminations"
  | "maxHandshakes"
  | "keepAliveMs"
> &
  Pick<IqWsServerOptions, "orphanGraceMs" | "pingIntervalMs"> & {
    /** the Iq listener: WSS with pinned controllers, or insecure ws:// on loopback; per-controller quota */
    iq: IqListenerConfig;
  };

const AGW_NUMBERS = [
  ["maxTerminations", 1, 10_000_000],
  ["maxHandshakes", 1, 1_000_000],
  ["keepAliveMs", 0, 3_600_000],
  ["orphanGraceMs", 0, 86_400_000],
  ["pingIntervalMs", 0, 3_600_000],
] as const;

export function validateAgwConfig(v: unknown, file: string): AgwConfig {
  const r = new Reader();
  const o = r.object(
    v,
    "",
    configKeys<AgwConfig>({
      iq: true,
      accessAddress: true,
      coreAddress: true,
      accessNetworks: true,
      coreNetworks: true,
      tcpEstablishmentInterlinkage: true,
      maxContexts: true,
      maxTerminations: true,
      maxHandshakes: true,
      keepAliveMs: true,
      orphanGraceMs: true,
      pingIntervalMs: true,
    }),
  );
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
