/**
 * SIP messages (RFC 3261 §7): a start line, an ordered list of header rows kept as received (name and unfolded value),
 * lazily parsed typed views of the headers this stack knows, and the body as raw bytes (never re-encoded).
 */
import { fail } from "./errors.ts";
import { getParam, randomHex, splitTopLevel } from "./grammar.ts";
import {
  type ContactValue,
  type ContentType,
  type CSeq,
  formatVia,
  headerKey,
  isListHeader,
  MAGIC_COOKIE,
  type NameAddr,
  parseCallId,
  parseContact,
  parseContentLength,
  parseContentType,
  parseCSeq,
  parseDeltaSeconds,
  parseFromTo,
  parseMaxForwards,
  parseRetryAfter,
  parseRouteList,
  parseSecurityMechanisms,
  parseTokenList,
  parseVia,
  parseWarning,
  type RetryAfter,
  type SecurityMechanism,
  type Via,
  type Warning,
} from "./headers.ts";
import { reasonPhrase } from "./reasons.ts";
import { type SerializeOptions, serializeMessage } from "./serialize.ts";
import { formatUri, parseUri, type Uri } from "./uri.ts";

export interface SipHeader {
  readonly name: string;
  readonly value: string;
}

const EMPTY = new Uint8Array(0);

abstract class SipMessageBase {
  protected rows: SipHeader[];
  /** `headerKey` of each row, same index as `rows` (computed once per row, not per lookup) */
  private keys: string[];
  /** body bytes exactly as received or given; Content-Length is their byte length */
  body: Uint8Array;
  private readonly views = new Map<string, unknown>();

  constructor(headers: readonly SipHeader[] = [], body: Uint8Array = EMPTY) {
    this.rows = headers.map((h) => ({ name: h.name, value: h.value }));
    this.keys = this.rows.map((h) => headerKey(h.name));
    this.body = body;
  }

  abstract readonly kind: "request" | "response";

  /** Header rows in order, as received or set. */
  get headers(): readonly SipHeader[] {
    return this.rows;
  }

  /**
   * Drops every cached typed view (the rows stay; a view is parsed again when asked for). For messages kept alive by
   * a transaction long after their headers were read (64*T1 in Accepted / Completed): about half their memory.
   */
  dropViews(): void {
    this.views.clear();
  }

  /** Takes over the cached views of a message with the same rows (a clone): views are values, never mutated. */
  protected adoptViews(from: SipMessageBase): void {
    for (const [k, v] of from.views) this.views.set(k, v);
  }

  /** Drops the cached view of one header (views are keyed by `headerKey`); the other views stay valid. */
  private touch(key: string): void {
    this.views.delete(key);
  }

  /** Cached typed view of a header; recomputed after any header change. */
  protected view<T>(key: string, compute: () => T): T {
    const hit = this.views.get(key);
    if (hit !== undefined || this.views.has(key)) return hit as T;
    const v = compute();
    this.views.set(key, v);
    return v;
  }

  hasHeader(name: string): boolean {
    return this.keys.includes(headerKey(name));
  }

  /** The `headerKey` of every row, in order (the same index as `headers`). */
  get headerKeys(): readonly string[] {
    return this.keys;
  }

  /** Value of the first row with this name (compact forms and case are folded). */
  getHeader(name: string): string | undefined {
    const i = this.keys.indexOf(headerKey(name));
    return i < 0 ? undefined : this.rows[i]?.value;
  }

  /** Values of every row with this name, in order. */
  getHeaders(name: string): string[] {
    const k = headerKey(name);
    const out: string[] = [];
    const keys = this.keys;
    for (let i = 0; i < keys.length; i++) if (keys[i] === k) out.push((this.rows[i] as SipHeader).value);
    return out;
  }

  /** How many rows have this name. */
  countHeaders(name: string): number {
    const k = headerKey(name);
    let n = 0;
    for (const key of this.keys) if (key === k) n++;
    return n;
  }

