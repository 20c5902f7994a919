/**
 * The negotiated plan of one e2ae stream: the TCP and TLS roles, the remote m-line and address, and (BFCP) the floor
 * control roles and identifiers, as decided from the offer/answer exchange.
 */
import type { Finding, Fingerprint, FloorCtrlRole, SetupRole } from "../../sdp/index.ts";
import type { E2aeEndpointOptions } from "./endpointTypes.ts";
import { E2aeError } from "./errors.ts";
import { type E2aeKind, type E2aeMedia, type E2aeMediaOptions, localIsFloorServer, localTlsRole } from "./sdp.ts";
import type { TlsRole } from "./tls.ts";

export interface Plan {
  tcp: "active" | "passive";
  tls: TlsRole;
  remote: E2aeMedia;
  remoteAddress: string;
  remotePort: number;
  localIsOfferer: boolean;
  /** BFCP only */
  floorServer?: boolean;
  conferenceId?: number;
  userId?: number;
  floorIds?: number[];
}

export function findingsError(what: string, findings: readonly Finding[]): E2aeError {
  const errors = findings.filter((f) => f.severity === "error");
  const summary = errors.map((f) => `${f.code}${f.line !== undefined ? ` (line ${f.line})` : ""}`).join(", ");
  return new E2aeError("E_E2AE_SDP", `${what} refused: ${summary}`, { details: { findings: errors } });
}

function u32(s: string | undefined): number | undefined {
  if (s === undefined || !/^\d{1,10}$/.test(s)) return undefined;
  const n = Number(s);
  return n <= 0xffff_ffff ? n : undefined;
}

/** What our own m-line is made of: the stream kind, our address, certificate fingerprint and MSRP session-id. */
export interface LocalStream {
  kind: E2aeKind;
  address: string;
  fingerprint: Fingerprint;
  sessionId: string;
  opts: E2aeEndpointOptions;
}

/** Our m-line (offer or answer) for `port` and `setup`, with our fingerprint and, in an offer, a=3ge2ae:requested. */
export function localMediaOptions(
  local: LocalStream,
  port: number,
  setup: SetupRole,
  floorctrl: FloorCtrlRole[],
  e2ae: "requested" | undefined,
): E2aeMediaOptions {
  const common = {
    port,
    connection: { address: local.address },
    setup,
    fingerprints: [local.fingerprint],
    ...(e2ae ? { e2ae } : {}),
  };
  if (local.kind === "msrp") {
    const host = local.address.includes(":") ? `[${local.address}]` : local.address;
    return {
      kind: "msrp",
      ...common,
      // RFC 4975 §6 / §8.2: msrps URI of this session on the TLS transport
      path: [`msrps://${host}:${port}/${local.sessionId};tcp`],
      acceptTypes: local.opts.msrp?.acceptTypes ?? ["message/cpim", "text/plain"],
      ...(local.opts.msrp?.acceptWrappedTypes ? { acceptWrappedTypes: local.opts.msrp.acceptWrappedTypes } : {}),
    };
  }
  const b = local.opts.bfcp ?? {};
  const serving = floorctrl.length === 1 && floorctrl[0] === "s-only";
  return {
    kind: "bfcp",
    ...common,
    floorctrl,
    // RFC 8856 §5.2-5.4: the floor control server side states confid, the client's userid and its floors
    ...(serving || floorctrl.includes("c-s")
      ? {
          confid: b.conferenceId ?? 1,
          userid: b.userId ?? 1,
          floorIds: b.floorIds ?? [1],
        }
      : {}),
    bfcpver: b.bfcpver ?? [1],
  };
}

/**
 * Decides the plan from the remote m-line and the TCP role: TLS role, address to connect to and (BFCP) the floor
 * control server and its identifiers. Throws E_E2AE_SDP when the remote m-line cannot carry the stream.
 */
export function makePlan(
  kind: E2aeKind,
  opts: E2aeEndpointOptions,
  remote: E2aeMedia,
  tcp: "active" | "passive",
  localIsOfferer: boolean,
  local: FloorCtrlRole[],
): Plan {
  if (remote.fingerprints.length === 0)
    throw new E2aeError("E_E2AE_SDP", "the remote m-line has no usable a=fingerprint (RFC 8122 §5)");
  const plan: Plan = {
    tcp,
    tls: opts.tlsRole ?? localTlsRole(kind, tcp, localIsOfferer),
    remote,
    remoteAddress: remote.address ?? "",
    remotePort: remote.port,
    localIsOfferer,
  };
  if (tcp === "active" && (plan.remoteAddress === "" || plan.remotePort === 0 || plan.remotePort === 9))
    throw new E2aeError("E_E2AE_SDP", "we are TCP-active but the remote gives no address/port to connect to");
  if (kind === "msrp" && (remote.msrp?.pathText.length ?? 0) === 0)
    throw new E2aeError("E_E2AE_SDP", "the remote MSRP m-line has no a=path (RFC 4975 §8.1)");
  if (kind === "bfcp") {
    const remoteRoles = remote.bfcp?.floorctrl ?? [];
    const server = localIsOfferer ? localIsFloorServer(local, remoteRoles) : local[0] === "s-only";
    plan.floorServer = server;
    const b = opts.bfcp ?? {};
    if (server) {
      plan.conferenceId = b.conferenceId ?? 1;
      plan.userId = b.userId ?? 1;
      plan.floorIds = b.floorIds ?? [1];
    } else {
      // RFC 8856 §5.2/§5.3: the client learns the Conference ID and its User ID from the server's SDP
      const confid = u32(remote.bfcp?.confid);
      const userid = u32(remote.bfcp?.userid);
      if (confid === undefined || userid === undefined || userid > 0xffff)
        throw new E2aeError(
          "E_E2AE_SDP",
          "the floor control server's SDP lacks a=confid / a=userid (RFC 8856 §5.2-5.3)",
        );
      plan.conferenceId = confid;
      plan.userId = userid;
      plan.floorIds = (remote.bfcp?.floorIds ?? []).map((f) => Number(f.floorId));
    }
  }
  return plan;
}
