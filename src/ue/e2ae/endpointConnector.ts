/**
 * The connections of one e2ae stream before one is verified: the listener of a passive/actpass endpoint (RFC 4145
 * §4), incoming TCP connections taken through TLS and, when the remote fingerprint is not known yet, held unread
 * (TR 29.828 §5.2.1.2.2 steps 11/21), and the TCP-active connect with its retries. Every TLS-completed candidate
 * goes to the endpoint for the RFC 8122 §6 check; nothing here reads or writes a byte of MSRP/BFCP.
 */
import net from "node:net";
import type tls from "node:tls";
import type { Logger } from "../../log.ts";
import type { SessionCertificate } from "../../security/certificate.ts";
import type { Plan } from "./endpointPlan.ts";
import type { E2aeEndpointOptions, E2aeTimeouts } from "./endpointTypes.ts";
import { type E2aeError, toE2aeError } from "./errors.ts";
import { type E2aeKind, localTlsRole } from "./sdp.ts";
import { listen, plainAddress, type TlsRole, tcpConnect, tlsHandshake } from "./tls.ts";

/** A TCP connection (TLS done once `sock` is set) that may become the stream's connection. */
export interface Candidate {
  raw: net.Socket;
  sock?: tls.TLSSocket;
  timer?: NodeJS.Timeout;
}

export interface ConnectorOptions {
  kind: E2aeKind;
  address: string;
  certificate: SessionCertificate;
  timeouts: E2aeTimeouts;
  log: Logger;
  /** The endpoint's options (read as the endpoint reads them): port, tlsRole, acceptOnlyFromRemote, keyLog. */
  endpoint: E2aeEndpointOptions;
}

/** What the connector asks of its endpoint. */
export interface ConnectorHost {
  /** The roles and the remote m-line, once the offer/answer decided them. */
  plan(): Plan | undefined;
  closing(): boolean;
  /** Closing, failed, or a connection already adopted: no incoming connection is taken. */
  refusesIncoming(): boolean;
  /** The endpoint still waits for its verified connection (state "connecting"). */
  connecting(): boolean;
  /** A TLS-completed candidate, to check against the remote fingerprint (RFC 8122 §6). */
  verify(c: Candidate): void;
  fail(err: E2aeError): void;
}

export class E2aeConnector {
  private readonly opts: ConnectorOptions;
  private readonly host: ConnectorHost;
  private readonly log: Logger;
  private server: net.Server | undefined;
  private listenPort = 0;
  private readonly candidates = new Set<Candidate>();

  constructor(opts: ConnectorOptions, host: ConnectorHost) {
    this.opts = opts;
    this.host = host;
    this.log = opts.log;
  }

  /** The listening port (0 when not listening). */
  get port(): number {
    return this.listenPort;
  }

  /** The candidates now in TLS setup or held (a copy). */
  held(): Candidate[] {
    return [...this.candidates];
  }

  async startListening(): Promise<void> {
    if (this.server) return;
    const server = net.createServer((raw) => this.onIncoming(raw));
    server.on("error", (e) => this.log.warn({ err: e.message }, "e2ae listener error"));
    this.server = server;
    this.listenPort = await listen(server, this.opts.address, this.opts.endpoint.port ?? 0);
  }

  stopListening(): Promise<void> {
    const s = this.server;
    this.server = undefined;
    if (!s) return Promise.resolve();
    return new Promise<void>((r) => s.close(() => r()));
  }

  /** Destroys a candidate (timer, TLS socket, TCP socket). */
  drop(c: Candidate): void {
    if (!this.candidates.delete(c)) return;
    if (c.timer) clearTimeout(c.timer);
    c.sock?.destroy();
    c.raw.destroy();
  }

  /** Destroys every candidate. */
  dropAll(): void {
    for (const c of [...this.candidates]) this.drop(c);
  }

  /** Hands a verified candidate over to the endpoint: no longer ours to destroy. */
  release(c: Candidate): void {
    this.candidates.delete(c);
  }

