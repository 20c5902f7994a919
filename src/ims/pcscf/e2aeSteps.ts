/**
 * What the TR 29.828 §5.2.1 step tables share, originating and terminating: the transports of the two terminations,
 * the clause of each table, the TCP establishment mode (§4.4.2) and the fingerprint and a=setup conversions.
 */
import { type Fingerprint, isHashFunc } from "../../sdp/index.ts";
import type { Direction } from "./algTypes.ts";
import type { AgwTcpMode } from "./config.ts";
import type { E2aeFamily } from "./e2aeSession.ts";
import type { IqFingerprint, IqTcpEstablishment, IqTransport } from "./iq.ts";

export const PLAIN: Readonly<Record<E2aeFamily, IqTransport>> = { msrp: "TCP/MSRP", bfcp: "TCP/BFCP" };
export const TLS: Readonly<Record<E2aeFamily, IqTransport>> = { msrp: "TCP/TLS/MSRP", bfcp: "TCP/TLS/BFCP" };

export const CLAUSE: Readonly<Record<Direction, Readonly<Record<E2aeFamily, string>>>> = {
  originating: { msrp: "TR 29.828 §5.2.1.2.2", bfcp: "TR 29.828 §5.2.1.3.2" },
  terminating: { msrp: "TR 29.828 §5.2.1.2.3", bfcp: "TR 29.828 §5.2.1.3.3" },
};

export function tcpEstablishment(m: AgwTcpMode): IqTcpEstablishment {
  return m === "immediate"
    ? { mode: "immediate" }
    : { mode: "delayed", policy: m === "delayed-drop" ? "drop" : "hold" };
}

export function iqFingerprints(fps: readonly Fingerprint[]): IqFingerprint[] {
  return fps.map((f) => ({ algorithm: f.hash, value: f.value }));
}

export function sdpFingerprint(f: IqFingerprint): Fingerprint | undefined {
  const hash = f.algorithm.toLowerCase();
  return isHashFunc(hash) ? { hash, value: f.value.toUpperCase() } : undefined;
}

/** RFC 4145 §4: the other end of a TCP connection takes the opposite role. */
export function complement(setup: string): "active" | "passive" | undefined {
  return setup === "active" ? "passive" : setup === "passive" ? "active" : undefined;
}
