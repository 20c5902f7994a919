/** `imsdc ue --config FILE`: the UE's config (examples/configs/ue*.json). */
import type { FlowRecoveryOptions } from "../../sip/index.ts";
import type { ChannelSpec, DcEndpointOptions, DcTimeouts, ImsUeOptions } from "../../ue/index.ts";
import { ConfigError } from "../errors.ts";
import { readSipTls, type SipTlsBlock } from "../tlsConfig.ts";
import { type UeAuthFileConfig, validateUeAuth } from "../ueAuthConfig.ts";
import { configKeys, type Json, LOOPBACK_HINT, Reader } from "./reader.ts";

/** A data channel the UE config opens: the id, label and sub-protocol of a DcEndpoint channel. */
export type UeChannelConfig = Pick<ChannelSpec, "id" | "label" | "subprotocol">;

/** The config's `dc` block: DcEndpoint options (`consentMs` is `timeouts.consentMs`). */
export type UeDcConfig = Pick<DcEndpointOptions, "requestE2ae" | "answerSetup"> & {
  channels?: UeChannelConfig[];
  /** RFC 7675 §5.1 consent expiry of the data channel (ms, default 30 000) */
  consentMs?: DcTimeouts["consentMs"];
};

/** `imsdc ue --config`: the UE's options as JSON (transport and outbound proxy required) plus what the command does. */
export type UeConfig = Pick<
  ImsUeOptions,
  | "aor"
  | "displayName"
  | "sipHost"
  | "sipPort"
  | "registrar"
  | "mediasec"
  | "autoAnswer"
  | "ice"
  | "maxCalls"
  | "prewarm"
  | "acceptFrom"
  | "flowRecovery"
  | "timers"
> &
  Required<Pick<ImsUeOptions, "transport" | "outboundProxy">> & {
    /** transport TLS / WSS: the UE's certificate and trust store (tlsConfig.ts) */
    tls?: SipTlsBlock;
    /** registration credentials (ueAuthConfig.ts): Digest password or AKA SIM stand-in */
    auth?: UeAuthFileConfig;
    dc?: UeDcConfig;
    /** echo every data channel message back with this prefix */
    echoPrefix?: string;
    /** call this URI once registered */
    call?: string;
    /** messages to send on the first open channel of that call */
    send?: string[];
    /** hang up this long after the channel opened (default: keep the call) */
    hangupAfterMs?: number;
    /** exit once the call ended (status 0 when the data channel opened verified, else 4/3) */
    exitAfterCall?: boolean;
  };

