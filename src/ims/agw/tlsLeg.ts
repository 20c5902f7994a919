/**
 * The TLS leg: TLS termination toward the UE on one adopted TCP connection, with the fingerprint check
 * (RFC 8122 §5.1, §6.2; TR 29.828 §5.2.1.2.2 steps 5-7, §5.2.1.2.3 steps 12-16).
 *
 *   tcp ─► handshaking ─┬─► (fingerprint known) verify ─► ready | failed
 *                       └─► awaiting-fingerprint ─► (Configure) verify ─► ready | failed
 *
 * Reading stays paused until the leg is ready: no byte is trusted before the peer certificate matched the Remote
 * certificate fingerprint.
 */
import type net from "node:net";
import tls from "node:tls";
import type { Fingerprint } from "../../sdp/index.ts";
import { CERTIFICATE_HASHES, fingerprintOf } from "../../security/certificate.ts";
import { verifyPeerCertificate } from "../../security/verify.ts";
import { AgwError } from "./iqErrors.ts";
import type { TlsFailureReason } from "./iqEvents.ts";
import type { SetupRole, TlsRole } from "./iqTypes.ts";
import type { HighWaterMark } from "./sockets.ts";
import type { TerminationInit } from "./terminationTypes.ts";

const CLAUSE_FINGERPRINT = "RFC 8122 §5.1/§6.2; TR 29.828 §5.2.1.2.2 steps 5-7, §5.2.1.2.3 steps 12-16";
/** The AGW signs and verifies with SHA-256 or stronger only: other signalled hashes are ignored (RFC 8122 §5.1). */
const AGW_HASHES = { hashes: CERTIFICATE_HASHES };

export type LegState = "tcp" | "handshaking" | "awaiting-fingerprint" | "ready" | "closed";

/** One TCP connection on the termination (candidate until it is ready). */
export class Leg {
  tls: tls.TLSSocket | undefined;
  role: TlsRole | undefined;
  state: LegState = "tcp";
  /**
   * SHA-256 fingerprint of the peer certificate once the handshake completed (audit, events). The certificate itself
   * is not kept: OpenSSL holds it in the session while the socket lives, and `peerCertificate()` reads it back for a
   * re-check (memory per idle leg).
   */
  presented: Fingerprint | undefined;
  protocol = "";
  timer: NodeJS.Timeout | undefined;
  /** set while the leg counts against the AGW's `maxHandshakes`; called once to give the slot back */
  endHandshake: (() => void) | undefined;
  constructor(
    readonly raw: net.Socket,
    readonly direction: "incoming" | "outgoing",
    readonly peerAddress: string,
    readonly peerPort: number,
  ) {}
  get stream(): net.Socket {
    return this.tls ?? this.raw;
  }
  /**
   * The peer certificate (DER) from the live TLS session; undefined once the socket is gone. `getPeerCertificate()`,
   * not `getPeerX509Certificate()`: on a TLS client, Node 20's `getPeerX509Certificate()` takes the leaf out of the
   * session's peer chain, so a second call returns undefined.
   */
  peerCertificate(): Buffer | undefined {
    const raw = this.tls?.getPeerCertificate()?.raw;
    return raw && raw.length > 0 ? raw : undefined;
  }
  /** In TLS setup: handshaking or waiting for the fingerprint. */
  get verifying(): boolean {
    return this.state === "handshaking" || this.state === "awaiting-fingerprint";
  }
  clearTimer(): void {
    if (this.timer) clearTimeout(this.timer);
    this.timer = undefined;
  }
  handshakeDone(): void {
    const end = this.endHandshake;
    this.endHandshake = undefined;
    end?.();
  }
  destroy(): void {
    this.clearTimer();
    this.handshakeDone();
    this.state = "closed";
    this.tls?.destroy();
    this.raw.destroy();
  }
}

/** The TLS-related IEs of a termination (TS 23.334) and the peer's a=setup (RFC 4145 §4). */
export interface TlsRoleSettings {
  readonly tlsRole: TlsRole | undefined;
  readonly establishTlsSession: boolean;
  readonly remoteSetup: SetupRole | undefined;
}

/**
 * TLS role: explicit IE; else "Establish (D)TLS session" ⇒ client (TS 23.334); else from the peer's a=setup
 * (peer active ⇒ AGW passive ⇒ server, peer passive ⇒ client: RFC 4145 §4 with RFC 8122 §6.2); else from the
 * TCP direction (the side that opened TCP is the TLS client).
 */
