/**
 * Offer/answer validation: single-SDP findings from `model.ts` plus the role rules of RFC 5763/8842/4145/3264 and,
 * with `{ e2eDc: true }`, the e2e data channel profile of TS 33.328 §7.2.5 (seed CR 1: the offer carries the UE's own
 * fingerprint, tls-id and a=setup:actpass and no 3ge2ae/e2DCe indication; RFC 8122 §5, RFC 8842 §5).
 */
import { isFloorCtrlAnswerAllowed } from "./bfcp.ts";
import { reqAppIdentity } from "./dc3gpp.ts";
import { sameDcMapParams } from "./dcmap.ts";
import { type Finding, type FindingCode, hasErrors, makeFinding, sortFindings } from "./findings.ts";
import { hasSha256OrStronger } from "./fingerprint.ts";
import { analyzeSdp, isTcpProto, type MediaInfo, type SdpModel } from "./model.ts";
import type { ParseOptions } from "./parse.ts";
import { defaultSetup, isAnswerConnectionAllowed, isAnswerSetupAllowed } from "./setup.ts";

export interface ValidateOptions extends ParseOptions {
  /**
   * Apply the e2e data channel profile (TS 33.328 §7.2.5): the offer must carry an UDP/DTLS/SCTP data channel
   * m-line with tls-id, explicit setup, sctp-port and a sha-256 (or stronger) fingerprint and no security-scope
   * indication; the answer must carry a tls-id when one was offered.
   */
  e2eDc?: boolean;
}

export interface ValidationResult {
  ok: boolean;
  findings: Finding[];
}

type Role = "offer" | "answer";

function finish(findings: Finding[]): ValidationResult {
  const sorted = sortFindings(findings);
  return { ok: !hasErrors(sorted), findings: sorted };
}

function safe(fn: () => ValidationResult): ValidationResult {
  try {
    return fn();
  } catch (err) {
    // Defensive: the codecs do not throw, but the public API must never let an exception escape.
    const msg = err instanceof Error ? err.message : "unknown";
    return { ok: false, findings: [makeFinding("E_SDP_SYNTAX", `internal error while validating: ${msg}`)] };
  }
}

/** Single-SDP checks; with `role` also the offer-only or answer-only rules. */
export function validateSdp(sdp: string, opts: ValidateOptions & { role?: Role } = {}): ValidationResult {
  return safe(() => modelRules(analyzeSdp(sdp, opts), opts));
}

/**
 * `validateSdp` on a model the caller already built with `analyzeSdp` (same options): one SDP analysis per body
 * where the caller needs both the model and the findings (the P-CSCF's IMS-ALG).
 */
export function validateModel(model: SdpModel, opts: ValidateOptions & { role?: Role } = {}): ValidationResult {
  return safe(() => modelRules(model, opts));
}

function modelRules(model: SdpModel, opts: ValidateOptions & { role?: Role }): ValidationResult {
  const findings = [...model.findings];
  if (opts.role === "offer") findings.push(...offerRules(model, opts));
  if (opts.role === "answer") findings.push(...answerRules(model));
  return finish(findings);
}

/** Validates an SDP offer. */
export function validateOffer(sdp: string, opts: ValidateOptions = {}): ValidationResult {
  return validateSdp(sdp, { ...opts, role: "offer" });
}

/** Validates an SDP answer against the offer it answers. Line numbers refer to the answer. */
export function validateAnswer(offer: string, answer: string, opts: ValidateOptions = {}): ValidationResult {
  return safe(() => {
    const om = analyzeSdp(offer, opts);
    const am = analyzeSdp(answer, opts);
    const findings = [...am.findings, ...answerRules(am)];
    const offerCheck = [...om.findings, ...offerRules(om, opts)];
    const offerErrors = offerCheck.filter((f) => f.severity === "error");
    if (offerErrors.length > 0) {
      const codes = [...new Set(offerErrors.map((f) => f.code))].join(", ");
      findings.push(makeFinding("E_OFFER_INVALID", `the offer has ${offerErrors.length} error(s): ${codes}`));
    }
    if (!om.parsed.refused && !am.parsed.refused && om.parsed.lines.length > 0 && am.parsed.lines.length > 0) {
      findings.push(...crossRules(om, am, opts));
    }
    return finish(findings);
  });
}

function at(code: FindingCode, message: string, m: MediaInfo, line?: number): Finding {
  return makeFinding(code, message, { line: line ?? m.line, mline: m.index });
}

