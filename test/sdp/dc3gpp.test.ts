/**
 * 3GPP bootstrap and application data channels: `a=3gpp-bdc-used-by` and `a=3gpp-req-app` parsed, validated, kept
 * byte for byte by inspection/editing, and answered by the UE's answer builder (TS 24.186 §9.3, TS 26.114 §6.2.10).
 */
import { describe, expect, it } from "vitest";
import {
  buildDcAnswer,
  editSdpMedia,
  fingerprintFromBytes,
  inspectSdp,
  parseBdcUsedBy,
  parseReqApp,
  parseSdp,
  readDcMedia,
  readMedia,
  removeAttributes,
  splitSections,
  validateAnswer,
  validateOffer,
  writeSdp,
} from "../../src/sdp/index.ts";
import { fixture } from "./cases.ts";

const BOOT = fixture("ts26114-bootstrap-offer.sdp");
const APP = fixture("ts26114-app-reoffer.sdp");
const fp = fingerprintFromBytes("sha-256", new Uint8Array(32).fill(9));
const ANSWER_OPTS = { connection: { address: "192.0.2.20" }, port: 40000, fingerprints: [fp] } as const;

describe("codecs", () => {
  it("3gpp-bdc-used-by: sender / receiver, other tokens kept with a warning, non-tokens refused", () => {
    expect(parseBdcUsedBy("sender")).toEqual({ ok: true, value: { role: "sender", raw: "sender" }, problems: [] });
    expect(parseBdcUsedBy("Receiver").value).toEqual({ role: "receiver", raw: "Receiver" });
    const other = parseBdcUsedBy("both");
    expect(other.ok).toBe(true);
    expect(other.value).toEqual({ role: "other", raw: "both" });
    expect(other.problems.map((p) => p.code)).toEqual(["W_BDC_USED_BY_UNKNOWN"]);
    for (const bad of ["", "send er", '"sender"', "sender;x"]) {
      const r = parseBdcUsedBy(bad);
      expect(r.ok, bad).toBe(false);
      expect(r.problems.map((p) => p.code)).toEqual(["E_BDC_USED_BY_SYNTAX"]);
    }
  });

  it("3gpp-req-app: stream id, app-id (token or quoted) and parameters, raw text kept", () => {
    const raw = '1000 "urn:example:dc-app:chat" app-dc-status=requested x';
    expect(parseReqApp(raw)).toEqual({
      ok: true,
      value: {
        streamId: 1000,
        appId: '"urn:example:dc-app:chat"',
        params: [{ name: "app-dc-status", value: "requested" }, { name: "x" }],
        raw,
      },
      problems: [],
    });
    expect(parseReqApp("1002 ar-game").value).toEqual({
      streamId: 1002,
      appId: "ar-game",
      params: [],
      raw: "1002 ar-game",
    });
    expect(parseReqApp("65535 a").problems.map((p) => p.code)).toEqual(["E_DCMAP_ID_RANGE"]);
    for (const bad of ["1000", "x 1", "1000  a", "1000 a ", '1000 "a', "1000 a b=c=d", "1000 a =v", "123456 a"]) {
      const r = parseReqApp(bad);
      expect(r.ok, bad).toBe(false);
      expect(
        r.problems.map((p) => p.code),
        bad,
      ).toEqual(["E_REQ_APP_SYNTAX"]);
    }
  });
});

