/**
 * SIP registration authentication primitives (docs/auth.md): the Digest header codec and response computation
 * (RFC 3261 §22.4, RFC 7616, RFC 8760), stateless nonces with replay protection, MILENAGE (TS 35.206), IMS AKA
 * (RFC 3310, TS 33.102 §6.3) and the UE-side answer to a challenge. Node-only (node:crypto).
 */
export * from "./aka.ts";
export * from "./client.ts";
export * from "./digest.ts";
export * from "./digestHeader.ts";
export * from "./errors.ts";
export * from "./milenage.ts";
export * from "./nonce.ts";
export * from "./session.ts";
export type * from "./types.ts";
