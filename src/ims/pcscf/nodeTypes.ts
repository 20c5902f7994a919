/**
 * The P-CSCF's options (what `new Pcscf(...)` takes: interfaces, S-CSCF, IMS-ALG, Iq binding, limits) and the
 * per-transaction state its parts share (routing.ts, register.ts, offerAnswer.ts, sessionControl.ts).
 */
import type { AuditLog, Logger } from "../../log.ts";
import type { NameAddr, SipTimerConfig, SipTlsConfig, TransportLimits } from "../../sip/index.ts";
import type { ProxyTransaction } from "../../sip/proxy.ts";
import type { AlgDecision, Direction } from "./algTypes.ts";
import type { AlgConfigOverrides } from "./config.ts";
import type { E2aeSession } from "./e2aeSession.ts";
import type { Flow } from "./flow.ts";
import type { IqClient } from "./iq.ts";
import type { RateLimitConfig } from "./limits.ts";
import type { PcscfSession } from "./sessions.ts";

/** One side (interface) of the P-CSCF: where it listens. A number is a port (0 = any free port). */
export interface PcscfInterfaceConfig {
  /** listening address; default 127.0.0.1 */
  host?: string;
  udp?: boolean | number;
  tcp?: boolean | number;
  ws?: boolean | number;
  /** SIP over TLS (RFC 3261 §26.2); needs `tlsConfig` */
  tls?: boolean | number;
  /** SIP over secure WebSocket (RFC 7118 §5); needs `tlsConfig` */
  wss?: boolean | number;
  /** the interface's TLS credential and trust store (TLS and WSS listeners, and its TLS clients) */
  tlsConfig?: SipTlsConfig;
  /**
   * access side only: requests that arrive over UDP, TCP or plain WS are refused with 403 (requireTls.ts); needs
   * `tls` or `wss` on that interface
   */
  requireTls?: boolean;
  /** host written in Via, Record-Route and Path; default the listening address */
  viaHost?: string;
}

/** Anything that records audit events (an AuditLog, or a counting sink in the bench). */
export type AuditRecorder = Pick<AuditLog, "record">;

export interface PcscfOptions {
  /** instance name, e.g. "pcscf-a": in every audit event (`instance`) and log line */
  name: string;
  /** access side (Gm): the UEs connect here */
  access: PcscfInterfaceConfig;
  /** core side (Mw) toward the S-CSCF; absent: the access interface serves both sides */
  core?: PcscfInterfaceConfig;
  /** S-CSCF URI, pushed as Route on REGISTER and on UE requests without a route, e.g. "sip:127.0.0.1:6060;transport=tcp;lr" */
  scscf?: string;
  /** static next hop (URI) for every request toward the core, no Route added (like Kamailio's $du; the bench) */
  coreNextHop?: string;
  /** initial requests from a UE that is not registered here are refused with 403 (default true) */
  requireRegistration?: boolean;
  /** echo the accepted mediasec mechanisms in Security-Server on the 200 to REGISTER (default true) */
  securityServer?: boolean;
  /**
   * IMS-ALG configuration (docs/pcscf-alg.md); `e2aeAvailable` defaults to true when `iq` is given, else false
   * (e2ae streams are refused with 488 E_ALG_E2AE_UNAVAILABLE); `e2aeAvailable: false` with `iq` turns e2ae off.
   */
  alg?: AlgConfigOverrides;
  /** Iq binding to an IMS-AGW (in-process ImsAgw or IqWsClient): e2ae MSRP/BFCP streams are anchored on it */
  iq?: IqClient;
  audit?: AuditRecorder;
  /** further host names (or host:port) that designate this P-CSCF in Route / Request-URI */
  aliases?: string[];
  timers?: Partial<SipTimerConfig>;
  /** Timer C (RFC 3261 §16.6 step 11); default 181 s */
  timerC?: number;
  limits?: Partial<TransportLimits>;
  /** HMAC key of the flow tokens (default: random per instance) */
  flowSecret?: Uint8Array;
  /**
   * bound on registrations / capability entries; default 100 000. A REGISTER for a new AOR beyond it is answered
   * 503 + Retry-After (E_PCSCF_REG_LIMIT); nothing registered is evicted.
   */
  maxRegistrations?: number;
  /** concurrent INVITE sessions (early and confirmed); a new INVITE beyond it gets 503 + Retry-After; default 10 000 */
  maxSessions?: number;
  /**
   * per-source request rate on the access side (docs/pcscf.md "Limits"); `false` turns it off. Default 200/s, burst
   * 400, per flow (transport + address + port).
   */
  rateLimit?: Partial<RateLimitConfig> | false;
  /** Retry-After (seconds) of a 503 for session / registration capacity or an AGW at its limit; default 5 */
  retryAfter?: number;
  /**
   * a session still up after this long is released by the P-CSCF (BYE both ways, TS 24.229 §5.2.8) — it bounds the
   * table when both ends vanished without BYE; default 12 h (Kamailio dialog's default_timeout); 0 = never
   */
  sessionMaxAgeMs?: number;
  logger?: Logger;
}

/** A side of the P-CSCF: access (Gm, toward the UEs) or core (Mw, toward the S-CSCF). */
export type Side = "access" | "core";

/** What the 200 OK to a REGISTER needs from its request (register.ts). */
export interface RegisterData {
  aor: string;
  contacts: NameAddr[] | "*";
  caps: Set<string>;
  flow: Flow;
}

/** Per-transaction state of the P-CSCF policy. */
export interface TxData {
  fromAccess: boolean;
  callId: string;
  /** capabilities of the served UE's contact */
  caps: ReadonlySet<string>;
  /** the offer carried by the request (its response carries the answer) */
  offer?: { decision: AlgDecision; direction: Direction };
  /** the IMS-AGW resources anchored for that offer (TR 29.828 §5.2.1) */
  anchor?: E2aeSession;
  register?: RegisterData;
  /** the session an initial INVITE opened */
  session?: PcscfSession<ProxyTransaction<TxData>>;
}
