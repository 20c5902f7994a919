/**
 * The UE node: a SIP user agent (src/sip) whose offers and answers are DCMTSI data channel SDP handled by one
 * DcEndpoint per call (TS 24.186 §9, TS 26.114 §6.2.10, TS 33.328 §7.2.5). REGISTER carries the DC feature tag and,
 * when configured, the mediasec mechanisms (TS 24.229 §7.2A.7).
 */
import { type AuditLog, type Logger, silentLogger } from "../log.ts";
import { readMedia, replaceMediaSection } from "../sdp/index.ts";
import { TypedEmitter } from "../sip/emitter.ts";
import { SipTransportLayer } from "../sip/transport/layer.ts";
import type { SipTlsConfig } from "../sip/transport/tlsContext.ts";
import type { SipTransportProtocol } from "../sip/transport/types.ts";
import {
  type FlowRecoveryOptions,
  type RegistrationInfo,
  rejectOffer,
  type SdpContext,
  type SipCall,
  SipUserAgent,
} from "../sip/ua.ts";
import { DcEndpoint, type DcEndpointOptions } from "./dcEndpoint.ts";
import { E2aeEndpoint, type E2aeEndpointOptions } from "./e2ae/index.ts";
import { UeError } from "./errors.ts";
import type { IceMode } from "./iceMode.ts";
import { prewarmDcEngine } from "./prewarm.ts";
import { createUeAuthenticator, type UeAuthConfig } from "./ueAuth.ts";

/** Default `ImsUeOptions.maxCalls`. */
export const DEFAULT_MAX_CALLS = 16;

/** Media a UE offers: the data channel m-line and/or e2ae MSRP / BFCP over TLS m-lines (TS 33.328 §7.2.1). */
export type UeMediaKind = "dc" | "msrp" | "bfcp";

export interface ImsUeOptions {
  /** e.g. "sip:alice@ims.example.com" */
  aor: string;
  displayName?: string;
  /** SIP transport toward the P-CSCF (default UDP). */
  transport?: SipTransportProtocol;
  /** TLS credential and trust store for transport "TLS" or "WSS" (RFC 3261 §26.2, RFC 7118 §5) */
  tls?: SipTlsConfig;
  /** local SIP address (default 127.0.0.1, port 0 = any) */
  sipHost?: string;
  sipPort?: number;
  /** the P-CSCF as outbound proxy, e.g. "sip:127.0.0.1:5060;transport=udp" */
  outboundProxy?: string;
  /** registrar URI (default the AOR's domain, reached through the outbound proxy) */
  registrar?: string;
  /**
   * registration credentials (docs/auth.md "The UE side"): `{ impi, password }` (Digest), `{ impi, k, opc, sqn? }`
   * (IMS AKA, SIM stand-in) or an authenticator; the UE answers only its registrar realm's 401/407 to REGISTER
   */
  auth?: UeAuthConfig;
  /** list msrp-tls;mediasec and bfcp-tls;mediasec in Security-Client (default true) */
  mediasec?: boolean | string[];
  /** data channel endpoint options applied to every call */
  dc?: Omit<DcEndpointOptions, "name" | "logger" | "audit">;
  /**
   * ICE mode of the data channel (docs/ue.md "ICE modes"): "full" (default, WebRTC IMS client, TS 24.371), "lite"
   * (TS 26.114 Annex A.17) or "none" (IMS UE addressing media by c=/port, TS 24.186 §9.3). Overrides `dc.ice`.
   */
  ice?: IceMode;
  /** m-lines our offers carry, in this order after the session header (default ["dc"]); answers take what is offered */
  media?: UeMediaKind[];
  /** options of the MSRP / BFCP over TLS endpoints (e2ae, TR 29.828 §5.2.1) */
  e2ae?: Omit<E2aeEndpointOptions, "kind" | "name" | "logger" | "audit">;
  /**
   * where initial requests toward this UE may come from (TS 24.229 §5.1.1.2, RFC 5626 §5): "registration" (default
   * with an outbound proxy) only over the flow it registered through, others 403 + audit event; "any" (default
   * without one) for labs without a P-CSCF
   */
  acceptFrom?: "registration" | "any";
  /** answer incoming calls automatically (default true) */
  autoAnswer?: boolean;
  /**
   * release a call whose data channel fails after the answer (default true): its media at once, the session with
   * BYE (E_CONSENT_EXPIRED when the peer vanished, E_DTLS_TIMEOUT mid-handshake …)
   */
  hangupOnMediaFailure?: boolean;
  /**
   * calls this UE holds at once, both directions (default 16): an incoming INVITE beyond it is answered 486 Busy Here
   * (RFC 3261 §21.4.24) before any endpoint or socket is created, and logged with code E_UE_BUSY
   */
  maxCalls?: number;
  timers?: Partial<{ T1: number; T2: number; T4: number; D: number }>;
  /**
   * `start()` first runs `prewarmDcEngine()` in this UE's ICE mode (docs/ue.md "First call as fast as the next
   * ones"), so the first call's data channel sets up as fast as the later ones (default false)
   */
  prewarm?: boolean;
  /**
   * RFC 5626 §4.5 flow recovery over TCP/WS: when the connection to the P-CSCF closes, re-REGISTER at once, then with
   * back-off (default on, base 30 s / max 1800 s; docs/sip.md "Flow recovery"); false: off
   */
  flowRecovery?: FlowRecoveryOptions | false;
  logger?: Logger;
  audit?: AuditLog;
}

