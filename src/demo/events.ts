/**
 * Events of the embedded demo network, shared by the Node side (CLI ladder, demo server side channel) and the demo
 * page. Pure: no Node import (the page bundles it).
 */
import type { SipMessage } from "../sip/message.ts";
import { parseMessage } from "../sip/parse.ts";

/** The five columns of TS 33.328 Figure 7.2.5-1. */
export const NODES = ["ueA", "pcscfA", "scscf", "pcscfB", "ueB"] as const;
export type NodeId = (typeof NODES)[number];

export const NODE_LABELS: Readonly<Record<NodeId, string>> = {
  ueA: "UE A",
  pcscfA: "P-CSCF(A)",
  scscf: "S-CSCF",
  pcscfB: "P-CSCF(B)",
  ueB: "UE B",
};

/** One SIP message on one hop (sender → receiver). */
export interface SipTraceEvent {
  type: "sip";
  /** ms since the network started (or the page loaded) */
  t: number;
  from: NodeId;
  to: NodeId;
  kind: "request" | "response";
  /** request method, or the CSeq method of a response */
  method: string;
  status?: number;
  /** short text for the arrow, e.g. "INVITE (SDP offer)", "200 OK (SDP answer)" */
  label: string;
  callId: string;
  cseq: number;
  /** the body is an SDP offer or answer */
  sdp?: "offer" | "answer";
  /** Warning header value, when present (e.g. the 488 of the IMS-ALG) */
  warning?: string;
  /** the message as sent (truncated to MAX_TEXT) */
  text: string;
}

/** An audit event of any node (src/log.ts AuditEvent with its timestamp). */
export interface AuditTraceEvent {
  type: "audit";
  t: number;
  event: { node: string; decision: string; clause: string; ts: string; [k: string]: unknown };
}

/** What UE B (the demo's headless "bob") reports about its side of the call. */
export interface UeTraceEvent {
  type: "ue";
  t: number;
  ue: NodeId;
  what: "verdict" | "dc-state" | "chat-in" | "chat-out" | "call-state" | "failure" | "e2ae-verdict" | "e2ae-exchange";
  /**
   * verdict: verified / presented / signalled; chat: text; states: state; failure: code + message;
   * e2ae-verdict: the UE's check of its TLS peer (the IMS-AGW), from its audit event: protocol, verified, hash,
   * presented, signalled, code, reason; e2ae-exchange: one MSRP/BFCP transaction the UE completed: protocol, method,
   * status, response, text
   */
  data: Record<string, unknown>;
}

export type DemoEvent = SipTraceEvent | AuditTraceEvent | UeTraceEvent;

const MAX_TEXT = 16_384;

function latin1(bytes: Uint8Array): string {
  let s = "";
  for (let i = 0; i < bytes.length; i += 8192) s += String.fromCharCode(...bytes.subarray(i, i + 8192));
  return s;
}

/** RFC 3264 §4: a body in a request (INVITE, ACK after an offerless INVITE) or in a response is an offer or answer. */
function sdpRole(m: SipMessage): "offer" | "answer" | undefined {
  if (m.body.byteLength === 0) return undefined;
  const ct = m.getHeader("Content-Type") ?? "";
  if (!/^application\/sdp/i.test(ct.trim())) return undefined;
  if (m.kind === "request") return m.method === "ACK" ? "answer" : "offer";
  return "answer";
}

/** Summarises SIP bytes for a ladder arrow; undefined when the bytes are not a parseable message. */
export function summarizeSip(bytes: Uint8Array, from: NodeId, to: NodeId, t: number): SipTraceEvent | undefined {
  let m: SipMessage;
  try {
    m = parseMessage(bytes, { datagram: true, validate: "none" });
  } catch {
    return undefined;
  }
  let callId = "";
  let cseq = 0;
  let method = m.kind === "request" ? m.method : "";
  try {
    callId = m.callId();
    const c = m.cseq();
    cseq = c.seq;
    if (m.kind === "response") method = c.method;
  } catch {
    // a malformed CSeq/Call-ID still draws an arrow
  }
  const sdp = sdpRole(m);
  const suffix = sdp ? ` (SDP ${sdp})` : "";
  const label = m.kind === "request" ? `${m.method}${suffix}` : `${m.status} ${m.reason}${suffix}`;
  const warning = m.getHeader("Warning");
  const text = latin1(bytes);
  return {
    type: "sip",
    t,
    from,
    to,
    kind: m.kind,
    method,
    ...(m.kind === "response" ? { status: m.status } : {}),
    label,
    callId,
    cseq,
    ...(sdp ? { sdp } : {}),
    ...(warning !== undefined ? { warning } : {}),
    text: text.length > MAX_TEXT ? `${text.slice(0, MAX_TEXT)}\n[… truncated]` : text,
  };
}

/** The SDP body of a traced message (text after the blank line), or "". */
export function sdpOf(e: SipTraceEvent): string {
  if (!e.sdp) return "";
  const i = e.text.search(/\r?\n\r?\n/);
  if (i < 0) return "";
  return e.text.slice(i).replace(/^\r?\n\r?\n/, "");
}

/** Flips the last byte of every a=fingerprint value (same length, so Content-Length stays right). */
export function tamperFingerprint(sdp: string): string {
  return sdp.replace(/a=fingerprint:(\S+) ([0-9A-Fa-f:]+)/g, (_m, alg: string, fp: string) => {
    const last = fp.slice(-2);
    const flipped = ((Number.parseInt(last, 16) ^ 0xff) & 0xff).toString(16).toUpperCase().padStart(2, "0");
    return `a=fingerprint:${alg} ${fp.slice(0, -2)}${flipped}`;
  });
}

/** Alters the fingerprints of an initial INVITE's SDP offer (same length: Content-Length stays right). */
export function tamperInvite(bytes: Uint8Array): Uint8Array {
  const text = latin1(bytes);
  if (!text.startsWith("INVITE ")) return bytes;
  const split = text.search(/\r?\n\r?\n/);
  if (split < 0) return bytes;
  const out = text.slice(0, split) + tamperFingerprint(text.slice(split));
  return Uint8Array.from(out, (c) => c.charCodeAt(0));
}

/**
 * The IMS-AGW certificate fingerprint a P-CSCF put in the SDP toward its UE (TR 29.828 §5.2.1.2.2 step 8 /
 * §5.2.1.2.3 step 8: the AGW's access-side fingerprint), from its last e2ae ims-alg-decision audit event before `t`.
 */
export function agwFingerprintOf(
  events: readonly DemoEvent[],
  pcscf: "pcscf-a" | "pcscf-b",
  t = Number.POSITIVE_INFINITY,
): { hash: string; value: string } | undefined {
  for (let i = events.length - 1; i >= 0; i--) {
    const e = events[i];
    if (e?.type !== "audit" || e.t > t) continue;
    const a = e.event;
    if (a.event !== "ims-alg-decision" || a.instance !== pcscf || typeof a.agwFingerprint !== "string") continue;
    const [hash, value] = a.agwFingerprint.split(" ");
    if (hash && value) return { hash, value };
  }
  return undefined;
}
