/** A plain UDP socket on 127.0.0.1 playing a hand-written SIP UAC or UAS, so every byte on the wire can be checked. */
import { createSocket, type Socket } from "node:dgram";

export interface UdpPeer<T> {
  sock: Socket;
  port: number;
  /** datagrams no `next()` was waiting for, decoded */
  inbox: T[];
  send(text: string, port: number): void;
  /** the next datagram whose decoded form matches (from the inbox, or as it arrives) */
  next(pred: (m: T) => boolean, ms?: number): Promise<T>;
  close(): Promise<void>;
}

/**
 * `decode` turns each datagram into what the test inspects (a parsed message, or the raw text). `send` writes the
 * text as latin1, with bare LF turned into CRLF unless `crlf: false` (for tests that send the exact bytes).
 */
export async function udpPeer<T>(decode: (b: Buffer) => T, opts: { crlf?: boolean } = {}): Promise<UdpPeer<T>> {
  const sock = createSocket("udp4");
  const inbox: T[] = [];
  const waiters: { pred: (m: T) => boolean; resolve: (m: T) => void }[] = [];
  sock.on("message", (b) => {
    const m = decode(b);
    const w = waiters.findIndex((x) => x.pred(m));
    if (w >= 0) waiters.splice(w, 1)[0]?.resolve(m);
    else inbox.push(m);
  });
  await new Promise<void>((r) => sock.bind(0, "127.0.0.1", () => r()));
  return {
    sock,
    port: sock.address().port,
    inbox,
    send(text, to) {
      const wire = opts.crlf === false ? text : text.replace(/\r?\n/g, "\r\n");
      sock.send(Buffer.from(wire, "latin1"), to, "127.0.0.1");
    },
    next(pred, ms = 2000) {
      const i = inbox.findIndex(pred);
      if (i >= 0) return Promise.resolve(inbox.splice(i, 1)[0] as T);
      return new Promise((resolve, reject) => {
        const t = setTimeout(() => reject(new Error("no matching datagram")), ms);
        waiters.push({
          pred,
          resolve: (m) => {
            clearTimeout(t);
            resolve(m);
          },
        });
      });
    },
    close: () => new Promise<void>((r) => sock.close(() => r())),
  };
}
