/** The loopback test every bind and link rule shares (CLI bind policy, Iq's insecure rule). */
import { isIPv4 } from "node:net";

/** RFC 1122 §3.2.1.3 (g) / RFC 4291 §2.5.3: 127.0.0.0/8, ::1 (also IPv4-mapped and bracketed), and the name localhost. */
export function isLoopbackHost(host: string): boolean {
  const h = host.replace(/^\[|\]$/g, "").toLowerCase();
  if (h === "localhost" || h === "::1") return true;
  if (h.startsWith("::ffff:")) return isLoopbackHost(h.slice(7));
  return isIPv4(h) && h.startsWith("127.");
}
