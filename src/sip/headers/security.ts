/**
 * Security-Client / Security-Server / Security-Verify (RFC 3329 §2.2) with the 3GPP `mediasec` parameter
 * (TS 24.229 §7.2A.7). Pure, no I/O.
 */
import { fail } from "../errors.ts";
import { formatParams, getParam, isToken, parseParams, type SipParam, splitList, splitTopLevel } from "../grammar.ts";

export interface SecurityMechanism {
  /** mechanism-name (digest, tls, ipsec-3gpp, sdes-srtp, msrp-tls, bfcp-tls, udptl-dtls, ...) */
  mechanism: string;
  /** mech-parameters in order (q, d-alg, d-qop, d-ver, `mediasec`, extensions), values as written */
  params: SipParam[];
}

/**
 * RFC 3329 §2.2: security-client = "Security-Client" HCOLON sec-mechanism *(COMMA sec-mechanism);
 * sec-mechanism = mechanism-name *(SEMI mech-parameters). The 3GPP `mediasec` parameter (TS 24.229 §7.2A.7) and any
 * other extension parameter are kept.
 */
export function parseSecurityMechanisms(value: string): SecurityMechanism[] {
  return splitList(value, "E_SIP_SECURITY", "Security-*").map((item) => {
    const parts = splitTopLevel(item, ";", "E_SIP_SECURITY", "Security-*");
    if (parts.some((p) => p === "")) fail("E_SIP_SECURITY", "empty mech-parameter");
    const mechanism = (parts[0] ?? "").trim();
    if (!isToken(mechanism)) fail("E_SIP_SECURITY", `bad mechanism-name "${mechanism}"`);
    const params = parseParams(parts.slice(1).join(";"), "E_SIP_SECURITY", "Security-*");
    const q = getParam(params, "q");
    if (q !== undefined && (q === null || !/^(?:0(?:\.[0-9]{0,3})?|1(?:\.0{0,3})?)$/.test(q))) {
      fail("E_SIP_SECURITY", "bad preference (q)");
    }
    return { mechanism, params };
  });
}

export function formatSecurityMechanisms(list: readonly SecurityMechanism[]): string {
  return list.map((m) => `${m.mechanism}${formatParams(m.params)}`).join(", ");
}

/** TS 24.229 §7.2A.7: the mechanisms labelled with the `mediasec` header field parameter. */
export function mediasecMechanisms(list: readonly SecurityMechanism[]): string[] {
  return list.filter((m) => m.params.some((p) => p.name.toLowerCase() === "mediasec")).map((m) => m.mechanism);
}
