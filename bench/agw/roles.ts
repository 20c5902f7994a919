/**
 * Child processes of bench/agw.ts (one role per process, driven over IPC):
 *   sink            TCP sink: counts bytes per connection, writes one byte back when TARGET arrived
 *   plain-relay     baseline: plain Node TCP relay (net server + pipe), as in anchors-measured.md §3
 *   node-tls-relay  reference: naive Node TLS-terminating relay (tls server + pipe), no fingerprint logic
 *   agw             the IMS-AGW (ImsAgw), contexts set up on request
 *   client          bulk sender (TCP or TLS with its own certificate), waits for the sink's ack
 *   memclient       opens and holds many idle TLS connections
 * Every role exits on "exit", on IPC disconnect, and after a hard timeout.
 */
import { constants } from "node:crypto";
import { readFileSync } from "node:fs";
import net from "node:net";
import tls from "node:tls";
import { ImsAgw } from "../../src/ims/agw/agw.ts";
import { AuditLog } from "../../src/log.ts";
import type { Fingerprint } from "../../src/sdp/index.ts";
import { generateSessionCertificate, type SessionCertificate } from "../../src/security/certificate.ts";
import { exitOnHelp } from "../cli.ts";

exitOnHelp(`usage: node --import tsx bench/agw/roles.ts sink|plain-relay|node-tls-relay|agw|tls-holder|client|memclient [ARGS…]

One role of the IMS-AGW benchmark per process, forked and driven over IPC by bench/agw.ts (run that instead).
`);

type Msg = Record<string, unknown>;

const role = process.argv[2];
const send = (m: unknown) => process.send?.(m);
const HARD_TIMEOUT_MS = Number(process.env.AGW_BENCH_CHILD_TIMEOUT_MS ?? 900_000);
setTimeout(() => process.exit(3), HARD_TIMEOUT_MS).unref();
process.on("disconnect", () => process.exit(0));

function rssKiB(): number {
  // /proc/self/status VmRSS (KiB) — same source as anchors-measured.md §3b
  const m = /VmRSS:\s+(\d+)/.exec(readFileSync("/proc/self/status", "utf8"));
  return m ? Number(m[1]) : 0;
}

const gc = (globalThis as { gc?: () => void }).gc;

async function memReport(extra: Msg = {}): Promise<Msg> {
  gc?.();
  gc?.();
  await new Promise((r) => setTimeout(r, 300));
  gc?.();
  const mu = process.memoryUsage();
  return {
    rssKiB: rssKiB(),
    heapUsed: mu.heapUsed,
    heapTotal: mu.heapTotal,
    external: mu.external,
    arrayBuffers: mu.arrayBuffers,
    ...extra,
  };
}

function listen(server: net.Server): Promise<number> {
  return new Promise((r) => server.listen(0, "127.0.0.1", 4096, () => r((server.address() as net.AddressInfo).port)));
}

async function sink(target: number): Promise<void> {
  const server = net.createServer((s) => {
    let got = 0;
    let done = false;
    s.on("data", (b: Buffer) => {
      got += b.length;
      if (!done && got >= target) {
        done = true;
        s.write("K");
      }
    });
    s.on("error", () => {});
  });
  send({ ready: true, port: await listen(server) });
}

async function plainRelay(sinkPort: number, useTls: boolean): Promise<void> {
  const onConn = (c: net.Socket) => {
    const up = net.connect(sinkPort, "127.0.0.1");
    c.pipe(up);
    up.pipe(c);
    c.on("error", () => up.destroy());
    up.on("error", () => c.destroy());
  };
  let server: net.Server;
  if (useTls) {
    const cert = generateSessionCertificate();
    server = tls.createServer({ cert: cert.certPem, key: cert.keyPem, minVersion: "TLSv1.2" }, onConn);
  } else {
    server = net.createServer(onConn);
  }
  send({ ready: true, port: await listen(server) });
}

/**
 * `pregen`: the termination scope with certificates generated before the measurement starts (`pregen` command), so
 * the memory figure splits into what a leg holds and what generating its certificate left behind (freed key and
 * certificate objects that only V8's GC releases, and the allocator's high-water mark).
 */