  /** For comma-list headers: every element of every row, split at top-level commas (RFC 3261 §7.3.1). */
  getValues(name: string): string[] {
    const rows = this.getHeaders(name);
    if (!isListHeader(name)) return rows;
    const out: string[] = [];
    for (const r of rows) for (const v of splitTopLevel(r, ",", "E_SIP_HEADER", name)) if (v !== "") out.push(v);
    return out;
  }

  /** Replaces every row of `name` with one row at the place of the first (appends when absent). */
  setHeader(name: string, value: string): this {
    const k = headerKey(name);
    const i = this.keys.indexOf(k);
    if (i < 0) {
      this.rows.push({ name, value });
      this.keys.push(k);
    } else {
      // the first row is replaced in place; the later rows of the same name go
      this.rows[i] = { name, value };
      if (this.keys.indexOf(k, i + 1) >= 0) this.dropRows(k, i + 1);
    }
    this.touch(k);
    return this;
  }

  /** Appends a row at the end of the header list. */
  addHeader(name: string, value: string): this {
    const k = headerKey(name);
    this.rows.push({ name, value });
    this.keys.push(k);
    this.touch(k);
    return this;
  }

  /** Appends rows in order (the parser's header section); the rows are taken as they are, never mutated. */
  addHeaders(rows: readonly SipHeader[]): this {
    for (const r of rows) {
      const k = headerKey(r.name);
      this.rows.push(r);
      this.keys.push(k);
      this.touch(k);
    }
    return this;
  }

  /** Inserts a row before the first row of the same name (or at the top): Via, Record-Route, Route prepending. */
  prependHeader(name: string, value: string): this {
    const k = headerKey(name);
    const i = this.keys.indexOf(k);
    this.rows.splice(i < 0 ? 0 : i, 0, { name, value });
    this.keys.splice(i < 0 ? 0 : i, 0, k);
    this.touch(k);
    return this;
  }

  /** Removes every row of `name`; returns how many rows were removed. */
  removeHeader(name: string): number {
    const k = headerKey(name);
    const before = this.rows.length;
    if (this.keys.includes(k)) this.dropRows(k, 0);
    this.touch(k);
    return before - this.rows.length;
  }

  /** Removes the rows with key `k` from index `from` on (new arrays: `headers` handed out earlier stay as they were). */
  private dropRows(k: string, from: number): void {
    const rows: SipHeader[] = [];
    const keys: string[] = [];
    for (let j = 0; j < this.keys.length; j++) {
      const key = this.keys[j] as string;
      if (j >= from && key === k) continue;
      rows.push(this.rows[j] as SipHeader);
      keys.push(key);
    }
    this.rows = rows;
    this.keys = keys;
  }

  /** Removes the first element of a list header (e.g. the top Via or the top Route); returns it. */
  removeFirstValue(name: string): string | undefined {
    const k = headerKey(name);
    const i = this.keys.indexOf(k);
    const row = this.rows[i];
    if (!row) return undefined;
    const parts = splitTopLevel(row.value, ",", "E_SIP_HEADER", name);
    const first = parts.shift();
    if (parts.length === 0) {
      this.rows.splice(i, 1);
      this.keys.splice(i, 1);
    } else this.rows[i] = { name: row.name, value: parts.join(", ") };
    this.touch(k);
    return first;
  }

  /** Replaces the first element of a list header, keeping the rest of its row as it was. */
  replaceFirstValue(name: string, value: string): this {
    const k = headerKey(name);
    const i = this.keys.indexOf(k);
    const row = this.rows[i];
    if (!row) return this.prependHeader(name, value);
    const parts = splitTopLevel(row.value, ",", "E_SIP_HEADER", name);
    parts[0] = value;
    this.rows[i] = { name: row.name, value: parts.join(", ") };
    this.touch(k);
    return this;
  }

  /** Sets the body bytes and, when given, the Content-Type. Content-Length follows on serialisation. */
  setBody(body: Uint8Array, contentType?: string): this {
    this.body = body;
    if (contentType !== undefined) this.setHeader("Content-Type", contentType);
    else if (body.byteLength === 0) this.removeHeader("Content-Type");
    return this;
  }