function offerRules(model: SdpModel, opts: ValidateOptions): Finding[] {
  const out: Finding[] = [];
  for (const m of model.media) {
    if (m.malformed || m.rejected) continue;
    if (m.security === "dtls") {
      // RFC 5763 §5 (RFC 8842 §5.2): the DTLS offerer MUST use setup:actpass.
      if (m.setup !== undefined && m.setup !== "actpass" && m.setup !== "holdconn") {
        out.push(
          at(
            "E_SETUP_OFFER_NOT_ACTPASS",
            `DTLS offer m-line ${m.index} uses setup:${m.setup}, not actpass`,
            m,
            m.attrLine.setup,
          ),
        );
      }
      // RFC 8842 §5.2: the offerer includes a tls-id (its absence marks a legacy endpoint).
      if (m.attrLine["tls-id"] === undefined)
        out.push(at("W_TLSID_MISSING", `DTLS offer m-line ${m.index} has no a=tls-id`, m));
    }
  }
  if (opts.e2eDc) out.push(...e2eOfferRules(model));
  return out;
}

function e2eOfferRules(model: SdpModel): Finding[] {
  const out: Finding[] = [];
  const dcs = model.media.filter((m) => m.kind === "dc" && !m.rejected);
  // TS 33.328 §7.2.5 step 1: the offer is for an IMS data channel media stream.
  if (dcs.length === 0) out.push(makeFinding("E_E2E_NO_DC", "the e2e offer has no active data channel m-line"));
  for (const m of dcs) {
    // TS 26.114 §6.2.10.1: the data channel proto shall be UDP/DTLS/SCTP.
    if (m.proto !== "UDP/DTLS/SCTP")
      out.push(at("E_E2E_PROTO", `e2e data channel m-line ${m.index} uses ${m.proto}`, m));
    // TS 33.328 §7.2.5 step 1: fingerprint, tls-id and setup attributes according to RFC 8841.
    if (m.attrLine["tls-id"] === undefined)
      out.push(at("E_E2E_TLSID_MISSING", `e2e data channel m-line ${m.index} has no a=tls-id`, m));
    if (m.attrLine.setup === undefined && m.setup === undefined)
      out.push(at("E_E2E_SETUP_MISSING", `e2e data channel m-line ${m.index} has no a=setup`, m));
    if (m.fingerprints.length > 0 && !hasSha256OrStronger(m.fingerprints)) {
      out.push(at("E_E2E_FP_STRENGTH", `e2e data channel m-line ${m.index} has no sha-256 or stronger fingerprint`, m));
    }
    // RFC 8841 §5 (specs §6 UE 1): our e2e offer states its SCTP port explicitly.
    if (m.attrLine["sctp-port"] === undefined)
      out.push(at("E_E2E_SCTP_PORT_MISSING", `e2e data channel m-line ${m.index} has no a=sctp-port`, m));
    // TS 33.328 §7.2.5 step 1: UE A does not include any indication of the security scope (e2ae / e2DCe).
    if (m.attrLine["3ge2ae"] !== undefined) {
      out.push(
        at("E_E2E_SCOPE_INDICATION", `e2e data channel m-line ${m.index} carries a=3ge2ae`, m, m.attrLine["3ge2ae"]),
      );
    }
  }
  return out;
}

function answerRules(model: SdpModel): Finding[] {
  const out: Finding[] = [];
  for (const m of model.media) {
    if (m.malformed || m.rejected) continue;
    // RFC 5763 §5: the DTLS answerer MUST use setup:active or setup:passive (actpass is offer-only).
    if (m.security === "dtls" && m.setup === "actpass") {
      out.push(at("E_SETUP_ANSWER_ROLE", `DTLS answer m-line ${m.index} uses setup:actpass`, m, m.attrLine.setup));
    }
  }
  return out;
}

