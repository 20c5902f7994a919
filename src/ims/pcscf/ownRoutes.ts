/**
 * The P-CSCF's own entries in Record-Route, Path and Route: one per leg (RFC 5658 §4: the URI of the interface of
 * that leg), their user part saying which — "c" core Record-Route, "a-TOKEN" access Record-Route, "p-TOKEN" Path —
 * with the UE's flow token (RFC 5626 §5.3 style) in the access and Path entries.
 */
import { isSipUri, type NameAddr, type SipTransportProtocol } from "../../sip/index.ts";
import type { ProxyInterface } from "../../sip/proxy.ts";

/** Kind of one of our own Route entries, from its user part: "c" core RR, "a-TOKEN" access RR, "p-TOKEN" Path. */
export function ownRouteKind(na: NameAddr): { kind: "core" | "access" | "path" | "other"; token?: string } {
  const u = isSipUri(na.uri) ? na.uri.user : undefined;
  if (u === "c") return { kind: "core" };
  if (u?.startsWith("a-")) return { kind: "access", token: u.slice(2) };
  if (u?.startsWith("p-")) return { kind: "path", token: u.slice(2) };
  return { kind: "other" };
}

/** The first transport an interface listens on (UDP when it has none). */
export function defaultTransport(iface: ProxyInterface): SipTransportProtocol {
  return iface.layer.protocols()[0] ?? "UDP";
}

/** A Record-Route entry for one leg (RFC 3261 §16.6 step 4; RFC 5658 §4: the URI of the interface of that leg). */
export function rrEntry(iface: ProxyInterface, transport: SipTransportProtocol, user: string): string {
  const t = iface.layer.protocols().includes(transport) ? transport : defaultTransport(iface);
  const v = iface.layer.localVia(t);
  const tp = t === "UDP" ? "" : `;transport=${t.toLowerCase()}`;
  return `<sip:${user}@${v.host}${v.port !== undefined ? `:${v.port}` : ""}${tp};lr>`;
}
