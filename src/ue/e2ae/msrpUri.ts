/** MSRP URI matching (RFC 4975 §6.1) and accept-types checks (§8.6). */
import { formatMsrpUri, type MsrpUri, parseMsrpUri } from "../../sdp/index.ts";

/** RFC 4975 §6: the well-known MSRP port, used when a URI has no port. */
export const MSRP_DEFAULT_PORT = 2855;

export type PathMatchMode = "strict" | "session-id";

/**
 * RFC 4975 §6.1 URI comparison: scheme, host and transport case-insensitive, port numeric (default 2855), session-id
 * case-sensitive; userinfo and URI parameters are not compared. `session-id` mode compares the session-id only
 * (RFC 6714 session matching; for media anchors that rewrite host/port/scheme but keep the session-id).
 */
export function msrpUriMatches(a: string | MsrpUri, b: string | MsrpUri, mode: PathMatchMode = "strict"): boolean {
  const ua = typeof a === "string" ? parseMsrpUri(a).value : a;
  const ub = typeof b === "string" ? parseMsrpUri(b).value : b;
  if (!ua || !ub) return false;
  if (ua.sessionId === undefined || ub.sessionId === undefined) {
    if (mode === "session-id") return false;
  } else if (ua.sessionId !== ub.sessionId) return false;
  if (mode === "session-id") return true;
  return (
    ua.scheme === ub.scheme &&
    ua.host.toLowerCase() === ub.host.toLowerCase() &&
    (ua.port ?? MSRP_DEFAULT_PORT) === (ub.port ?? MSRP_DEFAULT_PORT) &&
    ua.transport.toLowerCase() === ub.transport.toLowerCase()
  );
}

export function formatPath(uris: readonly MsrpUri[]): string[] {
  return uris.map(formatMsrpUri);
}

function mediaType(ct: string): string {
  return (ct.split(";")[0] ?? "").trim().toLowerCase();
}

/**
 * RFC 4975 §8.6: a content type is acceptable when a=accept-types lists it, its type with "/*", or "*".
 * (Wrapped types inside message/cpim are not inspected here.)
 */
export function isAcceptedType(acceptTypes: readonly string[], contentType: string): boolean {
  const t = mediaType(contentType);
  const major = t.split("/")[0] ?? "";
  return acceptTypes.some((a) => {
    const x = a.toLowerCase();
    return x === "*" || x === t || x === `${major}/*`;
  });
}
