/**
 * The UE node: a SIP user agent (src/sip) whose offers and answers are DCMTSI data channel SDP handled by one
 * DcEndpoint per call (TS 24.186 §9, TS 26.114 §6.2.10, TS 33.328 §7.2.5). REGISTER carries the DC feature tag and,
 * when configured, the mediasec mechanisms (TS 24.229 §7.2A.7).
 */
import { type AuditLog, type Logger, silentLogger } from "../log.ts";
import { TypedEmitter } from "../sip/emitter.ts";
import { SipTransportLayer } from "../sip/transport/layer.ts";
import type { SipTransportProtocol } from "../sip/transport/types.ts";
import { type RegistrationInfo, rejectOffer, type SdpContext, type SipCall, SipUserAgent } from "../sip/ua.ts";
import { DcEndpoint, type DcEndpointOptions } from "./dcEndpoint.ts";
import { UeError } from "./errors.ts";

export interface ImsUeOptions {
  /** e.g. "sip:alice@ims.example.com" */
  aor: string;
  displayName?: string;
  /** SIP transport toward the P-CSCF (default UDP). */
  transport?: SipTransportProtocol;
  /** local SIP address (default 127.0.0.1, port 0 = any) */
  sipHost?: string;
  sipPort?: number;
  /** the P-CSCF as outbound proxy, e.g. "sip:127.0.0.1:5060;transport=udp" */
  outboundProxy?: string;
  /** registrar URI (default the AOR's domain, reached through the outbound proxy) */
  registrar?: string;
  /** list msrp-tls;mediasec and bfcp-tls;mediasec in Security-Client (default true) */
  mediasec?: boolean | string[];
  /** data channel endpoint options applied to every call */
  dc?: Omit<DcEndpointOptions, "name" | "logger" | "audit">;
  /** answer incoming calls automatically (default true) */
  autoAnswer?: boolean;
  /** send BYE when the data channel of an established call fails (default true) */
  hangupOnMediaFailure?: boolean;
  timers?: Partial<{ T1: number; T2: number; T4: number; D: number }>;
  logger?: Logger;
  audit?: AuditLog;
}

/** A call and its data channel endpoint. */
export class UeCall {
  constructor(
    readonly sip: SipCall,
    readonly dc: DcEndpoint,
  ) {}
  /** Ends the call (BYE, or CANCEL before it is answered) and frees the data channel. */
  async hangup(): Promise<void> {
    if (!this.sip.ended()) {
      if (this.sip.state === "established" || this.sip.state === "terminating") await this.sip.hangup().catch(() => {});
      else this.sip.cancel();
    }
    await this.dc.close();
  }
}

export type ImsUeEvents = {
  registered: [RegistrationInfo];
  incoming: [UeCall];
  /** a call (either direction) whose data channel endpoint now exists */
  call: [UeCall];
};

export class ImsUe extends TypedEmitter<ImsUeEvents> {
  readonly opts: ImsUeOptions;
  readonly layer: SipTransportLayer;
  readonly ua: SipUserAgent;
  private readonly log: Logger;
  private readonly calls = new Map<SipCall, UeCall>();

  constructor(opts: ImsUeOptions) {
    super();
    this.opts = opts;
    this.log = (opts.logger ?? silentLogger).child({ ue: opts.aor });
    const proto = opts.transport ?? "UDP";
    const listen = { port: opts.sipPort ?? 0 };
    this.layer = new SipTransportLayer({
      host: opts.sipHost ?? "127.0.0.1",
      ...(proto === "UDP" ? { udp: listen } : proto === "TCP" ? { tcp: listen } : { ws: { listen: false } }),
      logger: this.log,
    });
    this.ua = new SipUserAgent({
      transport: this.layer,
      ownsTransport: true,
      aor: opts.aor,
      ...(opts.displayName !== undefined ? { displayName: opts.displayName } : {}),
      ...(opts.outboundProxy !== undefined ? { outboundProxy: opts.outboundProxy } : {}),
      ...(opts.registrar !== undefined ? { registrar: opts.registrar } : {}),
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
      autoRinging: true,
      logger: this.log,
    });
    this.ua.on("incomingCall", (sip) => {
      const call = this.callFor(sip);
      this.emit("incoming", call);
      if (this.opts.autoAnswer !== false)
        void sip.answer().catch((e: unknown) => this.log.warn({ err: String(e) }, "answer failed"));
    });
    this.ua.on("registered", (info) => this.emit("registered", info));
  }

  async start(): Promise<void> {
    await this.layer.start();
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
      name: this.opts.aor,
      logger: this.log,
      ...(this.opts.audit ? { audit: this.opts.audit } : {}),
    });
    call = new UeCall(sip, dc);
    this.calls.set(sip, call);
    const c = call;
    void sip.terminated().then(async () => {
      this.calls.delete(sip);
      await dc.close();
    });
    dc.on("failure", (err) => {
      this.log.warn({ code: err.code, msg: err.message }, "data channel failed");
      // the media failed closed; release the session too (TS 33.328 §7.2.5: no e2e protection, no session)
      if (this.opts.hangupOnMediaFailure !== false && sip.state === "established") void c.hangup();
    });
    this.emit("call", call);
    return call;
  }

  private async createOffer(ctx: SdpContext): Promise<Uint8Array> {
    const call = this.callFor(ctx.call);
    const sdp = await call.dc.createOffer();
    return new TextEncoder().encode(sdp);
  }

  private async onOffer(offer: Uint8Array, ctx: SdpContext) {
    const call = this.callFor(ctx.call);
    try {
      const answer = await call.dc.acceptOffer(new TextDecoder().decode(offer));
      return new TextEncoder().encode(answer);
    } catch (e) {
      const code = e instanceof UeError ? e.code : "E_SDP_REMOTE";
      this.log.info({ code, err: e instanceof Error ? e.message : String(e) }, "offer refused");
      // RFC 3261 §21.4.26 488 Not Acceptable Here: the offer's security attributes are unusable
      return rejectOffer(488, `${code}`);
    }
  }

  private async onAnswer(answer: Uint8Array, ctx: SdpContext): Promise<void> {
    const call = this.callFor(ctx.call);
    await call.dc.acceptAnswer(new TextDecoder().decode(answer));
  }

  /** Hangs up every call, unregisters nothing (the registration simply expires), closes the transport. */
  async close(): Promise<void> {
    await Promise.all([...this.calls.values()].map((c) => c.hangup()));
    await this.ua.close();
  }
}
