/**
 * Per-m-line checks of one SDP (no offer/answer role rules): transport security attributes, ICE credentials,
 * 3ge2ae, data channel stream ids (RFC 8864, TS 24.186, TS 26.114), MSRP and BFCP.
 */
import { isTcpProto } from "./attrTable.ts";
import { REMOTE_BOOTSTRAP_STREAM_IDS } from "./dc3gpp.ts";
import { APPLICATION_STREAM_ID_MIN, classifyStreamId } from "./dcmap.ts";
import type { FindingCode } from "./findings.ts";
import { hasSha256OrStronger } from "./fingerprint.ts";
import type { MediaInfo } from "./mediaInfo.ts";
import { DC_FMT, LEGACY_SCTP_PROTO } from "./sctp.ts";

export interface CheckCtx {
  add: (code: FindingCode, message: string, line?: number, mline?: number, clause?: string) => void;
  e2aeLines: number[];
}

export function checkMedia(m: MediaInfo, ctx: CheckCtx): void {
  const { add } = ctx;
  const mi = m.index;
  const active = !m.rejected;

  // ---- transport security (RFC 8122, RFC 4145, RFC 5763) ----------------------------------------------------
  const needsFp = m.security === "dtls" || m.security === "tls";
  if (needsFp && active) {
    // RFC 8122 §5 / RFC 5763 §5: a TLS/DTLS m-line needs at least one usable fingerprint.
    if (m.fingerprints.length === 0)
      add("E_FP_MISSING", `m-line ${mi} (${m.proto}) has no usable a=fingerprint`, m.line, mi);
    // RFC 8122 §5.1: SHA-256 MUST be calculated (a stronger hash may replace it).
    else if (!hasSha256OrStronger(m.fingerprints))
      add(
        "W_FP_NO_SHA256",
        `m-line ${mi} offers no sha-256 or stronger fingerprint`,
        m.attrLine.fingerprint ?? m.line,
        mi,
      );
  }
  const setupApplies = m.security === "dtls" || isTcpProto(m.proto);
  if (setupApplies && active && m.setup === undefined) {
    // RFC 4145 §4: absent setup means active in an offer and passive in an answer.
    add("W_SETUP_MISSING", `m-line ${mi} (${m.proto}) has no a=setup; the RFC 4145 default applies`, m.line, mi);
  }
  // RFC 5763 §5: holdconn is not a valid DTLS setup value.
  if (m.security === "dtls" && m.setup === "holdconn")
    add("E_SETUP_HOLDCONN_DTLS", `m-line ${mi} uses setup:holdconn with DTLS`, m.attrLine.setup ?? m.line, mi);
  // RFC 4145 §4: the active endpoint SHOULD use port 9 (TCP without ICE).
  if (isTcpProto(m.proto) && active && m.setup === "active" && m.port !== 9 && m.ice.candidates.length === 0) {
    add("W_TCP_ACTIVE_PORT", `m-line ${mi} is setup:active but uses port ${m.port}, not 9`, m.line, mi);
  }

  // ---- ICE ------------------------------------------------------------------------------------------------------
  // RFC 8839 §5.4: ice-ufrag and ice-pwd come together.
  if (active && (m.ice.ufrag === undefined) !== (m.ice.pwd === undefined)) {
    add(
      "E_ICE_CREDENTIALS",
      `m-line ${mi} has ${m.ice.ufrag === undefined ? "ice-pwd without ice-ufrag" : "ice-ufrag without ice-pwd"}`,
      m.line,
      mi,
    );
  }

  // ---- 3ge2ae ---------------------------------------------------------------------------------------------------
  if (m.e2ae.length > 1)
    add("W_3GE2AE_DUPLICATE", `m-line ${mi} has ${m.e2ae.length} a=3ge2ae lines`, ctx.e2aeLines[1], mi);
  if (m.e2ae.some((x) => x.indicator !== "other") && m.security === "none") {
    // specs §4.6 / TS 23.334 §6.2.10: e2ae applies to TLS/DTLS/SRTP media; on a plain proto it is ignored.
    add(
      "W_3GE2AE_NOT_SECURE",
      `a=3ge2ae on m-line ${mi} whose proto ${m.proto} has no TLS/DTLS/SRTP`,
      ctx.e2aeLines[0],
      mi,
    );
  }

  // ---- data channels (RFC 8841, RFC 8864, TS 26.114, TS 24.186) ---------------------------------------------------
  if (m.kind === "dc" || m.kind === "sctp") {
    // RFC 8841 §4: legacy "DTLS/SCTP <sctp-port>" + a=sctpmap (pre-RFC draft) is accepted with a warning.
    if (m.proto === LEGACY_SCTP_PROTO) add("W_SCTP_LEGACY", `m-line ${mi} uses the legacy DTLS/SCTP form`, m.line, mi);
    // TS 26.114 §6.2.10.1: the DCMTSI proto shall be UDP/DTLS/SCTP.
    if (m.kind === "dc" && m.proto === "TCP/DTLS/SCTP")
      add("W_DC_TCP_PROTO", `m-line ${mi} uses TCP/DTLS/SCTP`, m.line, mi);
    // TS 26.114 §6.2.10.1: the fmt shall be webrtc-datachannel.
    if (m.kind === "sctp") add("W_DC_FMT", `m-line ${mi} fmt ${m.fmts.join(" ")} is not ${DC_FMT}`, m.line, mi);
    checkDcMaps(m, ctx);
  }

  // ---- MSRP (RFC 4975) ------------------------------------------------------------------------------------------
  if (m.kind === "msrp") {
    // RFC 4975 §8.1: the fmt list of an MSRP m-line is "*".
    if (m.fmts.length !== 1 || m.fmts[0] !== "*")
      add("E_MSRP_FMT", `MSRP m-line ${mi} fmt is ${m.fmts.join(" ")}, not *`, m.line, mi);
    if (active) {
      // RFC 4975 §8.1: a=path and a=accept-types are mandatory.
      if (m.attrLine.path === undefined) add("E_MSRP_PATH", `MSRP m-line ${mi} has no a=path`, m.line, mi);
      if (m.attrLine["accept-types"] === undefined)
        add("E_MSRP_ACCEPT_TYPES", `MSRP m-line ${mi} has no a=accept-types`, m.line, mi);
    }
    const tls = m.proto === "TCP/TLS/MSRP";
    const wrong = (m.msrp?.path ?? []).filter((u) => (u.scheme === "msrps") !== tls);
    // RFC 4975 §6: msrps URIs denote TLS; the scheme must match the proto.
    if (wrong.length > 0) {
      add(
        "W_MSRP_SCHEME",
        `MSRP m-line ${mi} (${m.proto}) has ${tls ? "msrp" : "msrps"} URIs in a=path`,
        m.attrLine.path ?? m.line,
        mi,
      );
    }
  }

  // ---- BFCP (RFC 8856) ------------------------------------------------------------------------------------------
  // RFC 8856 §4: the fmt of a BFCP m-line is "*".
  if (m.kind === "bfcp" && (m.fmts.length !== 1 || m.fmts[0] !== "*")) {
    add("E_BFCP_FMT", `BFCP m-line ${mi} (${m.proto}) fmt is ${m.fmts.join(" ")}, not *`, m.line, mi);
  }
}

