/**
 * Dialogs (RFC 3261 §12): created by a UAC from a 2xx or a 1xx with a To tag (§12.1.2), by a UAS from the response it
 * sends (§12.1.1); route set from Record-Route (reversed on the UAC side), remote target from Contact, local and
 * remote CSeq, in-dialog request construction with loose and strict routing (§12.2.1.1), target refresh
 * (§12.2.1.2, §12.2.2), and the ACK for a 2xx (§13.2.2.4).
 */
import { SipError } from "./errors.ts";
import { getParam } from "./grammar.ts";
import { formatNameAddr, type NameAddr } from "./headers.ts";
import { createRequest, type SipHeader, type SipRequest, type SipResponse } from "./message.ts";
import type { SipSource } from "./transport/types.ts";
import { formatUri, isSipUri, parseUri, type Uri, withoutUriParams } from "./uri.ts";

export type DialogState = "early" | "confirmed" | "terminated";

export interface InDialogRequestOptions {
  /** Contact for target-refresh requests (INVITE, UPDATE; RFC 3261 §12.2.1.1) */
  contact?: string | undefined;
  headers?: readonly SipHeader[] | undefined;
  body?: Uint8Array | undefined;
  contentType?: string | undefined;
}

function contactTarget(msg: SipRequest | SipResponse): string | undefined {
  const c = msg.contact();
  if (c === "*" || c.length === 0) return undefined;
  return formatUri((c[0] as NameAddr).uri);
}

/** Splits Record-Route rows into single name-addr values (rows may carry several, RFC 3261 §7.3.1). */
function recordRouteValues(msg: SipRequest | SipResponse): string[] {
  return msg.recordRoutes().map(formatNameAddr);
}

export class Dialog {
  state: DialogState;
  /** RFC 3261 §12.1: local sequence number; the next request uses localSeq + 1 */
  localSeq: number;
  /** RFC 3261 §12.1: remote sequence number; undefined until the peer sends a request */
  remoteSeq: number | undefined;
  /** RFC 3261 §12.1: remote target (Contact URI of the peer) */
  remoteTarget: string;
  /** RFC 3261 §12.1: route set, each a name-addr, in the order the Route header will carry them */
  routeSet: string[];
  /** the flow (transport connection) the dialog was created over, for connection reuse */
  flow: SipSource | undefined;

  private constructor(
    readonly role: "uac" | "uas",
    readonly callId: string,
    readonly localTag: string,
    public remoteTag: string,
    /** From (UAC) / To (UAS) value with our tag: our side of the dialog */
    readonly localParty: string,
    /** the peer's side with its tag */
    public remoteParty: string,
    init: {
      localSeq: number;
      remoteSeq: number | undefined;
      remoteTarget: string;
      routeSet: string[];
      state: DialogState;
    },
    readonly secure: boolean,
  ) {
    this.localSeq = init.localSeq;
    this.remoteSeq = init.remoteSeq;
    this.remoteTarget = init.remoteTarget;
    this.routeSet = init.routeSet;
    this.state = init.state;
  }

  /** `Call-ID;local-tag;remote-tag` (RFC 3261 §12: the dialog ID). */
  get id(): string {
    return dialogId(this.callId, this.localTag, this.remoteTag);
  }

  /**
   * RFC 3261 §12.1.2: the UAC dialog from a 2xx or a 1xx with a To tag: route set = Record-Route reversed, remote
   * target = Contact, local sequence = the request's CSeq, remote sequence empty, ID from Call-ID, From tag, To tag.
   */
  static uac(request: SipRequest, response: SipResponse, flow?: SipSource): Dialog {
    const remoteTag = response.toTag();
    const localTag = request.fromTag();
    if (remoteTag === undefined || localTag === undefined) {
      throw new SipError("E_SIP_DIALOG", "a dialog needs From and To tags");
    }
    const target = contactTarget(response);
    if (target === undefined) throw new SipError("E_SIP_DIALOG", "dialog-creating response without Contact");
    const d = new Dialog(
      "uac",
      request.callId(),
      localTag,
      remoteTag,
      request.getHeader("From") ?? "",
      response.getHeader("To") ?? "",
      {
        localSeq: request.cseq().seq,
        remoteSeq: undefined,
        remoteTarget: target,
        routeSet: recordRouteValues(response).reverse(),
        state: response.status < 200 ? "early" : "confirmed",
      },
      // RFC 3261 §12.1.2: secure when the request was sent over TLS with a SIPS Request-URI
      request.uri.toLowerCase().startsWith("sips:"),
    );
    d.flow = flow;
    return d;
  }

  /**
   * RFC 3261 §12.1.1: the UAS dialog from the request and the response it sends (which carries our To tag): route
   * set = Record-Route in order, remote target = the request's Contact, remote sequence = the request's CSeq.
   */
  static uas(request: SipRequest, response: SipResponse, flow?: SipSource): Dialog {
    const localTag = response.toTag();
    const remoteTag = request.fromTag();
    if (localTag === undefined || remoteTag === undefined) {
      throw new SipError("E_SIP_DIALOG", "a dialog needs From and To tags");
    }
    const target = contactTarget(request);
    if (target === undefined) throw new SipError("E_SIP_DIALOG", "dialog-creating request without Contact");
    const d = new Dialog(
      "uas",
      request.callId(),
      localTag,
      remoteTag,
      response.getHeader("To") ?? "",
      request.getHeader("From") ?? "",
      {
        localSeq: 0,
        remoteSeq: request.cseq().seq,
        remoteTarget: target,
        routeSet: recordRouteValues(request),
        state: response.status < 200 ? "early" : "confirmed",
      },
      request.uri.toLowerCase().startsWith("sips:"),
    );
    d.flow = flow;
    return d;
  }

