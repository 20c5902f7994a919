/**
 * In-process fuzz targets (no I/O): the SIP codec, the TCP framer, the SDP layer and the IMS-ALG decision.
 *
 * Oracles:
 * - SIP codec / framer: `parseMessage` throws only `SipParseError` with a documented code, never a wrapped internal
 *   error; the 400/413/505/513 answer to a failed parse can always be built; a parsed message serialises; the
 *   framer never throws and stays within its buffer bound (docs/sip.md).
 * - SDP: parseSdp / validateOffer / validateAnswer / inspectSdp / readDcMedia / readMedia / negotiateDcMedia /
 *   buildDcAnswer never throw (docs/sdp.md "Nothing in the public API throws on bad input"), every finding code is a
 *   documented one and no finding hides an internal error, `writeSdp(parseSdp(x)) === x` and
 *   `joinSections(splitSections(x)) === x`.
 * - IMS-ALG: decideSdp / extractIqMedia / auditEvents never throw; applyDecision and rewriteE2ae throw only typed
 *   errors, and bytes outside the rewritten m-sections stay identical (docs/pcscf-alg.md).
 */
import fc from "fast-check";
import {
  type AgwLegSdp,
  type AlgContext,
  type AlgDecision,
  algConfig,
  applyDecision,
  auditEvents,
  decideSdp,
  type E2aeStep,
  extractIqMedia,
  rewriteE2ae,
} from "../../../src/ims/pcscf/index.ts";
import {
  buildDcAnswer,
  type Finding,
  inspectSdp,
  isFindingCode,
  joinSections,
  negotiateDcMedia,
  parseSdp,
  readDcMedia,
  readMedia,
  splitSections,
  validateAnswer,
  validateOffer,
  writeSdp,
} from "../../../src/sdp/index.ts";
import {
  errorResponseFor,
  readPartial,
  SIP_ERROR_CODES,
  type SipMessage,
  SipParseError,
  SipStreamFramer,
  statusForParseError,
} from "../../../src/sip/index.ts";
import { parseMessage } from "../../../src/sip/parse.ts";
import { expectTyped, type FuzzTarget, FuzzViolation, invariant, mustNotThrow, type Outcome } from "../oracle.ts";
import { applySdpOps, type SdpOp, sdpOpsArb } from "../sdpMutate.ts";
import { corpus, type SdpPair } from "../seeds.ts";
import { applySipOps, type SipOp, sipOpsArb } from "../sipMutate.ts";
import { bytesLatin1, latin1Bytes } from "../values.ts";

const SIP_CODES: ReadonlySet<string> = new Set(Object.keys(SIP_ERROR_CODES));

// ---- SIP codec --------------------------------------------------------------------------------------------------

export interface SipInput {
  seed: number;
  ops: SipOp[];
  datagram: boolean;
}

export function sipText(input: { seed: number; ops: readonly SipOp[] }): string {
  const c = corpus();
  const seed = c.sipMessages[input.seed % c.sipMessages.length]?.text ?? "";
  return applySipOps(seed, input.ops, {
    messages: c.sipMessages.map((m) => m.text),
    bodies: c.sdpBodies.map((b) => b.text),
  });
}

export const sipInputArb: fc.Arbitrary<SipInput> = fc.record({
  seed: fc.nat({ max: 1 << 16 }),
  ops: sipOpsArb,
  datagram: fc.boolean(),
});

/** Reads every typed view of a parsed message; each may throw only a typed SIP error. */
function sweepViews(m: SipMessage, where: string): void {
  const views: (() => unknown)[] = [
    () => m.vias(),
    () => m.from(),
    () => m.to(),
    () => m.cseq(),
    () => m.callId(),
    () => m.contact(),
    () => m.routes(),
    () => m.recordRoutes(),
    () => m.paths(),
    () => m.serviceRoutes(),
    () => m.contentType(),
    () => m.securityClient(),
    () => m.securityVerify(),
    () => m.warnings(),
    () => m.retryAfter(),
    () => (m.kind === "request" ? m.requestUri() : m.status),
  ];
  for (const v of views) {
    try {
      v();
    } catch (e) {
      expectTyped(e, `${where} typed view`, { codes: SIP_CODES });
    }
  }
}

