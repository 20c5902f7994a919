/**
 * The P-CSCF as a running node under mutated SIP: one S-CSCF and one P-CSCF (access UDP + TCP, core TCP) on
 * 127.0.0.1, the node classes wired as test/ims/e2e-helpers.ts does. Two UEs are registered through it (alice = the
 * fuzzing client, bob = a scripted UAS that answers 486 to INVITE and 200 to the rest), so mutated INVITEs reach the
 * IMS-ALG and travel P-CSCF → S-CSCF → P-CSCF → UE.
 *
 * Per input: the mutated bytes go to the access side (a UDP datagram, or a fresh TCP connection), then an OPTIONS
 * probe to the P-CSCF itself (RFC 3261 §11) must be answered 200 within a bound: the node stays up. What the node
 * sends is captured on its transport layers (the wrapper of src/demo/network.ts), so the oracle sees every answer:
 * - a malformed request that is answerable (docs/sip.md: Via parseable, From, To, Call-ID, CSeq, not ACK) gets
 *   400 with a Warning (505 for another SIP version), 413 / 513 when too large; the expectation is computed with the
 *   codec's own public functions (parseMessage at the P-CSCF's `validate: "proxy"` level, readPartial,
 *   answerableRows, SipStreamFramer): a malformed header the proxy does not read is forwarded, not answered;
 * - anything else malformed is dropped (no error answer carrying its Call-ID);
 * - no answer leaks internals (stack traces, file paths);
 * - after `stop()` every socket and timer is gone (process.getActiveResourcesInfo()).
 *
 * The answer budget is load-aware (docs/fuzz.md "no-answer under load"): ANSWER_WAIT_MS plus four times the p99
 * event-loop lag measured since the last 100 inputs; an answer that misses it but arrives within PROBE_MS is counted
 * as late (`lateAnswers`), not a violation; an input without any answer is sent once more (fresh Call-ID and branch)
 * and reported only if that replay is not answered either (else counted in `notReplayed`).
 *
 * Network rule of the project: only 127.0.0.0/8 and ::1. The wrapper refuses every other target (a mutated Via maddr,
 * Route or Request-URI host) with E_SIP_TRANSPORT, as an unreachable host would, and counts it.
 */
import { createSocket, type RemoteInfo, type Socket } from "node:dgram";
import { connect, isIP, type Socket as TcpSocket } from "node:net";
import { monitorEventLoopDelay } from "node:perf_hooks";
import fc from "fast-check";
import { Pcscf } from "../../../src/ims/pcscf/index.ts";
import { Scscf } from "../../../src/ims/scscf/index.ts";
import { AuditLog } from "../../../src/log.ts";
import {
  answerableRows,
  findHeaderEnd,
  parseMessage,
  readPartial,
  SipError,
  SipParseError,
  type SipSource,
  SipStreamFramer,
  type SipTarget,
  type SipTransportLayer,
  statusForParseError,
} from "../../../src/sip/index.ts";
import { bounded, type FuzzTarget, FuzzViolation, invariant, type Outcome } from "../oracle.ts";
import { corpus } from "../seeds.ts";
import { applySipOps, type SipOp, sipOpsArb } from "../sipMutate.ts";
import { bytesLatin1, latin1Bytes } from "../values.ts";

export const DOMAIN = "ims.example.com";
const TIMERS = { T1: 50, T2: 200, T4: 200, D: 200 };
/** the node's limit (a documented option): lets UDP datagrams reach the 413 / 513 paths (max UDP payload 65507) */
export const NODE_MAX_MESSAGE = 16384;
const PROBE_MS = 3000;
const ANSWER_WAIT_MS = 400;

const TCP_REPLY: SipTarget = { transport: "TCP", host: "client-connection", port: 0 };

interface Sent {
  text: string;
  target: SipTarget;
}

export interface PcscfInput {
  seed: number;
  ops: SipOp[];
}