/** A call, its data channel endpoint and its e2ae MSRP / BFCP endpoints (present when negotiated). */
export class UeCall {
  msrp: E2aeEndpoint | undefined;
  bfcp: E2aeEndpoint | undefined;
  /** our last offer as sent (the full composed body) */
  lastOffer: string | undefined;
  constructor(
    readonly sip: SipCall,
    readonly dc: DcEndpoint,
  ) {}
  /**
   * Ends the call (BYE; CANCEL, or a final response to an incoming call, before it is answered) and frees the data
   * channel. An established call's media goes after the BYE's response.
   */
  async hangup(): Promise<void> {
    if (!this.sip.ended()) {
      const ending = this.sip.hangup().catch(() => undefined);
      if (this.sip.state === "terminating") await ending;
    }
    await this.releaseMedia();
  }
  /** Frees the data channel and the e2ae endpoints (sockets, timers) without touching the SIP session. */
  async releaseMedia(): Promise<void> {
    await Promise.all([this.dc.close(), this.msrp?.close(), this.bfcp?.close()]);
  }
}

export type ImsUeEvents = {
  registered: [RegistrationInfo];
  incoming: [UeCall];
  /** a call (either direction) whose data channel endpoint now exists */
  call: [UeCall];
  /** an incoming call refused before anything was allocated for it (E_UE_BUSY: 486, maxCalls reached) */
  refused: [{ code: "E_UE_BUSY" | "E_SIP_UNTRUSTED_SOURCE"; status: number; callId: string }];
};

export class ImsUe extends TypedEmitter<ImsUeEvents> {
  readonly opts: ImsUeOptions;
  readonly layer: SipTransportLayer;
  readonly ua: SipUserAgent;
  private readonly log: Logger;
  private readonly calls = new Map<SipCall, UeCall>();
  private readonly maxCalls: number;

  constructor(opts: ImsUeOptions) {
    super();
    this.opts = opts;
    this.maxCalls = opts.maxCalls ?? DEFAULT_MAX_CALLS;
    if (!Number.isInteger(this.maxCalls) || this.maxCalls < 0)
      throw new UeError("E_CONFIG", `maxCalls must be an integer >= 0 (got ${String(opts.maxCalls)})`);
    this.log = (opts.logger ?? silentLogger).child({ ue: opts.aor });
    const proto = opts.transport ?? "UDP";
    const listen = { port: opts.sipPort ?? 0 };
    this.layer = new SipTransportLayer({
      host: opts.sipHost ?? "127.0.0.1",
      ...(proto === "UDP"
        ? { udp: listen }
        : proto === "TCP"
          ? { tcp: listen }
          : proto === "TLS"
            ? { tls: listen }
            : proto === "WSS"
              ? { wss: { listen: false } }
              : { ws: { listen: false } }),
      ...(opts.tls ? { tlsConfig: opts.tls } : {}),
      logger: this.log,
    });
    this.ua = new SipUserAgent({
      transport: this.layer,
      ownsTransport: true,
      aor: opts.aor,
      ...(opts.displayName !== undefined ? { displayName: opts.displayName } : {}),
      ...(opts.outboundProxy !== undefined ? { outboundProxy: opts.outboundProxy } : {}),
      ...(opts.registrar !== undefined ? { registrar: opts.registrar } : {}),
      ...(opts.auth !== undefined ? { auth: createUeAuthenticator(opts.aor, opts.auth) } : {}),
      preferredTransport: proto,
      // TS 24.186 §9.2: the DC media feature tag in Contact of REGISTER and INVITE
      dataChannel: true,
      // TS 24.229 §7.2A.7: media plane security mechanisms offered at registration
      mediasec: opts.mediasec ?? true,
      sdp: {
        createOffer: (ctx) => this.createOffer(ctx),
        onOffer: (offer, ctx) => this.onOffer(offer, ctx),
        onAnswer: (answer, ctx) => this.onAnswer(answer, ctx),
      },
      ...(opts.timers ? { timers: opts.timers } : {}),
      ...(opts.flowRecovery !== undefined ? { flowRecovery: opts.flowRecovery } : {}),
      ...(opts.acceptFrom !== undefined ? { acceptFrom: opts.acceptFrom } : {}),
      autoRinging: true,
      logger: this.log,
    });
    this.ua.on("incomingCall", (sip) => {
      if (this.calls.size >= this.maxCalls) {
        this.refuseBusy(sip);
        return;
      }
      const call = this.callFor(sip);
      this.emit("incoming", call);
      if (this.opts.autoAnswer !== false)
        void sip.answer().catch((e: unknown) => this.log.warn({ err: String(e) }, "answer failed"));
    });
    this.ua.on("registered", (info) => this.emit("registered", info));
    this.ua.on("requestRefused", (r) => {
      const at = (x: { host: string; port: number }) => `${x.host.includes(":") ? `[${x.host}]` : x.host}:${x.port}`;
      // TS 24.229 §5.1.1.2 / RFC 5626 §5: a request from outside the registration flow is a security refusal
      this.opts.audit?.record({
        node: "ue",
        decision: "request-refused",
        clause: "TS 24.229 §5.1.1.2",
        code: r.code,
        ue: this.opts.aor,
        method: r.method,
        callId: r.callId,
        transport: r.source.transport,
        remote: at(r.source),
        expected: r.expected ? at(r.expected) : null,
        status: r.status,
      });
      this.emit("refused", { code: r.code, status: r.status, callId: r.callId });
    });
  }

