/**
 * `imsdc call` through the embedded network (in-process, 127.0.0.1 ephemeral ports): the e2e scenario ends with
 * both fingerprints verified and chat both ways; the tamper scenario fails closed with signalling complete and a BYE;
 * the e2ae scenarios anchor MSRP / BFCP over TLS on the IMS-AGW at both P-CSCFs.
 */
import { describe, expect, it } from "vitest";
import type { CallResult } from "../../src/cli/call.ts";
import { EXIT, main } from "../../src/cli/main.ts";
import { memoryIo } from "./helpers.ts";

async function run(scenario: string): Promise<{ code: number; r: CallResult }> {
  const io = memoryIo();
  const code = await main(["call", "--scenario", scenario, "--json", "--timeout", "20000"], io);
  const lines = io.lines();
  expect(lines).toHaveLength(1);
  return { code, r: JSON.parse(lines[0] ?? "{}") as CallResult };
}

describe("imsdc call", () => {
  it("e2e: offer/answer forwarded unchanged by both P-CSCFs, both verdicts verified, chat both ways", {
    timeout: 30_000,
  }, async () => {
    const { code, r } = await run("e2e");
    expect(r.message).not.toMatch(/ICE|DTLS handshake/);
    expect(code).toBe(EXIT.OK);
    expect(r).toMatchObject({ scenario: "e2e", ok: true, exitCode: 0, outcome: "dc-verified" });
    // the ladder: the INVITE crosses the four hops of Figure 7.2.5-1, then the 200 OK back
    const hops = r.ladder.filter((l) => l.label === "INVITE (SDP offer)").map((l) => `${l.from}>${l.to}`);
    expect(hops).toEqual(["ueA>pcscfA", "pcscfA>scscf", "scscf>pcscfB", "pcscfB>ueB"]);
    const oks = r.ladder.filter((l) => l.label === "200 OK (SDP answer)").map((l) => `${l.from}>${l.to}`);
    expect(oks).toEqual(["ueB>pcscfB", "pcscfB>scscf", "scscf>pcscfA", "pcscfA>ueA"]);
    // TS 33.328 §7.2.5 step 2 (offer) and step 5 (answer): e2e, body unchanged, at both P-CSCFs
    const dc = r.decisions.filter((d) => d.decision === "e2e");
    expect(dc.map((d) => `${d.pcscf}/${String(d.kind)}`).sort()).toEqual([
      "pcscf-a/answer",
      "pcscf-a/offer",
      "pcscf-b/answer",
      "pcscf-b/offer",
    ]);
    for (const d of dc) expect(d.bodyUnchanged).toBe(true);
    expect(r.verdicts.ueA?.verified).toBe(true);
    expect(r.verdicts.ueB?.verified).toBe(true);
    const signalled = r.verdicts.ueA?.signalled as string[] | undefined;
    expect(r.verdicts.ueA?.presented).toBe(signalled?.[0]);
    expect(r.firstMessage.aToB?.text).toBe("hello bob");
    expect(r.firstMessage.bToA?.text).toBe("echo: hello bob");
    for (const k of ["registerMs", "inviteTo200Ms", "dtlsMs", "dcOpenMs", "totalMs"])
      expect(r.timings[k]).toBeGreaterThan(0);
  });

  it("tamper: signalling completes, bob's DTLS refuses the altered fingerprint, no data, BYE", {
    timeout: 30_000,
  }, async () => {
    const { code, r } = await run("tamper");
    expect(code).toBe(EXIT.OK);
    expect(r).toMatchObject({ scenario: "tamper", ok: true, outcome: "fail-closed" });
    expect(r.ladder.some((l) => l.label === "200 OK (SDP answer)" && l.to === "ueA")).toBe(true);
    expect(r.ladder.some((l) => l.label === "ACK" && l.to === "ueB")).toBe(true);
    expect(r.ladder.some((l) => l.label === "BYE")).toBe(true);
    // the P-CSCFs saw a well-formed fingerprint: e2e, forwarded (the refusal is end to end, RFC 8122 §6)
    expect(r.decisions.every((d) => d.decision === "e2e")).toBe(true);
    expect(r.verdicts.ueB?.verified).toBe(false);
    expect(r.verdicts.ueB?.code).toBe("E_FP_MISMATCH");
    expect(r.firstMessage).toEqual({});
  });

  it("human output: the ladder with the columns, the decisions and the verdict line", {
    timeout: 30_000,
  }, async () => {
    const io = memoryIo();
    const code = await main(["call", "--scenario", "e2e", "--timeout", "20000"], io);
    expect(code).toBe(EXIT.OK);
    const out = io.out();
    expect(out).toMatch(/UE A\s+P-CSCF\(A\)\s+S-CSCF\s+P-CSCF\(B\)\s+UE B/);
    expect(out).toContain("INVITE (offer)");
    expect(out).toContain("IMS-ALG offer: e2e (TS 33.328 §7.2.5 step 2)");
    expect(out).toContain("DTLS peer verified");
    expect(out).toMatch(/^PASS e2e: /m);
    expect(io.err()).toContain("· calling sip:bob@ims.example.com");
  });

  for (const [scenario, proto] of [
    ["e2ae-msrp", "MSRP"],
    ["e2ae-bfcp", "BFCP"],
  ] as const) {
    it(`${scenario}: both P-CSCFs anchor ${proto} over TLS on the IMS-AGW, each UE verifies its AGW`, {
      timeout: 30_000,
    }, async () => {
      const { code, r } = await run(scenario);
      expect(code).toBe(EXIT.OK);
      expect(r).toMatchObject({ scenario, ok: true, exitCode: 0, outcome: "e2ae-verified" });
      // TR 29.828 §5.2.1.2/§5.2.1.3: originating and terminating anchoring, offer and answer
      expect(
        r.decisions
          .filter((d) => d.decision === "e2ae")
          .map((d) => `${d.pcscf}/${String(d.kind)}`)
          .sort(),
      ).toEqual(["pcscf-a/answer", "pcscf-a/offer", "pcscf-b/answer", "pcscf-b/offer"]);
      const e2ae = r.e2ae as {
        alice: { verified: boolean; presented: string };
        bob: { verified: boolean; presented: string };
      };
      expect(e2ae.alice.verified).toBe(true);
      expect(e2ae.bob.verified).toBe(true);
      // each UE talks TLS to its own P-CSCF's AGW termination: two different certificates
      expect(e2ae.alice.presented).not.toBe(e2ae.bob.presented);
      // TR 29.828 step 8: each P-CSCF put its AGW's fingerprint in the SDP toward its UE (Iq ok)
      const anchors = r.decisions.filter((d) => d.decision === "e2ae" && d.action === "anchor");
      for (const d of anchors) {
        expect(d.iq).toBe("ok");
        expect(String(d.agwFingerprint)).toMatch(/^sha-256 [0-9A-F]{2}(:[0-9A-F]{2}){31}$/);
      }
      const agwOf = (pcscf: string) => anchors.find((d) => d.pcscf === pcscf)?.agwFingerprint;
      // the core leg is plain TCP: P-CSCF(B) receives TCP/<proto>
      expect(anchors.find((d) => d.pcscf === "pcscf-b" && d.kind === "offer")?.proto).toBe(`TCP/${proto}`);
      // RFC 8122 §6: each UE verified the certificate of the AGW its own P-CSCF signalled
      for (const [ue, pcscf] of [
        ["ueA", "pcscf-a"],
        ["ueB", "pcscf-b"],
      ] as const) {
        const v = r.verdicts[ue];
        expect(v).toMatchObject({ peer: "IMS-AGW", protocol: proto.toLowerCase(), verified: true, agwMatches: true });
        expect(v?.agwFingerprint).toBe(agwOf(pcscf));
        expect(`sha-256 ${String(v?.presented)}`).toBe(agwOf(pcscf));
      }
      // the first exchange through the AGWs, with its method and the answer's status
      if (proto === "MSRP") {
        expect(r.firstMessage.aToB).toMatchObject({ protocol: "msrp", method: "SEND", status: 200, text: "hello bob" });
        expect(r.firstMessage.bToA).toMatchObject({ method: "SEND", status: 200, text: "echo: hello bob" });
      } else {
        expect(r.firstMessage.aToB).toMatchObject({
          protocol: "bfcp",
          method: "FloorRequest",
          response: "FloorRequestStatus",
          status: "Granted",
        });
      }
      expect(r.message).toMatch(/each verified the certificate of the AGW their P-CSCF signalled/);
    });
  }

  it("e2ae-msrp human output: the IMS-ALG anchoring at both P-CSCFs, each UE's AGW verdict, the SEND/200", {
    timeout: 30_000,
  }, async () => {
    const io = memoryIo();
    const code = await main(["call", "--scenario", "e2ae-msrp", "--timeout", "20000"], io);
    expect(code).toBe(EXIT.OK);
    const out = io.out();
    for (const [who, step] of [
      ["P-CSCF(A)", "offer: e2ae → anchored on the IMS-AGW (TCP/TLS/MSRP"],
      ["P-CSCF(B)", "offer: e2ae → anchored on the IMS-AGW (TCP/MSRP"],
      ["P-CSCF(B)", "answer: e2ae → anchored on the IMS-AGW (TCP/TLS/MSRP"],
      ["P-CSCF(A)", "answer: e2ae → anchored on the IMS-AGW (TCP/MSRP"],
    ] as const)
      expect(out).toMatch(new RegExp(`◆ ${who.replace(/[()]/g, "\\$&")}\\s+IMS-ALG ${step.replace(/[()]/g, "\\$&")}`));
    expect(out).toMatch(
      /✔ UE A\s+MSRP TLS peer verified: certificate \S+ matches a=fingerprint \(sha-256, RFC 8122 §5\.1\), the IMS-AGW's/,
    );
    expect(out).toMatch(/✔ UE B\s+MSRP TLS peer verified: .*the IMS-AGW's/);
    expect(out).toMatch(/⇄ UE A\s+MSRP SEND "hello bob" → 200 OK, through the IMS-AGW/);
    expect(out).toMatch(/⇄ UE B\s+MSRP SEND "echo: hello bob" → 200 OK/);
    expect(out).toMatch(/alice verdict: verified .* peer IMS-AGW \S+ \(the AGW its P-CSCF signalled\)/);
    expect(out).toMatch(/first MSRP exchange A→B at \+[\d.]+ ms: SEND \(hello bob\) → 200 OK, status 200/);
    expect(out).toMatch(/^PASS e2ae-msrp: /m);
  });
});
