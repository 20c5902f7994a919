/** What a transaction still holds once it waits (docs/sip.md "Transactions"). */
import { SipError } from "../errors.ts";
import type { SipRequest } from "../message.ts";

/**
 * The transaction's request while it is held; once the waiting states released it, reading it is a programming
 * error: E_SIP_TRANSACTION naming the transaction.
 */
export function heldRequest(
  req: SipRequest | undefined,
  txn: { readonly method: string; readonly key: string; readonly state: string },
): SipRequest {
  if (req === undefined) {
    throw new SipError("E_SIP_TRANSACTION", `the ${txn.method} of transaction ${txn.key} was released (${txn.state})`);
  }
  return req;
}
