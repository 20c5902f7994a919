// A strict TypeScript consumer (NodeNext, strict, exactOptionalPropertyTypes, noUncheckedIndexedAccess, skipLibCheck
// off) of the shipped .d.ts: `tsc --noEmit` must pass.

import { ImsAgw } from "imsdc/agw";
import { BrowserWsTransport, SipUserAgent } from "imsdc/browser";
import { DEMO_CHANNEL, EmbeddedNetwork } from "imsdc/network";
import { Pcscf } from "imsdc/pcscf";
import { Scscf } from "imsdc/scscf";
import { type Finding, inspectSdp, validateOffer } from "imsdc/sdp";
import { generateSessionCertificate, type SessionCertificate } from "imsdc/security";
import { parseMessage, type SipMessage } from "imsdc/sip";
import { DcEndpoint, type DcEndpointOptions, ImsUe, type ImsUeOptions, inspectEngine, type UeCall } from "imsdc/ue";

export async function main(sdp: string): Promise<number> {
  const findings: Finding[] = validateOffer(sdp).findings;
  const media = inspectSdp(sdp);
  const cert: SessionCertificate = generateSessionCertificate();
  const opts: DcEndpointOptions = { name: "alice", channels: [{ id: DEMO_CHANNEL.id, label: "chat" }] };
  const ep = new DcEndpoint(opts);
  const ueOpts: ImsUeOptions = { aor: "sip:alice@ims.example.com", outboundProxy: "sip:127.0.0.1:5060;lr" };
  const ue = new ImsUe(ueOpts);
  ue.on("call", (call: UeCall) => {
    call.dc.on("verdict", (v) => console.log(v.verified, v.presented));
  });
  const msg: SipMessage | undefined = undefined;
  void msg;
  void parseMessage;
  void [BrowserWsTransport, SipUserAgent, Pcscf, Scscf, ImsAgw, EmbeddedNetwork];
  await ep.close();
  await ue.close();
  return findings.length + media.media.length + cert.fingerprint.value.length + (inspectEngine().hardened ? 0 : 1);
}
