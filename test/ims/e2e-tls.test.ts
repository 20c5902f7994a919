/**
 * The IMS core over TLS (RFC 3261 §26.2) and WSS (RFC 7118 §5), real sockets on 127.0.0.1, every node trusting one
 * local CA: UE(TLS) → P-CSCF(A) → S-CSCF(TLS) → P-CSCF(B) → UE(TLS or WSS), registration (Path) and a verified data
 * channel call (Record-Route), and the P-CSCF's require-TLS rule on its access side (403 + Warning, audited).
 */
import { afterEach, describe, expect, it } from "vitest";
import { Pcscf } from "../../src/ims/pcscf/index.ts";
import { Scscf } from "../../src/ims/scscf/index.ts";
import { AuditLog } from "../../src/log.ts";
import { formatFingerprint } from "../../src/sdp/index.ts";
import { fingerprintOf } from "../../src/security/certificate.ts";
import { createLocalCa } from "../../src/security/localCa.ts";
import type { SipRequest, SipSource, SipTlsConfig, SipTransportProtocol } from "../../src/sip/index.ts";
import { ImsUe, type UeCall } from "../../src/ue/ue.ts";
import { nextMessage, waitOpen } from "../ue/helpers.ts";
import { CHANNELS, DOMAIN, TIMERS } from "./e2e-helpers.ts";

const closers: (() => Promise<void>)[] = [];
afterEach(async () => {
  for (const c of closers.splice(0).reverse()) await c().catch(() => undefined);
});

const ca = createLocalCa();
function tlsOf(name: string): SipTlsConfig {
  const n = ca.issue(name);
  return { certPem: n.certPem, keyPem: n.keyPem, ca: [ca.certPem] };
}

async function core(audit: AuditLog, requireTlsA = false) {
  const scscf = new Scscf({
    tls: 0,
    domains: [DOMAIN],
    timers: TIMERS,
    tlsConfig: tlsOf("scscf"),
    // registration authentication and the trust domain have their own tests (test/ims/scscf, trusted-hops)
    auth: false,
    trustedPcscfs: ["127.0.0.1"],
  });
  await scscf.start();
  closers.push(() => scscf.close());
  const seen: { req: SipRequest; source: SipSource }[] = [];
  scscf.on("request", (req, source) => seen.push({ req, source }));
  const mk = async (name: string, requireTls: boolean) => {
    const tlsConfig = tlsOf(name);
    const p = new Pcscf({
      name,
      access: { udp: 0, tcp: 0, tls: 0, wss: 0, tlsConfig, requireTls },
      core: { tls: 0, tlsConfig },
      scscf: scscf.uri("TLS"),
      audit,
      timers: TIMERS,
    });
    await p.start();
    closers.push(() => p.close());
    return p;
  };
  return { scscf, seen, a: await mk("pcscf-a", requireTlsA), b: await mk("pcscf-b", false) };
}

async function ue(pcscf: Pcscf, user: string, transport: SipTransportProtocol, audit: AuditLog, register = true) {
  const u = new ImsUe({
    aor: `sip:${user}@${DOMAIN}`,
    transport,
    outboundProxy: pcscf.uri("access", transport),
    timers: TIMERS,
    audit,
    tls: tlsOf(user),
    dc: { channels: CHANNELS },
  });
  closers.push(() => u.close());
  await u.start();
  if (register) await u.register();
  return u;
}

describe("S-CSCF trust by TLS identity (RFC 3325 §5 trust domain over mutual TLS, RFC 5922 §7)", () => {
  it("only the pinned P-CSCF certificates originate; a P-CSCF with another certificate of the same CA gets 403", async () => {
    const audit = new AuditLog();
    const creds = { a: tlsOf("pcscf-a"), b: tlsOf("pcscf-b"), x: tlsOf("pcscf-x") };
    const pin = (t: SipTlsConfig) => formatFingerprint(fingerprintOf(t.certPem ?? "", "sha-256"));
    const scscf = new Scscf({
      tls: 0,
      domains: [DOMAIN],
      timers: TIMERS,
      tlsConfig: { ...tlsOf("scscf"), requireClientCert: true },
      auth: false,
      // no address is trusted: only the two certificates (every process here is 127.0.0.1)
      trustedPcscfs: [pin(creds.a), pin(creds.b)],
      audit,
    });
    await scscf.start();
    closers.push(() => scscf.close());
    const mk = async (name: string, tlsConfig: SipTlsConfig) => {
      const p = new Pcscf({
        name,
        access: { udp: 0, tls: 0, tlsConfig },
        core: { tls: 0, tlsConfig },
        scscf: scscf.uri("TLS"),
        audit,
        timers: TIMERS,
      });
      await p.start();
      closers.push(() => p.close());
      return p;
    };
    const [a, b, x] = [await mk("pcscf-a", creds.a), await mk("pcscf-b", creds.b), await mk("pcscf-x", creds.x)];
    const alice = await ue(a, "alice", "UDP", audit);
    const bob = await ue(b, "bob", "UDP", audit);
    const mallory = await ue(x, "mallory", "UDP", audit);
    // the trusted P-CSCF's INVITE goes through
    const incoming = new Promise<UeCall>((r) => bob.once("incoming", r));
    const call = await alice.call(`sip:bob@${DOMAIN}`);
    await incoming;
    await call.hangup();
    // the same CA, another certificate: refused before routing
    const err = await mallory.call(`sip:bob@${DOMAIN}`).catch((e: unknown) => e as { status?: number });
    expect(err).toMatchObject({ status: 403 });
    expect(audit.events.some((e) => e.node === "scscf" && JSON.stringify(e).includes("E_SCSCF_UNTRUSTED_SOURCE"))).toBe(
      true,
    );
  });
});

