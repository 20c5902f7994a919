/**
 * Test harness for the werift hardening patch (patches/werift+0.24.4.patch).
 *
 * - Pairs two werift endpoints through the LOW-LEVEL transport classes (RTCIceGatherer → RTCIceTransport →
 *   RTCDtlsTransport(srtpProfiles []) → RTCSctpTransport → negotiated RTCDataChannel), host candidates on 127.0.0.1
 *   only, one fresh ECDSA P-256 certificate per endpoint, with knobs for impersonation (present someone else's
 *   certificate with our own key), fingerprint tampering and DTLS role choice.
 * - Pairs a werift endpoint with node-datachannel (libdatachannel), which verifies DTLS correctly: the oracle peer.
 * - Captures the DTLS record headers an endpoint puts on the wire (wrapping the ICE send path).
 * - Installs a process-wide network guard: DNS lookups and UDP datagrams to anything but 127.0.0.0/8 are blocked
 *   and recorded, so that even an unpatched werift never reaches a public host from these tests.
 *
 * `WERIFT_DIR=/path/to/node_modules/werift` makes the harness load that copy instead of the installed (patched)
 * package; that is how the tests were run against an unpatched werift (see docs/werift-patches.md).
 */
import dgram from "node:dgram";
import dns from "node:dns";
import { createRequire } from "node:module";
import { isIP } from "node:net";
import { join } from "node:path";
import { pathToFileURL } from "node:url";
import nodeDataChannel from "node-datachannel";
import sdpTransform from "sdp-transform";
import type * as WeriftModule from "werift";
import { generateSessionCertificate, type SessionCertificate } from "../../src/security/certificate.ts";

export type Werift = typeof WeriftModule;
export type DataChannel = WeriftModule.RTCDataChannel;
export type DtlsRole = "client" | "server";
type Message = string | Buffer;

// ---------------------------------------------------------------------------------------------------------------
// werift loading (ESM bundle or CJS build; optionally an unpatched copy)

const weriftDir = process.env.WERIFT_DIR;

export type WeriftBuild = "esm" | "cjs";
/** Builds the tests run against: the ESM bundle (lib/index.mjs) and the CJS files under lib/{dtls,sctp,ice,webrtc}. */
export const WERIFT_BUILDS: WeriftBuild[] = (process.env.WERIFT_BUILDS ?? "esm,cjs")
  .split(",")
  .filter((b): b is WeriftBuild => b === "esm" || b === "cjs");

export async function loadWerift(kind: WeriftBuild = "esm"): Promise<Werift> {
  if (kind === "cjs") {
    const require = createRequire(import.meta.url);
    return require(weriftDir ? join(weriftDir, "lib/webrtc/src/index.js") : "werift") as Werift;
  }
  if (weriftDir) return (await import(pathToFileURL(join(weriftDir, "lib/index.mjs")).href)) as Werift;
  return await import("werift");
}

// ---------------------------------------------------------------------------------------------------------------
// network guard

export interface NetworkViolation {
  kind: "dns" | "udp";
  target: string;
}
export const networkViolations: NetworkViolation[] = [];

const isLoopback = (host: string): boolean => /^127\.\d+\.\d+\.\d+$/.test(host) || host === "::1";
/** IP literals need no DNS query (dgram looks up even "0.0.0.0" when binding); only names are blocked. */
const needsNoDns = (host: string): boolean => isIP(host) !== 0;

type LookupCallback = (err: NodeJS.ErrnoException | null, address?: string, family?: number) => void;

