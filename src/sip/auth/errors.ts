/**
 * Stable codes of the SIP authentication primitives (docs/auth.md): Digest (RFC 3261 §22.4, RFC 7616, RFC 8760),
 * MILENAGE (TS 35.206) and IMS AKA (RFC 3310, TS 33.203 §6.1).
 */
import { ImsdcError } from "../../errors.ts";

const AUTH_ERROR_CODES = {
  E_AUTH_HEADER: "malformed WWW-Authenticate / Authorization / Authentication-Info value",
  E_AUTH_ALGORITHM: "unsupported Digest algorithm or qop",
  E_AUTH_KEY: "a key, RAND, SQN, AMF or AUTS has the wrong length or encoding",
  E_AUTH_NONCE: "an AKA nonce is not base64(RAND ‖ AUTN ‖ server data)",
  E_AUTH_MAC: "AKA: the network's MAC in AUTN is wrong (TS 33.102 §6.3.3): the network is not authentic",
  E_AUTH_SYNC: "AKA: the SQN in AUTN is not fresh (TS 33.102 §6.3.3); an AUTS is attached",
  E_AUTH_NO_CREDENTIALS: "a challenge arrived for which no credentials are configured",
  E_AUTH_REFUSED: "the registrar challenged again the nonce just answered: it refused the credentials",
} as const;

export type AuthErrorCode = keyof typeof AUTH_ERROR_CODES;

export class AuthError extends ImsdcError {
  declare readonly code: AuthErrorCode;
  constructor(code: AuthErrorCode, message: string, options?: { cause?: unknown }) {
    super(code, message, options);
  }
}
