/**
 * A small SIP UE for the e2ae end-to-end tests: a `SipUserAgent` whose offer/answer engine composes one SDP body from
 * `E2aeEndpoint`s (MSRP and/or BFCP over TLS with TLS verification, src/ue/e2ae), the way docs/e2ae-ue.md
 * "Composing one body with several streams" describes. It registers with `Security-Client: msrp-tls;mediasec,
 * bfcp-tls;mediasec` (TS 24.229 §7.2A.7) through its P-CSCF.
 */
import type { Pcscf } from "../../src/ims/pcscf/index.ts";
import type { AuditLog } from "../../src/log.ts";
import {
  rejectOffer,
  type SdpContext,
  type SdpReject,
  type SipCall,
  SipTransportLayer,
  SipUserAgent,
} from "../../src/sip/index.ts";
import { E2aeEndpoint, type E2aeEndpointOptions } from "../../src/ue/e2ae/endpoint.ts";
import type { E2aeKind } from "../../src/ue/e2ae/sdp.ts";
import { DOMAIN, TIMERS } from "./e2e-helpers.ts";

export interface E2aeUaOptions {
  user: string;
  pcscf: Pcscf;
  audit: AuditLog;
  /** the streams of an outgoing offer, in m-line order */
  kinds?: E2aeKind[];
  mediasec?: string[];
  /** answer incoming calls (default true) */
  autoAnswer?: boolean;
  endpoint?: Partial<E2aeEndpointOptions>;
  /** edits our offer before it leaves (e.g. a fingerprint that is not our certificate's) */
  mutateOffer?: (sdp: string) => string;
}

/** The media of one call: one endpoint per e2ae m-line. */
export interface E2aeCallMedia {
  endpoints: E2aeEndpoint[];
  msrp: E2aeEndpoint | undefined;
  bfcp: E2aeEndpoint | undefined;
  /** the body we sent (offer or answer) and the one we got */
  local?: string;
  remote?: string;
}

const SESSION = (user: string) => [
  "v=0",
  `o=${user} ${Date.now()} 1 IN IP4 127.0.0.1`,
  "s=-",
  "c=IN IP4 127.0.0.1",
  "t=0 0",
];

function text(b: Uint8Array): string {
  return Buffer.from(b).toString("latin1");
}

function bytes(s: string): Uint8Array {
  return new Uint8Array(Buffer.from(s, "latin1"));
}

/** m-lines of a body: index, media, proto, fmt. */
function mlines(sdp: string): { index: number; media: string; proto: string; fmt: string }[] {
  return sdp
    .split(/\r?\n/)
    .filter((l) => l.startsWith("m="))
    .map((l, index) => {
      const [media = "", , proto = "", ...fmt] = l.slice(2).split(" ");
      return { index, media, proto, fmt: fmt.join(" ") };
    });
}

export class E2aeUa {
  readonly layer: SipTransportLayer;
  readonly ua: SipUserAgent;
  readonly aor: string;
  readonly media = new Map<SipCall, E2aeCallMedia>();
  readonly incoming: SipCall[] = [];
  private readonly opts: E2aeUaOptions;

  constructor(opts: E2aeUaOptions) {
    this.opts = opts;
    this.aor = `sip:${opts.user}@${DOMAIN}`;
    this.layer = new SipTransportLayer({ host: "127.0.0.1", tcp: { port: 0 } });
    this.ua = new SipUserAgent({
      transport: this.layer,
      ownsTransport: true,
      aor: this.aor,
      outboundProxy: opts.pcscf.uri("access", "TCP"),
      preferredTransport: "TCP",
      dataChannel: false,
      // TS 24.229 §7.2A.7: the media-plane mechanisms the UE supports
      mediasec: opts.mediasec ?? ["msrp-tls", "bfcp-tls"],
      timers: TIMERS,
      sdp: {
        createOffer: (ctx) => this.createOffer(ctx),
        onOffer: (offer, ctx) => this.onOffer(offer, ctx),
        onAnswer: (answer, ctx) => this.onAnswer(answer, ctx),
      },
    });
    this.ua.on("incomingCall", (call) => {
      this.incoming.push(call);
      if (opts.autoAnswer !== false) void call.answer().catch(() => undefined);
    });
  }