async function agwRole(scope: "termination" | "agw", pregen = false): Promise<void> {
  const hwm = Number(process.env.AGW_HWM ?? 256 * 1024);
  const certificates: SessionCertificate[] = [];
  // audit events go to a sink in production; the in-memory copy is kept small here (it would count as leg memory)
  const audit = new AuditLog({ max: Number(process.env.AGW_AUDIT_MAX ?? 100) });
  const agw = new ImsAgw({
    audit,
    certificateScope: scope,
    ...(pregen ? { certificateFactory: () => certificates.pop() ?? generateSessionCertificate() } : {}),
    highWaterMark: hwm,
    maxContexts: 20_000,
    timers: { establishmentMs: 600_000, handshakeMs: 120_000 },
  });
  let legContexts: string[] = [];
  process.on("message", async (raw: Msg) => {
    const m = raw;
    try {
      if (m.cmd === "context") {
        const core = await agw.reserveAndConfigureAgwConnectionPoint({
          side: "core",
          transport: m.kind === "tls" ? "TCP/MSRP" : "TCP",
          remote: { address: "127.0.0.1", port: Number(m.sinkPort), setup: "passive" },
        });
        const access = await agw.reserveAndConfigureAgwConnectionPoint({
          contextId: core.contextId,
          side: "access",
          transport: m.kind === "tls" ? "TCP/TLS/MSRP" : "TCP",
          remote:
            m.kind === "tls"
              ? {
                  address: "127.0.0.1",
                  port: 9,
                  setup: "active",
                  certificateFingerprints: [m.fingerprint as Fingerprint],
                }
              : { address: "127.0.0.1", port: 9, setup: "active" },
        });
        send({ port: access.localPort, contextId: access.contextId });
      } else if (m.cmd === "release") {
        await agw.releaseAgwContext({ contextId: String(m.contextId) });
        send({ released: true });
      } else if (m.cmd === "reserveLegs") {
        const ports: number[] = [];
        for (let i = 0; i < Number(m.n); i++) {
          const t = await agw.reserveAndConfigureAgwConnectionPoint({
            side: "access",
            transport: "TCP/TLS/MSRP",
            remote: {
              address: "127.0.0.1",
              port: 9,
              setup: "active",
              certificateFingerprints: [m.fingerprint as Fingerprint],
            },
          });
          legContexts.push(t.contextId);
          ports.push(t.localPort);
        }
        send({ ports });
      } else if (m.cmd === "ready") {
        let ready = 0;
        for (const id of legContexts) if (agw.inspectContext(id)?.terminations[0]?.state === "ready") ready++;
        send({ ready });
      } else if (m.cmd === "pregen") {
        for (let i = 0; i < Number(m.n); i++) certificates.push(generateSessionCertificate());
        send({ pregenerated: certificates.length });
      } else if (m.cmd === "mem") {
        send(await memReport({ contexts: agw.contextCount }));
      } else if (m.cmd === "exit") {
        legContexts = [];
        process.exit(0);
      }
    } catch (e) {
      send({ error: e instanceof Error ? e.message : String(e) });
    }
  });
  send({ ready: true });
}

/** Baseline for the memory figure: a plain Node TLS server (one certificate, one listener) holding connections. */
async function tlsHolder(noTicket: boolean): Promise<void> {
  const cert = generateSessionCertificate();
  const held = new Set<tls.TLSSocket>();
  const server = tls.createServer(
    {
      cert: cert.certPem,
      key: cert.keyPem,
      requestCert: true,
      rejectUnauthorized: false,
      minVersion: "TLSv1.2",
      // "naive-noticket" (breakdown only): the same without session tickets, as the AGW's TLS context
      ...(noTicket ? { secureOptions: constants.SSL_OP_NO_TICKET } : {}),
    },
    (s) => {
      held.add(s);
      s.on("error", () => {});
      s.once("close", () => held.delete(s));
    },
  );
  const port = await listen(server);
  process.on("message", async (m: Msg) => {
    if (m.cmd === "reserveLegs") send({ ports: Array.from({ length: Number(m.n) }, () => port) });
    else if (m.cmd === "ready") send({ ready: held.size });
    else if (m.cmd === "mem") send(await memReport({ conns: held.size }));
    else if (m.cmd === "exit") process.exit(0);
  });
  send({ ready: true });
}