function installNetworkGuard(): void {
  const marker = Symbol.for("imsdc.test.networkGuard");
  const g = globalThis as Record<symbol, unknown>;
  if (g[marker]) return;
  g[marker] = true;
  const enotfound = (host: string): NodeJS.ErrnoException =>
    Object.assign(new Error(`test network guard: DNS lookup of ${host} blocked`), { code: "ENOTFOUND" });
  const origLookup = dns.lookup;
  const guardedLookup = (host: string, ...rest: unknown[]): void => {
    const cb = rest.find((a): a is LookupCallback => typeof a === "function");
    if (needsNoDns(host)) {
      (origLookup as (...a: unknown[]) => void)(host, ...rest);
      return;
    }
    networkViolations.push({ kind: "dns", target: host });
    if (cb) process.nextTick(() => cb(enotfound(host)));
  };
  (dns as { lookup: unknown }).lookup = guardedLookup;
  const origPromisesLookup = dns.promises.lookup;
  (dns.promises as { lookup: unknown }).lookup = (host: string, ...rest: unknown[]) => {
    if (needsNoDns(host)) return (origPromisesLookup as (...a: unknown[]) => Promise<unknown>)(host, ...rest);
    networkViolations.push({ kind: "dns", target: host });
    return Promise.reject(enotfound(host));
  };
  const origSend = dgram.Socket.prototype.send as (...a: unknown[]) => void;
  dgram.Socket.prototype.send = function guardedSend(this: dgram.Socket, ...args: unknown[]): void {
    // send(msg, [offset, length,] port[, address][, callback]); connected sockets omit port/address
    const withRange = typeof args[1] === "number" && typeof args[2] === "number";
    const address = args[withRange ? 4 : 2];
    if (typeof address === "string" && !isLoopback(address)) {
      networkViolations.push({ kind: "udp", target: `${address}:${String(args[withRange ? 3 : 1])}` });
      const cb = args.find((a): a is (e: Error | null) => void => typeof a === "function");
      if (cb) process.nextTick(() => cb(new Error("test network guard: non-loopback send blocked")));
      return;
    }
    origSend.apply(this, args);
  } as typeof dgram.Socket.prototype.send;
}
installNetworkGuard();

// ---------------------------------------------------------------------------------------------------------------
// small utilities

export const sleep = (ms: number): Promise<void> => new Promise((r) => setTimeout(r, ms));

export async function withTimeout<T>(p: Promise<T>, ms: number, what: string): Promise<T> {
  let timer: NodeJS.Timeout | undefined;
  try {
    return await Promise.race([
      p,
      new Promise<never>((_, reject) => {
        timer = setTimeout(() => reject(new Error(`${what}: timeout after ${ms} ms`)), ms);
      }),
    ]);
  } finally {
    clearTimeout(timer);
  }
}

export async function waitFor(cond: () => boolean, ms: number, what: string, stepMs = 20): Promise<void> {
  const end = Date.now() + ms;
  while (!cond()) {
    if (Date.now() > end) throw new Error(`${what}: not reached within ${ms} ms`);
    await sleep(stepMs);
  }
}

/** Flip the last byte of a colon-hex fingerprint. */
export function tamperFingerprint(value: string): string {
  const last = Number.parseInt(value.slice(-2), 16) ^ 0xff;
  return `${value.slice(0, -2)}${last.toString(16).toUpperCase().padStart(2, "0")}`;
}

// ---------------------------------------------------------------------------------------------------------------
// DTLS record capture

export interface RecordHeader {
  contentType: number;
  epoch: number;
  seq: number;
  length: number;
}

/** DTLS 1.2 record headers (RFC 6347 §4.1) in one datagram. */
export function parseRecordHeaders(datagram: Buffer): RecordHeader[] {
  const out: RecordHeader[] = [];
  let pos = 0;
  while (pos + 13 <= datagram.length) {
    const length = datagram.readUInt16BE(pos + 11);
    out.push({
      contentType: datagram.readUInt8(pos),
      epoch: datagram.readUInt16BE(pos + 3),
      seq: datagram.readUIntBE(pos + 5, 6),
      length,
    });
    pos += 13 + length;
  }
  return out;
}