  async connectActive(plan: Plan): Promise<void> {
    const attempts = 3;
    for (let i = 0; i < attempts; i++) {
      if (!this.host.connecting()) return;
      let cand: Candidate | undefined;
      try {
        const raw = await tcpConnect(plan.remoteAddress, plan.remotePort, { timeoutMs: this.opts.timeouts.connectMs });
        if (!this.host.connecting()) {
          raw.destroy();
          return;
        }
        cand = { raw };
        this.candidates.add(cand);
        raw.on("error", () => {});
        const sock = await tlsHandshake(raw, {
          role: plan.tls,
          certificate: this.opts.certificate,
          timeoutMs: this.opts.timeouts.tlsMs,
          ...(this.opts.endpoint.keyLog ? { keyLog: this.opts.endpoint.keyLog } : {}),
        });
        cand.sock = sock;
        this.host.verify(cand);
        return;
      } catch (e) {
        if (cand) this.candidates.delete(cand);
        const err = toE2aeError(e, "E_E2AE_CONNECT", "connect");
        // TR 29.828 §4.4.2.2: an anchor in delayed/drop mode resets early connections; the active side retries
        const retryable = err.code === "E_E2AE_CONNECT" || (err.code === "E_E2AE_TLS" && /closed/.test(err.message));
        if (!retryable || i === attempts - 1) {
          this.host.fail(err);
          return;
        }
        this.log.info({ attempt: i + 1, err: err.message }, "e2ae connect attempt failed; retrying");
        await new Promise<void>((r) => setTimeout(r, 250 * 2 ** i).unref?.());
      }
    }
  }

  private onIncoming(raw: net.Socket): void {
    raw.on("error", () => {});
    const plan = this.host.plan();
    if (this.host.refusesIncoming() || (plan && plan.tcp !== "passive")) {
      raw.destroy();
      return;
    }
    const from = plainAddress(raw.remoteAddress);
    if (this.opts.endpoint.acceptOnlyFromRemote && plan && from !== plainAddress(plan.remoteAddress)) {
      this.log.warn({ from }, "TCP connection from a source other than the remote c= address dropped");
      raw.destroy();
      return;
    }
    // bound the work a stranger can cause: at most 4 connections in TLS setup or held
    if (this.candidates.size >= 4) {
      raw.destroy();
      return;
    }
    const cand: Candidate = { raw };
    this.candidates.add(cand);
    // Before the answer the TLS role follows from our offer: we are TCP-passive (MSRP → TLS server), and for
    // BFCP the offerer is the TLS client (RFC 8856).
    const role: TlsRole = plan?.tls ?? this.opts.endpoint.tlsRole ?? localTlsRole(this.opts.kind, "passive", true);
    tlsHandshake(raw, {
      role,
      certificate: this.opts.certificate,
      timeoutMs: this.opts.timeouts.tlsMs,
      ...(this.opts.endpoint.keyLog ? { keyLog: this.opts.endpoint.keyLog } : {}),
    }).then(
      (sock) => {
        cand.sock = sock;
        if (!this.candidates.has(cand) || this.host.closing()) {
          sock.destroy();
          return;
        }
        if (this.host.plan()) {
          this.host.verify(cand);
          return;
        }
        // TR 29.828 §5.2.1.2.2 steps 11/21: the AGW may finish TLS before our answer arrives; hold it unread
        cand.timer = setTimeout(() => {
          this.log.warn({ from }, "TLS connection held without a remote fingerprint timed out");
          this.drop(cand);
        }, this.opts.timeouts.fingerprintWaitMs);
        cand.timer.unref?.();
        sock.once("close", () => this.drop(cand));
      },
      (e: unknown) => {
        this.candidates.delete(cand);
        this.log.info({ from, err: e instanceof Error ? e.message : String(e) }, "incoming TLS handshake failed");
      },
    );
  }
}
