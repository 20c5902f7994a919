/**
 * What the P-CSCF remembers of each contact a UE registered through it (TS 24.229 §5.2.2: the P-CSCF keeps the
 * registration state it learns from the REGISTER and its 200 OK): the AOR, the contact, the flow the REGISTER came on
 * (RFC 5626-style, so terminating requests reuse it), the Service-Route (RFC 3608 §6) and the expiry. The media
 * security capabilities live in the CapabilityStore (capabilities.ts), keyed the same way.
 */
import { bareHost, type SipUri, uriParam } from "../../sip/index.ts";
import { type Flow, flowKey } from "./flow.ts";

export interface Registration {
  /** canonical AOR (RFC 3261 §10.3 step 5): sip:user@host */
  aor: string;
  /** the Contact URI as registered */
  contact: string;
  /** CapabilityStore contact key (`contactKey`: +sip.instance, else the URI) */
  key: string;
  flow: Flow;
  /** epoch ms */
  expiresAt: number;
  /** RFC 3608 §6: the Service-Route of the 200 OK, used for the UE's initial requests */
  serviceRoute: string[];
  /** TS 24.229 / RFC 3455: P-Associated-URI of the 200 OK */
  associatedUris: string[];
}

/** The canonical AOR of a SIP URI (RFC 3261 §10.3 step 5): scheme, user, lower-case host, no port or parameters. */
export function canonicalAor(uri: SipUri): string {
  return `sip:${uri.user !== undefined ? `${uri.user}@` : ""}${bareHost(uri.host)}`;
}

/** A key to match a Request-URI against registered contacts (scheme, user, host, port, transport). */
export function contactUriKey(uri: SipUri): string {
  const tp = uriParam(uri, "transport");
  return `${uri.user ?? ""}@${bareHost(uri.host)}:${uri.port ?? ""};${typeof tp === "string" ? tp.toLowerCase() : ""}`;
}

/** Bounded table of registrations, indexed by AOR + contact key, by flow and by contact URI. */
export class RegistrationTable {
  private readonly entries = new Map<string, Registration>();
  private readonly byFlowKey = new Map<string, Set<string>>();
  private readonly byUri = new Map<string, string>();

  constructor(
    private readonly max = 100_000,
    private readonly now: () => number = Date.now,
  ) {}

  get size(): number {
    return this.entries.size;
  }

  private id(aor: string, key: string): string {
    return `${aor}\u0000${key}`;
  }

  upsert(reg: Registration, uri: SipUri): void {
    const id = this.id(reg.aor, reg.key);
    this.remove(reg.aor, reg.key);
    if (this.entries.size >= this.max) {
      this.purge();
      const oldest = this.entries.values().next();
      if (this.entries.size >= this.max && !oldest.done) this.remove(oldest.value.aor, oldest.value.key);
    }
    this.entries.set(id, reg);
    const fk = flowKey(reg.flow);
    let set = this.byFlowKey.get(fk);
    if (!set) {
      set = new Set();
      this.byFlowKey.set(fk, set);
    }
    set.add(id);
    this.byUri.set(contactUriKey(uri), id);
  }

  remove(aor: string, key: string): boolean {
    const id = this.id(aor, key);
    const reg = this.entries.get(id);
    if (!reg) return false;
    this.entries.delete(id);
    const fk = flowKey(reg.flow);
    const set = this.byFlowKey.get(fk);
    set?.delete(id);
    if (set?.size === 0) this.byFlowKey.delete(fk);
    for (const [u, v] of this.byUri) if (v === id) this.byUri.delete(u);
    return true;
  }

  private live(id: string): Registration | undefined {
    const r = this.entries.get(id);
    if (!r) return undefined;
    if (r.expiresAt <= this.now()) {
      this.remove(r.aor, r.key);
      return undefined;
    }
    return r;
  }

  /** Live registrations made over a flow; when `aor` is given, those of that AOR first. */
  forFlow(flow: Pick<Flow, "transport" | "host" | "port">, aor?: string): Registration | undefined {
    const set = this.byFlowKey.get(flowKey(flow));
    if (!set) return undefined;
    let any: Registration | undefined;
    for (const id of [...set]) {
      const r = this.live(id);
      if (!r) continue;
      if (aor === undefined || r.aor === aor) return r;
      any ??= r;
    }
    return any;
  }

  /** The live registration whose contact is this URI. */
  byContact(uri: SipUri): Registration | undefined {
    const id = this.byUri.get(contactUriKey(uri));
    return id === undefined ? undefined : this.live(id);
  }

  /** Live registrations of an AOR. */
  ofAor(aor: string): Registration[] {
    const out: Registration[] = [];
    for (const [id, r] of this.entries) if (r.aor === aor && this.live(id)) out.push(r);
    return out;
  }

  /** Drops expired registrations; returns how many. */
  purge(): number {
    const now = this.now();
    let n = 0;
    for (const r of [...this.entries.values()]) {
      if (r.expiresAt <= now) {
        this.remove(r.aor, r.key);
        n++;
      }
    }
    return n;
  }
}
