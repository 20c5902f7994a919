/** BFCP SDP codecs (RFC 8856 §4, §5): floorctrl, confid, userid, floorid, bfcpver. */
import { type Parsed, problem, result } from "./findings.ts";
import { isDigits, isToken, parseUint, show } from "./text.ts";

/** RFC 8856 §4 proto values (plus the RFC 8857 WebSocket forms). */
export const BFCP_PROTOS = [
  "TCP/BFCP",
  "TCP/TLS/BFCP",
  "UDP/BFCP",
  "UDP/TLS/BFCP",
  "TCP/WS/BFCP",
  "TCP/WSS/BFCP",
] as const;
export type BfcpProto = (typeof BFCP_PROTOS)[number];

export function isBfcpProto(proto: string): proto is BfcpProto {
  return (BFCP_PROTOS as readonly string[]).includes(proto);
}

export type FloorCtrlRole = "c-only" | "s-only" | "c-s";
const ROLES: readonly FloorCtrlRole[] = ["c-only", "s-only", "c-s"];

/** RFC 8856 §5.1: floor-control = role *(SP role); role = "c-only" / "s-only" / "c-s". */
export function parseFloorCtrl(text: string): Parsed<FloorCtrlRole[]> {
  const roles: FloorCtrlRole[] = [];
  for (const t of text.split(" ")) {
    const role = ROLES.find((r) => r === t.toLowerCase());
    if (!role || roles.includes(role)) {
      return result<FloorCtrlRole[]>(undefined, [
        problem("E_BFCP_FLOORCTRL", `floorctrl ${show(text)} is not a list of distinct roles`),
      ]);
    }
    roles.push(role);
  }
  return result(roles, []);
}

export function formatFloorCtrl(roles: readonly FloorCtrlRole[]): string {
  return roles.join(" ");
}

/**
 * RFC 8856 §5.1 offer/answer table: offer c-only → answer s-only; offer s-only → answer c-only; offer c-s → answer
 * c-only or s-only. The answer carries exactly one role.
 */
export function allowedFloorCtrlAnswers(offer: readonly FloorCtrlRole[]): FloorCtrlRole[] {
  const out = new Set<FloorCtrlRole>();
  for (const r of offer) {
    if (r === "c-only") out.add("s-only");
    else if (r === "s-only") out.add("c-only");
    else {
      out.add("c-only");
      out.add("s-only");
    }
  }
  return ROLES.filter((r) => out.has(r));
}

export function isFloorCtrlAnswerAllowed(offer: readonly FloorCtrlRole[], answer: readonly FloorCtrlRole[]): boolean {
  const only = answer[0];
  return answer.length === 1 && only !== undefined && allowedFloorCtrlAnswers(offer).includes(only);
}

/** RFC 8856 §5.2: conference-id = 1*DIGIT (BFCP Conference ID is 32-bit, RFC 8855 §5.1). Kept as the exact string. */
export function parseConfId(text: string): Parsed<string> {
  if (parseUint(text, 0xffff_ffff) === undefined) {
    return result<string>(undefined, [problem("E_BFCP_CONFID", `confid ${show(text)} is not 1*DIGIT within 32 bits`)]);
  }
  return result(text, []);
}

/** RFC 8856 §5.3: user-id = 1*DIGIT (BFCP User ID is 16-bit, RFC 8855 §5.1). Kept as the exact string. */
export function parseUserId(text: string): Parsed<string> {
  if (parseUint(text, 0xffff) === undefined) {
    return result<string>(undefined, [problem("E_BFCP_USERID", `userid ${show(text)} is not 1*DIGIT within 16 bits`)]);
  }
  return result(text, []);
}

export interface FloorId {
  /** The floor id digits exactly as written (16-bit value). */
  floorId: string;
  /** Media stream labels the floor controls (`mstrm:` list). */
  mstrm: string[];
  /** True when the RFC 4583 spelling `m-stream:` was used. */
  legacy?: boolean;
}

/** RFC 8856 §5.4: floor-id = 1*DIGIT [SP "mstrm:" token *(SP token)]; RFC 4583 `m-stream:` accepted. */
export function parseFloorId(text: string): Parsed<FloorId> {
  const m = /^(\d+)(?: (mstrm|m-stream):(.*))?$/i.exec(text);
  const labels = m?.[3] === undefined ? [] : m[3].split(" ");
  if (
    !m ||
    parseUint(m[1] ?? "", 0xffff) === undefined ||
    (m[2] !== undefined && !labels.every((l) => l !== "" && isToken(l)))
  ) {
    return result<FloorId>(undefined, [
      problem("E_BFCP_FLOORID", `floorid ${show(text)} is not "<id> [mstrm:<label> ...]"`),
    ]);
  }
  const fid: FloorId = { floorId: m[1] ?? "", mstrm: labels };
  if ((m[2] ?? "").toLowerCase() === "m-stream") fid.legacy = true;
  return result(fid, []);
}

export function formatFloorId(f: FloorId): string {
  return f.mstrm.length === 0 ? f.floorId : `${f.floorId} ${f.legacy ? "m-stream" : "mstrm"}:${f.mstrm.join(" ")}`;
}

/** RFC 8856 §5.5: bfcp-version = version *(SP version); version = 1*DIGIT. */
export function parseBfcpVer(text: string): Parsed<number[]> {
  const parts = text.split(" ");
  const nums = parts.map((p) => (isDigits(p) ? parseUint(p, 0xff, 1) : undefined));
  if (text === "" || nums.some((n) => n === undefined)) {
    return result<number[]>(undefined, [problem("E_BFCP_VERSION", `bfcpver ${show(text)} is not a list of versions`)]);
  }
  return result(nums as number[], []);
}

export function formatBfcpVer(versions: readonly number[]): string {
  return versions.join(" ");
}
