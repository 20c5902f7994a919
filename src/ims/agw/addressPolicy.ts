/**
 * The IMS-AGW's address policy: which local addresses an Iq request may bind (the AGW's configured interfaces, per
 * side) and which remote addresses a termination may be configured with (the configured access / core networks, as
 * CIDR lists). Without it, whoever drives Iq owns a TCP relay toward anywhere and a listener on every interface.
 * Refusals are `E_AGW_ADDRESS_POLICY`, audited by the engine (agw.ts).
 */
import net from "node:net";
import { AgwError } from "./iqErrors.ts";
import type { TerminationSide } from "./iqTypes.ts";
import { normalizeAddress } from "./sockets.ts";

/** The loopback networks (RFC 1122 §3.2.1.3 127/8; RFC 4291 §2.5.3 ::1). */
export const LOOPBACK_NETWORKS: readonly string[] = ["127.0.0.0/8", "::1/128"];

export interface AddressPolicyOptions {
  /** the access-side interface (the only local address of access terminations) */
  readonly accessAddress: string;
  /** the core-side interface (the only local address of core terminations) */
  readonly coreAddress: string;
  /** remote addresses allowed on access terminations (CIDR). Default: loopback and the access address itself. */
  readonly accessNetworks?: readonly string[] | undefined;
  /** remote addresses allowed on core terminations (CIDR). Default: loopback and the core address itself. */
  readonly coreNetworks?: readonly string[] | undefined;
}

/** A parsed CIDR block ("10.0.0.0/8", "2001:db8::/32"; a bare address is a host route). */
export interface Cidr {
  readonly address: string;
  readonly prefix: number;
  readonly family: "ipv4" | "ipv6";
}

/** Parses a CIDR block; `E_AGW_INVALID_PARAM` when it is not one. */
export function parseCidr(s: string): Cidr {
  const [addr = "", len, ...rest] = s.trim().split("/");
  const v = net.isIP(addr);
  if (v === 0 || rest.length > 0) throw new AgwError("E_AGW_INVALID_PARAM", `not a CIDR block: ${s.slice(0, 64)}`);
  const max = v === 4 ? 32 : 128;
  const prefix = len === undefined ? max : /^\d{1,3}$/.test(len) ? Number(len) : Number.NaN;
  if (!(prefix >= 0 && prefix <= max)) {
    throw new AgwError("E_AGW_INVALID_PARAM", `prefix length of ${s.slice(0, 64)} must be 0-${max}`);
  }
  return { address: normalizeAddress(addr), prefix, family: v === 4 ? "ipv4" : "ipv6" };
}

function blockList(cidrs: readonly string[]): net.BlockList {
  const b = new net.BlockList();
  for (const c of cidrs) {
    const x = parseCidr(c);
    b.addSubnet(x.address, x.prefix, x.family);
  }
  return b;
}

/** The unspecified addresses ("any interface"): never a termination's local address. */
function isUnspecified(a: string): boolean {
  return a === "0.0.0.0" || a === "::" || /^0*:0*:0*:0*:0*:0*:0*:0*$/.test(a);
}

export class AddressPolicy {
  private readonly local: Record<TerminationSide, string>;
  private readonly remote: Record<TerminationSide, net.BlockList>;
  /** the networks as configured (audit, docs) */
  readonly networks: Record<TerminationSide, readonly string[]>;

  constructor(o: AddressPolicyOptions) {
    this.local = { access: normalizeAddress(o.accessAddress), core: normalizeAddress(o.coreAddress) };
    this.networks = {
      access: o.accessNetworks ?? [...LOOPBACK_NETWORKS, this.local.access],
      core: o.coreNetworks ?? [...LOOPBACK_NETWORKS, this.local.core],
    };
    this.remote = { access: blockList(this.networks.access), core: blockList(this.networks.core) };
  }

  /** Why `address` may not be bound by a termination of `side`, or undefined when it may. */
  localRefusal(side: TerminationSide, address: string): string | undefined {
    const a = normalizeAddress(address);
    if (net.isIP(a) === 0) return `local address ${address.slice(0, 64)} is not an IP address`;
    if (isUnspecified(a)) return `local address ${a} (all interfaces) is refused: use the ${side} interface`;
    if (a !== this.local[side]) return `local address ${a} is not the AGW's ${side} interface ${this.local[side]}`;
    return undefined;
  }

  /** Why `address` may not be the remote end of a termination of `side`, or undefined when it may. */
  remoteRefusal(side: TerminationSide, address: string): string | undefined {
    const a = normalizeAddress(address);
    const v = net.isIP(a);
    if (v === 0) return `remote address ${address.slice(0, 64)} is not an IP address`;
    if (isUnspecified(a)) return `remote address ${a} is unspecified`;
    if (!this.remote[side].check(a, v === 4 ? "ipv4" : "ipv6")) {
      return `remote address ${a} is outside the ${side} networks (${this.networks[side].join(", ")})`;
    }
    return undefined;
  }
}
