/** The state of one forwarded request: a "response context" of the proxy core (RFC 3261 §16.2). */
import type { ClientTransaction, ServerTransaction, SipRequest, SipResponse, SipSource, SipTarget } from "./index.ts";
import type { ProxyInterface, ReplyOutcome } from "./proxyTypes.ts";

export class ProxyTransaction<T> {
  data: T | undefined;
  egress: ProxyInterface | undefined;
  target: SipTarget | undefined;
  /** the request as forwarded */
  forwarded: SipRequest | undefined;
  client: ClientTransaction | undefined;
  /** a provisional (101-199) response was received from downstream */
  provisional = false;
  /** status of the final response sent upstream */
  finalSent: number | undefined;
  /** the 2xx relayed upstream (first one) */
  ok: SipResponse | undefined;
  /** the request was cancelled (by upstream CANCEL, Timer C, or the policy) */
  cancelled = false;
  cancelPending = false;
  cancelSent = false;
  /** when set, a non-2xx final from downstream is replaced by this response upstream */
  replaceFinal: ReplyOutcome | undefined;
  /** @internal */
  timerC: NodeJS.Timeout | undefined;
  /** @internal */
  cancelTimer: NodeJS.Timeout | undefined;

  constructor(
    readonly stx: ServerTransaction,
    readonly ingress: ProxyInterface,
  ) {}

  get received(): SipRequest {
    return this.stx.request;
  }

  get source(): SipSource {
    return this.stx.source;
  }
}
