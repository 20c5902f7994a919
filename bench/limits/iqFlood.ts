/**
 * The Iq flood of bench/limits.ts (docs/agw.md "Iq security"): one authenticated controller (a compromised or buggy
 * P-CSCF) reserves contexts as fast as the binding takes them, over WSS with mutual TLS, while a legitimate controller
 * reserves and releases one two-termination context every 50 ms. Run with the per-controller quota off (a quota as
 * large as the AGW) and on. Reported: what the flooder got (ok / E_AGW_QUOTA / other), the legitimate controller's
 * successes, failures and round trip, and the AGW's contexts, listeners and RSS at the peak.
 */
import { ImsAgw } from "../../src/ims/agw/agw.ts";
import { IqWsClient } from "../../src/ims/agw/wsClient.ts";
import { IqWsServer } from "../../src/ims/agw/wsServer.ts";
import { generateSessionCertificate, type SessionCertificate } from "../../src/security/certificate.ts";

export interface IqFloodResult {
  bench: "limits-iq";
  quota: number | "off";
  maxContexts: number;
  flood: { sent: number; ok: number; quota: number; other: Record<string, number>; ms: number };
  legit: { ok: number; failed: Record<string, number>; p50: number; p99: number; max: number };
  agw: { peakContexts: number; peakListeners: number; rssMiB: number };
}

const code = (e: unknown) => String((e as { code?: unknown }).code ?? "error");

function pct(xs: number[], p: number): number {
  if (xs.length === 0) return Number.NaN;
  const s = [...xs].sort((a, b) => a - b);
  return s[Math.min(s.length - 1, Math.floor((p / 100) * s.length))] ?? Number.NaN;
}

async function controller(url: string, me: SessionCertificate, agw: SessionCertificate): Promise<IqWsClient> {
  return IqWsClient.connect(url, {
    reconnect: false,
    pingIntervalMs: 0,
    timeoutMs: 30_000,
    tls: { certPem: me.certPem, keyPem: me.keyPem, agwFingerprints: [agw.fingerprint] },
  });
}

export async function runIqFlood(o: {
  count: number;
  maxContexts: number;
  quota: number | "off";
}): Promise<IqFloodResult> {
  const agwCert = generateSessionCertificate();
  const legitCert = generateSessionCertificate();
  const floodCert = generateSessionCertificate();
  const agw = new ImsAgw({ maxContexts: o.maxContexts });
  const q = o.quota === "off" ? o.maxContexts * 2 : o.quota;
  const server = await IqWsServer.listen({
    agw,
    pingIntervalMs: 0,
    tls: {
      certPem: agwCert.certPem,
      keyPem: agwCert.keyPem,
      controllers: [
        { name: "legit", fingerprint: legitCert.fingerprint },
        { name: "flooder", fingerprint: floodCert.fingerprint },
      ],
    },
    quota: { contexts: q, terminations: 2 * q, reservationsPerSecond: 1_000_000, reservationBurst: 1_000_000 },
  });
  const legit = await controller(server.url, legitCert, agwCert);
  const flooder = await controller(server.url, floodCert, agwCert);
  const rtt: number[] = [];
  const failed: Record<string, number> = {};
  let legitOk = 0;
  let peakContexts = 0;
  let peakListeners = 0;
  let flooding = true;
  const sample = () => {
    const r = agw.resources();
    peakContexts = Math.max(peakContexts, r.contexts);
    peakListeners = Math.max(peakListeners, r.listeners);
  };
  const legitLoop = (async () => {
    while (flooding) {
      const t0 = performance.now();
      try {
        const c = await legit.reserveAgwConnectionPoint({ side: "core", transport: "TCP" });
        await legit.reserveAgwConnectionPoint({ contextId: c.contextId, side: "access", transport: "TCP" });
        rtt.push(performance.now() - t0);
        legitOk++;
        sample();
        await legit.releaseAgwContext({ contextId: c.contextId });
      } catch (e) {
        failed[code(e)] = (failed[code(e)] ?? 0) + 1;
      }
      await new Promise((r) => setTimeout(r, 50));
    }
  })();
  const flood = { sent: 0, ok: 0, quota: 0, other: {} as Record<string, number>, ms: 0 };
  const start = performance.now();
  // 60 requests in flight (the binding allows 64 per connection)
  for (let i = 0; i < o.count; i += 60) {
    const wave = Math.min(60, o.count - i);
    const r = await Promise.all(
      Array.from({ length: wave }, () =>
        flooder.reserveAgwConnectionPoint({ side: "core", transport: "TCP" }).then(
          () => "ok",
          (e: unknown) => code(e),
        ),
      ),
    );
    flood.sent += wave;
    for (const x of r) {
      if (x === "ok") flood.ok++;
      else if (x === "E_AGW_QUOTA") flood.quota++;
      else flood.other[x] = (flood.other[x] ?? 0) + 1;
    }
    sample();
  }
  flood.ms = Math.round(performance.now() - start);
  // the flooder keeps its socket and its contexts for one more second of legitimate traffic
  await new Promise((r) => setTimeout(r, 1000));
  flooding = false;
  await legitLoop;
  const rssMiB = +(process.memoryUsage().rss / 2 ** 20).toFixed(1);
  await flooder.close();
  await legit.close();
  await server.close();
  await agw.close();
  return {
    bench: "limits-iq",
    quota: o.quota,
    maxContexts: o.maxContexts,
    flood,
    legit: {
      ok: legitOk,
      failed,
      p50: +pct(rtt, 50).toFixed(2),
      p99: +pct(rtt, 99).toFixed(2),
      max: +Math.max(...rtt, 0).toFixed(2),
    },
    agw: { peakContexts, peakListeners, rssMiB },
  };
}
