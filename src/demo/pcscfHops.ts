/**
 * The embedded network's trust domain between its P-CSCFs and its S-CSCF (RFC 3325 §5): on one host every node
 * speaks from 127.0.0.1, so an address cannot tell a P-CSCF from anyone else on the machine, and a P-CSCF's TCP
 * connections come from ephemeral ports. The network knows its own P-CSCFs, though: this records the local end of
 * every connection their core sides send on (and their UDP listening ports), and the S-CSCF trusts exactly those
 * sources (the in-process stand-in for the TLS identity a deployment would check).
 */
import type { SipSource, SipTarget, SipTransportLayer } from "../sip/index.ts";

function key(transport: string, host: string, port: number): string {
  return `${transport}|${host.toLowerCase()}|${port}`;
}

export class PcscfHops {
  private readonly sources = new Set<string>();
  private readonly byConnection = new Map<string, string>();

  /** Follows a P-CSCF's core-side layer: its UDP socket, and every TCP/WS connection it sends on. */
  follow(layer: SipTransportLayer): void {
    const udp = layer.address("UDP");
    if (udp) this.sources.add(key("UDP", udp.host, udp.port));
    const orig = layer.sendBytes.bind(layer);
    layer.sendBytes = async (bytes: Uint8Array, target: SipTarget): Promise<SipSource> => {
      const src = await orig(bytes, target);
      this.note(src);
      return src;
    };
    // a connection the S-CSCF opened toward the P-CSCF (a response path): the P-CSCF's end is its local address
    layer.onMessage((_m, src) => this.note(src));
    layer.onConnectionClosed((info) => {
      const k = this.byConnection.get(info.connectionId);
      if (k !== undefined) this.sources.delete(k);
      this.byConnection.delete(info.connectionId);
    });
  }

  private note(src: SipSource): void {
    if (src.connectionId === undefined) return;
    const k = key(src.transport, src.localHost, src.localPort);
    this.sources.add(k);
    this.byConnection.set(src.connectionId, k);
  }

  /** True when `source` (as the S-CSCF sees it) is one of the followed P-CSCFs. */
  has(source: SipSource): boolean {
    return this.sources.has(key(source.transport, source.host, source.port));
  }
}
