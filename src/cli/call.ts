/**
 * `imsdc call --scenario …`: two headless UEs through the embedded network (S-CSCF, P-CSCF(A), P-CSCF(B), IMS-AGW),
 * printed as a ladder with the IMS-ALG decisions, the DTLS verdicts, the first data channel message each way and the
 * timings. Exit 0 when the scenario's expected outcome happened.
 *
 *   e2e        TS 33.328 §7.2.5: both P-CSCFs forward the offer/answer unchanged, both UEs verify the peer's
 *              certificate against the signalled fingerprint, chat flows both ways.
 *   tamper     the fingerprint of alice's offer is altered after it leaves the UE (between UE A and P-CSCF(A)):
 *              signalling completes, bob's DTLS refuses the peer (RFC 8122 §6), the data channel fails closed and
 *              the session is released with BYE.
 *   e2ae-msrp, e2ae-bfcp   TR 29.828 §5.2.1.2 / §5.2.1.3: each UE runs MSRP / BFCP over TLS to its P-CSCF's IMS-AGW,
 *                          which verifies the UE's certificate; plain TCP between the AGWs through the core.
 */
import { agwFingerprintOf, tamperInvite } from "../demo/events.ts";
import { DEMO_CHANNEL, EmbeddedNetwork, now } from "../demo/network.ts";
import { deadline, isImsdcError } from "../errors.ts";
import { createLogger, type Logger, loggerAuditSink, silentLogger } from "../log.ts";
import { SipRequestError } from "../sip/index.ts";
import { type DcChannel, type IceMode, isIceMode, type UeCall } from "../ue/index.ts";
import { parseArgs, wantsHelp } from "./args.ts";
import { hijackReport, runHijack } from "./callHijack.ts";
import { type CallResult, type RunView, result, SCENARIOS, type Scenario, ueEvents } from "./callResult.ts";
import { CliError, UsageError } from "./errors.ts";
import { renderLadder, shortFp } from "./ladder.ts";
import { type CliIo, EXIT } from "./main.ts";

const USAGE = `usage: imsdc call --scenario e2e|tamper|e2ae-msrp|e2ae-bfcp|hijack [--ice full|lite|none] [--transport default|tls] [--json] [--quiet] [--timeout MS] [--log-level L]

Runs one call between two headless UEs (alice via P-CSCF(A), bob via P-CSCF(B)) through an embedded S-CSCF,
two P-CSCFs and the IMS-AGW on 127.0.0.1, and prints the ladder.

  --scenario e2e        e2e data channel (TS 33.328 §7.2.5): both fingerprints verified, chat both ways
  --scenario tamper     the offer's fingerprint is altered on the wire: bob's DTLS refuses, the DC fails closed, BYE
  --scenario e2ae-msrp  MSRP over TLS terminated in the IMS-AGW (TR 29.828 §5.2.1.2)
  --scenario e2ae-bfcp  BFCP over TLS terminated in the IMS-AGW (TR 29.828 §5.2.1.3)
  --scenario hijack     an attacker REGISTERs bob, wipes bob's bindings, INVITEs bob's UE directly: all must fail
  --ice MODE            e2e/tamper: both UEs' ICE mode: full (default, WebRTC-style), lite (TS 26.114 Annex A.17)
                        or none (no ICE, DTLS/SCTP over UDP to c=/port, TS 24.186 §9.3)
  --transport T         SIP transports: default (alice TCP, bob UDP, TCP in the core) or tls (every SIP hop over
                        TLS, RFC 3261 §26.2; every node trusts a CA generated for the run)
  --json                print one JSON result object instead of the ladder
  --quiet               print only the verdict line
  --timeout MS          bound on the whole scenario (default 30000)
  --log-level L         node logs (NDJSON on stderr): fatal|error|warn|info|debug (default: none)

exit: 0 expected outcome, 1 outcome not met, 2 usage, 3 runtime/network failure,
      4 security failure where success was expected, 5 scenario not available yet
`;

const SPEC = {
  scenario: "string",
  ice: "string",
  transport: "string",
  json: "boolean",
  quiet: "boolean",
  timeout: "ms",
  "log-level": "string",
  help: "boolean",
} as const;

