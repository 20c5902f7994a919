/**
 * The negotiated plan of one e2ae stream: the TCP and TLS roles, the remote m-line and address, and (BFCP) the floor
 * control roles and identifiers, as decided from the offer/answer exchange.
 */
import type { Finding } from "../../sdp/index.ts";
import { E2aeError } from "./errors.ts";
import type { E2aeMedia } from "./sdp.ts";
import type { TlsRole } from "./tls.ts";

export interface Plan {
  tcp: "active" | "passive";
  tls: TlsRole;
  remote: E2aeMedia;
  remoteAddress: string;
  remotePort: number;
  localIsOfferer: boolean;
  /** BFCP only */
  floorServer?: boolean;
  conferenceId?: number;
  userId?: number;
  floorIds?: number[];
}

export function findingsError(what: string, findings: readonly Finding[]): E2aeError {
  const errors = findings.filter((f) => f.severity === "error");
  const summary = errors.map((f) => `${f.code}${f.line !== undefined ? ` (line ${f.line})` : ""}`).join(", ");
  return new E2aeError("E_E2AE_SDP", `${what} refused: ${summary}`, { details: { findings: errors } });
}

export function u32(s: string | undefined): number | undefined {
  if (s === undefined || !/^\d{1,10}$/.test(s)) return undefined;
  const n = Number(s);
  return n <= 0xffff_ffff ? n : undefined;
}
