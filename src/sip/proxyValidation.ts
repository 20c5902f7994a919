/**
 * What the proxy core does to a request before the policy sees it: validation (RFC 3261 §16.3) with loop detection by
 * the branch hash of our own Via (§16.6 step 8), and Route pre-processing (§16.4).
 */
import { createHash } from "node:crypto";
import {
  formatNameAddr,
  formatUri,
  getParam,
  isSipUri,
  MAGIC_COOKIE,
  type NameAddr,
  type SipRequest,
  viaBranch,
} from "./index.ts";
import type { ProxyAddresses } from "./proxyAddresses.ts";
import type { ReplyOutcome } from "./proxyTypes.ts";

/** RFC 3261 §16.3 item 2 / §19.1: URI schemes this proxy can route. */
const SCHEMES = new Set(["sip", "tel"]);

/**
 * RFC 3261 §16.3: request validation. Returns the error response, or undefined when the request may proceed.
 * `proxyRequire`: the lower-case option tags this proxy understands in Proxy-Require.
 */
export function validateRequest(
  req: SipRequest,
  addrs: ProxyAddresses,
  proxyRequire: ReadonlySet<string>,
): ReplyOutcome | undefined {
  // §16.3 item 2: a Request-URI scheme the proxy does not understand → 416
  let scheme: string;
  try {
    scheme = req.requestUri().scheme;
  } catch {
    return { kind: "reply", status: 400, reason: "Bad Request-URI" };
  }
  if (!SCHEMES.has(scheme)) return { kind: "reply", status: 416 };
  // §16.3 item 3: Max-Forwards 0 → 483 Too Many Hops
  if (req.maxForwards() === 0) return { kind: "reply", status: 483 };
  // §16.3 item 4: a Via of ours whose branch carries this request's loop hash → looped (482), else spiral
  let hash: string | undefined;
  const raw = req.getHeaders("Via").join(",");
  const mayLoop = addrs.mayAppearIn(raw);
  for (const v of mayLoop ? req.vias() : []) {
    if (!addrs.isOwnHostPort(v.host, v.port ?? 5060)) continue;
    const b = viaBranch(v);
    if (b === undefined || !b.startsWith(MAGIC_COOKIE)) continue;
    hash ??= loopHash(req);
    if (b.slice(MAGIC_COOKIE.length).split(".")[0] === hash) return { kind: "reply", status: 482 };
  }
  // §16.3 item 5: Proxy-Require option tags this proxy does not support → 420 with Unsupported
  const unsupported = req.proxyRequire().filter((t) => !proxyRequire.has(t.toLowerCase()));
  if (unsupported.length > 0) {
    return { kind: "reply", status: 420, headers: [{ name: "Unsupported", value: unsupported.join(", ") }] };
  }
  return undefined;
}

/**
 * RFC 3261 §16.4: if the Request-URI is a Record-Route value of ours (a strict router put it there; ours always carry
 * `lr`), it is replaced by the last Route value; then our own topmost Route entries are removed (RFC 5658 §4: both
 * entries of a double Record-Route). Returns the removed entries.
 */
export function preprocessRoutes(req: SipRequest, addrs: ProxyAddresses): NameAddr[] {
  const popped: NameAddr[] = [];
  const ruri = req.requestUri();
  if (isSipUri(ruri) && addrs.isOwnUri(ruri) && getParam(ruri.params, "lr") !== undefined) {
    const routes = req.routes();
    const last = routes[routes.length - 1];
    if (last) {
      popped.push({ uri: ruri, params: [] });
      req.uri = formatUri(last.uri);
      const rest = routes.slice(0, -1).map(formatNameAddr);
      req.removeHeader("Route");
      for (const r of rest) req.addHeader("Route", r);
    }
  }
  for (let i = 0; i < 8; i++) {
    const top = req.routes()[0];
    if (!top || !addrs.isOwnUri(top.uri)) break;
    popped.push(top);
    req.removeFirstValue("Route");
  }
  return popped;
}

export function sha1(s: string): string {
  return createHash("sha1").update(s).digest("hex");
}

/**
 * RFC 3261 §16.6 step 8: the loop-detection part of the branch: a hash of the fields a looping request keeps —
 * Request-URI, To tag, From tag, Call-ID, CSeq number, Route, Proxy-Require and Proxy-Authorization (as received).
 */
export function loopHash(req: SipRequest): string {
  const parts = [
    req.uri,
    req.toTag() ?? "",
    req.fromTag() ?? "",
    req.callId(),
    String(req.cseq().seq),
    req.getHeaders("Route").join(","),
    req.getHeaders("Proxy-Require").join(","),
    req.getHeaders("Proxy-Authorization").join(","),
  ];
  return sha1(parts.join("\n")).slice(0, 16);
}