describe("IMS over TLS and WSS", () => {
  for (const tb of ["TLS", "WSS"] as const) {
    it(`UE(TLS) → P-CSCF → S-CSCF(TLS) → P-CSCF → UE(${tb}): registration and a verified data channel call`, async () => {
      const audit = new AuditLog();
      const c = await core(audit);
      const alice = await ue(c.a, "alice", "TLS", audit);
      const bob = await ue(c.b, "bob", tb, audit);
      // RFC 3327: the REGISTER reached the S-CSCF over TLS, with the P-CSCF's Path naming its TLS core listener
      const reg = c.seen.find((s) => s.req.method === "REGISTER");
      expect(reg?.source.transport).toBe("TLS");
      expect(reg?.req.getHeaders("Path")[0]).toMatch(/;transport=tls/);
      expect(reg?.req.topVia().transport).toBe("TLS");

      const incoming = new Promise<UeCall>((r) => bob.once("incoming", r));
      const call = await alice.call(`sip:bob@${DOMAIN}`);
      const bcall = await incoming;
      await Promise.all([call.dc.connected(), bcall.dc.connected()]);
      expect(call.dc.verdict?.verified).toBe(true);
      expect(bcall.dc.verdict?.verified).toBe(true);
      const chA = call.dc.channel(1000);
      const chB = bcall.dc.channel(1000);
      if (!chA || !chB) throw new Error("channels missing");
      await Promise.all([waitOpen(chA), waitOpen(chB)]);
      const p = nextMessage(chB);
      chA.send("over TLS hops");
      expect(await p).toBe("over TLS hops");

      // RFC 3261 §16.6 step 4: every Record-Route entry names a TLS listener (the UE legs: TLS or WSS)
      const invite = c.seen.find((s) => s.req.method === "INVITE");
      expect(invite?.source.transport).toBe("TLS");
      const rr = invite?.req.getHeaders("Record-Route") ?? [];
      expect(rr.length).toBeGreaterThan(0);
      for (const r of rr) expect(r).toMatch(/;transport=tls/);
      // the BYE follows the route set back over the TLS hops
      await call.hangup();
      await bcall.sip.terminated();
      const bye = c.seen.find((s) => s.req.method === "BYE");
      expect(bye?.source.transport).toBe("TLS");
      expect(audit.events.filter((e) => e.decision === "tls-refused")).toEqual([]);
    });
  }

  it("require-TLS: a REGISTER over UDP or TCP is refused with 403 + Warning and audited; over TLS it registers", async () => {
    const audit = new AuditLog();
    const c = await core(audit, true);
    for (const t of ["UDP", "TCP"] as const) {
      const u = await ue(c.a, `plain${t}`, t, audit, false);
      const err = await u.register().catch((e: unknown) => e);
      expect((err as { status?: number }).status).toBe(403);
      const res = (err as { response?: { getHeaders(n: string): string[] } }).response;
      expect(res?.getHeaders("Warning")[0]).toMatch(/E_PCSCF_TLS_REQUIRED/);
    }
    expect(
      audit.events
        .filter((e) => e.event === "tls-required" && e.code === "E_PCSCF_TLS_REQUIRED")
        .map((e) => e.transport),
    ).toEqual(["UDP", "TCP"]);
    expect(c.seen.filter((s) => s.req.method === "REGISTER")).toHaveLength(0);
    const ok = await ue(c.a, "secure", "TLS", audit);
    expect(ok.ua.registered).toBeDefined();
    // RFC 3261 §26.2.2 / RFC 3263 §4.1: a sips: outbound proxy (no transport parameter) is reached over TLS
    const tlsPort = c.a.address("access", "TLS")?.port;
    const viaSips = new ImsUe({
      aor: `sip:sipsuser@${DOMAIN}`,
      transport: "TLS",
      outboundProxy: `sips:127.0.0.1:${tlsPort};lr`,
      timers: TIMERS,
      audit,
      tls: tlsOf("sipsuser"),
    });
    closers.push(() => viaSips.close());
    await viaSips.start();
    await viaSips.register();
    expect(c.seen.filter((s) => s.req.method === "REGISTER").length).toBe(2);
  });

  it("require-TLS needs a TLS or WSS listener on the access side", () => {
    expect(() => new Pcscf({ name: "p", access: { udp: 0, requireTls: true } })).toThrow(/requireTls/);
  });
});
