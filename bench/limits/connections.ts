/**
 * The connection-exhaustion scenario of bench/limits.ts (`--scenario connections`): an attacker opens `conns` TCP
 * connections to the P-CSCF's access side from `sources` loopback addresses (127.0.0.10 …), each sends one OPTIONS
 * and then idles; meanwhile a legitimate UE on 127.0.0.3 connects, REGISTERs and sends an OPTIONS out of dialog,
 * `attempts` times, each on a fresh connection with a 5 s bound. Run twice: with the limits of before
 * (no per-source cap, one idle timeout of 300 s, no eviction) and with the defaults (src/sip/transport/limiter.ts).
 * S-CSCF and P-CSCF run in this process (the attack is idle sockets: no CPU to share).
 */
import { connect, type Socket } from "node:net";
import { Pcscf } from "../../src/ims/pcscf/index.ts";
import { Scscf } from "../../src/ims/scscf/index.ts";
import { DEFAULT_LIMITS, type TransportLimits } from "../../src/sip/index.ts";

const DOMAIN = "ims.example.com";
const UE_HOST = "127.0.0.3";

export interface ConnectionsOptions {
  conns: number;
  sources: number;
  attempts: number;
  onNote?: (s: string) => void;
}

export interface ConnectionsResult {
  bench: "limits";
  scenario: "connections";
  limits: "before" | "default";
  attack: { conns: number; sources: number; admitted: number; refused: number; openMs: number };
  ue: { attempts: number; registered: number; answered: number; rttP50: number; rttMax: number; failures: string[] };
  pcscf: Record<string, unknown> | undefined;
}

/** The limits before the limiter: one cap for everyone, one idle timeout, nothing evicted. */
const BEFORE: Partial<TransportLimits> = {
  maxConnectionsPerSource: DEFAULT_LIMITS.maxConnections + 1,
  unregisteredIdleTimeoutMs: DEFAULT_LIMITS.idleTimeoutMs,
  evictIdleMs: 24 * 3600_000,
};

function request(method: string, port: number, lp: number, from: string, id: string, extra: string[] = []): string {
  const uri = method === "REGISTER" ? `sip:${DOMAIN}` : `sip:127.0.0.1:${port}`;
  const to = method === "REGISTER" ? `<sip:ue@${DOMAIN}>` : `<${uri}>`;
  return [
    `${method} ${uri} SIP/2.0`,
    `Via: SIP/2.0/TCP ${from}:${lp};branch=z9hG4bK-${id};rport`,
    "Max-Forwards: 70",
    `From: <sip:ue@${DOMAIN}>;tag=${id}`,
    `To: ${to}`,
    `Call-ID: ${id}@bench`,
    `CSeq: 1 ${method}`,
    ...extra,
    "Content-Length: 0",
    "",
    "",
  ].join("\r\n");
}

function open(from: string, port: number): Promise<Socket | undefined> {
  return new Promise((resolve) => {
    const s = connect({ host: "127.0.0.1", port, localAddress: from });
    s.on("error", () => resolve(undefined));
    s.once("connect", () => resolve(s));
  });
}

/** Sends `text` on `s`, resolves with the status of the first final response (0 = none within `ms` or closed). */
function ask(s: Socket, text: string, ms: number): Promise<number> {
  return new Promise((resolve) => {
    let buf = "";
    const done = (status: number) => {
      clearTimeout(t);
      s.off("data", onData);
      s.off("close", onClose);
      resolve(status);
    };
    const onData = (d: Buffer) => {
      buf += d.toString("latin1");
      const m = /SIP\/2\.0 ([2-6]\d\d) /.exec(buf);
      if (m) done(Number(m[1]));
    };
    const onClose = () => done(0);
    const t = setTimeout(() => done(0), ms);
    s.on("data", onData);
    s.once("close", onClose);
    s.write(text);
  });
}

export async function runConnections(mode: "before" | "default", o: ConnectionsOptions): Promise<ConnectionsResult> {
  const scscf = new Scscf({ host: "127.0.0.1", tcp: 0, domains: [DOMAIN], auth: false, trustedPcscfs: ["127.0.0.1"] });
  await scscf.start();
  const pcscf = new Pcscf({
    name: "pcscf-conns",
    access: { host: "127.0.0.1", tcp: 0 },
    core: { host: "127.0.0.1", tcp: 0 },
    scscf: scscf.uri("TCP"),
    ...(mode === "before" ? { limits: BEFORE } : {}),
  });
  await pcscf.start();
  const port = pcscf.address("access", "TCP")?.port ?? 0;
  const attackers: Socket[] = [];
  const t0 = performance.now();
  o.onNote?.(`${mode}: opening ${o.conns} idle connections from ${o.sources} source(s)`);
  for (let i = 0; i < o.conns; i++) {
    const from = `127.0.0.${10 + (i % o.sources)}`;
    const s = await open(from, port);
    if (!s) continue;
    s.on("error", () => undefined);
    s.resume();
    attackers.push(s);
    s.write(request("OPTIONS", port, s.localPort ?? 0, from, `atk${i}`));
  }
  const openMs = Math.round(performance.now() - t0);
  // let refusals land (a refused socket is closed by the P-CSCF right after accept)
  await new Promise((r) => setTimeout(r, 500));
  const admitted = attackers.filter((s) => !s.destroyed && s.readyState === "open").length;
  o.onNote?.(`${mode}: ${admitted} attack connections held; the legitimate UE registers`);
  const rtts: number[] = [];
  const failures: string[] = [];
  let registered = 0;
  let answered = 0;
  for (let k = 0; k < o.attempts; k++) {
    const a0 = performance.now();
    const s = await open(UE_HOST, port);
    if (!s) {
      failures.push(`attempt ${k}: connect failed`);
      continue;
    }
    s.on("error", () => undefined);
    const lp = s.localPort ?? 0;
    const reg = await ask(
      s,
      request("REGISTER", port, lp, UE_HOST, `reg${k}`, [
        `Contact: <sip:ue@${UE_HOST}:${lp};transport=tcp>`,
        "Supported: path",
        "Expires: 600",
      ]),
      5000,
    );
    if (reg === 200) {
      registered++;
      rtts.push(performance.now() - a0);
    } else failures.push(`attempt ${k}: REGISTER ${reg === 0 ? "unanswered (connection refused or timed out)" : reg}`);
    if (reg !== 0) {
      const opt = await ask(s, request("OPTIONS", port, lp, UE_HOST, `opt${k}`), 5000);
      if (opt === 200) answered++;
    }
    s.destroy();
  }
  const stats = pcscf.access.layer.connectionStats("TCP");
  for (const s of attackers) s.destroy();
  await pcscf.close();
  await scscf.close();
  rtts.sort((a, b) => a - b);
  return {
    bench: "limits",
    scenario: "connections",
    limits: mode,
    attack: { conns: o.conns, sources: o.sources, admitted, refused: o.conns - admitted, openMs },
    ue: {
      attempts: o.attempts,
      registered,
      answered,
      rttP50: +(rtts[Math.floor(rtts.length / 2)] ?? Number.NaN).toFixed(2),
      rttMax: +(rtts[rtts.length - 1] ?? Number.NaN).toFixed(2),
      failures,
    },
    pcscf: stats ? { ...stats } : undefined,
  };
}