function checkDcMaps(m: MediaInfo, ctx: CheckCtx): void {
  const { add } = ctx;
  const mi = m.index;
  const ids = new Map<number, number>();
  let local = false;
  let remote = false;
  m.dcmaps.forEach((d, i) => {
    const line = m.dcmapLines[i] ?? m.line;
    const first = ids.get(d.streamId);
    // RFC 8864 §5.1.1 / TS 26.114 §6.2.10.1: stream ids are unique within one m-line.
    if (first !== undefined)
      add("E_DCMAP_DUP_ID", `dcmap stream id ${d.streamId} repeated (first on line ${first})`, line, mi);
    else ids.set(d.streamId, line);
    const cls = classifyStreamId(d.streamId);
    if (cls === "bootstrap-local" || cls === "bootstrap-remote") {
      if (cls === "bootstrap-local") local = true;
      else remote = true;
      // TS 24.186 §9.3.2.2.1: bootstrap data channels use subprotocol "http".
      if (d.subprotocol !== "http") {
        add(
          "E_BOOTSTRAP_SUBPROTOCOL",
          `bootstrap stream id ${d.streamId} has subprotocol ${JSON.stringify(d.subprotocol ?? null)}, not "http"`,
          line,
          mi,
        );
      }
    } else if (cls === "reserved") {
      // TS 26.114 §6.2.10.1: application data channels use stream ids from 1000 up.
      add(
        "W_DC_ID_RESERVED",
        `stream id ${d.streamId} is neither a bootstrap id (0/10/100/110) nor an application id (>= 1000)`,
        line,
        mi,
      );
    }
  });
  // TS 24.186 §9.3.2.2.1: local (0/10) and remote (100/110) bootstrap channels are separate m-lines.
  if (local && remote) add("W_BOOTSTRAP_MIXED", `m-line ${mi} mixes local and remote bootstrap stream ids`, m.line, mi);
  m.dcsas.forEach((s, i) => {
    // RFC 8864 §5.2: a dcsa refers to the stream of a dcmap in the same m-line.
    if (!ids.has(s.streamId))
      add("E_DCSA_UNKNOWN_ID", `dcsa for stream id ${s.streamId} has no matching dcmap`, m.dcsaLines[i] ?? m.line, mi);
  });
  checkDc3gpp(m, ctx, ids);
}