function crossRules(om: SdpModel, am: SdpModel, opts: ValidateOptions): Finding[] {
  const out: Finding[] = [];
  // RFC 3264 §6: the answer has exactly as many m-lines as the offer, in the same order.
  if (om.media.length !== am.media.length) {
    out.push(
      makeFinding("E_ANSWER_MLINE_COUNT", `the offer has ${om.media.length} m-lines, the answer ${am.media.length}`),
    );
  }
  const n = Math.min(om.media.length, am.media.length);
  for (let i = 0; i < n; i++) {
    const o = om.media[i];
    const a = am.media[i];
    if (!o || !a || o.malformed || a.malformed) continue;
    // RFC 3264 §6: the media type of an answered m-line matches the offer.
    if (o.media !== a.media) {
      out.push(at("E_ANSWER_MEDIA_TYPE", `answer m-line ${i} is ${a.media}, the offer has ${o.media}`, a));
      continue;
    }
    // RFC 3264 §6: a stream offered with port 0 is answered with port 0.
    if (o.port === 0 && a.port !== 0)
      out.push(at("E_ANSWER_PORT", `m-line ${i} was offered with port 0 but answered with ${a.port}`, a));
    if (a.rejected || o.rejected) continue;
    // RFC 3264 §6 / RFC 8841 §9: the answerer uses the same proto as the offer.
    if (o.proto !== a.proto) {
      out.push(at("E_PROTO_MISMATCH", `answer m-line ${i} proto ${a.proto} differs from the offered ${o.proto}`, a));
    }
    // RFC 3264 §6 / RFC 8841 §9: for DC/MSRP/BFCP the answered fmt is one of the offered ones.
    if (["dc", "sctp", "msrp", "bfcp"].includes(o.kind) && !a.fmts.every((f) => o.fmts.includes(f))) {
      out.push(
        at("E_FMT_MISMATCH", `answer m-line ${i} fmt ${a.fmts.join(" ")} is not in the offered ${o.fmts.join(" ")}`, a),
      );
    }
    const dtls = o.security === "dtls";
    if (dtls || isTcpProto(o.proto)) {
      const os = o.setup ?? defaultSetup("offer");
      const as = a.setup ?? defaultSetup("answer");
      // RFC 4145 §4 table (and RFC 5763 §5 for DTLS: active or passive only).
      if (!(dtls && as === "actpass") && !isAnswerSetupAllowed(os, as, dtls)) {
        out.push(
          at("E_SETUP_ANSWER_ROLE", `answer setup:${as} is not allowed for offered setup:${os}`, a, a.attrLine.setup),
        );
      }
      // RFC 4145 §5.2: offer "new" → answer "new".
      if (!isAnswerConnectionAllowed(o.connectionAttr, a.connectionAttr)) {
        out.push(
          at(
            "E_CONNECTION_ANSWER",
            "the offer says connection:new but the answer says existing",
            a,
            a.attrLine.connection,
          ),
        );
      }
    }
    const offerHasTlsId = o.attrLine["tls-id"] !== undefined;
    const answerHasTlsId = a.attrLine["tls-id"] !== undefined;
    // RFC 8842 §5.3: if the offer has no tls-id, the answer MUST NOT include one.
    if (answerHasTlsId && !offerHasTlsId) {
      out.push(
        at(
          "E_TLSID_ANSWER_UNEXPECTED",
          `answer m-line ${i} has a=tls-id but the offer had none`,
          a,
          a.attrLine["tls-id"],
        ),
      );
    }
    // RFC 8842 §4: each endpoint generates its own random tls-id; a copy of the offerer's value means the answerer
    // echoed the line (libdatachannel 0.24 does) and cannot signal its own association changes.
    if (a.tlsId !== undefined && a.tlsId === o.tlsId) {
      out.push(at("W_TLSID_ECHOED", `answer m-line ${i} repeats the offerer's tls-id`, a, a.attrLine["tls-id"]));
    }
    if (offerHasTlsId && !answerHasTlsId && (a.security === "dtls" || a.security === "tls")) {
      // TS 33.328 §7.2.5 step 4 (e2e profile): the answer carries the tls-id chosen by UE B.
      if (opts.e2eDc && a.kind === "dc")
        out.push(at("E_E2E_TLSID_ANSWER_MISSING", `e2e answer m-line ${i} has no a=tls-id`, a));
      // RFC 8842 §5.3: an answerer supporting tls-id includes one; its absence marks a legacy answerer.
      else out.push(at("W_TLSID_ANSWER_MISSING", `answer m-line ${i} has no a=tls-id although the offer had one`, a));
    }
    if (a.kind === "dc" || a.kind === "sctp") {
      const offered = new Map(o.dcmaps.map((d) => [d.streamId, d]));
      a.dcmaps.forEach((d, k) => {
        const line = a.dcmapLines[k];
        const od = offered.get(d.streamId);
        // RFC 8864 §6: the answer only contains data channels that were offered.
        if (!od) out.push(at("E_DCMAP_NOT_OFFERED", `answer dcmap stream id ${d.streamId} was not offered`, a, line));
        // RFC 8864 §6: an accepted data channel keeps the offered parameters.
        else if (!sameDcMapParams(od, d))
          out.push(at("W_DCMAP_PARAM_CHANGED", `answer changed the parameters of dcmap ${d.streamId}`, a, line));
      });
      out.push(...dcsaAnswerRules(o, a), ...dc3gppAnswerRules(o, a));
      if (opts.e2eDc && a.kind === "dc") {
        // TS 33.328 §7.2.5 step 4 / RFC 8122 §5.1: UE B's fingerprint must be usable with sha-256 or stronger.
        if (a.fingerprints.length > 0 && !hasSha256OrStronger(a.fingerprints)) {
          out.push(at("E_E2E_FP_STRENGTH", `e2e answer m-line ${i} has no sha-256 or stronger fingerprint`, a));
        }
        // TS 33.328 §7.2.5: no security-scope indication on an e2e data channel.
        if (a.attrLine["3ge2ae"] !== undefined)
          out.push(at("E_E2E_SCOPE_INDICATION", `e2e answer m-line ${i} carries a=3ge2ae`, a, a.attrLine["3ge2ae"]));
      }
    }
    if (a.kind === "bfcp" && o.bfcp?.floorctrl && a.bfcp?.floorctrl) {
      // RFC 8856 §5.1: the answer has one role compatible with the offered ones.
      if (!isFloorCtrlAnswerAllowed(o.bfcp.floorctrl, a.bfcp.floorctrl)) {
        out.push(
          at(
            "E_BFCP_FLOORCTRL_ANSWER",
            `answer floorctrl ${a.bfcp.floorctrl.join(" ")} does not fit the offered ${o.bfcp.floorctrl.join(" ")}`,
            a,
            a.attrLine.floorctrl,
          ),
        );
      }
    }
  }
  return out;
}