export const pcscfInputArb: fc.Arbitrary<PcscfInput> = fc.record({ seed: fc.nat({ max: 1 << 16 }), ops: sipOpsArb });

/** Loopback literal (127.0.0.0/8, ::1): the only targets the fuzzed nodes may reach. */
export function isLoopback(host: string): boolean {
  const h = host.replace(/^\[|\]$/g, "");
  if (isIP(h) === 4) return h.startsWith("127.");
  if (isIP(h) === 6) return h === "::1" || h === "0:0:0:0:0:0:0:1";
  return false;
}

/** Placeholders in the seeds: unique per input so transactions do not merge (RFC 3261 §17.2.3 matching). */
function normalizeSeed(text: string): string {
  return text
    .replace(/^(Call-ID|i)[ \t]*:[^\r\n]*/im, "$1: fzcallid@fuzz")
    .replace(/branch=[^;,\s]+/gi, "branch=z9hG4bKfzbranch")
    .replace(/^((?:Via|v)[ \t]*:[ \t]*SIP[ \t]*\/[ \t]*2\.0[ \t]*\/[ \t]*\w+[ \t]+)[^;\s,]+/im, "$1fzhost");
}

function crlf(lines: string[]): string {
  return `${lines.join("\r\n")}\r\n`;
}

/** What the docs say the node does with these bytes (docs/sip.md "Oversize and malformed input"). */
export interface Expectation {
  /** error answers (400, 505, 413, 513) that must be sent, each with the Call-ID row as read (or undefined) */
  answers: { status: number; callId: string | undefined }[];
  /** Call-IDs of malformed, unanswerable messages: no error answer may carry them */
  dropped: string[];
  /** local codes (parse error codes or "parsed") */
  codes: string[];
}

function callIdRow(rows: { name: string; value: string }[]): string | undefined {
  return rows.find((h) => /^(call-id|i)$/i.test(h.name.trim()))?.value.trim();
}

function expectOne(bytes: Uint8Array, datagram: boolean, out: Expectation): void {
  if (bytes.byteLength > NODE_MAX_MESSAGE) {
    const end = findHeaderEnd(bytes);
    const status = !end || end.bodyStart > NODE_MAX_MESSAGE ? 513 : 413;
    const partial = readPartial(bytes);
    out.codes.push("E_SIP_TOO_LARGE");
    if (answerableRows(partial)) out.answers.push({ status, callId: callIdRow(partial.headers) });
    else out.dropped.push(callIdRow(partial.headers) ?? "");
    return;
  }
  try {
    // the P-CSCF's level (docs/sip.md): only the headers a proxy reads, RFC 3261 §16.3 item 1
    parseMessage(bytes, { datagram, validate: "proxy" });
    out.codes.push("parsed");
  } catch (e) {
    if (!(e instanceof SipParseError)) throw e;
    out.codes.push(e.code);
    const partial = e.partial;
    if (partial && answerableRows(partial)) {
      out.answers.push({ status: statusForParseError(e), callId: callIdRow(partial.headers) });
    } else out.dropped.push(partial ? (callIdRow(partial.headers) ?? "") : "");
  }
}

/** Expectation for one UDP datagram or one TCP connection's bytes (framed like the node frames them). */
export function expectationFor(bytes: Uint8Array, datagram: boolean): Expectation {
  const out: Expectation = { answers: [], dropped: [], codes: [] };
  if (datagram) {
    expectOne(bytes, true, out);
    return out;
  }
  const framer = new SipStreamFramer({ maxMessageSize: NODE_MAX_MESSAGE });
  for (const ev of framer.push(bytes)) {
    if (ev.type === "ping") continue;
    if (ev.type === "message") {
      expectOne(ev.bytes, false, out);
      continue;
    }
    out.codes.push(`framer:${ev.error.code}`);
    if (!ev.head) continue;
    // docs/sip.md: on TCP a header section that does not end within the limit closes the stream without an answer;
    // whether the end arrives in the same read is up to the kernel, so 513 is optional over TCP
    if (ev.tooLarge === "head") continue;
    const status = ev.tooLarge === "body" ? 413 : 400;
    const partial = readPartial(ev.head);
    if (answerableRows(partial)) out.answers.push({ status, callId: callIdRow(partial.headers) });
    else out.dropped.push(callIdRow(partial.headers) ?? "");
  }
  if (framer.buffered > 0 && !framer.failed) out.codes.push("incomplete");
  return out;
}

