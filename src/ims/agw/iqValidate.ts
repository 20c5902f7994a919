/**
 * Validation of everything that crosses the Iq reference point: every request of the WebSocket binding and of the
 * in-process binding goes through the `parse*` request functions, which throw `AgwError("E_AGW_INVALID_PARAM")` and
 * never anything else; the WebSocket client checks what it receives with the response/event shape checks.
 */
import { isIP } from "node:net";
import { FINDING_CODES, type Fingerprint, parseFingerprint } from "../../sdp/index.ts";
import { AgwError } from "./iqErrors.ts";
import { IQ_EVENT_NAMES, type IqEvent } from "./iqEvents.ts";
import {
  type AgwConnectionPoint,
  type ConfigureAgwConnectionPointRequest,
  IQ_TRANSPORTS,
  type ReleaseAgwConnectionPointRequest,
  type ReleaseAgwConnectionPointResponse,
  type ReleaseAgwContextRequest,
  type ReleaseAgwContextResponse,
  type RemoteDescriptor,
  type ReserveAgwConnectionPointRequest,
  type ReserveAndConfigureAgwConnectionPointRequest,
  type TcpEstablishment,
  TERMINATION_SIDES,
  type TerminationStatistics,
  type TerminationTimers,
} from "./iqTypes.ts";

/** The per-termination settings IEs shared by Reserve and Configure. */
type TerminationSettings = Pick<
  ConfigureAgwConnectionPointRequest,
  | "tcpEstablishmentInterlinkage"
  | "establishTlsSession"
  | "tlsRole"
  | "notifyTlsSessionEstablishmentFailureEvent"
  | "localCertificateFingerprintRequest"
>;

/** Bounds on IE values. */
export const IQ_LIMITS = {
  idLength: 64,
  fingerprints: 8,
  /** longest timer: 1 hour */
  timerMs: 3_600_000,
} as const;

const ID_RE = /^[A-Za-z0-9._:-]{1,64}$/;
const HASH_TOKEN_RE = /^[A-Za-z0-9-]{1,16}$/;
const HEX_PAIRS_RE = /^[0-9A-Fa-f]{2}(:[0-9A-Fa-f]{2}){0,63}$/;

type Rec = Record<string, unknown>;

function invalid(path: string, why: string): AgwError {
  return new AgwError("E_AGW_INVALID_PARAM", `${path}: ${why}`);
}

export function isRecord(x: unknown): x is Rec {
  return typeof x === "object" && x !== null && !Array.isArray(x);
}

function record(x: unknown, path: string, allowed: readonly string[]): Rec {
  if (!isRecord(x)) throw invalid(path, "must be an object");
  for (const k of Object.keys(x)) {
    if (!allowed.includes(k)) throw invalid(`${path}.${k.slice(0, 40)}`, "unknown field");
  }
  return x;
}

function optBool(r: Rec, k: string, path: string): boolean | undefined {
  const v = r[k];
  if (v === undefined) return undefined;
  if (typeof v !== "boolean") throw invalid(`${path}.${k}`, "must be a boolean");
  return v;
}

function reqId(r: Rec, k: string, path: string): string {
  const v = r[k];
  if (typeof v !== "string" || !ID_RE.test(v))
    throw invalid(`${path}.${k}`, "must be an identifier [A-Za-z0-9._:-]{1,64}");
  return v;
}

function oneOf<T extends string>(v: unknown, values: readonly T[], path: string): T {
  if (typeof v !== "string" || !(values as readonly string[]).includes(v)) {
    throw invalid(path, `must be one of ${values.join(", ")}`);
  }
  return v as T;
}

function optInt(r: Rec, k: string, path: string, min: number, max: number): number | undefined {
  const v = r[k];
  if (v === undefined) return undefined;
  if (typeof v !== "number" || !Number.isInteger(v) || v < min || v > max) {
    throw invalid(`${path}.${k}`, `must be an integer in [${min}, ${max}]`);
  }
  return v;
}

function optAddress(r: Rec, k: string, path: string): string | undefined {
  const v = r[k];
  if (v === undefined) return undefined;
  if (typeof v !== "string" || v.length > 45 || isIP(v) === 0) throw invalid(`${path}.${k}`, "must be an IP address");
  return v;
}

