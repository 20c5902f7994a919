/**
 * A local certificate authority for the lab (the demo, `imsdc call --transport tls`): an ECDSA P-256 CA certificate
 * (RFC 5280 §4.2.1.9 basicConstraints cA, §4.2.1.3 keyUsage keyCertSign + cRLSign) and the node certificates it
 * signs (digitalSignature, extKeyUsage serverAuth + clientAuth, subjectAltName with the node's IP addresses and DNS
 * names: RFC 5922 §7.1 / RFC 6125 §6 match against them). Every node of the lab trusts the CA. Encoded with
 * @peculiar/asn1-x509 (the RFC 5280 schema), signed with node:crypto, like certificate.ts.
 */
import { createHash, generateKeyPairSync, type KeyObject, randomBytes, sign, X509Certificate } from "node:crypto";
import { isIP } from "node:net";
import { AsnConvert, OctetString } from "@peculiar/asn1-schema";
import {
  AlgorithmIdentifier,
  AttributeTypeAndValue,
  AttributeValue,
  AuthorityKeyIdentifier,
  BasicConstraints,
  Certificate,
  ExtendedKeyUsage,
  Extension,
  Extensions,
  GeneralName,
  id_ce_authorityKeyIdentifier,
  id_ce_basicConstraints,
  id_ce_extKeyUsage,
  id_ce_keyUsage,
  id_ce_subjectAltName,
  id_ce_subjectKeyIdentifier,
  id_kp_clientAuth,
  id_kp_serverAuth,
  KeyIdentifier,
  KeyUsage,
  KeyUsageFlags,
  Name,
  RelativeDistinguishedName,
  SubjectAlternativeName,
  SubjectKeyIdentifier,
  SubjectPublicKeyInfo,
  TBSCertificate,
  Validity,
  Version,
} from "@peculiar/asn1-x509";
import { CertificateError } from "./certificate.ts";

/** A certificate and its key, PEM (the key PKCS#8). */
export interface PemCredential {
  readonly certPem: string;
  readonly keyPem: string;
}

export interface LocalCa extends PemCredential {
  /** issues a node certificate for these names (IP literals become iPAddress, others dNSName) */
  issue(commonName: string, names?: readonly string[]): PemCredential;
}

// RFC 5758 §3.2: ecdsa-with-SHA256, parameters absent
const OID_ECDSA_WITH_SHA256 = "1.2.840.10045.4.3.2";
// X.520: commonName
const OID_COMMON_NAME = "2.5.4.3";
/** the names a lab node answers to on the loopback */
const LOOPBACK_NAMES: readonly string[] = ["127.0.0.1", "::1", "localhost"];

function ab(b: Buffer): ArrayBuffer {
  return b.buffer.slice(b.byteOffset, b.byteOffset + b.byteLength) as ArrayBuffer;
}

function toPem(der: Buffer): string {
  const b64 = der.toString("base64").replace(/(.{64})/g, "$1\n");
  return `-----BEGIN CERTIFICATE-----\n${b64}${b64.endsWith("\n") ? "" : "\n"}-----END CERTIFICATE-----\n`;
}

function nameOf(cn: string): Name {
  return new Name([
    new RelativeDistinguishedName([
      new AttributeTypeAndValue({ type: OID_COMMON_NAME, value: new AttributeValue({ utf8String: cn }) }),
    ]),
  ]);
}

function ext(extnID: string, critical: boolean, value: unknown): Extension {
  return new Extension({ extnID, critical, extnValue: new OctetString(AsnConvert.serialize(value)) });
}

/** RFC 5280 §4.2.1.2 method (1): the SHA-1 of the subjectPublicKey bits. */
function keyId(spki: SubjectPublicKeyInfo): Buffer {
  return createHash("sha1").update(Buffer.from(spki.subjectPublicKey)).digest();
}