describe("bootstrap data channel offer (TS 24.186 §9.3.2.2.1, §9.3.3.2.1)", () => {
  it("parses without finding, writes back byte-exact, passes the e2e profile", () => {
    const parsed = parseSdp(BOOT);
    expect(parsed.findings).toEqual([]);
    expect(writeSdp(parsed)).toBe(BOOT);
    expect(validateOffer(BOOT, { e2eDc: true })).toEqual({ ok: true, findings: [] });
  });

  it("reads the local (0/10) and the remote (100/110, used by the sender) bootstrap m-lines", () => {
    expect(readMedia(BOOT).map((m) => m.kind)).toEqual(["audio", "dc", "dc"]);
    const [local, remote] = readDcMedia(BOOT);
    expect(local?.dcmaps.map((d) => [d.streamId, d.subprotocol])).toEqual([
      [0, "http"],
      [10, "http"],
    ]);
    expect(local?.bdcUsedBy).toBeUndefined();
    expect(remote?.dcmaps.map((d) => d.streamId)).toEqual([100, 110]);
    expect(remote?.bdcUsedBy).toEqual({ role: "sender", raw: "sender" });
    expect(remote?.reqApps).toEqual([]);
  });

  it("the answer builder answers both bootstrap m-lines: dcmaps and bdc-used-by echoed, own tls-ids, clean", () => {
    const r = buildDcAnswer(BOOT, ANSWER_OPTS);
    expect(r.ok).toBe(true);
    expect(r.findings).toEqual([]);
    const sdp = r.sdp ?? "";
    expect(validateAnswer(BOOT, sdp, { e2eDc: true })).toEqual({ ok: true, findings: [] });
    expect(readMedia(sdp).map((m) => [m.media, m.port])).toEqual([
      ["audio", 0],
      ["application", 40000],
      ["application", 40000],
    ]);
    const [local, remote] = readDcMedia(sdp);
    expect(local?.dcmaps).toEqual(readDcMedia(BOOT)[0]?.dcmaps);
    expect(remote?.dcmaps).toEqual(readDcMedia(BOOT)[1]?.dcmaps);
    expect(remote?.bdcUsedBy).toEqual({ role: "sender", raw: "sender" });
    expect(local?.bdcUsedBy).toBeUndefined();
    expect(local?.setup).toBe("active");
    expect(local?.tlsId).not.toBe(remote?.tlsId);
    expect(sdp.match(/a=3gpp-bdc-used-by:/g)).toHaveLength(1);
  });

  it("a UE that serves one association rejects the remote bootstrap m-line with port 0 (TS 24.186 §9.3.2.2.1)", () => {
    const r = buildDcAnswer(BOOT, { ...ANSWER_OPTS, perMedia: { 2: { reject: true } } });
    expect(r.ok).toBe(true);
    const sdp = r.sdp ?? "";
    expect(validateAnswer(BOOT, sdp)).toEqual({ ok: true, findings: [] });
    expect(readMedia(sdp).map((m) => m.port)).toEqual([0, 40000, 0]);
    expect(splitSections(sdp).media[2]?.text).toBe("m=application 0 UDP/DTLS/SCTP webrtc-datachannel\r\n");
    expect(r.media.map((m) => [m.mline, m.accepted, m.streamIds])).toEqual([
      [0, false, []],
      [1, true, [0, 10]],
      [2, false, []],
    ]);
  });

  it("inspection never re-serialises and editing one m-line keeps every other byte, 3gpp lines included", () => {
    const i = inspectSdp(BOOT);
    expect(i.ok).toBe(true);
    const remoteRange = i.media[2]?.range ?? [0, 0];
    expect(BOOT.slice(...remoteRange)).toContain("a=3gpp-bdc-used-by:sender\r\n");
    const edited = editSdpMedia(BOOT, 2, { port: 61000, connection: "IN IP4 198.51.100.7" });
    const before = splitSections(BOOT);
    const after = splitSections(edited);
    expect(after.session.text).toBe(before.session.text);
    expect(after.media.slice(0, 2).map((m) => m.text)).toEqual(before.media.slice(0, 2).map((m) => m.text));
    expect(after.media[2]?.text).toBe(
      (before.media[2]?.text ?? "")
        .replace("m=application 52720", "m=application 61000")
        .replace("b=AS:500", "c=IN IP4 198.51.100.7\r\nb=AS:500"),
    );
    const app = splitSections(APP).media[3]?.text ?? "";
    expect(removeAttributes(app, "dcsa")).toBe(app.replace("a=dcsa:1000 accept-types:message/cpim\r\n", ""));
    expect(removeAttributes(app, "dcsa")).toContain(
      'a=3gpp-req-app:1000 "urn:example:dc-app:chat" app-dc-status=requested\r\n',
    );
  });
});

describe("application data channel re-offer (TS 24.186 §9.3, TS 26.114 §6.2.10)", () => {
  it("validates clean and ties each 3gpp-req-app to its dcmap", () => {
    expect(validateOffer(APP, { e2eDc: true })).toEqual({ ok: true, findings: [] });
    const app = readDcMedia(APP)[2];
    expect(app?.reqApps.map((r) => [r.streamId, r.appId])).toEqual([
      [1000, '"urn:example:dc-app:chat"'],
      [1002, "ar-game"],
    ]);
    expect(app?.reqApps.map((r) => r.streamId)).toEqual(app?.dcmaps.map((d) => d.streamId));
  });

  it("the answer repeats each accepted channel's 3gpp-req-app byte for byte; an unaccepted one takes it along", () => {
    const r = buildDcAnswer(APP, {
      ...ANSWER_OPTS,
      dcsaSupport: ["accept-types"],
      perMedia: { 3: { acceptStreamIds: [1000] } },
    });
    expect(r.ok).toBe(true);
    expect(r.findings).toEqual([]);
    const sdp = r.sdp ?? "";
    const app = splitSections(sdp).media[3]?.text ?? "";
    expect(app).toContain('\r\na=3gpp-req-app:1000 "urn:example:dc-app:chat" app-dc-status=requested\r\n');
    expect(app).not.toContain("ar-game");
    expect(app).toContain("\r\na=dcsa:1000 accept-types:message/cpim\r\n");
    expect(validateAnswer(APP, sdp)).toEqual({ ok: true, findings: [] });
  });

  it("app-dc-status may differ in the answer; any other change is W_REQ_APP_ANSWER_MISMATCH", () => {
    const answer = buildDcAnswer(APP, { ...ANSWER_OPTS, dcsaSupport: ["accept-types"] }).sdp ?? "";
    const status = answer.replace("app-dc-status=requested", "app-dc-status=accepted");
    expect(status).not.toBe(answer);
    expect(validateAnswer(APP, status)).toEqual({ ok: true, findings: [] });
    const changed = answer.replace("a=3gpp-req-app:1002 ar-game", "a=3gpp-req-app:1002 other-game");
    const v = validateAnswer(APP, changed);
    expect(v.ok).toBe(true);
    expect(v.findings.map((f) => f.code)).toEqual(["W_REQ_APP_ANSWER_MISMATCH", "W_REQ_APP_ANSWER_MISMATCH"]);
  });
});