/**
 * Validates one Remote certificate fingerprint IE with the SDP codec (RFC 8122 §5): hash-func token, hex pairs, the
 * byte count of the hash; md2/md5 refused. A well-formed hash function the codec does not know is ignored, as in SDP
 * (undefined): it could never verify a certificate.
 */
export function parseCertificateFingerprint(x: unknown, path: string): Fingerprint | undefined {
  const r = record(x, path, ["hash", "value"]);
  const hash = r.hash;
  const value = r.value;
  if (typeof hash !== "string" || !HASH_TOKEN_RE.test(hash)) throw invalid(`${path}.hash`, "bad token");
  if (typeof value !== "string" || !HEX_PAIRS_RE.test(value)) throw invalid(`${path}.value`, "must be hex pairs");
  const parsed = parseFingerprint(`${hash} ${value}`);
  const error = parsed.problems.find((p) => FINDING_CODES[p.code].severity === "error");
  // RFC 8122 §5: MUST NOT use MD2/MD5 to verify received fingerprints.
  if (error?.code === "E_FP_WEAK_HASH")
    throw invalid(`${path}.hash`, `${hash.toLowerCase()} is not allowed (RFC 8122 §5)`);
  // RFC 8122 §5: the byte count is fixed by the hash function
  if (error) throw invalid(`${path}.value`, error.message);
  return parsed.value;
}

const REMOTE_FIELDS = ["address", "port", "certificateFingerprints", "setup"] as const;

export function parseRemoteDescriptor(x: unknown, path: string): RemoteDescriptor {
  const r = record(x, path, REMOTE_FIELDS);
  const address = optAddress(r, "address", path);
  const port = optInt(r, "port", path, 0, 65535);
  let fps: Fingerprint[] | undefined;
  if (r.certificateFingerprints !== undefined) {
    const a = r.certificateFingerprints;
    if (!Array.isArray(a) || a.length > IQ_LIMITS.fingerprints) {
      throw invalid(`${path}.certificateFingerprints`, `must be an array of at most ${IQ_LIMITS.fingerprints}`);
    }
    fps = a.flatMap((f, i) => parseCertificateFingerprint(f, `${path}.certificateFingerprints[${i}]`) ?? []);
  }
  const setup =
    r.setup === undefined
      ? undefined
      : oneOf(r.setup, ["active", "passive", "actpass", "holdconn"] as const, `${path}.setup`);
  return {
    ...(address !== undefined ? { address } : {}),
    ...(port !== undefined ? { port } : {}),
    ...(fps !== undefined ? { certificateFingerprints: fps } : {}),
    ...(setup !== undefined ? { setup } : {}),
  };
}

const TIMER_FIELDS = ["establishmentMs", "connectMs", "handshakeMs", "fingerprintWaitMs", "holdMs", "idleMs"] as const;

function parseTimers(x: unknown, path: string): TerminationTimers {
  const r = record(x, path, TIMER_FIELDS);
  const out: Record<string, number> = {};
  for (const k of TIMER_FIELDS) {
    const v = optInt(r, k, path, 0, IQ_LIMITS.timerMs);
    if (v !== undefined) out[k] = v;
  }
  return out as TerminationTimers;
}

function parseTcpEstablishment(x: unknown, path: string): TcpEstablishment {
  const r = record(x, path, ["mode", "policy"]);
  const mode = oneOf(r.mode, ["immediate", "delayed"] as const, `${path}.mode`);
  if (mode === "immediate") {
    if (r.policy !== undefined) throw invalid(`${path}.policy`, "only for delayed mode");
    return { mode };
  }
  // TR 29.828 §4.4.2.2 Editor's note "dropped or stored": both offered, default drop (the text's "ignore").
  const policy = r.policy === undefined ? "drop" : oneOf(r.policy, ["drop", "hold"] as const, `${path}.policy`);
  return { mode, policy };
}

const SETTINGS_FIELDS = [
  "tcpEstablishmentInterlinkage",
  "establishTlsSession",
  "tlsRole",
  "notifyTlsSessionEstablishmentFailureEvent",
  "localCertificateFingerprintRequest",
] as const;

