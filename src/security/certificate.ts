/**
 * Per-session DTLS certificates for the data-channel endpoint.
 *
 * - ECDSA P-256 key pair from node:crypto, private key exported as PKCS#8 PEM (the only private-key form werift
 *   accepts; SEC1 "EC PRIVATE KEY" is rejected by its parser).
 * - A minimal self-signed X.509 v3 certificate (ecdsa-with-SHA256), encoded with @peculiar/asn1-x509 (RFC 5280 §4.1
 *   schema) and signed with node:crypto; synchronous, so a certificate is ready the moment an endpoint is created.
 * - Before a certificate is handed out it passes a self-test: the private key signs a random challenge that the
 *   certificate's public key verifies, the certificate's self-signature verifies, and the key is P-256. werift does
 *   not check that key and certificate belong together, so a mismatch would otherwise only surface as a failed
 *   handshake (or, worse, as a certificate we advertise but cannot prove possession of).
 * - Fingerprints (RFC 8122 §5) are hashes of the DER certificate in uppercase colon-separated hex, in the one
 *   `Fingerprint` vocabulary of src/sdp (`{ hash, value }`).
 */
import {
  createHash,
  createPrivateKey,
  generateKeyPairSync,
  type KeyObject,
  randomBytes,
  sign,
  verify,
  X509Certificate,
} from "node:crypto";
import { AsnConvert } from "@peculiar/asn1-schema";
import {
  AlgorithmIdentifier,
  AttributeTypeAndValue,
  AttributeValue,
  Certificate,
  Name,
  RelativeDistinguishedName,
  SubjectPublicKeyInfo,
  TBSCertificate,
  Validity,
  Version,
} from "@peculiar/asn1-x509";
import { ImsdcError } from "../errors.ts";
import { type Fingerprint, fingerprintFromBytes, type HashFunc } from "../sdp/fingerprint.ts";

export type CertificateErrorCode = "E_CERT_SELFTEST" | "E_CERT_KEY_FORMAT" | "E_CERT_PARSE" | "E_FINGERPRINT_ALGORITHM";

export class CertificateError extends ImsdcError {
  constructor(code: CertificateErrorCode, message: string, options?: { cause?: unknown }) {
    super(code, message, options);
  }
}

/**
 * The hash functions of the fingerprints a session certificate carries, and the ones the IMS-AGW verifies with
 * (RFC 8122 §5 names; SHA-256 preferred). SHA-1/SHA-224 are deliberately not offered.
 */
export const CERTIFICATE_HASHES = ["sha-256", "sha-384", "sha-512"] as const satisfies readonly HashFunc[];
export type CertificateHash = (typeof CERTIFICATE_HASHES)[number];

/** TLS 1.2 SignatureAndHashAlgorithm of the certificate key: sha256(4) + ecdsa(3) (RFC 5246 §7.4.1.4.1). */
export const ECDSA_SHA256_SIGNATURE_HASH = { hash: 4, signature: 3 } as const;

export interface SessionCertificate {
  readonly certPem: string;
  /** PKCS#8 PEM ("BEGIN PRIVATE KEY"). */
  readonly keyPem: string;
  readonly der: Buffer;
  readonly notBefore: Date;
  readonly notAfter: Date;
  readonly signatureHash: typeof ECDSA_SHA256_SIGNATURE_HASH;
  /** SHA-256 fingerprint, the one we advertise. */
  readonly fingerprint: Fingerprint;
  /** SHA-256, SHA-384 and SHA-512 fingerprints. */
  readonly fingerprints: readonly Fingerprint[];
  fingerprintFor(hash: CertificateHash): Fingerprint;
}

export interface GenerateOptions {
  /** Subject/issuer CN. Default: random, so certificates of different sessions are not linkable by name. */
  commonName?: string;
  /** Default 30 days. */
  validityDays?: number;
  /** Clock override (tests). */
  now?: Date;
}

const NODE_HASH: Readonly<Record<HashFunc, string>> = {
  "sha-1": "sha1",
  "sha-224": "sha224",
  "sha-256": "sha256",
  "sha-384": "sha384",
  "sha-512": "sha512",
};

/**
 * The one certificate digest of the stack: the RFC 8122 §5 fingerprint (hash of the DER certificate, upper-case
 * colon-separated hex) of a certificate given as DER bytes or PEM text.
 */
export function fingerprintOf(certificate: Uint8Array | string, hash: HashFunc = "sha-256"): Fingerprint {
  const der = typeof certificate === "string" ? parseCertificate(certificate).raw : certificate;
  return fingerprintFromBytes(hash, createHash(NODE_HASH[hash]).update(der).digest());
}

/** Generates a fresh ECDSA P-256 key and self-signed certificate and self-tests them. */
export function generateSessionCertificate(options: GenerateOptions = {}): SessionCertificate {
  const now = options.now ?? new Date();
  const validityDays = options.validityDays ?? 30;
  if (!(validityDays > 0 && validityDays <= 3650)) {
    throw new RangeError(`validityDays must be in (0, 3650], got ${validityDays}`);
  }
  const commonName = options.commonName ?? `imsdc-${randomBytes(8).toString("hex")}`;
  const { privateKey, publicKey } = generateKeyPairSync("ec", { namedCurve: "P-256" });
  // Backdate by one hour to tolerate small clock skew between the UEs.
  const notBefore = new Date(Math.floor(now.getTime() / 1000) * 1000 - 3_600_000);
  const notAfter = new Date(notBefore.getTime() + validityDays * 86_400_000);
  const der = buildSelfSignedCertificate(privateKey, publicKey, commonName, notBefore, notAfter);
  const certPem = toPem("CERTIFICATE", der);
  const keyPem = privateKey.export({ type: "pkcs8", format: "pem" }).toString();
  return loadSessionCertificate(certPem, keyPem);
}