export function validateUeConfig(v: unknown, file: string): UeConfig {
  const r = new Reader();
  const o = r.object(
    v,
    "",
    configKeys<UeConfig>({
      aor: true,
      displayName: true,
      transport: true,
      tls: true,
      auth: true,
      sipHost: true,
      sipPort: true,
      outboundProxy: true,
      registrar: true,
      mediasec: true,
      autoAnswer: true,
      ice: true,
      maxCalls: true,
      prewarm: true,
      acceptFrom: true,
      flowRecovery: true,
      dc: true,
      echoPrefix: true,
      call: true,
      send: true,
      hangupAfterMs: true,
      exitAfterCall: true,
      timers: true,
    }),
  );
  let out: UeConfig = { aor: "", transport: "UDP", outboundProxy: "" };
  if (o) {
    const aor = r.sipUri(o, "aor", "", true) ?? "";
    const t = r.string(o, "transport", "") ?? "UDP";
    const ts = ["UDP", "TCP", "WS", "TLS", "WSS"] as const;
    const transport = ts.find((x) => x === t) ?? "UDP";
    if (transport !== t) r.problem("transport", "must be UDP, TCP, WS, TLS or WSS");
    const outboundProxy = r.sipUri(o, "outboundProxy", "", true) ?? "";
    out = { aor, transport, outboundProxy };
    const tls = readSipTls(o.tls, "tls", (p, m) => r.problem(p, m), file, { listeners: false });
    if (tls) out.tls = tls;
    if ((transport === "TLS" || transport === "WSS") && o.tls === undefined)
      r.problem("tls", `transport ${transport} needs a tls block (cert, key, ca or pins)`);
    const dn = r.string(o, "displayName", "");
    if (dn !== undefined) out.displayName = dn;
    const sh = r.string(o, "sipHost", "");
    if (sh !== undefined) {
      if (!/^(127\.\d+\.\d+\.\d+|::1)$/.test(sh))
        r.problem("sipHost", `${sh} is not a loopback address (${LOOPBACK_HINT})`);
      else out.sipHost = sh;
    }
    const sp = r.int(o, "sipPort", "", 0, 65535);
    if (sp !== undefined) out.sipPort = sp;
    const reg = r.sipUri(o, "registrar", "");
    if (reg !== undefined) out.registrar = reg;
    if (o.mediasec !== undefined) {
      if (typeof o.mediasec === "boolean") out.mediasec = o.mediasec;
      else {
        const l = r.stringList(o, "mediasec", "");
        if (l) out.mediasec = l;
      }
    }
    const aa = r.bool(o, "autoAnswer", "");
    if (aa !== undefined) out.autoAnswer = aa;
    const ice = r.string(o, "ice", "");
    if (ice !== undefined) {
      if (ice !== "full" && ice !== "lite" && ice !== "none") r.problem("ice", "must be full, lite or none");
      else out.ice = ice;
    }
    // RFC 3261 §21.4.24: beyond maxCalls an incoming INVITE is answered 486 Busy Here
    const mc = r.int(o, "maxCalls", "", 0, 100_000);
    if (mc !== undefined) out.maxCalls = mc;
    const pw = r.bool(o, "prewarm", "");
    if (pw !== undefined) out.prewarm = pw;
    // TS 24.229 §5.1.1.2: initial requests only over the registration flow ("registration", default) or from "any"
    const af = r.string(o, "acceptFrom", "");
    if (af !== undefined) {
      if (af !== "registration" && af !== "any") r.problem("acceptFrom", 'must be "registration" or "any"');
      else out.acceptFrom = af;
    }
    if (o.flowRecovery === false) out.flowRecovery = false;
    else if (o.flowRecovery !== undefined) {
      const fr = r.object(o.flowRecovery, "flowRecovery", ["baseMs", "maxMs"]);
      if (fr) {
        const v: FlowRecoveryOptions = {};
        const b = r.int(fr, "baseMs", "flowRecovery", 10, 3_600_000);
        if (b !== undefined) v.baseMs = b;
        const m = r.int(fr, "maxMs", "flowRecovery", 10, 86_400_000);
        if (m !== undefined) v.maxMs = m;
        out.flowRecovery = v;
      }
    }
    const dc = r.object(o.dc, "dc", ["channels", "requestE2ae", "answerSetup", "consentMs"], false);
    if (dc) {
      const d: UeDcConfig = {};
      if (dc.channels !== undefined) {
        if (!Array.isArray(dc.channels)) r.problem("dc.channels", "must be an array");
        else {
          const chans: UeChannelConfig[] = [];
          dc.channels.forEach((c: Json, i: number) => {
            const p = `dc.channels[${i}]`;
            const co = r.object(c, p, ["id", "label", "subprotocol"]);
            if (!co) return;
            // RFC 8864 §5.1.1: stream id 0-65534
            const id = r.int(co, "id", p, 0, 65534);
            if (co.id === undefined) r.problem(`${p}.id`, "is required");
            const ch: UeChannelConfig = { id: id ?? 0 };
            const l = r.string(co, "label", p);
            if (l !== undefined) ch.label = l;
            const s = r.string(co, "subprotocol", p);
            if (s !== undefined) ch.subprotocol = s;
            chans.push(ch);
          });
          d.channels = chans;
        }
      }
      // RFC 7675 §5.1: consent expiry (the UE accepts 1000 ms and more)
      const cm = r.int(dc, "consentMs", "dc", 1000, 600_000);
      if (cm !== undefined) d.consentMs = cm;
      const e2ae = r.bool(dc, "requestE2ae", "dc");
      if (e2ae !== undefined) d.requestE2ae = e2ae;
      const as = r.string(dc, "answerSetup", "dc");
      if (as !== undefined) {
        // RFC 5763 §5: the answerer is active or passive
        if (as !== "active" && as !== "passive") r.problem("dc.answerSetup", "must be active or passive");
        else d.answerSetup = as;
      }
      out.dc = d;
    }
    const ep = o.echoPrefix;
    if (ep !== undefined) {
      if (typeof ep !== "string") r.problem("echoPrefix", "must be a string");
      else out.echoPrefix = ep;
    }
    const call = r.sipUri(o, "call", "");
    if (call !== undefined) out.call = call;
    const send = r.stringList(o, "send", "");
    if (send) out.send = send;
    const h = r.int(o, "hangupAfterMs", "", 0, 3_600_000);
    if (h !== undefined) out.hangupAfterMs = h;
    const x = r.bool(o, "exitAfterCall", "");
    if (x !== undefined) out.exitAfterCall = x;
    if (out.exitAfterCall && out.call === undefined) r.problem("exitAfterCall", "needs call");
    const timers = r.timers(o, "");
    if (timers) out.timers = timers;
    if (o.auth !== undefined) {
      const a = validateUeAuth(o.auth);
      for (const p of a.problems) r.problem(p.path, p.message);
      if (a.value) out.auth = a.value;
    }
  }
  if (r.problems.length > 0) throw new ConfigError(file, r.problems);
  return out;
}