/**
 * Status, method, Call-ID and Warning of a message the node sent, read with regexes (not the codec: an error answer
 * echoes the malformed rows it could read, RFC 3261 §8.2.6, so it may itself be unparseable).
 */
function summarize(raw: string): { status?: number; method?: string; callId?: string; warning?: string } {
  // on TCP a CRLF pong (RFC 5626 §4.4.1) may arrive in the same read as the answer
  const text = raw.replace(/^(?:\r?\n)+/, "");
  const first = /^[^\r\n]*/.exec(text)?.[0] ?? "";
  const head = text.slice(0, Math.max(0, text.indexOf("\r\n\r\n")) || text.length);
  // the codec reads header text as UTF-8 (readPartial decodes leniently): compare in the same decoding
  const row = (re: RegExp) => {
    const v = re.exec(head)?.[1];
    return v === undefined ? undefined : utf8.decode(latin1Bytes(v)).trim();
  };
  // a lone CR or LF inside a row stays in its value (the codec splits lines on CRLF / LF only at the line level)
  const callId = row(/\r\n(?:Call-ID|i)[ \t]*:(.*?)(?:\r\n|$)/is);
  const warning = row(/\r\nWarning[ \t]*:(.*?)(?:\r\n|$)/is);
  const st = /^SIP\/2\.0 (\d{3}) /.exec(first);
  const out: { status?: number; method?: string; callId?: string; warning?: string } = {};
  if (st) out.status = Number(st[1]);
  else out.method = first.split(" ")[0] ?? "";
  if (callId !== undefined) out.callId = callId;
  if (warning !== undefined) out.warning = warning;
  return out;
}