/** A DTLS 1.2 record (RFC 6347 §4.1) with arbitrary header fields, as an off-path sender could forge it. */
export function dtlsRecord(contentType: number, epoch: number, seq: number, payload: Buffer): Buffer {
  const header = Buffer.alloc(13);
  header.writeUInt8(contentType, 0);
  header.writeUInt8(0xfe, 1);
  header.writeUInt8(0xfd, 2);
  header.writeUInt16BE(epoch, 3);
  header.writeUIntBE(seq, 5, 6);
  header.writeUInt16BE(payload.length, 11);
  return Buffer.concat([header, payload]);
}

/** A DTLS handshake message (12-byte header, RFC 6347 §4.2.2) of `msgType` with `body`. */
export function dtlsHandshake(msgType: number, body: Buffer, messageSeq = 0): Buffer {
  const h = Buffer.alloc(12);
  h.writeUInt8(msgType, 0);
  h.writeUIntBE(body.length, 1, 3);
  h.writeUInt16BE(messageSeq, 4);
  h.writeUIntBE(0, 6, 3);
  h.writeUIntBE(body.length, 9, 3);
  return Buffer.concat([h, body]);
}

/** A minimal ClientHello body (DTLS 1.2, no cookie, TLS_ECDHE_ECDSA_WITH_AES_128_GCM_SHA256). */
export function clientHelloBody(): Buffer {
  return Buffer.concat([
    Buffer.from([0xfe, 0xfd]),
    Buffer.alloc(32, 7),
    Buffer.from([0]), // session id
    Buffer.from([0]), // cookie
    Buffer.from([0, 2, 0xc0, 0x2b]),
    Buffer.from([1, 0]),
    Buffer.from([0, 0]),
  ]);
}

/** Sends one datagram to 127.0.0.1:port from a fresh socket (a port ICE never validated). */
export async function sendFromOffPath(port: number, datagram: Buffer): Promise<void> {
  const sock = dgram.createSocket("udp4");
  try {
    await new Promise<void>((resolve, reject) => {
      sock.send(datagram, port, "127.0.0.1", (err) => (err ? reject(err) : resolve()));
    });
  } finally {
    sock.close();
  }
}

// ---------------------------------------------------------------------------------------------------------------
// werift endpoint

export interface PemPair {
  certPem: string;
  keyPem: string;
}

export interface ChannelSpec {
  id: number;
  label?: string;
  ordered?: boolean;
  maxRetransmits?: number;
  maxPacketLifeTime?: number;
}

export interface EndpointOptions {
  name?: string;
  werift?: Werift;
  /** Certificate used in DTLS (and whose fingerprint we signal). Default: a fresh per-session certificate. */
  certificate?: PemPair;
  role?: DtlsRole;
  channels?: ChannelSpec[];
  /** Our advertised (inbound) a=max-message-size. */
  maxMessageSize?: number;
}

export interface Fingerprint {
  algorithm: string;
  value: string;
}

/** What one side learns about the other from signalling (what the SDP would carry). */
export interface RemoteParams {
  usernameFragment: string;
  password: string;
  candidates: WeriftModule.IceCandidate[];
  fingerprint: Fingerprint;
  maxMessageSize: number;
}

export class Endpoint {
  readonly name: string;
  readonly w: Werift;
  readonly role: DtlsRole;
  readonly gatherer: WeriftModule.RTCIceGatherer;
  readonly ice: WeriftModule.RTCIceTransport;
  readonly dtls: WeriftModule.RTCDtlsTransport;
  readonly sctp: WeriftModule.RTCSctpTransport;
  readonly channels = new Map<number, DataChannel>();
  readonly received = new Map<number, Message[]>();
  readonly channelErrors: Error[] = [];
  readonly dtlsStates: string[] = [];
  /** Every DTLS record header this endpoint sent, in order, with the send time (performance.now()). */
  readonly sentRecords: (RecordHeader & { at: number })[] = [];
  /** performance.now() when ICE reported connected (before DTLS starts). */
  iceConnectedAt = 0;
  readonly pem: PemPair;
  readonly maxMessageSize: number;
  fingerprint: Fingerprint;