export function resolveTlsRole(s: TlsRoleSettings, direction: "incoming" | "outgoing"): TlsRole {
  if (s.tlsRole) return s.tlsRole;
  if (s.establishTlsSession) return "client";
  if (s.remoteSetup === "active") return "server";
  if (s.remoteSetup === "passive") return "client";
  return direction === "incoming" ? "server" : "client";
}

/** What the TLS leg needs from its termination. */
export interface TlsLegHost {
  remoteFingerprints(): readonly Fingerprint[];
  /** TS 23.334 "Notify (D)TLS session establishment Failure Event" is subscribed */
  notifyTlsFailure(): boolean;
  track(s: net.Socket): void;
  /** the TLS socket of `leg` closed */
  closed(leg: Leg): void;
  /** `leg`'s peer certificate matched: the leg is ready */
  verified(leg: Leg): void;
  /** `leg` failed and was destroyed */
  dropped(leg: Leg): void;
}

type Config = Pick<
  TerminationInit,
  "contextId" | "terminationId" | "credential" | "highWaterMark" | "timers" | "logger" | "hooks"
>;

export class TlsLegs {
  constructor(
    private readonly cfg: Config,
    private readonly host: TlsLegHost,
  ) {}

  start(leg: Leg, role: TlsRole): void {
    const { hooks, highWaterMark } = this.cfg;
    leg.role = role;
    leg.state = "handshaking";
    hooks.handshakeStarted();
    leg.endHandshake = () => hooks.handshakeEnded();
    let s: tls.TLSSocket;
    try {
      const credential = this.cfg.credential;
      if (!credential) throw new AgwError("E_AGW_INTERNAL", "TLS termination without certificate");
      // the socket is created right below, in this synchronous block: it takes this termination's certificate
      const secureContext = credential.contextForNewSocket();
      if (role === "server") {
        // RFC 8122 §6.2: the server MUST request the client certificate; self-signed ⇒ no CA check, fingerprint only
        const options: tls.TLSSocketOptions & HighWaterMark = {
          isServer: true,
          secureContext,
          requestCert: true,
          rejectUnauthorized: false,
          highWaterMark,
        };
        s = new tls.TLSSocket(leg.raw, options);
        s.once("secure", () => this.onHandshake(leg));
      } else {
        // TS 23.334 "Establish (D)TLS session": the AGW is TLS client; identity is the fingerprint, not a name
        const options: tls.ConnectionOptions & HighWaterMark = {
          socket: leg.raw,
          secureContext,
          rejectUnauthorized: false,
          checkServerIdentity: () => undefined,
          highWaterMark,
        };
        s = tls.connect(options);
        s.once("secureConnect", () => this.onHandshake(leg));
      }
    } catch (e) {
      this.fail(leg, "handshake-failed", e instanceof Error ? e.message : "TLS setup failed");
      return;
    }
    s.pause(); // application data stays in the socket until the leg is ready
    leg.tls = s;
    this.host.track(s);
    s.on("error", (e) => {
      if (leg.verifying) this.fail(leg, "handshake-failed", e.message);
    });
    s.once("close", () => this.host.closed(leg));
    // A FIN before the handshake completed: the peer can no longer finish it (our sockets allow half-open, so
    // nothing else would close the leg before the handshake timer). Only reached while no data is buffered.
    s.once("end", () => {
      if (leg.state === "handshaking") {
        this.fail(leg, "handshake-failed", "peer closed the connection during the TLS handshake");
      }
    });
    const handshakeMs = this.cfg.timers.handshakeMs;
    if (handshakeMs > 0) {
      leg.timer = setTimeout(
        () => this.fail(leg, "handshake-timeout", `no TLS handshake within ${handshakeMs} ms`),
        handshakeMs,
      );
    }
  }

  private onHandshake(leg: Leg): void {
    if (leg.state !== "handshaking") return;
    leg.clearTimer();
    leg.handshakeDone();
    const s = leg.tls;
    const der = leg.peerCertificate();
    if (!s || !der) {
      // RFC 8122 §6.2: both endpoints MUST present a certificate in offer/answer TLS
      this.fail(leg, "no-peer-certificate", "peer presented no certificate");
      return;
    }
    leg.presented = fingerprintOf(der, "sha-256");
    leg.protocol = s.getProtocol() ?? "";
    if (this.host.remoteFingerprints().length === 0) {
      // TR 29.828 §5.2.1.2.3 step 12: "The IMS-AGW needs to wait until step 14 to verify the received fingerprint";
      // RFC 8122 §6.2: data MUST NOT be trusted before a matching fingerprint arrives. Reading stays paused.
      leg.state = "awaiting-fingerprint";
      const waitMs = this.cfg.timers.fingerprintWaitMs;
      if (waitMs > 0) {
        leg.timer = setTimeout(
          () => this.fail(leg, "fingerprint-timeout", "remote certificate fingerprint was not configured in time"),
          waitMs,
        );
      }
      this.cfg.logger.debug(
        { contextId: this.cfg.contextId, terminationId: this.cfg.terminationId },
        "TLS up, waiting for fingerprint",
      );
      return;
    }
    this.verify(leg);
  }

