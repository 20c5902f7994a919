/**
 * The UE side (UeAuthenticator, the piece the registrator calls) against a real auth-enabled S-CSCF over UDP:
 * Digest with re-registration by nonce-count, rspauth, AKA with re-synchronisation, refusal detection.
 */
import { afterEach, describe, expect, it } from "vitest";
import { MemorySubscriberStore, Scscf } from "../../../src/ims/scscf/index.ts";
import { formatChallenge, parseCredentials, UeAuthenticator } from "../../../src/sip/auth/index.ts";
import { BOB, client, DOMAIN, RURI } from "./auth-helpers.ts";

const TIMERS = { T1: 50, T2: 200, T4: 200, D: 200 };
const h = (s: string) => new Uint8Array(Buffer.from(s, "hex"));
const K = h("465b5ce8b199b49faa5f0a2ee238a6bc");
const OPC = h("cd63cb71954a9f4e48a5994e37a02baf");
const target = { method: "REGISTER", uri: RURI };
const open: { close(): Promise<void> }[] = [];
afterEach(async () => {
  for (const c of open.splice(0).reverse()) await c.close();
});

async function start(schemes: ("digest" | "aka")[]) {
  const store = new MemorySubscriberStore([
    { impi: `bob@${DOMAIN}`, impus: [BOB], password: "pw", aka: { k: K, opc: OPC, amf: h("8000"), sqn: 32 } },
  ]);
  const scscf = new Scscf({ udp: 0, domains: [DOMAIN], timers: TIMERS, auth: { store, schemes } });
  await scscf.start();
  open.push(scscf);
  const c = await client(scscf.address("UDP")?.port ?? 0);
  open.push(c);
  return { scscf, store, c };
}

describe("UeAuthenticator against the S-CSCF", () => {
  it("Digest: no credentials before a challenge; answers the 401; re-registers with nc 2 without a 401; checks rspauth", async () => {
    const { c } = await start(["digest"]);
    const ue = new UeAuthenticator({ impi: `bob@${DOMAIN}`, realm: DOMAIN, password: "pw" });
    expect(ue.authorize(target)).toBeUndefined();
    const r1 = await c.register({});
    const retry = ue.onChallenge(r1.getHeaders("WWW-Authenticate"), target);
    if (retry.kind !== "retry") throw new Error(retry.reason);
    const r2 = await c.register({ auth: retry.authorization });
    expect(r2.status).toBe(200);
    const info = r2.getHeader("Authentication-Info");
    expect(ue.onSuccess(info, target)).toBe(true);
    expect(ue.onSuccess(info?.replace(/rspauth="(.)/, 'rspauth="0$1'), target)).toBe(false);
    const again = ue.authorize(target);
    expect(again && parseCredentials(again).nc).toBe("00000002");
    const r3 = await c.register({ auth: again });
    expect(r3.status).toBe(200);
    expect(ue.onSuccess(r3.getHeader("Authentication-Info"), target)).toBe(true);
  });

  it("AKA: names its IMPI first, re-synchronises once on a stale SQN, then registers; SQN_MS reported", async () => {
    const { c, store } = await start(["aka"]);
    const sqns: number[] = [];
    const ue = new UeAuthenticator({
      impi: `bob@${DOMAIN}`,
      realm: DOMAIN,
      aka: { k: K, opc: OPC, sqnMs: 32 * 500 },
      onSqn: (s) => sqns.push(s),
    });
    const first = ue.authorize(target);
    expect(first && parseCredentials(first)).toMatchObject({ username: `bob@${DOMAIN}`, nonce: "", response: "" });
    const r1 = await c.register({ auth: first });
    const resync = ue.onChallenge(r1.getHeaders("WWW-Authenticate"), target);
    if (resync.kind !== "retry") throw new Error(resync.reason);
    expect(parseCredentials(resync.authorization).auts).toBeDefined();
    const r2 = await c.register({ auth: resync.authorization });
    expect(r2.status).toBe(401);
    const answer = ue.onChallenge(r2.getHeaders("WWW-Authenticate"), target);
    if (answer.kind !== "retry") throw new Error(answer.reason);
    expect((await c.register({ auth: answer.authorization })).status).toBe(200);
    expect(sqns).toEqual([32 * 501]);
    expect(ue.sqnMs).toBe(32 * 501);
    expect(store.get(`bob@${DOMAIN}`)?.aka?.sqn).toBe(32 * 501);
  });

  it("wrong password: the second 401 is a refusal (no answer loop)", async () => {
    const { c } = await start(["digest"]);
    const ue = new UeAuthenticator({ impi: `bob@${DOMAIN}`, realm: DOMAIN, password: "nope" });
    const r1 = await c.register({});
    const retry = ue.onChallenge(r1.getHeaders("WWW-Authenticate"), target);
    if (retry.kind !== "retry") throw new Error(retry.reason);
    const r2 = await c.register({ auth: retry.authorization });
    expect(r2.status).toBe(401);
    expect(ue.onChallenge(r2.getHeaders("WWW-Authenticate"), target)).toMatchObject({
      kind: "refuse",
      code: "E_AUTH_REFUSED",
    });
  });

  it("a challenge of another realm is never answered; no credentials at all is a typed error", () => {
    const ue = new UeAuthenticator({ impi: "bob", realm: DOMAIN, password: "pw" });
    const evil = formatChallenge({ realm: "evil.example.net", nonce: "n", qop: ["auth"] });
    expect(ue.onChallenge([evil], target)).toMatchObject({ kind: "refuse", code: "E_AUTH_NO_CREDENTIALS" });
    expect(() => new UeAuthenticator({ impi: "bob", realm: DOMAIN })).toThrow(
      expect.objectContaining({ code: "E_AUTH_NO_CREDENTIALS" }),
    );
  });
});
