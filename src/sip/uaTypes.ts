/**
 * The user agent's public types (RFC 3261 §8, §10, §12–§15; RFC 5626 flow recovery): call states and events, the
 * offer/answer hook (`SipSdpHandler`), registration results, the UA's options and events, and the transport the UA
 * needs. Free of Node-only imports: the browser page uses the UA too.
 */
import type { Logger } from "../log.ts";
import type { RegistrationAuthenticator } from "./auth/types.ts";
import type { SipCall } from "./call.ts";
import type { CallAcks } from "./callAck.ts";
import type { Dialog } from "./dialog.ts";
import { SipError, type SipErrorCode } from "./errors.ts";
import type { NameAddr } from "./headers.ts";
import type { SipHeader, SipResponse } from "./message.ts";
import type { TransactionManager } from "./transaction/manager.ts";
import type { SipTimerConfig, TimerBag } from "./transaction/timers.ts";
import type { InboundListener, TransactionTransport } from "./transport/layer.ts";
import type {
  ConnectionClosedListener,
  ConnectionCloseReason,
  SipSource,
  SipTarget,
  SipTransportProtocol,
} from "./transport/types.ts";

export type CallState =
  | "calling"
  | "trying"
  | "ringing"
  | "early"
  | "incoming"
  | "answering"
  | "established"
  | "terminating"
  | "terminated";

export type TerminationReason =
  | "local-bye"
  | "remote-bye"
  | "local-cancel"
  | "remote-cancel"
  | "rejected"
  | "declined"
  | "timeout"
  | "no-ack"
  | "transport-error"
  | "failed"
  | "closed";

export interface TerminatedInfo {
  reason: TerminationReason;
  /** the final status that ended the call, when one did */
  status?: number | undefined;
  response?: SipResponse | undefined;
  error?: unknown;
}

export interface SdpContext {
  call: SipCall;
  /** the initial INVITE or a re-INVITE */
  kind: "initial" | "reinvite";
}

/** What `onOffer` returns to refuse an offer: the status to answer with (e.g. 488). */
export interface SdpReject {
  reject: number;
  reason?: string | undefined;
}

/** @internal an `onOffer` result that refuses the offer */
export function isReject(x: Uint8Array | SdpReject): x is SdpReject {
  return !(x instanceof Uint8Array);
}

/** @internal runs an SDP hook; its failure becomes E_SIP_SDP */
export async function runHook<T>(fn: () => T | Promise<T>): Promise<T> {
  try {
    return await fn();
  } catch (e) {
    throw new SipError("E_SIP_SDP", `SDP hook failed: ${e instanceof Error ? e.message : String(e)}`, { cause: e });
  }
}

export function rejectOffer(status = 488, reason?: string): SdpReject {
  return { reject: status, reason };
}

/** The application's offer/answer engine (RFC 3264). The UA treats bodies as opaque bytes. */
export interface SipSdpHandler {
  /** an offer for an outgoing INVITE / re-INVITE, or for a 200 answering an INVITE without offer */
  createOffer(ctx: SdpContext): Uint8Array | Promise<Uint8Array>;
  /** the remote offer (INVITE / re-INVITE body) → our answer, or a rejection */
  onOffer(offer: Uint8Array, ctx: SdpContext): Uint8Array | SdpReject | Promise<Uint8Array | SdpReject>;
  /** the remote answer to our offer (from a 2xx, or from the ACK when we offered in a 2xx) */
  onAnswer?(answer: Uint8Array, ctx: SdpContext): void | Promise<void>;
}

export type CallEvents = {
  state: [CallState];
  trying: [SipResponse];
  ringing: [SipResponse];
  progress: [SipResponse];
  established: [];
  remoteOffer: [Uint8Array];
  remoteAnswer: [Uint8Array];
  reinvite: [{ direction: "incoming" | "outgoing"; status: number }];
  terminated: [TerminatedInfo];
};

export interface RegistrationInfo {
  /** granted expiry (seconds) for our binding */
  expires: number;
  /** every binding the registrar returned (RFC 3261 §10.3 step 8) */
  contacts: NameAddr[];
  /** RFC 3608 Service-Route values, used as preloaded route of later initial requests */
  serviceRoute: string[];
  response: SipResponse;
}

