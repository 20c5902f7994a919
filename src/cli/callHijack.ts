/**
 * `imsdc call --scenario hijack`: an attacker on the access network tries to take bob's identity, against the
 * embedded network with registration authentication on (docs/auth.md "The hijack scenario"):
 *
 * 1. REGISTER hijack: REGISTER bob with the attacker's Contact, without and then with forged credentials;
 * 2. binding wipe: REGISTER bob with `Contact: *` and `Expires: 0`, without and with forged credentials;
 * 3. direct INVITE: an INVITE sent straight to bob's UE port, around the P-CSCF.
 *
 * Every attack is judged by what the network did (status, bob's bindings at the S-CSCF, bob's UE's answer), never
 * assumed. Exit 0 when every attack failed.
 */
import { createSocket, type Socket } from "node:dgram";
import { EmbeddedNetwork, now } from "../demo/network.ts";
import { type Logger, silentLogger } from "../log.ts";
import { formatCredentials, parseChallenge } from "../sip/auth/digestHeader.ts";
import { generateBranch, generateCallId, parseMessage, type SipResponse } from "../sip/index.ts";
import { EXIT } from "./main.ts";

export interface HijackAttack {
  attack: "register-hijack" | "binding-wipe" | "direct-invite";
  /** what the attacker sent, step by step, and the final status each got (0: no answer) */
  steps: { sent: string; status: number; reason: string }[];
  /** the attack failed (the network refused it, and bob's binding is intact) */
  refused: boolean;
  detail: string;
}

export interface HijackRun {
  net: EmbeddedNetwork;
  t0: number;
  timings: Record<string, number>;
  outcome: string;
  ok: boolean;
  exitCode: number;
  message: string;
  attacks: HijackAttack[];
  error?: { code: string; message: string };
}

interface Attacker {
  port: number;
  send(lines: string[], port: number, waitMs?: number): Promise<SipResponse | undefined>;
  close(): Promise<void>;
}

async function attacker(): Promise<Attacker> {
  const sock: Socket = createSocket("udp4");
  const waiting = new Map<string, (m: SipResponse) => void>();
  sock.on("message", (b) => {
    try {
      const m = parseMessage(new Uint8Array(b), { datagram: true });
      if (m.kind !== "response" || m.status < 200) return;
      const br = m.topVia().params.find((p) => p.name === "branch")?.value ?? "";
      waiting.get(br)?.(m);
    } catch {
      // not SIP: ignored
    }
  });
  await new Promise<void>((r) => sock.bind(0, "127.0.0.1", () => r()));
  const port = sock.address().port;
  return {
    port,
    send(lines, to, waitMs = 3000) {
      const branch = generateBranch();
      const text = `${lines.map((l) => l.replace("$BRANCH", branch)).join("\r\n")}\r\n`;
      return new Promise((resolve) => {
        const timer = setTimeout(() => {
          waiting.delete(branch);
          resolve(undefined);
        }, waitMs);
        waiting.set(branch, (m) => {
          clearTimeout(timer);
          waiting.delete(branch);
          resolve(m);
        });
        sock.send(text, to, "127.0.0.1");
      });
    },
    close: () => new Promise<void>((r) => sock.close(() => r())),
  };
}

/** Forged credentials for a challenge: the right shape (RFC 7616 §3.4), a response the attacker cannot compute. */
function forged(challenge: string | undefined, impi: string, uri: string): string | undefined {
  if (challenge === undefined) return undefined;
  const ch = parseChallenge(challenge);
  return formatCredentials({
    username: impi,
    realm: ch.realm,
    nonce: ch.nonce,
    uri,
    response: "0".repeat(ch.algorithm?.toUpperCase() === "SHA-256" ? 64 : 32),
    ...(ch.algorithm !== undefined ? { algorithm: ch.algorithm } : {}),
    ...(ch.opaque !== undefined ? { opaque: ch.opaque } : {}),
    qop: "auth",
    nc: "00000001",
    cnonce: "a77ac4e5",
  });
}

