/**
 * sipp carries a data channel offer WITHOUT ICE (TS 24.186 §9.3: media addressed by c= and the m-line port; written the
 * TS 26.114 Annex A.17 way otherwise) through both P-CSCFs and the S-CSCF of the embedded network to an imsdc UE: the
 * body bob receives is byte-identical to the one sipp sent (TS 33.328 §7.2.5: no e2ae/e2DCe indication → forwarded
 * unchanged), both IMS-ALGs decide e2e, and bob answers without any ICE attribute (RFC 8839 §3.3.2). Skipped loudly
 * without sipp.
 */
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterEach, describe, expect, it } from "vitest";
import { EmbeddedNetwork } from "../../../src/demo/network.ts";
import type { UeCall } from "../../../src/ue/ue.ts";
import { runSipp, SIPP, stopAllSipp, warnWithoutSipp } from "../../sipp.ts";

const SCENARIO = join(import.meta.dirname, "../../fixtures/sipp/uac_register_invite_noice.xml");
// the body of the scenario's INVITE, as sipp sends it (CRLF line ends, no keyword inside)
const OFFER = `${[
  "v=0",
  "o=- 1 1 IN IP4 127.0.0.1",
  "s=-",
  "t=0 0",
  "m=application 52718 UDP/DTLS/SCTP webrtc-datachannel",
  "c=IN IP4 127.0.0.1",
  "b=AS:500",
  "a=max-message-size:1024",
  "a=sctp-port:5000",
  "a=setup:actpass",
  "a=fingerprint:SHA-1 4A:AD:B9:B1:3F:82:18:3B:54:02:12:DF:3E:5D:49:6B:19:E5:7C:AB",
  "a=tls-id: abc3de65cddef001be82",
  'a=dcmap:0 subprotocol="http"',
].join("\r\n")}\r\n`;

warnWithoutSipp("no-ICE sipp test");

const cleanups: (() => Promise<void> | void)[] = [];
afterEach(async () => {
  await stopAllSipp();
  for (const c of cleanups.splice(0).reverse()) await c();
});

describe.skipIf(!SIPP)("sipp → P-CSCF(A) → S-CSCF → P-CSCF(B) → imsdc UE, a data channel offer without ICE", () => {
  it("the offer arrives byte for byte, both IMS-ALGs decide e2e, bob answers without ICE", async () => {
    const net = await EmbeddedNetwork.start({ auth: false });
    cleanups.push(() => net.close());
    const dir = mkdtempSync(join(tmpdir(), "imsdc-sipp-noice-"));
    cleanups.push(() => rmSync(dir, { recursive: true, force: true }));
    const bob = await net.addUe("ueB", "bob", { transport: "UDP" });
    const incoming = new Promise<UeCall>((r) => bob.once("incoming", r));
    const port = net.pcscfA.address("access", "UDP")?.port;
    if (!port) throw new Error("P-CSCF(A) has no UDP access listener");
    const code = await runSipp(["-sf", SCENARIO, "-t", "u1", "-m", "1", `127.0.0.1:${port}`], dir, 25);
    const call = await incoming;
    // TS 33.328 §7.2.5 steps 2-3: no indication, so every hop forwarded the SDP unchanged
    expect(new TextDecoder().decode(call.sip.remoteSdp)).toBe(OFFER);
    const e2e = net.audit.events.filter((e) => e.node === "pcscf" && e.decision === "e2e" && e.kind === "offer");
    expect(e2e.map((e) => e.bodyUnchanged)).toEqual([true, true]);
    // RFC 8839 §3.3.2: an offer without ICE is answered without any ICE attribute; media goes to c=/port
    const answer = new TextDecoder().decode(call.sip.localSdp);
    expect(answer).toMatch(/^m=application [1-9]\d* UDP\/DTLS\/SCTP webrtc-datachannel\r$/m);
    expect(answer).not.toMatch(/^a=(ice-ufrag|ice-pwd|candidate|ice-lite|ice-options)/m);
    expect(code).toBe(0);
  }, 40_000);
});