/** The SIP codec on one byte string: the oracle shared by the codec and framer targets. */
export function checkSipBytes(bytes: Uint8Array, datagram: boolean, where: string, maxMessageSize?: number): Outcome {
  let msg: SipMessage;
  try {
    msg = parseMessage(bytes, { datagram, ...(maxMessageSize !== undefined ? { maxMessageSize } : {}) });
  } catch (e) {
    const code = expectTyped(e, `${where} parseMessage`, { cls: SipParseError, codes: SIP_CODES });
    const err = e as SipParseError;
    // RFC 3261 §8.2 / §21.4.1: the answer to a malformed request is built from what could be read
    try {
      const res = errorResponseFor(err.partial, err, "fuzz.invalid", statusForParseError(err));
      res?.toBytes();
      const partial = readPartial(bytes);
      errorResponseFor(partial, err, "fuzz.invalid", 413)?.toBytes();
    } catch (e2) {
      expectTyped(e2, `${where} error answer`, { codes: SIP_CODES });
    }
    return { accepted: false, codes: [code] };
  }
  sweepViews(msg, where);
  let out: Uint8Array;
  try {
    out = msg.toBytes();
  } catch (e) {
    expectTyped(e, `${where} serialize`, { codes: SIP_CODES });
    return { accepted: true, codes: ["serialize-typed-error"] };
  }
  // a parsed message serialises to something our own parser reads again (typed error at worst)
  try {
    parseMessage(out, { datagram: true });
  } catch (e) {
    expectTyped(e, `${where} reparse`, { cls: SipParseError, codes: SIP_CODES });
    return { accepted: true, codes: [`reparse:${(e as SipParseError).code}`] };
  }
  return { accepted: true, codes: [] };
}

export const sipCodecTarget: FuzzTarget<SipInput> = {
  name: "sip-codec",
  description: "parseMessage (datagram and stream mode), typed views, error answers, serialise + reparse",
  arbitrary: sipInputArb,
  boundMs: 1000,
  run(input) {
    return checkSipBytes(latin1Bytes(sipText(input)), input.datagram, "sip-codec");
  },
  reproducer(input) {
    return { ext: "sip", bytes: latin1Bytes(sipText(input)), note: `parseMessage({ datagram: ${input.datagram} })` };
  },
};

// ---- SIP framer ---------------------------------------------------------------------------------------------------

export interface FramingInput {
  messages: { seed: number; ops: SipOp[] }[];
  cuts: number[];
}

export const framingInputArb: fc.Arbitrary<FramingInput> = fc.record({
  messages: fc.array(fc.record({ seed: fc.nat({ max: 1 << 16 }), ops: sipOpsArb }), { minLength: 1, maxLength: 4 }),
  cuts: fc.array(fc.nat(), { maxLength: 8 }),
});

const FRAMER_MAX = 16384;

function framingBytes(input: FramingInput): Uint8Array {
  return latin1Bytes(input.messages.map((m) => sipText(m)).join(""));
}

