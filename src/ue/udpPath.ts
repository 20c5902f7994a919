/**
 * DTLS/SCTP over plain UDP, without ICE (RFC 8841 §4 over UDP; TS 24.186 §9.3: IMS UEs and media functions address
 * data channel media by the `c=` line and the m-line port). A `UdpPath` is a datagram transport with the shape werift's
 * RTCDtlsTransport expects from its ICE transport (`connection.onData`, `connection.send`, `connection.close`), so the
 * very same hardened DTLS code runs over it; only the datagram source filter differs from ICE:
 *
 * - datagrams are accepted only from the signalled remote address and port (the peer's `c=`/port); any other source
 *   is dropped, counted (`counters.droppedOffPath`) and logged at debug level;
 * - NAT latching is opt-in (`latch: true`): a DTLS ClientHello from an unsignalled source, while the signalled one has
 *   sent nothing, makes that source *tentative*; it becomes the remote (latched) only once the DTLS handshake with it
 *   completed and its certificate matched the signalled fingerprint (`authenticated()`). A wrong certificate fails the
 *   association closed, as on any path.
 *
 * The socket is either our own node:dgram socket (ICE mode "none") or, when a full/lite agent falls back to no ICE,
 * the socket of its host candidate (the `c=`/port it signalled), taken over from werift's ICE layer.
 */

import { createSocket, type Socket } from "node:dgram";
import dns from "node:dns";
import { isIP } from "node:net";
import { Event } from "#werift";
import { type Logger, silentLogger } from "../log.ts";
import type { UdpPathCounters } from "./transportParams.ts";

/** Where datagrams come from and go to: a bound UDP socket (ours, or one taken over from werift). */
export interface DatagramBinding {
  readonly address: string;
  readonly port: number;
  send(data: Buffer, host: string, port: number): void;
  /** installs the receive handler (replacing whatever handled the socket before) */
  listen(onDatagram: (data: Buffer, host: string, port: number) => void): void;
  close(): Promise<void>;
}

const UDP_SOCKET_BUFFER_SIZE = 4 * 1024 * 1024;

/** A node:dgram socket of our own on `host` (port chosen by the system unless given). */
export async function bindUdp(host: string, port = 0): Promise<DatagramBinding> {
  let bound = false;
  const socket: Socket = createSocket({
    type: isIP(host) === 6 ? "udp6" : "udp4",
    // performance: once bound, an IP-literal destination is passed through synchronously (dgram's default, dns.lookup,
    // defers every send to a nextTick); names, and bind() whose callback must stay asynchronous, go to dns.lookup
    lookup: (hostname, options, callback) => {
      const family = isIP(hostname);
      if (bound && family !== 0) callback(null, hostname, family);
      else dns.lookup(hostname, options, callback);
    },
  });
  await new Promise<void>((resolve, reject) => {
    socket.once("error", reject);
    socket.bind({ address: host, port }, () => {
      socket.off("error", reject);
      resolve();
    });
  });
  bound = true;
  socket.on("error", () => {}); // an ICMP error on send must not crash the process
  // as werift's host candidate sockets: an SCTP window arrives as a burst of datagrams; the default buffers drop them
  // on loopback and each drop costs a retransmission (the kernel caps the request at net.core.[rw]mem_max)
  for (const set of ["setRecvBufferSize", "setSendBufferSize"] as const) {
    try {
      socket[set](UDP_SOCKET_BUFFER_SIZE);
    } catch {
      // left at the system default
    }
  }
  let handler: ((data: Buffer, host: string, port: number) => void) | undefined;
  socket.on("message", (data, rinfo) => handler?.(data, rinfo.address, rinfo.port));
  const local = socket.address();
  let closed = false;
  return {
    address: local.address,
    port: local.port,
    send: (data, h, p) => {
      // no callback (it cost a nextTick per datagram): a send error is an 'error' event, swallowed by the listener above
      if (!closed) socket.send(data, p, h);
    },
    listen: (fn) => {
      handler = fn;
    },
    close: () =>
      new Promise<void>((resolve) => {
        if (closed) return resolve();
        closed = true;
        socket.close(() => resolve());
      }),
  };
}

/** The part of werift's UdpTransport (host candidate socket) a fallback takes over. */
interface WeriftUdpTransport {
  socket: Socket;
  onData: (data: Buffer, addr: [string, number]) => void;
  closed: boolean;
}

/**
 * Takes over the socket of werift's host candidate on `port` (the `c=`/port we signalled): its datagrams go to us,
 * not to the ICE agent, from now on. werift still closes the socket when its gatherer closes.
 */
export function adoptWeriftSocket(connection: unknown, port: number): DatagramBinding | undefined {
  const protocols = (connection as { protocols?: { transport?: unknown }[] }).protocols ?? [];
  for (const p of protocols) {
    const t = p.transport as Partial<WeriftUdpTransport> | undefined;
    if (!t?.socket || typeof t.socket.address !== "function") continue;
    let local: { address: string; port: number };
    try {
      local = t.socket.address();
    } catch {
      continue;
    }
    if (local.port !== port) continue;
    const udp = t as WeriftUdpTransport;
    return {
      address: local.address,
      port: local.port,
      send: (data, h, pt) => {
        if (!udp.closed) udp.socket.send(data, pt, h, () => {});
      },
      listen: (fn) => {
        udp.onData = (data, addr) => fn(data, addr[0], addr[1]);
      },
      close: async () => {
        udp.onData = () => {};
      },
    };
  }
  return undefined;
}

