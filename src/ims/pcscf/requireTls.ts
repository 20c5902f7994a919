/**
 * The P-CSCF's access side can require TLS (`access.requireTls`): a request from a UE that arrives over UDP, TCP or
 * plain WS is refused before it is parsed, statelessly, with 403 Forbidden (RFC 3261 §21.4.4: understood, refused,
 * authorization will not help) and a Warning naming E_PCSCF_TLS_REQUIRED (RFC 3261 §20.43, code 399). RFC 3261
 * §26.2.2 lets a node "refuse requests over insecure transports"; RFC 5630 §3.1.3 makes the transport itself, not the
 * URI scheme, carry that guarantee per hop. Every refusal is an audit event. ACKs are never answered (the layer drops
 * them, RFC 3261 §17.1.1.3).
 */
import type { AuditEvent } from "../../log.ts";
import type { InboundGate } from "../../sip/transport/layer.ts";
import { bareHost, isSecureTransport, type SipSource } from "../../sip/transport/types.ts";
import { formatWarningValue } from "./warning.ts";

export interface RequireTlsOptions {
  name: string;
  warnAgent: string;
  record(e: AuditEvent): void;
  /** sources exempt from the rule: the S-CSCF / next hop when one interface serves both sides ("host|port") */
  exempt: ReadonlySet<string>;
}

const TLS_REQUIRED_CODE = "E_PCSCF_TLS_REQUIRED";

/** The gate verdict for one inbound request: undefined (over TLS/WSS, or exempt) or the 403 refusal. */
export function requireTlsGate(o: RequireTlsOptions): (source: SipSource) => ReturnType<InboundGate> {
  return (source) => {
    if (isSecureTransport(source.transport)) return undefined;
    if (o.exempt.has(`${bareHost(source.host)}|${source.port}`)) return undefined;
    o.record({
      node: "pcscf",
      instance: o.name,
      event: "tls-required",
      decision: "refuse",
      clause: "RFC 3261 §26.2.2",
      code: TLS_REQUIRED_CODE,
      transport: source.transport,
      source: `${source.host}:${source.port}`,
    });
    // RFC 3261 §21.4.4 / §20.43: 403 with a Warning that says why
    const warning = formatWarningValue({
      code: 399,
      agent: o.warnAgent,
      text: `${TLS_REQUIRED_CODE}: this P-CSCF accepts requests over TLS or WSS only`,
    });
    return { status: 403, reason: "Forbidden", headers: [{ name: "Warning", value: warning }] };
  };
}