async function client(mode: string, total: number, chunk: number): Promise<void> {
  const cert = mode === "tls" ? generateSessionCertificate() : undefined;
  send({ fingerprint: cert?.fingerprint ?? null });
  const port = await new Promise<number>((r) => process.once("message", (m: Msg) => r(Number(m.port))));
  const buf = Buffer.alloc(chunk, 0x61);
  let sent = 0;
  let info: Msg = {};
  const go = (s: net.Socket) => {
    const c0 = process.cpuUsage();
    const t0 = process.hrtime.bigint();
    s.once("data", () => {
      const dt = Number(process.hrtime.bigint() - t0) / 1e9;
      const c = process.cpuUsage(c0);
      send({ bytes: sent, seconds: dt, MBps: sent / 1e6 / dt, clientCpuS: (c.user + c.system) / 1e6, ...info });
      s.destroy();
      setTimeout(() => process.exit(0), 50);
    });
    const pump = () => {
      while (sent < total) {
        sent += buf.length;
        if (!s.write(buf)) {
          s.once("drain", pump);
          return;
        }
      }
    };
    pump();
  };
  if (cert) {
    const s = tls.connect(
      { host: "127.0.0.1", port, cert: cert.certPem, key: cert.keyPem, rejectUnauthorized: false },
      () => {
        info = { protocol: s.getProtocol(), cipher: s.getCipher().name };
        go(s);
      },
    );
    s.on("error", (e) => {
      send({ error: e.message });
      process.exit(1);
    });
  } else {
    const s = net.connect(port, "127.0.0.1", () => go(s));
    s.on("error", (e) => {
      send({ error: e.message });
      process.exit(1);
    });
  }
}

async function memclient(): Promise<void> {
  const cert = generateSessionCertificate();
  const socks: tls.TLSSocket[] = [];
  process.on("message", async (m: Msg) => {
    if (m.cmd === "open") {
      const ports = m.ports as number[];
      const t0 = process.hrtime.bigint();
      let i = 0;
      let failed = 0;
      const worker = async () => {
        while (i < ports.length) {
          const port = ports[i++] as number;
          await new Promise<void>((resolve) => {
            const s = tls.connect(
              { host: "127.0.0.1", port, cert: cert.certPem, key: cert.keyPem, rejectUnauthorized: false },
              () => resolve(),
            );
            s.on("error", () => {
              failed++;
              resolve();
            });
            socks.push(s);
          });
        }
      };
      await Promise.all(Array.from({ length: Number(m.conc ?? 100) }, worker));
      const dt = Number(process.hrtime.bigint() - t0) / 1e9;
      send({ opened: socks.length, failed, seconds: dt, perSec: ports.length / dt });
    } else if (m.cmd === "mem") {
      send(await memReport({ conns: socks.length }));
    } else if (m.cmd === "exit") {
      process.exit(0);
    }
  });
  send({ ready: true, fingerprint: cert.fingerprint });
}

switch (role) {
  case "sink":
    await sink(Number(process.argv[3]));
    break;
  case "plain-relay":
    await plainRelay(Number(process.argv[3]), false);
    break;
  case "node-tls-relay":
    await plainRelay(Number(process.argv[3]), true);
    break;
  case "agw":
    await agwRole(process.argv[3] === "agw" ? "agw" : "termination", process.argv[3] === "termination-pregen");
    break;
  case "tls-holder":
    await tlsHolder(process.argv[3] === "noticket");
    break;
  case "client":
    await client(String(process.argv[3]), Number(process.argv[4]), Number(process.argv[5]));
    break;
  case "memclient":
    await memclient();
    break;
  default:
    console.error(`unknown role ${role}`);
    process.exit(2);
}