  private constructor(opts: EndpointOptions, w: Werift) {
    this.w = w;
    this.name = opts.name ?? "ep";
    this.role = opts.role ?? "client";
    this.maxMessageSize = opts.maxMessageSize ?? 65536;
    this.pem = opts.certificate ?? generateSessionCertificate();
    const cert = new w.RTCCertificate(this.pem.keyPem, this.pem.certPem, { hash: 4, signature: 3 });
    const fp = cert.getFingerprints()[0];
    if (!fp) throw new Error("no local fingerprint");
    this.fingerprint = { algorithm: fp.algorithm, value: fp.value };
    // Loopback host candidates only: no interface enumeration, socket bound to 127.0.0.1, no STUN server.
    this.gatherer = new w.RTCIceGatherer({
      useIpv4: false,
      useIpv6: false,
      additionalHostAddresses: ["127.0.0.1"],
      interfaceAddresses: { udp4: "127.0.0.1" },
    });
    this.ice = new w.RTCIceTransport(this.gatherer);
    this.dtls = new w.RTCDtlsTransport({}, this.ice, cert, []);
    this.dtls.onStateChange.subscribe((s) => {
      this.dtlsStates.push(s);
    });
    this.sctp = new w.RTCSctpTransport(5000, this.maxMessageSize);
    this.sctp.setDtlsTransport(this.dtls);
    for (const spec of opts.channels ?? [{ id: 0 }]) {
      const params = new w.RTCDataChannelParameters({
        id: spec.id,
        label: spec.label ?? `dc${spec.id}`,
        negotiated: true,
        ordered: spec.ordered ?? true,
        ...(spec.maxRetransmits !== undefined ? { maxRetransmits: spec.maxRetransmits } : {}),
        ...(spec.maxPacketLifeTime !== undefined ? { maxPacketLifeTime: spec.maxPacketLifeTime } : {}),
      });
      const ch = new w.RTCDataChannel(this.sctp, params);
      const box: Message[] = [];
      this.received.set(spec.id, box);
      ch.onMessage.subscribe((m) => {
        box.push(m);
      });
      ch.error.subscribe((e) => {
        this.channelErrors.push(e);
      });
      this.channels.set(spec.id, ch);
    }
    // Capture the DTLS records we send (the DTLS transport sends through IceConnection.send).
    const conn = this.ice.connection;
    const origSend = conn.send.bind(conn);
    conn.send = (data: Buffer) => {
      const first = data[0] ?? 0;
      if (first >= 20 && first <= 63) {
        const at = performance.now();
        this.sentRecords.push(...parseRecordHeaders(data).map((r) => ({ ...r, at })));
      }
      return origSend(data);
    };
  }

  static async create(opts: EndpointOptions = {}): Promise<Endpoint> {
    const ep = new Endpoint(opts, opts.werift ?? (await loadWerift()));
    await ep.gatherer.gather();
    return ep;
  }

  get candidates(): WeriftModule.IceCandidate[] {
    return this.gatherer.localCandidates.filter((c) => c.ip === "127.0.0.1" && c.protocol === "udp");
  }

  /** Our ICE/DTLS UDP port on 127.0.0.1. */
  get port(): number {
    const c = this.candidates[0];
    if (!c) throw new Error(`${this.name}: no 127.0.0.1 candidate`);
    return c.port;
  }

  get params(): RemoteParams {
    const lp = this.gatherer.localParameters;
    return {
      usernameFragment: lp.usernameFragment,
      password: lp.password,
      candidates: this.candidates,
      fingerprint: this.fingerprint,
      maxMessageSize: this.maxMessageSize,
    };
  }

  channel(id = 0): DataChannel {
    const ch = this.channels.get(id);
    if (!ch) throw new Error(`${this.name}: no channel ${id}`);
    return ch;
  }

  messages(id = 0): Message[] {
    return this.received.get(id) ?? [];
  }

