/**
 * Typed header codecs (RFC 3261 §20, §25; RFC 3329 §2.2; RFC 3581; TS 24.229 §7.2A.7) and the header-name table
 * (canonical names, compact forms §7.3.3, which headers are comma lists §7.3.1), one header family per file in
 * headers/. Pure, no I/O.
 */
export * from "./headers/address.ts";
export * from "./headers/names.ts";
export * from "./headers/security.ts";
export * from "./headers/status.ts";
export * from "./headers/values.ts";
export * from "./headers/via.ts";
