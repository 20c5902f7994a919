/**
 * The e2ae step table of the originating side (the served UE A made the offer): TR 29.828 §5.2.1.2.2 (MSRP, steps
 * 1-21) and §5.2.1.3.2 (BFCP) — on the offer, Reserve toward the core (steps 2-4) and Reserve and Configure toward UE A
 * with its address and fingerprint (steps 5-7); on the answer, Configure toward the core with the answerer's address
 * (13-15) and, for MSRP, the TLS setup direction toward UE A (16-18).
 */
import type { AnchoredStream, E2aeFamily } from "./e2aeSession.ts";
import { anchoredStream, CLAUSE, complement, PLAIN, type StepContext, TLS, tcpEstablishment } from "./e2aeSteps.ts";
import { IqProcedureError } from "./iqProcedure.ts";
import type { IqMediaInfo } from "./rewrite.ts";

/** TR 29.828 §5.2.1.2.2 / §5.2.1.3.2 steps 2-7 (the originating UE's offer). */
export async function reserveOriginating(
  x: StepContext,
  info: IqMediaInfo,
  family: E2aeFamily,
): Promise<AnchoredStream> {
  const clause = CLAUSE.originating[family];
  const agw = x.agw;
  const address = info.address;
  if (address === null) throw new IqProcedureError("reserve", clause, `m-line ${info.mline} has no address`);
  // steps 2-4: "Reserve AGW Connection Point" for "TCP/MSRP" ("TCP/BFCP") media towards the core network; in
  // delayed mode the termination ignores SYNs until the answer gives the remote address (TR 29.828 §4.4.2.2)
  const core = await x.call(
    info.mline,
    "reserveAgwConnectionPoint",
    `${clause} steps 2-4`,
    x.iq.reserveAgwConnectionPoint({
      side: "core",
      transport: PLAIN[family],
      tcpEstablishment: tcpEstablishment(agw.tcpEstablishment.core),
      tcpEstablishmentInterlinkage: agw.interlinkage, // TR 29.828 §4.4.2.1.2 indication 3
    }),
  );
  // steps 5-7: "Reserve And Configure AGW Connection Point" for "TCP/TLS/MSRP" ("TCP/TLS/BFCP") towards the access
  // network; the remote descriptor carries the UE's address, port and fingerprint (the AGW verifies the UE's
  // certificate against it); the AGW communicates the fingerprint of its own certificate
  const access = await x.call(
    info.mline,
    "reserveAndConfigureAgwConnectionPoint",
    `${clause} steps 5-7`,
    x.iq.reserveAndConfigureAgwConnectionPoint({
      contextId: core.contextId,
      side: "access",
      transport: TLS[family],
      tcpEstablishment: tcpEstablishment(agw.tcpEstablishment.access),
      localCertificateFingerprintRequest: true,
      notifyTlsSessionEstablishmentFailureEvent: true,
      // BFCP: the AGW stands in for the SDP answerer toward UE A, and the answerer is the TLS server whatever the
      // TCP roles (RFC 8856 as docs/e2ae-ue.md applies it; UE A, the offerer, is TLS client); §5.2.1.3.2 has no
      // TLS-direction step, so the role is given here
      ...(family === "bfcp" ? { tlsRole: "server" as const } : {}),
      remote: {
        address,
        port: info.port,
        setup: info.effectiveSetup,
        certificateFingerprints: info.fingerprints,
      },
    }),
  );
  return anchoredStream(info, family, core.contextId, access, core, `${clause} steps 5-7`);
}

/** TR 29.828 §5.2.1.2.2 steps 13-18 / §5.2.1.3.2 steps 14-16: the Configure procedures of the answer to UE A. */
export async function configureOriginatingAnswer(
  x: StepContext,
  s: AnchoredStream,
  info: IqMediaInfo,
  setup: IqMediaInfo["effectiveSetup"],
  clause: string,
): Promise<void> {
  const interlinkage = x.agw.interlinkage;
  // steps 13-15: "Configure AGW Connection Point" toward the core with the answerer's address; in delayed
  // mode this is also "accept TCP SYN only from the indicated remote transport address" (indication 5)
  const agwCoreActive = complement(setup) === "active";
  await x.call(
    s.mline,
    "configureAgwConnectionPoint",
    `${clause} steps ${s.family === "msrp" ? "13-15" : "14-16"}`,
    x.iq.configureAgwConnectionPoint({
      contextId: s.contextId,
      terminationId: s.core.terminationId,
      remote: { ...(info.address !== null ? { address: info.address } : {}), port: info.port, setup },
      // without interlinkage the IMS-ALG requests the SYN itself (indication 2)
      ...(!interlinkage && agwCoreActive ? { tcpConnect: true } : {}),
    }),
  );
  // a=setup passes unchanged toward UE A: the answerer's role is the AGW access termination's role
  const agwAccessActive = setup === "active";
  const ueSetup = complement(setup);
  if (s.family === "msrp") {
    // steps 16-18: "configure the termination towards the access network with the TLS setup direction, in
    // accordance with the information in the a=setup attribute in the SDP answer" (TCP-active ⇒ TLS client,
    // RFC 4975 §5.4 / RFC 6135; step 21: the AGW starts TLS when it connects)
    await x.call(
      s.mline,
      "configureAgwConnectionPoint",
      `${clause} steps 16-18`,
      x.iq.configureAgwConnectionPoint({
        contextId: s.contextId,
        terminationId: s.access.terminationId,
        tlsRole: agwAccessActive ? "client" : "server",
        ...(ueSetup ? { remote: { setup: ueSetup } } : {}),
        ...(!interlinkage && agwAccessActive ? { tcpConnect: true } : {}),
      }),
    );
  } else if (!interlinkage && agwAccessActive) {
    // BFCP (§5.2.1.3.2 has no TLS-direction step; the role was given at steps 5-7): only the SYN request
    await x.call(
      s.mline,
      "configureAgwConnectionPoint",
      `${clause} step 11`,
      x.iq.configureAgwConnectionPoint({
        contextId: s.contextId,
        terminationId: s.access.terminationId,
        tcpConnect: true,
      }),
    );
  }
}