export async function runHijack(
  timeoutMs: number,
  logger: Logger = silentLogger,
  progress: (s: string) => void = () => undefined,
): Promise<HijackRun> {
  const tStart = now();
  progress("starting S-CSCF, P-CSCF(A), P-CSCF(B) and the IMS-AGW on 127.0.0.1 (registration authentication on)");
  const net = await EmbeddedNetwork.start({ logger });
  const run: HijackRun = {
    net,
    t0: tStart,
    timings: {},
    outcome: "incomplete",
    ok: false,
    exitCode: EXIT.RUNTIME,
    message: "",
    attacks: [],
  };
  let mallory: Attacker | undefined;
  try {
    const d = net.domain;
    const bobAor = `sip:bob@${d}`;
    const bobImpi = `bob@${d}`;
    progress("bob registers through P-CSCF(B) (IMS AKA)");
    const bob = await net.addUe("ueB", "bob", { autoAnswer: true });
    const bobPort = bob.layer.address("UDP")?.port ?? 0;
    const bobBound = () => net.scscf.location.lookup(bobAor).some((b) => b.uri.port === bobPort);
    const malloryBound = (port: number) => net.scscf.location.lookup(bobAor).some((b) => b.uri.port === port);
    mallory = await attacker();
    const m = mallory;
    const pcscfPort = net.pcscfA.address("access", "UDP")?.port ?? 0;
    const callId = generateCallId();
    let cseq = 1;
    const register = (contact: string, expires: number, auth: string | undefined) => [
      `REGISTER sip:${d} SIP/2.0`,
      `Via: SIP/2.0/UDP 127.0.0.1:${m.port};branch=$BRANCH;rport`,
      "Max-Forwards: 70",
      `From: <${bobAor}>;tag=mallory${m.port}`,
      `To: <${bobAor}>`,
      `Call-ID: ${callId}`,
      `CSeq: ${cseq++} REGISTER`,
      `Contact: ${contact}`,
      `Expires: ${expires}`,
      // RFC 3327 §5: the P-CSCF requires Path support of a registering UA
      "Supported: path",
      ...(auth !== undefined ? [`Authorization: ${auth}`] : []),
      "Content-Length: 0",
      "",
    ];
    const step = (sent: string, r: SipResponse | undefined) => ({
      sent,
      status: r?.status ?? 0,
      reason: r?.reason ?? "no answer",
    });
    const left = () => Math.max(500, timeoutMs - (now() - tStart));
    const registerAttack = async (
      attack: HijackAttack["attack"],
      contact: string,
      expires: number,
    ): Promise<HijackAttack> => {
      const r1 = await m.send(register(contact, expires, undefined), pcscfPort, Math.min(3000, left()));
      const creds = forged(r1?.getHeaders("WWW-Authenticate")[0], bobImpi, `sip:${d}`);
      const r2 = await m.send(register(contact, expires, creds), pcscfPort, Math.min(3000, left()));
      const steps = [step("no credentials", r1), step("forged credentials (bob's IMPI, a guessed response)", r2)];
      const accepted = steps.some((s) => s.status >= 200 && s.status < 300);
      const intact = bobBound() && !malloryBound(m.port);
      return {
        attack,
        steps,
        refused: !accepted && intact,
        detail: intact
          ? `bob's binding intact (${net.scscf.location.lookup(bobAor).length} binding, bob's UE port ${bobPort})`
          : "bob's binding was changed",
      };
    };
    progress("attack 1: REGISTER bob with the attacker's Contact via P-CSCF(A)");
    run.attacks.push(await registerAttack("register-hijack", `<sip:bob@127.0.0.1:${m.port}>`, 600));
    progress("attack 2: REGISTER bob with Contact: * and Expires: 0 (wipe bob's bindings)");
    run.attacks.push(await registerAttack("binding-wipe", "*", 0));
    progress("attack 3: INVITE straight to bob's UE port, around the P-CSCF");
    const inv = await m.send(
      [
        `INVITE ${bobAor.replace(`@${d}`, `@127.0.0.1:${bobPort}`)} SIP/2.0`,
        `Via: SIP/2.0/UDP 127.0.0.1:${m.port};branch=$BRANCH;rport`,
        "Max-Forwards: 70",
        `From: "alice" <sip:alice@${d}>;tag=mallory${m.port}`,
        `To: <${bobAor}>`,
        `Call-ID: ${generateCallId()}`,
        "CSeq: 1 INVITE",
        `Contact: <sip:mallory@127.0.0.1:${m.port}>`,
        "Content-Length: 0",
        "",
      ],
      bobPort,
      Math.min(3000, left()),
    );
    const invStatus = inv?.status ?? 0;
    // a final ≥ 300 or no answer at all: the UE did not take the call
    const invRefused = invStatus === 0 || invStatus >= 300;
    run.attacks.push({
      attack: "direct-invite",
      steps: [step("INVITE from 127.0.0.1 (not bob's P-CSCF), From alice", inv)],
      refused: invRefused,
      detail: invRefused
        ? invStatus === 0
          ? "bob's UE did not answer the INVITE (dropped)"
          : `bob's UE refused the INVITE with ${invStatus}`
        : `bob's UE ACCEPTED a request that did not come from its P-CSCF (${invStatus}): the UE does not yet check that requests come from its P-CSCF (trusted hops, TS 24.229 §5.1.1.2 / RFC 3261 §26.3.2.2 not landed here)`,
    });
    const failedAttacks = run.attacks.filter((a) => !a.refused);
    run.ok = failedAttacks.length === 0;
    run.outcome = run.ok ? "all-refused" : "attack-succeeded";
    run.exitCode = run.ok ? EXIT.OK : EXIT.SECURITY;
    run.message = run.ok
      ? "every attack failed: REGISTER hijack and binding wipe refused, bob's binding intact, the direct INVITE not taken"
      : `not refused: ${failedAttacks.map((a) => a.attack).join(", ")}`;
    return run;
  } catch (e) {
    run.outcome = "error";
    run.exitCode = EXIT.RUNTIME;
    run.message = e instanceof Error ? e.message : String(e);
    run.error = { code: (e as { code?: string }).code ?? "E_RUNTIME", message: run.message };
    return run;
  } finally {
    await mallory?.close();
    run.timings.totalMs = Math.round(now() - tStart);
  }
}

/** The scenario's text report (after the ladder). */
export function hijackReport(run: HijackRun): string {
  const out: string[] = [];
  for (const a of run.attacks) {
    out.push(`  ${a.refused ? "refused " : "NOT REFUSED"}  ${a.attack}: ${a.detail}`);
    for (const s of a.steps) out.push(`      ${s.sent} → ${s.status === 0 ? "no answer" : `${s.status} ${s.reason}`}`);
  }
  return `${out.join("\n")}\n`;
}
