/**
 * MSRP framing (RFC 4975 §7.1, §9): request/response encoding, a streaming parser with typed errors, URI matching
 * (§6.1), Content-Type negotiation helpers (§8.6). Pure codec: no sockets here (see msrpSession.ts). This module is
 * the codec's public face; the parts live in msrpTypes / msrpGrammar / msrpEncode / msrpHeaders / msrpParser /
 * msrpUri.
 */
export { bodyContainsEndLine, encodeMsrp } from "./msrpEncode.ts";
export { isMsrpIdent, newMessageId, newSessionId, newTransactionId, parseByteRange } from "./msrpGrammar.ts";
export { type MsrpParseEvent, MsrpParser, type MsrpParserOptions, parseMsrp } from "./msrpParser.ts";
export {
  type ByteRange,
  MSRP_STATUS_TEXT,
  type MsrpContinuation,
  type MsrpFrame,
  type MsrpHeader,
  type MsrpRequest,
  type MsrpResponse,
  type MsrpStatusHeader,
} from "./msrpTypes.ts";
export { formatPath, isAcceptedType, MSRP_DEFAULT_PORT, msrpUriMatches, type PathMatchMode } from "./msrpUri.ts";
