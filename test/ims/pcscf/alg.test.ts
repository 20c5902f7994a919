import fc from "fast-check";
import { describe, expect, it } from "vitest";
import {
  type AlgConfig,
  type AlgDecision,
  algConfig,
  applyDecision,
  auditEvents,
  bodyBytes,
  decideSdp,
  e2aeStepFor,
  sha256Hex,
} from "../../../src/ims/pcscf/index.ts";
import { ctx, FP_A, fixture, sdpFixture } from "./helpers.ts";

const DC_OFFER = sdpFixture("dcmtsi-offer.sdp"); // audio + 2 DC m-lines, CRLF
const DC_ANSWER = sdpFixture("dcmtsi-answer.sdp"); // LF-only
const MSRP_TLS_OFFER = sdpFixture("e2ae-msrp-offer.sdp"); // TCP/TLS/MSRP + a=3ge2ae:requested
const BFCP_TLS_OFFER = sdpFixture("bfcp-tls-offer.sdp"); // TCP/TLS/BFCP + requested, audio, video
const CHROMIUM_OFFER = sdpFixture("chromium-offer.sdp");
const MSRP_PLAIN_OFFER = fixture("msrp-term-offer.in.sdp"); // TCP/MSRP from the core, then audio

/** Puts `line` (without EOL) right after the m-line's a=setup of m-line `mline` of the DC offer. */
function dcWith(extra: string, mline = 1, body = DC_OFFER): string {
  const parts = body.split(/(?=^m=)/m);
  const sec = parts[mline + 1] ?? "";
  parts[mline + 1] = sec.replace(/(a=setup:[^\r\n]*\r?\n)/, `$1${extra}\r\n`);
  return parts.join("");
}

function summary(d: AlgDecision) {
  return {
    action: d.action,
    decisions: d.perMedia.map((p) => p.decision),
    status: d.refuse?.status,
  };
}

interface Row {
  name: string;
  body: string;
  direction: "originating" | "terminating";
  kind?: "offer" | "answer";
  caps?: string[];
  config?: Partial<AlgConfig>;
  action: AlgDecision["action"];
  decisions: string[];
  warning?: RegExp;
  clause?: string;
  mediaWarning?: RegExp;
}

