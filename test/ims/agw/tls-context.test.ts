/**
 * One native TLS context for all terminations (src/ims/agw/credential.ts `TlsContextPool`): with the default
 * certificate scope each connection still presents its own termination's certificate, also when several connections
 * were accepted before any of them handshook, and no session of one termination resumes on another (no tickets).
 * Real sockets on 127.0.0.1.
 */
import type net from "node:net";
import tls from "node:tls";
import { afterEach, describe, expect, it } from "vitest";
import { ImsAgw } from "../../../src/ims/agw/agw.ts";
import { TlsContextPool, TlsCredential } from "../../../src/ims/agw/credential.ts";
import type { AgwConnectionPoint } from "../../../src/ims/agw/iqTypes.ts";
import { fingerprintOf, type SessionCertificate } from "../../../src/security/certificate.ts";
import { EventRecorder, LOOPBACK, newCertificate, tcpConnect, ueConnect, waitFor } from "./helpers.ts";

let agw: ImsAgw | undefined;
const sockets: net.Socket[] = [];
afterEach(async () => {
  for (const s of sockets.splice(0)) s.destroy();
  await agw?.close();
  agw = undefined;
});

async function reserve(a: ImsAgw, ue: SessionCertificate): Promise<AgwConnectionPoint> {
  return a.reserveAndConfigureAgwConnectionPoint({
    side: "access",
    transport: "TCP/TLS/MSRP",
    localCertificateFingerprintRequest: true,
    remote: { address: LOOPBACK, port: 9, setup: "active", certificateFingerprints: [ue.fingerprint] },
  });
}

/** TLS over an already connected TCP socket, as the UE (TLS client). */
function tlsOver(raw: net.Socket, ue: SessionCertificate, maxVersion: tls.SecureVersion): Promise<tls.TLSSocket> {
  return new Promise((resolve, reject) => {
    const s = tls.connect({
      socket: raw,
      cert: ue.certPem,
      key: ue.keyPem,
      maxVersion,
      rejectUnauthorized: false,
      checkServerIdentity: () => undefined,
    });
    sockets.push(s);
    s.once("secureConnect", () => resolve(s));
    s.once("error", reject);
  });
}

const presented = (s: tls.TLSSocket) => fingerprintOf(s.getPeerCertificate().raw).value;

describe("one TLS context, one certificate per termination", () => {
  it("connections accepted before any handshake each present their own termination's certificate (TLS 1.2 and 1.3)", async () => {
    agw = new ImsAgw();
    const rec = new EventRecorder(agw);
    const ues = [newCertificate(), newCertificate(), newCertificate()];
    const points: AgwConnectionPoint[] = [];
    for (const ue of ues) points.push(await reserve(agw, ue));
    expect(new Set(points.map((p) => p.localCertificateFingerprint?.value)).size).toBe(3);
    // every TCP connection is adopted (its TLS socket created) before the first ClientHello
    const raws: net.Socket[] = [];
    for (const p of points) {
      const raw = await tcpConnect(p.localPort);
      sockets.push(raw);
      raws.push(raw);
    }
    await waitFor(() => rec.of("tcpConnectionEstablished").length === 3, 3000, "3 connections adopted");
    // handshakes in reverse order of adoption: the last certificate loaded belongs to the third termination
    const versions: tls.SecureVersion[] = ["TLSv1.3", "TLSv1.2", "TLSv1.3"];
    const ue2 = await tlsOver(raws[2] as net.Socket, ues[2] as SessionCertificate, versions[2] as tls.SecureVersion);
    const ue1 = await tlsOver(raws[1] as net.Socket, ues[1] as SessionCertificate, versions[1] as tls.SecureVersion);
    const ue0 = await tlsOver(raws[0] as net.Socket, ues[0] as SessionCertificate, versions[0] as tls.SecureVersion);
    expect(ue1.getProtocol()).toBe("TLSv1.2");
    expect(ue0.getProtocol()).toBe("TLSv1.3");
    for (const [i, s] of [ue0, ue1, ue2].entries()) {
      // RFC 8122 §5.1: the certificate the UE checks is the one whose fingerprint its termination signalled
      expect(presented(s)).toBe(points[i]?.localCertificateFingerprint?.value);
      await rec.next("tlsSessionEstablished", points[i]?.terminationId);
    }
    rec.stop();
  });

  it("a session of one termination is not resumed on another: full handshake, its own certificate", async () => {
    agw = new ImsAgw({ tlsMinVersion: "TLSv1.3" });
    const ue = newCertificate();
    const a = await reserve(agw, ue);
    const b = await reserve(agw, ue);
    const first = await ueConnect(a.localPort, ue);
    sockets.push(first);
    // TLS 1.3 NewSessionTicket arrives after the handshake: wait for what the client would resume with
    const session = await new Promise<Buffer>((resolve) => first.once("session", resolve));
    const second = await new Promise<tls.TLSSocket>((resolve, reject) => {
      const s = tls.connect({
        host: LOOPBACK,
        port: b.localPort,
        cert: ue.certPem,
        key: ue.keyPem,
        session,
        rejectUnauthorized: false,
        checkServerIdentity: () => undefined,
      });
      sockets.push(s);
      s.once("secureConnect", () => resolve(s));
      s.once("error", reject);
    });
    // RFC 8446 §2.2: a resumed handshake would carry no server Certificate, so b's UE could not check b's
    expect(second.isSessionReused()).toBe(false);
    expect(presented(second)).toBe(b.localCertificateFingerprint?.value);
    expect(presented(first)).toBe(a.localCertificateFingerprint?.value);
  });
});

describe("TlsCredential", () => {
  it("a termination's own credential drops its key material once settled; a shared one keeps it", () => {
    const pool = new TlsContextPool("TLSv1.2");
    const own = new TlsCredential(newCertificate(), pool, true);
    const shared = new TlsCredential(newCertificate(), pool, false);
    expect(own.contextForNewSocket()).toBeDefined();
    own.settle();
    shared.settle();
    expect(() => own.contextForNewSocket()).toThrow(expect.objectContaining({ code: "E_AGW_INTERNAL" }));
    expect(shared.contextForNewSocket()).toBeDefined();
  });
});
