/** `imsdc/security`: per-session certificates, RFC 8122 fingerprints and the one peer-certificate check. */
export * from "./certificate.ts";
export * from "./verify.ts";
