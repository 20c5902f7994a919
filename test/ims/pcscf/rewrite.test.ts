import fc from "fast-check";
import { describe, expect, it } from "vitest";
import { isImsdcError } from "../../../src/errors.ts";
import {
  algConfig,
  applyDecision,
  decideSdp,
  extractIqMedia,
  legForStep,
  rewriteE2ae,
} from "../../../src/ims/pcscf/index.ts";
import { splitSections, validateAnswer, validateOffer } from "../../../src/sdp/index.ts";
import { AGW_FP, ctx, decideGolden, FP_A, fixture, GOLDEN, sdpFixture } from "./helpers.ts";

describe("golden e2ae rewrites (exact bytes, CRLF preserved)", () => {
  for (const g of GOLDEN) {
    it(`${g.name}`, () => {
      const input = fixture(`${g.name}.in.sdp`);
      const expected = fixture(`${g.name}.out.sdp`);
      const d = decideGolden(g);
      expect(d.action).toBe("anchor");
      expect(d.anchors.e2ae).toEqual([g.mline]);
      const r = applyDecision(input, d, new Map([[g.mline, g.agw]]), algConfig());
      expect(r.problems).toEqual([]);
      expect(r.ok).toBe(true);
      expect(r.body).toBe(expected);
      expect(r.body.replace(/\r\n/g, "")).not.toContain("\n");
      // every other section byte-identical
      const a = splitSections(input);
      const b = splitSections(r.body);
      expect(b.session.text).toBe(a.session.text);
      a.media.forEach((m, i) => {
        if (i !== g.mline) expect(b.media[i]?.text).toBe(m.text);
      });
      const change = r.changes[0];
      expect(r.changes).toHaveLength(1);
      expect(change?.step).toBe(`${g.direction}-${g.kind}`);
      expect(change?.leg).toBe(legForStep(`${g.direction}-${g.kind}`));
      expect(change?.clause).toMatch(/^TR 29\.828 §5\.2\.1\.[23]\.[23] step (8|17|19)$/);
    });
  }

  it("the step tables: proto, fingerprint, 3ge2ae, address per step", () => {
    const out = (n: string) => fixture(`${n}.out.sdp`);
    // originating offer (step 8): TCP/MSRP, no fingerprint, no 3ge2ae, AGW core address
    expect(out("msrp-orig-offer")).toContain("m=message 40000 TCP/MSRP *\r\nc=IN IP4 10.0.0.1\r\n");
    expect(out("msrp-orig-offer")).not.toMatch(/a=fingerprint|a=3ge2ae/);
    // originating answer (step 19): TLS, AGW fingerprint, no applied by default
    expect(out("msrp-orig-answer")).toContain("m=message 41000 TCP/TLS/MSRP *\r\nc=IN IP4 192.0.2.1\r\n");
    expect(out("msrp-orig-answer")).toContain(`a=fingerprint:sha-256 ${AGW_FP.value}\r\n`);
    expect(out("msrp-orig-answer")).not.toContain("a=3ge2ae");
    // terminating offer (step 8): TLS, applied, AGW fingerprint, AGW access address
    expect(out("msrp-term-offer")).toContain(`a=fingerprint:sha-256 ${AGW_FP.value}\r\na=3ge2ae:applied\r\n`);
    // terminating answer (step 17): TCP/MSRP, the UE fingerprint removed
    expect(out("msrp-term-answer")).toContain("m=message 40000 TCP/MSRP *\r\nc=IN IP4 10.0.0.1\r\n");
    expect(out("msrp-term-answer")).not.toContain("a=fingerprint");
    expect(out("bfcp-term-offer")).toContain("c=IN IP6 2001:db8:a::1\r\n");
    expect(out("bfcp-orig-offer")).toContain("m=application 40004 TCP/BFCP *\r\n");
  });

  it("every rewritten body is valid SDP and fits its offer/answer counterpart", () => {
    const o = (n: string) => fixture(n);
    const errors = (r: { findings: Array<{ severity: string; code: string }> }) =>
      r.findings.filter((f) => f.severity === "error").map((f) => f.code);
    for (const fam of ["msrp", "bfcp"]) {
      // originating: the UE sees offer.in + answer.out, the core sees offer.out + answer.in
      expect(errors(validateOffer(o(`${fam}-orig-offer.out.sdp`)))).toEqual([]);
      expect(errors(validateAnswer(o(`${fam}-orig-offer.in.sdp`), o(`${fam}-orig-answer.out.sdp`)))).toEqual([]);
      expect(errors(validateAnswer(o(`${fam}-orig-offer.out.sdp`), o(`${fam}-orig-answer.in.sdp`)))).toEqual([]);
      // terminating: the core sees offer.in + answer.out, the UE sees offer.out + answer.in
      expect(errors(validateOffer(o(`${fam}-term-offer.out.sdp`)))).toEqual([]);
      expect(errors(validateAnswer(o(`${fam}-term-offer.in.sdp`), o(`${fam}-term-answer.out.sdp`)))).toEqual([]);
      expect(errors(validateAnswer(o(`${fam}-term-offer.out.sdp`), o(`${fam}-term-answer.in.sdp`)))).toEqual([]);
    }
  });

  it("describes the a=path and a=setup handling", () => {
    const g = GOLDEN.find((x) => x.name === "msrp-orig-answer");
    if (!g) throw new Error("fixture");
    const r = applyDecision(fixture("msrp-orig-answer.in.sdp"), decideGolden(g), { 1: g.agw }, algConfig());
    expect(r.changes[0]).toMatchObject({
      path: {
        from: "a=path:msrp://198.51.100.7:9/kjhd37s2s20w2a;tcp",
        to: "a=path:msrps://192.0.2.1:41000/kjhd37s2s20w2a;tcp",
      },
      setup: { value: "active", agwTcpRole: "active", agwTlsRole: "client" },
      proto: { from: "TCP/MSRP", to: "TCP/TLS/MSRP" },
      port: { from: 9, to: 41000 },
      connection: { from: null, to: "IN IP4 192.0.2.1" },
      inserted: [`a=fingerprint:sha-256 ${AGW_FP.value}`],
      removed: [],
    });
  });
});

