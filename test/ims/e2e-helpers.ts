/**
 * Test wiring for the IMS core: one S-CSCF, two P-CSCFs (A and B), UEs registered through them. Real sockets on
 * 127.0.0.1; every node is closed by `close()`.
 */
import { createHash } from "node:crypto";
import { PcscfHops } from "../../src/demo/pcscfHops.ts";
import { Pcscf, type PcscfOptions } from "../../src/ims/pcscf/index.ts";
import { Scscf, type ScscfOptions } from "../../src/ims/scscf/index.ts";
import { AuditLog } from "../../src/log.ts";
import type { SipRequest, SipSource, SipTransportProtocol } from "../../src/sip/index.ts";
import { ImsUe, type ImsUeOptions } from "../../src/ue/ue.ts";

export const TIMERS = { T1: 100, T2: 400, T4: 500, D: 500 };
export const DOMAIN = "ims.example.com";
export const CHANNELS = [{ id: 1000, label: "chat", subprotocol: "msrp" }];

export function sha256(b: Uint8Array): string {
  return createHash("sha256").update(b).digest("hex");
}

export interface CoreOptions {
  /** transport between P-CSCFs and S-CSCF (default TCP) */
  core?: SipTransportProtocol;
  pcscfA?: Partial<PcscfOptions>;
  pcscfB?: Partial<PcscfOptions>;
  /** S-CSCF options (default: it trusts exactly P-CSCF A and B, RFC 3325 §5) */
  scscf?: Partial<ScscfOptions>;
}

export interface Core {
  scscf: Scscf;
  a: Pcscf;
  b: Pcscf;
  audit: AuditLog;
  /** the P-CSCF connections the S-CSCF trusts: a P-CSCF started later (a restart) must be followed too */
  hops: PcscfHops;
  /** every request the S-CSCF received */
  scscfRequests: { req: SipRequest; source: SipSource }[];
  close(): Promise<void>;
}

/** S-CSCF + P-CSCF(A) + P-CSCF(B): each P-CSCF has an access side (UDP, TCP, WS) and a core side. */
export async function startCore(opts: CoreOptions = {}): Promise<Core> {
  const audit = new AuditLog();
  const coreT = opts.core ?? "TCP";
  // registration authentication is tested in test/ims/scscf/auth.test.ts; these flows opt out explicitly
  const hops = new PcscfHops();
  const scscf = new Scscf({
    udp: 0,
    tcp: 0,
    domains: [DOMAIN],
    timers: TIMERS,
    audit,
    auth: false,
    trustedPcscfs: [(src) => hops.has(src)],
    ...opts.scscf,
  });
  await scscf.start();
  const scscfRequests: Core["scscfRequests"] = [];
  scscf.on("request", (req, source) => scscfRequests.push({ req, source }));
  const mk = async (name: string, over: Partial<PcscfOptions> | undefined) => {
    const p = new Pcscf({
      name,
      access: { udp: 0, tcp: 0, ws: 0 },
      core: coreT === "UDP" ? { udp: 0 } : { tcp: 0 },
      scscf: scscf.uri(coreT),
      audit,
      timers: TIMERS,
      ...over,
    });
    await p.start();
    hops.follow(p.core.layer);
    return p;
  };
  const a = await mk("pcscf-a", opts.pcscfA);
  const b = await mk("pcscf-b", opts.pcscfB);
  return {
    scscf,
    a,
    b,
    audit,
    hops,
    scscfRequests,
    async close() {
      await a.close();
      await b.close();
      await scscf.close();
    },
  };
}

/** A UE registered through `pcscf` over `transport`. */
export async function startUe(
  pcscf: Pcscf,
  user: string,
  transport: SipTransportProtocol,
  audit: AuditLog,
  extra: Partial<ImsUeOptions> = {},
): Promise<ImsUe> {
  const ue = new ImsUe({
    aor: `sip:${user}@${DOMAIN}`,
    transport,
    outboundProxy: pcscf.uri("access", transport),
    timers: TIMERS,
    audit,
    ...extra,
  });
  await ue.start();
  await ue.register();
  return ue;
}