export interface RegistrationFailedInfo {
  /** the final status (a local 503 for a transport error, 408 for a timeout); 0 when nothing was sent */
  status: number;
  reason: string;
  response?: SipResponse | undefined;
  /** E_SIP_TRANSPORT (connect/send failed), E_SIP_TIMEOUT, E_SIP_REJECTED (a non-2xx from the network), E_SIP_AUTH
   * (authentication failed: `reason` says why), … */
  code: SipErrorCode;
  /** flow recovery: the next attempt starts in this many ms */
  retryInMs?: number | undefined;
}

/** RFC 5626 §4.5 back-off of the re-registration after a flow failure. */
export interface FlowRecoveryOptions {
  /** base-time (ms); RFC 5626 §4.5 default when all flows failed: 30 000 */
  baseMs?: number;
  /** max-time (ms); RFC 5626 §4.5 default: 1 800 000 */
  maxMs?: number;
}

/** The connection the UA registered over closed (RFC 5626 §4.4). */
export interface FlowFailedInfo {
  code: "E_SIP_FLOW_FAILED";
  transport: SipTransportProtocol;
  connectionId: string;
  /** why the connection closed; "refresh-failed": a registration refresh failed (the flow is presumed dead) */
  reason: ConnectionCloseReason | "refresh-failed";
  /**
   * Calls that used the failed connection. They are not ended: their media does not run over it. Requests we send in
   * them go over a new connection; requests toward us reach us only if the proxy can route them to the new flow.
   */
  calls: SipCall[];
  /** a re-REGISTER is scheduled (flow recovery on) */
  recovering: boolean;
  /** when recovering: the first attempt starts in this many ms */
  retryInMs?: number | undefined;
}

/** An initial request refused because it did not come over the registration flow (`acceptFrom: "registration"`). */
export interface RequestRefusedInfo {
  code: "E_SIP_UNTRUSTED_SOURCE";
  status: 403;
  method: string;
  callId: string;
  /** where it came from */
  source: SipSource;
  /** the flow the UA registered over, if any (undefined: not registered) */
  expected: SipSource | undefined;
}

export type UserAgentEvents = {
  registered: [RegistrationInfo];
  requestRefused: [RequestRefusedInfo];
  registrationFailed: [RegistrationFailedInfo];
  unregistered: [];
  incomingCall: [SipCall];
  flowFailed: [FlowFailedInfo];
};

/**
 * What the UA needs from its transport: SipTransportLayer implements it; so can a browser WebSocket transport (the
 * UA, dialogs, transactions and codec import nothing Node-only).
 */
export interface UaTransport extends TransactionTransport {
  protocols(): SipTransportProtocol[];
  hasConnection(transport: SipTransportProtocol, connectionId: string): boolean;
  onMessage(listener: InboundListener): () => void;
  /** closed TCP/WS connections (the UA's flow-failure signal, RFC 5626 §4.4); without it there is no flow recovery */
  onConnectionClosed?(listener: ConnectionClosedListener): () => void;
  close(): Promise<void>;
}