describe("rewrite options and edge cases", () => {
  const offerIn = fixture("msrp-orig-offer.in.sdp");
  const answerIn = fixture("msrp-orig-answer.in.sdp");
  const access = { address: "192.0.2.1", port: 41000, fingerprints: [AGW_FP] };

  it("appliedInAnswer adds a=3ge2ae:applied only when the offer requested e2ae", () => {
    const config = { appliedInAnswer: true };
    const offer = decideSdp(offerIn, ctx("originating", "offer", { caps: ["msrp-tls"], config }));
    const ans = decideSdp(answerIn, ctx("originating", "answer", { offer, config }));
    const r = applyDecision(answerIn, ans, { 1: access }, algConfig(config));
    expect(r.body).toContain("a=3ge2ae:applied\r\n");
    // RCS policy (no requested): no applied even with the flag
    const rcsCfg = { appliedInAnswer: true, rcsTerminateAllMsrpTls: true };
    const rcsOfferBody = offerIn.replace("a=3ge2ae:requested\r\n", "");
    const rcsOffer = decideSdp(rcsOfferBody, ctx("originating", "offer", { config: rcsCfg }));
    expect(rcsOffer.perMedia[1]?.decision).toBe("e2ae");
    const rcsAns = decideSdp(answerIn, ctx("originating", "answer", { offer: rcsOffer, config: rcsCfg }));
    expect(applyDecision(answerIn, rcsAns, { 1: access }, algConfig(rcsCfg)).body).not.toContain("3ge2ae");
  });

  it("msrpPath keep leaves a=path untouched (RFC 6714 CEMA endpoints)", () => {
    const r = rewriteE2ae(offerIn, "originating-offer", [{ mline: 1, agw: { address: "10.0.0.1", port: 40000 } }], {
      msrpPath: "keep",
    });
    expect(r.body).toContain("a=path:msrps://192.0.2.10:7654/jshA7we;tcp\r\n");
    expect(r.changes[0]?.path).toBeUndefined();
  });

  it("IPv6 AGW addresses are bracketed in the MSRP URI and the path keeps relays and the session-id", () => {
    const body = offerIn.replace(
      "a=path:msrps://192.0.2.10:7654/jshA7we;tcp",
      "a=path:msrps://relay.example.net:2855/r1;tcp msrps://192.0.2.10:7654/jshA7we;tcp;x=1",
    );
    const r = rewriteE2ae(body, "originating-offer", [{ mline: 1, agw: { address: "2001:db8:c::1", port: 40000 } }]);
    expect(r.body).toContain(
      "a=path:msrps://relay.example.net:2855/r1;tcp msrp://[2001:db8:c::1]:40000/jshA7we;tcp;x=1\r\n",
    );
    expect(r.body).toContain("c=IN IP6 2001:db8:c::1\r\n");
  });

  it("LF-only bodies get LF-terminated inserted lines", () => {
    const lf = answerIn.replace(/\r\n/g, "\n");
    const r = rewriteE2ae(lf, "originating-answer", [{ mline: 1, agw: access }]);
    expect(r.body).not.toContain("\r");
    expect(r.body).toContain(`c=IN IP4 192.0.2.1\n`);
    expect(r.body.endsWith(`a=fingerprint:sha-256 ${AGW_FP.value}\n`)).toBe(true);
  });

  it("a rejected e2ae stream (port 0) only gets its proto restored", () => {
    const rejected = answerIn.replace("m=message 9 TCP/MSRP", "m=message 0 TCP/MSRP");
    const offer = decideSdp(offerIn, ctx("originating", "offer", { caps: ["msrp-tls"] }));
    const d = decideSdp(rejected, ctx("originating", "answer", { offer }));
    const r = applyDecision(rejected, d, {}, algConfig());
    expect(r.ok).toBe(true);
    expect(r.body).toBe(rejected.replace("m=message 0 TCP/MSRP", "m=message 0 TCP/TLS/MSRP"));
    expect(r.changes[0]?.rejected).toBe(true);
  });

  it("bad SDP for the step gives problems, not exceptions", () => {
    const r1 = rewriteE2ae(answerIn, "originating-offer", [{ mline: 1, agw: { address: "10.0.0.1", port: 4 } }]);
    expect(r1.ok).toBe(false);
    expect(r1.problems.map((p) => p.code)).toEqual(["E_REWRITE_PROTO"]);
    expect(r1.body).toBe(answerIn);
    const noPath = offerIn.replace(/a=path:[^\r]*\r\n/, "");
    const r2 = rewriteE2ae(noPath, "originating-offer", [{ mline: 1, agw: { address: "10.0.0.1", port: 4 } }]);
    expect(r2.problems.map((p) => p.code)).toEqual(["E_REWRITE_PATH"]);
    const r3 = rewriteE2ae(offerIn, "originating-offer", [{ mline: 0, agw: { address: "10.0.0.1", port: 4 } }]);
    expect(r3.problems.map((p) => p.code)).toEqual(["E_REWRITE_MLINE"]);
  });

  it("caller contract violations throw PcscfError E_REWRITE_ARGS", () => {
    const bad: Array<() => unknown> = [
      () => rewriteE2ae(answerIn, "originating-answer", [{ mline: 1, agw: { address: "192.0.2.1", port: 41000 } }]),
      () => rewriteE2ae(offerIn, "originating-offer", [{ mline: 1, agw: { address: "agw.example", port: 1 } }]),
      () => rewriteE2ae(offerIn, "originating-offer", [{ mline: 1, agw: { address: "10.0.0.1", port: 0 } }]),
      () => rewriteE2ae(offerIn, "originating-offer", [{ mline: 7, agw: { address: "10.0.0.1", port: 1 } }]),
      () => rewriteE2ae(offerIn, "originating-offer", [{ mline: 1 }]),
      () =>
        rewriteE2ae(answerIn, "originating-answer", [
          { mline: 1, agw: { address: "192.0.2.1", port: 1, fingerprints: [{ hash: "sha-256", value: "AB" }] } },
        ]),
      () => {
        const d = decideSdp(
          offerIn,
          ctx("originating", "offer", { caps: ["msrp-tls"], config: { e2aeAvailable: false } }),
        );
        return applyDecision(offerIn, d, {}, algConfig());
      },
    ];
    for (const f of bad) {
      expect(f).toThrow();
      try {
        f();
      } catch (e) {
        expect(isImsdcError(e, "E_REWRITE_ARGS")).toBe(true);
      }
    }
  });
});

