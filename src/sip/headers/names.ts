/**
 * The header-name table (RFC 3261 §7.3): canonical names, compact forms (§7.3.3) and which headers are comma lists
 * (§7.3.1). Pure, no I/O.
 */

/** Canonical spelling of the headers this stack knows, keyed by lower-case long name. */
const CANONICAL: Record<string, string> = {};
for (const n of [
  "Accept",
  "Accept-Contact",
  "Accept-Encoding",
  "Accept-Language",
  "Alert-Info",
  "Allow",
  "Allow-Events",
  "Authentication-Info",
  "Authorization",
  "Call-ID",
  "Call-Info",
  "Contact",
  "Content-Disposition",
  "Content-Encoding",
  "Content-Language",
  "Content-Length",
  "Content-Type",
  "CSeq",
  "Date",
  "Error-Info",
  "Event",
  "Expires",
  "Feature-Caps",
  "From",
  "Identity",
  "Identity-Info",
  "In-Reply-To",
  "Max-Forwards",
  "MIME-Version",
  "Min-Expires",
  "Organization",
  "P-Access-Network-Info",
  "P-Asserted-Identity",
  "P-Associated-URI",
  "P-Called-Party-ID",
  "P-Charging-Function-Addresses",
  "P-Charging-Vector",
  "P-Preferred-Identity",
  "P-Visited-Network-ID",
  "Path",
  "Priority",
  "Privacy",
  "Proxy-Authenticate",
  "Proxy-Authorization",
  "Proxy-Require",
  "RAck",
  "Reason",
  "Record-Route",
  "Refer-To",
  "Referred-By",
  "Reject-Contact",
  "Reply-To",
  "Request-Disposition",
  "Require",
  "Retry-After",
  "Route",
  "RSeq",
  "Security-Client",
  "Security-Server",
  "Security-Verify",
  "Server",
  "Service-Route",
  "Session-Expires",
  "Subject",
  "Supported",
  "Timestamp",
  "To",
  "Unsupported",
  "User-Agent",
  "Via",
  "Warning",
  "WWW-Authenticate",
]) {
  CANONICAL[n.toLowerCase()] = n;
}

/**
 * Compact forms, both ways (RFC 3261 §7.3.3 and §20; RFC 3841 a/j/d; RFC 3892 b; RFC 3515 r; RFC 6665 o/u;
 * RFC 4028 x; RFC 8224 y; RFC 4474 n).
 */
const COMPACT_TO_LONG: Record<string, string> = {
  a: "accept-contact",
  b: "referred-by",
  c: "content-type",
  d: "request-disposition",
  e: "content-encoding",
  f: "from",
  i: "call-id",
  j: "reject-contact",
  k: "supported",
  l: "content-length",
  m: "contact",
  n: "identity-info",
  o: "event",
  r: "refer-to",
  s: "subject",
  t: "to",
  u: "allow-events",
  v: "via",
  x: "session-expires",
  y: "identity",
};
const LONG_TO_COMPACT: Record<string, string> = {};
for (const [c, l] of Object.entries(COMPACT_TO_LONG)) LONG_TO_COMPACT[l] = c;

/** headerKey results by name as written (bounded): every header lookup on a message calls headerKey per row. */
const KEY_CACHE = new Map<string, string>();

/** Lower-case long name used to compare header names ("v" and "VIA" both give "via"). */
export function headerKey(name: string): string {
  const hit = KEY_CACHE.get(name);
  if (hit !== undefined) return hit;
  const lower = name.toLowerCase();
  const key = Object.hasOwn(COMPACT_TO_LONG, lower) ? (COMPACT_TO_LONG[lower] as string) : lower;
  if (KEY_CACHE.size < 2048) KEY_CACHE.set(name, key);
  return key;
}

/** The canonical spelling for a `headerKey` result, or undefined for a header this stack does not know. */
export function canonicalOfKey(key: string): string | undefined {
  return CANONICAL[key];
}

/** True when this stack has a canonical spelling for the header (otherwise the name is re-emitted as received). */
export function isKnownHeader(name: string): boolean {
  return CANONICAL[headerKey(name)] !== undefined;
}

/** Canonical long name of a known header; unknown names are returned unchanged. */
export function canonicalHeaderName(name: string): string {
  return CANONICAL[headerKey(name)] ?? name;
}

/** Compact form of a header when one exists (RFC 3261 §7.3.3), else its canonical name. */
export function compactHeaderName(name: string): string {
  const key = headerKey(name);
  return LONG_TO_COMPACT[key] ?? canonicalHeaderName(name);
}

/** Headers whose value is a comma-separated list (RFC 3261 §7.3.1); rows may be combined or split freely. */
const LIST_HEADERS = new Set([
  "accept",
  "accept-contact",
  "accept-encoding",
  "accept-language",
  "alert-info",
  "allow",
  "allow-events",
  "call-info",
  "contact",
  "content-encoding",
  "content-language",
  "error-info",
  "in-reply-to",
  "p-asserted-identity",
  "p-associated-uri",
  "p-charging-function-addresses",
  "p-preferred-identity",
  "p-visited-network-id",
  "path",
  "proxy-require",
  "reason",
  "record-route",
  "reject-contact",
  "request-disposition",
  "require",
  "route",
  "security-client",
  "security-server",
  "security-verify",
  "service-route",
  "supported",
  "unsupported",
  "via",
  "warning",
]);

export function isListHeader(name: string): boolean {
  return LIST_HEADERS.has(headerKey(name));
}

/** Headers that may appear at most once (RFC 3261 §7.3.1, §20 table). */
export const SINGLE_HEADERS = [
  "call-id",
  "content-length",
  "content-type",
  "cseq",
  "expires",
  "from",
  "max-forwards",
  "min-expires",
  "retry-after",
  "to",
] as const;
