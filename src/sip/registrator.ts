/**
 * The registration client of the user agent (RFC 3261 §10): REGISTER with the data channel feature tag in Contact
 * (RFC 5688, TS 24.186 §9.2) and, when configured, the mediasec mechanisms in Security-Client (TS 24.229 §7.2A.7);
 * refresh at half the granted expiry; flow recovery (RFC 5626 §4.4 / §4.5, TS 24.229 §5.1.1.4): when the TCP/WS
 * connection it registered over closes, or a refresh fails, it re-registers over a new one, with back-off.
 * Like JsSIP's Registrator, it belongs to one SipUserAgent, which forwards its public calls and emits its events.
 */
import type { SipCall } from "./call.ts";
import { SipError, type SipErrorCode, SipRequestError } from "./errors.ts";
import { getParam } from "./grammar.ts";
import {
  createRequest,
  generateCallId,
  generateTag,
  type SipHeader,
  type SipRequest,
  type SipResponse,
} from "./message.ts";
import type { ClientTransaction } from "./transaction/client.ts";
import type { SendRequestOptions } from "./transaction/manager.ts";
import { TimerBag } from "./transaction/timers.ts";
import type { ConnectionClosedInfo, SipSource, SipTarget, SipTransportProtocol } from "./transport/types.ts";
import {
  type FlowFailedInfo,
  type FlowRecoveryOptions,
  type RegistrationFailedInfo,
  type RegistrationInfo,
  type SipUserAgentOptions,
  UA_ALLOW,
  type UaContext,
  type UserAgentEvents,
} from "./uaTypes.ts";
import { isSipUri, parseSipUri, type SipUri, sipUriEquals } from "./uri.ts";

/** RFC 3261 §22: challenges answered per registration attempt before it fails with E_SIP_AUTH. */
const MAX_AUTH_ROUNDS = 3;

/** RFC 5626 §4.5 defaults (all flows failed): base-time 30 s, max-time 1800 s. */
export const FLOW_RECOVERY_DEFAULTS: Required<FlowRecoveryOptions> = { baseMs: 30_000, maxMs: 1_800_000 };

/**
 * RFC 5626 §4.5: wait-time = min(max-time, base-time · 2^consecutive-failures), randomised uniformly between 50 % and
 * 100 % of that value.
 */
export function flowRecoveryDelay(
  failures: number,
  baseMs: number,
  maxMs: number,
  random: () => number = Math.random,
): number {
  const wait = Math.min(maxMs, baseMs * 2 ** Math.min(Math.max(0, failures), 40));
  return Math.round(wait * (0.5 + 0.5 * random()));
}

/** What the registrator needs from its user agent. */
export interface RegistratorHost {
  readonly ctx: UaContext;
  readonly opts: SipUserAgentOptions;
  readonly aor: SipUri;
  /** the Contact URI for a transport (without the feature tag) */
  contactUri(t: SipTransportProtocol): string;
  /** the UA's calls in progress (reported with a flow failure) */
  calls(): SipCall[];
  /** true once the UA is closed */
  closed(): boolean;
  /** emits one of the UA's events */
  emit<K extends keyof UserAgentEvents>(event: K, ...args: UserAgentEvents[K]): void;
}

export class Registrator {
  private readonly timers = new TimerBag();
  private readonly regCallId = generateCallId();
  private regSeq = 0;
  /** RFC 3608 §6: the Service-Route of the current registration */
  serviceRoute: string[] = [];
  private registration: RegistrationInfo | undefined;
  private recovery: Required<FlowRecoveryOptions> | undefined;
  /** the connection of the current registration (TCP/WS), and when it was registered over */
  private regFlow: { transport: SipTransportProtocol; connectionId: string; since: number } | undefined;
  /** RFC 5626 §5 / TS 24.229 §5.1.1.2: the flow of the current registration (the UDP peer, or the connection) */
  private regSource: SipSource | undefined;
  /** the options of the last register() with a non-zero expiry: a recovery repeats it */
  private regOpts: { expires?: number } = {};
  /** RFC 5626 §4.5 consecutive-failures */
  private failures = 0;
  private unregistering = false;
  private inRecovery = false;

  constructor(private readonly host: RegistratorHost) {}

  /** Current registration, if any. */
  get registered(): RegistrationInfo | undefined {
    return this.registration;
  }

  /** The flow the current registration was made over: where initial requests toward us may come from. */
  get registrationFlow(): SipSource | undefined {
    return this.registration ? this.regSource : undefined;
  }