describe("data channel e2ae rewrite (PROVISIONAL: DTLS terminated on both legs)", () => {
  const dcOffer = sdpFixture("dcmtsi-offer.sdp").replace(
    "a=setup:actpass\r\na=tls-id:Xk3v9qT7LmP2sR8wZa1bC4dE\r\n",
    "a=setup:actpass\r\na=tls-id:Xk3v9qT7LmP2sR8wZa1bC4dE\r\na=3ge2ae:requested\r\na=ice-ufrag:abcd\r\na=ice-pwd:abcdefghijklmnopqrstuvwx\r\na=candidate:1 1 UDP 2130706431 2001:db8:1::a 52718 typ host\r\n",
  );
  const coreLeg = { address: "10.0.0.1", port: 40010, fingerprints: [AGW_FP], tlsId: "AGWcoreTlsId0123456789ab" };

  it("originating offer: same proto, AGW fingerprint and tls-id, no 3ge2ae, no ICE", () => {
    const d = decideSdp(dcOffer, ctx("originating", "offer", { caps: ["dc-dtls"] }));
    expect(d.anchors.e2ae).toEqual([1]);
    const r = applyDecision(dcOffer, d, { 1: coreLeg }, algConfig());
    expect(r.ok).toBe(true);
    const sec = splitSections(r.body).media[1]?.text ?? "";
    expect(sec).toBe(
      [
        "m=application 40010 UDP/DTLS/SCTP webrtc-datachannel",
        "c=IN IP4 10.0.0.1",
        "b=AS:500",
        "a=setup:actpass",
        "a=tls-id:AGWcoreTlsId0123456789ab",
        `a=fingerprint:sha-256 ${AGW_FP.value}`,
        "a=sctp-port:5000",
        "a=max-message-size:65536",
        'a=dcmap:0 label="bootstrap";subprotocol="http";ordered=true',
        'a=dcmap:10 label="bootstrap-ext";subprotocol="http";ordered=true',
        "",
      ].join("\r\n"),
    );
    expect(r.changes[0]?.removed).toEqual([
      "a=tls-id:Xk3v9qT7LmP2sR8wZa1bC4dE",
      "a=3ge2ae:requested",
      "a=ice-ufrag:abcd",
      "a=ice-pwd:abcdefghijklmnopqrstuvwx",
      "a=candidate:1 1 UDP 2130706431 2001:db8:1::a 52718 typ host",
      `a=fingerprint:sha-256 ${"4A:AD:B9:B1:3F:82:18:3B:54:02:12:DF:3E:5D:49:6B:19:E5:7C:AB:4A:AD:B9:B1:3F:82:18:3B:54:02:12:DF"}`,
    ]);
    expect(validateOffer(r.body).ok).toBe(true);
  });

  it("a generated tls-id when none is given; none when null", () => {
    const d = decideSdp(dcOffer, ctx("originating", "offer", { caps: ["dc-dtls"] }));
    const gen = applyDecision(dcOffer, d, { 1: { address: "10.0.0.1", port: 1, fingerprints: [AGW_FP] } }, algConfig());
    expect(gen.body).toMatch(/a=tls-id:[A-Za-z0-9+/_-]{32}\r\n/);
    const none = applyDecision(
      dcOffer,
      d,
      { 1: { address: "10.0.0.1", port: 1, fingerprints: [AGW_FP], tlsId: null } },
      algConfig(),
    );
    expect(splitSections(none.body).media[1]?.text).not.toContain("a=tls-id");
  });
});