export type { CallResult };

const LOG_LEVELS = ["fatal", "error", "warn", "info", "debug", "trace"] as const;
type LogLevel = (typeof LOG_LEVELS)[number];

class Timeout extends CliError {
  constructor(what: string, ms: number) {
    super("E_TIMEOUT", `${what} did not happen within ${ms} ms`);
  }
}

function waitFor(pred: () => boolean, ms: number, what: string): Promise<void> {
  return new Promise((resolve, reject) => {
    const start = Date.now();
    const tick = () => {
      if (pred()) resolve();
      else if (Date.now() - start > ms) reject(new Timeout(what, ms));
      else setTimeout(tick, 10);
    };
    tick();
  });
}

function channelOf(call: UeCall, ms: number): Promise<DcChannel> {
  return waitFor(() => call.dc.channel(DEMO_CHANNEL.id)?.readyState === "open", ms, "data channel open").then(
    () => call.dc.channel(DEMO_CHANNEL.id) as DcChannel,
  );
}

/** Loopback handshakes take ~100 ms: a stalled stage fails after 5 s rather than the library's 10 s default. */
const DC_TIMEOUTS = { gatherMs: 3_000, iceMs: 5_000, dtlsMs: 5_000, sctpMs: 5_000 };

interface Run {
  /** e2ae scenarios: each UE's TLS verdict (its peer is its own P-CSCF's IMS-AGW) and the P-CSCF decisions */
  e2ae?: Record<string, unknown>;
  net: EmbeddedNetwork;
  t0: number;
  timings: Record<string, number>;
  outcome: string;
  ok: boolean;
  exitCode: number;
  message: string;
  error?: { code: string; message: string };
}

/** Starts the embedded network and the bookkeeping every scenario shares (one deadline for the whole run). */
/** The UEs' SIP transports: alice TCP and bob UDP, or both TLS (every hop over TLS, `--transport tls`). */
type SipMode = "default" | "tls";

async function startRun(timeoutMs: number, logger: Logger, progress: (s: string) => void, sip: SipMode = "default") {
  const tStart = now();
  progress(
    `starting S-CSCF, P-CSCF(A), P-CSCF(B) and the IMS-AGW on 127.0.0.1${sip === "tls" ? " (SIP over TLS, local CA)" : ""}`,
  );
  const net = await EmbeddedNetwork.start({ logger, tls: sip === "tls" });
  // with --log-level, every security decision is a log line too (as on `imsdc pcscf|agw|ue`): a refusal's reason
  // reaches the log even where no node logs it otherwise
  if (logger !== silentLogger) net.audit.onEvent(loggerAuditSink(logger));
  const run: Run = {
    net,
    t0: tStart,
    timings: {},
    outcome: "incomplete",
    ok: false,
    exitCode: EXIT.RUNTIME,
    message: "",
  };
  const deadline = tStart + timeoutMs;
  return { tStart, net, run, left: () => Math.max(1, deadline - now()) };
}

