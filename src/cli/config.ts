/**
 * JSON configuration files of the per-node commands (`imsdc scscf|pcscf|agw|ue --config FILE`), validated into typed
 * objects. Every problem is collected (unknown keys included) and reported at once as a ConfigError (exit 2).
 * Examples: examples/configs/*.json; reference: docs/demo.md "Running the nodes apart".
 *
 * One file per node under config/ (reader.ts: what they share); each config type is derived from the node's
 * options type, so a node option change cannot drift from its config.
 */
export { validateAgwConfig } from "./config/agw.ts";
export { type InterfaceConfig, validatePcscfConfig } from "./config/pcscf.ts";
export { readJsonFile } from "./config/reader.ts";
export { validateScscfConfig } from "./config/scscf.ts";
export { type UeConfig, validateUeConfig } from "./config/ue.ts";
