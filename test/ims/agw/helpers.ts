/**
 * Test helpers for the IMS-AGW: a recording core-side TCP peer, a UE on node:tls with its own self-signed
 * certificate, event waiting. Everything binds 127.0.0.0/8 only and every wait is bounded.
 */
import { createHash } from "node:crypto";
import net from "node:net";
import tls from "node:tls";
import type { IqEvent, IqEventName } from "../../../src/ims/agw/iqEvents.ts";
import type { IqAgw } from "../../../src/ims/agw/iqTypes.ts";
import { generateSessionCertificate, type SessionCertificate } from "../../../src/security/certificate.ts";

export const LOOPBACK = "127.0.0.1";
/** 127.0.0.0/8 is all loopback on Linux: a second source address for filtering tests. */
export const FOREIGN = "127.0.0.2";

export function sleep(ms: number): Promise<void> {
  return new Promise((r) => setTimeout(r, ms));
}

export async function waitFor(pred: () => boolean, timeoutMs = 5000, what = "condition"): Promise<void> {
  const t0 = Date.now();
  while (!pred()) {
    if (Date.now() - t0 > timeoutMs) throw new Error(`timed out waiting for ${what}`);
    await sleep(10);
  }
}

/** Records every event of an Iq endpoint; `next()` waits for one matching. */
export class EventRecorder {
  readonly events: IqEvent[] = [];
  private readonly off: () => void;
  constructor(iq: IqAgw) {
    this.off = iq.onEvent((e) => this.events.push(e));
  }
  of<N extends IqEventName>(name: N, terminationId?: string): Extract<IqEvent, { event: N }>[] {
    return this.events.filter(
      (e): e is Extract<IqEvent, { event: N }> =>
        e.event === name && (terminationId === undefined || e.terminationId === terminationId),
    );
  }
  async next<N extends IqEventName>(
    name: N,
    terminationId?: string,
    timeoutMs = 5000,
    count = 1,
  ): Promise<Extract<IqEvent, { event: N }>> {
    await waitFor(() => this.of(name, terminationId).length >= count, timeoutMs, `event ${name}`);
    const e = this.of(name, terminationId)[count - 1];
    if (!e) throw new Error("unreachable");
    return e;
  }
  stop(): void {
    this.off();
  }
}

/** A plain TCP peer on the core side: records connections and bytes; optional reply. */
export class CorePeer {
  readonly server: net.Server;
  readonly sockets: net.Socket[] = [];
  readonly received: Buffer[] = [];
  private hash = createHash("sha256");
  bytes = 0;
  connections = 0;
  paused = false;
  port = 0;

  private constructor(onConnection?: (s: net.Socket, peer: CorePeer) => void) {
    this.server = net.createServer({ allowHalfOpen: true }, (s) => {
      this.connections++;
      this.sockets.push(s);
      s.on("error", () => {});
      s.on("data", (d: Buffer) => {
        this.bytes += d.length;
        this.hash.update(d);
        if (this.received.length < 1000) this.received.push(d);
      });
      if (this.paused) s.pause();
      onConnection?.(s, this);
    });
  }

  static async start(onConnection?: (s: net.Socket, peer: CorePeer) => void): Promise<CorePeer> {
    const p = new CorePeer(onConnection);
    await new Promise<void>((r) => p.server.listen(0, LOOPBACK, () => r()));
    p.port = (p.server.address() as net.AddressInfo).port;
    return p;
  }

  text(): string {
    return Buffer.concat(this.received).toString("latin1");
  }

  digest(): string {
    return this.hash.copy().digest("hex");
  }

  get socket(): net.Socket | undefined {
    return this.sockets[0];
  }

  async close(): Promise<void> {
    for (const s of this.sockets) s.destroy();
    await new Promise<void>((r) => this.server.close(() => r()));
  }
}

export function newCertificate(): SessionCertificate {
  return generateSessionCertificate();
}