  /** Turns flow recovery on (RFC 5626 §4.5 back-off, defaults base 30 s / max 1800 s) or off (false). */
  setFlowRecovery(cfg: FlowRecoveryOptions | false): void {
    if (cfg === false) {
      this.recovery = undefined;
      this.inRecovery = false;
      this.timers.clear("recover");
      return;
    }
    const r = { ...FLOW_RECOVERY_DEFAULTS, ...cfg };
    if (!(Number.isFinite(r.baseMs) && r.baseMs > 0 && Number.isFinite(r.maxMs) && r.maxMs >= r.baseMs)) {
      throw new SipError("E_SIP_CONFIG", `flowRecovery needs 0 < baseMs <= maxMs (got ${r.baseMs}, ${r.maxMs})`);
    }
    this.recovery = r;
  }

  // ------------------------------------------------------------------------------------------------ registration

  private requestOnce(
    req: SipRequest,
    target: SipTarget,
    opts?: SendRequestOptions,
  ): Promise<{ res: SipResponse; txn: ClientTransaction }> {
    return new Promise((resolve, reject) => {
      try {
        this.host.ctx.txm.sendRequest(
          req,
          target,
          {
            onResponse: (res, txn) => {
              if (res.status >= 200) resolve({ res, txn });
            },
          },
          opts,
        );
      } catch (e) {
        reject(e);
      }
    });
  }

  /**
   * REGISTER (RFC 3261 §10.2) with the DC feature tag in Contact and, when configured, Security-Client with the
   * mediasec mechanisms (TS 24.229 §7.2A.7). A 423 is retried once with Min-Expires (§10.2.8). A failure emits
   * `registrationFailed` with a code and rejects.
   */
  register(opts: { expires?: number } = {}): Promise<RegistrationInfo> {
    if (opts.expires === 0) {
      this.unregistering = true;
      this.inRecovery = false;
      this.timers.clear("recover");
    } else {
      this.unregistering = false;
      this.regOpts = opts;
    }
    return this.registerOnce(opts, undefined);
  }

  private async registerOnce(opts: { expires?: number }, retryInMs: number | undefined): Promise<RegistrationInfo> {
    const failed = (info: Omit<RegistrationFailedInfo, "retryInMs">) =>
      this.host.emit("registrationFailed", { ...info, ...(retryInMs !== undefined ? { retryInMs } : {}) });
    let res: SipResponse;
    let txn: ClientTransaction;
    let authFailure: string | undefined;
    try {
      if (this.host.closed()) throw new SipError("E_SIP_CLOSED", "user agent closed");
      ({ res, txn, authFailure } = await this.sendRegister(opts));
    } catch (e) {
      const code = e instanceof SipError ? e.code : "E_SIP_TRANSPORT";
      if (!this.host.closed()) failed({ status: 0, reason: e instanceof Error ? e.message : String(e), code });
      throw e;
    }
    const requested = opts.expires ?? this.host.opts.expires ?? 600;
    if (authFailure !== undefined) {
      failed({ status: res.status, reason: authFailure, response: res, code: "E_SIP_AUTH" });
      throw new SipError("E_SIP_AUTH", `registration authentication failed: ${authFailure}`);
    }
    if (res.status < 200 || res.status >= 300) {
      const code: SipErrorCode =
        txn.localFailure === "transport-error"
          ? "E_SIP_TRANSPORT"
          : txn.localFailure === "timeout"
            ? "E_SIP_TIMEOUT"
            : "E_SIP_REJECTED";
      failed({ status: res.status, reason: res.reason, response: res, code });
      throw new SipRequestError(res.status, res.reason, res);
    }
    const registrar = this.registrarUri();
    const contacts = res.contact();
    const list = contacts === "*" ? [] : contacts;
    const mine = parseSipUri(this.host.contactUri(this.host.ctx.targetForUri(registrar).transport));
    const ours = list.find((c) => isSipUri(c.uri) && sipUriEquals(c.uri, mine));
    const fromContact = ours ? getParam(ours.params, "expires") : undefined;
    // RFC 3261 §10.2.4: the granted expiry is the contact's expires parameter, else Expires
    const granted =
      typeof fromContact === "string" ? Number(fromContact) : (res.expires() ?? (list.length > 0 ? requested : 0));
    if (requested === 0 || granted === 0) {
      this.registration = undefined;
      this.regFlow = undefined;
      this.regSource = undefined;
      this.timers.clear("refresh");
      this.host.emit("unregistered");
      return { expires: 0, contacts: list, serviceRoute: [], response: res };
    }
    // RFC 3608 §6: Service-Route becomes the preloaded route of later initial requests
    this.serviceRoute = res.getValues("Service-Route");
    const info: RegistrationInfo = { expires: granted, contacts: list, serviceRoute: this.serviceRoute, response: res };
    this.registration = info;
    this.inRecovery = false;
    this.timers.clear("recover");
    // RFC 5626 §4.4: the registration now lives on this flow (a TCP/WS connection); its close is a flow failure
    const f = txn.flow;
    this.regSource = f;
    this.regFlow =
      f?.connectionId !== undefined && this.host.ctx.isReliable(f.transport)
        ? { transport: f.transport, connectionId: f.connectionId, since: Date.now() }
        : undefined;
    if (this.host.opts.autoRefresh) {
      this.timers.set("refresh", Math.max(1000, (granted * 1000) / 2), () => {
        this.register(opts).catch((e: unknown) => {
          this.host.ctx.log.info({ err: e }, "sip ua: registration refresh failed");
          // RFC 5626 §4.5: a failed refresh means the flow is gone too (e.g. a peer that vanished without FIN)
          this.flowLost(undefined, "refresh-failed");
        });
      });
    }
    this.host.emit("registered", info);
    return info;
  }

