/**
 * RFC 8842 DTLS association decisions: whether a (re-)negotiation needs a new DTLS (and thus SCTP) association,
 * and which tls-id an offer or answer carries.
 */
import { type Fingerprint, sameFingerprint } from "./fingerprint.ts";
import type { DtlsRole } from "./setup.ts";
import { generateTlsId } from "./tlsid.ts";

export interface AssociationState {
  localTlsId?: string;
  remoteTlsId?: string;
  localFingerprints: readonly Fingerprint[];
  remoteFingerprints: readonly Fingerprint[];
  /** The local DTLS role (client = the `active` endpoint). */
  role: DtlsRole;
  /**
   * Optional transport description (e.g. "udp 192.0.2.1:49170"). Only used when neither side signals a tls-id:
   * then a transport change is the only signal left (RFC 8842 §3.2).
   */
  transport?: string;
}

export interface AssociationDecision {
  action: "new" | "reuse";
  reasons: string[];
}

function sameSet(a: readonly Fingerprint[], b: readonly Fingerprint[]): boolean {
  return (
    a.length === b.length &&
    a.every((x) => b.some((y) => sameFingerprint(x, y))) &&
    b.every((y) => a.some((x) => sameFingerprint(x, y)))
  );
}

/**
 * RFC 8842 §3: a new DTLS association MUST be established when the DTLS roles change, when a fingerprint is
 * added, removed or changed, or when the tls-id value changes. Otherwise the existing association is reused
 * (a change of ICE ufrag alone does not require one, RFC 8842 §3.3).
 */
export function decideAssociation(prev: AssociationState | undefined, next: AssociationState): AssociationDecision {
  if (!prev) return { action: "new", reasons: ["no previous association"] };
  const reasons: string[] = [];
  // RFC 8842 §3: a changed tls-id value signals a new association.
  if (prev.localTlsId !== next.localTlsId) reasons.push("local tls-id changed");
  if (prev.remoteTlsId !== next.remoteTlsId) reasons.push("remote tls-id changed");
  // RFC 8842 §3: one or more fingerprint values modified, added or removed.
  if (!sameSet(prev.localFingerprints, next.localFingerprints)) reasons.push("local fingerprint set changed");
  if (!sameSet(prev.remoteFingerprints, next.remoteFingerprints)) reasons.push("remote fingerprint set changed");
  // RFC 8842 §3: the DTLS roles change (client <-> server).
  if (prev.role !== next.role) reasons.push(`DTLS role changed (${prev.role} -> ${next.role})`);
  // RFC 8842 §3.2: without tls-id on either side, a transport change can only be read as a new association.
  const noTlsId = [prev.localTlsId, prev.remoteTlsId, next.localTlsId, next.remoteTlsId].every((x) => x === undefined);
  if (noTlsId && prev.transport !== undefined && next.transport !== undefined && prev.transport !== next.transport) {
    reasons.push("transport changed and no tls-id is in use");
  }
  return reasons.length > 0 ? { action: "new", reasons } : { action: "reuse", reasons: [] };
}

export interface AnswerTlsIdInput {
  /** The tls-id of the received offer's m-line (undefined when the offer has none). */
  offerTlsId: string | undefined;
  /** The negotiated state of the existing association, if any. */
  previous?: { remoteTlsId?: string; localTlsId?: string };
  /** The answerer itself needs a new association (e.g. its certificate or role changes). */
  forceNew?: boolean;
  /** Generator for new values (default `generateTlsId`). */
  generate?: () => string;
}

export interface TlsIdChoice {
  tlsId: string | undefined;
  action: "new" | "reuse" | "omit";
  reason: string;
}

/** The tls-id an answer carries (RFC 8842 §5.3). */
export function answerTlsId(input: AnswerTlsIdInput): TlsIdChoice {
  const gen = input.generate ?? (() => generateTlsId());
  // RFC 8842 §5.3: an offer without tls-id comes from a legacy endpoint; the answer MUST NOT include one.
  if (input.offerTlsId === undefined) return { tlsId: undefined, action: "omit", reason: "the offer has no tls-id" };
  const prev = input.previous;
  if (!prev || prev.localTlsId === undefined) return { tlsId: gen(), action: "new", reason: "no existing association" };
  // RFC 8842 §5.3: a changed offerer tls-id asks for a new association, so the answer carries a new tls-id.
  if (prev.remoteTlsId !== input.offerTlsId)
    return { tlsId: gen(), action: "new", reason: "the offerer's tls-id changed" };
  if (input.forceNew) return { tlsId: gen(), action: "new", reason: "the answerer needs a new association" };
  // RFC 8842 §5.3 / RFC 8829 §5.3.2: otherwise each tls-id stays the same.
  return { tlsId: prev.localTlsId, action: "reuse", reason: "continuing the existing association" };
}

/** The tls-id an offer carries (RFC 8842 §5.2): new for a new association, else the previous local value. */
export function offerTlsId(input: {
  previousLocalTlsId?: string;
  newAssociation: boolean;
  generate?: () => string;
}): TlsIdChoice {
  const gen = input.generate ?? (() => generateTlsId());
  // RFC 8842 §4: every request for a new DTLS association MUST carry a newly generated tls-id.
  if (input.newAssociation || input.previousLocalTlsId === undefined)
    return { tlsId: gen(), action: "new", reason: "new association" };
  return { tlsId: input.previousLocalTlsId, action: "reuse", reason: "continuing the existing association" };
}
