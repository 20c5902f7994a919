/**
 * Registration-time media security capabilities of a UE contact.
 *
 * The UE lists the media-plane mechanisms it supports in `Security-Client` at REGISTER, each labelled with the 3GPP
 * `mediasec` header field parameter (TS 24.229 §7.2A.7; RFC 3329 §2.2 syntax), e.g.
 * `Security-Client: ipsec-3gpp;alg=hmac-sha-1-96;spi-c=1;spi-s=2;port-c=5062;port-s=5064, msrp-tls;mediasec`.
 * The P-CSCF keeps them per contact (it strips Security-Client before forwarding, TS 24.229 §5.2.2, so the core
 * never sees them) and consults them in the IMS-ALG decision (TR 29.828 §5.2.1.2.2 / §5.2.1.2.3 step 1).
 *
 * Everything here works on header VALUE strings (one string per header field line, or a list of them), so it does not
 * depend on the SIP codec. Nothing throws on bad input: malformed entries are reported as problems and skipped.
 */

/** RFC 3329 §2.2: mech-parameters = preference / digest-algorithm / digest-qop / digest-verify / extension. */
export interface SecMechanismParam {
  /** Parameter name, lower-cased (RFC 3261 §7.3.1: parameter names are case-insensitive). */
  name: string;
  /** Value as written (quoted strings keep their quotes); undefined for a bare parameter such as `mediasec`. */
  value?: string;
}

export interface SecMechanism {
  /** mechanism-name, lower-cased (digest, tls, ipsec-3gpp, sdes-srtp, msrp-tls, bfcp-tls, udptl-dtls, ...). */
  mechanism: string;
  params: SecMechanismParam[];
  /** Labelled with `mediasec` (TS 24.229 §7.2A.7): a media-plane security mechanism. */
  mediasec: boolean;
  /** The entry exactly as written (surrounding whitespace trimmed). */
  raw: string;
}

export type CapabilityProblemCode =
  | "E_SECMECH_SYNTAX" // an entry does not follow RFC 3329 §2.2 sec-mechanism; it is skipped
  | "E_SECMECH_EMPTY" // an empty list element (",," or a trailing comma); skipped
  | "E_SECMECH_QVALUE" // q is not an RFC 3329 §2.2 qvalue; the entry is skipped
  | "E_SECMECH_DVER" // d-ver is not LDQUOT 32LHEX RDQUOT (RFC 3329 §2.2); the entry is skipped
  | "W_MEDIASEC_VALUE"; // mediasec carries a value (TS 24.229 §7.2A.7 defines a bare parameter); still counted

export interface CapabilityProblem {
  code: CapabilityProblemCode;
  message: string;
  /** The offending entry as written. */
  entry: string;
}

export interface SecurityHeaderParse {
  mechanisms: SecMechanism[];
  problems: CapabilityProblem[];
}

