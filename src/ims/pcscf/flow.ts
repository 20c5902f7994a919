/**
 * Flows toward UEs (RFC 5626 §5.2/§5.3 style, without Outbound): the P-CSCF remembers the transport, remote address
 * and connection a UE's requests arrive on, and writes a flow token into the user part of the URIs it puts into Path
 * (RFC 3327) and Record-Route (RFC 3261 §16.6 step 4). A request that comes back through such a URI is sent on that
 * flow: over TCP/WS on the UE's own connection, over UDP to the address the UE sent from. The token is
 * integrity-protected (HMAC-SHA-256, RFC 5626 §5.2 recommends it) so that a peer cannot steer the P-CSCF to an
 * arbitrary flow.
 */
import { createHmac, randomBytes, timingSafeEqual } from "node:crypto";
import type { SipSource, SipTarget, SipTransportProtocol } from "../../sip/index.ts";

/** A flow: where the UE's messages come from (its connection for TCP/WS). */
export interface Flow {
  transport: SipTransportProtocol;
  /** remote address as Node reports it (no brackets) */
  host: string;
  port: number;
  /** the connection of a TCP/WS flow (SipTransportLayer connection id) */
  connectionId?: string | undefined;
}

/** The flow a message arrived on. */
export function flowOf(source: SipSource): Flow {
  return { transport: source.transport, host: source.host, port: source.port, connectionId: source.connectionId };
}

/** Stable key of a flow: transport + remote address + port (a TCP/WS connection is identified by its remote port). */
export function flowKey(f: Pick<Flow, "transport" | "host" | "port">): string {
  return `${f.transport}|${f.host}|${f.port}`;
}

/** The send target for a flow: its connection when it has one (RFC 5626 §5.3: requests go over the same flow). */
export function flowTarget(f: Flow): SipTarget {
  return { transport: f.transport, host: f.host, port: f.port, connectionId: f.connectionId };
}

/** token indexes: append only (a token names its transport by index) */
const TRANSPORTS: readonly SipTransportProtocol[] = ["UDP", "TCP", "WS", "TLS", "WSS"];
const B64URL = /^[A-Za-z0-9_-]+$/;
/** entries of each token cache before it is cleared */
const CACHE_MAX = 4096;

/** Encodes and checks flow tokens: base64url(payload) "." base64url(HMAC-SHA-256(payload)[0..12]). */
export class FlowTokens {
  private readonly secret: Uint8Array;
  /**
   * This P-CSCF instance. Connection ids restart with the process (tcp-1, ws-1 …): with a `flowSecret` kept across a
   * restart, a token of the previous instance would otherwise name whatever connection now has its id — another UE's.
   * A token from another epoch keeps its address and loses its connection id (RFC 5626 §5.3: that flow is gone).
   */
  private readonly epoch: string;

  /**
   * Tokens already computed (flow payload → token) and tokens already verified (token → flow): a UE's flow is minted
   * and read on every dialog-creating and in-dialog request, and the HMAC is the same each time. Bounded: cleared at
   * CACHE_MAX entries. Only tokens whose HMAC verified are kept, so a forged token never skips the check.
   */
  private readonly encoded = new Map<string, string>();
  private readonly decoded = new Map<string, Flow>();

  constructor(secret?: Uint8Array) {
    this.secret = secret ?? randomBytes(32);
    this.epoch = randomBytes(6).toString("base64url");
  }

  private mac(payload: string): Buffer {
    return createHmac("sha256", this.secret).update(payload).digest().subarray(0, 12);
  }

  /** RFC 5626 §5.2: a token that lets the proxy find the flow again; only characters legal in a SIP user part. */
  encode(f: Flow): string {
    const conn = f.connectionId === undefined ? "" : `${f.connectionId}@${this.epoch}`;
    const payload = `${TRANSPORTS.indexOf(f.transport)}|${f.host}|${f.port}|${conn}`;
    const hit = this.encoded.get(payload);
    if (hit !== undefined) return hit;
    const token = `${Buffer.from(payload, "utf8").toString("base64url")}.${this.mac(payload).toString("base64url")}`;
    if (this.encoded.size >= CACHE_MAX) this.encoded.clear();
    this.encoded.set(payload, token);
    return token;
  }

  /** The flow of a token, or undefined when it is malformed or its HMAC does not verify. */
  decode(token: string): Flow | undefined {
    const hit = this.decoded.get(token);
    if (hit !== undefined) return { ...hit };
    const flow = this.verify(token);
    if (flow) {
      if (this.decoded.size >= CACHE_MAX) this.decoded.clear();
      this.decoded.set(token, flow);
      return { ...flow };
    }
    return undefined;
  }

  private verify(token: string): Flow | undefined {
    const dot = token.indexOf(".");
    if (dot <= 0) return undefined;
    const p = token.slice(0, dot);
    const m = token.slice(dot + 1);
    if (!B64URL.test(p) || !B64URL.test(m) || p.length > 400) return undefined;
    const payload = Buffer.from(p, "base64url").toString("utf8");
    const got = Buffer.from(m, "base64url");
    const want = this.mac(payload);
    if (got.length !== want.length || !timingSafeEqual(got, want)) return undefined;
    const [t, host, port, conn] = payload.split("|");
    const transport = TRANSPORTS[Number(t)];
    const portNum = Number(port);
    if (transport === undefined || host === undefined || host === "" || !Number.isInteger(portNum)) return undefined;
    if (portNum < 1 || portNum > 65535) return undefined;
    const at = conn === undefined ? -1 : conn.lastIndexOf("@");
    const connectionId =
      conn !== undefined && at > 0 && conn.slice(at + 1) === this.epoch ? conn.slice(0, at) : undefined;
    return { transport, host, port: portNum, connectionId };
  }
}
