/**
 * Finding codes of the SDP security layer. Every check in `src/sdp` reports through this table: the code is stable
 * (callers, tests, the CLI and the README switch on it), the severity is fixed per code, and the clause names the
 * rule that the check enforces. `E_` codes are errors (the SDP must not be used as is), `W_` codes are warnings.
 */

export type Severity = "error" | "warning";

export interface Finding {
  severity: Severity;
  code: string;
  message: string;
  clause: string;
  /** 1-based line number in the SDP text the finding is about, when it is tied to one line. */
  line?: number;
  /** 0-based index of the m-section (m-line) the finding is about, in the order of the SDP. */
  mline?: number;
}

export interface FindingCodeInfo {
  severity: Severity;
  clause: string;
  description: string;
}

const e = (clause: string, description: string): FindingCodeInfo => ({ severity: "error", clause, description });
const w = (clause: string, description: string): FindingCodeInfo => ({ severity: "warning", clause, description });

/** The complete code table. README/docs print it with `listFindingCodes()`. */
export const FINDING_CODES = {
  // ---- SDP text and structure -------------------------------------------------------------------------------------
  E_SDP_EMPTY: e("RFC 8866 §5", "the body is empty or holds only whitespace"),
  E_SDP_TOO_LARGE: e("imsdc limit", "the body is larger than the configured maximum (default 65536 bytes); not parsed"),
  E_SDP_BINARY: e("RFC 8866 §5", "the body holds NUL or other control characters (only CRLF/LF line ends and TAB)"),
  E_SDP_SYNTAX: e("RFC 8866 §5", "a line is not `<type>=<value>` with a single lower-case type letter"),
  E_SDP_VERSION: e("RFC 8866 §5.1", "the first line is not `v=0`"),
  E_SDP_ORIGIN: e("RFC 8866 §5.2", "the `o=` line is missing or malformed"),
  E_SDP_STRUCTURE: e(
    "RFC 8866 §5",
    "a mandatory session line (`s=`, `t=`) is missing or a single-instance line repeats",
  ),
  E_SDP_MLINE: e("RFC 8866 §5.14", "an `m=` line is malformed (media, port 0-65535, proto, at least one fmt)"),
  E_SDP_CONNECTION: e("RFC 8866 §5.7", "a `c=` line is malformed, or an active m-line has no connection data"),
  W_SDP_MIXED_EOL: w("RFC 8866 §5", "CRLF and bare LF line endings are mixed in one body"),
  W_SDP_BLANK_LINE: w("RFC 8866 §5", "a blank line was ignored"),
  W_SDP_LINE_ORDER: w("RFC 8866 §5", "a line appears out of the order SDP mandates (e.g. `c=` after `a=`)"),
  W_SDP_UNKNOWN_LINE: w("RFC 8866 §5", "a line with an unknown type letter was ignored"),

  // ---- attribute placement ---------------------------------------------------------------------------------------
  E_ATTR_LEVEL: e("RFC 8866 §5.13", "an attribute is used at a level (session/media) where it is not defined"),
  E_ATTR_DUPLICATE: e("RFC 8866 §5.13", "an attribute that may appear at most once per section is repeated"),
  W_ATTR_IGNORED: w("RFC 8866 §5.13", "an attribute has no meaning for this media type or proto and is ignored"),

  // ---- a=fingerprint (RFC 8122) -----------------------------------------------------------------------------------
  E_FP_SYNTAX: e("RFC 8122 §5", 'fingerprint is not `hash-func SP 2HEX *(":" 2HEX)`'),
  E_FP_HASH_LEN: e("RFC 8122 §5", "fingerprint byte count does not match the hash function (sha-256 = 32 bytes etc.)"),
  E_FP_WEAK_HASH: e("RFC 8122 §5", "md2/md5 fingerprints MUST NOT be used"),
  W_FP_UNKNOWN_HASH: w("RFC 8122 §5", "fingerprint with an unknown hash function; the line is ignored"),
  W_FP_LOWERCASE: w("RFC 8122 §5", "fingerprint uses lower-case hex (UHEX is upper-case); accepted and normalised"),
  W_FP_NO_SHA256: w("RFC 8122 §5.1", "no SHA-256 (or stronger) fingerprint is offered"),
  W_FP_SHA1: w(
    "RFC 8122 §5",
    "a SHA-1 fingerprint: SHA-1 is a defined hash function, but RFC 8122 §5 names SHA-256 as preferred; accepted",
  ),
  E_FP_MISSING: e("RFC 8122 §5; RFC 8842 §5", "a TLS/DTLS m-line has no usable fingerprint (media or session level)"),

  // ---- a=setup (RFC 4145, RFC 5763) ------------------------------------------------------------------------------
  E_SETUP_VALUE: e("RFC 4145 §4", "setup value is not active / passive / actpass / holdconn"),
  E_SETUP_OFFER_NOT_ACTPASS: e("RFC 5763 §5; RFC 8842 §5.2", "a DTLS offer must use `a=setup:actpass`"),
  E_SETUP_ANSWER_ROLE: e("RFC 4145 §4; RFC 5763 §5", "the answer's setup role is not allowed for the offered role"),
  E_SETUP_HOLDCONN_DTLS: e("RFC 5763 §5", "`holdconn` is not a valid setup value for DTLS"),
  W_SETUP_MISSING: w(
    "RFC 4145 §4",
    "no `a=setup` on a DTLS/TCP m-line; the default (offer active, answer passive) applies",
  ),
  W_TCP_ACTIVE_PORT: w("RFC 4145 §4", "an `active` TCP endpoint SHOULD put port 9 in its m-line"),

  // ---- a=tls-id (RFC 8842) ---------------------------------------------------------------------------------------
  E_TLSID_SYNTAX: e("RFC 8842 §4", "tls-id is not 20-255 characters of [A-Za-z0-9+/_-]"),
  E_TLSID_DUPLICATE: e("RFC 8842 §4", "more than one `a=tls-id` in one m-line"),
  W_TLSID_LEADING_SPACE: w(
    "RFC 8842 §4; TS 26.114 Annex A.17",
    "a space before the tls-id value (`a=tls-id: x`, as TS 26.114 Annex A.17 writes it); accepted, the value without the space is used",
  ),
  W_TLSID_MISSING: w(
    "RFC 8842 §5.2",
    "a DTLS offer without `a=tls-id` (legacy peer; association changes cannot be signalled)",
  ),
  E_TLSID_ANSWER_UNEXPECTED: e("RFC 8842 §5.3", "the answer has `a=tls-id` although the offer had none"),
  W_TLSID_ANSWER_MISSING: w("RFC 8842 §5.3", "the offer had `a=tls-id` but the answer has none (legacy answerer)"),
  W_TLSID_ECHOED: w(
    "RFC 8842 §4; RFC 8842 §5.3",
    "the answer repeats the offerer's tls-id instead of its own (echoing peer)",
  ),

  // ---- a=connection (RFC 4145) -----------------------------------------------------------------------------------
  E_CONNECTION_VALUE: e("RFC 4145 §5", "connection value is not `new` / `existing`"),
  E_CONNECTION_ANSWER: e("RFC 4145 §5.2", "the offer says `connection:new` but the answer says `existing`"),

  // ---- SCTP over DTLS (RFC 8841) and data channel m-lines (TS 26.114) --------------------------------------------
  E_SCTP_PORT_SYNTAX: e("RFC 8841 §5", "sctp-port is not an integer 0-65535"),
  E_MAX_MSG_SIZE_SYNTAX: e("RFC 8841 §6", "max-message-size is not a non-negative integer"),
  W_SCTP_LEGACY: w("RFC 8841 §4", "legacy `DTLS/SCTP <port>` + `a=sctpmap` form (pre-RFC draft); accepted"),
  W_DC_TCP_PROTO: w("TS 26.114 §6.2.10.1", "a DCMTSI data channel m-line shall use UDP/DTLS/SCTP, not TCP/DTLS/SCTP"),
  W_DC_FMT: w("RFC 8841 §4; TS 26.114 §6.2.10.1", "an SCTP-over-DTLS m-line whose fmt is not `webrtc-datachannel`"),
  W_DC_BEFORE_AUDIO: w("TS 26.114 §6.2.10.1", "a data channel m-line is placed before the first audio m-line"),

  // ---- a=dcmap / a=dcsa (RFC 8864) and 3GPP stream ids -----------------------------------------------------------
  E_DCMAP_SYNTAX: e(
    "RFC 8864 §5.1.1",
    "dcmap line does not follow the dcmap ABNF (quoting, %-escapes, ordered, numbers)",
  ),
  E_DCMAP_ID_RANGE: e("RFC 8864 §5.1.1; RFC 8832 §6.4", "dcmap stream id outside 0-65534 (65535 is reserved)"),
  E_DCMAP_DUP_ID: e("RFC 8864 §5.1.1; TS 26.114 §6.2.10.1", "two dcmap lines in one m-line use the same stream id"),
  E_DCMAP_RETR_AND_TIME: e("RFC 8864 §5.1.1", "max-retr and max-time MUST NOT both be present"),
  E_DCMAP_VALUE_RANGE: e("RFC 8864 §5.1.1; RFC 8832 §5.1", "max-retr/max-time >= 2^32 or priority >= 65536"),
  E_DCMAP_NOT_OFFERED: e("RFC 8864 §6", "the answer has a dcmap stream id the offer did not have"),
  W_DCMAP_PARAM_CHANGED: w("RFC 8864 §6", "the answer changed the parameters of an offered dcmap"),
  E_DCSA_SYNTAX: e("RFC 8864 §5.2", "dcsa line is not `<stream-id> SP <attribute>`"),
  E_DCSA_UNKNOWN_ID: e("RFC 8864 §5.2", "dcsa refers to a stream id that has no dcmap in the m-line"),
  E_BOOTSTRAP_SUBPROTOCOL: e("TS 24.186 §9.3.2.2.1", 'bootstrap stream ids 0/10/100/110 need subprotocol="http"'),
  W_BOOTSTRAP_MIXED: w("TS 24.186 §9.3.2.2.1", "local (0/10) and remote (100/110) bootstrap channels in one m-line"),
  W_DC_ID_RESERVED: w("TS 24.186 §9.3.2.2.1; TS 26.114 §6.2.10.1", "stream id 1-999 that is not a bootstrap id"),
  W_DCSA_NOT_ANSWERED: w(
    "RFC 8864 §5.2; RFC 8864 §6",
    "an accepted data channel's answer has no dcsa for an offered dcsa attribute (dropped: the answerer does not support it)",
  ),

  // ---- a=3gpp-bdc-used-by / a=3gpp-req-app (TS 26.114 §6.2.10, TS 24.186 §9.3) -------------------------------------
  E_BDC_USED_BY_SYNTAX: e("TS 24.186 §9.3.3.2.1; TS 26.114 §6.2.10", "3gpp-bdc-used-by value is not a token"),
  W_BDC_USED_BY_UNKNOWN: w(
    "TS 24.186 §9.3.3.2.1",
    '3gpp-bdc-used-by value other than "sender" / "receiver"; kept and ignored',
  ),
  W_BDC_USED_BY_NOT_REMOTE: w(
    "TS 24.186 §9.3.3.2.1",
    "3gpp-bdc-used-by on an m-line without the remote bootstrap stream ids 100/110",
  ),
  W_BDC_USED_BY_CHANGED: w(
    "TS 24.186 §9.3.3.2.1",
    "the answer's 3gpp-bdc-used-by differs from the offer's for the same remote bootstrap m-line",
  ),
  E_REQ_APP_SYNTAX: e("TS 26.114 §6.2.10", '3gpp-req-app is not "<stream-id> SP <app-id> *(SP <param>)"'),
  E_REQ_APP_UNKNOWN_ID: e(
    "TS 24.186 §9.3; TS 26.114 §6.2.10",
    "3gpp-req-app refers to a stream id that has no dcmap in the m-line",
  ),
  W_REQ_APP_NOT_APPLICATION: w(
    "TS 24.186 §9.3",
    "3gpp-req-app for a stream id below 1000 (application data channels use stream ids from 1000 up)",
  ),
  W_REQ_APP_DUPLICATE: w("TS 26.114 §6.2.10", "two 3gpp-req-app lines for the same stream id in one m-line"),
  W_REQ_APP_ANSWER_MISMATCH: w(
    "TS 26.114 §6.2.10",
    "an accepted application data channel's answer does not repeat the offered 3gpp-req-app (only app-dc-status may differ)",
  ),

  // ---- a=3gpp-qos-hint (TS 26.114) -------------------------------------------------------------------------------
  E_QOS_HINT_SYNTAX: e("TS 26.114 Annex M.11", '3gpp-qos-hint is not `name=value *(";" name=value)`'),
  E_QOS_HINT_VALUE: e("TS 26.114 Annex M.11", "qos-hint loss outside [0,1] or latency not a positive integer"),

  // ---- a=3ge2ae (TS 24.229) --------------------------------------------------------------------------------------
  E_3GE2AE_SYNTAX: e("TS 24.229 §7.5.2.2", "3ge2ae value is not a token"),
  W_3GE2AE_UNKNOWN: w("TS 24.229 §7.5.2.1", "3ge2ae value other than requested/applied; it shall be ignored"),
  E_3GE2AE_SESSION_LEVEL: e("TS 24.229 §7.5.2.3", "3ge2ae is a media-level attribute; session level is invalid"),
  W_3GE2AE_DUPLICATE: w("TS 24.229 §7.5.2", "more than one 3ge2ae in one m-line"),
  W_3GE2AE_NOT_SECURE: w("TS 24.229 §7.5.2; TS 23.334 §6.2.10", "3ge2ae on an m-line without a TLS/DTLS/SRTP proto"),

  // ---- MSRP (RFC 4975) -------------------------------------------------------------------------------------------
  E_MSRP_FMT: e("RFC 4975 §8.1", "an MSRP m-line must have fmt `*`"),
  E_MSRP_PATH: e("RFC 4975 §8.1; RFC 4975 §9", "a=path missing, or an MSRP URI does not follow the MSRP-URI ABNF"),
  E_MSRP_ACCEPT_TYPES: e("RFC 4975 §8.1; RFC 4975 §9", "a=accept-types missing or malformed"),
  E_MSRP_ACCEPT_WRAPPED_TYPES: e("RFC 4975 §9", "a=accept-wrapped-types malformed"),
  W_MSRP_SCHEME: w("RFC 4975 §6", "msrps URIs on a non-TLS proto, or msrp URIs on TCP/TLS/MSRP"),

  // ---- BFCP (RFC 8856) -------------------------------------------------------------------------------------------
  E_BFCP_FMT: e("RFC 8856 §4", "a BFCP m-line must have fmt `*`"),
  E_BFCP_FLOORCTRL: e("RFC 8856 §5.1", "floorctrl is not a list of c-only / s-only / c-s"),
  E_BFCP_FLOORCTRL_ANSWER: e(
    "RFC 8856 §5.1",
    "the answer's floorctrl is not exactly one role compatible with the offer",
  ),
  E_BFCP_CONFID: e("RFC 8856 §5.2", "confid is not 1*DIGIT within 32 bits"),
  E_BFCP_USERID: e("RFC 8856 §5.3", "userid is not 1*DIGIT within 16 bits"),
  E_BFCP_FLOORID: e("RFC 8856 §5.4", 'floorid is not `1*DIGIT [SP "mstrm:" token *(SP token)]`'),
  E_BFCP_VERSION: e("RFC 8856 §5.5", "bfcpver is not a list of versions (1*DIGIT)"),

  // ---- ICE (RFC 8839) --------------------------------------------------------------------------------------------
  E_ICE_UFRAG: e("RFC 8839 §5.4", "ice-ufrag is not 4-256 ice-chars"),
  E_ICE_PWD: e("RFC 8839 §5.4", "ice-pwd is not 22-256 ice-chars"),
  E_ICE_CREDENTIALS: e("RFC 8839 §5.4", "ice-ufrag without ice-pwd, or the other way round"),
  W_ICE_CANDIDATE: w("RFC 8839 §5.1", "a candidate line is malformed and will be ignored by ICE agents"),

  // ---- offer/answer ----------------------------------------------------------------------------------------------
  E_OFFER_INVALID: e("RFC 3264 §6", "the offer the answer is checked against has errors"),
  E_ANSWER_MLINE_COUNT: e("RFC 3264 §6", "the answer does not have the same number of m-lines as the offer"),
  E_ANSWER_MEDIA_TYPE: e("RFC 3264 §6", "an answer m-line has a different media type than the offered one"),
  E_ANSWER_PORT: e("RFC 3264 §6", "an m-line offered with port 0 is answered with a non-zero port"),
  E_PROTO_MISMATCH: e("RFC 3264 §6; RFC 8841 §9", "an accepted answer m-line uses another proto than the offer"),
  E_FMT_MISMATCH: e("RFC 3264 §6; RFC 8841 §9", "an accepted answer m-line uses another fmt than the offer"),

  // ---- e2e data channel profile (TS 33.328 §7.2.5, seed CR 1), enabled with `{ e2eDc: true }` --------------------
  E_E2E_NO_DC: e("TS 33.328 §7.2.5", "an e2e data channel offer without an active data channel m-line"),
  E_E2E_PROTO: e("TS 26.114 §6.2.10.1; TS 33.328 §7.2.5", "the e2e data channel m-line is not UDP/DTLS/SCTP"),
  E_E2E_TLSID_MISSING: e("TS 33.328 §7.2.5; RFC 8842 §5.2", "the e2e data channel offer has no tls-id"),
  E_E2E_SETUP_MISSING: e("TS 33.328 §7.2.5; RFC 5763 §5", "the e2e data channel m-line has no explicit a=setup"),
  E_E2E_FP_STRENGTH: e(
    "TS 33.328 §7.2.5; RFC 8122 §5.1",
    "the e2e data channel has no sha-256 (or stronger) fingerprint",
  ),
  E_E2E_SCTP_PORT_MISSING: e("TS 33.328 §7.2.5; RFC 8841 §5", "the e2e data channel m-line has no a=sctp-port"),
  E_E2E_SCOPE_INDICATION: e(
    "TS 33.328 §7.2.5",
    "an e2e data channel m-line carries a security-scope indication (3ge2ae)",
  ),
  E_E2E_TLSID_ANSWER_MISSING: e(
    "TS 33.328 §7.2.5; RFC 8842 §5.3",
    "the e2e answer has no tls-id although one was offered",
  ),
} as const satisfies Record<string, FindingCodeInfo>;