const utf8 = new TextDecoder();
const LEAK_RE = /\bat [\w.<>]+ \(|node:internal|\/work\/|node_modules|\.ts:\d+/;

/** One running S-CSCF + P-CSCF with its fuzzing client and scripted UAS. */
export class PcscfHarness {
  private scscf: Scscf | undefined;
  private pcscf: Pcscf | undefined;
  private client: Socket | undefined;
  private uas: Socket | undefined;
  private readonly sent: Sent[] = [];
  private readonly waiters: { pred: (s: Sent) => boolean; resolve: () => void }[] = [];
  private readonly seeds: string[] = [];
  private others: { messages: string[]; bodies: string[] } = { messages: [], bodies: [] };
  private n = 0;
  blocked = 0;
  tcpSends = 0;
  private accessUdp = 0;
  private accessTcp = 0;
  private clientPort = 0;
  private baseline: Map<string, number> | undefined;
  private heapBefore = 0;
  private readonly open = new Set<TcpSocket>();
  /** event-loop lag of this process (the node and the oracle share it): scales the answer budget */
  private readonly lag = monitorEventLoopDelay({ resolution: 10 });
  private readonly load = { lateAnswers: 0, maxLateMs: 0, notReplayed: 0, maxBudgetMs: ANSWER_WAIT_MS };

  constructor(readonly transport: "UDP" | "TCP") {}

  async start(): Promise<void> {
    this.baseline = resources();
    this.heapBefore = process.memoryUsage().heapUsed;
    this.lag.enable();
    const audit = new AuditLog({ max: 200 });
    this.scscf = new Scscf({
      host: "127.0.0.1",
      udp: 0,
      tcp: 0,
      domains: [DOMAIN],
      timers: TIMERS,
      timerC: 2000,
      auth: false,
      trustedPcscfs: ["127.0.0.1"],
    });
    await this.scscf.start();
    this.pcscf = new Pcscf({
      name: "pcscf-fuzz",
      access: { host: "127.0.0.1", udp: 0, tcp: 0 },
      core: { host: "127.0.0.1", tcp: 0 },
      scscf: this.scscf.uri("TCP"),
      timers: TIMERS,
      timerC: 2000,
      limits: { maxMessageSize: NODE_MAX_MESSAGE },
      audit,
      // one client flow sends every input: the fuzzer targets the parsers and the IMS-ALG, not the rate limit
      rateLimit: false,
    });
    await this.pcscf.start();
    for (const layer of [this.pcscf.access.layer, this.pcscf.core.layer, this.scscf.iface.layer]) this.guard(layer);
    this.accessUdp = this.pcscf.address("access", "UDP")?.port ?? 0;
    this.accessTcp = this.pcscf.address("access", "TCP")?.port ?? 0;
    this.client = await udp((msg, rinfo) => this.respond(this.client, msg, rinfo));
    this.clientPort = this.client.address().port;
    this.uas = await udp((msg, rinfo) => this.respond(this.uas, msg, rinfo));
    await this.register("alice", this.client);
    await this.register("bob", this.uas);
    this.buildSeeds();
  }

  /** Captures every message a node layer sends; refuses non-loopback targets (project network rule). */
  private guard(layer: SipTransportLayer): void {
    const orig = layer.sendBytes.bind(layer);
    layer.sendBytes = async (bytes: Uint8Array, target: SipTarget): Promise<SipSource> => {
      this.capture({ text: bytesLatin1(bytes), target });
      if (!isLoopback(target.host)) {
        this.blocked++;
        throw new SipError("E_SIP_TRANSPORT", "fuzz harness: non-loopback target refused");
      }
      return orig(bytes, target);
    };
  }

  private capture(s: Sent): void {
    this.sent.push(s);
    for (let i = this.waiters.length - 1; i >= 0; i--) {
      const w = this.waiters[i];
      if (w?.pred(s)) {
        this.waiters.splice(i, 1);
        w.resolve();
      }
    }
  }

  private waitSent(pred: (s: Sent) => boolean, ms: number, from: number): Promise<boolean> {
    for (let i = from; i < this.sent.length; i++) {
      const s = this.sent[i];
      if (s && pred(s)) return Promise.resolve(true);
    }
    return new Promise((resolve) => {
      const w = {
        pred,
        resolve: () => {
          clearTimeout(t);
          resolve(true);
        },
      };
      const t = setTimeout(() => {
        const i = this.waiters.indexOf(w);
        if (i >= 0) this.waiters.splice(i, 1);
        resolve(false);
      }, ms);
      this.waiters.push(w);
    });
  }

  /** The scripted UEs: 486 to INVITE (RFC 3261 §21.4.24), nothing to ACK, 200 to the rest. */
  private respond(sock: Socket | undefined, msg: Buffer, rinfo: RemoteInfo): void {
    if (!sock) return;
    const text = bytesLatin1(new Uint8Array(msg));
    if (text.startsWith("SIP/2.0")) return;
    let req: ReturnType<typeof parseMessage>;
    try {
      req = parseMessage(new Uint8Array(msg), { datagram: true });
    } catch {
      return;
    }
    if (req.kind !== "request" || req.method === "ACK") return;
    const status = req.method === "INVITE" ? "486 Busy Here" : "200 OK";
    const rows = req.headers.filter((h) => /^(via|v|from|f|call-id|i|cseq)$/i.test(h.name));
    const to = req.getHeader("To") ?? "";
    const res = crlf([
      `SIP/2.0 ${status}`,
      ...rows.map((h) => `${h.name}: ${h.value}`),
      `To: ${to}${/;\s*tag=/i.test(to) ? "" : ";tag=fz"}`,
      "Content-Length: 0",
      "",
    ]);
    sock.send(Buffer.from(res, "latin1"), rinfo.port, rinfo.address);
  }

  private async register(user: string, sock: Socket): Promise<void> {
    const port = sock.address().port;
    const callId = `reg-${user}-${Date.now()}`;
    const text = crlf([
      `REGISTER sip:${DOMAIN} SIP/2.0`,
      `Via: SIP/2.0/UDP 127.0.0.1:${port};branch=z9hG4bK-${callId};rport`,
      "Max-Forwards: 70",
      `From: <sip:${user}@${DOMAIN}>;tag=r-${user}`,
      `To: <sip:${user}@${DOMAIN}>`,
      `Call-ID: ${callId}`,
      "CSeq: 1 REGISTER",
      `Contact: <sip:${user}@127.0.0.1:${port}>;+sip.app-subtype="webrtc-datachannel"`,
      "Supported: path",
      "Security-Client: msrp-tls;mediasec, bfcp-tls;mediasec",
      "Expires: 3600",
      "Content-Length: 0",
      "",
    ]);
    const from = this.sent.length;
    sock.send(Buffer.from(text, "latin1"), this.accessUdp, "127.0.0.1");
    const ok = await this.waitSent((s) => s.text.startsWith("SIP/2.0 200") && s.text.includes(callId), 3000, from);
    if (!ok) throw new FuzzViolation("unresponsive", `REGISTER of ${user} was not answered 200`);
  }

  /** Seeds: the SIP fixtures and requests of the live dialog space (alice → bob) carrying the SDP corpus. */
  private buildSeeds(): void {
    const c = corpus();
    const alice = `sip:alice@${DOMAIN}`;
    const bob = `sip:bob@${DOMAIN}`;
    const head = (method: string, uri: string, extra: string[], cseq = 1) => [
      `${method} ${uri} SIP/2.0`,
      "Via: SIP/2.0/UDP fzhost;branch=z9hG4bKfzbranch;rport",
      "Max-Forwards: 70",
      `From: <${alice}>;tag=fz-a`,
      `To: <${bob}>${method === "INVITE" || method === "OPTIONS" || method === "MESSAGE" ? "" : ";tag=fz-b"}`,
      "Call-ID: fzcallid@fuzz",
      `CSeq: ${cseq} ${method}`,
      `Contact: <sip:alice@127.0.0.1:${this.clientPort}>`,
      ...extra,
    ];
    const withBody = (lines: string[], body: string) => {
      const b = body.replace(/\r?\n/g, "\r\n");
      return `${[...lines, "Content-Type: application/sdp", `Content-Length: ${b.length}`, ""].join("\r\n")}\r\n${b}`;
    };
    for (const p of c.pairs) {
      this.seeds.push(withBody(head("INVITE", bob, ["Supported: path"]), p.offer));
    }
    this.seeds.push(
      crlf([...head("OPTIONS", bob, []), "Content-Length: 0", ""]),
      crlf([...head("MESSAGE", bob, ["Content-Type: text/plain"]), "Content-Length: 0", ""]),
      crlf([...head("BYE", bob, ["Route: <sip:127.0.0.1;lr>"], 2), "Content-Length: 0", ""]),
      crlf([...head("CANCEL", bob, []), "Content-Length: 0", ""]),
      crlf([...head("ACK", bob, []), "Content-Length: 0", ""]),
      crlf([
        ...head("REGISTER", `sip:${DOMAIN}`, [
          "Supported: path",
          "Security-Client: msrp-tls;mediasec",
          "Expires: 60",
        ]).map((l) => l.replace(`To: <${bob}>;tag=fz-b`, `To: <${alice}>`)),
        "Content-Length: 0",
        "",
      ]),
    );
    for (const m of c.sipMessages) this.seeds.push(normalizeSeed(m.text));
    this.others = { messages: this.seeds, bodies: c.sdpBodies.map((b) => b.text) };
  }

  seedCount(): number {
    return this.seeds.length;
  }

  text(input: PcscfInput): string {
    const seed = this.seeds[input.seed % this.seeds.length] ?? "";
    return applySipOps(seed, input.ops, this.others);
  }

  /** The answer budget: ANSWER_WAIT_MS + 4 × p99 event-loop lag (ms), at most PROBE_MS. */
  private budget(): number {
    const p99 = this.lag.count > 0 ? this.lag.percentile(99) / 1e6 : 0;
    const b = Math.min(PROBE_MS, Math.round(ANSWER_WAIT_MS + 4 * p99));
    if (b > this.load.maxBudgetMs) this.load.maxBudgetMs = b;
    return b;
  }

  /** Sends the input's bytes as `run` does (UDP datagram or a fresh TCP connection). */
  private async deliver(bytes: Uint8Array, overTcp: boolean): Promise<TcpSocket | undefined> {
    if (overTcp) {
      this.tcpSends++;
      return this.tcpSend(bytes);
    }
    this.client?.send(bytes, this.accessUdp, "127.0.0.1");
    return undefined;
  }

  /**
   * An expected answer missed its budget: late (arrives within PROBE_MS), not replayed (a second send of the same
   * input, with its own Call-ID and branch, is answered), or a violation.
   */
  private async missed(
    n: number,
    input: PcscfInput,
    a: { status: number; callId?: string | undefined },
    match: (s: Sent) => boolean,
    from: number,
  ): Promise<void> {
    const t0 = performance.now();
    if (await this.waitSent(match, PROBE_MS, from)) {
      const late = Math.round(performance.now() - t0);
      this.load.lateAnswers++;
      if (late > this.load.maxLateMs) this.load.maxLateMs = late;
      return;
    }
    const tag = `${n}r`;
    const bytes = latin1Bytes(
      this.text(input)
        .replace(/fzcallid/g, `fz${tag}`)
        .replace(/fzbranch/g, `fz${tag}`)
        .replace(/fzhost/g, `127.0.0.1:${this.clientPort}`),
    );
    const overTcp = this.transport === "TCP" || bytes.byteLength > 65000;
    const again = this.sent.length;
    const conn = await this.deliver(bytes, overTcp);
    try {
      const callId = a.callId?.replace(`fz${n}@`, `fz${tag}@`);
      const ok = await this.waitSent(
        (s) => {
          const r = summarize(s.text);
          return r.status === a.status && (callId === undefined || r.callId === callId);
        },
        PROBE_MS,
        again,
      );
      if (ok) {
        this.load.notReplayed++;
        return;
      }
    } finally {
      if (conn) {
        this.open.delete(conn);
        conn.destroy();
      }
    }
    throw new FuzzViolation("no-answer", `expected ${a.status} (docs/sip.md) was not sent, nor to a replay`, {
      status: a.status,
      callId: a.callId,
      connections: this.pcscf?.access.layer.connectionStats("TCP"),
    });
  }

  async run(input: PcscfInput): Promise<Outcome> {
    const n = ++this.n;
    if (n % 100 === 0) this.lag.reset();
    // one window per input: what the node sends from here on (late messages of earlier inputs are told apart by Call-ID)
    this.sent.length = 0;
    // keep alice registered: mutated REGISTERs may have removed her binding
    if (n % 500 === 0 && this.client) await this.register("alice", this.client);
    const text = this.text(input)
      .replace(/fzcallid/g, `fz${n}`)
      .replace(/fzbranch/g, `fz${n}`)
      .replace(/fzhost/g, `127.0.0.1:${this.clientPort}`);
    const bytes = latin1Bytes(text);
    const overTcp = this.transport === "TCP" || bytes.byteLength > 65000;
    const exp = expectationFor(bytes, !overTcp);
    const from = this.sent.length;
    const conn = await this.deliver(bytes, overTcp);
    try {
      // the node stays up: an OPTIONS to the P-CSCF itself is answered (RFC 3261 §11)
      const probe = `probe-${n}`;
      this.client?.send(Buffer.from(this.probe(probe), "latin1"), this.accessUdp, "127.0.0.1");
      const alive = await this.waitSent(
        (s) => s.text.startsWith("SIP/2.0 200") && s.text.includes(probe),
        PROBE_MS,
        from,
      );
      if (!alive) throw new FuzzViolation("unresponsive", `no 200 to the probe within ${PROBE_MS} ms`, { input: n });
      const codes = [...exp.codes];
      for (const a of exp.answers) {
        const match = (s: Sent) => {
          const r = summarize(s.text);
          return r.status === a.status && (a.callId === undefined || r.callId === a.callId);
        };
        if (!(await this.waitSent(match, this.budget(), from))) await this.missed(n, input, a, match, from);
        const res = this.sent.slice(from).find(match);
        const w = res ? summarize(res.text).warning : undefined;
        // docs/sip.md: 400 / 505 with `Warning: 399 <agent> "E_CODE: message"`
        if (a.status === 400 || a.status === 505)
          invariant(w !== undefined && /^399 \S+ "E_SIP_[A-Z_]+: /.test(w), "error answer", "no Warning 399", {
            warning: w,
          });
        codes.push(`answered:${a.status}`);
      }
      for (const s of this.sent.slice(from)) {
        invariant(!LEAK_RE.test(s.text), "node output", "a message the node sent carries internal details", {
          excerpt: s.text.slice(0, 400),
        });
        const r = summarize(s.text);
        if (r.status !== undefined && [400, 413, 505, 513].includes(r.status) && r.callId !== undefined) {
          if (exp.dropped.includes(r.callId) && !exp.answers.some((a) => a.callId === r.callId))
            throw new FuzzViolation("wrong-answer", `answered ${r.status} to a message docs/sip.md says is dropped`, {
              callId: r.callId,
            });
        }
        if (r.callId === `fz${n}@fuzz` && r.status !== undefined) codes.push(`status:${r.status}`);
      }
      if (exp.answers.length === 0 && exp.dropped.length > 0) codes.push("dropped");
      const accepted = exp.codes.includes("parsed");
      return { accepted, codes };
    } finally {
      if (conn) {
        this.open.delete(conn);
        conn.destroy();
      }
    }
  }

  private probe(callId: string): string {
    return crlf([
      `OPTIONS sip:127.0.0.1:${this.accessUdp} SIP/2.0`,
      `Via: SIP/2.0/UDP 127.0.0.1:${this.clientPort};branch=z9hG4bK-${callId};rport`,
      "Max-Forwards: 70",
      `From: <sip:alice@${DOMAIN}>;tag=p`,
      `To: <sip:127.0.0.1:${this.accessUdp}>`,
      `Call-ID: ${callId}`,
      "CSeq: 1 OPTIONS",
      "Content-Length: 0",
      "",
    ]);
  }

  private tcpSend(bytes: Uint8Array): Promise<TcpSocket> {
    return bounded(
      new Promise<TcpSocket>((resolve, reject) => {
        const s = connect({ host: "127.0.0.1", port: this.accessTcp });
        this.open.add(s);
        s.on("error", () => undefined); // the node may reset the connection after a framing error
        // a framing error is answered on the connection itself, not through the layer (docs/sip.md 413 on TCP);
        // one read may hold several answers (a 100 Trying to a first message, then the 400): frame them
        const replies = new SipStreamFramer({ maxMessageSize: 1 << 20 });
        s.on("data", (d: Buffer) => {
          for (const ev of replies.push(new Uint8Array(d)))
            if (ev.type === "message") this.capture({ text: bytesLatin1(ev.bytes), target: TCP_REPLY });
        });
        s.once("connect", () => {
          s.write(bytes, () => resolve(s));
        });
        s.once("close", () => {
          this.open.delete(s);
          resolve(s);
        });
        s.once("timeout", () => reject(new FuzzViolation("unresponsive", "TCP connect timed out")));
        s.setTimeout(PROBE_MS);
      }),
      PROBE_MS,
      "TCP connect + write",
      "unresponsive",
    );
  }

  /** Closes everything and checks that nothing is left behind. */
  async stop(): Promise<Record<string, unknown>> {
    for (const s of this.open) s.destroy();
    this.open.clear();
    await Promise.all([closeUdp(this.client), closeUdp(this.uas)]);
    this.lag.disable();
    const connections = this.pcscf?.access.layer.connectionStats("TCP");
    await this.pcscf?.close();
    await this.scscf?.close();
    const leaked = await leakedSince(this.baseline ?? new Map(), 3000);
    if (typeof globalThis.gc === "function") globalThis.gc();
    return {
      leakedHandles: leaked,
      blockedNonLoopbackSends: this.blocked,
      inputsOverTcp: this.tcpSends,
      ...this.load,
      accessTcp: connections,
      heapDeltaMB: Math.round(((process.memoryUsage().heapUsed - this.heapBefore) / 2 ** 20) * 10) / 10,
    };
  }
}

