/**
 * The INVITE sessions the P-CSCF serves, from admission to release (docs/pcscf.md "Limits"): the `maxSessions` check
 * on an initial INVITE, the session opened when it is forwarded, confirmed by its 2xx, followed through its in-dialog
 * requests (the CSeq each way) and ended by BYE, a non-2xx final or the death of its transaction; and the
 * P-CSCF-initiated release (TS 24.229 §5.2.8): after the maximum lifetime, on an IMS-AGW media fault, or after a 2xx
 * (or ACK) whose SDP the IMS-ALG refused — BYE toward both ends, in sequence, with a Reason header.
 */
import type { AuditEvent, Logger } from "../../log.ts";
import type { SipHeader, SipRequest } from "../../sip/index.ts";
import {
  ownString,
  type ProxyCore,
  type ProxyInterface,
  type ProxyRequest,
  type ProxyTransaction,
  type ReplyOutcome,
  type RouteOutcome,
} from "../../sip/proxy.ts";
import { type Admission, warningReply } from "./admission.ts";
import type { E2aeAnchor } from "./e2ae.ts";
import type { E2aeSession } from "./e2aeSession.ts";
import type { IqClientEvent } from "./iq.ts";
import type { TxData } from "./nodeTypes.ts";
import { type PcscfSession, SessionTable } from "./sessions.ts";
import { warnText } from "./warning.ts";

type Session = PcscfSession<ProxyTransaction<TxData>>;

interface PendingRelease {
  ptx: ProxyTransaction<TxData>;
  reason: string;
  timer: NodeJS.Timeout;
}

export interface SessionControlOptions {
  /** the P-CSCF's name, in the audit events */
  name: string;
  /** the Warning agent */
  warnAgent: string;
  log: Logger;
  record(e: AuditEvent): void;
  proxy: ProxyCore<TxData>;
  /** the access interface (its T1 times a release that waits for the ACK) */
  access: ProxyInterface;
  admission: Admission;
  /** the e2ae anchoring: the AGW contexts of a released dialog go with it */
  e2ae: E2aeAnchor | undefined;
  /** concurrent INVITE sessions (PcscfOptions.maxSessions) */
  maxSessions: number;
  /** PcscfOptions.sessionMaxAgeMs; 0 = never */
  sessionMaxAgeMs: number;
}

export class SessionControl {
  /** INVITE sessions in progress (maxSessions, P-CSCF-initiated release) */
  readonly table = new SessionTable<ProxyTransaction<TxData>>();
  private readonly releases = new Map<string, PendingRelease>();

  constructor(private readonly o: SessionControlOptions) {}

  /** RFC 3261 §21.5.4: 503 + Retry-After when the P-CSCF is at its session capacity (never silent). */
  admit(): ReplyOutcome | undefined {
    const max = this.o.maxSessions;
    if (this.table.size >= max)
      return this.o.admission.capacity("E_PCSCF_SESSION_LIMIT", `limit of ${max} sessions reached`);
    return undefined;
  }

  /** An initial INVITE that is forwarded opens a session (TS 24.229 §5.2.8 needs its dialog later). */
  track(pr: ProxyRequest, ptx: ProxyTransaction<TxData>, o: RouteOutcome<TxData>): RouteOutcome<TxData> {
    if (o.kind !== "forward" || !o.data) return o;
    const req = pr.req;
    // strings of their own: a header value would keep the whole INVITE head alive as long as the session
    const s: Session = {
      callId: ptx.callId,
      fromTag: ownString(req.fromTag() ?? ""),
      ptx,
      state: "early",
      createdAt: Date.now(),
      cseqCaller: req.cseq().seq,
      cseqCallee: 0,
      source: `${pr.source.transport}|${pr.source.host}|${pr.source.port}`,
      timer: undefined,
    };
    o.data.session = s;
    this.table.add(s);
    // RFC 3261 §16.7 / §16.8: a transaction that ends without a 2xx (final error, CANCEL, Timer C) ends the session
    pr.stx?.onTerminated(() => {
      if (s.state === "early") this.table.delete(s);
    });
    return o;
  }

  /** A response to the initial INVITE moves its session on. */
  onResponse(s: Session, status: number): void {
    if (status >= 300) {
      if (s.state === "early") this.table.delete(s);
      return;
    }
    if (status < 200 || s.state === "confirmed") return;
    s.state = "confirmed";
    const maxAge = this.o.sessionMaxAgeMs;
    if (maxAge > 0) {
      s.timer = setTimeout(() => this.release(s, "E_PCSCF_SESSION_AGE", 408, "session lifetime exceeded"), maxAge);
      s.timer.unref();
    }
  }

  /** In-dialog requests: the CSeq seen each way (for a BYE of ours in sequence), and BYE ends the session. */
  inDialog(req: SipRequest, toTag: string): void {
    if (req.method === "ACK" || req.method === "CANCEL") return;
    const fromTag = req.fromTag();
    const s = this.table.forDialog(req.callId(), fromTag, toTag);
    if (!s) return;
    const seq = req.cseq().seq;
    // RFC 3261 §12.2.1.1: each UA's CSeq grows by one per request it sends in the dialog
    if (fromTag === s.fromTag) s.cseqCaller = Math.max(s.cseqCaller, seq);
    else s.cseqCallee = Math.max(s.cseqCallee, seq);
    if (req.method === "BYE") this.table.delete(s);
  }