export const sipFramingTarget: FuzzTarget<FramingInput> = {
  name: "sip-framing",
  description: "SipStreamFramer on concatenated mutated messages cut into random chunks, then parseMessage (stream)",
  arbitrary: framingInputArb,
  boundMs: 1000,
  run(input) {
    const bytes = framingBytes(input);
    const cuts = [...new Set(input.cuts.map((c) => c % (bytes.length + 1)))].sort((a, b) => a - b);
    const framer = new SipStreamFramer({ maxMessageSize: FRAMER_MAX });
    const codes: string[] = [];
    let prev = 0;
    let messages = 0;
    let largestChunk = 0;
    for (const cut of [...cuts, bytes.length]) {
      const chunk = bytes.subarray(prev, cut);
      prev = cut;
      largestChunk = Math.max(largestChunk, chunk.length);
      const events = mustNotThrow("SipStreamFramer.push", () => framer.push(chunk));
      // RFC 3261 §18.3 framing is bounded: never more than one message plus one read buffered
      invariant(
        framer.buffered <= FRAMER_MAX + largestChunk,
        "sip-framing",
        `framer buffers ${framer.buffered} bytes (limit ${FRAMER_MAX} + chunk ${largestChunk})`,
      );
      for (const ev of events) {
        if (ev.type === "message") {
          messages++;
          invariant(ev.bytes.length <= FRAMER_MAX, "sip-framing", `framed message of ${ev.bytes.length} bytes`);
          codes.push(...checkSipBytes(ev.bytes, false, "sip-framing", FRAMER_MAX).codes);
        } else if (ev.type === "error") {
          expectTyped(ev.error, "framer error event", { codes: SIP_CODES });
          codes.push(`framer:${ev.error.code}`);
          if (ev.head) {
            try {
              errorResponseFor(readPartial(ev.head), ev.error, "fuzz.invalid", 400)?.toBytes();
            } catch (e) {
              expectTyped(e, "framer error answer", { codes: SIP_CODES });
            }
          }
        }
      }
      if (framer.failed) break;
    }
    return { accepted: messages > 0 && !framer.failed, codes };
  },
  reproducer(input) {
    return {
      ext: "sip",
      bytes: framingBytes(input),
      note: `SipStreamFramer({ maxMessageSize: ${FRAMER_MAX} }) with cuts ${JSON.stringify(input.cuts)}`,
    };
  },
};

// ---- SDP ----------------------------------------------------------------------------------------------------------

export interface SdpInput {
  /** which body to start from: a pair's offer, a pair's answer, or any corpus body */
  from: "offer" | "answer" | "body";
  pair: number;
  body: number;
  ops: SdpOp[];
}

export const sdpInputArb: fc.Arbitrary<SdpInput> = fc.record({
  from: fc.constantFrom("offer" as const, "answer" as const, "body" as const),
  pair: fc.nat({ max: 1 << 16 }),
  body: fc.nat({ max: 1 << 16 }),
  ops: sdpOpsArb,
});

export function sdpPair(input: { pair: number }): SdpPair {
  const pairs = corpus().pairs;
  return pairs[input.pair % pairs.length] as SdpPair;
}

export function sdpText(input: SdpInput): string {
  const c = corpus();
  const p = sdpPair(input);
  const base =
    input.from === "offer"
      ? p.offer
      : input.from === "answer"
        ? p.answer
        : (c.sdpBodies[input.body % c.sdpBodies.length]?.text ?? "");
  return applySdpOps(
    base,
    input.ops,
    c.sdpBodies.map((b) => b.text),
  );
}

/** Findings are bounded by the input: at most a few per line (no amplification of one bad line into thousands). */
function checkFindings(findings: readonly Finding[], where: string, text?: string): void {
  if (text !== undefined) {
    let lines = 1;
    for (let i = 0; i < text.length; i++) if (text.charCodeAt(i) === 10) lines++;
    invariant(findings.length <= 4 * lines + 64, where, `${findings.length} findings for ${lines} lines`, {
      codes: [...new Set(findings.map((f) => f.code))],
    });
  }
  for (const f of findings) {
    invariant(isFindingCode(f.code), where, `undocumented finding code ${f.code}`);
    if (/internal error/i.test(f.message))
      throw new FuzzViolation("masked-internal", `${where}: ${f.code} hides an internal error: ${f.message}`, {
        where,
        finding: f,
      });
  }
}

function errorCodes(findings: readonly Finding[]): string[] {
  return [...new Set(findings.filter((f) => f.severity === "error").map((f) => f.code))];
}

