/**
 * `imsdc/network`: the embedded IMS network that `imsdc call` and `imsdc demo` run (S-CSCF, a P-CSCF per side, the
 * IMS-AGW, UEs registered through either side), and the demo page's server.
 */
export * from "./events.ts";
export {
  type AddUeOptions,
  DEFAULT_DOMAIN,
  DEMO_CHANNEL,
  EmbeddedNetwork,
  type EmbeddedNetworkOptions,
  type NetworkEvents,
} from "./network.ts";
export { DemoServer, type DemoServerOptions } from "./server.ts";
