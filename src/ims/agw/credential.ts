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

function createContext(minVersion: tls.SecureVersion, pem?: { cert: string; key: string }): tls.SecureContext {
  return tls.createSecureContext({
    ...(pem ?? {}),
    minVersion,
    ciphers: AGW_CIPHERS,
    // the server's order decides (a Node or OpenSSL client offers AES-256-GCM first)
    honorCipherOrder: true,
    // no renegotiation: the verified certificate cannot be swapped later in TLS 1.2. No session tickets: one native
    // context serves every termination, and a resumed handshake carries no server Certificate (RFC 8446 §2.2), so a
    // ticket of one termination must not resume a session on another (nor is a closed termination ever reconnected).
    secureOptions: cryptoConstants.SSL_OP_NO_RENEGOTIATION | cryptoConstants.SSL_OP_NO_TICKET,
  });
}

/** The native half of a SecureContext (Node internal, undocumented): where the certificate and key are loaded. */
interface NativeContext {
  setCert(pem: string): void;
  setKey(pem: string, passphrase?: string): void;
}
function nativeOf(c: tls.SecureContext): NativeContext | undefined {
  const n = (c as { context?: Partial<NativeContext> }).context;
  return typeof n?.setCert === "function" && typeof n.setKey === "function" ? (n as NativeContext) : undefined;
}

/**
 * One native TLS context (OpenSSL `SSL_CTX`) for all TLS terminations of an AGW, whatever their certificate.
 *
 * OpenSSL copies the context's certificate and key into each connection (`SSL`) when the connection is created
 * (`SSL_new` duplicates the context's `CERT`), and the handshake uses the connection's copy. So loading a
 * termination's certificate and key into the shared context right before its TLS socket is created (synchronously,
 * same JavaScript turn) gives that connection — and only it — the termination's certificate; a later load for another
 * termination does not touch it. Each termination still presents its own certificate (the default scope's property);
 * what is no longer per termination is the `SSL_CTX` itself, about 12 KiB of native memory (cipher and group tables,
 * session cache, ticket keys), built once instead of once per reservation.
 *
 * Node does not document this handle (`SecureContext.context`); when it is missing, every credential builds its own
 * context as before (`perCredential`).
 */
export class TlsContextPool {
  private shared: tls.SecureContext | undefined;
  private native: NativeContext | undefined;
  /** the credential whose certificate and key are loaded in the shared context now */
  private loaded: TlsCredential | undefined;
  /** true when the shared context cannot be used (no native handle): one context per credential */
  readonly perCredential: boolean;

  constructor(private readonly minVersion: tls.SecureVersion) {
    this.perCredential = nativeOf(tls.createSecureContext({})) === undefined;
  }

  /** A context for one new TLS socket of `credential`, to be created before control returns to the event loop. */
  contextFor(credential: TlsCredential, pem: { cert: string; key: string }): tls.SecureContext {
    if (this.perCredential) return createContext(this.minVersion, pem);
    if (!this.shared) {
      this.shared = createContext(this.minVersion);
      this.native = nativeOf(this.shared);
    }
    if (this.loaded !== credential) {
      // certificate first: OpenSSL drops a loaded key that does not match a new certificate, then takes the new key
      this.loaded = undefined;
      this.native?.setCert(pem.cert);
      this.native?.setKey(pem.key);
      this.loaded = credential;
    }
    return this.shared;
  }
}

/**
 * The AGW's certificate for a TLS termination: its fingerprint (answer to "Local certificate fingerprint Request") and
 * its PEM certificate and key, loaded into the AGW's TLS context for each connection of the termination
 * (`TlsContextPool`). The key is never logged.
 */
export class TlsCredential {
  readonly fingerprint: Fingerprint;
  private pem: { cert: string; key: string } | undefined;
  /** only when the pool cannot share a context: this credential's own, built at its first connection */
  private own: tls.SecureContext | undefined;

  /** `owned`: the credential of one termination only (default scope), whose key material `settle()` may drop */
  constructor(
    certificate: SessionCertificate,
    private readonly pool: TlsContextPool,
    private readonly owned: boolean,
  ) {
    this.fingerprint = certificate.fingerprint;
    this.pem = { cert: certificate.certPem, key: certificate.keyPem };
  }

  /**
   * The owning termination accepts no further connection (its leg is ready): drop the PEM certificate and key (the
   * live connection keeps its own copy inside OpenSSL; memory per idle leg, and one copy fewer of the private key).
   */
  settle(): void {
    if (this.owned) this.pem = undefined;
  }

  /**
   * The TLS context for ONE new TLS socket of this credential: the caller creates the socket (`new TLSSocket`,
   * `tls.connect`) at once, in the same synchronous block, so that the connection takes this certificate and key.
   */
  contextForNewSocket(): tls.SecureContext {
    if (this.own) return this.own;
    const pem = this.pem;
    if (!pem) throw new AgwError("E_AGW_INTERNAL", "credential without key material (termination settled)");
    try {
      if (this.pool.perCredential) {
        this.own = this.pool.contextFor(this, pem);
        return this.own;
      }
      return this.pool.contextFor(this, pem);
    } catch (cause) {
      throw new AgwError("E_AGW_CERT", "the TLS certificate or key could not be loaded", { cause });
    }
  }
}