  async start(): Promise<void> {
    if (this.opts.prewarm) {
      const w = await prewarmDcEngine({ ice: this.opts.ice ?? this.opts.dc?.ice ?? "full" });
      this.log.info({ ms: Math.round(w.ms) }, "data channel engine pre-warmed");
    }
    await this.layer.start();
  }

  /** Calls in progress or established (both directions), as counted against `maxCalls`. */
  get activeCalls(): number {
    return this.calls.size;
  }

  /** RFC 3261 §21.4.24: 486 Busy Here, the UE takes no further call; no endpoint or socket exists for it. */
  private refuseBusy(sip: SipCall): void {
    this.log.warn(
      { code: "E_UE_BUSY", callId: sip.callId, calls: this.calls.size, maxCalls: this.maxCalls },
      "incoming call refused: maxCalls reached (486 Busy Here)",
    );
    try {
      sip.reject(486);
    } catch (e) {
      // a CANCEL got there first: the call is already over
      this.log.info({ err: e instanceof Error ? e.message : String(e) }, "busy call already ended");
    }
    this.emit("refused", { code: "E_UE_BUSY", status: 486, callId: sip.callId });
  }

  register(): Promise<RegistrationInfo> {
    return this.ua.register();
  }

  /** Places a call with a data channel offer; resolves when the INVITE transaction is established (2xx + ACK). */
  async call(target: string): Promise<UeCall> {
    const sip = this.ua.call(target);
    const call = this.callFor(sip);
    await sip.established();
    return call;
  }

  private callFor(sip: SipCall): UeCall {
    let call = this.calls.get(sip);
    if (call) return call;
    const dc = new DcEndpoint({
      ...this.opts.dc,
      ...(this.opts.ice ? { ice: this.opts.ice } : {}),
      name: this.opts.aor,
      logger: this.log,
      ...(this.opts.audit ? { audit: this.opts.audit } : {}),
    });
    call = new UeCall(sip, dc);
    this.calls.set(sip, call);
    const c = call;
    void sip.terminated().then(async () => {
      this.calls.delete(sip);
      await Promise.all([dc.close(), c.msrp?.close(), c.bfcp?.close()]);
    });
    dc.on("failure", (err) => {
      this.log.warn({ code: err.code, msg: err.message, callId: sip.callId }, "data channel failed");
      if (this.opts.hangupOnMediaFailure === false) return;
      // the media failed closed; release the session too (TS 33.328 §7.2.5: no e2e protection, no session). Sockets
      // go at once; the BYE may wait for a peer that is gone (RFC 3261 §17.1.2.2 Timer F: 408 ends it)
      if (sip.state === "established" || sip.state === "answering") {
        void c.releaseMedia();
        void c.hangup();
      }
    });
    this.emit("call", call);
    return call;
  }

