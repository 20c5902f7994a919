/**
 * The UE's registration credentials (docs/auth.md "The UE side"): a Digest password, or the K / OPc / SQN of a SIM
 * stand-in for IMS AKA, turned into the `UeAuthenticator` the SIP user agent's registrator calls (RFC 3261 §22.4,
 * RFC 3310, TS 33.203 §6.1). Validated here so a bad config fails at construction with E_CONFIG, never mid-REGISTER.
 */
import { type RegistrationAuthenticator, UeAuthenticator } from "../sip/auth/index.ts";
import { parseSipUri } from "../sip/uri.ts";
import { UeError } from "./errors.ts";

export interface UeDigestCredentials {
  /** private identity (TS 33.203 §6.1: the Digest username), e.g. "alice@ims.example.com" */
  impi: string;
  password: string;
  /** registrar realm answered (default: the AOR's domain) */
  realm?: string;
}

export interface UeAkaCredentials {
  impi: string;
  /** K and OPc, 32 hex digits each (TS 35.206 §2) */
  k: string;
  opc: string;
  /** SQN_MS: the highest SQN accepted so far (default 0) */
  sqn?: number;
  /** AMF the network uses (informational: the UE checks MAC-A over the AMF in AUTN) */
  amf?: string;
  realm?: string;
  /** called with the new SQN_MS after each accepted challenge (persist it) */
  onSqn?: (sqn: number) => void;
}

export type UeAuthConfig = UeDigestCredentials | UeAkaCredentials | RegistrationAuthenticator;

function isAuthenticator(c: UeAuthConfig): c is RegistrationAuthenticator {
  return typeof (c as RegistrationAuthenticator).onChallenge === "function";
}

function hexKey(v: unknown, what: string): Uint8Array {
  if (typeof v !== "string" || !/^[0-9a-fA-F]{32}$/.test(v)) {
    throw new UeError("E_CONFIG", `auth.${what} must be 32 hex digits`);
  }
  return new Uint8Array(Buffer.from(v, "hex"));
}

/** Builds the authenticator for `aor` from its configured credentials (or passes an injected one through). */
export function createUeAuthenticator(aor: string, c: UeAuthConfig): RegistrationAuthenticator {
  if (isAuthenticator(c)) return c;
  if (typeof c.impi !== "string" || c.impi === "")
    throw new UeError("E_CONFIG", "auth.impi must be a non-empty string");
  let realm = c.realm;
  if (realm === undefined) {
    try {
      realm = parseSipUri(aor).host;
    } catch (e) {
      throw new UeError("E_CONFIG", `auth.realm missing and the AOR ${aor} has no domain`, { cause: e });
    }
  }
  if ("password" in c) {
    if (typeof c.password !== "string" || c.password === "") {
      throw new UeError("E_CONFIG", "auth.password must be a non-empty string");
    }
    return new UeAuthenticator({ impi: c.impi, realm, password: c.password });
  }
  if (!("k" in c)) throw new UeError("E_CONFIG", "auth needs either password (Digest) or k and opc (AKA)");
  const sqn = c.sqn ?? 0;
  if (!Number.isSafeInteger(sqn) || sqn < 0 || sqn >= 2 ** 48) {
    throw new UeError("E_CONFIG", "auth.sqn must be an integer in 0 .. 2^48 - 1");
  }
  if (c.amf !== undefined && !/^[0-9a-fA-F]{4}$/.test(c.amf)) {
    throw new UeError("E_CONFIG", "auth.amf must be 4 hex digits");
  }
  return new UeAuthenticator({
    impi: c.impi,
    realm,
    aka: { k: hexKey(c.k, "k"), opc: hexKey(c.opc, "opc"), sqnMs: sqn },
    ...(c.onSqn ? { onSqn: c.onSqn } : {}),
  });
}
