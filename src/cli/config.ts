/**
 * JSON configuration files of the per-node commands (`imsdc scscf|pcscf|agw|ue --config FILE`), validated into typed
 * objects. Every problem is collected (unknown keys included) and reported at once as a ConfigError (exit 2).
 * Examples: examples/configs/*.json; reference: docs/demo.md "Running the nodes apart".
 *
 * One file per node under config/ (reader.ts: what they share); each config type is derived from the node's
 * options type, so a node option change cannot drift from its config.
 */
export { type AgwConfig, validateAgwConfig } from "./config/agw.ts";
export { type InterfaceConfig, type PcscfConfig, validatePcscfConfig } from "./config/pcscf.ts";
export { type ConnectionLimitsConfig, readJsonFile } from "./config/reader.ts";
export { type ScscfConfig, validateScscfConfig } from "./config/scscf.ts";
export { type UeChannelConfig, type UeConfig, validateUeConfig } from "./config/ue.ts";