async function runScenario(
  scenario: "e2e" | "tamper",
  timeoutMs: number,
  logger: Logger,
  progress: (s: string) => void,
  ice: IceMode = "full",
  sip: SipMode = "default",
): Promise<Run> {
  const { tStart, net, run, left } = await startRun(timeoutMs, logger, progress, sip);
  const [ta, tb] = sip === "tls" ? (["TLS", "TLS"] as const) : (["TCP", "UDP"] as const);
  try {
    progress(`registering alice (${ta}, via P-CSCF(A)) and bob (${tb}, via P-CSCF(B))`);
    const tReg = now();
    const alice = await deadline(
      net.addUe("ueA", "alice", {
        transport: ta,
        ice,
        dc: { channels: [DEMO_CHANNEL], timeouts: DC_TIMEOUTS },
        ...(scenario === "tamper" ? { mutateOutgoing: tamperInvite } : {}),
      }),
      left(),
      (ms) => new Timeout("alice's registration", ms),
    );
    await deadline(
      net.addUe("ueB", "bob", { transport: tb, ice, echoPrefix: "echo: ", dc: { timeouts: DC_TIMEOUTS } }),
      left(),
      (ms) => new Timeout("bob's registration", ms),
    );
    run.timings.registerMs = now() - tReg;
    progress(`calling sip:bob@${net.domain}`);
    const bob = net.ues.get("ueB");
    if (!bob) throw new CliError("E_NOT_AVAILABLE", "bob missing");
    const incoming = new Promise<UeCall>((r) => bob.once("incoming", r));
    run.t0 = now();
    const call = await deadline(
      alice.call(`sip:bob@${net.domain}`),
      left(),
      (ms) => new Timeout("call establishment (200 OK + ACK)", ms),
    );
    run.timings.inviteTo200Ms = now() - run.t0;
    const bcall = await deadline(incoming, left(), (ms) => new Timeout("incoming call at bob", ms));
    if (scenario === "e2e") {
      progress("waiting for ICE + DTLS + SCTP");
      const tDtls = now();
      const settled = await deadline(
        Promise.allSettled([call.dc.connected(), bcall.dc.connected()]),
        left(),
        (ms) => new Timeout("DTLS handshake", ms),
      );
      run.timings.dtlsMs = now() - tDtls;
      const va = call.dc.verdict;
      const vb = bcall.dc.verdict;
      if (va?.verified !== true || vb?.verified !== true) {
        // a verdict that says "refused" is a security failure; no verdict at all is a network/timeout failure
        const refused = va?.verified === false || vb?.verified === false;
        run.outcome = refused ? "peer-refused" : "handshake-failed";
        run.exitCode = refused ? EXIT.SECURITY : EXIT.RUNTIME;
        const failed = settled.find((s) => s.status === "rejected");
        run.message = `${refused ? "DTLS verification failed" : "no DTLS verdict"}: alice ${va?.verified ?? "no verdict"}, bob ${vb?.verified ?? "no verdict"}${failed && failed.status === "rejected" ? ` (${String((failed.reason as Error).message)})` : ""}`;
        return run;
      }
      const [ca, cb] = await Promise.all([channelOf(call, left()), channelOf(bcall, left())]);
      run.timings.dcOpenMs = now() - run.t0;
      const echoed = new Promise<string>((r) => ca.once("message", (m) => r(String(m))));
      const tMsg = now();
      ca.send("hello bob");
      const echo = await deadline(echoed, left(), (ms) => new Timeout("bob's echo", ms));
      run.timings.roundTripMs = now() - tMsg;
      void cb;
      run.outcome = echo === "echo: hello bob" ? "dc-verified" : "echo-mismatch";
      run.ok = run.outcome === "dc-verified";
      run.exitCode = run.ok ? EXIT.OK : EXIT.FINDINGS;
      run.message = run.ok
        ? "both P-CSCFs forwarded the SDP unchanged, both fingerprints verified, chat both ways"
        : `unexpected echo ${JSON.stringify(echo)}`;
      progress("hanging up");
      await deadline(call.hangup(), left(), (ms) => new Timeout("BYE", ms));
      await deadline(bcall.sip.terminated(), left(), (ms) => new Timeout("call release at bob", ms));
    } else {
      progress("waiting for bob's DTLS verdict and the release");
      const ended = await deadline(
        Promise.all([call.sip.terminated(), bcall.sip.terminated()]),
        left(),
        (ms) => new Timeout("release of the session after the failed handshake", ms),
      );
      run.timings.releaseMs = now() - run.t0;
      const vb = bcall.dc.verdict;
      const opened = ueEvents(net.events, "ueB", "dc-state").some((e) => e.data.state === "channel-open");
      const data = ueEvents(net.events, "ueB", "chat-in").length + ueEvents(net.events, "ueA", "chat-in").length;
      const bye = net.events.some((e) => e.type === "sip" && e.method === "BYE" && e.kind === "request");
      if (vb?.verified === true || opened || data > 0) {
        run.outcome = "not-fail-closed";
        run.exitCode = EXIT.FINDINGS;
        run.message = "SECURITY: the tampered offer was NOT refused by bob's DTLS";
      } else if (vb === undefined) {
        // no verdict: the handshake never reached the certificate (ICE/DTLS stalled): not the refusal under test
        run.outcome = "handshake-failed";
        run.exitCode = EXIT.RUNTIME;
        run.message = "no DTLS verdict at bob: the handshake did not reach the certificate check (ICE/DTLS failure)";
      } else if (!bye) {
        run.outcome = "no-release";
        run.exitCode = EXIT.FINDINGS;
        run.message = "the data channel failed closed but no BYE followed";
      } else {
        run.outcome = "fail-closed";
        run.ok = true;
        run.exitCode = EXIT.OK;
        run.message = `signalling completed, bob refused the peer (${vb.code ?? "refused"}), no data flowed, session released (${ended[0].reason} / ${ended[1].reason})`;
      }
    }
    return run;
  } catch (e) {
    run.outcome = "error";
    if (e instanceof SipRequestError) {
      run.exitCode = EXIT.FINDINGS;
      run.message = `the call was rejected with ${e.status}`;
    } else {
      run.exitCode = EXIT.RUNTIME;
      run.message = e instanceof Error ? e.message : String(e);
    }
    run.error = { code: isImsdcError(e) ? e.code : "E_RUNTIME", message: e instanceof Error ? e.message : String(e) };
    return run;
  } finally {
    run.timings.totalMs = now() - tStart;
  }
}

