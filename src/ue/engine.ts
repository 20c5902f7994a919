/**
 * The fail-closed guard on the data channel engine. The UE authenticates its peer only through the certificate
 * fingerprint in the SDP (RFC 8122 §6), and werift as published does not enforce it (no proof-of-possession check,
 * fingerprint checked after the handshake, …: docs/werift-patches.md). imsdc ships werift with its hardening patch
 * (`#werift` → vendor/werift, DESIGN.md "Dependencies that fail open"); the patch exports a marker listing its fixes.
 * Before any data channel or e2ae transport exists, the UE checks that marker and refuses (E_ENGINE_UNHARDENED) if the
 * engine it loaded lacks it: a silent downgrade to an engine that accepts impersonators is never an option.
 */
import * as werift from "#werift";
import type { AuditLog } from "../log.ts";
import { UeError } from "./errors.ts";

/** The hardening this release needs (patches/werift+0.24.4.patch, `IMSDC_HARDENING`). */
export const REQUIRED_HARDENING = {
  patch: "werift+0.24.4",
  version: 1,
  fixes: [
    "dtls-proof-of-possession", // RFC 5246 §7.4.3, §7.4.8: the peer proves possession of its certificate's key
    "dtls-finished", // RFC 5246 §7.4.9: Finished verify_data checked
    "dtls-fingerprint-before-data", // RFC 8122 §6: certificate checked before any application data
    "dtls-off-path-records", // RFC 6347 §4.1.2.7: unauthenticated records never end a session
    "sctp-dcep-input", // RFC 8832 §5: malformed DCEP/SCTP input is dropped, not fatal
    "dtls-record-sequence", // RFC 6347 §4.1: record sequence numbers never repeat in an epoch
    "ice-no-implicit-stun", // no public STUN server unless configured
    "sctp-partial-reliability", // RFC 3758, RFC 8831 §6.6
    "sctp-inbound-max-message-size", // RFC 8841 §6
    "ice-consent-timing", // RFC 7675 §5.1
  ],
} as const;

export interface EngineHardening {
  hardened: boolean;
  /** what the loaded engine declares (undefined: no marker at all, i.e. an unpatched werift) */
  found?: { patch: string; version: number; fixes: readonly string[] };
  /** fixes this release needs that the loaded engine does not declare */
  missing: string[];
  reason?: string;
}

function markerOf(mod: unknown): EngineHardening["found"] {
  const m = (mod as { IMSDC_HARDENING?: unknown } | null)?.IMSDC_HARDENING as
    | { patch?: unknown; version?: unknown; fixes?: unknown }
    | undefined;
  if (!m || typeof m !== "object") return undefined;
  if (typeof m.patch !== "string" || typeof m.version !== "number" || !Array.isArray(m.fixes)) return undefined;
  return { patch: m.patch, version: m.version, fixes: m.fixes.filter((f): f is string => typeof f === "string") };
}

/** Inspects an engine module (default: the werift the UE runs on). Pure: no side effects, never throws. */
export function inspectEngine(mod: unknown = werift): EngineHardening {
  const found = markerOf(mod);
  if (!found) {
    return {
      hardened: false,
      missing: [...REQUIRED_HARDENING.fixes],
      reason: "werift carries no imsdc hardening marker: it is not the patched build imsdc ships",
    };
  }
  const missing = REQUIRED_HARDENING.fixes.filter((f) => !found.fixes.includes(f));
  if (found.patch !== REQUIRED_HARDENING.patch || found.version < REQUIRED_HARDENING.version || missing.length > 0) {
    return {
      hardened: false,
      found,
      missing,
      reason: `werift hardening ${found.patch} v${found.version} does not meet ${REQUIRED_HARDENING.patch} v${REQUIRED_HARDENING.version}${missing.length ? ` (missing: ${missing.join(", ")})` : ""}`,
    };
  }
  return { hardened: true, found, missing: [] };
}

let cached: EngineHardening | undefined;

/**
 * Throws UeError E_ENGINE_UNHARDENED unless the loaded engine is the hardened build. `onRefusal` runs once per refusal
 * (the caller's audit event).
 */
export function assertEngineHardened(onRefusal?: (h: EngineHardening) => void, mod?: unknown): void {
  if (mod === undefined && cached === undefined) cached = inspectEngine();
  const h = mod === undefined && cached ? cached : inspectEngine(mod);
  if (h.hardened) return;
  onRefusal?.(h);
  throw new UeError(
    "E_ENGINE_UNHARDENED",
    `refusing to create a media transport: ${h.reason}. Reinstall imsdc (its package carries the hardened werift in vendor/werift); see docs/werift-patches.md`,
    { details: { missing: h.missing, ...(h.found ? { found: h.found } : {}) } },
  );
}

/**
 * The check every media endpoint of the UE runs in its constructor: throws E_ENGINE_UNHARDENED and records one audit
 * event (decision "engine-refused") when the engine is not the hardened build.
 */
export function requireHardenedEngine(ctx: {
  audit?: AuditLog | undefined;
  name?: string | undefined;
  transport: string;
}): void {
  assertEngineHardened((h) =>
    ctx.audit?.record({
      node: "ue",
      ue: ctx.name ?? "ue",
      decision: "engine-refused",
      // RFC 8122 §6: the endpoint must verify the peer's certificate against the fingerprint; an engine that cannot
      // be trusted to do so is refused before any transport exists
      clause: "RFC 8122 §6",
      transport: ctx.transport,
      reason: h.reason,
      missing: h.missing,
    }),
  );
}