  private required(name: string): string {
    const v = this.getHeader(name);
    if (v === undefined) fail("E_SIP_MISSING_HEADER", `missing ${name}`, name);
    return v;
  }

  // typed views (throw SipParseError when malformed; mandatory ones throw E_SIP_MISSING_HEADER when absent)

  /** Every Via value, top first (RFC 3261 §20.42). */
  vias(): Via[] {
    return this.view("via", () => this.getHeaders("via").flatMap(parseVia));
  }

  topVia(): Via {
    const v = this.vias()[0];
    if (!v) fail("E_SIP_MISSING_HEADER", "missing Via", "Via");
    return v;
  }

  /** Replaces the top Via (e.g. to add received/rport, RFC 3261 §18.2.1, RFC 3581 §4). */
  setTopVia(v: Via): this {
    return this.replaceFirstValue("Via", formatVia(v));
  }

  from(): NameAddr {
    return this.view("from", () => parseFromTo(this.required("From")));
  }

  to(): NameAddr {
    return this.view("to", () => parseFromTo(this.required("To")));
  }

  fromTag(): string | undefined {
    return getParam(this.from().params, "tag") ?? undefined;
  }

  toTag(): string | undefined {
    return getParam(this.to().params, "tag") ?? undefined;
  }

  callId(): string {
    return this.view("call-id", () => parseCallId(this.required("Call-ID")));
  }

  cseq(): CSeq {
    return this.view("cseq", () => parseCSeq(this.required("CSeq")));
  }

  maxForwards(): number | undefined {
    return this.view("max-forwards", () => {
      const v = this.getHeader("Max-Forwards");
      return v === undefined ? undefined : parseMaxForwards(v);
    });
  }

  /** Contact values across rows; "*" for the wildcard (RFC 3261 §20.10); [] when absent. */
  contact(): ContactValue {
    return this.view("contact", () => {
      const rows = this.getHeaders("Contact");
      if (rows.length === 1 && rows[0]?.trim() === "*") return "*" as const;
      const out: NameAddr[] = [];
      for (const r of rows) {
        const c = parseContact(r);
        if (c === "*") fail("E_SIP_NAME_ADDR", "Contact * mixed with other contacts", "Contact");
        out.push(...c);
      }
      return out;
    });
  }

  routes(): NameAddr[] {
    return this.view("route", () => this.getHeaders("Route").flatMap(parseRouteList));
  }

  recordRoutes(): NameAddr[] {
    return this.view("record-route", () => this.getHeaders("Record-Route").flatMap(parseRouteList));
  }

  /** RFC 3327 Path. */
  paths(): NameAddr[] {
    return this.view("path", () => this.getHeaders("Path").flatMap(parseRouteList));
  }

  /** RFC 3608 Service-Route. */
  serviceRoutes(): NameAddr[] {
    return this.view("service-route", () => this.getHeaders("Service-Route").flatMap(parseRouteList));
  }

  contentType(): ContentType | undefined {
    return this.view("content-type", () => {
      const v = this.getHeader("Content-Type");
      return v === undefined ? undefined : parseContentType(v);
    });
  }

  /** Content-Length as written (undefined when absent). */
  contentLength(): number | undefined {
    const v = this.getHeader("Content-Length");
    return v === undefined ? undefined : parseContentLength(v);
  }

  expires(): number | undefined {
    return this.view("expires", () => {
      const v = this.getHeader("Expires");
      return v === undefined ? undefined : parseDeltaSeconds(v);
    });
  }

  minExpires(): number | undefined {
    return this.view("min-expires", () => {
      const v = this.getHeader("Min-Expires");
      return v === undefined ? undefined : parseDeltaSeconds(v);
    });
  }

  securityClient(): SecurityMechanism[] {
    return this.view("security-client", () => this.getHeaders("Security-Client").flatMap(parseSecurityMechanisms));
  }

  securityServer(): SecurityMechanism[] {
    return this.view("security-server", () => this.getHeaders("Security-Server").flatMap(parseSecurityMechanisms));
  }

