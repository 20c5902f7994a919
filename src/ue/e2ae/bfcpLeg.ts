/**
 * The BFCP leg of an `E2aeEndpoint` (RFC 8855 over the verified TLS connection): a `BfcpFloorServer` when the
 * negotiation made us the floor control server (RFC 8856 §5.1), else a `BfcpClient`; events forwarded to the endpoint.
 */
import { BfcpClient } from "./bfcpClient.ts";
import { BfcpFloorServer } from "./bfcpFloorServer.ts";
import type { E2aeBfcpOptions, LegContext } from "./endpointTypes.ts";
import { E2aeError } from "./errors.ts";

export type BfcpLeg = { server: BfcpFloorServer; client?: undefined } | { client: BfcpClient; server?: undefined };

/** Starts the floor control server or the participant, with the identifiers of the plan (RFC 8856 §5.2-5.4). */
export function startBfcpLeg(ctx: LegContext, b: E2aeBfcpOptions): BfcpLeg {
  const { sock, plan, onGone } = ctx;
  const conferenceId = plan.conferenceId ?? 1;
  const userId = plan.userId ?? 1;
  if (plan.floorServer) {
    const server = new BfcpFloorServer({
      conferenceId,
      floorIds: plan.floorIds ?? [1],
      userIds: [userId],
      logger: ctx.log,
    });
    server.on("protocolError", (e) => ctx.events.emit("protocolError", e));
    server.attach(sock);
    sock.once("close", () => onGone(undefined));
    return { server };
  }
  const client = new BfcpClient(sock, {
    conferenceId,
    userId,
    ...(b.transactionTimeoutMs !== undefined ? { transactionTimeoutMs: b.transactionTimeoutMs } : {}),
    logger: ctx.log,
  });
  client.on("floorRequestStatus", (s) => ctx.events.emit("floorRequestStatus", s));
  client.on("protocolError", (e) => ctx.events.emit("protocolError", e));
  client.on("close", (err) =>
    onGone(err ? new E2aeError("E_E2AE_PEER_CLOSED", err.message, { cause: err }) : undefined),
  );
  return { client };
}