  private registrarUri(): string {
    return (
      this.host.opts.registrar ??
      `sip:${this.host.aor.host}${this.host.aor.port !== undefined ? `:${this.host.aor.port}` : ""}`
    );
  }

  private async sendRegister(opts: {
    expires?: number;
  }): Promise<{ res: SipResponse; txn: ClientTransaction; authFailure?: string }> {
    const registrar = this.registrarUri();
    const requested = opts.expires ?? this.host.opts.expires ?? 600;
    const auth = this.host.opts.auth;
    const authTarget = { method: "REGISTER", uri: registrar };
    const attempt = (expires: number, credentials: SipHeader | undefined) => {
      const target = this.host.ctx.targetForUri(registrar);
      const headers: SipHeader[] = [
        { name: "Expires", value: String(expires) },
        // RFC 3327 §5: a UA supporting Path says so
        { name: "Supported", value: "path" },
        { name: "Allow", value: UA_ALLOW.join(", ") },
        ...this.host.ctx.commonHeaders(),
      ];
      // RFC 3261 §22.2 / §22.3: the credentials answering the registrar's (or a proxy's) challenge
      if (credentials) headers.push(credentials);
      const ms = this.host.opts.mediasec === true ? ["msrp-tls", "bfcp-tls"] : this.host.opts.mediasec || [];
      // TS 24.229 §7.2A.7: mediasec-labelled media security mechanisms (RFC 3329 §2.2 syntax)
      if (ms.length > 0) headers.push({ name: "Security-Client", value: ms.map((m) => `${m};mediasec`).join(", ") });
      const req = createRequest({
        method: "REGISTER",
        uri: registrar,
        from: `${this.host.ctx.localParty()};tag=${generateTag()}`,
        to: this.host.ctx.localParty(),
        // RFC 3261 §10.2.4: the same Call-ID for every registration to a registrar, CSeq incremented
        // (RFC 3261 §22.2: also for the retry with credentials)
        callId: this.regCallId,
        cseq: ++this.regSeq,
        route: this.host.opts.preloadedRoute ?? [],
        contact: this.host.ctx.contact(target.transport),
        headers,
      });
      return this.requestOnce(req, target);
    };
    // RFC 7616 §3.4 / TS 24.229 §5.1.1.2.1: the cached challenge with nc + 1, or the IMS initial form, or nothing
    const initial = async () => {
      const v = await auth?.authorize(authTarget);
      return v !== undefined ? { name: "Authorization", value: v } : undefined;
    };
    let expires = requested;
    let r = await attempt(expires, await initial());
    let rounds = 0;
    let retried423 = false;
    for (;;) {
      const min = r.res.status === 423 && !retried423 ? r.res.minExpires() : undefined;
      if (min !== undefined) {
        // RFC 3261 §10.2.8: once more with Min-Expires
        retried423 = true;
        expires = min;
        r = await attempt(expires, await initial());
        continue;
      }
      if (auth === undefined || (r.res.status !== 401 && r.res.status !== 407)) break;
      // RFC 3261 §22.2: 401 carries WWW-Authenticate (answered in Authorization), §22.3: 407 Proxy-Authenticate
      // (answered in Proxy-Authorization)
      const proxy = r.res.status === 407;
      if (rounds >= MAX_AUTH_ROUNDS) {
        auth.reset();
        return { ...r, authFailure: `still challenged after ${MAX_AUTH_ROUNDS} answers (${r.res.status})` };
      }
      rounds++;
      const answer = await auth.onChallenge(
        r.res.getHeaders(proxy ? "Proxy-Authenticate" : "WWW-Authenticate"),
        authTarget,
      );
      if (answer.kind === "refuse") return { ...r, authFailure: `${answer.code}: ${answer.reason}` };
      r = await attempt(expires, {
        name: proxy ? "Proxy-Authorization" : "Authorization",
        value: answer.authorization,
      });
    }
    // RFC 7616 §3.5: Authentication-Info rspauth proves the registrar knew our credentials
    if (auth !== undefined && r.res.status >= 200 && r.res.status < 300) {
      if (!(await auth.onSuccess(r.res.getHeader("Authentication-Info"), authTarget))) {
        auth.reset();
        return { ...r, authFailure: "E_AUTH_RSPAUTH: the registrar's rspauth does not verify" };
      }
    }
    return r;
  }