  private e2aeEndpoint(call: UeCall, kind: "msrp" | "bfcp"): E2aeEndpoint {
    const existing = call[kind];
    if (existing) return existing;
    const ep = new E2aeEndpoint({
      ...this.opts.e2ae,
      kind,
      name: this.opts.aor,
      logger: this.log,
      ...(this.opts.audit ? { audit: this.opts.audit } : {}),
    });
    ep.on("failure", (err) => this.log.warn({ code: err.code, msg: err.message, kind }, "e2ae stream failed"));
    call[kind] = ep;
    return ep;
  }

  private async createOffer(ctx: SdpContext): Promise<Uint8Array> {
    const call = this.callFor(ctx.call);
    const kinds = this.opts.media ?? ["dc"];
    let sdp = kinds.includes("dc") ? await call.dc.createOffer() : sessionHeader(this.opts.sipHost ?? "127.0.0.1");
    for (const kind of kinds) {
      if (kind === "dc") continue;
      const ep = this.e2aeEndpoint(call, kind);
      // one offer/answer per e2ae stream: a re-offer repeats our m-section unchanged (RFC 3264 §8)
      if (ep.state === "idle") await ep.createOffer({ mline: readMedia(sdp).length });
      sdp = appendSection(sdp, ep.localMediaLines);
    }
    if (kinds.includes("dc") && kinds.length > 1) call.dc.useComposedOffer(sdp);
    call.lastOffer = sdp;
    return new TextEncoder().encode(sdp);
  }

  private async onOffer(offer: Uint8Array, ctx: SdpContext) {
    const call = this.callFor(ctx.call);
    const text = new TextDecoder().decode(offer);
    try {
      const media = readMedia(text);
      const hasDc = media.some((m) => m.kind === "dc" && !m.rejected);
      // RFC 3264 §6: the answer has one m-line per offered m-line; streams we do not take get port 0
      let answer = hasDc ? await call.dc.acceptOffer(text) : rejectAll(text, this.opts.sipHost ?? "127.0.0.1");
      for (const m of media) {
        const kind = m.proto === "TCP/TLS/MSRP" ? "msrp" : m.proto === "TCP/TLS/BFCP" ? "bfcp" : undefined;
        if (!kind || m.rejected) continue;
        const ep = this.e2aeEndpoint(call, kind);
        if (ep.state === "idle") await ep.acceptOffer(text, { mline: m.index });
        answer = replaceMediaSection(answer, m.index, formatSection(ep.localMediaLines));
      }
      return new TextEncoder().encode(answer);
    } catch (e) {
      const code = e instanceof Error && "code" in e ? String((e as { code: unknown }).code) : "E_SDP_REMOTE";
      this.log.info({ code, err: e instanceof Error ? e.message : String(e) }, "offer refused");
      // RFC 3261 §21.4.26 488 Not Acceptable Here: the offer's security attributes are unusable
      return rejectOffer(488, `${code}`);
    }
  }

  private async onAnswer(answer: Uint8Array, ctx: SdpContext): Promise<void> {
    const call = this.callFor(ctx.call);
    const text = new TextDecoder().decode(answer);
    const kinds = this.opts.media ?? ["dc"];
    if (kinds.includes("dc")) await call.dc.acceptAnswer(text);
    for (const kind of ["msrp", "bfcp"] as const) {
      const ep = call[kind];
      if (ep?.state === "offered") await ep.acceptAnswer(text, call.lastOffer ? { offer: call.lastOffer } : {});
    }
  }

  /** Hangs up every call, unregisters nothing (the registration simply expires), closes the transport. */
  async close(): Promise<void> {
    await Promise.all([...this.calls.values()].map((c) => c.hangup()));
    await this.ua.close();
  }
}

function formatSection(lines: readonly string[]): string {
  return `${lines.join("\r\n")}\r\n`;
}

function appendSection(sdp: string, lines: readonly string[]): string {
  return (sdp.endsWith("\n") ? sdp : `${sdp}\r\n`) + formatSection(lines);
}

function sessionHeader(address: string): string {
  const type = address.includes(":") ? "IP6" : "IP4";
  const id = Date.now();
  return formatSection(["v=0", `o=- ${id} 1 IN ${type} ${address}`, "s=-", `c=IN ${type} ${address}`, "t=0 0"]);
}

/** An answer skeleton that rejects every offered m-line (port 0, RFC 3264 §6); accepted ones are replaced later. */
function rejectAll(offer: string, address: string): string {
  const sections = readMedia(offer).map((m) => formatSection([`m=${m.media} 0 ${m.proto} ${m.fmts.join(" ")}`]));
  return sessionHeader(address) + sections.join("");
}