  async waitMessage(text: string, id = 0, ms = 3000): Promise<void> {
    await waitFor(() => this.messages(id).some((m) => String(m) === text), ms, `${this.name} waiting for "${text}"`);
  }

  private remoteMaxMessageSize = 65536;

  applyRemote(remote: RemoteParams, { controlling }: { controlling: boolean }): void {
    this.ice.connection.iceControlling = controlling;
    this.ice.setRemoteParams(
      new this.w.RTCIceParameters({ usernameFragment: remote.usernameFragment, password: remote.password }),
    );
    for (const c of remote.candidates) void this.ice.addRemoteCandidate(c);
    void this.ice.addRemoteCandidate(undefined);
    this.dtls.role = this.role;
    this.dtls.setRemoteParams(
      new this.w.RTCDtlsParameters(
        [new this.w.RTCDtlsFingerprint(remote.fingerprint.algorithm, remote.fingerprint.value)],
        this.role === "client" ? "server" : "client",
      ),
    );
    this.remoteMaxMessageSize = remote.maxMessageSize;
  }

  /** ICE → DTLS → SCTP → all channels open. Rejects on DTLS failure or timeout. */
  async connect(timeoutMs = 8000): Promise<void> {
    await withTimeout(this.ice.start(), timeoutMs, `${this.name} ICE`);
    this.iceConnectedAt = performance.now();
    await withTimeout(this.dtls.start(), timeoutMs, `${this.name} DTLS`);
    this.sctp.setRemoteMaxMessageSize(this.remoteMaxMessageSize);
    await this.sctp.start(5000);
    // A DTLS server completes before the client has verified the server's Finished: a fatal alert can still
    // arrive after dtls.start() resolved, so a DTLS failure also ends the wait for SCTP.
    let unsubscribe = (): void => {};
    const dtlsFailed = new Promise<never>((_, reject) => {
      const sub = this.dtls.onStateChange.subscribe((s) => {
        if (s === "failed" || s === "closed") reject(new Error(`${this.name} DTLS ${s} after handshake`));
      });
      unsubscribe = () => sub.unSubscribe();
    });
    try {
      await withTimeout(
        Promise.race([Promise.all([...this.channels.values()].map((ch) => waitChannelOpen(ch))), dtlsFailed]),
        timeoutMs,
        `${this.name} SCTP/channels`,
      );
    } finally {
      unsubscribe();
    }
  }

  async close(): Promise<void> {
    await Promise.allSettled([this.sctp.stop(), this.dtls.stop()]);
    await this.ice.stop().catch(() => {});
  }
}

function waitChannelOpen(ch: DataChannel): Promise<void> {
  if (ch.readyState === "open") return Promise.resolve();
  return new Promise((resolve) => {
    const sub = ch.stateChanged.subscribe((s) => {
      if (s === "open") {
        sub.unSubscribe();
        resolve();
      }
    });
  });
}

export interface PairOptions {
  werift?: Werift;
  /** Options of A (ICE controlling, "offerer"); default DTLS role server. */
  a?: EndpointOptions;
  /** Options of B (ICE controlled, "answerer"); default DTLS role client. */
  b?: EndpointOptions;
  /** Fingerprint B is told for A (default: A's real one). */
  fingerprintOfA?: Fingerprint;
  /** Fingerprint A is told for B (default: B's real one). */
  fingerprintOfB?: Fingerprint;
  /** Called after both are set up, before connecting (e.g. to tamper with internals). */
  beforeConnect?: (a: Endpoint, b: Endpoint) => void;
  timeoutMs?: number;
}

export interface Pair {
  a: Endpoint;
  b: Endpoint;
  resultA: PromiseSettledResult<void>;
  resultB: PromiseSettledResult<void>;
  setupMs: number;
  close(): Promise<void>;
}

