/** Address normalisation and socket-option helpers shared by the TCP establishment and the TLS leg. */
import net from "node:net";

/** Node ≥ 18 honours `highWaterMark` on net.connect / tls.connect / new TLSSocket; @types/node 20 omits it. */
export type HighWaterMark = { highWaterMark: number };

/** "::ffff:127.0.0.1" → "127.0.0.1"; IPv6 lower-case. */
export function normalizeAddress(a: string): string {
  const v = a.toLowerCase();
  return v.startsWith("::ffff:") && net.isIPv4(v.slice(7)) ? v.slice(7) : v;
}

export function sameAddress(a: string, b: string): boolean {
  return normalizeAddress(a) === normalizeAddress(b);
}

/** RFC 4145 §4: port 9 from an active endpoint (and 0, a rejected stream) are not connectable. */
export function connectablePort(port: number | undefined): port is number {
  return port !== undefined && port !== 0 && port !== 9;
}