export interface UdpPathOptions {
  /** opt-in NAT latching (see the file comment). Default false. */
  latch?: boolean;
  logger?: Logger;
}

/** RFC 7983 §7: first byte 20–63 is DTLS. */
function isDtlsRecord(b: Buffer): boolean {
  const first = b[0];
  return first !== undefined && first > 19 && first < 64;
}

/** RFC 6347 §4.2.2 / §4.3.2: a handshake record (type 22) of epoch 0 carrying a ClientHello (msg_type 1). */
function isClientHello(b: Buffer): boolean {
  return b.length > 13 && b[0] === 22 && b.readUInt16BE(3) === 0 && b[13] === 1;
}

const MAX_EARLY = 8;

/** what `connection.send` returns once the datagram is handed to the socket (no promise per datagram) */
const SENT: Promise<void> = Promise.resolve();

export class UdpPath {
  readonly counters: UdpPathCounters = { accepted: 0, droppedOffPath: 0, droppedEarly: 0 };
  /** what werift's RTCDtlsTransport reads from its ICE transport */
  readonly connection: {
    onData: Event<[Buffer]>;
    send: (data: Buffer) => Promise<void>;
    close: () => Promise<void>;
  };
  private remote: { address: string; port: number } | undefined;
  private tentative: { address: string; port: number } | undefined;
  private heardFromSignalled = false;
  private authenticatedOnce = false;
  private early: { data: Buffer; address: string; port: number }[] = [];
  private closed = false;
  private readonly latch: boolean;
  private readonly log: Logger;

  constructor(
    private readonly binding: DatagramBinding,
    opts: UdpPathOptions = {},
  ) {
    this.latch = opts.latch ?? false;
    this.log = opts.logger ?? silentLogger;
    this.connection = {
      onData: new Event<[Buffer]>(),
      send: (data) => {
        try {
          this.send(data);
          return SENT;
        } catch (e) {
          return Promise.reject(e);
        }
      },
      close: () => this.close(),
    };
    binding.listen((data, host, port) => this.receive(data, host, port));
  }

  get localAddress(): string {
    return this.binding.address;
  }
  get localPort(): number {
    return this.binding.port;
  }
  /** the address datagrams go to: the signalled `c=`/port, or the latched source */
  get remoteAddress(): { address: string; port: number } | undefined {
    return this.tentative ?? this.remote;
  }

  /** The peer's `c=` address and m-line port (RFC 4566 §5.7, §5.14); datagrams from elsewhere are dropped. */
  setRemote(address: string, port: number): void {
    this.remote = { address, port };
    const early = this.early.splice(0);
    for (const d of early) this.receive(d.data, d.address, d.port);
  }

  /** The DTLS handshake completed and the peer's certificate matched the signalled fingerprint: commit a latch. */
  authenticated(): void {
    this.authenticatedOnce = true;
    if (!this.tentative) return;
    this.remote = this.tentative;
    this.tentative = undefined;
    this.counters.latched = { ...this.remote };
    this.log.info({ latched: this.remote }, "no-ICE path latched on the authenticated DTLS peer");
  }

  private receive(data: Buffer, address: string, port: number): void {
    if (this.closed) return;
    if (!this.remote) {
      // before the remote description: hold a few DTLS records (the peer may start its handshake first)
      if (isDtlsRecord(data) && this.early.length < MAX_EARLY) this.early.push({ data, address, port });
      else this.counters.droppedEarly++;
      return;
    }
    const fromSignalled = address === this.remote.address && port === this.remote.port;
    const fromTentative = this.tentative && address === this.tentative.address && port === this.tentative.port;
    if (fromTentative || (fromSignalled && !this.tentative)) {
      if (fromSignalled) this.heardFromSignalled = true;
      this.deliver(data);
      return;
    }
    if (
      this.latch &&
      !this.authenticatedOnce &&
      !this.heardFromSignalled &&
      !this.tentative &&
      !fromSignalled &&
      isClientHello(data)
    ) {
      // opt-in latching: this source may be the peer behind a NAT; it is trusted only after an authenticated handshake
      this.tentative = { address, port };
      this.log.info({ source: `${address}:${port}` }, "no-ICE path: tentative latch on a ClientHello source");
      this.deliver(data);
      return;
    }
    this.counters.droppedOffPath++;
    this.log.debug(
      { source: `${address}:${port}`, bytes: data.length, dropped: this.counters.droppedOffPath },
      "datagram from an unsignalled source dropped (no-ICE path)",
    );
  }

  private deliver(data: Buffer): void {
    this.counters.accepted++;
    this.connection.onData.execute(data);
  }

  private send(data: Buffer): void {
    const to = this.remoteAddress;
    if (this.closed || !to) return;
    this.binding.send(data, to.address, to.port);
  }

  async close(): Promise<void> {
    if (this.closed) return;
    this.closed = true;
    this.early = [];
    await this.binding.close();
  }
}