  securityVerify(): SecurityMechanism[] {
    return this.view("security-verify", () => this.getHeaders("Security-Verify").flatMap(parseSecurityMechanisms));
  }

  warnings(): Warning[] {
    return this.view("warning", () => this.getHeaders("Warning").flatMap(parseWarning));
  }

  retryAfter(): RetryAfter | undefined {
    return this.view("retry-after", () => {
      const v = this.getHeader("Retry-After");
      return v === undefined ? undefined : parseRetryAfter(v);
    });
  }

  require(): string[] {
    return this.view("require", () => this.getHeaders("Require").flatMap((v) => parseTokenList(v)));
  }

  proxyRequire(): string[] {
    return this.view("proxy-require", () => this.getHeaders("Proxy-Require").flatMap((v) => parseTokenList(v)));
  }

  /** RFC 3261 §20.37: Supported may be empty. */
  supported(): string[] {
    return this.view("supported", () => this.getHeaders("Supported").flatMap((v) => parseTokenList(v, true)));
  }

  unsupported(): string[] {
    return this.view("unsupported", () => this.getHeaders("Unsupported").flatMap((v) => parseTokenList(v)));
  }

  /** RFC 3261 §20.5: Allow may be empty. */
  allow(): string[] {
    return this.view("allow", () => this.getHeaders("Allow").flatMap((v) => parseTokenList(v, true)));
  }

  /** Serialises (RFC 3261 §7; Content-Length set to the body's byte length). */
  toBytes(opts?: SerializeOptions): Uint8Array {
    return serializeMessage(this as unknown as SipMessage, opts);
  }

  toString(): string {
    return new TextDecoder().decode(this.toBytes());
  }
}

export class SipRequest extends SipMessageBase {
  readonly kind = "request" as const;
  method: string;
  /** Request-URI text as received or set */
  private ruri: string;
  private parsedRuri: Uri | undefined;

  constructor(method: string, uri: string | Uri, headers: readonly SipHeader[] = [], body?: Uint8Array) {
    super(headers, body);
    this.method = method;
    this.ruri = typeof uri === "string" ? uri : formatUri(uri);
    this.parsedRuri = typeof uri === "string" ? undefined : uri;
  }

  get uri(): string {
    return this.ruri;
  }

  set uri(u: string) {
    this.ruri = u;
    this.parsedRuri = undefined;
  }

  /** Parsed Request-URI (throws E_SIP_URI when malformed). */
  requestUri(): Uri {
    if (this.parsedRuri === undefined) this.parsedRuri = parseUri(this.ruri);
    return this.parsedRuri;
  }

  /** Caches the parse of the Request-URI text as it is (the parser's; the text is not re-formatted). */
  withParsedUri(u: Uri): this {
    this.parsedRuri = u;
    return this;
  }

  setRequestUri(u: Uri): this {
    this.ruri = formatUri(u);
    this.parsedRuri = u;
    return this;
  }

  clone(): SipRequest {
    const c = new SipRequest(this.method, this.ruri, this.rows, this.body);
    c.parsedRuri = this.parsedRuri;
    c.adoptViews(this);
    return c;
  }
}

export class SipResponse extends SipMessageBase {
  readonly kind = "response" as const;
  status: number;
  reason: string;

  constructor(status: number, reason: string, headers: readonly SipHeader[] = [], body?: Uint8Array) {
    super(headers, body);
    this.status = status;
    this.reason = reason;
  }

  clone(): SipResponse {
    const c = new SipResponse(this.status, this.reason, this.rows, this.body);
    c.adoptViews(this);
    return c;
  }
}

export type SipMessage = SipRequest | SipResponse;

export { REASON_PHRASES, reasonPhrase } from "./reasons.ts";

export function isRequest(m: SipMessage): m is SipRequest {
  return m.kind === "request";
}

export function isResponse(m: SipMessage): m is SipResponse {
  return m.kind === "response";
}

// ---------------------------------------------------------------------------------------------------------------------
// factories

/** RFC 3261 §8.1.1.7: branch = magic cookie z9hG4bK + a value unique across space and time. */
export function generateBranch(): string {
  return `${MAGIC_COOKIE}${randomHex(10)}`;
}

