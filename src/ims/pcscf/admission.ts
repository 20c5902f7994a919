/**
 * What the P-CSCF admits (docs/pcscf.md "Limits"): the per-source request rate on the access side, checked before a
 * request is even parsed, and the capacity refusals (503 + Retry-After, RFC 3261 §21.5.4) of the sessions and
 * registration tables and of the IMS-AGW; every refusal is counted by code. Also the shape of a refusal made here:
 * a response with a Warning (RFC 3261 §20.43, warn-code 399).
 */
import type { AuditEvent, Logger } from "../../log.ts";
import { bareHost, type SipSource, type SipUri } from "../../sip/index.ts";
import type { ReplyOutcome } from "../../sip/proxy.ts";
import type { InboundGate } from "../../sip/transport/layer.ts";
import { DEFAULT_RATE_LIMIT, type RateLimitConfig, type RefusalEpisode, SourceRateLimiter } from "./limits.ts";
import { formatWarningValue } from "./warning.ts";

type InboundGateVerdict = ReturnType<InboundGate>;

/** A response generated here with a Warning (RFC 3261 §20.43, warn-code 399). */
export function warningReply(agent: string, status: number, reason: string, text: string): ReplyOutcome {
  const warning = formatWarningValue({ code: 399, agent, text });
  return { kind: "reply", status, reason, headers: [{ name: "Warning", value: warning }] };
}

export interface AdmissionOptions {
  /** the P-CSCF's name, in the audit events */
  name: string;
  /** the Warning agent */
  warnAgent: string;
  log: Logger;
  record(e: AuditEvent): void;
  /** PcscfOptions.rateLimit: `false` turns the per-source limit off */
  rateLimit: Partial<RateLimitConfig> | false | undefined;
  /** Retry-After (seconds) of a capacity 503 */
  retryAfter: number;
  /** the access and core sides have their own interfaces (then no source is exempt) */
  split: boolean;
  /** the S-CSCF / next hop: exempt from the limit when one interface serves both sides */
  exempt: ReadonlyArray<SipUri | undefined>;
}

export class Admission {
  /** refusals by code (limits and capacity), for metrics and tests */
  readonly refusals = new Map<string, number>();
  private readonly limiter: SourceRateLimiter | undefined;
  /** sources exempt from the rate limit (the S-CSCF / next hop when one interface serves both sides) */
  private readonly exempt = new Set<string>();

  constructor(private readonly o: AdmissionOptions) {
    if (o.rateLimit !== false) {
      this.limiter = new SourceRateLimiter({ ...DEFAULT_RATE_LIMIT, ...o.rateLimit }, (ep) => this.episodeEnd(ep));
      for (const u of o.exempt) if (u) this.exempt.add(`${bareHost(u.host)}|${u.port ?? 5060}`);
    }
  }

  /** The per-source limit is on (the access layer then runs `gate` on every inbound request). */
  get limited(): boolean {
    return this.limiter !== undefined;
  }

  count(code: string): void {
    this.refusals.set(code, (this.refusals.get(code) ?? 0) + 1);
  }

  /** A refusal for lack of capacity: 503 + Retry-After (RFC 3261 §21.5.4, §20.33) with a Warning naming the code. */
  capacity(code: string, text: string): ReplyOutcome {
    this.count(code);
    this.o.log.warn({ code, text }, "pcscf: request refused for capacity");
    const r = warningReply(this.o.warnAgent, 503, "Service Unavailable", `${code}: ${text}`);
    r.headers = [...(r.headers ?? []), { name: "Retry-After", value: String(this.o.retryAfter) }];
    return r;
  }

  /**
   * Per-source admission on the access side, before the request is even parsed (SipTransportLayer gate): refusals
   * are answered 503 + Retry-After (RFC 3261 §21.5.4) statelessly, at most at the source's own rate, beyond which
   * requests are dropped unread; each episode is logged once when it starts and once, with its count, when it ends
   * (a flood must not become a log flood). Retransmissions count like any request.
   */
  gate(source: SipSource): InboundGateVerdict {
    const limiter = this.limiter;
    if (!limiter) return undefined;
    if (!this.o.split && this.exempt.has(`${bareHost(source.host)}|${source.port}`)) return undefined;
    const key = limiter.keyOf(source);
    const a = limiter.check(key);
    if (a.admit) return undefined;
    this.count("E_PCSCF_RATE_LIMITED");
    if (a.first) {
      this.o.log.warn({ code: "E_PCSCF_RATE_LIMITED", source: key }, "pcscf: source over its rate");
      this.o.record({
        node: "pcscf",
        instance: this.o.name,
        event: "rate-limit",
        decision: "refuse",
        clause: "RFC 3261 §21.5.4",
        code: "E_PCSCF_RATE_LIMITED",
        source: key,
        rate: limiter.config.rate,
        burst: limiter.config.burst,
      });
    }
    if (!a.answer) return "drop";
    const warning = formatWarningValue({
      code: 399,
      agent: this.o.warnAgent,
      text: `E_PCSCF_RATE_LIMITED: more than ${limiter.config.rate} requests/s from this source`,
    });
    return {
      status: 503,
      reason: "Service Unavailable",
      headers: [
        { name: "Retry-After", value: String(a.retryAfter) },
        { name: "Warning", value: warning },
      ],
    };
  }

  /** Ends the refusal episodes of the sources idle for `idleMs` (0: every one; close / periodic sweep). */
  sweep(idleMs: number): void {
    this.limiter?.sweep(idleMs);
  }

  private episodeEnd(e: RefusalEpisode): void {
    this.o.log.warn({ code: "E_PCSCF_RATE_LIMITED", source: e.source, refused: e.refused }, "pcscf: rate episode over");
  }
}