function parseSettings(r: Rec, path: string): TerminationSettings {
  const out: { -readonly [K in keyof TerminationSettings]: TerminationSettings[K] } = {};
  for (const k of [
    "tcpEstablishmentInterlinkage",
    "establishTlsSession",
    "notifyTlsSessionEstablishmentFailureEvent",
    "localCertificateFingerprintRequest",
  ] as const) {
    const v = optBool(r, k, path);
    if (v !== undefined) out[k] = v;
  }
  if (r.tlsRole !== undefined) out.tlsRole = oneOf(r.tlsRole, ["client", "server"] as const, `${path}.tlsRole`);
  return out;
}

const RESERVE_FIELDS = [
  ...SETTINGS_FIELDS,
  "contextId",
  "side",
  "transport",
  "localAddress",
  "localPort",
  "tcpEstablishment",
  "timers",
] as const;

function parseReserveCommon(r: Rec, path: string): ReserveAgwConnectionPointRequest {
  const side = oneOf(r.side, TERMINATION_SIDES, `${path}.side`);
  const transport = oneOf(r.transport, IQ_TRANSPORTS, `${path}.transport`);
  const contextId = r.contextId === undefined ? undefined : reqId(r, "contextId", path);
  const localAddress = optAddress(r, "localAddress", path);
  const localPort = optInt(r, "localPort", path, 0, 65535);
  const tcpEstablishment =
    r.tcpEstablishment === undefined
      ? undefined
      : parseTcpEstablishment(r.tcpEstablishment, `${path}.tcpEstablishment`);
  const timers = r.timers === undefined ? undefined : parseTimers(r.timers, `${path}.timers`);
  const settings = parseSettings(r, path);
  if (!transport.includes("TLS")) {
    for (const k of ["establishTlsSession", "tlsRole", "localCertificateFingerprintRequest"] as const) {
      if (settings[k] !== undefined && settings[k] !== false) throw invalid(`${path}.${k}`, "only for TLS transports");
    }
  }
  return {
    side,
    transport,
    ...settings,
    ...(contextId !== undefined ? { contextId } : {}),
    ...(localAddress !== undefined ? { localAddress } : {}),
    ...(localPort !== undefined ? { localPort } : {}),
    ...(tcpEstablishment !== undefined ? { tcpEstablishment } : {}),
    ...(timers !== undefined ? { timers } : {}),
  };
}

export function parseReserveRequest(x: unknown): ReserveAgwConnectionPointRequest {
  const path = "reserveAgwConnectionPoint";
  return parseReserveCommon(record(x, path, RESERVE_FIELDS), path);
}

export function parseReserveAndConfigureRequest(x: unknown): ReserveAndConfigureAgwConnectionPointRequest {
  const path = "reserveAndConfigureAgwConnectionPoint";
  const r = record(x, path, [...RESERVE_FIELDS, "remote", "tcpConnect", "acceptTcpOnlyFromRemote"]);
  const base = parseReserveCommon(r, path);
  if (r.remote === undefined) throw invalid(`${path}.remote`, "required");
  const remote = parseRemoteDescriptor(r.remote, `${path}.remote`);
  const tcpConnect = optBool(r, "tcpConnect", path);
  const acceptTcpOnlyFromRemote = optBool(r, "acceptTcpOnlyFromRemote", path);
  return {
    ...base,
    remote,
    ...(tcpConnect !== undefined ? { tcpConnect } : {}),
    ...(acceptTcpOnlyFromRemote !== undefined ? { acceptTcpOnlyFromRemote } : {}),
  };
}

export function parseConfigureRequest(x: unknown): ConfigureAgwConnectionPointRequest {
  const path = "configureAgwConnectionPoint";
  const r = record(x, path, [
    ...SETTINGS_FIELDS,
    "contextId",
    "terminationId",
    "remote",
    "tcpConnect",
    "acceptTcpOnlyFromRemote",
  ]);
  const contextId = reqId(r, "contextId", path);
  const terminationId = reqId(r, "terminationId", path);
  const remote = r.remote === undefined ? undefined : parseRemoteDescriptor(r.remote, `${path}.remote`);
  const tcpConnect = optBool(r, "tcpConnect", path);
  const acceptTcpOnlyFromRemote = optBool(r, "acceptTcpOnlyFromRemote", path);
  return {
    contextId,
    terminationId,
    ...parseSettings(r, path),
    ...(remote !== undefined ? { remote } : {}),
    ...(tcpConnect !== undefined ? { tcpConnect } : {}),
    ...(acceptTcpOnlyFromRemote !== undefined ? { acceptTcpOnlyFromRemote } : {}),
  };
}