function signCert(
  subject: string,
  issuer: string,
  subjectKey: KeyObject,
  issuerKey: KeyObject,
  issuerKeyId: Buffer | undefined,
  extensions: Extension[],
  days: number,
  now: Date,
): { der: Buffer; skid: Buffer } {
  const serial = randomBytes(16);
  serial[0] = ((serial[0] ?? 0) & 0x7f) | 0x01; // RFC 5280 §4.1.2.2: positive, non-zero
  const notBefore = new Date(Math.floor(now.getTime() / 1000) * 1000 - 3_600_000);
  const notAfter = new Date(notBefore.getTime() + days * 86_400_000);
  const spki = AsnConvert.parse(subjectKey.export({ type: "spki", format: "der" }), SubjectPublicKeyInfo);
  const skid = keyId(spki);
  const algorithm = new AlgorithmIdentifier({ algorithm: OID_ECDSA_WITH_SHA256 });
  const all = [
    ...extensions,
    ext(id_ce_subjectKeyIdentifier, false, new SubjectKeyIdentifier(ab(skid))),
    // RFC 5280 §4.2.1.1: the authority key identifier of a certificate that is not self-signed
    ...(issuerKeyId
      ? [
          ext(
            id_ce_authorityKeyIdentifier,
            false,
            new AuthorityKeyIdentifier({ keyIdentifier: new KeyIdentifier(ab(issuerKeyId)) }),
          ),
        ]
      : []),
  ];
  const tbs = new TBSCertificate({
    version: Version.v3,
    serialNumber: ab(serial),
    signature: algorithm,
    issuer: nameOf(issuer),
    validity: new Validity({ notBefore, notAfter }),
    subject: nameOf(subject),
    subjectPublicKeyInfo: spki,
    extensions: new Extensions(all),
  });
  const tbsDer = Buffer.from(AsnConvert.serialize(tbs));
  const signature = sign("sha256", tbsDer, issuerKey);
  const cert = new Certificate({ tbsCertificate: tbs, signatureAlgorithm: algorithm, signatureValue: ab(signature) });
  return { der: Buffer.from(AsnConvert.serialize(cert)), skid };
}

export interface LocalCaOptions {
  commonName?: string;
  /** validity of the CA and of the certificates it issues; default 30 days */
  validityDays?: number;
  now?: Date;
}

/** Creates a fresh CA (its key never leaves the process unless the caller writes `keyPem` out). */
export function createLocalCa(opts: LocalCaOptions = {}): LocalCa {
  const days = opts.validityDays ?? 30;
  if (!(days > 0 && days <= 825)) throw new RangeError(`validityDays must be in (0, 825], got ${days}`);
  const now = opts.now ?? new Date();
  const caName = opts.commonName ?? `imsdc local CA ${randomBytes(4).toString("hex")}`;
  const ca = generateKeyPairSync("ec", { namedCurve: "P-256" });
  const { der: caDer, skid: caKeyId } = signCert(
    caName,
    caName,
    ca.publicKey,
    ca.privateKey,
    undefined,
    [
      // RFC 5280 §4.2.1.9: a CA certificate asserts cA (critical); pathLen 0: it issues end-entity certificates only
      ext(id_ce_basicConstraints, true, new BasicConstraints({ cA: true, pathLenConstraint: 0 })),
      // RFC 5280 §4.2.1.3: keyCertSign for a key that signs certificates (critical)
      ext(id_ce_keyUsage, true, new KeyUsage(KeyUsageFlags.keyCertSign | KeyUsageFlags.cRLSign)),
    ],
    days,
    now,
  );
  const caCertPem = toPem(caDer);
  return {
    certPem: caCertPem,
    keyPem: ca.privateKey.export({ type: "pkcs8", format: "pem" }).toString(),
    issue(commonName: string, names: readonly string[] = LOOPBACK_NAMES): PemCredential {
      if (names.length === 0) throw new CertificateError("E_CERT_PARSE", "a node certificate needs at least one name");
      const k = generateKeyPairSync("ec", { namedCurve: "P-256" });
      // RFC 5280 §4.2.1.6 / RFC 6125 §6: the identities a client matches go in subjectAltName
      const san = new SubjectAlternativeName(
        names.map((n) => {
          const h = n.replace(/^\[|\]$/g, "");
          return isIP(h) !== 0 ? new GeneralName({ iPAddress: h }) : new GeneralName({ dNSName: h });
        }),
      );
      const { der } = signCert(
        commonName,
        caName,
        k.publicKey,
        ca.privateKey,
        caKeyId,
        [
          ext(id_ce_basicConstraints, true, new BasicConstraints({ cA: false })),
          ext(id_ce_keyUsage, true, new KeyUsage(KeyUsageFlags.digitalSignature)),
          // RFC 5280 §4.2.1.12: a SIP node is a TLS server and (mutual TLS, outbound connections) a TLS client
          ext(id_ce_extKeyUsage, false, new ExtendedKeyUsage([id_kp_serverAuth, id_kp_clientAuth])),
          ext(id_ce_subjectAltName, false, san),
        ],
        days,
        now,
      );
      const certPem = toPem(der);
      // self-test: the CA signature verifies (a broken encoding fails here, not in a handshake)
      if (!new X509Certificate(certPem).verify(new X509Certificate(caCertPem).publicKey))
        throw new CertificateError("E_CERT_SELFTEST", "issued certificate does not verify with the CA key");
      return { certPem, keyPem: k.privateKey.export({ type: "pkcs8", format: "pem" }).toString() };
    },
  };
}
