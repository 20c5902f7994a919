/** The state of one forwarded request: a "response context" of the proxy core (RFC 3261 §16.2). */
import { parseContact } from "./headers.ts";
import type { ClientTransaction, ServerTransaction, SipRequest, SipResponse, SipSource, SipTarget } from "./index.ts";
import { parseResponse } from "./parse.ts";
import type { ProxyInterface, ReplyOutcome } from "./proxyTypes.ts";
import type { Uri } from "./uri.ts";

/**
 * A string that holds no reference to the message it was read from (a header value is a slice of the whole head
 * text, which it would keep alive for as long as the response context lives).
 */
export function ownString(s: string): string {
  return JSON.parse(JSON.stringify(s)) as string;
}

export class ProxyTransaction<T> {
  data: T | undefined;
  egress: ProxyInterface | undefined;
  target: SipTarget | undefined;
  /** the request as forwarded; released once a final response went upstream (see `settle`) */
  forwarded: SipRequest | undefined;
  client: ClientTransaction | undefined;
  /** a provisional (101-199) response was received from downstream */
  provisional = false;
  /** status of the final response sent upstream */
  finalSent: number | undefined;
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
  /** Call-ID and CSeq number of the received request (they outlive it) */
  readonly callId: string;
  readonly cseq: number;
  /** From and Contact rows of the received INVITE: the dialog's caller side, for `sendInDialog` ("" / none else) */
  readonly from: string;
  private readonly contactRows: readonly string[];
  private okMsg: SipResponse | undefined;
  private okBytes: Uint8Array | undefined;
  private okTag: string | undefined;

  constructor(
    readonly stx: ServerTransaction,
    readonly ingress: ProxyInterface,
  ) {
    const r = stx.request;
    this.callId = ownString(r.callId());
    this.cseq = r.cseq().seq;
    // only an INVITE's context can be asked for a request in its dialog (`sendInDialog`)
    const invite = r.method === "INVITE";
    this.from = invite ? ownString(r.getHeader("From") ?? "") : "";
    this.contactRows = invite ? r.getHeaders("Contact").map(ownString) : [];
  }

  /** The request as received: held by the server transaction until its final response (then E_SIP_TRANSACTION). */
  get received(): SipRequest {
    return this.stx.request;
  }

  get source(): SipSource {
    return this.stx.source;
  }

  /**
   * The 2xx relayed upstream (the first one, as the policy left it). Once settled it is kept as bytes, and each read
   * parses them again (a 2xx retransmission, a request in the dialog: rare).
   */
  get ok(): SipResponse | undefined {
    if (this.okMsg !== undefined) return this.okMsg;
    return this.okBytes !== undefined ? parseResponse(this.okBytes) : undefined;
  }

  /** True once a 2xx was recorded. */
  get hasOk(): boolean {
    return this.okMsg !== undefined || this.okBytes !== undefined;
  }

  /** The To tag of `ok`. */
  get okToTag(): string | undefined {
    return this.okMsg !== undefined ? this.okMsg.toTag() : this.okTag;
  }

  /** Records the 2xx (the first one wins). */
  setOk(res: SipResponse): void {
    if (this.okMsg === undefined && this.okBytes === undefined) this.okMsg = res;
  }

  /** The first Contact URI of the received request (RFC 3261 §12.1.2: the caller's remote target). */
  contactUri(): Uri | undefined {
    const rows = this.contactRows;
    if (rows.length === 1 && rows[0]?.trim() === "*") return undefined;
    for (const row of rows) {
      const c = parseContact(row);
      if (c !== "*" && c[0] !== undefined) return c[0].uri;
    }
    return undefined;
  }

  /**
   * A final response went upstream and nothing can cancel the context any more: the forwarded request and the
   * policy's data are dropped, and the 2xx is kept as its bytes (what a retransmission or an in-dialog request
   * needs), so that the transactions the RFC keeps alive for 64*T1 do not keep the messages alive through it.
   */
  settle(): void {
    this.forwarded = undefined;
    this.data = undefined;
    const ok = this.okMsg;
    // only an INVITE's 2xx is retransmitted (RFC 6026 §8.4) or opens a dialog; a non-INVITE's is not needed
    if (ok !== undefined && this.stx.method !== "INVITE") this.okMsg = undefined;
    else if (ok !== undefined) {
      this.okTag = ok.toTag();
      this.okBytes = ok.toBytes();
      this.okMsg = undefined;
    }
  }
}
