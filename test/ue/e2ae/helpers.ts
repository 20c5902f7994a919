/**
 * Helpers of the e2ae UE tests: bounded waits, leak checks, plain TCP MSRP/BFCP peers for the IMS core side, and
 * the SDP edits the P-CSCF (IMS-ALG) makes in the TR 29.828 flows (steps 8 / 17-19), done here by hand because
 * the tests drive the IMS-AGW through the Iq API directly.
 */
import net from "node:net";
import { deadline } from "../../../src/errors.ts";
import {
  editSdpMedia,
  type Fingerprint,
  formatFingerprint,
  formatMsrpUri,
  parseMsrpUri,
  readMedia,
  replaceMediaSection,
  splitSections,
} from "../../../src/sdp/index.ts";

export const LOOPBACK = "127.0.0.1";

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

/** Rejects after `ms` unless `p` settles first: `deadline` of src/errors.ts with a test's message. */
export function within<T>(p: Promise<T>, ms: number, what: string): Promise<T> {
  return deadline(p, ms, () => new Error(`${what} not done within ${ms} ms`));
}

/** Counts of active handles by type (sockets, servers, timers). */
export function activeResources(): Map<string, number> {
  const m = new Map<string, number>();
  for (const r of process.getActiveResourcesInfo()) m.set(r, (m.get(r) ?? 0) + 1);
  return m;
}

/** Socket/server handles created since `before` that are still alive after `ms` (timers are not counted). */
export async function leakedHandles(before: Map<string, number>, ms = 3000): Promise<Record<string, number>> {
  const watch = ["TCPSocketWrap", "TCPServerWrap", "TLSWrap"];
  const now = (): Record<string, number> => {
    const out: Record<string, number> = {};
    for (const [k, v] of activeResources()) {
      const d = v - (before.get(k) ?? 0);
      if (d > 0 && watch.includes(k)) out[k] = d;
    }
    return out;
  };
  const t0 = Date.now();
  let l = now();
  while (Object.keys(l).length > 0 && Date.now() - t0 < ms) {
    await sleep(25);
    l = now();
  }
  return l;
}

/** A plain TCP server on 127.0.0.1 handing each connection to `onConnection`. */
export async function tcpServer(
  onConnection: (s: net.Socket) => void,
): Promise<{ server: net.Server; port: number; sockets: net.Socket[]; close(): Promise<void> }> {
  const sockets: net.Socket[] = [];
  const server = net.createServer((s) => {
    sockets.push(s);
    s.on("error", () => {});
    onConnection(s);
  });
  await new Promise<void>((r) => server.listen(0, LOOPBACK, () => r()));
  const port = (server.address() as net.AddressInfo).port;
  return {
    server,
    port,
    sockets,
    close: async () => {
      for (const s of sockets) s.destroy();
      await new Promise<void>((r) => server.close(() => r()));
    },
  };
}

export function tcpConnect(port: number): Promise<net.Socket> {
  return new Promise((resolve, reject) => {
    const s = net.connect(port, LOOPBACK);
    s.once("connect", () => resolve(s));
    s.once("error", reject);
  });
}

// ---- the IMS-ALG's SDP rewrites (TR 29.828 §5.2.1.2.x / §5.2.1.3.x), by hand ------------------------------------

const TLS_OF: Record<string, string> = { "TCP/MSRP": "TCP/TLS/MSRP", "TCP/BFCP": "TCP/TLS/BFCP" };
const PLAIN_OF: Record<string, string> = { "TCP/TLS/MSRP": "TCP/MSRP", "TCP/TLS/BFCP": "TCP/BFCP" };

function rewritePathLast(section: string, leg: { address: string; port: number }, tls: boolean): string {
  const line = /^a=path:(.*)$/m.exec(section);
  if (!line?.[1]) return section;
  const uris = line[1].trim().split(" ");
  const last = parseMsrpUri(uris[uris.length - 1] ?? "").value;
  if (!last) return section;
  // the P-CSCF's default msrpPath "rewrite-last": scheme per leg, host/port = the AGW termination, session-id kept
  const next = formatMsrpUri({
    ...last,
    scheme: tls ? "msrps" : "msrp",
    host: leg.address,
    port: leg.port,
    transport: "tcp",
  });
  uris[uris.length - 1] = next;
  return section.replace(/^a=path:.*$/m, `a=path:${uris.join(" ")}`);
}

/**
 * Toward the core (originating step 8 / terminating step 17): TCP/TLS/… → TCP/…, a=3ge2ae and a=fingerprint
 * removed, c=/m= = the AGW core termination, a=path last URI rewritten.
 */
export function toCore(sdp: string, mline: number, leg: { address: string; port: number }): string {
  const m = readMedia(sdp)[mline];
  if (!m) throw new Error("no such m-line");
  let body = editSdpMedia(sdp, mline, {
    proto: PLAIN_OF[m.proto] ?? m.proto,
    port: m.port === 9 ? 9 : leg.port,
    connection: `IN IP4 ${leg.address}`,
    remove: ["3ge2ae", "fingerprint"],
  });
  const sec = splitSections(body).media[mline]?.text ?? "";
  body = replaceMediaSection(body, mline, rewritePathLast(sec, leg, false));
  return body.replace(/^c=IN IP4 .*$/m, `c=IN IP4 ${leg.address}`);
}

/**
 * Toward the UE (originating step 19 / terminating step 8): TCP/… → TCP/TLS/…, the AGW fingerprint, optionally
 * a=3ge2ae:applied, c=/m= = the AGW access termination, a=path last URI rewritten.
 */
export function toUe(
  sdp: string,
  mline: number,
  leg: { address: string; port: number },
  fingerprint: Fingerprint,
  opts: { applied?: boolean } = {},
): string {
  const m = readMedia(sdp)[mline];
  if (!m) throw new Error("no such m-line");
  const insert = [`a=fingerprint:${formatFingerprint(fingerprint)}`];
  if (opts.applied) insert.push("a=3ge2ae:applied");
  let body = editSdpMedia(sdp, mline, {
    proto: TLS_OF[m.proto] ?? m.proto,
    port: m.port === 9 ? 9 : leg.port,
    connection: `IN IP4 ${leg.address}`,
    remove: ["fingerprint", "3ge2ae"],
    insert,
  });
  const sec = splitSections(body).media[mline]?.text ?? "";
  body = replaceMediaSection(body, mline, rewritePathLast(sec, leg, true));
  return body.replace(/^c=IN IP4 .*$/m, `c=IN IP4 ${leg.address}`);
}

/** Flips the last byte of every a=fingerprint value. */
export function tamperFingerprint(sdp: string): string {
  return sdp.replace(/a=fingerprint:(\S+) ([0-9A-F:]+)/g, (_m, alg: string, fp: string) => {
    const last = fp.slice(-2);
    const flipped = ((Number.parseInt(last, 16) ^ 0xff) & 0xff).toString(16).toUpperCase().padStart(2, "0");
    return `a=fingerprint:${alg} ${fp.slice(0, -2)}${flipped}`;
  });
}