  /** Checks the peer certificate against the Remote certificate fingerprint; ready or failed. */
  verify(leg: Leg): void {
    if (leg.presented === undefined || leg.state === "closed") return;
    leg.clearTimer();
    const der = leg.peerCertificate();
    if (!der) {
      this.fail(leg, "handshake-failed", "connection closed before the TLS session was verified");
      return;
    }
    const v = verifyPeerCertificate(der, this.host.remoteFingerprints(), AGW_HASHES);
    const noHash = v.outcome === "no-usable-fingerprint";
    this.auditFingerprint(leg, v.verified, v.verified ? undefined : noHash ? "no-supported-hash" : "mismatch");
    if (!v.verified) {
      // RFC 8122 §5.1: no matching fingerprint ⇒ MUST NOT establish the TLS connection (nothing is relayed)
      this.fail(
        leg,
        noHash ? "no-supported-fingerprint" : "fingerprint-mismatch",
        noHash
          ? "no signalled fingerprint uses a supported hash function"
          : "peer certificate does not match the remote certificate fingerprint",
        true,
      );
      return;
    }
    this.cfg.hooks.emit({
      event: "tlsSessionEstablished",
      contextId: this.cfg.contextId,
      terminationId: this.cfg.terminationId,
      role: leg.role ?? "server",
      protocol: leg.protocol,
      peerCertificateFingerprint: v.presented ?? fingerprintOf(der),
    });
    this.host.verified(leg);
  }

  /**
   * RFC 8842 §3 / RFC 8122 §5.1: a Configure changed the fingerprint; a verified leg whose peer certificate no longer
   * matches is failed. True when the leg was failed.
   */
  recheck(leg: Leg): boolean {
    if (leg.presented === undefined || leg.state !== "ready") return false;
    const der = leg.peerCertificate();
    if (der && verifyPeerCertificate(der, this.host.remoteFingerprints(), AGW_HASHES).verified) return false;
    this.auditFingerprint(leg, false, "fingerprint changed by Configure");
    this.fail(leg, "fingerprint-mismatch", "peer certificate does not match the reconfigured fingerprint", true);
    return true;
  }

  private auditFingerprint(leg: Leg, ok: boolean, reason?: string): void {
    this.cfg.hooks.audit({
      node: "agw",
      decision: ok ? "fingerprint-verified" : "fingerprint-mismatch",
      clause: CLAUSE_FINGERPRINT,
      contextId: this.cfg.contextId,
      terminationId: this.cfg.terminationId,
      peerAddress: leg.peerAddress,
      peerPort: leg.peerPort,
      tlsRole: leg.role,
      protocol: leg.protocol,
      presented: leg.presented,
      expected: this.host.remoteFingerprints(),
      ...(reason !== undefined ? { reason } : {}),
    });
  }

  /** Destroys the leg; audit (unless done), log, and the Notify (D)TLS session establishment Failure Event. */
  fail(leg: Leg, reason: TlsFailureReason, detail: string, audited = false): void {
    if (leg.state === "closed") return;
    const { contextId, terminationId, hooks } = this.cfg;
    const presented = leg.presented;
    leg.destroy();
    this.host.dropped(leg);
    if (!audited) {
      hooks.audit({
        node: "agw",
        decision: "handshake-failed",
        clause: CLAUSE_FINGERPRINT,
        contextId,
        terminationId,
        peerAddress: leg.peerAddress,
        peerPort: leg.peerPort,
        tlsRole: leg.role,
        reason,
        detail,
        presented,
        expected: this.host.remoteFingerprints(),
      });
    }
    this.cfg.logger.info({ contextId, terminationId, reason, detail }, "TLS leg failed");
    if (this.host.notifyTlsFailure()) {
      // TS 23.334 "Notify (D)TLS session establishment Failure Event"
      hooks.emit({
        event: "tlsSessionEstablishmentFailure",
        contextId,
        terminationId,
        reason,
        detail,
        peerAddress: leg.peerAddress,
        ...(presented !== undefined ? { peerCertificateFingerprint: presented } : {}),
      });
    }
  }
}