/** `a=3gpp-bdc-used-by` and `a=3gpp-req-app` against the dcmaps of the m-line (TS 24.186 §9.3, TS 26.114 §6.2.10). */
function checkDc3gpp(m: MediaInfo, ctx: CheckCtx, ids: ReadonlyMap<number, number>): void {
  const { add } = ctx;
  const mi = m.index;
  if (m.bdcUsedBy !== undefined && !REMOTE_BOOTSTRAP_STREAM_IDS.some((id) => ids.has(id))) {
    // TS 24.186 §9.3.3.2.1: the attribute marks the remote bootstrap m-line (dcmap stream ids 100 and 110).
    add(
      "W_BDC_USED_BY_NOT_REMOTE",
      `m-line ${mi} has a=3gpp-bdc-used-by but no remote bootstrap dcmap (stream id 100/110)`,
      m.attrLine["3gpp-bdc-used-by"] ?? m.line,
      mi,
    );
  }
  const seen = new Map<number, number>();
  m.reqApps.forEach((r, i) => {
    const line = m.reqAppLines[i] ?? m.line;
    // TS 24.186 §9.3: a 3gpp-req-app line is associated with the dcmap of an application data channel.
    if (!ids.has(r.streamId))
      add("E_REQ_APP_UNKNOWN_ID", `3gpp-req-app for stream id ${r.streamId} has no matching dcmap`, line, mi);
    // TS 24.186 §9.3: application data channels use stream ids from 1000 up.
    else if (r.streamId < APPLICATION_STREAM_ID_MIN)
      add(
        "W_REQ_APP_NOT_APPLICATION",
        `3gpp-req-app for stream id ${r.streamId}, which is not an application data channel id (>= 1000)`,
        line,
        mi,
      );
    const first = seen.get(r.streamId);
    if (first !== undefined)
      add("W_REQ_APP_DUPLICATE", `second 3gpp-req-app for stream id ${r.streamId} (first on line ${first})`, line, mi);
    else seen.set(r.streamId, line);
  });
}
