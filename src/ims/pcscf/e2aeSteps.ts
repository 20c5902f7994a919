/**
 * What the TR 29.828 §5.2.1 step tables share, originating and terminating: the transports of the two terminations,
 * the clause of each table, the TCP establishment mode (§4.4.2), the fingerprint and a=setup conversions, the stream
 * made of two terminations and the AGW leg written into a body. The tables: e2aeOriginating.ts, e2aeTerminating.ts.
 */
import type { Direction } from "./algTypes.ts";
import type { AgwPolicy, AgwTcpMode } from "./config.ts";
import type { AnchoredStream, E2aeFamily } from "./e2aeSession.ts";
import type { IqClient, IqConnectionPoint, IqTcpEstablishment, IqTransport } from "./iq.ts";
import { IqProcedureError } from "./iqProcedure.ts";
import type { AgwLegSdp, IqMediaInfo } from "./rewrite.ts";

/** What a step table runs on: the Iq client, the AGW policy, and the session's procedure runner (E2aeAnchor). */
export interface StepContext {
  iq: IqClient;
  agw: AgwPolicy;
  /** one Iq procedure for an m-line: bounded by `agw.iqTimeoutMs`, audited, a created context remembered */
  call(mline: number, procedure: string, clause: string, p: Promise<IqConnectionPoint>): Promise<IqConnectionPoint>;
}

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

/** RFC 4145 §4: the other end of a TCP connection takes the opposite role. */
export function complement(setup: string): "active" | "passive" | undefined {
  return setup === "active" ? "passive" : setup === "passive" ? "active" : undefined;
}

/** The stream of an m-line once both terminations are reserved; the AGW must have given a usable fingerprint. */
export function anchoredStream(
  info: IqMediaInfo,
  family: E2aeFamily,
  contextId: string,
  access: IqConnectionPoint,
  core: IqConnectionPoint,
  fpClause: string,
): AnchoredStream {
  const fp = access.localCertificateFingerprint;
  if (!fp) {
    throw new IqProcedureError(
      "reserve (access side)",
      fpClause,
      "the IMS-AGW answered the Local certificate fingerprint Request with no usable fingerprint",
    );
  }
  return { mline: info.mline, family, contextId, access, core, agwFingerprint: fp, released: false };
}

/** The AGW leg whose data goes into a body: toward the core the core termination, toward the UE the access one. */
export function legSdp(s: AnchoredStream, leg: "core" | "access"): AgwLegSdp {
  const p = leg === "core" ? s.core : s.access;
  return {
    address: p.localAddress,
    port: p.localPort,
    ...(leg === "access" ? { fingerprints: [s.agwFingerprint] } : {}),
  };
}
