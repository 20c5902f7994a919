/** The UE library face for test UE apps: data channel endpoint, transport, channels, the SIP-driven UE node. */
export { DcChannel, type DcChannelEvents, type DcChannelInfo, type DcChannelState } from "./channel.ts";
export {
  type AssociationEvent,
  type ChannelSpec,
  DcEndpoint,
  type DcEndpointEvents,
  type DcEndpointOptions,
  type EndpointState,
  identityFromCertificate,
} from "./dcEndpoint.ts";
export {
  consentIntervalMs,
  type DcTimeouts,
  DcTransport,
  type DcTransportEvents,
  DEFAULT_TIMEOUTS,
  type DtlsIdentity,
  type DtlsRole,
  type IceState,
  MIN_CONSENT_MS,
  type SecurityVerdict,
} from "./dcTransport.ts";
export * from "./e2ae/index.ts";
export {
  assertEngineHardened,
  type EngineHardening,
  inspectEngine,
  REQUIRED_HARDENING,
} from "./engine.ts";
export { UeError, type UeErrorCode } from "./errors.ts";
export { ICE_MODES, type IceMode, type IcePlan, isIceMode, planIce } from "./iceMode.ts";
export { type PrewarmOptions, prewarmDcEngine } from "./prewarm.ts";
export type { UdpPathCounters } from "./transportParams.ts";
export { DEFAULT_MAX_CALLS, ImsUe, type ImsUeEvents, type ImsUeOptions, UeCall, type UeMediaKind } from "./ue.ts";
export { createUeAuthenticator, type UeAkaCredentials, type UeAuthConfig, type UeDigestCredentials } from "./ueAuth.ts";
