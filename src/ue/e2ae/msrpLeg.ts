import type { E2aeMsrpOptions, LegContext } from "./endpointTypes.ts";
import { E2aeError, toE2aeError } from "./errors.ts";
import { MsrpSession } from "./msrpSession.ts";
import type { E2aeMediaOptions } from "./sdp.ts";

/** Starts the MSRP session on the verified connection; `ourMedia` is our m-line (its a=path, a=accept-types). */
export function startMsrpLeg(ctx: LegContext, ourMedia: E2aeMediaOptions | undefined, m: E2aeMsrpOptions): MsrpSession {
  const { sock, plan, onGone } = ctx;
  const local = ourMedia?.kind === "msrp" ? ourMedia : undefined;
  const session = new MsrpSession(sock, {
    localPath: local?.path ?? [],
    remotePath: plan.remote.msrp?.pathText ?? [],
    acceptTypes: local?.acceptTypes ?? ["*"],
    ...(m.pathMatch ? { pathMatch: m.pathMatch } : {}),
    ...(m.chunkSize !== undefined ? { chunkSize: m.chunkSize } : {}),
    ...(m.window !== undefined ? { window: m.window } : {}),
    ...(m.maxChunkBytes !== undefined ? { maxChunkBytes: m.maxChunkBytes } : {}),
    ...(m.maxMessageBytes !== undefined ? { maxMessageBytes: m.maxMessageBytes } : {}),
    ...(m.transactionTimeoutMs !== undefined ? { transactionTimeoutMs: m.transactionTimeoutMs } : {}),
    logger: ctx.log,
  });
  session.on("message", (msg) => ctx.events.emit("message", msg));
  session.on("report", (r) => ctx.events.emit("report", r));
  session.on("protocolError", (e) => ctx.events.emit("protocolError", e));
  session.on("close", (err) =>
    onGone(err ? new E2aeError("E_E2AE_PEER_CLOSED", err.message, { cause: err }) : undefined),
  );
  // RFC 4975 §5.4: the TCP-active endpoint sends a (bodiless) SEND at once to bind the connection
  if (plan.tcp === "active" && m.bind !== false) {
    session.bind().catch((e: unknown) => {
      const err = toE2aeError(e, "E_MSRP_RESPONSE", "bodiless SEND");
      if (!session.isClosed) ctx.events.emit("protocolError", err);
    });
  }
  return session;
}
