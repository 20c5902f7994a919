/**
 * The UE's offer/answer path under mutated SDP: `DcEndpoint.acceptOffer(mutated offer)` and, after `createOffer()`,
 * `DcEndpoint.acceptAnswer(mutated answer)`. Oracle (docs/ue.md): every rejection is a `UeError` with a documented
 * code and no masked internal cause, every `failure` event too; an accepted offer yields an answer that is itself
 * valid against that offer (RFC 3264 §6); `close()` settles within its bound and frees every socket and timer.
 *
 * Network rule of the project (127.0.0.0/8 and ::1 only): an accepted SDP makes werift send ICE checks to the
 * signalled candidates, and a `.local` candidate makes it send an mDNS query. Every candidate the endpoint will read
 * (`readDcMedia`, the same parse) is therefore rewritten to 127.0.0.1 before the input is used; an input whose
 * candidates cannot be made safe is skipped and counted.
 */
import fc from "fast-check";
import { buildDcAnswer, readDcMedia, validateAnswer } from "../../../src/sdp/index.ts";
import { generateSessionCertificate } from "../../../src/security/certificate.ts";
import {
  DcEndpoint,
  type DtlsIdentity,
  identityFromCertificate,
  UeError,
  type UeErrorCode,
} from "../../../src/ue/index.ts";
import { bounded, expectTyped, type FuzzTarget, FuzzViolation, invariant, type Outcome } from "../oracle.ts";
import { applySdpOps, type SdpOp, sdpOpsArb } from "../sdpMutate.ts";
import { corpus } from "../seeds.ts";
import { isLoopback, leakedSince, resources } from "./pcscf.ts";

const UE_CODES: ReadonlySet<string> = new Set<UeErrorCode>([
  "E_FP_MISMATCH",
  "E_DTLS_AUTH",
  "E_DTLS_FAILED",
  "E_GATHER_TIMEOUT",
  "E_ICE_TIMEOUT",
  "E_ICE_FAILED",
  "E_ICE_REQUIRED",
  "E_DTLS_TIMEOUT",
  "E_SCTP_TIMEOUT",
  "E_SDP_REMOTE",
  "E_SDP_NO_DC",
  "E_STATE",
  "E_DC_NOT_OPEN",
  "E_DC_TX_TOO_LARGE",
  "E_DC_RX_TOO_LARGE",
  "E_DC_CHANNEL",
  "E_DC_ID_IN_USE",
  "E_DC_OPTIONS",
  "E_CLOSED",
]);

const TIMEOUTS = { gatherMs: 2000, iceMs: 1000, dtlsMs: 1000, sctpMs: 1000 };
const CHANNELS = [
  { id: 1000, label: "chat", subprotocol: "msrp" },
  { id: 1002, label: "sensor", ordered: false, maxRetr: 3 },
];
/** how long an accepted negotiation runs before close (the candidate parse and first ICE checks happen in it) */
const SETTLE_MS = 15;

export interface UeInput {
  /** a DC offer from the corpus (acceptOffer), or an answer to our own offer (acceptAnswer) */
  kind: "offer" | "answer";
  base: number;
  ops: SdpOp[];
}

export const ueInputArb: fc.Arbitrary<UeInput> = fc.record({
  kind: fc.constantFrom("offer" as const, "answer" as const),
  base: fc.nat({ max: 1 << 16 }),
  ops: sdpOpsArb,
});

/** Every candidate `readDcMedia` yields is pointed at 127.0.0.1; undefined when that cannot be done. */
export function loopbackOnly(sdp: string): string | undefined {
  let out = sdp;
  for (let pass = 0; pass < 3; pass++) {
    const cands = readDcMedia(out).flatMap((m) => m.ice.candidates);
    // werift splits a candidate on single spaces (Candidate.fromSdp): field 4 is the connection address
    const bad = cands.filter((c) => {
      const f = c.replace(/^candidate:/, "").split(" ");
      const g = c.replace(/^candidate:/, "").split(/\s+/);
      return f.length > 4 && (!isLoopback(f[4] ?? "") || !isLoopback(g[4] ?? ""));
    });
    if (bad.length === 0) return out;
    for (const c of bad) {
      const f = c.split(" ");
      if (f.length > 4) f[4] = "127.0.0.1";
      const fixed = f.join(" ").replace(/\s(\S*\.local)\b/gi, " 127.0.0.1");
      if (!out.includes(c)) return undefined;
      out = out.split(c).join(fixed);
    }
  }
  return undefined;
}

export class UeHarness {
  private identity: DtlsIdentity | undefined;
  private baseline: Map<string, number> | undefined;
  private heapBefore = 0;
  skipped = 0;
  private readonly offers: string[];
  private readonly answers: string[];

  constructor() {
    const c = corpus();
    this.offers = c.pairs.filter((p) => readDcMedia(p.offer).length > 0).map((p) => p.offer);
    this.answers = c.pairs.filter((p) => readDcMedia(p.answer).length > 0).map((p) => p.answer);
  }