/**
 * Wraps an existing PEM pair after checking it: PKCS#8 P-256 key, parsable certificate, and key/certificate
 * proof of possession (E_CERT_SELFTEST when they do not belong together).
 */
export function loadSessionCertificate(certPem: string, keyPem: string): SessionCertificate {
  const x509 = parseCertificate(certPem);
  const key = parsePrivateKey(keyPem);
  certificateSelfTest(x509, key);
  const der = x509.raw;
  const fingerprints = CERTIFICATE_HASHES.map((hash) => fingerprintOf(der, hash));
  const byHash = (hash: CertificateHash): Fingerprint => {
    const fp = fingerprints.find((f) => f.hash === hash);
    if (!fp) throw new CertificateError("E_FINGERPRINT_ALGORITHM", `no ${hash} fingerprint`);
    return fp;
  };
  return {
    certPem: x509.toString(),
    keyPem,
    der,
    notBefore: new Date(x509.validFrom),
    notAfter: new Date(x509.validTo),
    signatureHash: ECDSA_SHA256_SIGNATURE_HASH,
    fingerprint: byHash("sha-256"),
    fingerprints,
    fingerprintFor: byHash,
  };
}

/**
 * Throws E_CERT_SELFTEST unless `key` is the private key of `certificate` (sign/verify of a random challenge, plus
 * Node's own key/certificate match check) and the self-signature verifies.
 */
export function certificateSelfTest(certificate: X509Certificate, key: KeyObject): void {
  const challenge = randomBytes(32);
  let ok = false;
  try {
    const signature = sign("sha256", challenge, key);
    ok =
      verify("sha256", challenge, certificate.publicKey, signature) &&
      certificate.checkPrivateKey(key) &&
      certificate.verify(certificate.publicKey);
  } catch (cause) {
    throw new CertificateError("E_CERT_SELFTEST", "certificate self-test failed", { cause });
  }
  if (!ok) {
    throw new CertificateError("E_CERT_SELFTEST", "private key does not match the certificate (sign/verify self-test)");
  }
}

function parseCertificate(certPem: string): X509Certificate {
  try {
    return new X509Certificate(certPem);
  } catch (cause) {
    throw new CertificateError("E_CERT_PARSE", "certificate PEM cannot be parsed", { cause });
  }
}

function parsePrivateKey(keyPem: string): KeyObject {
  if (!keyPem.includes("-----BEGIN PRIVATE KEY-----")) {
    throw new CertificateError("E_CERT_KEY_FORMAT", "private key must be PKCS#8 PEM (BEGIN PRIVATE KEY)");
  }
  let key: KeyObject;
  try {
    key = createPrivateKey({ key: keyPem, format: "pem" });
  } catch (cause) {
    throw new CertificateError("E_CERT_KEY_FORMAT", "private key PEM cannot be parsed", { cause });
  }
  if (key.asymmetricKeyType !== "ec" || key.asymmetricKeyDetails?.namedCurve !== "prime256v1") {
    throw new CertificateError("E_CERT_KEY_FORMAT", "private key must be ECDSA P-256");
  }
  return key;
}

function toPem(label: string, der: Buffer): string {
  const b64 = der.toString("base64").replace(/(.{64})/g, "$1\n");
  return `-----BEGIN ${label}-----\n${b64}${b64.endsWith("\n") ? "" : "\n"}-----END ${label}-----\n`;
}

// --- RFC 5280 §4.1 certificate structure, encoded by @peculiar/asn1-x509 (the ASN.1 schema layer of @peculiar/x509) ---

// RFC 5758 §3.2: ecdsa-with-SHA256, parameters absent
const OID_ECDSA_WITH_SHA256 = "1.2.840.10045.4.3.2";
// RFC 5280 §4.1.2.4 / X.520: commonName
const OID_COMMON_NAME = "2.5.4.3";

function buildSelfSignedCertificate(
  privateKey: KeyObject,
  publicKey: KeyObject,
  commonName: string,
  notBefore: Date,
  notAfter: Date,
): Buffer {
  const serial = randomBytes(16);
  serial[0] = ((serial[0] ?? 0) & 0x7f) | 0x01; // positive, non-zero, 16 bytes (RFC 5280 §4.1.2.2)
  const name = new Name([
    new RelativeDistinguishedName([
      new AttributeTypeAndValue({ type: OID_COMMON_NAME, value: new AttributeValue({ utf8String: commonName }) }),
    ]),
  ]);
  const algorithm = new AlgorithmIdentifier({ algorithm: OID_ECDSA_WITH_SHA256 });
  const tbs = new TBSCertificate({
    version: Version.v3,
    serialNumber: toArrayBuffer(serial),
    signature: algorithm,
    issuer: name,
    // RFC 5280 §4.1.2.5: UTCTime through 2049, GeneralizedTime from 2050 (Validity chooses)
    validity: new Validity({ notBefore, notAfter }),
    subject: name,
    subjectPublicKeyInfo: AsnConvert.parse(publicKey.export({ type: "spki", format: "der" }), SubjectPublicKeyInfo),
  });
  const tbsDer = Buffer.from(AsnConvert.serialize(tbs));
  const signature = sign("sha256", tbsDer, privateKey); // DER ECDSA-Sig-Value (RFC 5758 §3.2)
  const cert = new Certificate({
    tbsCertificate: tbs,
    signatureAlgorithm: algorithm,
    signatureValue: toArrayBuffer(signature),
  });
  return Buffer.from(AsnConvert.serialize(cert));
}

function toArrayBuffer(b: Buffer): ArrayBuffer {
  return b.buffer.slice(b.byteOffset, b.byteOffset + b.byteLength) as ArrayBuffer;
}
