/**
 * The e2ae step table of the terminating side (the offer comes from the core toward the served UE B): TR 29.828
 * §5.2.1.2.3 (MSRP, steps 1-18) and §5.2.1.3.3 (BFCP) — on the offer, Reserve toward UE B with the fingerprint request
 * (steps 2-4) and Reserve and Configure toward the core with the offerer's address (5-7); on the answer, Configure
 * toward UE B with its address and fingerprint (14-16).
 */
import type { AnchoredStream, E2aeFamily } from "./e2aeSession.ts";
import { anchoredStream, CLAUSE, complement, PLAIN, type StepContext, TLS, tcpEstablishment } from "./e2aeSteps.ts";
import { IqProcedureError } from "./iqProcedure.ts";
import type { IqMediaInfo } from "./rewrite.ts";

/** TR 29.828 §5.2.1.2.3 / §5.2.1.3.3 steps 2-7 (the offer toward the terminating UE). */
export async function reserveTerminating(
  x: StepContext,
  info: IqMediaInfo,
  family: E2aeFamily,
): Promise<AnchoredStream> {
  const clause = CLAUSE.terminating[family];
  const agw = x.agw;
  const address = info.address;
  if (address === null) throw new IqProcedureError("reserve", clause, `m-line ${info.mline} has no address`);
  // steps 2-4: "Reserve AGW Connection Point" for "TCP/TLS/MSRP" ("TCP/TLS/BFCP") towards the access network; the
  // AGW communicates its fingerprint; BFCP: "The IMS-ALG instructs the IMS-AGW to start the establishment of the
  // TLS session" (IE Establish (D)TLS session: the AGW is TLS client, §5.2.1.3.3 step 12)
  const access = await x.call(
    info.mline,
    "reserveAgwConnectionPoint",
    `${clause} steps 2-4`,
    x.iq.reserveAgwConnectionPoint({
      side: "access",
      transport: TLS[family],
      tcpEstablishment: tcpEstablishment(agw.tcpEstablishment.access),
      tcpEstablishmentInterlinkage: agw.interlinkage, // TR 29.828 §4.4.2.1.2 indication 3
      localCertificateFingerprintRequest: true,
      notifyTlsSessionEstablishmentFailureEvent: true,
      ...(family === "bfcp" ? { establishTlsSession: true } : {}),
    }),
  );
  // steps 5-7: "Reserve And Configure AGW Connection Point" for "TCP/MSRP" ("TCP/BFCP") towards the core network,
  // with the offerer's address, port and a=setup
  const core = await x.call(
    info.mline,
    "reserveAndConfigureAgwConnectionPoint",
    `${clause} steps 5-7`,
    x.iq.reserveAndConfigureAgwConnectionPoint({
      contextId: access.contextId,
      side: "core",
      transport: PLAIN[family],
      tcpEstablishment: tcpEstablishment(agw.tcpEstablishment.core),
      remote: { address, port: info.port, setup: info.effectiveSetup },
    }),
  );
  return anchoredStream(info, family, access.contextId, access, core, `${clause} steps 2-4`);
}

/** TR 29.828 §5.2.1.2.3 / §5.2.1.3.3 steps 14-16: the Configure procedures of UE B's answer. */
export async function configureTerminatingAnswer(
  x: StepContext,
  s: AnchoredStream,
  info: IqMediaInfo,
  setup: IqMediaInfo["effectiveSetup"],
  clause: string,
): Promise<void> {
  const interlinkage = x.agw.interlinkage;
  // steps 14-16: "Configure AGW Connection Point" toward UE B with its address and the fingerprint from the
  // answer: the AGW verifies UE B's certificate against it (and holds UE B's data until then, step 12)
  const agwAccessActive = complement(setup) === "active";
  await x.call(
    s.mline,
    "configureAgwConnectionPoint",
    `${clause} steps 14-16`,
    x.iq.configureAgwConnectionPoint({
      contextId: s.contextId,
      terminationId: s.access.terminationId,
      remote: {
        ...(info.address !== null ? { address: info.address } : {}),
        port: info.port,
        setup,
        certificateFingerprints: info.fingerprints,
      },
      ...(!interlinkage && agwAccessActive ? { tcpConnect: true } : {}),
    }),
  );
  // the offerer takes the opposite of UE B's role (a=setup passes unchanged toward the core): when UE B is
  // active the offerer is passive and the AGW core termination connects; without interlinkage it is asked to
  if (!interlinkage && setup === "active") {
    await x.call(
      s.mline,
      "configureAgwConnectionPoint",
      `${clause} step 11`,
      x.iq.configureAgwConnectionPoint({
        contextId: s.contextId,
        terminationId: s.core.terminationId,
        tcpConnect: true,
      }),
    );
  }
}
