import { ImsdcError } from "../../errors.ts";

/** Stable codes of the S-CSCF node (docs/pcscf.md "S-CSCF"). */
export type ScscfErrorCode =
  | "E_SCSCF_CONFIG" // the S-CSCF options are invalid (name, domains, interfaces, auth, trustedPcscfs)
  | "E_SCSCF_SUBSCRIBERS" // the subscriber file is unreadable or invalid (docs/auth.md "Subscriber store")
  | "E_SCSCF_UNTRUSTED_SOURCE"; // an originating request from outside the trust domain (403, audited)

export class ScscfError extends ImsdcError {
  declare readonly code: ScscfErrorCode;
  constructor(code: ScscfErrorCode, message: string, options?: { cause?: unknown }) {
    super(code, message, options);
  }
}
