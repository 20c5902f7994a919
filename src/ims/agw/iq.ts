/**
 * The Iq reference point between the IMS-ALG (P-CSCF) and the IMS-AGW, as a typed interface.
 *
 * Procedure and information-element (IE) names follow TS 23.334 (stage 2): "Reserve AGW Connection Point",
 * "Reserve and Configure AGW Connection Point", "Configure AGW Connection Point", release of a termination and of a
 * whole context; IEs "Remote certificate fingerprint", "Local certificate fingerprint Request", "Establish (D)TLS
 * session", "Notify (D)TLS session establishment Failure Event". The stage-3 H.248 encodings of TS 29.334 (packages,
 * property IDs, the fingerprint `$` CHOOSE in the Local descriptor) are NOT in this project's sources, so this is a
 * JSON/TypeScript rendering of the stage-2 semantics, not an H.248 codec.
 *
 * TCP establishment control follows TR 29.828 §4.4.2.1.2 (H.248 signalling indications 1–5) and §4.4.2.2
 * (immediate vs delayed establishment).
 *
 * This module gathers the types and validation of the reference point: errors (iqErrors.ts), value types, requests,
 * responses and the `IqAgw` interface (iqTypes.ts), events (iqEvents.ts) and the validators (iqValidate.ts): every
 * request that crosses a process boundary (the WebSocket binding) and every request of the in-process binding goes
 * through the `parse*` functions, which throw `AgwError("E_AGW_INVALID_PARAM")` and never anything else.
 */
export * from "./iqErrors.ts";
export * from "./iqEvents.ts";
export * from "./iqTypes.ts";
export * from "./iqValidate.ts";