describe("extractIqMedia (what the Iq procedures need)", () => {
  it("originating offer from the UE: address, port, fingerprint, setup, MSRP session", () => {
    const [, msrp] = extractIqMedia(fixture("msrp-orig-offer.in.sdp"), "offer");
    expect(msrp).toEqual({
      mline: 1,
      family: "msrp",
      media: "message",
      proto: "TCP/TLS/MSRP",
      rejected: false,
      address: "192.0.2.10",
      addrType: "IP4",
      port: 7654,
      fingerprints: [{ hash: "sha-256", value: FP_A }],
      tlsId: null,
      setup: "actpass",
      effectiveSetup: "actpass",
      agwTcpRole: null,
      agwTlsRole: null,
      msrpPath: ["msrps://192.0.2.10:7654/jshA7we;tcp"],
      msrpSessionId: "jshA7we",
    });
  });

  it("RFC 4145 roles: peer active ⇒ AGW passive/server; peer passive ⇒ AGW active/client", () => {
    const ans = extractIqMedia(fixture("msrp-term-answer.in.sdp"), "answer")[0];
    expect(ans).toMatchObject({ setup: "active", agwTcpRole: "passive", agwTlsRole: "server", address: "192.0.2.40" });
    const passive = fixture("msrp-term-answer.in.sdp").replace("a=setup:active", "a=setup:passive");
    expect(extractIqMedia(passive, "answer")[0]).toMatchObject({ agwTcpRole: "active", agwTlsRole: "client" });
    const core = extractIqMedia(fixture("msrp-orig-answer.in.sdp"), "answer")[1];
    expect(core).toMatchObject({ agwTcpRole: "passive", agwTlsRole: null, msrpSessionId: "kjhd37s2s20w2a" });
    // no a=setup: RFC 4145 §4 defaults (offer active, answer passive)
    const noSetup = fixture("msrp-term-offer.in.sdp").replace("a=setup:actpass\r\n", "");
    expect(extractIqMedia(noSetup, "offer")[0]).toMatchObject({
      setup: null,
      effectiveSetup: "active",
      agwTcpRole: "passive",
    });
  });

  it("BFCP terminating: the AGW starts TLS (TR 29.828 §5.2.1.3.3 steps 2-4)", () => {
    const body = fixture("bfcp-term-answer.in.sdp");
    expect(extractIqMedia(body, "answer")[0]?.agwTlsRole).toBe("server");
    expect(extractIqMedia(body, "answer", { step: "terminating-answer" })[0]).toMatchObject({
      agwTlsRole: "client",
      addrType: "IP6",
      address: "2001:db8:a::40",
    });
  });

  it("data channel: tls-id and fingerprints", () => {
    const dc = extractIqMedia(sdpFixture("dcmtsi-offer.sdp"), "offer")[1];
    expect(dc).toMatchObject({ family: "dc", tlsId: "Xk3v9qT7LmP2sR8wZa1bC4dE", agwTcpRole: null, msrpPath: null });
  });
});

