/**
 * Requests the proxy core originates inside a dialog it record-routes (RFC 3261 §12.2.1.1 seen from the proxy): the
 * ACK and BYE that end a late 2xx, and policy-initiated releases toward either end.
 */
import type { Logger } from "../log.ts";
import {
  createRequest,
  formatNameAddr,
  type NameAddr,
  type SipHeader,
  type SipResponse,
  type SipTarget,
  type Uri,
  uriTarget,
} from "./index.ts";
import type { ProxyAddresses } from "./proxyAddresses.ts";
import type { ProxyTransaction } from "./proxyTransaction.ts";
import type { ProxyInterface } from "./proxyTypes.ts";

const NOOP_TU = { onResponse: () => undefined };

export interface InDialogEnv {
  readonly addrs: ProxyAddresses;
  readonly log: Logger;
}

/**
 * Builds and sends a request inside the dialog created by `ptx`'s 2xx: "downstream" toward the UAS that answered,
 * "upstream" toward the UAC. The route set is the part of the Record-Route on the far side of our own entries
 * (RFC 3261 §12.1.1 / §12.1.2 seen from the proxy); with no such entries the request goes over the flow the dialog
 * used. ACK/BYE downstream use the INVITE's From/To; upstream they are swapped (RFC 3261 §12.2.1.1). `cseqOverride`:
 * the CSeq to use (one above the highest the receiving UA has seen from the other end), else INVITE+1 / 1.
 */
export function sendInDialog<T>(
  env: InDialogEnv,
  ptx: ProxyTransaction<T>,
  toward: "downstream" | "upstream",
  method: "ACK" | "BYE",
  headers: readonly SipHeader[] = [],
  response?: SipResponse,
  cseqOverride?: number,
): boolean {
  // the received INVITE is gone once its final went upstream: the context kept its Call-ID, CSeq, From and Contact
  const ok = response ?? ptx.ok;
  if (!ok) return false;
  try {
    const rr = ok.recordRoutes();
    let first = -1;
    let last = -1;
    rr.forEach((r, i) => {
      if (env.addrs.isOwnUri(r.uri)) {
        if (first < 0) first = i;
        last = i;
      }
    });
    const contactOf = (m: SipResponse): Uri | undefined => {
      const c = m.contact();
      return c === "*" ? undefined : c[0]?.uri;
    };
    let ruri: Uri | undefined;
    let routes: NameAddr[];
    let iface: ProxyInterface;
    let fallback: SipTarget;
    let from: string;
    let to: string;
    let cseq: number;
    if (toward === "downstream") {
      routes = first < 0 ? [] : rr.slice(0, first).reverse();
      ruri = contactOf(ok);
      iface = ptx.egress ?? ptx.ingress;
      const t = ptx.target ?? { transport: ptx.source.transport, host: ptx.source.host, port: ptx.source.port };
      fallback = { ...t, connectionId: ptx.client?.flow?.connectionId ?? t.connectionId };
      from = ptx.from;
      to = ok.getHeader("To") ?? "";
      cseq = ptx.cseq + (method === "ACK" ? 0 : 1);
    } else {
      if (method === "ACK") return false;
      routes = last < 0 ? [] : rr.slice(last + 1);
      ruri = ptx.contactUri();
      iface = ptx.ingress;
      const s = ptx.source;
      fallback = { transport: s.transport, host: s.host, port: s.port, connectionId: s.connectionId };
      from = ok.getHeader("To") ?? "";
      to = ptx.from;
      cseq = 1;
    }
    if (!ruri) return false;
    const nextHop = routes[0];
    const target = nextHop ? uriTarget(nextHop.uri, fallback.transport) : fallback;
    const req = createRequest({
      method,
      uri: ruri,
      from,
      to,
      callId: ptx.callId,
      // RFC 3261 §12.2.1.1: in sequence with what that UA has seen from its peer (the caller tracks it)
      cseq: cseqOverride ?? cseq,
      maxForwards: 70,
      route: routes.map(formatNameAddr),
      headers,
    });
    if (method === "ACK") {
      iface.txm.addVia(req, target);
      iface.layer.sendRequest(req, target).catch((e: unknown) => env.log.info({ err: e }, "proxy: ACK not sent"));
    } else {
      iface.txm.sendRequest(req, target, NOOP_TU);
    }
    return true;
  } catch (e) {
    env.log.info({ err: e, method, toward }, "proxy: in-dialog request not sent");
    return false;
  }
}
