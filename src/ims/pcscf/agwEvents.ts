/**
 * The IMS-AGW events (TS 23.334 Iq notifications) as the P-CSCF sees them: which it records, and which mean that the
 * media of an anchored stream is gone (TS 24.229 §5.2.8: the P-CSCF then releases the session).
 */
import type { IqClientEvent } from "./iq.ts";

/** The IMS-AGW events the P-CSCF records (informative: the AGW audits its own decisions). */
export const AUDITED_EVENTS: ReadonlySet<string> = new Set([
  "tlsSessionEstablished",
  "tlsSessionEstablishmentFailure",
  "tcpConnectionRefused",
  "tcpEstablishmentTimeout",
  "relayStarted",
  "relayEnded",
  "idleTimeout",
]);

/**
 * IMS-AGW events that mean the media of an anchored stream is gone or never came. A failed TLS handshake is not one:
 * anyone reaching the AGW port can fail a handshake, and must not be able to end a call by doing so.
 */
export function isMediaFault(e: IqClientEvent): boolean {
  if (e.event === "tcpEstablishmentTimeout" || e.event === "idleTimeout") return true;
  const reason = (e as { reason?: unknown }).reason;
  return (
    e.event === "relayEnded" && (reason === "error" || reason === "idle-timeout" || reason === "half-close-timeout")
  );
}