/** Creates and connects two werift endpoints; never throws on connection failure (see resultA/resultB). */
export async function pairWerift(opts: PairOptions = {}): Promise<Pair> {
  const werift = opts.werift ?? (await loadWerift());
  const [a, b] = await Promise.all([
    Endpoint.create({ name: "A", role: "server", ...opts.a, werift }),
    Endpoint.create({ name: "B", role: "client", ...opts.b, werift }),
  ]);
  const t0 = performance.now();
  a.applyRemote({ ...b.params, fingerprint: opts.fingerprintOfB ?? b.fingerprint }, { controlling: true });
  b.applyRemote({ ...a.params, fingerprint: opts.fingerprintOfA ?? a.fingerprint }, { controlling: false });
  const pending = [a.connect(opts.timeoutMs), b.connect(opts.timeoutMs)];
  opts.beforeConnect?.(a, b);
  const [resultA, resultB] = await Promise.allSettled(pending);
  return {
    a,
    b,
    resultA: resultA ?? { status: "rejected", reason: "missing" },
    resultB: resultB ?? { status: "rejected", reason: "missing" },
    setupMs: performance.now() - t0,
    close: async () => {
      await Promise.allSettled([a.close(), b.close()]);
    },
  };
}

/** A and B connected and exchanging messages both ways; throws otherwise. */
export async function assertMessagesFlow(a: Endpoint, b: Endpoint, tag: string, id = 0): Promise<void> {
  a.channel(id).send(`${tag}:a->b`);
  b.channel(id).send(`${tag}:b->a`);
  await Promise.all([b.waitMessage(`${tag}:a->b`, id), a.waitMessage(`${tag}:b->a`, id)]);
}

/** Certificate an attacker can present: the victim peer's (public) certificate with the attacker's own key. */
export function impersonatorCertificate(victimPeerCertPem: string): PemPair {
  const attacker: SessionCertificate = generateSessionCertificate();
  return { certPem: victimPeerCertPem, keyPem: attacker.keyPem };
}

// ---------------------------------------------------------------------------------------------------------------
// node-datachannel (oracle peer)

export interface NdcPeer {
  pc: nodeDataChannel.PeerConnection;
  channel: nodeDataChannel.DataChannel;
  states: string[];
  messages: string[];
  opened: Promise<void>;
  close(): void;
}

export interface NdcPairOptions {
  werift?: Werift;
  /** werift's DTLS role; node-datachannel offers (actpass) and werift answers active (client) or passive (server). */
  weriftRole: DtlsRole;
  weriftCertificate?: PemPair;
  /** Fingerprint node-datachannel is told for werift (default: the real one). */
  fingerprintForNdc?: Fingerprint;
  /** Tamper with the fingerprint werift is told for node-datachannel. */
  tamperNdcFingerprint?: boolean;
  timeoutMs?: number;
}

export interface NdcPair {
  werift: Endpoint;
  ndc: NdcPeer;
  weriftResult: PromiseSettledResult<void>;
  ndcResult: PromiseSettledResult<void>;
  setupMs: number;
  close(): Promise<void>;
}

function ndcGatherComplete(pc: nodeDataChannel.PeerConnection): Promise<void> {
  return new Promise((resolve) => {
    if (pc.gatheringState() === "complete") return resolve();
    pc.onGatheringStateChange((s) => {
      if (s === "complete") resolve();
    });
  });
}