// RFC 3261 §25.1: token = 1*(alphanum / "-" / "." / "!" / "%" / "*" / "_" / "+" / "`" / "'" / "~")
const TOKEN_RE = /^[A-Za-z0-9\-.!%*_+`'~]+$/;
// RFC 3261 §25.1 host: hostname / IPv4address (both token-shaped) / IPv6reference
const IPV6_REF_RE = /^\[[0-9A-Fa-f:.]+\]$/;
// RFC 3329 §2.2: qvalue = ( "0" [ "." 0*3DIGIT ] ) / ( "1" [ "." 0*3("0") ] )
const QVALUE_RE = /^(?:0(?:\.[0-9]{0,3})?|1(?:\.0{0,3})?)$/;
// RFC 3329 §2.2: digest-verify = "d-ver" EQUAL LDQUOT 32LHEX RDQUOT
const DVER_RE = /^"[0-9a-f]{32}"$/;

function isQuotedString(s: string): boolean {
  // RFC 3261 §25.1: quoted-string = SWS DQUOTE *(qdtext / quoted-pair ) DQUOTE
  if (s.length < 2 || !s.startsWith('"') || !s.endsWith('"')) return false;
  for (let i = 1; i < s.length - 1; i++) {
    const c = s.charCodeAt(i);
    if (s[i] === "\\") {
      i++;
      if (i >= s.length - 1) return false;
      continue;
    }
    if (s[i] === '"' || c < 0x20 || c === 0x7f) return false;
  }
  return true;
}

/** Splits at `sep` outside quoted strings (RFC 3261 §7.3.1 list / parameter separators). */
function splitTop(s: string, sep: string): string[] {
  const out: string[] = [];
  let cur = "";
  let quoted = false;
  for (let i = 0; i < s.length; i++) {
    const ch = s[i] ?? "";
    if (quoted && ch === "\\") {
      cur += ch + (s[i + 1] ?? "");
      i++;
      continue;
    }
    if (ch === '"') quoted = !quoted;
    if (!quoted && ch === sep) {
      out.push(cur);
      cur = "";
      continue;
    }
    cur += ch;
  }
  out.push(cur);
  return out;
}

function lines(values: string | readonly string[]): readonly string[] {
  return typeof values === "string" ? [values] : values;
}

/** Parses one sec-mechanism entry (RFC 3329 §2.2). */
function parseEntry(raw: string): { mech?: SecMechanism; problems: CapabilityProblem[] } {
  const bad = (code: CapabilityProblemCode, message: string) => ({ problems: [{ code, message, entry: raw }] });
  // RFC 3329 §2.2: sec-mechanism = mechanism-name *(SEMI mech-parameters); SEMI = SWS ";" SWS (RFC 3261 §25.1)
  const parts = splitTop(raw, ";").map((p) => p.trim());
  const name = parts[0] ?? "";
  if (!TOKEN_RE.test(name)) return bad("E_SECMECH_SYNTAX", `mechanism-name ${JSON.stringify(name)} is not a token`);
  const params: SecMechanismParam[] = [];
  const problems: CapabilityProblem[] = [];
  for (const p of parts.slice(1)) {
    if (p === "") return bad("E_SECMECH_SYNTAX", "empty mech-parameter");
    // RFC 3261 §25.1: generic-param = token [ EQUAL gen-value ]; gen-value = token / host / quoted-string
    const eq = p.indexOf("=");
    const pname = (eq < 0 ? p : p.slice(0, eq)).trim();
    const pvalue = eq < 0 ? undefined : p.slice(eq + 1).trim();
    if (!TOKEN_RE.test(pname)) return bad("E_SECMECH_SYNTAX", `parameter name ${JSON.stringify(pname)} is not a token`);
    if (pvalue !== undefined && !(TOKEN_RE.test(pvalue) || IPV6_REF_RE.test(pvalue) || isQuotedString(pvalue))) {
      return bad("E_SECMECH_SYNTAX", `parameter ${pname} has an invalid value ${JSON.stringify(pvalue)}`);
    }
    const lname = pname.toLowerCase();
    // RFC 3329 §2.2: preference = "q" EQUAL qvalue
    if (lname === "q" && (pvalue === undefined || !QVALUE_RE.test(pvalue)))
      return bad("E_SECMECH_QVALUE", `q=${pvalue ?? ""} is not a qvalue`);
    // RFC 3329 §2.2: digest-verify = "d-ver" EQUAL LDQUOT 32LHEX RDQUOT
    if (lname === "d-ver" && (pvalue === undefined || !DVER_RE.test(pvalue)))
      return bad("E_SECMECH_DVER", "d-ver is not a quoted 32-digit lower-case hex string");
    // TS 24.229 §7.2A.7: mediasec is a bare header field parameter.
    if (lname === "mediasec" && pvalue !== undefined)
      problems.push({ code: "W_MEDIASEC_VALUE", message: "mediasec carries a value; treated as mediasec", entry: raw });
    params.push(pvalue === undefined ? { name: lname } : { name: lname, value: pvalue });
  }
  return {
    mech: { mechanism: name.toLowerCase(), params, mediasec: params.some((x) => x.name === "mediasec"), raw },
    problems,
  };
}

/**
 * Parses Security-Client / Security-Server / Security-Verify header values (RFC 3329 §2.2:
 * `sec-mechanism *(COMMA sec-mechanism)`). Pass one string per header field line, or one combined value.
 * Malformed entries are skipped and reported; well-formed ones around them are kept.
 */
export function parseSecurityHeader(values: string | readonly string[]): SecurityHeaderParse {
  const mechanisms: SecMechanism[] = [];
  const problems: CapabilityProblem[] = [];
  for (const line of lines(values)) {
    if (typeof line !== "string") continue;
    // RFC 3261 §7.3.1: a header field value may be folded; LWS counts as SP.
    const unfolded = line.replace(/\r?\n[ \t]+/g, " ");
    // RFC 3329 §2.2: *(COMMA sec-mechanism); COMMA = SWS "," SWS
    for (const part of splitTop(unfolded, ",")) {
      const raw = part.trim();
      if (raw === "") {
        if (unfolded.trim() !== "")
          problems.push({ code: "E_SECMECH_EMPTY", message: "empty list element", entry: part });
        continue;
      }
      const r = parseEntry(raw);
      problems.push(...r.problems);
      if (r.mech) mechanisms.push(r.mech);
    }
  }
  return { mechanisms, problems };
}

/**
 * The media-plane security capabilities in Security-Client values: the names (lower-case) of the mechanisms that
 * carry `mediasec` (TS 24.229 §7.2A.7). Entries without mediasec (ipsec-3gpp, tls, digest) are signalling
 * mechanisms and are not included.
 */
export function mediasecCapabilities(values: string | readonly string[]): Set<string> {
  return new Set(
    parseSecurityHeader(values)
      .mechanisms.filter((m) => m.mediasec)
      .map((m) => m.mechanism),
  );
}

/**
 * The capabilities that count for the IMS-ALG: those the UE listed AND the P-CSCF supports (TR 29.828 §5.2.1.2.3
 * step 1: "if both the IMS UE and P-CSCF (IMS-ALG) indicated support ... during registration").
 */
export function registeredCapabilities(
  ueCapabilities: Iterable<string>,
  pcscfSupported: Iterable<string>,
): Set<string> {
  const sup = new Set([...pcscfSupported].map((s) => s.toLowerCase()));
  return new Set([...ueCapabilities].map((s) => s.toLowerCase()).filter((s) => sup.has(s)));
}

/**
 * Security-Server entries announcing the P-CSCF's media-plane mechanisms (TS 24.229 §7.2A.7), e.g.
 * `msrp-tls;mediasec, bfcp-tls;mediasec`. The lead appends them to the signalling mechanisms of the 401.
 */
export function mediasecServerEntries(pcscfSupported: Iterable<string>): string[] {
  return [...new Set([...pcscfSupported].map((s) => s.toLowerCase()))].map((m) => `${m};mediasec`);
}

export interface StripResult {
  /** Entries kept, exactly as written. */
  kept: string[];
  /** Entries removed (mediasec ones, and malformed ones, which are never forwarded). */
  removed: string[];
  /** The header value to forward (kept entries joined with ", "), or undefined: drop the header field. */
  value: string | undefined;
  problems: CapabilityProblem[];
}

/**
 * Removes the mediasec entries from Security-* header values before the request goes to the core (the P-CSCF keeps
 * the media capabilities itself: TS 24.229 §5.2.2 ends sec-agree at the P-CSCF). Malformed entries are removed too
 * (never forwarded).
 * Note that on REGISTER the P-CSCF removes Security-Client altogether (TS 24.229 §5.2.2); this helper serves the
 * cases where the signalling entries must stay.
 */
export function stripMediasec(values: string | readonly string[]): StripResult {
  const kept: string[] = [];
  const removed: string[] = [];
  const problems: CapabilityProblem[] = [];
  for (const line of lines(values)) {
    if (typeof line !== "string") continue;
    const unfolded = line.replace(/\r?\n[ \t]+/g, " ");
    for (const part of splitTop(unfolded, ",")) {
      const raw = part.trim();
      if (raw === "") continue;
      const r = parseEntry(raw);
      problems.push(...r.problems);
      if (!r.mech || r.mech.mediasec) removed.push(raw);
      else kept.push(raw);
    }
  }
  return { kept, removed, value: kept.length > 0 ? kept.join(", ") : undefined, problems };
}

// ---- per-contact store ----------------------------------------------------------------------------------------

export interface ContactCapabilities {
  aor: string;
  /** The contact key (see `contactKey`). */
  contact: string;
  capabilities: ReadonlySet<string>;
  /** Epoch milliseconds. */
  registeredAt: number;
  expiresAt: number;
}

export interface CapabilityStoreOptions {
  /** Upper bound on stored contacts; when full, expired entries go first, then the oldest registration. */
  maxEntries?: number;
  /** Clock in epoch milliseconds (tests inject one). Default Date.now. */
  now?: () => number;
}

/**
 * The key of one registered contact: the `+sip.instance` value when present (RFC 5626 §4.1: it identifies the UA
 * instance across contact address changes), else the Contact URI. The instance is stripped of quotes and angle
 * brackets and lower-cased (RFC 4122 §3: UUIDs compare case-insensitively).
 */
export function contactKey(contact: { instance?: string; uri?: string }): string {
  if (contact.instance !== undefined && contact.instance.trim() !== "") {
    const inst = contact.instance
      .trim()
      .replace(/^"(.*)"$/, "$1")
      .replace(/^<(.*)>$/, "$1");
    return `instance:${inst.toLowerCase()}`;
  }
  return `uri:${(contact.uri ?? "").trim()}`;
}

/**
 * Bounded, expiring store of media security capabilities per registered contact, keyed by AOR + contact key.
 * The proxy fills it on a successful REGISTER (expires from the 200 OK), removes on de-registration (expires 0),
 * and reads it when deciding on an INVITE. Pure: no timers; expiry is evaluated on access and by `purgeExpired`.
 */
export class CapabilityStore {
  private readonly entries = new Map<string, ContactCapabilities>();
  private readonly max: number;
  private readonly now: () => number;

  constructor(opts: CapabilityStoreOptions = {}) {
    this.max = Math.max(1, Math.floor(opts.maxEntries ?? 100_000));
    this.now = opts.now ?? Date.now;
  }

  private key(aor: string, contact: string): string {
    return `${aor.trim()}\u0000${contact}`;
  }

  /** Number of stored entries (expired ones included until purged). */
  get size(): number {
    return this.entries.size;
  }

  /**
   * Records the capabilities of a contact for `expiresSec` seconds. `expiresSec` 0 (RFC 3261 §10.2.2 removal)
   * deletes the entry and returns undefined.
   */
  set(
    aor: string,
    contact: string,
    capabilities: Iterable<string>,
    expiresSec: number,
  ): ContactCapabilities | undefined {
    const k = this.key(aor, contact);
    const secs = Number.isFinite(expiresSec) ? Math.max(0, Math.floor(expiresSec)) : 0;
    if (secs === 0) {
      this.entries.delete(k);
      return undefined;
    }
    const now = this.now();
    const entry: ContactCapabilities = {
      aor: aor.trim(),
      contact,
      capabilities: new Set([...capabilities].map((c) => c.toLowerCase())),
      registeredAt: now,
      expiresAt: now + secs * 1000,
    };
    this.entries.delete(k); // re-insert: Map order = registration age
    if (this.entries.size >= this.max) this.evict();
    this.entries.set(k, entry);
    return entry;
  }

  /** The live entry of a contact, or undefined (unknown or expired; an expired entry is dropped). */
  get(aor: string, contact: string): ContactCapabilities | undefined {
    const k = this.key(aor, contact);
    const e = this.entries.get(k);
    if (!e) return undefined;
    if (e.expiresAt <= this.now()) {
      this.entries.delete(k);
      return undefined;
    }
    return e;
  }

  /** The capabilities of a contact; an empty set when unknown or expired (no registration → no e2ae). */
  capabilities(aor: string, contact: string): ReadonlySet<string> {
    return this.get(aor, contact)?.capabilities ?? new Set<string>();
  }

  /** All live contacts of an AOR. */
  contacts(aor: string): ContactCapabilities[] {
    const a = aor.trim();
    const now = this.now();
    return [...this.entries.values()].filter((e) => e.aor === a && e.expiresAt > now);
  }

  /** Deletes one contact, or every contact of the AOR when `contact` is omitted. Returns the number removed. */
  delete(aor: string, contact?: string): number {
    if (contact !== undefined) return this.entries.delete(this.key(aor, contact)) ? 1 : 0;
    const a = aor.trim();
    let n = 0;
    for (const [k, e] of this.entries) {
      if (e.aor === a) {
        this.entries.delete(k);
        n++;
      }
    }
    return n;
  }

  /** Drops expired entries; returns how many. */
  purgeExpired(): number {
    const now = this.now();
    let n = 0;
    for (const [k, e] of this.entries) {
      if (e.expiresAt <= now) {
        this.entries.delete(k);
        n++;
      }
    }
    return n;
  }

  private evict(): void {
    if (this.purgeExpired() > 0 && this.entries.size < this.max) return;
    const oldest = this.entries.keys().next();
    if (!oldest.done) this.entries.delete(oldest.value);
  }
}
