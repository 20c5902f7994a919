import type { Fingerprint } from "../sdp/index.ts";

/** What one data channel association needs from each side: the DTLS identity, our and the peer's parameters. */

/** The DTLS identity of one session: a PKCS#8 key, its self-signed certificate and the certificate's fingerprints. */
export interface DtlsIdentity {
  keyPem: string;
  certPem: string;
  /** "ecdsa" for P-256 (default), "rsa" for RSA certificates */
  keyType: "ecdsa" | "rsa";
  /** RFC 8122 fingerprints of the DER certificate, e.g. { hash: "sha-256", value: "AB:CD:..." } */
  fingerprints: Fingerprint[];
}

export interface LocalTransportParams {
  iceUfrag: string;
  icePwd: string;
  iceLite: boolean;
  /** candidate-attribute values, without the "candidate:" prefix stripped (i.e. "candidate:..." is NOT included) */
  candidates: string[];
  /** the default candidate's address and port (for c= and the m-line port) */
  address: string;
  port: number;
  fingerprints: Fingerprint[];
}

export interface RemoteTransportParams {
  iceUfrag: string;
  icePwd: string;
  iceLite: boolean;
  candidates: string[];
  /** the peer's `c=` address and m-line port: where media goes without ICE (RFC 4566 §5.7, §5.14) */
  address?: string;
  port?: number;
  fingerprints: Fingerprint[];
  sctpPort: number;
  /** the peer's a=max-message-size; 0 = unlimited (RFC 8841 §6) */
  maxMessageSize: number;
}

/** What the no-ICE path counts (DcTransport.pathCounters; src/ue/udpPath.ts). */
export interface UdpPathCounters {
  /** datagrams delivered to DTLS */
  accepted: number;
  /** datagrams from a source other than the signalled (or latched) one, dropped */
  droppedOffPath: number;
  /** datagrams that arrived before the remote address was known and were not replayed */
  droppedEarly: number;
  /** the latched source, once a latch completed an authenticated handshake */
  latched?: { address: string; port: number };
}