  // ------------------------------------------------------------------------------------------------ flow recovery

  /** A TCP/WS connection closed: if it carried our registration, the flow has failed (RFC 5626 §4.4). */
  onConnectionClosed(info: ConnectionClosedInfo): void {
    const f = this.regFlow;
    if (!f || f.connectionId !== info.connectionId || f.transport !== info.transport) return;
    // our own transport layer closing is not a flow failure
    if (info.reason === "transport-closed") return;
    this.flowLost(info, info.reason);
  }

  private flowLost(info: ConnectionClosedInfo | undefined, reason: FlowFailedInfo["reason"]): void {
    const f = this.regFlow;
    this.regFlow = undefined;
    this.regSource = undefined;
    if (this.host.closed() || this.unregistering || this.registration === undefined) return;
    this.registration = undefined;
    // a new flow starts from a fresh challenge (the registrar may have dropped the old nonce with the flow)
    this.host.opts.auth?.reset();
    this.timers.clear("refresh");
    const cfg = this.recovery;
    const connectionId = info?.connectionId ?? f?.connectionId ?? "";
    const calls = this.host
      .calls()
      .filter((c) => !c.ended() && (connectionId === "" || c.usesConnection(connectionId)));
    // RFC 5626 §4.5: a flow counts as successful once its registration succeeded, and then the first new attempt is
    // immediate; one that fails within base-time of its registration counts as a failure (no tight loop against a
    // peer that accepts and drops at once)
    const quick = f === undefined || Date.now() - f.since < (cfg?.baseMs ?? 0);
    if (quick) this.failures++;
    else this.failures = 0;
    const delay = cfg && this.failures > 0 ? flowRecoveryDelay(this.failures, cfg.baseMs, cfg.maxMs) : 0;
    this.host.ctx.log.warn(
      {
        code: "E_SIP_FLOW_FAILED",
        transport: info?.transport ?? f?.transport,
        connectionId,
        reason,
        calls: calls.map((c) => c.callId),
        recovering: cfg !== undefined,
        retryInMs: cfg ? delay : undefined,
      },
      "sip ua: registration flow failed",
    );
    this.host.emit("flowFailed", {
      code: "E_SIP_FLOW_FAILED",
      transport: info?.transport ?? f?.transport ?? this.host.ctx.preferred,
      connectionId,
      reason,
      calls,
      recovering: cfg !== undefined,
      ...(cfg ? { retryInMs: delay } : {}),
    });
    if (!cfg) return;
    this.inRecovery = true;
    this.timers.set("recover", delay, () => void this.recover());
  }

  /** One re-REGISTER of flow recovery; on failure the next one after the RFC 5626 §4.5 back-off. */
  private async recover(): Promise<void> {
    const cfg = this.recovery;
    if (this.host.closed() || this.unregistering || !cfg || this.registration !== undefined) {
      this.inRecovery = false;
      return;
    }
    const next = flowRecoveryDelay(this.failures + 1, cfg.baseMs, cfg.maxMs);
    try {
      await this.registerOnce(this.regOpts, next);
      this.inRecovery = false;
      this.host.ctx.log.info({ failures: this.failures }, "sip ua: re-registered after flow failure");
    } catch (e) {
      const stop =
        this.host.closed() ||
        this.unregistering ||
        this.recovery === undefined ||
        this.registration !== undefined ||
        // the transport layer itself is closed: nothing to recover over
        (e instanceof SipError && e.code === "E_SIP_CLOSED");
      if (stop) {
        this.inRecovery = false;
        return;
      }
      this.failures++;
      this.host.ctx.log.info({ err: e, failures: this.failures, retryInMs: next }, "sip ua: re-registration failed");
      this.timers.set("recover", next, () => void this.recover());
    }
  }

  /** REGISTER with Expires: 0 (RFC 3261 §10.2.2). */
  async unregister(): Promise<void> {
    await this.register({ expires: 0 });
  }

  /** The flow recovery in progress: consecutive failures so far (RFC 5626 §4.5), or undefined when none runs. */
  get recovering(): { failures: number } | undefined {
    return this.inRecovery ? { failures: this.failures } : undefined;
  }

  /** Stops the refresh and recovery timers (the UA is closing). */
  close(): void {
    this.timers.clearAll();
  }
}
