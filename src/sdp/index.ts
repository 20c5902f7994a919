/**
 * SDP security layer (isomorphic): attribute codecs, line parser/writer, offer/answer validation with stable
 * finding codes, data channel builders, RFC 8842 association decisions, byte-preserving inspection and
 * section-level editing. See docs/sdp.md.
 */
export * from "./association.ts";
export * from "./bfcp.ts";
export * from "./builder.ts";
export * from "./dc3gpp.ts";
export * from "./dcmap.ts";
export * from "./e2ae.ts";
export * from "./findings.ts";
export * from "./fingerprint.ts";
export * from "./ice.ts";
export * from "./inspect.ts";
export * from "./model.ts";
export * from "./msrp.ts";
export * from "./parse.ts";
export * from "./qos.ts";
export * from "./read.ts";
export * from "./sctp.ts";
export * from "./setup.ts";
export { isToken, toPlainDecimal } from "./text.ts";
export * from "./tlsid.ts";
export * from "./validate.ts";
