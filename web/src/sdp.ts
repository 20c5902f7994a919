/**
 * What the demo page does to the SDP the browser produces and receives, with src/sdp (isomorphic):
 *
 * - Chromium writes neither `a=tls-id` nor `a=dcmap` (notes/peers.md §2.4): the page adds a fresh tls-id
 *   (RFC 8842 §5.2, required by the e2e profile of TS 33.328 §7.2.5) and the dcmap of its negotiated channel
 *   (RFC 8864 §5.1, TS 26.114 §6.2.10.1);
 * - only 127.0.0.1 UDP host candidates pass, in both directions (the lab network is loopback only);
 * - optionally `a=3ge2ae:requested` (TS 24.229 §7.5.2: asks the P-CSCF for e2ae) and a flipped fingerprint byte
 *   (the tamper control: the offer that leaves the page no longer matches the browser's certificate).
 */
import { tamperFingerprint } from "../../src/demo/events.ts";
import { editSdpMedia, formatDcMap, generateTlsId, inspectSdp, readDcMedia } from "../../src/sdp/index.ts";

export interface ChannelInfo {
  id: number;
  label: string;
  subprotocol: string;
}

export interface OfferOptions {
  channel: ChannelInfo;
  requestE2ae: boolean;
  tamper: boolean;
}

export interface PreparedOffer {
  sdp: string;
  tlsId: string;
  kept: number;
  removed: number;
}

/** RFC 8839 §5.1 candidate: foundation component transport priority address port "typ" type … */
function loopbackUdp(value: string | undefined): boolean {
  const f = (value ?? "").split(" ");
  return (f[2] ?? "").toLowerCase() === "udp" && f[4] === "127.0.0.1";
}

function dcIndex(sdp: string): number {
  return inspectSdp(sdp).media.find((m) => m.proto.toUpperCase().endsWith("DTLS/SCTP"))?.index ?? -1;
}

/** The browser's offer as it goes to the P-CSCF. */
export function prepareOffer(localSdp: string, o: OfferOptions): PreparedOffer {
  const i = dcIndex(localSdp);
  if (i < 0) throw new Error("the browser's offer has no DTLS/SCTP m-line");
  const cands = localSdp.split(/\r?\n/).filter((l) => l.startsWith("a=candidate:"));
  const kept = cands.filter((l) => loopbackUdp(l.slice("a=candidate:".length)));
  const port = Number(kept[0]?.split(" ")[5] ?? "9");
  const tlsId = generateTlsId();
  const insert = [
    // RFC 8842 §5.2: a new association, a fresh tls-id
    `a=tls-id:${tlsId}`,
    // RFC 8864 §5.1: the negotiated channel, described in SDP
    `a=dcmap:${formatDcMap({ streamId: o.channel.id, label: o.channel.label, subprotocol: o.channel.subprotocol })}`,
    // TS 24.229 §7.5.2.2: the UE requests e2ae for this m-line
    ...(o.requestE2ae ? ["a=3ge2ae:requested"] : []),
  ];
  let sdp = editSdpMedia(localSdp, i, {
    // the default candidate: the loopback one we keep (RFC 8839 §4.2.1.1: c=/m= carry the default candidate)
    ...(kept.length > 0 ? { port, connection: "IN IP4 127.0.0.1" } : {}),
    remove: [(name, value) => name === "candidate" && !loopbackUdp(value)],
    insert,
  });
  if (o.tamper) sdp = tamperFingerprint(sdp);
  return { sdp, tlsId, kept: kept.length, removed: cands.length - kept.length };
}

/** The answer as given to the browser: only 127.0.0.1 UDP candidates. */
export function filterAnswer(sdp: string): string {
  const i = dcIndex(sdp);
  if (i < 0) return sdp;
  return editSdpMedia(sdp, i, { remove: [(name, value) => name === "candidate" && !loopbackUdp(value)] });
}

/** The first usable fingerprint of the data channel m-line. */
export function fingerprintOf(sdp: string): { hash: string; value: string } | undefined {
  const fp = readDcMedia(sdp)[0]?.fingerprints[0];
  return fp ? { hash: fp.hash, value: fp.value.toUpperCase() } : undefined;
}

/** The kind of security line an SDP line is (for highlighting), or undefined. */
export function securityLineKind(line: string): "fingerprint" | "setup" | "tls-id" | "dcmap" | "3ge2ae" | undefined {
  const m = /^a=(fingerprint|setup|tls-id|dcmap|3ge2ae):/.exec(line);
  return m ? (m[1] as "fingerprint" | "setup" | "tls-id" | "dcmap" | "3ge2ae") : undefined;
}