export type FindingCode = keyof typeof FINDING_CODES;

export function isFindingCode(code: string): code is FindingCode {
  return Object.hasOwn(FINDING_CODES, code);
}

/** All codes with severity, clause and description, sorted by code (for README and `--help`). */
export function listFindingCodes(): Array<{ code: FindingCode } & FindingCodeInfo> {
  return (Object.keys(FINDING_CODES) as FindingCode[]).sort().map((code) => ({ code, ...FINDING_CODES[code] }));
}

/** A problem found by a codec; `validate` turns it into a Finding with line/m-line. */
export interface Problem {
  code: FindingCode;
  message: string;
  /** Overrides the table clause when one code serves several attributes (E_ATTR_LEVEL, E_ATTR_DUPLICATE). */
  clause?: string;
}

/** Result of every attribute codec: `value` is present whenever the text could be read at all. */
export interface Parsed<T> {
  /** true when no problem has error severity. */
  ok: boolean;
  value?: T;
  problems: Problem[];
}

export function problem(code: FindingCode, message: string, clause?: string): Problem {
  return clause === undefined ? { code, message } : { code, message, clause };
}

export function hasError(problems: readonly Problem[]): boolean {
  return problems.some((p) => FINDING_CODES[p.code].severity === "error");
}

export function result<T>(value: T | undefined, problems: Problem[]): Parsed<T> {
  const ok = value !== undefined && !hasError(problems);
  return value === undefined ? { ok, problems } : { ok, value, problems };
}

export interface Where {
  line?: number | undefined;
  mline?: number | undefined;
  clause?: string | undefined;
}

export function makeFinding(code: FindingCode, message: string, where: Where = {}): Finding {
  const info = FINDING_CODES[code];
  const f: Finding = { severity: info.severity, code, message, clause: where.clause ?? info.clause };
  if (where.line !== undefined) f.line = where.line;
  if (where.mline !== undefined) f.mline = where.mline;
  return f;
}

export function problemToFinding(p: Problem, where: Where = {}): Finding {
  return makeFinding(p.code, p.message, { ...where, clause: p.clause ?? where.clause });
}

/** Sorts findings by line (findings without a line last), keeping emission order otherwise. */
export function sortFindings(findings: Finding[]): Finding[] {
  return findings
    .map((f, i) => ({ f, i }))
    .sort((a, b) => (a.f.line ?? Number.MAX_SAFE_INTEGER) - (b.f.line ?? Number.MAX_SAFE_INTEGER) || a.i - b.i)
    .map((x) => x.f);
}

export function hasErrors(findings: readonly Finding[]): boolean {
  return findings.some((f) => f.severity === "error");
}
