/** `a=setup` (RFC 4145 §4) and `a=connection` (RFC 4145 §5) codecs plus the offer/answer role tables. */
import { type Parsed, problem, result } from "./findings.ts";
import { show } from "./text.ts";

export type SetupRole = "active" | "passive" | "actpass" | "holdconn";
export type ConnectionValue = "new" | "existing";
/** DTLS/TLS handshake role: the `active` endpoint is the client (RFC 4145 §4, RFC 5763 §5). */
export type DtlsRole = "client" | "server";

const SETUP_ROLES: readonly SetupRole[] = ["active", "passive", "actpass", "holdconn"];

/** RFC 4145 §4: role = "active" / "passive" / "actpass" / "holdconn" (ABNF literals: case-insensitive). */
export function parseSetup(text: string): Parsed<SetupRole> {
  const v = text.toLowerCase();
  const role = SETUP_ROLES.find((r) => r === v);
  if (!role) return result<SetupRole>(undefined, [problem("E_SETUP_VALUE", `setup value ${show(text)} is not a role`)]);
  return result(role, []);
}

export function formatSetup(role: SetupRole): string {
  return role;
}

// RFC 4145 §4: offer → allowed answers table.
const ANSWERS: Readonly<Record<SetupRole, readonly SetupRole[]>> = {
  active: ["passive", "holdconn"],
  passive: ["active", "holdconn"],
  actpass: ["active", "passive", "holdconn"],
  holdconn: ["holdconn"],
};

/** RFC 4145 §4: the setup default is `active` in an offer and `passive` in an answer. */
export function defaultSetup(kind: "offer" | "answer"): SetupRole {
  return kind === "offer" ? "active" : "passive";
}

/**
 * RFC 4145 §4 table; with `dtls` also RFC 5763 §5: the answer must be active or passive (never actpass or holdconn).
 */
export function isAnswerSetupAllowed(offer: SetupRole, answer: SetupRole, dtls = false): boolean {
  // RFC 5763 §5: the answerer MUST use either setup:active or setup:passive.
  if (dtls && answer !== "active" && answer !== "passive") return false;
  return ANSWERS[offer].includes(answer);
}

/** The roles an answerer may use for an offered role (RFC 4145 §4; RFC 5763 §5 when `dtls`). */
export function allowedAnswerSetups(offer: SetupRole, dtls = false): SetupRole[] {
  return ANSWERS[offer].filter((r) => !dtls || r === "active" || r === "passive");
}

/**
 * The DTLS/TLS role of the local endpoint after an offer/answer exchange. The endpoint whose negotiated setup is
 * `active` initiates the connection and is the (D)TLS client (RFC 5763 §5: "Whichever party is active MUST initiate
 * a DTLS handshake"). Returns undefined when no role results (holdconn or an invalid pair).
 */
export function negotiatedDtlsRole(args: {
  offerSetup: SetupRole | undefined;
  answerSetup: SetupRole | undefined;
  localIsOfferer: boolean;
}): DtlsRole | undefined {
  const offer = args.offerSetup ?? defaultSetup("offer");
  const answer = args.answerSetup ?? defaultSetup("answer");
  if (!isAnswerSetupAllowed(offer, answer) || answer === "holdconn") return undefined;
  const answererActive = answer === "active";
  const localActive = args.localIsOfferer ? !answererActive : answererActive;
  return localActive ? "client" : "server";
}

/** RFC 4145 §5: conn-value = "new" / "existing". */
export function parseConnection(text: string): Parsed<ConnectionValue> {
  const v = text.toLowerCase();
  if (v === "new" || v === "existing") return result<ConnectionValue>(v, []);
  return result<ConnectionValue>(undefined, [
    problem("E_CONNECTION_VALUE", `connection value ${show(text)} is not new/existing`),
  ]);
}

export function formatConnection(v: ConnectionValue): string {
  return v;
}

/** RFC 4145 §5.2: offer `new` → answer `new`; offer `existing` → answer `existing` or `new`. Default is `new`. */
export function isAnswerConnectionAllowed(
  offer: ConnectionValue | undefined,
  answer: ConnectionValue | undefined,
): boolean {
  const o = offer ?? "new";
  const a = answer ?? "new";
  return o === "existing" || a === "new";
}
