import { constants as cryptoConstants } from "node:crypto";
import tls from "node:tls";
import type { Fingerprint } from "../../sdp/index.ts";
import type { SessionCertificate } from "../../security/certificate.ts";
import { AgwError } from "./iqErrors.ts";

/**
 * Cipher suites in the AGW's order of preference, AES-128-GCM first (hardware AES, and fewer rounds than AES-256).
 * TLS 1.3: RFC 8446 §9.1 (TLS_AES_128_GCM_SHA256 is mandatory to implement); TLS 1.2: the four AEAD ECDHE suites of
 * RFC 9325 §4.2 (as RFC 7525 §4.2), ECDSA first (the AGW's own certificate is ECDSA P-256; RSA ones for a UE server
 * with an RSA certificate when the AGW is the TLS client), then ChaCha20-Poly1305 (RFC 7905) for peers without AES.
 */
const AGW_CIPHERS = [
  "TLS_AES_128_GCM_SHA256",
  "TLS_AES_256_GCM_SHA384",
  "TLS_CHACHA20_POLY1305_SHA256",
  "ECDHE-ECDSA-AES128-GCM-SHA256",
  "ECDHE-RSA-AES128-GCM-SHA256",
  "ECDHE-ECDSA-AES256-GCM-SHA384",
  "ECDHE-RSA-AES256-GCM-SHA384",
  "ECDHE-ECDSA-CHACHA20-POLY1305",
  "ECDHE-RSA-CHACHA20-POLY1305",
].join(":");

/**
 * The AGW's certificate for a TLS termination: its fingerprint (answer to "Local certificate fingerprint Request")
 * and a lazily built TLS context. The PEM key is dropped as soon as the context exists (memory, and fewer copies of
 * the private key); it is never logged.
 */
export class TlsCredential {
  readonly fingerprint: Fingerprint;
  private pem: { cert: string; key: string } | undefined;
  private context: tls.SecureContext | undefined;

  constructor(
    certificate: SessionCertificate,
    private readonly minVersion: tls.SecureVersion,
  ) {
    this.fingerprint = certificate.fingerprint;
    this.pem = { cert: certificate.certPem, key: certificate.keyPem };
  }

  get secureContext(): tls.SecureContext {
    if (!this.context) {
      const pem = this.pem;
      if (!pem) throw new AgwError("E_AGW_INTERNAL", "credential without key material");
      this.context = tls.createSecureContext({
        cert: pem.cert,
        key: pem.key,
        minVersion: this.minVersion,
        ciphers: AGW_CIPHERS,
        // the server's order decides (a Node or OpenSSL client offers AES-256-GCM first)
        honorCipherOrder: true,
        // no renegotiation: the verified certificate cannot be swapped later in TLS 1.2
        secureOptions: cryptoConstants.SSL_OP_NO_RENEGOTIATION,
      });
      this.pem = undefined;
    }
    return this.context;
  }
}
