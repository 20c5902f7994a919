/**
 * The P-CSCF's identity assertion (RFC 3325, TS 24.229 §5.2.6.3): the UE is outside the trust domain, the P-CSCF is
 * its edge.
 *
 * - Requests from a UE: any P-Asserted-Identity or P-Preferred-Identity it sent is removed (RFC 3325 §9.1: never
 *   believed from an untrusted node); on an initial request of a registered UE the P-CSCF asserts the identity it
 *   registered: the P-Preferred-Identity when it names one of the UE's registered public user identities, else the
 *   default one (TS 24.229 §5.2.6.3.3 / §5.2.6.3.2; RFC 3325 §6).
 * - Requests from the core toward a UE: P-Preferred-Identity has no meaning there and goes; P-Asserted-Identity goes
 *   to the UE (the verified caller identity it shows), unless the request asks for privacy "id" (RFC 3325 §9.1,
 *   RFC 3323 §4.2: then it is removed before leaving the trust domain).
 */
import { isSipUri, parseNameAddr, type SipRequest, type SipResponse } from "../../sip/index.ts";
import { canonicalAor, type Registration } from "./registrations.ts";

/** The canonical AOR a name-addr / addr-spec names, or undefined when it is not a SIP URI. */
function aorOf(value: string): string | undefined {
  try {
    const na = parseNameAddr(value.trim());
    return isSipUri(na.uri) ? canonicalAor(na.uri) : undefined;
  } catch {
    return undefined;
  }
}

/** The registered public user identities of a registration: its AOR, then its P-Associated-URIs (RFC 3455 §4.1). */
function registeredIdentities(reg: Registration): string[] {
  const out = [reg.aor];
  for (const v of reg.associatedUris) {
    const a = aorOf(v);
    if (a !== undefined && !out.includes(a)) out.push(a);
  }
  return out;
}

/**
 * Strips the identity headers a UE sent and, for an initial request of a registered UE, asserts its identity.
 * Returns the asserted identity (or undefined when none was asserted).
 */
export function assertFromUe(req: SipRequest, reg: Registration | undefined, initial: boolean): string | undefined {
  let preferred: string[];
  try {
    preferred = req.getValues("P-Preferred-Identity");
  } catch {
    preferred = [];
  }
  // RFC 3325 §9.1 / TS 24.229 §5.2.6.3.3: identity headers from the UE are not trusted
  req.removeHeader("P-Asserted-Identity");
  req.removeHeader("P-Preferred-Identity");
  if (!initial || !reg) return undefined;
  const mine = registeredIdentities(reg);
  // TS 24.229 §5.2.6.3.3: a P-Preferred-Identity naming a registered public user identity selects it
  const chosen = preferred.map(aorOf).find((a): a is string => a !== undefined && mine.includes(a)) ?? reg.aor;
  req.setHeader("P-Asserted-Identity", `<${chosen}>`);
  return chosen;
}

/** RFC 3325 §9.1 toward the UE (outside the trust domain): PPI removed; PAI removed when privacy "id" is asked. */
export function filterTowardUe(req: SipRequest): void {
  req.removeHeader("P-Preferred-Identity");
  const privacy = req
    .getHeaders("Privacy")
    .flatMap((v) => v.split(";"))
    .map((t) => t.trim().toLowerCase());
  // RFC 3325 §9.1 / RFC 3323 §4.2: "id" privacy: the asserted identity does not leave the trust domain
  if (privacy.includes("id")) req.removeHeader("P-Asserted-Identity");
}

/**
 * A response from the UE to a request relayed toward it: the identity headers the UE put in are removed (RFC 3325
 * §9.1: never believed from outside the trust domain) and, when the served user registered here, its registered
 * identity is asserted instead (RFC 3325 §6; TS 24.229 §5.2.6.4: the P-CSCF asserts the served user in the terminating
 * case too).
 */
export function assertResponseFromUe(res: SipResponse, reg: Registration | undefined): void {
  res.removeHeader("P-Asserted-Identity");
  res.removeHeader("P-Preferred-Identity");
  if (reg) res.setHeader("P-Asserted-Identity", `<${reg.aor}>`);
}