export function parseReleaseRequest(x: unknown): ReleaseAgwConnectionPointRequest {
  const path = "releaseAgwConnectionPoint";
  const r = record(x, path, ["contextId", "terminationId"]);
  return { contextId: reqId(r, "contextId", path), terminationId: reqId(r, "terminationId", path) };
}

export function parseReleaseContextRequest(x: unknown): ReleaseAgwContextRequest {
  const path = "releaseAgwContext";
  const r = record(x, path, ["contextId"]);
  return { contextId: reqId(r, "contextId", path) };
}

// --- response / event shape checks (used by the WebSocket client on what it receives) ---

function str(r: Rec, k: string, path: string): string {
  const v = r[k];
  if (typeof v !== "string" || v.length > 256) throw invalid(`${path}.${k}`, "must be a string");
  return v;
}

function int(r: Rec, k: string, path: string): number {
  const v = r[k];
  if (typeof v !== "number" || !Number.isSafeInteger(v) || v < 0) throw invalid(`${path}.${k}`, "must be an integer");
  return v;
}

export function parseAgwConnectionPoint(x: unknown): AgwConnectionPoint {
  const path = "result";
  if (!isRecord(x)) throw invalid(path, "must be an object");
  const fp =
    x.localCertificateFingerprint === undefined
      ? undefined
      : parseCertificateFingerprint(x.localCertificateFingerprint, `${path}.localCertificateFingerprint`);
  return {
    contextId: str(x, "contextId", path),
    terminationId: str(x, "terminationId", path),
    side: oneOf(x.side, TERMINATION_SIDES, `${path}.side`),
    transport: oneOf(x.transport, IQ_TRANSPORTS, `${path}.transport`),
    localAddress: str(x, "localAddress", path),
    localPort: int(x, "localPort", path),
    state: oneOf(
      x.state,
      [
        "reserved",
        "connecting",
        "connected",
        "tls-handshake",
        "awaiting-fingerprint",
        "ready",
        "relaying",
        "closed",
        "failed",
      ] as const,
      `${path}.state`,
    ),
    ...(fp !== undefined ? { localCertificateFingerprint: fp } : {}),
  };
}

function parseStatistics(x: unknown, path: string): TerminationStatistics {
  if (!isRecord(x)) throw invalid(path, "must be an object");
  return { octetsReceived: int(x, "octetsReceived", path), octetsSent: int(x, "octetsSent", path) };
}

export function parseReleaseResponse(x: unknown): ReleaseAgwConnectionPointResponse {
  const path = "result";
  if (!isRecord(x)) throw invalid(path, "must be an object");
  return {
    contextId: str(x, "contextId", path),
    terminationId: str(x, "terminationId", path),
    statistics: parseStatistics(x.statistics, `${path}.statistics`),
  };
}

export function parseReleaseContextResponse(x: unknown): ReleaseAgwContextResponse {
  const path = "result";
  if (!isRecord(x)) throw invalid(path, "must be an object");
  const t = x.terminations;
  if (!Array.isArray(t) || t.length > 16) throw invalid(`${path}.terminations`, "must be an array");
  return { contextId: str(x, "contextId", path), terminations: t.map((e) => parseReleaseResponse(e)) };
}

/**
 * Shape check of a pushed event: known name, string ids; the rest is passed through as received (informative).
 * Returns undefined for anything that is not a well-formed event.
 */
export function parseIqEvent(x: unknown): IqEvent | undefined {
  if (!isRecord(x)) return undefined;
  if (typeof x.event !== "string" || !(IQ_EVENT_NAMES as readonly string[]).includes(x.event)) return undefined;
  if (typeof x.contextId !== "string" || typeof x.terminationId !== "string") return undefined;
  return x as unknown as IqEvent;
}