describe("property: a rewrite leaves every other m-section byte-identical", () => {
  const line = fc.stringMatching(/^[a-z]=[ -~]{0,30}$/).filter((l) => !l.startsWith("m="));
  const section = fc.tuple(
    fc.constantFrom("m=audio 49170 RTP/AVP 0", "m=video 0 RTP/AVP 31", "m=application 9 UDP/DTLS/SCTP x", "m=x y"),
    fc.array(line, { maxLength: 6 }),
  );
  const msrp = [
    "m=message 7654 TCP/TLS/MSRP *",
    "a=accept-types:text/plain",
    "a=path:msrps://192.0.2.10:7654/abc;tcp",
    "a=setup:actpass",
    `a=fingerprint:sha-256 ${FP_A}`,
    "a=3ge2ae:requested",
  ];
  it("originating-offer on a random MSRP position among random sections", () => {
    fc.assert(
      fc.property(
        fc.array(section, { maxLength: 4 }),
        fc.nat(4),
        fc.constantFrom("\r\n", "\n"),
        fc.array(line, { maxLength: 4 }),
        (others, posRaw, eol, sessionExtra) => {
          const pos = posRaw % (others.length + 1);
          const secs = others.map(([m, ls]) => [m, ...ls]);
          secs.splice(pos, 0, msrp);
          const session = ["v=0", "o=- 1 1 IN IP4 192.0.2.1", "s=-", "c=IN IP4 192.0.2.1", "t=0 0", ...sessionExtra];
          const body = [...session, ...secs.flat()].join(eol) + eol;
          const r = rewriteE2ae(body, "originating-offer", [{ mline: pos, agw: { address: "10.0.0.1", port: 40000 } }]);
          expect(r.ok).toBe(true);
          const a = splitSections(body);
          const b = splitSections(r.body);
          expect(b.session.text).toBe(a.session.text);
          expect(b.media.length).toBe(a.media.length);
          a.media.forEach((m, i) => {
            if (i !== pos) expect(b.media[i]?.text).toBe(m.text);
          });
          const sec = b.media[pos]?.text ?? "";
          expect(sec.startsWith(`m=message 40000 TCP/MSRP *${eol}c=IN IP4 10.0.0.1${eol}`)).toBe(true);
          expect(sec).not.toMatch(/a=fingerprint|a=3ge2ae/);
        },
      ),
      { numRuns: 300 },
    );
  });
});
