import {
  createRequest,
  generateBranch,
  generateCallId,
  generateTag,
  type SipMessage,
  type SipRequest,
  type SipResponse,
} from "../../src/sip/message.ts";
import { parseMessage } from "../../src/sip/parse.ts";
import type { SipTransportLayer, TransactionTransport } from "../../src/sip/transport/layer.ts";
import type { SipSource, SipTarget, SipTransportProtocol } from "../../src/sip/transport/types.ts";

/** Resolves when `pred` holds (polling), rejects after `ms`. */
export async function waitFor(pred: () => boolean, ms = 3000, what = "condition"): Promise<void> {
  const start = Date.now();
  while (!pred()) {
    if (Date.now() - start > ms) throw new Error(`timed out waiting for ${what}`);
    await sleep(5);
  }
}

export function sleep(ms: number): Promise<void> {
  return new Promise((r) => setTimeout(r, ms));
}

/** Collects every message a layer delivers. */
export function collect(layer: SipTransportLayer): { messages: { msg: SipMessage; source: SipSource }[] } {
  const out: { messages: { msg: SipMessage; source: SipSource }[] } = { messages: [] };
  layer.onMessage((msg, source) => out.messages.push({ msg, source }));
  return out;
}

/** Counts of active handle types (sockets, timers, servers), for leak checks. */
export function activeResources(): Map<string, number> {
  const m = new Map<string, number>();
  for (const r of process.getActiveResourcesInfo()) m.set(r, (m.get(r) ?? 0) + 1);
  return m;
}

/** Resources that exist now but did not before (by type, counting). */
export function leakedSince(before: Map<string, number>): Record<string, number> {
  const out: Record<string, number> = {};
  for (const [k, v] of activeResources()) {
    const d = v - (before.get(k) ?? 0);
    if (d > 0 && k !== "TTYWrap" && k !== "FSReqCallback") out[k] = d;
  }
  return out;
}

/** Waits until no resource created since `before` is alive (close is asynchronous for some handles). */
export async function expectNoLeaks(before: Map<string, number>, ms = 2000): Promise<Record<string, number>> {
  const start = Date.now();
  let leaked = leakedSince(before);
  while (Object.keys(leaked).length > 0 && Date.now() - start < ms) {
    await sleep(20);
    leaked = leakedSince(before);
  }
  return leaked;
}

/** An OPTIONS request from `layer` over `proto` with a proper Via (branch, rport). */
export function options(
  layer: SipTransportLayer,
  proto: SipTransportProtocol,
  uri: string,
  extra: [string, string][] = [],
): SipRequest {
  const v = layer.localVia(proto);
  return createRequest({
    method: "OPTIONS",
    uri,
    from: `<sip:alice@example.com>;tag=${generateTag()}`,
    to: `<${uri}>`,
    callId: generateCallId(),
    cseq: 1,
    via: [
      `SIP/2.0/${v.transport} ${v.host}${v.port !== undefined ? `:${v.port}` : ""};branch=${generateBranch()};rport`,
    ],
    headers: extra.map(([name, value]) => ({ name, value })),
  });
}

/**
 * A transport for the transaction layer alone, recording what it sends as the wire would carry it: the bytes as
 * text, the message parsed back from them, and the time since construction. UDP is unreliable unless `reliable`.
 */
export class RecordingTransport implements TransactionTransport {
  sent: { kind: "request" | "response"; text: string; msg: SipMessage; at: number }[] = [];
  readonly t0 = Date.now();
  constructor(private readonly reliable = false) {}
  private record(kind: "request" | "response", bytes: Uint8Array): void {
    this.sent.push({ kind, text: new TextDecoder().decode(bytes), msg: parseMessage(bytes), at: Date.now() - this.t0 });
  }
  async sendRequest(req: SipRequest, target: SipTarget): Promise<SipSource> {
    this.record("request", req.toBytes());
    return {
      transport: target.transport,
      host: target.host,
      port: target.port,
      localHost: "127.0.0.1",
      localPort: 5060,
    };
  }
  async sendResponse(res: SipResponse): Promise<void> {
    this.record("response", res.toBytes());
  }
  localVia(t: SipTransportProtocol) {
    return { transport: t, host: "127.0.0.1", port: 5060 };
  }
  isReliable(t: SipTransportProtocol): boolean {
    return this.reliable || t !== "UDP";
  }
}