export const sdpTarget: FuzzTarget<SdpInput> = {
  name: "sdp",
  description:
    "parseSdp, validateOffer (±e2eDc), validateAnswer (both sides), inspectSdp, readDcMedia, readMedia, negotiateDcMedia, buildDcAnswer",
  arbitrary: sdpInputArb,
  boundMs: 1000,
  run(input) {
    const text = sdpText(input);
    const pair = sdpPair(input);
    const parsed = mustNotThrow("parseSdp", () => parseSdp(text));
    // docs/sdp.md: writeSdp(parseSdp(x)) === x for every string; joinSections(splitSections(x)) === x
    invariant(mustNotThrow("writeSdp", () => writeSdp(parsed)) === text, "writeSdp", "not byte-identical to input");
    invariant(
      mustNotThrow("joinSections", () => joinSections(splitSections(text))) === text,
      "splitSections",
      "join(split(x)) !== x",
    );
    const asOffer = mustNotThrow("validateOffer", () => validateOffer(text));
    checkFindings(asOffer.findings, "validateOffer", text);
    checkFindings(mustNotThrow("validateOffer e2eDc", () => validateOffer(text, { e2eDc: true })).findings, "e2eDc");
    const asAnswer = mustNotThrow("validateAnswer", () => validateAnswer(pair.offer, text));
    checkFindings(asAnswer.findings, "validateAnswer", text);
    checkFindings(mustNotThrow("validateAnswer(x, a)", () => validateAnswer(text, pair.answer)).findings, "answer2");
    const insp = mustNotThrow("inspectSdp", () => inspectSdp(text));
    checkFindings(insp.findings, "inspectSdp", text);
    for (const m of insp.media) {
      invariant(
        m.range[0] >= 0 && m.range[0] <= m.range[1] && m.range[1] <= text.length,
        "inspectSdp",
        `m-line ${m.index} range ${m.range} outside the body`,
      );
    }
    mustNotThrow("readDcMedia", () => readDcMedia(text));
    mustNotThrow("readMedia", () => readMedia(text));
    mustNotThrow("negotiateDcMedia", () => negotiateDcMedia(pair.offer, text, { localIsOfferer: true }));
    mustNotThrow("negotiateDcMedia(x, a)", () => negotiateDcMedia(text, pair.answer, { localIsOfferer: false }));
    const ans = mustNotThrow("buildDcAnswer", () =>
      buildDcAnswer(text, {
        origin: { sessionId: "1", address: "127.0.0.1" },
        connection: { address: "127.0.0.1" },
        port: 9,
        fingerprints: [{ hash: "sha-256", value: Array(32).fill("AB").join(":") }],
      }),
    );
    checkFindings(ans.findings, "buildDcAnswer");
    const main = input.from === "answer" ? asAnswer : asOffer;
    return { accepted: main.ok, codes: errorCodes(main.findings) };
  },
  reproducer(input) {
    const p = sdpPair(input);
    return {
      ext: "sdp",
      bytes: sdpText(input),
      note: `validateOffer / validateAnswer(pair ${p.name}) / inspectSdp / readDcMedia`,
    };
  },
};

// ---- IMS-ALG ------------------------------------------------------------------------------------------------------

export interface AlgInput {
  pair: number;
  kind: "offer" | "answer";
  ops: SdpOp[];
  /** decide the answer against the decision on the mutated offer (else on the pristine offer) */
  mutatedOfferDecision: boolean;
  rcs: boolean;
}

export const algInputArb: fc.Arbitrary<AlgInput> = fc.record({
  pair: fc.nat({ max: 1 << 16 }),
  kind: fc.constantFrom("offer" as const, "answer" as const),
  ops: sdpOpsArb,
  mutatedOfferDecision: fc.boolean(),
  rcs: fc.boolean(),
});

function algText(input: AlgInput): string {
  const p = sdpPair(input);
  return applySdpOps(
    input.kind === "offer" ? p.offer : p.answer,
    input.ops,
    corpus().sdpBodies.map((b) => b.text),
  );
}

const LEG_CORE: AgwLegSdp = { address: "127.0.0.2", port: 40000 };
const LEG_ACCESS: AgwLegSdp = {
  address: "::1",
  port: 41000,
  fingerprints: [{ hash: "sha-256", value: Array(32).fill("B1").join(":") }],
  tlsId: "abcdefghijklmnopqrstuvwxyz012345",
};
const STEPS: readonly E2aeStep[] = [
  "originating-offer",
  "originating-answer",
  "terminating-offer",
  "terminating-answer",
];

function ctxFor(p: SdpPair, kind: "offer" | "answer", rcs: boolean, offer?: AlgDecision): AlgContext {
  const c: AlgContext = {
    direction: p.direction,
    kind,
    callId: "fuzz@alg",
    capabilities: new Set(p.caps),
    config: algConfig({ e2aeAvailable: true, rcsTerminateAllMsrpTls: rcs }),
  };
  if (offer) c.offer = offer;
  return c;
}