/**
 * RFC 8864 §5.2: a dcsa line carries a subprotocol attribute of one data channel, negotiated by that attribute's own
 * offer/answer rules; an accepted data channel whose answer has no line for an offered attribute dropped it.
 */
function dcsaAnswerRules(o: MediaInfo, a: MediaInfo): Finding[] {
  const out: Finding[] = [];
  const accepted = new Set(a.dcmaps.map((d) => d.streamId));
  const reported = new Set<string>();
  for (const sa of o.dcsas) {
    const key = `${sa.streamId} ${sa.attribute.toLowerCase()}`;
    if (!accepted.has(sa.streamId) || reported.has(key)) continue;
    if (a.dcsas.some((x) => x.streamId === sa.streamId && x.attribute.toLowerCase() === sa.attribute.toLowerCase()))
      continue;
    reported.add(key);
    const k = a.dcmaps.findIndex((d) => d.streamId === sa.streamId);
    out.push(
      at(
        "W_DCSA_NOT_ANSWERED",
        `answer m-line ${a.index} accepts stream id ${sa.streamId} without answering the offered a=dcsa:${sa.streamId} ${sa.attribute}`,
        a,
        a.dcmapLines[k],
      ),
    );
  }
  return out;
}

/** `a=3gpp-bdc-used-by` / `a=3gpp-req-app` in an accepted data channel answer m-line. */
function dc3gppAnswerRules(o: MediaInfo, a: MediaInfo): Finding[] {
  const out: Finding[] = [];
  const i = a.index;
  // TS 24.186 §9.3.3.2.1: the remote bootstrap m-line is identified by its bdc-used-by value; the answer keeps it.
  if (o.bdcUsedBy && a.bdcUsedBy && o.bdcUsedBy.raw.toLowerCase() !== a.bdcUsedBy.raw.toLowerCase()) {
    out.push(
      at(
        "W_BDC_USED_BY_CHANGED",
        `answer m-line ${i} has 3gpp-bdc-used-by ${a.bdcUsedBy.raw}, the offer ${o.bdcUsedBy.raw}`,
        a,
        a.attrLine["3gpp-bdc-used-by"],
      ),
    );
  }
  // TS 26.114 §6.2.10: the answer repeats the offered 3gpp-req-app of each accepted application data channel; only
  // the optional app-dc-status may differ.
  const accepted = new Set(a.dcmaps.map((d) => d.streamId));
  const offered = new Set(o.reqApps.map(reqAppIdentity));
  const answered = new Set(a.reqApps.map(reqAppIdentity));
  for (const r of o.reqApps) {
    if (!accepted.has(r.streamId) || answered.has(reqAppIdentity(r))) continue;
    const k = a.dcmaps.findIndex((d) => d.streamId === r.streamId);
    out.push(
      at(
        "W_REQ_APP_ANSWER_MISMATCH",
        `answer m-line ${i} accepts stream id ${r.streamId} without repeating a=3gpp-req-app:${r.raw}`,
        a,
        a.dcmapLines[k],
      ),
    );
  }
  a.reqApps.forEach((r, k) => {
    if (!offered.has(reqAppIdentity(r)))
      out.push(
        at(
          "W_REQ_APP_ANSWER_MISMATCH",
          `answer m-line ${i} has a=3gpp-req-app:${r.raw}, which the offer did not have`,
          a,
          a.reqAppLines[k],
        ),
      );
  });
  return out;
}
