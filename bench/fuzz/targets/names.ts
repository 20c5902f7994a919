/** The fuzz target names (no target code: cheap to import, e.g. for a usage text). */
export const TARGET_NAMES = ["sip-codec", "sip-framing", "sdp", "alg", "pcscf-udp", "pcscf-tcp", "ue"] as const;
export type TargetName = (typeof TARGET_NAMES)[number];

export function isTargetName(s: string): s is TargetName {
  return (TARGET_NAMES as readonly string[]).includes(s);
}
