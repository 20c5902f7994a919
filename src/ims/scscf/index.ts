/**
 * S-CSCF: registrar + location service and the routing proxy that serves both the originating and the terminating
 * side. See docs/pcscf.md "S-CSCF".
 */

export { ProxyCore, ProxyError, type ProxyInterface, type ProxyPolicy, type ProxyRequest } from "../../sip/proxy.ts";
export * from "./errors.ts";
export { type OriginatingInfo, Scscf, type ScscfAuthOptions, type ScscfEvents, type ScscfOptions } from "./node.ts";
export * from "./registrar.ts";
export * from "./registrarAuth.ts";
export * from "./subscriberFile.ts";
export * from "./subscriberGen.ts";
export * from "./subscribers.ts";
export { type PeerIdentity, type TrustedPeer, TrustedPeers, type TrustMatch } from "./trust.ts";