/** Sections other than the listed m-sections must be byte-identical (docs/pcscf-alg.md "e2ae rewrites"). */
function untouchedOutside(before: string, after: string, edited: ReadonlySet<number>, where: string): void {
  const a = splitSections(before);
  const b = splitSections(after);
  invariant(a.session.text === b.session.text, where, "session section changed");
  invariant(a.media.length === b.media.length, where, `m-section count ${a.media.length} → ${b.media.length}`);
  a.media.forEach((m, i) => {
    if (!edited.has(i)) invariant(m.text === b.media[i]?.text, where, `m-section ${i} changed but was not rewritten`);
  });
}

export const algTarget: FuzzTarget<AlgInput> = {
  name: "alg",
  description:
    "decideSdp (offer/answer, orig/term, capabilities), applyDecision, rewriteE2ae (4 steps), extractIqMedia",
  arbitrary: algInputArb,
  boundMs: 1000,
  run(input) {
    const p = sdpPair(input);
    const text = algText(input);
    let offerDecision: AlgDecision | undefined;
    if (input.kind === "answer") {
      const offerText = input.mutatedOfferDecision ? applySdpOps(p.offer, input.ops) : p.offer;
      offerDecision = mustNotThrow("decideSdp(offer)", () => decideSdp(offerText, ctxFor(p, "offer", input.rcs)));
    }
    const ctx = ctxFor(p, input.kind, input.rcs, offerDecision);
    const d = mustNotThrow("decideSdp", () => decideSdp(text, ctx));
    invariant(["forward", "anchor", "refuse"].includes(d.action), "decideSdp", `action ${d.action}`);
    invariant(d.action !== "refuse" || d.refuse !== undefined, "decideSdp", "refuse without a refusal");
    if (d.refuse) {
      // RFC 3261 §20.43 / docs/pcscf-alg.md: printable ASCII warning text, at most 200 characters per value
      invariant(/^[\x20-\x7e]*$/.test(d.refuse.warning), "decideSdp", "Warning value not printable ASCII", {
        warning: d.refuse.warning.slice(0, 300),
      });
    }
    mustNotThrow("auditEvents", () => auditEvents(d, { callId: "fuzz@alg", bodyIn: text }));
    if (d.action === "anchor") {
      const legs = new Map<number, AgwLegSdp>();
      for (const i of d.anchors.e2ae) legs.set(i, i % 2 === 0 ? LEG_ACCESS : LEG_CORE);
      try {
        const r = applyDecision(text, d, legs, ctx.config);
        if (r.ok) untouchedOutside(text, r.body, new Set(d.anchors.e2ae), "applyDecision");
      } catch (e) {
        expectTyped(e, "applyDecision");
      }
    }
    const count = splitSections(text).media.length;
    const step = STEPS[(input.pair >> 4) % STEPS.length] as E2aeStep;
    const leg = step === "originating-offer" || step === "terminating-answer" ? LEG_CORE : LEG_ACCESS;
    const mlines = [...Array(count).keys()].filter((i) => (i + input.pair) % 2 === 0).slice(0, 4);
    try {
      const r = rewriteE2ae(
        text,
        step,
        mlines.map((mline) => ({ mline, agw: leg })),
      );
      untouchedOutside(text, r.body, new Set(r.changes.map((c) => c.mline)), `rewriteE2ae ${step}`);
    } catch (e) {
      expectTyped(e, `rewriteE2ae ${step}`);
    }
    mustNotThrow("extractIqMedia", () => extractIqMedia(text, input.kind, { step }));
    const codes = d.refuse ? [...new Set(d.refuse.codes)] : [`${d.action}`];
    return { accepted: d.action !== "refuse", codes };
  },
  reproducer(input) {
    const p = sdpPair(input);
    return {
      ext: "sdp",
      bytes: algText(input),
      note: `decideSdp(${input.kind}, ${p.direction}, caps ${p.caps.join(",") || "none"}, pair ${p.name}, rcs ${input.rcs})`,
    };
  },
};

export { bytesLatin1 };