  async start(): Promise<void> {
    // one certificate for every endpoint (the per-session generation is not what is fuzzed here)
    this.identity = identityFromCertificate(generateSessionCertificate());
    this.baseline = resources();
    this.heapBefore = process.memoryUsage().heapUsed;
  }

  baseOffer(input: UeInput): string {
    return this.offers[input.base % this.offers.length] ?? "";
  }

  /** Listeners only record: a throw inside an emit would land in werift's or our call stack, not in the oracle. */
  private endpoint(failures: unknown[]): DcEndpoint {
    const ep = new DcEndpoint({
      ...(this.identity ? { identity: this.identity } : {}),
      channels: CHANNELS,
      timeouts: TIMEOUTS,
    });
    ep.on("failure", (e: unknown) => failures.push(e));
    ep.on("channel", (ch) => ch.on("failure", (e: unknown) => failures.push(e)));
    return ep;
  }

  async run(input: UeInput): Promise<Outcome> {
    const failures: unknown[] = [];
    const ep = this.endpoint(failures);
    const codes: string[] = [];
    let accepted = false;
    try {
      if (input.kind === "offer") {
        const offer = loopbackOnly(applySdpOps(this.baseOffer(input), input.ops, []));
        if (offer === undefined) {
          this.skipped++;
          return { accepted: false, codes: ["skipped-unsafe-candidate"] };
        }
        try {
          const answer = await bounded(ep.acceptOffer(offer), 5000, "acceptOffer");
          accepted = true;
          // RFC 3264 §6: the answer we produced fits the offer we accepted
          const v = validateAnswer(offer, answer);
          invariant(v.ok, "acceptOffer", "our answer has error findings against the accepted offer", {
            codes: v.findings.filter((f) => f.severity === "error").map((f) => f.code),
          });
        } catch (e) {
          codes.push(expectTypedUe(e, "acceptOffer"));
        }
      } else {
        const ours = await bounded(ep.createOffer(), 5000, "createOffer");
        const base =
          input.base % 3 === 0
            ? (this.answers[input.base % this.answers.length] ?? "")
            : (buildDcAnswer(ours, {
                origin: { sessionId: "7", address: "127.0.0.1" },
                connection: { address: "127.0.0.1" },
                port: 9,
                fingerprints: [{ hash: "sha-256", value: Array(32).fill("AB").join(":") }],
                ice: {
                  ufrag: "wxyz",
                  pwd: "abcdefghijklmnopqrstuv",
                  candidates: ["1 1 udp 2130706431 127.0.0.1 9 typ host"],
                },
              }).sdp ?? "");
        const answer = loopbackOnly(applySdpOps(base, input.ops, []));
        if (answer === undefined) {
          this.skipped++;
          return { accepted: false, codes: ["skipped-unsafe-candidate"] };
        }
        try {
          await bounded(ep.acceptAnswer(answer), 5000, "acceptAnswer");
          accepted = true;
        } catch (e) {
          codes.push(expectTypedUe(e, "acceptAnswer"));
        }
      }
      if (accepted) await new Promise((r) => setTimeout(r, SETTLE_MS));
      for (const f of failures) codes.push(`failure:${expectTypedUe(f, "failure event")}`);
      return { accepted, codes };
    } finally {
      await bounded(ep.close(), 5000, "DcEndpoint.close");
    }
  }

  async stop(): Promise<Record<string, unknown>> {
    const leaked = await leakedSince(this.baseline ?? new Map(), 5000);
    return {
      leakedHandles: leaked,
      skippedUnsafeCandidates: this.skipped,
      heapDeltaMB: Math.round(((process.memoryUsage().heapUsed - this.heapBefore) / 2 ** 20) * 10) / 10,
    };
  }
}

/** UeError with a documented code and no masked internal cause (DESIGN rule 7). */
function expectTypedUe(e: unknown, where: string): string {
  if (e instanceof FuzzViolation) throw e;
  return expectTyped(e, where, { cls: UeError, codes: UE_CODES });
}

export function ueTarget(): FuzzTarget<UeInput> & { harness: UeHarness } {
  const harness = new UeHarness();
  return {
    name: "ue",
    description: "DcEndpoint.acceptOffer(mutated DC offer) / createOffer + acceptAnswer(mutated answer), then close",
    arbitrary: ueInputArb,
    boundMs: 8000,
    harness,
    start: () => harness.start(),
    run: (input) => harness.run(input),
    stop: () => harness.stop(),
    reproducer: (input) => ({
      ext: "sdp",
      bytes:
        input.kind === "offer"
          ? (loopbackOnly(applySdpOps(harness.baseOffer(input), input.ops, [])) ?? "")
          : `ops applied to an answer of a fresh createOffer(): ${JSON.stringify(input.ops)}`,
      note: input.kind === "offer" ? "DcEndpoint.acceptOffer" : "DcEndpoint.createOffer + acceptAnswer",
    }),
  };
}