export interface SipUserAgentOptions {
  /** a started transport layer (e.g. SipTransportLayer); the UA subscribes to it (one UA per layer) */
  transport: UaTransport;
  /** close the transport layer in close(); default false */
  ownsTransport?: boolean;
  /** address-of-record, e.g. "sip:alice@ims.example.com" */
  aor: string;
  displayName?: string;
  /** user part of the Contact; default the AOR's user */
  contactUser?: string;
  /** transport for initial requests and the Contact; default the first the layer has */
  preferredTransport?: SipTransportProtocol;
  /** every request goes to this next hop (e.g. the P-CSCF), whatever its Request-URI or route set */
  outboundProxy?: string;
  /**
   * Where initial requests (and CANCEL) toward this UA may come from (TS 24.229 §5.1.1.2 / §5.1.3, RFC 5626 §5):
   * "registration": only over the flow of the current registration (the P-CSCF's address and port for UDP, the
   * registration's connection for TCP/WS), others get 403 and a `requestRefused` event; "any": from anywhere (labs
   * and tests without a P-CSCF). Default "registration" when `outboundProxy` is set, else "any".
   */
  acceptFrom?: "registration" | "any";
  /** Route header values preloaded on initial requests (RFC 3261 §8.1.2), e.g. ["<sip:pcscf.example.com;lr>"] */
  preloadedRoute?: string[];
  /** Request-URI of REGISTER; default "sip:<AOR domain>" */
  registrar?: string;
  /**
   * Answers the registrar's 401/407 to REGISTER (RFC 3261 §22.2, RFC 7616, RFC 3310): injected, so the UA stays
   * browser-safe (Node: `UeAuthenticator` of src/sip/auth; the page: a WebCrypto Digest authenticator). Only
   * challenges to REGISTER on the registration flow reach it.
   */
  auth?: RegistrationAuthenticator;
  /** requested registration expiry (s); default 600 */
  expires?: number;
  /** re-REGISTER at half the granted expiry; default false */
  autoRefresh?: boolean;
  /**
   * Flow recovery (RFC 5626 §4.5, TS 24.229 §5.1.1.4): when the TCP/WS connection of the registration closes, or a
   * refresh fails, re-REGISTER at once, then with back-off (`flowRecoveryDelay`) until it succeeds. Default on with
   * the RFC's base 30 s / max 1800 s; false turns it off (the failure is still reported by `flowFailed`).
   */
  flowRecovery?: FlowRecoveryOptions | false;
  /** add +sip.app-subtype="webrtc-datachannel" to Contact (RFC 5688, TS 24.186 §9.2); default true */
  dataChannel?: boolean;
  /**
   * media-plane security mechanisms listed in REGISTER's Security-Client with the mediasec parameter
   * (TS 24.229 §7.2A.7). true → ["msrp-tls", "bfcp-tls"]; default none.
   */
  mediasec?: boolean | string[];
  /** use a registration's Service-Route as preloaded route (RFC 3608 §6); default true */
  useServiceRoute?: boolean;
  /** the offer/answer engine */
  sdp: SipSdpHandler;
  /** Content-Type of offers and answers; default application/sdp */
  contentType?: string;
  /** send 180 Ringing on an incoming INVITE; default true */
  autoRinging?: boolean;
  timers?: Partial<SipTimerConfig>;
  /** User-Agent header value; default "imsdc" */
  userAgent?: string;
  logger?: Logger;
}

/** RFC 3261 §8.2.1: methods this UA implements (the Allow header). */
export const UA_ALLOW = ["INVITE", "ACK", "BYE", "CANCEL", "OPTIONS"];
/** Methods a UA recognises but does not implement here: answered 405 (others 501). */
export const RECOGNISED = new Set([
  ...UA_ALLOW,
  "REGISTER",
  "PRACK",
  "SUBSCRIBE",
  "NOTIFY",
  "PUBLISH",
  "INFO",
  "REFER",
  "MESSAGE",
  "UPDATE",
]);

// ---------------------------------------------------------------------------------------------------------------------
// internal context shared by the UA and its calls (not part of the public API)

export interface UaContext {
  readonly txm: TransactionManager;
  readonly log: Logger;
  readonly timers: SipTimerConfig;
  readonly sdp: SipSdpHandler;
  readonly contentType: string;
  readonly preferred: SipTransportProtocol;
  localParty(): string;
  contact(transport: SipTransportProtocol): string;
  commonHeaders(): SipHeader[];
  initialRoute(): string[];
  targetForUri(uri: string): SipTarget;
  targetForDialog(d: Dialog): SipTarget;
  isReliable(t: SipTransportProtocol): boolean;
  sendResponse(res: SipResponse, source: SipSource): Promise<void>;
  bindDialog(call: SipCall, d: Dialog): void;
  unbind(call: SipCall): void;
}

/** @internal what a call's helpers (OutgoingInvite, Reinvites) need from their call */
export interface CallCore {
  readonly call: SipCall;
  readonly ctx: UaContext;
  readonly acks: CallAcks;
  readonly timers: TimerBag;
  emit<K extends keyof CallEvents>(event: K, ...args: CallEvents[K]): void;
  setState(s: CallState): void;
  sendBye(reason: TerminationReason, error?: unknown): void;
}
