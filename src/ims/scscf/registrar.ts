/**
 * The S-CSCF registrar and location service (RFC 3261 §10.3): bindings per address-of-record with expiry, Contact
 * parameters kept (q, +sip.instance, +sip.app-subtype, ... — RFC 3840 feature tags), the Path of each binding
 * (RFC 3327 §5.3), Call-ID/CSeq ordering (§10.3 step 7), 423 Min-Expires (§10.3 step 6), removal with expires=0 and
 * `Contact: *` (§10.2.2). No I/O; the clock is injectable.
 */
import {
  bareHost,
  formatParams,
  formatUri,
  getParam,
  isSipUri,
  quote,
  removeParam,
  type SipHeader,
  type SipParam,
  type SipRequest,
  type SipUri,
  sipUriEquals,
} from "../../sip/index.ts";

export interface Binding {
  /** canonical AOR (RFC 3261 §10.3 step 5) */
  aor: string;
  /** Contact URI */
  uri: SipUri;
  displayName?: string | undefined;
  /** Contact header parameters except `expires` (q, +sip.instance, feature tags, ...) */
  params: SipParam[];
  /** epoch ms */
  expiresAt: number;
  callId: string;
  cseq: number;
  /** RFC 3327 §5.3: the Path values of the REGISTER, in order (the route toward the contact) */
  path: string[];
  /** the UA indicated Supported: path */
  pathSupported: boolean;
  registeredAt: number;
  /** the authenticated private identity that registered it (RFC 3261 §10.3 step 3; absent without authentication) */
  owner?: string | undefined;
}

export interface RegistrarOptions {
  /** RFC 3261 §10.3 step 6: shorter non-zero expiries get 423 with Min-Expires; default 60 s */
  minExpires?: number;
  /** longer expiries are reduced to this; default 7200 s */
  maxExpires?: number;
  /** expiry when the request gives none (RFC 3261 §10.3 step 6 "locally-configured default"); default 3600 s */
  defaultExpires?: number;
  /** bound per AOR (403 beyond it); default 10 */
  maxBindingsPerAor?: number;
  /** bound on AORs (403 for a new AOR beyond it); default 100 000 */
  maxAors?: number;
  now?: () => number;
}

export interface RegisterResult {
  status: number;
  reason?: string;
  headers: SipHeader[];
  /** the AOR's bindings after the request */
  bindings: Binding[];
}

/** RFC 3261 §10.3 step 5: the canonical AOR of a SIP URI: sip:user@host (host lower-case, no port or parameters). */
export function canonicalAor(uri: SipUri): string {
  return `sip:${uri.user !== undefined ? `${uri.user}@` : ""}${bareHost(uri.host)}`;
}

/** Contact value for a 200 OK: <uri>;params;expires=N (RFC 3261 §10.3 step 8). */
export function formatBinding(b: Binding, now: number): string {
  const left = Math.max(0, Math.round((b.expiresAt - now) / 1000));
  const dn = b.displayName !== undefined ? `${quote(b.displayName)} ` : "";
  return `${dn}<${formatUri(b.uri)}>${formatParams(b.params)};expires=${left}`;
}

function sameBinding(a: { uri: SipUri; params: SipParam[] }, b: { uri: SipUri; params: SipParam[] }): boolean {
  // RFC 5626 §6: with +sip.instance, the instance identifies the binding; else the Contact URI (RFC 3261 §10.3 step 7)
  const ia = getParam(a.params, "+sip.instance");
  const ib = getParam(b.params, "+sip.instance");
  if (typeof ia === "string" && typeof ib === "string") return ia.toLowerCase() === ib.toLowerCase();
  return sipUriEquals(a.uri, b.uri);
}

export class LocationService {
  private readonly aors = new Map<string, Binding[]>();
  /** AORs that had a binding once (to tell "not registered now" from "unknown") */
  private readonly known = new Set<string>();
  private readonly min: number;
  private readonly max: number;
  private readonly def: number;
  private readonly perAor: number;
  private readonly maxAors: number;
  private readonly now: () => number;

  constructor(opts: RegistrarOptions = {}) {
    this.min = opts.minExpires ?? 60;
    this.max = opts.maxExpires ?? 7200;
    this.def = opts.defaultExpires ?? 3600;
    this.perAor = opts.maxBindingsPerAor ?? 10;
    this.maxAors = opts.maxAors ?? 100_000;
    this.now = opts.now ?? Date.now;
  }

  get size(): number {
    return this.aors.size;
  }

  /** Live bindings of an AOR, best first (highest q, then most recent registration; RFC 3261 §16.6 / §10.2.1.2). */
  lookup(aor: string): Binding[] {
    const list = this.live(aor);
    const q = (b: Binding) => {
      const v = getParam(b.params, "q");
      return typeof v === "string" ? Number(v) : 1;
    };
    return [...list].sort((a, b) => q(b) - q(a) || b.registeredAt - a.registeredAt);
  }

  /** True when the AOR had a binding at some point (bounded memory: cleared with the AOR table). */
  wasKnown(aor: string): boolean {
    return this.known.has(aor);
  }

  private live(aor: string): Binding[] {
    const list = this.aors.get(aor);
    if (!list) return [];
    const now = this.now();
    const alive = list.filter((b) => b.expiresAt > now);
    if (alive.length !== list.length) {
      if (alive.length === 0) this.aors.delete(aor);
      else this.aors.set(aor, alive);
    }
    return alive;
  }