function udp(onMessage: (msg: Buffer, rinfo: RemoteInfo) => void): Promise<Socket> {
  return new Promise((resolve, reject) => {
    const s = createSocket("udp4");
    s.on("message", onMessage);
    s.once("error", reject);
    s.bind(0, "127.0.0.1", () => resolve(s));
  });
}

function closeUdp(s: Socket | undefined): Promise<void> {
  return new Promise((resolve) => {
    if (!s) return resolve();
    try {
      s.close(() => resolve());
    } catch {
      resolve();
    }
  });
}

export function resources(): Map<string, number> {
  const m = new Map<string, number>();
  for (const r of process.getActiveResourcesInfo()) m.set(r, (m.get(r) ?? 0) + 1);
  return m;
}

/** Handles that exist now and did not before, by type (waits up to `ms` for asynchronous closes). */
export async function leakedSince(before: Map<string, number>, ms: number): Promise<Record<string, number>> {
  const t0 = Date.now();
  for (;;) {
    const out: Record<string, number> = {};
    for (const [k, v] of resources()) {
      const d = v - (before.get(k) ?? 0);
      if (d > 0 && k !== "TTYWrap" && k !== "FSReqCallback") out[k] = d;
    }
    if (Object.keys(out).length === 0 || Date.now() - t0 > ms) return out;
    await new Promise((r) => setTimeout(r, 50));
  }
}

/** A fuzz target around one harness (`transport` = how the mutated bytes travel). */
export function pcscfTarget(transport: "UDP" | "TCP"): FuzzTarget<PcscfInput> & { harness: PcscfHarness } {
  const harness = new PcscfHarness(transport);
  return {
    name: `pcscf-${transport.toLowerCase()}`,
    description: `mutated SIP to a running P-CSCF over ${transport} (S-CSCF behind it, alice and bob registered)`,
    arbitrary: pcscfInputArb,
    // probe + budget, and room for a missed answer's grace and replay (each PROBE_MS): a late answer is not "slow"
    boundMs: 3 * PROBE_MS + ANSWER_WAIT_MS + 1000,
    harness,
    start: () => harness.start(),
    run: (input) => harness.run(input),
    stop: () => harness.stop(),
    reproducer: (input) => ({
      ext: "sip",
      bytes: latin1Bytes(harness.text(input)),
      note: `send to the P-CSCF access side over ${transport} (placeholders fzcallid/fzbranch/fzhost)`,
    }),
  };
}
