import { constants as cryptoConstants } from "node:crypto";
import tls from "node:tls";
import type { Fingerprint } from "../../sdp/index.ts";
import type { SessionCertificate } from "../../security/certificate.ts";
import { AgwError } from "./iqErrors.ts";

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
        // no renegotiation: the verified certificate cannot be swapped later in TLS 1.2
        secureOptions: cryptoConstants.SSL_OP_NO_RENEGOTIATION,
      });
      this.pem = undefined;
    }
    return this.context;
  }
}
