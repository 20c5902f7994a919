/**
 * Registration authentication through a P-CSCF: the P-CSCF forwards the REGISTER and relays the 401 with its
 * WWW-Authenticate values untouched (RFC 3261 §16.7: a proxy passes challenges upstream), so the UE answers the
 * registrar it registers with; the answered REGISTER is accepted through the same P-CSCF.
 */
import { afterEach, describe, expect, it } from "vitest";
import { Pcscf } from "../../../src/ims/pcscf/index.ts";
import { MemorySubscriberStore, Scscf } from "../../../src/ims/scscf/index.ts";
import { AuditLog } from "../../../src/log.ts";
import { answerChallenge } from "../../../src/sip/auth/index.ts";
import { BOB, client, DOMAIN, RURI } from "./auth-helpers.ts";

const TIMERS = { T1: 50, T2: 200, T4: 200, D: 200 };
const open: { close(): Promise<void> }[] = [];
afterEach(async () => {
  for (const c of open.splice(0).reverse()) await c.close();
});

describe("S-CSCF authentication behind a P-CSCF", () => {
  it("the 401 and its challenges reach the UE unchanged; the answer registers bob", async () => {
    const audit = new AuditLog();
    const store = new MemorySubscriberStore([{ impi: `bob@${DOMAIN}`, impus: [BOB], password: "pw" }]);
    const scscf = new Scscf({ udp: 0, domains: [DOMAIN], timers: TIMERS, audit, auth: { store } });
    await scscf.start();
    open.push(scscf);
    const seen: string[][] = [];
    scscf.on("request", (r) => seen.push(r.getHeaders("Authorization")));
    const p = new Pcscf({
      name: "pcscf",
      access: { udp: 0 },
      core: { udp: 0 },
      scscf: scscf.uri("UDP"),
      timers: TIMERS,
    });
    await p.start();
    open.push(p);
    const c = await client(p.access.layer.address("UDP")?.port ?? 0);
    open.push(c);
    const r1 = await c.register({});
    expect(r1.status).toBe(401);
    const chs = r1.getHeaders("WWW-Authenticate");
    expect(chs).toHaveLength(2);
    const a = answerChallenge({ impi: `bob@${DOMAIN}`, realm: DOMAIN, password: "pw" }, chs, {
      method: "REGISTER",
      uri: RURI,
    });
    if (a.kind !== "answer") throw new Error(a.kind);
    const r2 = await c.register({ auth: a.authorization });
    expect(r2.status).toBe(200);
    // the Authorization reached the S-CSCF byte for byte
    expect(seen.at(-1)).toEqual([a.authorization]);
    expect(scscf.location.lookup(BOB)).toHaveLength(1);
    expect(audit.events.map((e) => e.decision)).toEqual(["auth-challenge", "auth-ok"]);
  });
});