/**
 * TR 29.828 §5.2.1.2 (MSRP) / §5.2.1.3 (BFCP): alice offers TCP/TLS/<proto> with a=3ge2ae:requested; P-CSCF(A)
 * anchors it on the IMS-AGW (access TLS ↔ core TCP), P-CSCF(B) anchors the terminating side (a=3ge2ae:applied with
 * the AGW's fingerprint toward bob). Each UE verifies the AGW it talks to; the AGW verifies the UE.
 */
async function runE2ae(
  kind: "msrp" | "bfcp",
  timeoutMs: number,
  logger: Logger,
  progress: (s: string) => void,
  sip: SipMode = "default",
): Promise<Run> {
  const { tStart, net, run, left } = await startRun(timeoutMs, logger, progress, sip);
  const [ta, tb] = sip === "tls" ? (["TLS", "TLS"] as const) : (["TCP", "UDP"] as const);
  try {
    progress(`registering alice and bob with msrp-tls;mediasec and bfcp-tls;mediasec (TS 24.229 §7.2A.7)`);
    const tReg = now();
    // behind the IMS-ALG the a=path URIs are rewritten: MSRP matches the session-id (docs/e2ae-ue.md)
    const e2ae = { msrp: { pathMatch: "session-id" as const }, bfcp: { conferenceId: 1, userId: 2, floorIds: [1] } };
    const alice = await deadline(
      net.addUe("ueA", "alice", { transport: ta, media: [kind], e2ae }),
      left(),
      (ms) => new Timeout("alice's registration", ms),
    );
    const bob = await deadline(
      net.addUe("ueB", "bob", { transport: tb, e2ae }),
      left(),
      (ms) => new Timeout("bob's registration", ms),
    );
    run.timings.registerMs = now() - tReg;
    const incoming = new Promise<UeCall>((r) => bob.once("incoming", r));
    progress(`calling sip:bob@${net.domain} with ${kind.toUpperCase()} over TLS and a=3ge2ae:requested`);
    run.t0 = now();
    const call = await deadline(
      alice.call(`sip:bob@${net.domain}`),
      left(),
      (ms) => new Timeout("call establishment (200 OK + ACK)", ms),
    );
    run.timings.inviteTo200Ms = now() - run.t0;
    const bcall = await deadline(incoming, left(), (ms) => new Timeout("incoming call at bob", ms));
    const ea = call[kind];
    const eb = bcall[kind];
    if (!ea || !eb) throw new CliError("E_NOT_AVAILABLE", `no ${kind} stream was negotiated`);
    progress("waiting for TCP + TLS between each UE and its IMS-AGW");
    const tTls = now();
    await deadline(
      Promise.allSettled([ea.connected(), eb.connected()]),
      left(),
      (ms) => new Timeout("TLS toward the IMS-AGWs", ms),
    );
    run.timings.tlsMs = now() - tTls;
    // what the PASS line may claim, each read from the nodes' own records (their audit events and the UEs' verdicts)
    const anchored = (pcscf: "pcscf-a" | "pcscf-b") =>
      net.events.filter(
        (e) =>
          e.type === "audit" &&
          e.t >= run.t0 &&
          e.event.event === "ims-alg-decision" &&
          e.event.instance === pcscf &&
          e.event.decision === "e2ae" &&
          e.event.action === "anchor" &&
          e.event.iq === "ok",
      );
    const atA = anchored("pcscf-a");
    const atB = anchored("pcscf-b");
    // TR 29.828 §5.2.1.2.3 / §5.2.1.3.3 step 1: P-CSCF(B) receives the offer from the core as plain TCP/<proto>
    const coreOffer = atB.find((e) => e.type === "audit" && e.event.kind === "offer");
    const coreProto = coreOffer?.type === "audit" ? String(coreOffer.event.proto) : "none";
    const plainCore = coreProto === (kind === "msrp" ? "TCP/MSRP" : "TCP/BFCP");
    // each UE's TLS peer must present the certificate of the IMS-AGW its own P-CSCF anchored the stream on
    const agwOf = (ep: typeof ea, pcscf: "pcscf-a" | "pcscf-b") => {
      const agw = agwFingerprintOf(net.events, pcscf);
      const v = ep.verdict;
      const matches =
        v?.verified === true &&
        agw !== undefined &&
        v.hash === agw.hash &&
        v.presented?.toUpperCase() === agw.value.toUpperCase();
      return { verified: v?.verified ?? null, presented: v?.presented ?? null, agw: agw?.value ?? null, matches };
    };
    const va = agwOf(ea, "pcscf-a");
    const vb = agwOf(eb, "pcscf-b");
    run.e2ae = {
      kind,
      alice: va,
      bob: vb,
      e2aeDecisions: atA.length + atB.length,
      coreProto,
    };
    if (ea.verdict?.verified !== true || eb.verdict?.verified !== true) {
      const refused = ea.verdict?.verified === false || eb.verdict?.verified === false;
      run.outcome = refused ? "peer-refused" : "handshake-failed";
      run.exitCode = refused ? EXIT.SECURITY : EXIT.RUNTIME;
      run.message = `TLS toward the IMS-AGW: alice ${ea.verdict?.verified ?? "no verdict"}, bob ${eb.verdict?.verified ?? "no verdict"}`;
      return run;
    }
    const findings: string[] = [];
    if (atA.length === 0) findings.push("P-CSCF(A) recorded no e2ae anchoring");
    if (atB.length === 0) findings.push("P-CSCF(B) recorded no e2ae anchoring");
    if (!plainCore) findings.push(`the offer crossed the core as ${coreProto}, not plain TCP`);
    if (!va.matches)
      findings.push(`alice's TLS peer ${shortFp(va.presented)} is not P-CSCF(A)'s IMS-AGW ${shortFp(va.agw)}`);
    if (!vb.matches)
      findings.push(`bob's TLS peer ${shortFp(vb.presented)} is not P-CSCF(B)'s IMS-AGW ${shortFp(vb.agw)}`);
    const tMsg = now();
    let exchanged: string;
    if (kind === "msrp") {
      const send = async (from: typeof ea, to: typeof ea, ue: "ueA" | "ueB", text: string) => {
        const got = new Promise<string>((r) => to.once("message", (m) => r(m.content.toString())));
        // RFC 4975 §7.1.1: send() resolves on the 2xx of every chunk; §10: 200 OK is MSRP's one 2xx
        await deadline(from.send(text, "text/plain"), left(), (ms) => new Timeout(`MSRP SEND / 200 from ${ue}`, ms));
        const received = await deadline(got, left(), (ms) => new Timeout("MSRP message at the peer", ms));
        net.trace(ue, "e2ae-exchange", {
          protocol: "msrp",
          method: "SEND",
          status: 200,
          response: "200 OK",
          text: received,
        });
        return received;
      };
      const text = await send(ea, eb, "ueA", "hello bob");
      const echo = await send(eb, ea, "ueB", `echo: ${text}`);
      run.ok = text === "hello bob" && echo === "echo: hello bob";
      exchanged = run.ok ? "SEND/200 both ways" : `unexpected messages ${JSON.stringify([text, echo])}`;
    } else {
      const status = await deadline(
        ea.requestFloor(),
        left(),
        (ms) => new Timeout("BFCP FloorRequest / FloorRequestStatus", ms),
      );
      // RFC 8855 §13.1.1: the floor participant's FloorRequest, answered by the floor control server's
      // FloorRequestStatus (REQUEST-STATUS, §5.2.5)
      net.trace("ueA", "e2ae-exchange", {
        protocol: "bfcp",
        method: "FloorRequest",
        status: status.statusName,
        response: "FloorRequestStatus",
        text: `floor ${status.floors.map((f) => f.floorId).join(",")}`,
      });
      run.ok = status.statusName === "Granted";
      exchanged = run.ok ? "floor requested and granted" : `floor request answered ${status.statusName}`;
    }
    run.timings.exchangeMs = now() - tMsg;
    run.outcome = run.ok ? "e2ae-verified" : "exchange-failed";
    if (run.ok && findings.length > 0) {
      run.ok = false;
      run.outcome = "not-as-claimed";
    }
    run.exitCode = run.ok ? EXIT.OK : EXIT.FINDINGS;
    run.message =
      findings.length > 0
        ? `${findings.join("; ")} (${exchanged})`
        : run.ok
          ? `P-CSCF(A) and P-CSCF(B) anchored ${kind.toUpperCase()} on the IMS-AGW (${coreProto} in the core), alice and bob each verified the certificate of the AGW their P-CSCF signalled, ${exchanged}`
          : exchanged;
    progress("hanging up");
    await deadline(call.hangup(), left(), (ms) => new Timeout("BYE", ms));
    await deadline(bcall.sip.terminated(), left(), (ms) => new Timeout("call release at bob", ms));
    return run;
  } catch (e) {
    run.outcome = "error";
    run.exitCode = e instanceof SipRequestError ? EXIT.FINDINGS : EXIT.RUNTIME;
    run.message =
      e instanceof SipRequestError
        ? `the call was rejected with ${e.status}`
        : e instanceof Error
          ? e.message
          : String(e);
    run.error = { code: isImsdcError(e) ? e.code : "E_RUNTIME", message: e instanceof Error ? e.message : String(e) };
    return run;
  } finally {
    run.timings.totalMs = now() - tStart;
  }
}

