/**
 * The S-CSCF's trust domain (RFC 3325 §2 "Trust Domain", §5 Spec(T)): the P-CSCFs it accepts originating requests
 * and P-Asserted-Identity from. A peer is trusted by
 *
 * - address: an IP address ("10.0.0.7"), an address and port ("10.0.0.7:5070", "[2001:db8::7]:5070") or a CIDR
 *   block ("10.0.0.0/24"). A port pins UDP senders only: a TCP / WS / TLS connection comes from an ephemeral port, so
 *   connection-oriented P-CSCFs are matched by address (or CIDR) or by TLS identity;
 * - TLS identity: the RFC 8122 §5 fingerprint of the certificate the peer presented on the inbound connection
 *   ("sha-256 AB:CD:…", SHA-256 or stronger), as told by the `peerIdentity` hook (the TLS transport knows it);
 * - a predicate over the inbound source (in-process wiring, e.g. the embedded network's own P-CSCF connections).
 */
import net from "node:net";
import { type Fingerprint, formatFingerprint, parseFingerprint, sameFingerprint } from "../../sdp/fingerprint.ts";
import type { SipSource } from "../../sip/index.ts";
import { ScscfError } from "./errors.ts";

/** One trusted P-CSCF: an address / address:port / CIDR, a certificate fingerprint, or a predicate. */
export type TrustedPeer = string | ((source: SipSource) => boolean);

/**
 * The TLS identity of an inbound connection: the fingerprint of the certificate the peer presented (RFC 8122 §5), or
 * undefined when the source is not a TLS connection or presented none. The hook the SIP over TLS transport fills in.
 */
export type PeerIdentity = (source: SipSource) => Fingerprint | string | undefined;

/** Which entry trusted a source (audit, logs). */
export interface TrustMatch {
  by: "address" | "identity" | "predicate";
  entry: string;
}

interface AddressEntry {
  text: string;
  list: net.BlockList;
  port: number | undefined;
}

const STRONG = new Set(["sha-256", "sha-384", "sha-512"]);

function normalize(a: string): string {
  const v = a.toLowerCase().replace(/^\[|\]$/g, "");
  return v.startsWith("::ffff:") && net.isIPv4(v.slice(7)) ? v.slice(7) : v;
}

/** Parses "addr", "addr:port", "[v6]:port", "addr/len"; undefined when the text is none of these. */
function parseAddress(text: string): AddressEntry | undefined {
  const s = text.trim();
  let host = s;
  let port: number | undefined;
  let prefix: number | undefined;
  const v6port = /^\[([^\]]+)\](?::(\d{1,5}))?$/.exec(s);
  const v4port = /^([0-9.]+):(\d{1,5})$/.exec(s);
  const cidr = /^([^/]+)\/(\d{1,3})$/.exec(s);
  if (v6port) {
    host = v6port[1] ?? "";
    port = v6port[2] !== undefined ? Number(v6port[2]) : undefined;
  } else if (v4port) {
    host = v4port[1] ?? "";
    port = Number(v4port[2]);
  } else if (cidr) {
    host = cidr[1] ?? "";
    prefix = Number(cidr[2]);
  }
  host = normalize(host);
  const family = net.isIP(host);
  if (family === 0) return undefined;
  if (port !== undefined && !(port >= 1 && port <= 65535)) return undefined;
  const max = family === 4 ? 32 : 128;
  if (prefix !== undefined && prefix > max) return undefined;
  const list = new net.BlockList();
  list.addSubnet(host, prefix ?? max, family === 4 ? "ipv4" : "ipv6");
  return { text: s, list, port };
}

export class TrustedPeers {
  private readonly addresses: AddressEntry[] = [];
  private readonly identities: Fingerprint[] = [];
  private readonly predicates: ((source: SipSource) => boolean)[] = [];

  /** E_SCSCF_CONFIG when an entry is neither an address, a CIDR block nor a SHA-256+ fingerprint. */
  constructor(
    entries: readonly TrustedPeer[],
    private readonly identity?: PeerIdentity,
  ) {
    for (const e of entries) {
      if (typeof e === "function") {
        this.predicates.push(e);
        continue;
      }
      const a = parseAddress(e);
      if (a) {
        this.addresses.push(a);
        continue;
      }
      const fp = parseFingerprint(e.trim());
      if (fp.value && STRONG.has(fp.value.hash) && !fp.problems.some((p) => p.code.startsWith("E_"))) {
        this.identities.push(fp.value);
        continue;
      }
      throw new ScscfError(
        "E_SCSCF_CONFIG",
        `trustedPcscfs entry ${JSON.stringify(e.slice(0, 80))} is not an IP address[:port], a CIDR block or a "sha-256 AB:CD:…" certificate fingerprint`,
      );
    }
  }

  /** No entry at all: no P-CSCF is trusted. */
  get empty(): boolean {
    return this.addresses.length + this.identities.length + this.predicates.length === 0;
  }

  /** The entry that trusts this inbound source, or undefined (RFC 3325 §5: outside the trust domain). */
  match(source: SipSource): TrustMatch | undefined {
    const host = normalize(source.host);
    const family = net.isIP(host);
    if (family !== 0) {
      for (const a of this.addresses) {
        if (a.port !== undefined && a.port !== source.port) continue;
        if (a.list.check(host, family === 4 ? "ipv4" : "ipv6")) return { by: "address", entry: a.text };
      }
    }
    if (this.identities.length > 0 && this.identity) {
      let presented: Fingerprint | undefined;
      try {
        const id = this.identity(source);
        presented = typeof id === "string" ? parseFingerprint(id.trim()).value : id;
      } catch {
        presented = undefined;
      }
      if (presented) {
        const p = presented;
        const hit = this.identities.find((f) => sameFingerprint(f, p));
        if (hit) return { by: "identity", entry: formatFingerprint(hit) };
      }
    }
    for (const [i, p] of this.predicates.entries()) {
      try {
        if (p(source)) return { by: "predicate", entry: `predicate#${i}` };
      } catch {
        // a predicate that throws trusts nobody
      }
    }
    return undefined;
  }
}