const ROWS: Row[] = [
  {
    name: "DC offer without indication: e2e, forwarded (TS 33.328 §7.2.5 step 2)",
    body: DC_OFFER,
    direction: "originating",
    action: "forward",
    decisions: ["none", "e2e", "e2e"],
    clause: "TS 33.328 §7.2.5 step 2",
  },
  {
    name: "DC offer from the core: e2e",
    body: DC_OFFER,
    direction: "terminating",
    caps: ["msrp-tls", "dc-dtls"],
    action: "forward",
    decisions: ["none", "e2e", "e2e"],
  },
  {
    name: "Chromium offer (ICE, no tls-id): e2e",
    body: CHROMIUM_OFFER,
    direction: "originating",
    action: "forward",
    decisions: ["e2e"],
  },
  {
    name: "MSRP TLS requested + msrp-tls registered: e2ae (TR 29.828 §5.2.1.2.2 step 1)",
    body: MSRP_TLS_OFFER,
    direction: "originating",
    caps: ["msrp-tls"],
    action: "anchor",
    decisions: ["e2ae"],
    clause: "TR 29.828 §5.2.1.2.2 step 1",
  },
  {
    name: "MSRP TLS requested, capability not registered: e2e",
    body: MSRP_TLS_OFFER,
    direction: "originating",
    caps: ["bfcp-tls"],
    action: "forward",
    decisions: ["e2e"],
    mediaWarning: /msrp-tls not registered/,
  },
  {
    name: "MSRP TLS requested, UE registered but the P-CSCF does not support msrp-tls: e2e",
    body: MSRP_TLS_OFFER,
    direction: "originating",
    caps: ["msrp-tls"],
    config: { supportedMediasec: ["bfcp-tls"] },
    action: "forward",
    decisions: ["e2e"],
  },
  {
    name: "MSRP TLS requested + registered, e2ae not available: 488",
    body: MSRP_TLS_OFFER,
    direction: "originating",
    caps: ["msrp-tls"],
    config: { e2aeAvailable: false },
    action: "refuse",
    decisions: ["refuse"],
    warning: /^399 pcscf\.invalid "e2ae not available \(m-line 0\)"$/,
  },
  {
    name: "RCS NOTE 1: TLS MSRP with fingerprint, no indication, no registration: e2ae",
    body: MSRP_TLS_OFFER.replace("a=3ge2ae:requested\r\n", ""),
    direction: "originating",
    config: { rcsTerminateAllMsrpTls: true },
    action: "anchor",
    decisions: ["e2ae"],
    clause: "TR 29.828 §5.2.1.2.2 NOTE 1",
  },
  {
    name: "RCS NOTE 1 off: same body forwarded e2e",
    body: MSRP_TLS_OFFER.replace("a=3ge2ae:requested\r\n", ""),
    direction: "originating",
    action: "forward",
    decisions: ["e2e"],
  },
  {
    name: "RCS NOTE 1 does not apply to TLS MSRP without fingerprint (e2e, no refusal)",
    body: MSRP_TLS_OFFER.replace("a=3ge2ae:requested\r\n", "").replace(/a=fingerprint:[^\r]*\r\n/, ""),
    direction: "originating",
    config: { rcsTerminateAllMsrpTls: true },
    action: "forward",
    decisions: ["e2e"],
  },
  {
    name: "RCS NOTE 1 does not apply to BFCP",
    body: BFCP_TLS_OFFER.replace("a=3ge2ae:requested\r\n", ""),
    direction: "originating",
    config: { rcsTerminateAllMsrpTls: true },
    action: "forward",
    decisions: ["e2e", "none", "none"],
  },
  {
    name: "RCS NOTE 1 does not apply on the terminating side",
    body: MSRP_TLS_OFFER.replace("a=3ge2ae:requested\r\n", ""),
    direction: "terminating",
    config: { rcsTerminateAllMsrpTls: true },
    action: "forward",
    decisions: ["e2e"],
  },
  {
    name: "e2ae requested on TLS MSRP without fingerprint + registered: 488 E_FP_MISSING",
    body: MSRP_TLS_OFFER.replace(/a=fingerprint:[^\r]*\r\n/, ""),
    direction: "originating",
    caps: ["msrp-tls"],
    action: "refuse",
    decisions: ["refuse"],
    warning: /^399 pcscf\.invalid "E_FP_MISSING: /,
  },
  {
    name: "BFCP TLS requested + bfcp-tls: e2ae (TR 29.828 §5.2.1.3.2 step 1)",
    body: BFCP_TLS_OFFER,
    direction: "originating",
    caps: ["bfcp-tls"],
    action: "anchor",
    decisions: ["e2ae", "none", "none"],
    clause: "TR 29.828 §5.2.1.3.2 step 1",
  },
  {
    name: "BFCP TLS requested, only msrp-tls registered: e2e",
    body: BFCP_TLS_OFFER,
    direction: "originating",
    caps: ["msrp-tls"],
    action: "forward",
    decisions: ["e2e", "none", "none"],
  },
  {
    name: "terminating plain TCP/MSRP + msrp-tls registered: e2ae (TR 29.828 §5.2.1.2.3 step 1)",
    body: MSRP_PLAIN_OFFER,
    direction: "terminating",
    caps: ["msrp-tls"],
    action: "anchor",
    decisions: ["e2ae", "none"],
    clause: "TR 29.828 §5.2.1.2.3 step 1",
  },
  {
    name: "terminating plain TCP/MSRP, not registered: forwarded",
    body: MSRP_PLAIN_OFFER,
    direction: "terminating",
    action: "forward",
    decisions: ["none", "none"],
  },
  {
    name: "terminating plain TCP/MSRP + registered, e2ae not available: 488",
    body: MSRP_PLAIN_OFFER,
    direction: "terminating",
    caps: ["msrp-tls"],
    config: { e2aeAvailable: false },
    action: "refuse",
    decisions: ["refuse", "none"],
    warning: /"e2ae not available \(m-line 0\)"/,
  },
  {
    name: "terminating plain TCP/BFCP + bfcp-tls: e2ae (TR 29.828 §5.2.1.3.3 step 1)",
    body: fixture("bfcp-term-offer.in.sdp"),
    direction: "terminating",
    caps: ["bfcp-tls"],
    action: "anchor",
    decisions: ["e2ae", "none"],
    clause: "TR 29.828 §5.2.1.3.3 step 1",
  },
  {
    name: "originating plain TCP/MSRP from a registered UE: no e2ae (needs TLS + requested)",
    body: MSRP_PLAIN_OFFER,
    direction: "originating",
    caps: ["msrp-tls"],
    action: "forward",
    decisions: ["none", "none"],
  },
  {
    name: "requested on a non-TLS proto is ignored with a warning",
    body: MSRP_PLAIN_OFFER.replace("a=connection:new\r\n", "a=connection:new\r\na=3ge2ae:requested\r\n"),
    direction: "originating",
    caps: ["msrp-tls"],
    action: "forward",
    decisions: ["none", "none"],
    mediaWarning: /requested on TCP\/MSRP \(no TLS\/DTLS\) ignored/,
  },
  {
    name: "3ge2ae:requested from the core is not the served UE's request",
    body: MSRP_TLS_OFFER,
    direction: "terminating",
    caps: ["msrp-tls"],
    action: "forward",
    decisions: ["e2e"],
    mediaWarning: /not a request of the served UE/,
  },
  {
    name: "DC requested + dc-dtls registered: e2ae (TS 33.328 §7.2.5 step 2 → §7.2.1)",
    body: dcWith("a=3ge2ae:requested"),
    direction: "originating",
    caps: ["dc-dtls"],
    action: "anchor",
    decisions: ["none", "e2ae", "e2e"],
    clause: "TS 33.328 §7.2.5 step 2; TS 33.328 §7.2.1",
  },
  {
    name: "DC requested, capability not registered: e2e",
    body: dcWith("a=3ge2ae:requested"),
    direction: "originating",
    caps: ["msrp-tls"],
    action: "forward",
    decisions: ["none", "e2e", "e2e"],
  },
  {
    name: "DC requested with a configured DC mechanism name",
    body: dcWith("a=3ge2ae:requested"),
    direction: "originating",
    caps: ["x-dc-e2ae"],
    config: { dcE2aeMechanism: "x-dc-e2ae" },
    action: "anchor",
    decisions: ["none", "e2ae", "e2e"],
  },
  {
    name: "unknown 3ge2ae value ignored (TS 24.229 §7.5.2.1)",
    body: dcWith("a=3ge2ae:x-future-scope"),
    direction: "originating",
    caps: ["dc-dtls"],
    action: "forward",
    decisions: ["none", "e2e", "e2e"],
    mediaWarning: /"x-future-scope" ignored \(TS 24\.229 §7\.5\.2\.1/,
  },
  {
    name: "e2DCe default mapping (a=3ge2ae:e2dce-requested), default action: 488 e2DCe not available",
    body: dcWith("a=3ge2ae:e2dce-requested"),
    direction: "originating",
    action: "refuse",
    decisions: ["none", "refuse", "e2e"],
    warning: /^399 pcscf\.invalid "e2DCe not available \(m-line 1\)"$/,
  },
  {
    name: "e2DCe with action forward",
    body: dcWith("a=3ge2ae:e2dce-requested"),
    direction: "originating",
    config: { e2dce: { attribute: "3ge2ae", values: ["e2dce-requested"], action: "forward" } },
    action: "forward",
    decisions: ["none", "e2dce", "e2e"],
  },
  {
    name: "e2DCe with action anchor",
    body: dcWith("a=3ge2ae:e2dce-requested"),
    direction: "originating",
    config: { e2dce: { attribute: "3ge2ae", values: ["e2dce-requested"], action: "anchor" } },
    action: "anchor",
    decisions: ["none", "e2dce", "e2e"],
  },
  {
    name: "custom e2DCe mapping a=3ge2dce:requested",
    body: dcWith("a=3ge2dce:requested"),
    direction: "originating",
    config: { e2dce: { attribute: "3ge2dce", values: ["requested"], action: "reject-488" } },
    action: "refuse",
    decisions: ["none", "refuse", "e2e"],
    warning: /"e2DCe not available \(m-line 1\)"/,
  },
  {
    name: "custom mapping: the default token is then an unknown 3ge2ae value (ignored)",
    body: dcWith("a=3ge2ae:e2dce-requested"),
    direction: "originating",
    config: { e2dce: { attribute: "3ge2dce", values: ["requested"], action: "reject-488" } },
    action: "forward",
    decisions: ["none", "e2e", "e2e"],
    mediaWarning: /ignored/,
  },
  {
    name: "custom mapping with empty values: any a=3ge2dce",
    body: dcWith("a=3ge2dce"),
    direction: "originating",
    config: { e2dce: { attribute: "3ge2dce", values: [], action: "reject-488" } },
    action: "refuse",
    decisions: ["none", "refuse", "e2e"],
  },
  {
    name: "default mapping: a=3ge2dce:requested is an unknown attribute (e2e)",
    body: dcWith("a=3ge2dce:requested"),
    direction: "originating",
    action: "forward",
    decisions: ["none", "e2e", "e2e"],
  },
  {
    name: "e2DCe indication on a non-DC m-line is ignored",
    body: MSRP_TLS_OFFER.replace("a=3ge2ae:requested", "a=3ge2ae:e2dce-requested"),
    direction: "originating",
    caps: ["msrp-tls"],
    action: "forward",
    decisions: ["e2e"],
    mediaWarning: /non data channel/,
  },
  {
    name: "e2DCe indication from the core is not acted upon",
    body: dcWith("a=3ge2ae:e2dce-requested"),
    direction: "terminating",
    action: "forward",
    decisions: ["none", "e2e", "e2e"],
  },
  {
    name: "a malformed fingerprint on a plain audio m-line is not our business",
    body: DC_OFFER.replace("a=ptime:20\r\n", "a=ptime:20\r\na=fingerprint:sha-256 ZZ\r\n"),
    direction: "originating",
    action: "forward",
    decisions: ["none", "e2e", "e2e"],
  },
  {
    name: "a session-level 3ge2ae is ignored",
    body: DC_OFFER.replace("t=0 0\r\n", "t=0 0\r\na=3ge2ae:requested\r\n"),
    direction: "originating",
    caps: ["dc-dtls"],
    action: "forward",
    decisions: ["none", "e2e", "e2e"],
  },
  {
    name: "rejected DC m-line (port 0) with requested: none",
    body: dcWith("a=3ge2ae:requested").replace("m=application 52718", "m=application 0"),
    direction: "originating",
    caps: ["dc-dtls"],
    action: "forward",
    decisions: ["none", "none", "e2e"],
  },
];

describe("decideSdp decision table", () => {
  for (const r of ROWS) {
    it(r.name, () => {
      const d = decideSdp(r.body, ctx(r.direction, r.kind ?? "offer", { caps: r.caps ?? [], config: r.config ?? {} }));
      expect(summary(d)).toEqual({
        action: r.action,
        decisions: r.decisions,
        status: r.action === "refuse" ? 488 : undefined,
      });
      expect(d.forwardUnchanged).toBe(r.action === "forward");
      if (r.action === "refuse") expect(d.refuse?.reason).toBe("Not Acceptable Here");
      if (r.warning) expect(d.refuse?.warning).toMatch(r.warning);
      if (r.clause) expect(d.perMedia.map((p) => p.clause)).toContain(r.clause);
      if (r.mediaWarning) expect(d.perMedia.flatMap((p) => p.warnings).join("\n")).toMatch(r.mediaWarning);
    });
  }

  it("reports indications, mechanism and registration per m-line", () => {
    const d = decideSdp(MSRP_TLS_OFFER, ctx("originating", "offer", { caps: ["MSRP-TLS"] }));
    expect(d.perMedia[0]).toMatchObject({
      mline: 0,
      media: "message",
      proto: "TCP/TLS/MSRP",
      port: 7654,
      family: "msrp",
      indications: ["3ge2ae:requested"],
      indication: "e2ae-requested",
      mechanism: "msrp-tls",
      registeredCapability: true,
      decision: "e2ae",
      step: "originating-offer",
    });
    expect(d.anchors).toEqual({ e2ae: [0], e2dce: [] });
    const rcs = decideSdp(
      MSRP_TLS_OFFER.replace("a=3ge2ae:requested\r\n", ""),
      ctx("originating", "offer", { config: { rcsTerminateAllMsrpTls: true } }),
    );
    expect(rcs.perMedia[0]?.rcsPolicy).toBe(true);
    expect(rcs.perMedia[0]?.registeredCapability).toBe(false);
  });

  it("maps direction and kind to the rewrite step", () => {
    expect(e2aeStepFor("originating", "offer")).toBe("originating-offer");
    expect(e2aeStepFor("terminating", "answer")).toBe("terminating-answer");
  });
});

describe("malformed security attributes on guarded m-lines → 488 with the finding code", () => {
  const cases: Array<[string, string, string]> = [
    ["E_FP_SYNTAX", "bad fingerprint hex", dcWith("a=fingerprint:sha-256 4A:AD:ZZ")],
    ["E_FP_HASH_LEN", "short sha-256", dcWith("a=fingerprint:sha-256 4A:AD")],
    ["E_FP_WEAK_HASH", "md5 fingerprint", dcWith("a=fingerprint:md5 4A:AD:B9:B1:3F:82:18:3B:54:02:12:DF:3E:5D:49:6B")],
    ["E_TLSID_SYNTAX", "tls-id too short", DC_OFFER.replace("a=tls-id:Xk3v9qT7LmP2sR8wZa1bC4dE", "a=tls-id:short")],
    ["E_TLSID_DUPLICATE", "two tls-id", dcWith("a=tls-id:AAAAAAAAAAAAAAAAAAAAAAAA")],
    ["E_SETUP_VALUE", "unknown setup role", DC_OFFER.replace("a=setup:actpass", "a=setup:sideways")],
    ["E_SETUP_OFFER_NOT_ACTPASS", "DTLS offer not actpass", DC_OFFER.replace("a=setup:actpass", "a=setup:passive")],
    ["E_SETUP_HOLDCONN_DTLS", "holdconn on DTLS", DC_OFFER.replace("a=setup:actpass", "a=setup:holdconn")],
    ["E_ATTR_DUPLICATE", "two a=setup", dcWith("a=setup:actpass")],
    ["E_3GE2AE_SYNTAX", "3ge2ae not a token", dcWith("a=3ge2ae:req(uested)")],
    ["E_FP_MISSING", "DC without fingerprint", DC_OFFER.replace(/a=fingerprint:[^\r]*\r\n/, "")],
  ];
  for (const [code, what, body] of cases) {
    it(`${what}: ${code}`, () => {
      const d = decideSdp(body, ctx("originating", "offer", { caps: ["dc-dtls"] }));
      expect(d.action).toBe("refuse");
      expect(d.refuse?.status).toBe(488);
      expect(d.refuse?.codes).toEqual([code]);
      expect(d.refuse?.warning).toMatch(new RegExp(`^399 pcscf\\.invalid "${code}: .*\\(m-line 1\\)"$`));
      expect(d.perMedia[1]?.decision).toBe("refuse");
      expect(d.perMedia[1]?.refuseCode).toBe(code);
      // with the IMS-ALG switched off the same body is forwarded untouched (TS 33.328 §7.2.5 NOTE 2)
      const off = decideSdp(body, ctx("originating", "offer", { config: { imsAlg: false } }));
      expect(off.action).toBe("forward");
      expect(off.forwardUnchanged).toBe(true);
      expect(applyDecision(body, off, {}, algConfig()).body).toBe(body);
    });
  }

  it("the only fingerprint of a DC m-line malformed: the syntax code, not E_FP_MISSING", () => {
    const body = DC_OFFER.replace(/a=fingerprint:sha-256 (\S+)/, "a=fingerprint:sha-256 zz:$1");
    const d = decideSdp(body, ctx("originating", "offer"));
    expect(d.refuse?.codes).toEqual(["E_FP_SYNTAX"]);
  });

  it("a malformed fingerprint on TLS MSRP is refused too (even e2e)", () => {
    const body = MSRP_TLS_OFFER.replace(/a=fingerprint:SHA-256 9C:08/, "a=fingerprint:SHA-256 9C:0");
    const d = decideSdp(body, ctx("originating", "offer"));
    expect(d.refuse?.codes).toEqual(["E_FP_SYNTAX"]);
  });

  it("a malformed session-level fingerprint that applies to the DC m-line is refused", () => {
    const body = DC_OFFER.replace(/a=fingerprint:[^\r]*\r\n/g, "").replace(
      "t=0 0\r\n",
      `t=0 0\r\na=fingerprint:sha-256 ${FP_A}\r\na=fingerprint:sha-256 12:XY\r\n`,
    );
    const d = decideSdp(body, ctx("originating", "offer"));
    expect(d.action).toBe("refuse");
    expect(d.refuse?.codes).toEqual(["E_FP_SYNTAX", "E_FP_SYNTAX"]);
    expect(d.refuse?.warning.split('", 399 ').length).toBe(2);
  });

  it("a DC answer with setup:actpass is refused (RFC 5763 §5)", () => {
    const offer = decideSdp(DC_OFFER, ctx("originating", "offer"));
    const ans = DC_ANSWER.replace("a=setup:active", "a=setup:actpass");
    const d = decideSdp(ans, ctx("originating", "answer", { offer }));
    expect(d.refuse?.codes).toEqual(["E_SETUP_ANSWER_ROLE"]);
  });

  it("escapes quotes and non-ASCII in the Warning text (RFC 3261 §20.43 quoted-string)", () => {
    const d = decideSdp(
      dcWith('a=fingerprint:sha-256 "\u00e9\\'),
      ctx("originating", "offer", { config: { warnAgent: "pcscf.lab.example:5060" } }),
    );
    const w = d.refuse?.warning ?? "";
    expect(w.startsWith('399 pcscf.lab.example:5060 "E_FP_SYNTAX: ')).toBe(true);
    expect(w).toMatch(/^[\x20-\x7e]+$/);
    // the inner text has only escaped quotes
    const inner = w.slice(w.indexOf('"') + 1, -1);
    expect(inner.replace(/\\["\\]/g, "")).not.toMatch(/["\\]/);
  });

  it("refuses bodies that cannot be read reliably (control characters, too large)", () => {
    const withNul = DC_OFFER.replace("s=-", "s=-\u0000");
    const d1 = decideSdp(withNul, ctx("originating", "offer"));
    expect(d1.action).toBe("refuse");
    expect(d1.refuse?.codes).toEqual(["E_SDP_BINARY"]);
    const loneCr = DC_OFFER.replace("a=sctp-port:5000\r\n", "a=sctp-port:5000\ra=fingerprint:sha-256 00\r\n");
    expect(decideSdp(loneCr, ctx("originating", "offer")).refuse?.codes).toEqual(["E_SDP_BINARY"]);
    const big = `${DC_OFFER}a=x:${"y".repeat(70000)}\r\n`;
    const d2 = decideSdp(big, ctx("originating", "offer"));
    expect(d2.refuse?.codes).toEqual(["E_SDP_TOO_LARGE"]);
    expect(d2.perMedia).toEqual([]);
    for (const b of [withNul, big]) {
      const off = decideSdp(b, ctx("originating", "offer", { config: { imsAlg: false } }));
      expect(off.action).toBe("forward");
    }
  });

  it("refuses a malformed m= line that carries security attributes, forwards one that does not", () => {
    const bad = DC_OFFER.replace("m=application 52720 UDP/DTLS/SCTP webrtc-datachannel", "m=application x");
    const d = decideSdp(bad, ctx("originating", "offer"));
    expect(d.refuse?.codes).toEqual(["E_SDP_MLINE"]);
    const plain =
      "v=0\r\no=- 1 1 IN IP4 192.0.2.1\r\ns=-\r\nc=IN IP4 192.0.2.1\r\nt=0 0\r\nm=audio x\r\na=sendrecv\r\n";
    expect(decideSdp(plain, ctx("originating", "offer")).action).toBe("forward");
  });
});

describe("imsAlg: false (TS 33.328 §7.2.5 NOTE 2)", () => {
  it("forwards everything untouched, e2ae requests and e2DCe indications included", () => {
    for (const body of [MSRP_TLS_OFFER, dcWith("a=3ge2ae:e2dce-requested"), "garbage\u0000\r\n", ""]) {
      const d = decideSdp(body, ctx("originating", "offer", { caps: ["msrp-tls"], config: { imsAlg: false } }));
      expect(d.action).toBe("forward");
      expect(d.clause).toBe("TS 33.328 §7.2.5 NOTE 2");
      expect(d.perMedia.every((p) => p.decision === "e2e" || p.decision === "none")).toBe(true);
      const out = applyDecision(body, d, {}, algConfig()).body;
      expect(sha256Hex(out)).toBe(sha256Hex(body));
    }
  });
});

describe("answers follow the offer's decision", () => {
  it("e2e answer (LF-only) forwarded unchanged", () => {
    const offer = decideSdp(DC_OFFER, ctx("originating", "offer"));
    const d = decideSdp(DC_ANSWER, ctx("originating", "answer", { offer }));
    expect(summary(d)).toEqual({ action: "forward", decisions: ["none", "e2e", "e2e"], status: undefined });
    expect(d.perMedia[1]?.clause).toBe("TS 33.328 §7.2.5 step 5");
  });

  it("e2ae offer → the answer is e2ae with the answer step", () => {
    const offer = decideSdp(fixture("msrp-orig-offer.in.sdp"), ctx("originating", "offer", { caps: ["msrp-tls"] }));
    const d = decideSdp(fixture("msrp-orig-answer.in.sdp"), ctx("originating", "answer", { offer }));
    expect(d.action).toBe("anchor");
    expect(d.perMedia[1]).toMatchObject({
      decision: "e2ae",
      step: "originating-answer",
      clause: "TR 29.828 §5.2.1.2.2 step 19",
      requestedInOffer: true,
    });
  });

  it("terminating answer from the UE: its fingerprint is validated (malformed → 488)", () => {
    const offer = decideSdp(MSRP_PLAIN_OFFER, ctx("terminating", "offer", { caps: ["msrp-tls"] }));
    const good = decideSdp(fixture("msrp-term-answer.in.sdp"), ctx("terminating", "answer", { offer }));
    expect(good.perMedia[0]).toMatchObject({ decision: "e2ae", step: "terminating-answer" });
    const noFp = fixture("msrp-term-answer.in.sdp").replace(/a=fingerprint:[^\r]*\r\n/, "");
    const bad = decideSdp(noFp, ctx("terminating", "answer", { offer }));
    expect(bad.refuse?.codes).toEqual(["E_FP_MISSING"]);
  });

  it("an e2ae stream rejected by the answer stays e2ae (AGW released, proto restored)", () => {
    const offer = decideSdp(fixture("msrp-orig-offer.in.sdp"), ctx("originating", "offer", { caps: ["msrp-tls"] }));
    const ans = fixture("msrp-orig-answer.in.sdp").replace("m=message 9 TCP/MSRP", "m=message 0 TCP/MSRP");
    const d = decideSdp(ans, ctx("originating", "answer", { offer }));
    expect(d.perMedia[1]).toMatchObject({ decision: "e2ae", reason: expect.stringMatching(/rejected/) });
  });

  it("an answer without the offer's decision is forwarded with a warning", () => {
    const d = decideSdp(fixture("msrp-orig-answer.in.sdp"), ctx("originating", "answer"));
    expect(d.action).toBe("forward");
    expect(d.warnings.join()).toMatch(/without the offer's decision/);
  });

  it("an e2DCe-forwarded offer's answer is e2dce and forwarded", () => {
    const config: Partial<AlgConfig> = {
      e2dce: { attribute: "3ge2ae", values: ["e2dce-requested"], action: "forward" },
    };
    const offer = decideSdp(dcWith("a=3ge2ae:e2dce-requested"), ctx("originating", "offer", { config }));
    const d = decideSdp(DC_ANSWER, ctx("originating", "answer", { offer, config }));
    expect(summary(d)).toEqual({ action: "forward", decisions: ["none", "e2dce", "e2e"], status: undefined });
  });
});

// ---- e2e byte identity ------------------------------------------------------------------------------------------

const ODD_BODIES: Array<[string, string]> = [
  ["CRLF DC offer", DC_OFFER],
  ["LF-only answer", DC_ANSWER],
  [
    "trailing spaces",
    DC_OFFER.replace("s=-\r\n", "s=- \r\n").replace("a=sctp-port:5000\r\n", "a=sctp-port:5000  \r\n"),
  ],
  ["unknown attributes", DC_OFFER.replace("b=AS:500\r\n", 'b=AS:500\r\na=x-vendor:{"k":1}\r\na=foo\r\n')],
  [
    "session-level attributes",
    DC_OFFER.replace("t=0 0\r\n", `t=0 0\r\na=group:BUNDLE 1 2\r\na=ice-options:trickle\r\na=x-session:1\r\n`),
  ],
  ["no final line ending", DC_OFFER.slice(0, -2)],
  ["mixed line endings", DC_OFFER.replace("s=-\r\n", "s=-\n")],
  ["latin1 bytes in s=", DC_OFFER.replace("s=-", "s=caf\u00e9 \u00ff")],
  ["blank line", DC_OFFER.replace("t=0 0\r\n", "t=0 0\r\n\r\n")],
];

describe("e2e: the body leaves byte for byte (SHA-256 in == out)", () => {
  for (const [name, body] of ODD_BODIES) {
    it(name, () => {
      const isAnswer = /a=setup:active/.test(body);
      const offer = decideSdp(DC_OFFER, ctx("originating", "offer"));
      const d = isAnswer
        ? decideSdp(body, ctx("originating", "answer", { offer }))
        : decideSdp(body, ctx("originating", "offer", { caps: ["dc-dtls", "msrp-tls"] }));
      expect(d.action).toBe("forward");
      expect(d.forwardUnchanged).toBe(true);
      const out = applyDecision(body, d, {}, algConfig()).body;
      expect(out).toBe(body);
      const ev = auditEvents(d, { bodyIn: body, bodyOut: out });
      expect(ev.every((e) => e.sha256In === e.sha256Out && e.bodyUnchanged === true)).toBe(true);
    });
  }

  it("bytes in, bytes out (Uint8Array with high bytes)", () => {
    const bytes = bodyBytes(DC_OFFER.replace("s=-", "s=\u00c4\u00d6"));
    const d = decideSdp(bytes, ctx("originating", "offer"));
    const out = bodyBytes(applyDecision(bytes, d, {}, algConfig()).body);
    expect(Buffer.from(out).equals(Buffer.from(bytes))).toBe(true);
    expect(auditEvents(d, { bodyIn: bytes, bodyOut: out })[0]?.sha256In).toBe(sha256Hex(bytes));
  });

  it("property: bodies without indications are forwarded unchanged", () => {
    const attr = fc.constantFrom(
      "a=sendrecv",
      "a=x-foo:bar",
      "a=rtpmap:0 PCMU/8000",
      "a=mid:1",
      `a=fingerprint:sha-256 ${FP_A}`,
      "a=setup:actpass",
      "a=sctp-port:5000",
    );
    const mline = fc.constantFrom(
      "m=audio 49170 RTP/AVP 0",
      "m=application 5000 UDP/DTLS/SCTP webrtc-datachannel",
      "m=video 0 RTP/AVP 31",
      "m=message 7000 TCP/TLS/MSRP *",
    );
    const eol = fc.constantFrom("\r\n", "\n");
    fc.assert(
      fc.property(fc.array(fc.tuple(mline, fc.array(attr, { maxLength: 5 })), { maxLength: 4 }), eol, (secs, e) => {
        const lines = ["v=0", "o=- 1 1 IN IP4 192.0.2.1", "s= x ", "c=IN IP4 192.0.2.1", "t=0 0"];
        for (const [m, attrs] of secs) lines.push(m, ...attrs);
        const body = lines.join(e) + e;
        const d = decideSdp(body, ctx("originating", "offer", { caps: ["msrp-tls", "dc-dtls"] }));
        if (d.action === "refuse") return; // a generated section may be invalid (e.g. duplicate setup)
        expect(d.action).toBe("forward");
        expect(sha256Hex(applyDecision(body, d, {}, algConfig()).body)).toBe(sha256Hex(body));
      }),
      { numRuns: 200 },
    );
  });
});

// ---- audit --------------------------------------------------------------------------------------------------------

describe("auditEvents", () => {
  it("one JSON event per m-line with the documented fields", () => {
    const body = fixture("msrp-orig-offer.in.sdp");
    const d = decideSdp(body, ctx("originating", "offer", { caps: ["msrp-tls"] }));
    const out = applyDecision(body, d, { 1: { address: "10.0.0.1", port: 40000 } }, algConfig()).body;
    const ev = auditEvents(d, { bodyIn: body, bodyOut: out });
    expect(ev).toHaveLength(2);
    expect(JSON.parse(JSON.stringify(ev))).toEqual(ev);
    expect(ev[1]).toEqual({
      node: "pcscf",
      event: "ims-alg-decision",
      callId: "call-1@test",
      direction: "originating",
      kind: "offer",
      action: "anchor",
      sha256In: sha256Hex(body),
      sha256Out: sha256Hex(out),
      bodyUnchanged: false,
      decision: "e2ae",
      clause: "TR 29.828 §5.2.1.2.2 step 1",
      mline: 1,
      media: "message",
      proto: "TCP/TLS/MSRP",
      indications: ["3ge2ae:requested"],
      indication: "e2ae-requested",
      mechanism: "msrp-tls",
      registeredCapability: true,
      step: "originating-offer",
      reason: expect.any(String),
      warnings: [],
      findings: [],
    });
    expect(ev[0]).toMatchObject({ mline: 0, decision: "none", mechanism: null, registeredCapability: false });
    expect(sha256Hex(body)).toMatch(/^[0-9a-f]{64}$/);
  });

  it("a refusal has no body out; a body-level refusal gives one event with mline null", () => {
    const d = decideSdp(dcWith("a=fingerprint:sha-256 00"), ctx("originating", "offer"));
    const ev = auditEvents(d, { bodyIn: DC_OFFER, callId: "other-call" });
    expect(ev).toHaveLength(3);
    expect(ev[1]).toMatchObject({
      decision: "refuse",
      refuseCode: "E_FP_HASH_LEN",
      sha256Out: null,
      bodyUnchanged: false,
      status: 488,
      callId: "other-call",
      findings: expect.arrayContaining(["E_FP_HASH_LEN"]),
    });
    const big = decideSdp(`v=0\r\n${"a".repeat(70000)}`, ctx("originating", "offer"));
    const ev2 = auditEvents(big, { bodyIn: "x", bodyOut: null });
    expect(ev2).toEqual([
      expect.objectContaining({ mline: null, decision: "refuse", clause: "imsdc limit", sha256Out: null }),
    ]);
  });
});
