/**
 * P-CSCF: the stateful SIP proxy node (node.ts, on src/sip/proxy.ts) and the IMS-ALG core it runs on every SDP offer and
 * answer: the per-m-line e2e / e2ae / e2DCe decision, the e2ae SDP rewrites, the registered mediasec capabilities,
 * the configuration, and the e2ae anchoring on the IMS-AGW over Iq (e2ae.ts). See docs/pcscf.md and docs/pcscf-alg.md.
 */

export {
  type ForwardOutcome,
  loopHash,
  ProxyCore,
  type ProxyCoreOptions,
  ProxyError,
  type ProxyErrorCode,
  type ProxyInterface,
  type ProxyPolicy,
  type ProxyRequest,
  ProxyTransaction,
  type ReplyOutcome,
  type RouteOutcome,
} from "../../sip/proxy.ts";
export * from "./alg.ts";
export * from "./algAudit.ts";
export * from "./algTypes.ts";
export * from "./bytes.ts";
export * from "./capabilities.ts";
export * from "./config.ts";
export * from "./e2ae.ts";
export * from "./e2aeSession.ts";
export * from "./errors.ts";
export * from "./flow.ts";
export * from "./iq.ts";
export { e2aeStepFor, mechanismFor } from "./mediaFacts.ts";
export { Pcscf } from "./node.ts";
export type { AuditRecorder, PcscfInterfaceConfig, PcscfOptions } from "./nodeTypes.ts";
export * from "./registrations.ts";
export * from "./rewrite.ts";
export { formatWarningValue, warnText } from "./warning.ts";