/** RFC 3261 §19.3: tags need at least 32 bits of randomness. */
export function generateTag(): string {
  return randomHex(6);
}

/** RFC 3261 §8.1.1.4: Call-ID should be globally unique (random, optionally @host). */
export function generateCallId(host?: string): string {
  const id = randomHex(12);
  return host !== undefined ? `${id}@${host}` : id;
}

export interface CreateResponseOptions {
  /** To tag to add when the request's To has none (RFC 3261 §8.2.6.2; not added to 100) */
  toTag?: string | undefined;
  /** extra header rows appended in order */
  headers?: readonly SipHeader[] | undefined;
  body?: Uint8Array | undefined;
  contentType?: string | undefined;
}

/**
 * RFC 3261 §8.2.6.1/§8.2.6.2: a response copies From, Call-ID, CSeq and every Via (same order) of the request, copies
 * To and adds a tag when it has none (not on 100), and a 100 copies Timestamp. Works from raw rows, so it can answer
 * a request whose other headers are malformed.
 */
export function createResponse(
  request: { readonly headers: readonly SipHeader[] },
  status: number,
  reason?: string,
  opts: CreateResponseOptions = {},
): SipResponse {
  const rows: SipHeader[] = [];
  for (const h of request.headers) {
    const k = headerKey(h.name);
    if (k === "via" || k === "from" || k === "call-id" || k === "cseq") rows.push({ name: h.name, value: h.value });
    else if (k === "to") {
      let value = h.value;
      if (opts.toTag !== undefined && status !== 100 && !/;[ \t]*tag[ \t]*=/i.test(stripAngle(value))) {
        value = `${value};tag=${opts.toTag}`;
      }
      rows.push({ name: h.name, value });
    } else if (k === "timestamp" && status === 100) rows.push({ name: h.name, value: h.value });
  }
  const res = new SipResponse(status, reason ?? reasonPhrase(status), rows);
  for (const h of opts.headers ?? []) res.addHeader(h.name, h.value);
  if (opts.body !== undefined) res.setBody(opts.body, opts.contentType);
  return res;
}

/** The part of a name-addr after its `>` (so a tag inside the URI is not mistaken for a header tag). */
function stripAngle(v: string): string {
  const gt = v.lastIndexOf(">");
  return gt < 0 ? v : v.slice(gt + 1);
}

export interface CreateRequestOptions {
  method: string;
  uri: string | Uri;
  from: string;
  to: string;
  callId: string;
  cseq: number;
  /** Via values, top first; usually added by the transaction layer */
  via?: readonly string[] | undefined;
  /** RFC 3261 §8.1.1.6: Max-Forwards SHOULD be 70 */
  maxForwards?: number | undefined;
  contact?: string | undefined;
  route?: readonly string[] | undefined;
  headers?: readonly SipHeader[] | undefined;
  body?: Uint8Array | undefined;
  contentType?: string | undefined;
}

/** RFC 3261 §8.1.1: builds a request with To, From, CSeq, Call-ID, Max-Forwards (and Via when given). */
export function createRequest(o: CreateRequestOptions): SipRequest {
  const rows: SipHeader[] = [];
  for (const v of o.via ?? []) rows.push({ name: "Via", value: v });
  rows.push({ name: "Max-Forwards", value: String(o.maxForwards ?? 70) });
  for (const r of o.route ?? []) rows.push({ name: "Route", value: r });
  rows.push({ name: "From", value: o.from });
  rows.push({ name: "To", value: o.to });
  rows.push({ name: "Call-ID", value: o.callId });
  rows.push({ name: "CSeq", value: `${o.cseq} ${o.method}` });
  if (o.contact !== undefined) rows.push({ name: "Contact", value: o.contact });
  for (const h of o.headers ?? []) rows.push({ name: h.name, value: h.value });
  const req = new SipRequest(o.method, o.uri, rows);
  if (o.body !== undefined) req.setBody(o.body, o.contentType);
  return req;
}