  async start(): Promise<this> {
    await this.layer.start();
    await this.ua.register();
    return this;
  }

  private endpoint(kind: E2aeKind): E2aeEndpoint {
    const e = new E2aeEndpoint({
      kind,
      name: this.opts.user,
      audit: this.opts.audit,
      timeouts: { establishMs: 10_000, fingerprintWaitMs: 10_000 },
      // the IMS-ALG rewrites a=path host/port/scheme and keeps the session-id (docs/pcscf-alg.md "MSRP a=path")
      msrp: { pathMatch: "session-id", acceptTypes: ["*"], chunkSize: 1024 },
      ...this.opts.endpoint,
    });
    e.on("failure", () => {});
    return e;
  }

  private mediaOf(call: SipCall): E2aeCallMedia {
    let m = this.media.get(call);
    if (!m) {
      m = { endpoints: [], msrp: undefined, bfcp: undefined };
      this.media.set(call, m);
      call.once("terminated", () => void this.closeMedia(m as E2aeCallMedia));
    }
    return m;
  }

  private add(m: E2aeCallMedia, e: E2aeEndpoint): void {
    m.endpoints.push(e);
    if (e.kind === "msrp") m.msrp ??= e;
    else m.bfcp ??= e;
  }

  private async createOffer(ctx: SdpContext): Promise<Uint8Array> {
    const m = this.mediaOf(ctx.call);
    const lines: string[] = [];
    for (const [i, kind] of (this.opts.kinds ?? ["msrp"]).entries()) {
      const e = this.endpoint(kind);
      this.add(m, e);
      await e.createOffer({ mline: i }); // TR 29.828 step 1: TCP/TLS/…, a=3ge2ae:requested, our fingerprint
      lines.push(...e.localMediaLines);
    }
    let sdp = `${[...SESSION(this.opts.user), ...lines].join("\r\n")}\r\n`;
    if (this.opts.mutateOffer) sdp = this.opts.mutateOffer(sdp);
    m.local = sdp;
    return bytes(sdp);
  }

  private async onOffer(offer: Uint8Array, ctx: SdpContext): Promise<Uint8Array | SdpReject> {
    const m = this.mediaOf(ctx.call);
    const sdp = text(offer);
    m.remote = sdp;
    const lines: string[] = [];
    for (const ml of mlines(sdp)) {
      const kind: E2aeKind | undefined =
        ml.proto === "TCP/TLS/MSRP" ? "msrp" : ml.proto === "TCP/TLS/BFCP" ? "bfcp" : undefined;
      if (!kind) {
        lines.push(`m=${ml.media} 0 ${ml.proto} ${ml.fmt}`); // RFC 3264 §6: a stream we do not take
        continue;
      }
      const e = this.endpoint(kind);
      this.add(m, e);
      try {
        await e.acceptOffer(sdp, { mline: ml.index });
      } catch {
        return rejectOffer(488);
      }
      lines.push(...e.localMediaLines);
    }
    const answer = `${[...SESSION(this.opts.user), ...lines].join("\r\n")}\r\n`;
    m.local = answer;
    return bytes(answer);
  }

  private async onAnswer(answer: Uint8Array, ctx: SdpContext): Promise<void> {
    const m = this.mediaOf(ctx.call);
    const sdp = text(answer);
    m.remote = sdp;
    for (const e of m.endpoints) await e.acceptAnswer(sdp, m.local !== undefined ? { offer: m.local } : {});
  }

  /** Calls `user` and resolves with the established call and its media. */
  async call(user: string): Promise<{ sip: SipCall; media: E2aeCallMedia }> {
    const sip = this.ua.call(`sip:${user}@${DOMAIN}`);
    const media = this.mediaOf(sip);
    await sip.established();
    return { sip, media };
  }

  private async closeMedia(m: E2aeCallMedia): Promise<void> {
    await Promise.all(m.endpoints.map((e) => e.close()));
  }

  async close(opts: { hangup?: boolean } = {}): Promise<void> {
    if (opts.hangup !== false)
      for (const c of this.ua.activeCalls()) if (!c.ended()) await c.hangup().catch(() => undefined);
    await Promise.all([...this.media.values()].map((m) => this.closeMedia(m)));
    await this.ua.close();
  }
}