  /**
   * RFC 3261 §13.2.2.4 / §12.2.1.2: a 2xx for an early UAC dialog confirms it and recomputes the route set; a 2xx to
   * a target-refresh request updates the remote target.
   */
  confirm(response: SipResponse): void {
    if (this.role === "uac" && this.state === "early") this.routeSet = recordRouteValues(response).reverse();
    this.state = "confirmed";
    this.refreshTarget(response);
  }

  /** RFC 3261 §12.2.1.2: a 2xx to a target refresh request replaces the remote target with its Contact. */
  refreshTarget(msg: SipRequest | SipResponse): void {
    const t = contactTarget(msg);
    if (t !== undefined) this.remoteTarget = t;
  }

  /**
   * RFC 3261 §12.2.2: a request with a lower CSeq than the remote sequence is out of order (→ 500); otherwise the
   * remote sequence is updated, and a target-refresh request (INVITE, UPDATE) updates the remote target.
   */
  receiveRequest(req: SipRequest): boolean {
    const seq = req.cseq().seq;
    if (req.method !== "ACK" && req.method !== "CANCEL") {
      if (this.remoteSeq !== undefined && seq < this.remoteSeq) return false;
      this.remoteSeq = seq;
    }
    if (req.method === "INVITE" || req.method === "UPDATE") this.refreshTarget(req);
    return true;
  }

  /** Parsed first route (loose when it carries lr, RFC 3261 §16.12 / §19.1.1). */
  private firstRoute(): { uri: Uri; loose: boolean } | undefined {
    const first = this.routeSet[0];
    if (first === undefined) return undefined;
    const lt = first.indexOf("<");
    const gt = first.indexOf(">", lt);
    const uri = parseUri(lt >= 0 && gt > lt ? first.slice(lt + 1, gt) : first);
    return { uri, loose: isSipUri(uri) && getParam(uri.params, "lr") !== undefined };
  }

  /** The URI whose address the request goes to: the first route, or the remote target (RFC 3261 §12.2.1.1, §8.1.2). */
  nextHop(): Uri {
    const r = this.firstRoute();
    return r ? r.uri : parseUri(this.remoteTarget);
  }

  /**
   * RFC 3261 §12.2.1.1: a request within the dialog. To/From from the dialog with tags, Call-ID, CSeq = local
   * sequence + 1 (ACK and CANCEL excepted). Loose routing: Request-URI = remote target, Route = route set. Strict
   * routing (first route without lr): Request-URI = first route URI (headers and disallowed parameters stripped),
   * Route = the rest of the route set plus the remote target.
   */
  createRequest(method: string, opts: InDialogRequestOptions = {}): SipRequest {
    if (this.state === "terminated") throw new SipError("E_SIP_DIALOG", "dialog terminated");
    const seq = method === "ACK" || method === "CANCEL" ? this.localSeq : ++this.localSeq;
    let uri = this.remoteTarget;
    let route = [...this.routeSet];
    const first = this.firstRoute();
    if (first && !first.loose) {
      // RFC 3261 §12.2.1.1 strict routing (RFC 2543 next hop)
      uri = formatUri(
        isSipUri(first.uri)
          ? withoutUriParams(first.uri, ["method", "maddr", "ttl", "transport", "lr"], true)
          : first.uri,
      );
      route = [...route.slice(1), `<${this.remoteTarget}>`];
    }
    return createRequest({
      method,
      uri,
      from: this.localParty,
      to: this.remoteParty,
      callId: this.callId,
      cseq: seq,
      route,
      contact: opts.contact,
      headers: opts.headers,
      body: opts.body,
      contentType: opts.contentType,
    });
  }

  /**
   * RFC 3261 §13.2.2.4: the ACK for a 2xx: built like an in-dialog request, with the CSeq number of the INVITE it
   * acknowledges, the same credentials, and (when the offer was in the 2xx) the answer as its body.
   */
  createAck(invite: SipRequest, opts: Omit<InDialogRequestOptions, "contact"> = {}): SipRequest {
    const ack = this.createRequest("ACK", opts);
    ack.setHeader("CSeq", `${invite.cseq().seq} ACK`);
    for (const name of ["Authorization", "Proxy-Authorization"]) {
      for (const v of invite.getHeaders(name)) ack.addHeader(name, v);
    }
    return ack;
  }

  terminate(): void {
    this.state = "terminated";
  }
}

export function dialogId(callId: string, localTag: string, remoteTag: string): string {
  return `${callId};${localTag};${remoteTag}`;
}

/** The dialog ID a request belongs to from the receiver's view (RFC 3261 §12.2.2): local = To tag, remote = From tag. */
export function dialogIdOfRequest(req: SipRequest): string | undefined {
  const to = req.toTag();
  const from = req.fromTag();
  return to !== undefined && from !== undefined ? dialogId(req.callId(), to, from) : undefined;
}