  /** Drops expired bindings; returns how many. */
  purge(): number {
    let n = 0;
    for (const aor of [...this.aors.keys()]) {
      const before = this.aors.get(aor)?.length ?? 0;
      n += before - this.live(aor).length;
    }
    if (this.known.size > this.maxAors) this.known.clear();
    return n;
  }

  /**
   * Processes a REGISTER (RFC 3261 §10.3 steps 5-8). `extraOk` are header rows added to a 200 (Service-Route,
   * P-Associated-URI, ...). Authentication (steps 3-4) is done by the caller (registrarAuth.ts); `owner` is the
   * authenticated private identity: the request then sees and changes only the bindings that identity registered.
   */
  register(req: SipRequest, extraOk: readonly SipHeader[] = [], owner?: string): RegisterResult {
    const now = this.now();
    const to = req.to().uri;
    // RFC 3261 §10.3 step 5: the AOR is the To URI; a non-SIP AOR cannot be registered
    if (!isSipUri(to)) return { status: 404, reason: "Not Found", headers: [], bindings: [] };
    const aor = canonicalAor(to);
    const contact = req.contact();
    const hdrExpires = req.expires();
    const callId = req.callId();
    const cseq = req.cseq().seq;
    const pathSupported = req.supported().some((t) => t.toLowerCase() === "path");
    const path = req.getValues("Path");
    const all = this.live(aor);
    // RFC 3261 §10.3 steps 3-4: an authenticated request acts on its own identity's bindings only
    const mine = (b: Binding) => owner === undefined || b.owner === owner;
    const others = all.filter((b) => !mine(b));
    const current = all.filter(mine);
    if (contact === "*") {
      // RFC 3261 §10.2.2 / §10.3 step 6: "*" only with Expires: 0 (and no other Contact)
      if (hdrExpires !== 0)
        return { status: 400, reason: "Contact * requires Expires: 0", headers: [], bindings: current };
      // RFC 3261 §10.3 step 6: bindings with the same Call-ID and a higher-or-equal CSeq are kept
      const kept = current.filter((b) => b.callId === callId && b.cseq >= cseq);
      if (kept.length > 0) return { status: 500, reason: "Out of Order CSeq", headers: [], bindings: current };
      if (others.length === 0) this.aors.delete(aor);
      else this.aors.set(aor, others);
      return this.ok(others, now, pathSupported, path, extraOk);
    }
    // RFC 3261 §10.3 step 6: validate every contact first (all-or-nothing, step 7)
    const changes: { c: (typeof contact)[number]; expires: number }[] = [];
    for (const c of contact) {
      if (!isSipUri(c.uri)) return { status: 400, reason: "Contact is not a SIP URI", headers: [], bindings: current };
      const ep = getParam(c.params, "expires");
      let expires = typeof ep === "string" ? Number(ep) : (hdrExpires ?? this.def);
      if (expires !== 0 && expires < this.min) {
        // RFC 3261 §10.3 step 6 / §21.4.17: 423 Interval Too Brief with Min-Expires
        return {
          status: 423,
          headers: [{ name: "Min-Expires", value: String(this.min) }],
          bindings: current,
        };
      }
      expires = Math.min(expires, this.max);
      changes.push({ c, expires });
    }
    const next = [...current];
    for (const { c, expires } of changes) {
      const uri = c.uri as SipUri;
      const params = removeParam(c.params, "expires");
      const i = next.findIndex((b) => sameBinding(b, { uri, params }));
      const existing = next[i];
      // RFC 3261 §10.3 step 7: same Call-ID with a CSeq not higher than the stored one → the update fails
      if (existing && existing.callId === callId && cseq <= existing.cseq) {
        return { status: 500, reason: "Out of Order CSeq", headers: [], bindings: current };
      }
      if (expires === 0) {
        if (i >= 0) next.splice(i, 1);
        continue;
      }
      const b: Binding = {
        aor,
        uri,
        displayName: c.displayName,
        params,
        expiresAt: now + expires * 1000,
        callId,
        cseq,
        path,
        pathSupported,
        registeredAt: now,
        ...(owner !== undefined ? { owner } : {}),
      };
      if (i >= 0) next[i] = b;
      else next.push(b);
    }
    const after = [...others, ...next];
    if (after.length > this.perAor) return { status: 403, reason: "Too Many Bindings", headers: [], bindings: current };
    if (after.length > 0 && !this.aors.has(aor) && this.aors.size >= this.maxAors) {
      this.purge();
      if (this.aors.size >= this.maxAors)
        return { status: 403, reason: "Registrar Full", headers: [], bindings: current };
    }
    if (after.length === 0) this.aors.delete(aor);
    else {
      this.aors.set(aor, after);
      this.known.add(aor);
    }
    return this.ok(after, now, pathSupported, path, extraOk);
  }

  private ok(
    bindings: Binding[],
    now: number,
    pathSupported: boolean,
    path: string[],
    extra: readonly SipHeader[],
  ): RegisterResult {
    const headers: SipHeader[] = [];
    // RFC 3261 §10.3 step 8: every current binding with its remaining expiry
    for (const b of bindings) headers.push({ name: "Contact", value: formatBinding(b, now) });
    // RFC 3327 §5.3: the Path is echoed in the 200 when the UA supports it
    if (pathSupported && path.length > 0) headers.push({ name: "Path", value: path.join(", ") });
    headers.push({ name: "Date", value: new Date(now).toUTCString() });
    headers.push(...extra);
    return { status: 200, headers, bindings };
  }
}
