/**
 * P-CSCF (IMS-ALG) pure core: the per-m-line e2e / e2ae / e2DCe decision, the e2ae SDP rewrites, the registered
 * mediasec capabilities and the configuration. The SIP proxy around it lives elsewhere. See docs/pcscf-alg.md.
 */
export * from "./alg.ts";
export * from "./bytes.ts";
export * from "./capabilities.ts";
export * from "./config.ts";
export * from "./errors.ts";
export * from "./rewrite.ts";
