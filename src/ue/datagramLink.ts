/**
 * The datagram transport under werift's RTCDtlsTransport. werift's DTLS reads four things from its "ICE transport":
 * `connection.onData`, `connection.send`, `connection.close` and `stop()`. This link offers exactly those, backed
 * either by werift's ICE transport (the nominated pair, consent freshness) or by a `UdpPath` (no ICE: plain UDP to the
 * signalled `c=`/port). The DTLS and SCTP code above it — with every hardening of the patched engine and the
 * fail-closed fingerprint check — is the same object on both paths; only the datagrams' way in and out differs.
 */
import { Event, type RTCIceTransport } from "#werift";
import type { UdpPath } from "./udpPath.ts";

export class DatagramLink {
  readonly connection: {
    onData: Event<[Buffer]>;
    send: (data: Buffer) => Promise<void>;
    close: () => Promise<void>;
  };
  private path: UdpPath | undefined;

  constructor(private readonly ice: RTCIceTransport) {
    this.connection = {
      onData: new Event<[Buffer]>(),
      send: (data) => (this.path ? this.path.connection.send(data) : this.ice.connection.send(data)),
      close: async () => {
        if (this.path) await this.path.close();
        else await this.ice.connection.close();
      },
    };
    ice.connection.onData.subscribe((buf: Buffer) => {
      if (!this.path) this.connection.onData.execute(buf);
    });
  }

  /** No ICE from now on: datagrams come from and go to `path`. */
  usePath(path: UdpPath): void {
    this.path = path;
    path.connection.onData.subscribe((buf) => this.connection.onData.execute(buf));
  }

  get direct(): boolean {
    return this.path !== undefined;
  }

  // what RTCDtlsTransport may read besides the connection (role "auto" is never used: the role comes from a=setup)
  get role(): string {
    return this.path ? "controlled" : this.ice.role;
  }
  get state(): string {
    return this.path ? "connected" : this.ice.state;
  }
  get localParameters(): unknown {
    return this.ice.localParameters;
  }
  get iceRestarts(): number {
    return this.ice.iceRestarts;
  }
  getStats(...args: unknown[]): Promise<unknown[]> {
    return (this.ice.getStats as (...a: unknown[]) => Promise<unknown[]>)(...args);
  }

  async stop(): Promise<void> {
    if (this.path) await this.path.close();
    await this.ice.stop();
  }

  /** The object werift's RTCDtlsTransport takes as its ICE transport. */
  asIceTransport(): RTCIceTransport {
    return this as unknown as RTCIceTransport;
  }
}
