/** The fuzz targets by name (bench/fuzz.ts, its child processes, test/fuzz). */
import type { FuzzTarget } from "../oracle.ts";
import type { TargetName } from "./names.ts";
import { pcscfTarget } from "./pcscf.ts";
import { algTarget, sdpTarget, sipCodecTarget, sipFramingTarget } from "./pure.ts";
import { ueTarget } from "./ue.ts";

export { isTargetName, TARGET_NAMES, type TargetName } from "./names.ts";

/** A fresh target (the node and UE targets own sockets: one instance per run). */
export function makeTarget(name: TargetName): FuzzTarget<unknown> {
  switch (name) {
    case "sip-codec":
      return sipCodecTarget as FuzzTarget<unknown>;
    case "sip-framing":
      return sipFramingTarget as FuzzTarget<unknown>;
    case "sdp":
      return sdpTarget as FuzzTarget<unknown>;
    case "alg":
      return algTarget as FuzzTarget<unknown>;
    case "pcscf-udp":
      return pcscfTarget("UDP") as FuzzTarget<unknown>;
    case "pcscf-tcp":
      return pcscfTarget("TCP") as FuzzTarget<unknown>;
    case "ue":
      return ueTarget() as FuzzTarget<unknown>;
  }
}