const EXPECTED: Record<Scenario, string> = {
  e2e: "both fingerprints verified, data channel open, chat both ways (TS 33.328 §7.2.5)",
  tamper: "signalling completes, bob's DTLS refuses the peer, no data, BYE (RFC 8122 §6; DESIGN rule 4)",
  "e2ae-msrp": "MSRP over TLS terminated in the IMS-AGW (TR 29.828 §5.2.1.2)",
  "e2ae-bfcp": "BFCP over TLS terminated in the IMS-AGW (TR 29.828 §5.2.1.3)",
  hijack:
    "REGISTER hijack and binding wipe refused (RFC 3261 §10.3, §22.4), bob's binding intact, direct INVITE not taken",
};

export async function callCommand(args: string[], io: CliIo): Promise<number> {
  if (wantsHelp(args)) {
    io.stdout(USAGE);
    return EXIT.OK;
  }
  let scenario: Scenario;
  let opts: ReturnType<typeof parseArgs<typeof SPEC>>["options"];
  try {
    opts = parseArgs(args, SPEC).options;
    const s = opts.scenario;
    if (s === undefined) throw new UsageError("--scenario is required");
    if (!(SCENARIOS as readonly string[]).includes(s)) throw new UsageError(`unknown scenario '${s}'`);
    scenario = s as Scenario;
    if (opts.ice !== undefined && !isIceMode(opts.ice)) throw new UsageError("--ice must be full, lite or none");
    if (opts.transport !== undefined && opts.transport !== "default" && opts.transport !== "tls")
      throw new UsageError("--transport must be default or tls");
    const lvl = opts["log-level"];
    if (lvl !== undefined && !(LOG_LEVELS as readonly string[]).includes(lvl))
      throw new UsageError(`--log-level must be one of ${LOG_LEVELS.join(", ")}`);
  } catch (e) {
    if (e instanceof UsageError) {
      io.stderr(`imsdc call: ${e.message}\n${USAGE}`);
      return EXIT.USAGE;
    }
    throw e;
  }
  const json = opts.json === true;
  const quiet = opts.quiet === true;
  const sipMode: SipMode = opts.transport === "tls" ? "tls" : "default";
  const color = io.isTTY === true;
  const progress = (s: string) => {
    if (!json && !quiet) io.stderr(`${color ? "\x1b[2m" : ""}· ${s}${color ? "\x1b[0m" : ""}\n`);
  };
  const lvl = opts["log-level"] as LogLevel | undefined;
  const logger =
    lvl === undefined ? silentLogger : createLogger({ name: "imsdc", level: lvl, destination: process.stderr });
  const hijack = scenario === "hijack" ? await runHijack(opts.timeout ?? 30_000, logger, progress) : undefined;
  const run: RunView & { net: EmbeddedNetwork } =
    hijack ??
    (scenario === "e2ae-msrp" || scenario === "e2ae-bfcp"
      ? await runE2ae(scenario === "e2ae-msrp" ? "msrp" : "bfcp", opts.timeout ?? 30_000, logger, progress, sipMode)
      : await runScenario(
          scenario === "tamper" ? "tamper" : "e2e",
          opts.timeout ?? 30_000,
          logger,
          progress,
          isIceMode(opts.ice) ? opts.ice : "full",
          sipMode,
        ));
  try {
    const r = result(scenario, run, EXPECTED[scenario], {
      ...(run.e2ae ? { e2ae: run.e2ae } : {}),
      ...(hijack ? { attacks: hijack.attacks } : {}),
    });
    if (json) io.stdout(`${JSON.stringify(r)}\n`);
    else {
      if (!quiet) {
        io.stdout(renderLadder(run.net.events, run.t0, { color }));
        io.stdout("\n");
        if (hijack) io.stdout(hijackReport(hijack));
        for (const ue of ["ueA", "ueB"] as const) {
          const v = r.verdicts[ue];
          if (!v) continue;
          const agw =
            v.peer === "IMS-AGW"
              ? `  peer IMS-AGW ${shortFp(String(v.agwFingerprint ?? "").split(" ")[1])} ${v.agwMatches === true ? "(the AGW its P-CSCF signalled)" : "(NOT the AGW its P-CSCF signalled)"}`
              : "";
          io.stdout(
            `  ${ue === "ueA" ? "alice" : "bob  "} verdict: ${v.verified === true ? "verified" : "REFUSED"}  presented ${shortFp(v.presented)}  signalled ${Array.isArray(v.signalled) ? v.signalled.map(shortFp).join(", ") : "-"}${agw}\n`,
          );
        }
        for (const [dir, m] of [
          ["A→B", r.firstMessage.aToB],
          ["B→A", r.firstMessage.bToA],
        ] as const) {
          if (!m) continue;
          if (m.method !== undefined)
            io.stdout(
              `  first ${String(m.protocol).toUpperCase()} exchange ${dir} at +${m.ms} ms: ${m.method} (${m.text}) → ${m.response ?? ""}, status ${String(m.status)}\n`,
            );
          else io.stdout(`  first message ${dir} at +${m.ms} ms: "${m.text}"\n`);
        }
        io.stdout(
          `  timings (ms): ${Object.entries(r.timings)
            .map(([k, v]) => `${k} ${v}`)
            .join(", ")}\n\n`,
        );
      }
      const mark = r.ok ? (color ? "\x1b[32mPASS\x1b[0m" : "PASS") : color ? "\x1b[31mFAIL\x1b[0m" : "FAIL";
      io.stdout(`${mark} ${scenario}: ${r.message} (exit ${r.exitCode})\n`);
    }
    return run.exitCode;
  } finally {
    await run.net.close();
  }
}
