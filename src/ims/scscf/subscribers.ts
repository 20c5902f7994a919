/**
 * The subscriber store the S-CSCF authenticates against: an HSS stand-in (TS 23.228 §5.4.1: the HSS holds, per
 * private user identity (IMPI), the public user identities (IMPUs) it may register and its credentials). Credentials:
 * a Digest password (plain, or only HA1 per realm and algorithm) and/or the AKA secrets K, OPc, AMF and the network's
 * SQN (TS 33.102 §6.3.2). `MemorySubscriberStore` is the in-process store; subscriberFile.ts persists one as JSON.
 */

import { nextSqn } from "../../sip/auth/aka.ts";
import { isSipUri, parseSipUri } from "../../sip/index.ts";
import { canonicalAor } from "./registrar.ts";

export interface AkaSecrets {
  k: Uint8Array;
  opc: Uint8Array;
  /** TS 33.102 §6.3.2: AMF; default 8000 (the separation bit set, TS 33.102 Annex H) */
  amf: Uint8Array;
  /** SQN_HE: the last SQN the network used (the next vector uses nextSqn(sqn)) */
  sqn: number;
}

export interface Subscriber {
  /** private identity, e.g. "bob@ims.example.com" (the Digest username) */
  impi: string;
  /** public identities it owns, canonical (sip:user@host, RFC 3261 §10.3 step 5) */
  impus: string[];
  /** Digest password in clear (needed for any realm/algorithm) */
  password?: string;
  /** Digest HA1 = H(impi:realm:password) per realm, per algorithm name ("MD5", "SHA-256", "SHA-512-256") */
  ha1?: Record<string, Record<string, string>>;
  aka?: AkaSecrets;
}

export interface SubscriberStore {
  /** the subscriber with this private identity */
  get(impi: string): Subscriber | undefined;
  /** TS 24.229 §5.4.1.2.1: true when `impu` is one of the public identities of `impi` */
  owns(impi: string, impu: string): boolean;
  /** the private identities that own `impu` (to challenge a REGISTER that names no private identity) */
  impisOf(impu: string): string[];
  /** TS 33.102 §6.3.2 / Annex C.3.2: steps SQN_HE for a new vector and returns it (persisted by durable stores) */
  advanceSqn(impi: string): number | undefined;
  /** TS 33.102 §6.3.5: SQN_HE := SQN_MS after a valid AUTS */
  setSqn(impi: string, sqn: number): void;
  /** resolves when every change has reached durable storage */
  flush(): Promise<void>;
}

/** The canonical form of a public identity: sip: URIs as canonical AORs; other URIs (tel:) trimmed and lower-cased. */
export function canonicalImpu(impu: string): string {
  const s = impu.trim();
  try {
    const u = parseSipUri(s);
    if (isSipUri(u)) return canonicalAor(u);
  } catch {
    // not a SIP URI (tel:, urn:): compared as written
  }
  return s.toLowerCase();
}

export class MemorySubscriberStore implements SubscriberStore {
  protected readonly byImpi = new Map<string, Subscriber>();
  protected readonly byImpu = new Map<string, string[]>();

  constructor(subscribers: readonly Subscriber[] = []) {
    for (const s of subscribers) this.add(s);
  }

  add(s: Subscriber): void {
    const sub: Subscriber = { ...s, impus: s.impus.map(canonicalImpu) };
    this.byImpi.set(sub.impi, sub);
    for (const u of sub.impus) {
      const l = this.byImpu.get(u) ?? [];
      if (!l.includes(sub.impi)) l.push(sub.impi);
      this.byImpu.set(u, l);
    }
  }

  all(): Subscriber[] {
    return [...this.byImpi.values()];
  }

  get(impi: string): Subscriber | undefined {
    return this.byImpi.get(impi);
  }

  owns(impi: string, impu: string): boolean {
    return this.byImpi.get(impi)?.impus.includes(canonicalImpu(impu)) ?? false;
  }

  impisOf(impu: string): string[] {
    return [...(this.byImpu.get(canonicalImpu(impu)) ?? [])];
  }

  advanceSqn(impi: string): number | undefined {
    const a = this.byImpi.get(impi)?.aka;
    if (!a) return undefined;
    a.sqn = nextSqn(a.sqn);
    this.changed();
    return a.sqn;
  }

  setSqn(impi: string, sqn: number): void {
    const a = this.byImpi.get(impi)?.aka;
    if (!a) return;
    a.sqn = sqn;
    this.changed();
  }

  /** Hook for durable stores. */
  protected changed(): void {}

  flush(): Promise<void> {
    return Promise.resolve();
  }
}