export async function pairWithNdc(opts: NdcPairOptions): Promise<NdcPair> {
  const timeoutMs = opts.timeoutMs ?? 8000;
  const werift = await Endpoint.create({
    name: "werift",
    role: opts.weriftRole,
    werift: opts.werift ?? (await loadWerift()),
    ...(opts.weriftCertificate ? { certificate: opts.weriftCertificate } : {}),
  });
  const pc = new nodeDataChannel.PeerConnection(`ndc-${Math.random().toString(36).slice(2, 8)}`, {
    iceServers: [],
    bindAddress: "127.0.0.1",
  });
  const states: string[] = [];
  const messages: string[] = [];
  const channel = pc.createDataChannel("dc", { negotiated: true, id: 0 });
  channel.onMessage((m) => messages.push(typeof m === "string" ? m : Buffer.from(m as ArrayBuffer).toString()));
  // node-datachannel keeps one callback per event: register each exactly once
  const opened = new Promise<void>((resolve, reject) => {
    channel.onOpen(() => resolve());
    pc.onStateChange((s) => {
      states.push(s);
      if (s === "failed" || s === "closed") reject(new Error(`node-datachannel ${s}`));
    });
  });
  opened.catch(() => {});
  const t0 = performance.now();
  pc.setLocalDescription();
  await withTimeout(ndcGatherComplete(pc), timeoutMs, "ndc gathering");
  const offer = pc.localDescription();
  if (!offer) throw new Error("ndc produced no offer");
  const parsed = sdpTransform.parse(offer.sdp);
  const m = parsed.media.find((x) => x.type === "application");
  if (!m) throw new Error("ndc offer has no m=application");
  const fp = m.fingerprint ?? parsed.fingerprint;
  const ufrag = m.iceUfrag ?? parsed.iceUfrag;
  const pwd = m.icePwd ?? parsed.icePwd;
  if (!fp || !ufrag || !pwd) throw new Error("ndc offer lacks ICE credentials or fingerprint");
  const candidates = (m.candidates ?? [])
    .filter((c) => c.ip === "127.0.0.1" && c.transport.toLowerCase() === "udp")
    .map((c) => new werift.w.IceCandidate(c.component, String(c.foundation), c.ip, c.port, c.priority, "udp", c.type));
  werift.applyRemote(
    {
      usernameFragment: ufrag,
      password: pwd,
      candidates,
      fingerprint: { algorithm: fp.type, value: opts.tamperNdcFingerprint ? tamperFingerprint(fp.hash) : fp.hash },
      maxMessageSize: 65536,
    },
    { controlling: false },
  );
  const ourFp = opts.fingerprintForNdc ?? werift.fingerprint;
  const mid = String(m.mid ?? "0");
  const answer = [
    "v=0",
    "o=- 1 1 IN IP4 127.0.0.1",
    "s=-",
    "t=0 0",
    `a=group:BUNDLE ${mid}`,
    "m=application 9 UDP/DTLS/SCTP webrtc-datachannel",
    "c=IN IP4 0.0.0.0",
    `a=mid:${mid}`,
    `a=ice-ufrag:${werift.params.usernameFragment}`,
    `a=ice-pwd:${werift.params.password}`,
    `a=fingerprint:${ourFp.algorithm} ${ourFp.value}`,
    `a=setup:${opts.weriftRole === "client" ? "active" : "passive"}`,
    "a=sctp-port:5000",
    `a=max-message-size:${werift.maxMessageSize}`,
    ...werift.candidates.map(
      (c) => `a=candidate:${c.foundation} ${c.component} udp ${c.priority} ${c.ip} ${c.port} typ ${c.type}`,
    ),
    "a=end-of-candidates",
    "",
  ].join("\r\n");
  pc.setRemoteDescription(answer, "answer");
  const [weriftResult, ndcResult] = await Promise.allSettled([
    werift.connect(timeoutMs),
    withTimeout(opened, timeoutMs, "ndc channel open"),
  ]);
  const ndc: NdcPeer = {
    pc,
    channel,
    states,
    messages,
    opened,
    close: () => {
      // pc.close() closes the channel too; closing the channel explicitly first made nodeDataChannel.cleanup()
      // crash the vitest worker (node-datachannel 0.33.4)
      try {
        pc.close();
      } catch {
        // already closed
      }
    },
  };
  return {
    werift,
    ndc,
    weriftResult: weriftResult ?? { status: "rejected", reason: "missing" },
    ndcResult: ndcResult ?? { status: "rejected", reason: "missing" },
    setupMs: performance.now() - t0,
    close: async () => {
      ndc.close();
      await werift.close();
    },
  };
}

export function ndcCleanup(): void {
  nodeDataChannel.cleanup();
}
