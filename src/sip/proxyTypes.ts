/** Public types of the stateful proxy core (RFC 3261 §16): interfaces, the routing policy and its outcomes, errors. */
import { ImsdcError } from "../errors.ts";
import type { Logger } from "../log.ts";
import type {
  NameAddr,
  ServerTransaction,
  SipHeader,
  SipRequest,
  SipResponse,
  SipSource,
  SipTarget,
  SipTransportLayer,
  TransactionManager,
} from "./index.ts";
import type { ProxyTransaction } from "./proxyTransaction.ts";

/** Stable codes of the proxy core. */
export type ProxyErrorCode = "E_PROXY_CONFIG" | "E_PROXY_STATE";

export class ProxyError extends ImsdcError {
  declare readonly code: ProxyErrorCode;
  constructor(code: ProxyErrorCode, message: string, options?: { cause?: unknown }) {
    super(code, message, options);
  }
}

/** One network interface of the proxy: a started transport layer and its transaction manager. */
export interface ProxyInterface {
  readonly name: string;
  readonly layer: SipTransportLayer;
  readonly txm: TransactionManager;
}

/** A request handed to the policy after §16.3 validation and §16.4 Route pre-processing. */
export interface ProxyRequest {
  /** the working copy that will be forwarded (own Route entries removed); the policy may edit it */
  readonly req: SipRequest;
  /** the request exactly as received (responses generated here are built from it) */
  readonly received: SipRequest;
  readonly iface: ProxyInterface;
  readonly source: SipSource;
  /** our own Route entries removed by §16.4, in the order they appeared (Record-Route entries we placed, Path) */
  readonly popped: readonly NameAddr[];
  /** the server transaction; undefined for an ACK to a 2xx (forwarded statelessly) */
  readonly stx: ServerTransaction | undefined;
  /** the response context of an INVITE (its 2xx later gives the dialog: `sendInDialog`); undefined otherwise */
  readonly ptx?: ProxyTransaction<unknown> | undefined;
}

export interface ReplyOutcome {
  kind: "reply";
  status: number;
  reason?: string | undefined;
  headers?: readonly SipHeader[] | undefined;
}

export interface ForwardOutcome<T> {
  kind: "forward";
  /** interface the request leaves on */
  iface: ProxyInterface;
  /** next hop (§16.6 step 7) */
  target: SipTarget;
  /** Record-Route values to prepend, applied in array order (the last one ends up topmost) */
  recordRoute?: readonly string[] | undefined;
  /** the policy's per-transaction state, available to `onResponse` */
  data?: T | undefined;
}

export type RouteOutcome<T> = ReplyOutcome | ForwardOutcome<T> | { kind: "drop"; why: string };

export interface ProxyPolicy<T> {
  /** §16.5: where the request goes (or the response to send). May be asynchronous. */
  route(r: ProxyRequest): RouteOutcome<T> | Promise<RouteOutcome<T>>;
  /**
   * A response from downstream before it is relayed (never 100; synthetic timeouts excluded). Returning false
   * suppresses the relay of a provisional response; finals are always relayed (or replaced via `tx.replaceFinal`).
   * The policy may edit the response.
   */
  onResponse?(res: SipResponse, tx: ProxyTransaction<T>): boolean | undefined;
  /** A 2xx that arrived after a non-2xx final was sent upstream. Default: ACK and BYE toward its sender. */
  onLate2xx?(res: SipResponse, tx: ProxyTransaction<T>): void;
  /** An ACK for a 2xx was forwarded (statelessly). */
  onAckForwarded?(ack: SipRequest, r: ProxyRequest): void;
}

export interface ProxyCoreOptions<T> {
  interfaces: readonly ProxyInterface[];
  policy: ProxyPolicy<T>;
  /** option tags this proxy understands in Proxy-Require (RFC 3261 §16.3 item 5) */
  proxyRequire?: readonly string[];
  /** further host names or host:port values that designate this proxy in Route / Request-URI (§16.4) */
  aliases?: readonly string[];
  /** Timer C (RFC 3261 §16.6 step 11: greater than 3 minutes); default 181 000 ms */
  timerC?: number;
  logger?: Logger;
}
