/**
 * What the proxy core forwards statelessly (RFC 3261 §16.11): an ACK for a 2xx (its own end-to-end transaction,
 * §13.2.2.4), with a branch computed deterministically from the received one, and responses that match no client
 * transaction (§16.7 item 1), sent back by the Via the core put in.
 */
import type { Logger } from "../log.ts";
import { MAGIC_COOKIE, type SipRequest, type SipResponse, type SipSource, viaBranch } from "./index.ts";
import type { ProxyAddresses } from "./proxyAddresses.ts";
import type { ProxyInterface, ProxyPolicy, ProxyRequest, RouteOutcome } from "./proxyTypes.ts";
import { preprocessRoutes, sha1 } from "./proxyValidation.ts";

export interface StatelessForwarderOptions<T> {
  readonly interfaces: readonly ProxyInterface[];
  readonly policy: ProxyPolicy<T>;
  readonly addrs: ProxyAddresses;
  readonly log: Logger;
  /** true once the core is closed: nothing is forwarded any more */
  closed(): boolean;
}

export class StatelessForwarder<T> {
  private readonly interfaces: readonly ProxyInterface[];
  private readonly policy: ProxyPolicy<T>;
  private readonly log: Logger;

  constructor(private readonly opts: StatelessForwarderOptions<T>) {
    this.interfaces = opts.interfaces;
    this.policy = opts.policy;
    this.log = opts.log;
  }

  /** RFC 3261 §16.7 item 1: a response that matches no client transaction is forwarded statelessly (§16.11). */
  onStrayResponse(res: SipResponse, source: SipSource): void {
    try {
      const top = res.topVia();
      const b = viaBranch(top);
      const idx = b?.startsWith(MAGIC_COOKIE) ? Number(b.split(".")[1]) : Number.NaN;
      const iface = this.interfaces[idx];
      if (!iface || res.status === 100) return;
      res.removeFirstValue("Via");
      if (res.getHeader("Via") === undefined) return;
      iface.layer
        .sendResponse(res, undefined)
        .catch((e: unknown) => this.log.info({ err: e, source }, "proxy: stray response not forwarded"));
    } catch (e) {
      this.log.debug({ err: e }, "proxy: stray response dropped");
    }
  }

  onAck(iface: ProxyInterface, ack: SipRequest, source: SipSource): void {
    try {
      // §16.3 item 3: an ACK cannot be answered; with Max-Forwards 0 it is dropped
      if (ack.maxForwards() === 0) return;
      const req = ack.clone();
      const popped = preprocessRoutes(req, this.opts.addrs);
      const pr: ProxyRequest = { req, received: ack, iface, source, popped, stx: undefined };
      const o = this.policy.route(pr);
      if (o instanceof Promise) {
        o.then(
          (x) => this.forwardAck(pr, x),
          (e: unknown) => this.log.info({ err: e }, "proxy: ACK routing failed"),
        );
      } else this.forwardAck(pr, o);
    } catch (e) {
      this.log.info({ err: e }, "proxy: ACK dropped");
    }
  }

  private forwardAck(pr: ProxyRequest, o: RouteOutcome<T>): void {
    if (o.kind !== "forward" || this.opts.closed()) return;
    const req = pr.req;
    const mf = req.maxForwards();
    // §16.6 step 3
    req.setHeader("Max-Forwards", String(mf === undefined ? 70 : mf - 1));
    const v = o.iface.layer.localVia(o.target.transport);
    // §16.11: a stateless forward computes the branch deterministically from the received top Via branch
    const received = viaBranch(pr.received.topVia()) ?? `${pr.received.callId()}|${pr.received.cseq().seq}`;
    const branch = `${MAGIC_COOKIE}${sha1(`ack|${received}`).slice(0, 16)}.${this.interfaces.indexOf(pr.iface)}.a`;
    req.prependHeader(
      "Via",
      `SIP/2.0/${v.transport} ${v.host}${v.port !== undefined ? `:${v.port}` : ""};branch=${branch};rport`,
    );
    o.iface.layer.sendRequest(req, o.target).then(
      () => this.policy.onAckForwarded?.(req, pr),
      (e: unknown) => this.log.info({ err: e, target: o.target }, "proxy: ACK not forwarded"),
    );
  }
}