  /**
   * The IMS-AGW reported that an anchored stream's media is gone or never came (TCP establishment timeout, relay
   * idle/half-close timeout, relay error): the resources are released and so is the session — TS 24.229 §5.2.8
   * (BYE both ways; a session still being set up is cancelled and answered 503). A failed TLS handshake alone does
   * not release anything: anyone can connect to the AGW port, so it must not be able to end the call; the
   * establishment timer bounds a termination that never sees its verified peer.
   */
  onMediaFault(session: E2aeSession, e: IqClientEvent): void {
    const code =
      e.event === "relayEnded"
        ? "E_ALG_AGW_RELAY_ENDED"
        : e.event === "idleTimeout"
          ? "E_ALG_AGW_IDLE"
          : e.event === "agwRestarted"
            ? "E_ALG_AGW_RESTARTED"
            : "E_ALG_AGW_ESTABLISHMENT";
    void this.o.e2ae?.release(session, `AGW event ${e.event}`);
    for (const s of this.table.ofCall(session.callId)) this.release(s, code, 503, `IMS-AGW ${e.event}`);
  }

  /** TS 24.229 §5.2.8.1: the P-CSCF releases a session it serves (early: CANCEL downstream + final upstream). */
  private release(s: Session, code: string, cause: number, text: string): void {
    if (!this.table.delete(s)) return;
    this.o.admission.count(code);
    const ptx = s.ptx;
    const reason = `SIP;cause=${cause};text="${warnText(`${code}: ${text}`).replace(/[\\"]/g, "")}"`;
    if (s.state === "early" || ptx.finalSent === undefined) {
      // TS 24.229 §5.2.8.1.1: a session being established is cancelled; the caller gets the final response
      ptx.replaceFinal = warningReply(
        this.o.warnAgent,
        cause,
        cause === 503 ? "Service Unavailable" : "Request Timeout",
        `${code}: ${text}`,
      );
      this.o.proxy.cancel(ptx);
      this.o.log.info({ callId: s.callId, code }, "pcscf: session being established released");
      return;
    }
    this.byeBothWays(ptx, reason, s);
  }

  // ------------------------------------------------------------------------------------------------------------------
  // P-CSCF-initiated release (TS 24.229 §5.2.8) after a 2xx (or ACK) whose SDP the IMS-ALG refused

  private releaseKey(callId: string, cseq: number): string {
    return `${callId}|${cseq}`;
  }

  scheduleRelease(ptx: ProxyTransaction<TxData>, warning: string, code: string): void {
    const key = this.releaseKey(ptx.callId, ptx.cseq);
    if (this.releases.has(key)) return;
    const reason = `SIP;cause=488;text="${warnText(`${code}`).replace(/[\\"]/g, "")}"`;
    // the ACK of the 2xx normally passes here first; without it the release happens after 64*T1
    const timer = setTimeout(() => this.doRelease(key), 64 * this.o.access.txm.timers.T1);
    this.releases.set(key, { ptx, reason, timer });
    this.o.log.info({ key, warning }, "ims-alg: answer in a 2xx refused; session will be released");
  }

  onAckForwarded(ack: SipRequest): void {
    if (this.releases.size === 0) return;
    this.doRelease(this.releaseKey(ack.callId(), ack.cseq().seq));
  }

  private doRelease(key: string): void {
    const r = this.releases.get(key);
    if (!r) return;
    this.releases.delete(key);
    clearTimeout(r.timer);
    const s = r.ptx.data?.session;
    if (s) this.table.delete(s);
    this.byeBothWays(r.ptx, r.reason, s);
  }

  /** TS 24.229 §5.2.8.1.2 / RFC 3326 §2: BYE toward both ends, in sequence, with a Reason header saying why. */
  private byeBothWays(ptx: ProxyTransaction<TxData>, reason: string, s: Session | undefined): void {
    const headers: SipHeader[] = [{ name: "Reason", value: reason }];
    // the AGW contexts of the dialog go with it
    this.o.e2ae?.releaseDialog(ptx.callId, undefined, undefined, `P-CSCF release: ${reason}`);
    // TS 24.229 §5.2.8.1.2: the CSeq stored for that direction, incremented by one
    const proxy = this.o.proxy;
    const down = proxy.sendInDialog(ptx, "downstream", "BYE", headers, undefined, s ? s.cseqCaller + 1 : undefined);
    const up = proxy.sendInDialog(ptx, "upstream", "BYE", headers, undefined, s ? s.cseqCallee + 1 : undefined);
    this.o.record({
      node: "pcscf",
      instance: this.o.name,
      event: "session-release",
      decision: "release",
      clause: "TS 24.229 §5.2.8; RFC 3326 §2",
      callId: ptx.callId,
      reason,
      byeDownstream: down,
      byeUpstream: up,
    });
  }

  /** Forgets every session and pending release (P-CSCF close). */
  close(): void {
    for (const r of this.releases.values()) clearTimeout(r.timer);
    this.releases.clear();
    this.table.clear();
  }
}
