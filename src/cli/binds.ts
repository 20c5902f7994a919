/**
 * The bind rule of every listener the CLI starts (docs/demo.md "Running the nodes apart", SECURITY.md): a listener
 * that does not authenticate its peers binds a loopback address only. A wildcard (0.0.0.0, ::) or any other address
 * needs an explicit `allowPublic: true` on that listener, or authentication on it (`authenticated`): Iq over mutual
 * TLS, and SIP listeners that are all mutual TLS (`tls.requireClientCert` with no UDP/TCP/WS beside it,
 * tlsConfig.ts). SIP over TLS without client certificates authenticates the server only, never its SIP peers.
 */

import { isLoopbackHost } from "../loopback.ts";

/** How a listener is protected. */
export interface BindPolicy {
  /** the configuration explicitly accepts a wildcard or non-loopback bind for this listener */
  allowPublic?: boolean | undefined;
  /** the listener authenticates its peers (TLS with client authentication, the mutually authenticated Iq channel) */
  authenticated?: boolean | undefined;
}

export type BindClass = "loopback" | "wildcard" | "other";

/** What a host string binds: the loopback (127.0.0.0/8, ::1, localhost), every interface, or anything else. */
export function bindClass(host: string): BindClass {
  const h = host.startsWith("[") && host.endsWith("]") ? host.slice(1, -1).toLowerCase() : host.toLowerCase();
  // RFC 1122 §3.2.1.3 (g): 127.0.0.0/8 is the loopback; RFC 4291 §2.5.3: ::1
  if (isLoopbackHost(h)) return "loopback";
  // RFC 1122 §3.2.1.3 (a) / RFC 4291 §2.5.2: the unspecified address, i.e. every interface when bound
  if (h === "0.0.0.0" || h === "::" || h === "0:0:0:0:0:0:0:0" || h === "::ffff:0.0.0.0" || h === "") return "wildcard";
  return "other";
}

/** Why binding `host` is refused under `policy` (a sentence for the config report), or undefined when allowed. */
export function bindProblem(host: string, policy: BindPolicy = {}): string | undefined {
  if (policy.allowPublic === true || policy.authenticated === true) return undefined;
  const c = bindClass(host);
  if (c === "loopback") return undefined;
  const why = c === "wildcard" ? `${host} binds every interface` : `${host} is not a loopback address`;
  return `${why} and this listener has no authentication: use 127.0.0.1 or ::1, or set allowPublic: true on it`;
}