/** The UE: TLS client with its own self-signed certificate (as in RFC 4975/8122 e2ae). */
export function ueConnect(
  port: number,
  cert: SessionCertificate,
  opts: { localAddress?: string; host?: string; maxVersion?: tls.SecureVersion } = {},
): Promise<tls.TLSSocket> {
  return new Promise((resolve, reject) => {
    const s = tls.connect({
      ...(opts.maxVersion ? { maxVersion: opts.maxVersion } : {}),
      host: opts.host ?? LOOPBACK,
      port,
      cert: cert.certPem,
      key: cert.keyPem,
      rejectUnauthorized: false, // self-signed: the UE checks the AGW's fingerprint itself
      checkServerIdentity: () => undefined,
      ...(opts.localAddress ? { localAddress: opts.localAddress } : {}),
    });
    const timer = setTimeout(() => {
      s.destroy();
      reject(new Error("UE TLS connect timed out"));
    }, 5000);
    s.once("secureConnect", () => {
      clearTimeout(timer);
      resolve(s);
    });
    s.once("error", (e) => {
      clearTimeout(timer);
      reject(e);
    });
  });
}

/** Resolves when `s` closes (or after `timeoutMs`), with whether it closed. */
export function closed(s: net.Socket, timeoutMs = 5000): Promise<boolean> {
  if (s.destroyed && s.closed) return Promise.resolve(true);
  return new Promise((r) => {
    const t = setTimeout(() => r(false), timeoutMs);
    s.once("close", () => {
      clearTimeout(t);
      r(true);
    });
  });
}

/** Collects everything a readable gives until `n` bytes (or timeout). */
export function collect(s: net.Socket, n: number, timeoutMs = 5000): Promise<Buffer> {
  return new Promise((resolve, reject) => {
    const chunks: Buffer[] = [];
    let got = 0;
    const t = setTimeout(() => {
      s.off("data", onData);
      reject(new Error(`collected ${got}/${n} bytes before timeout`));
    }, timeoutMs);
    const onData = (d: Buffer) => {
      chunks.push(d);
      got += d.length;
      if (got >= n) {
        clearTimeout(t);
        s.off("data", onData);
        resolve(Buffer.concat(chunks));
      }
    };
    s.on("data", onData);
  });
}

/** Deterministic pseudo-random block stream: block i = sha256 chain, so order errors change the digest. */
export function patternChunk(i: number, size: number): Buffer {
  const out = Buffer.allocUnsafe(size);
  let seed = createHash("sha256").update(`chunk-${i}`).digest();
  for (let off = 0; off < size; off += seed.length) {
    seed.copy(out, off, 0, Math.min(seed.length, size - off));
    seed = createHash("sha256").update(seed).digest();
  }
  return out;
}

/** Connects a plain TCP client, optionally from a given source address; resolves on connect. */
export function tcpConnect(port: number, localAddress?: string): Promise<net.Socket> {
  return new Promise((resolve, reject) => {
    const s = net.connect({ host: LOOPBACK, port, ...(localAddress ? { localAddress } : {}), allowHalfOpen: true });
    const t = setTimeout(() => {
      s.destroy();
      reject(new Error("TCP connect timed out"));
    }, 5000);
    s.once("connect", () => {
      clearTimeout(t);
      resolve(s);
    });
    s.once("error", (e) => {
      clearTimeout(t);
      reject(e);
    });
  });
}

/** Resolves with how a socket ended: "reset"/"error" (error event), "closed" (close without error). */
export function outcome(s: net.Socket, timeoutMs = 3000): Promise<"error" | "closed" | "open"> {
  return new Promise((r) => {
    let err = false;
    const t = setTimeout(() => r("open"), timeoutMs);
    s.on("error", () => {
      err = true;
    });
    s.once("close", () => {
      clearTimeout(t);
      r(err ? "error" : "closed");
    });
  });
}
