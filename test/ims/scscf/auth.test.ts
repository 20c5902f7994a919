/**
 * Registration authentication at the S-CSCF (RFC 3261 §10.3 / §22.4, RFC 7616, RFC 3310, TS 24.229 §5.4.1.2), driven
 * with raw SIP over UDP on 127.0.0.1 so every attack is a plain REGISTER on the wire.
 */
import { afterEach, describe, expect, it } from "vitest";
import { MemorySubscriberStore, Scscf, type ScscfAuthOptions } from "../../../src/ims/scscf/index.ts";
import { AuditLog } from "../../../src/log.ts";
import {
  akaResync,
  answerChallenge,
  parseAuthenticationInfo,
  parseChallenge,
  parseCredentials,
  type UeAuthCredentials,
} from "../../../src/sip/auth/index.ts";
import type { SipResponse } from "../../../src/sip/index.ts";
import { BOB, type Client, client, DOMAIN, RURI } from "./auth-helpers.ts";

const TIMERS = { T1: 50, T2: 200, T4: 200, D: 200 };
const h = (s: string) => new Uint8Array(Buffer.from(s, "hex"));
// TS 35.208 test set 1 keys as bob's SIM
const K = h("465b5ce8b199b49faa5f0a2ee238a6bc");
const OPC = h("cd63cb71954a9f4e48a5994e37a02baf");

const challenges = (r: SipResponse) => r.getHeaders("WWW-Authenticate");
const open: { close(): Promise<void> }[] = [];
afterEach(async () => {
  for (const c of open.splice(0).reverse()) await c.close();
});

let clock = Date.now();
function subscribers(): MemorySubscriberStore {
  return new MemorySubscriberStore([
    {
      impi: `bob@${DOMAIN}`,
      impus: [BOB],
      password: "bob-secret",
      aka: { k: K, opc: OPC, amf: h("8000"), sqn: 32 },
    },
    { impi: `bob-tablet@${DOMAIN}`, impus: [BOB], password: "tablet-secret" },
    { impi: `mallory@${DOMAIN}`, impus: [`sip:mallory@${DOMAIN}`], password: "mallory-secret" },
  ]);
}

async function start(auth: Partial<ScscfAuthOptions> = {}) {
  const audit = new AuditLog();
  const store = subscribers();
  clock = Date.now();
  const scscf = new Scscf({
    udp: 0,
    domains: [DOMAIN],
    timers: TIMERS,
    audit,
    auth: { store, nonceLifetimeMs: 60_000, now: () => clock, ...auth },
  });
  await scscf.start();
  open.push(scscf);
  const port = scscf.address("UDP")?.port ?? 0;
  const mk = async () => {
    const c = await client(port);
    open.push(c);
    return c;
  };
  return { scscf, audit, store, mk };
}

const bobDigest: UeAuthCredentials = { impi: `bob@${DOMAIN}`, realm: DOMAIN, password: "bob-secret" };
const target = { method: "REGISTER", uri: RURI };
/** TS 24.229 §5.1.1.2.1: an initial REGISTER names its private identity (bob's IMPU has two owners here) */
const INITIAL = `Digest username="bob@${DOMAIN}", realm="${DOMAIN}", nonce="", uri="${RURI}", response=""`;

/** Registers with a challenge round (401, then the answer). */
async function registerWith(
  c: Client,
  creds: UeAuthCredentials,
  o: { contact?: string; pick?: (v: string) => boolean } = {},
) {
  const r1 = await c.register({ ...(o.contact ? { contact: o.contact } : {}) });
  expect(r1.status).toBe(401);
  const chs = challenges(r1).filter(o.pick ?? (() => true));
  const a = answerChallenge(creds, chs, target);
  if (a.kind !== "answer") throw new Error(`no answer: ${JSON.stringify(a)}`);
  const r2 = await c.register({ auth: a.authorization, ...(o.contact ? { contact: o.contact } : {}) });
  return { r1, r2, answer: a };
}

describe("S-CSCF registration authentication", () => {
  it("401 to an unauthenticated REGISTER: AKA and Digest SHA-256 / MD5 challenges, qop=auth (RFC 7616 §3.7)", async () => {
    const { mk } = await start();
    const c = await mk();
    // bob's IMPU has two private identities: without a name only Digest can be offered
    expect(challenges(await c.register({})).map((v) => parseChallenge(v).algorithm)).toEqual(["SHA-256", "MD5"]);
    const r = await c.register({ auth: INITIAL });
    expect(r.status).toBe(401);
    const chs = challenges(r).map(parseChallenge);
    expect(chs.map((x) => x.algorithm)).toEqual(["AKAv1-MD5", "SHA-256", "MD5"]);
    for (const x of chs) expect(x).toMatchObject({ realm: DOMAIN, qop: ["auth"] });
    // RFC 3310 §3.1: RAND ‖ AUTN ‖ server data
    expect(Buffer.from(chs[0]?.nonce ?? "", "base64").length).toBeGreaterThan(32);
  });

  it("Digest SHA-256 and MD5 succeed; the 200 has Authentication-Info with rspauth; the binding is bob's", async () => {
    const { mk, scscf, audit } = await start();
    const c = await mk();
    const sha = await registerWith(c, bobDigest, { pick: (v) => /SHA-256/.test(v) });
    expect(sha.r2.status).toBe(200);
    expect(parseCredentials(sha.answer.authorization).algorithm).toBe("SHA-256");
    const info = parseAuthenticationInfo(sha.r2.getHeader("Authentication-Info") ?? "");
    expect(info).toMatchObject({ qop: "auth", nc: "00000001" });
    expect(info.rspauth).toMatch(/^[0-9a-f]{64}$/);
    expect(scscf.location.lookup(BOB)[0]?.owner).toBe(`bob@${DOMAIN}`);
    const c2 = await mk();
    const md5 = await registerWith(c2, bobDigest, { pick: (v) => /algorithm=MD5/.test(v) });
    expect(md5.r2.status).toBe(200);
    expect(parseCredentials(md5.answer.authorization).algorithm).toBe("MD5");
    expect(scscf.location.lookup(BOB)).toHaveLength(2);
    expect(audit.events.filter((e) => e.decision === "auth-ok")).toHaveLength(2);
  });

  it("hijack: REGISTER for bob with the attacker's Contact gets 401 (no credentials) / 403 (own credentials); bob's binding survives", async () => {
    const { mk, scscf, audit } = await start();
    const bob = await mk();
    expect((await registerWith(bob, bobDigest)).r2.status).toBe(200);
    const mallory = await mk();
    const evil = `<sip:mallory@127.0.0.1:${mallory.port}>`;
    // on today's code this single request got 200 and replaced nothing but added the attacker as bob
    const r = await mallory.register({ contact: evil });
    expect(r.status).toBe(401);
    // with its own valid credentials, for bob's public identity: TS 24.229 §5.4.1.2.1 → 403
    const ch = await mallory.register({ contact: evil });
    const a = answerChallenge(
      { impi: `mallory@${DOMAIN}`, realm: DOMAIN, password: "mallory-secret" },
      challenges(ch),
      target,
    );
    if (a.kind !== "answer") throw new Error(a.kind);
    const r403 = await mallory.register({ contact: evil, auth: a.authorization });
    expect(r403.status).toBe(403);
    const b = scscf.location.lookup(BOB);
    expect(b.map((x) => x.uri.port)).toEqual([bob.port]);
    expect(audit.events.some((e) => e.decision === "auth-impu-not-owned" && e.impi === `mallory@${DOMAIN}`)).toBe(true);
  });

  it("`Contact: *` + Expires: 0: unauthenticated → 401, other identity → 403; bob's binding survives", async () => {
    const { mk, scscf } = await start();
    const bob = await mk();
    expect((await registerWith(bob, bobDigest)).r2.status).toBe(200);
    const mallory = await mk();
    const wipe = await mallory.register({ contact: "*", expires: 0 });
    expect(wipe.status).toBe(401);
    const a = answerChallenge(
      { impi: `mallory@${DOMAIN}`, realm: DOMAIN, password: "mallory-secret" },
      challenges(wipe),
      target,
    );
    if (a.kind !== "answer") throw new Error(a.kind);
    expect((await mallory.register({ contact: "*", expires: 0, auth: a.authorization })).status).toBe(403);
    expect(scscf.location.lookup(BOB).map((x) => x.uri.port)).toEqual([bob.port]);
  });

  it("`Contact: *` by an authenticated identity removes only that identity's bindings (RFC 3261 §10.3)", async () => {
    const { mk, scscf } = await start();
    const phone = await mk();
    expect((await registerWith(phone, bobDigest)).r2.status).toBe(200);
    const tablet = await mk();
    const tabletCreds = { impi: `bob-tablet@${DOMAIN}`, realm: DOMAIN, password: "tablet-secret" };
    const t = await registerWith(tablet, tabletCreds, { contact: `<sip:bob@127.0.0.1:${tablet.port}>` });
    expect(t.r2.status).toBe(200);
    expect(scscf.location.lookup(BOB)).toHaveLength(2);
    const r = await tablet.register({ contact: "*", expires: 0 });
    const a = answerChallenge(tabletCreds, challenges(r), target);
    if (a.kind !== "answer") throw new Error(a.kind);
    const del = await tablet.register({ contact: "*", expires: 0, auth: a.authorization });
    expect(del.status).toBe(200);
    expect(scscf.location.lookup(BOB).map((x) => x.uri.port)).toEqual([phone.port]);
  });

  it("a replayed nonce-count is refused (RFC 7616 §5.5): the captured Authorization with another Contact changes nothing", async () => {
    const { mk, scscf, audit } = await start();
    const bob = await mk();
    const ok = await registerWith(bob, bobDigest);
    expect(ok.r2.status).toBe(200);
    const mallory = await mk();
    const r = await mallory.register({
      contact: `<sip:mallory@127.0.0.1:${mallory.port}>`,
      auth: ok.answer.authorization,
    });
    expect(r.status).toBe(401);
    expect(scscf.location.lookup(BOB).map((x) => x.uri.port)).toEqual([bob.port]);
    expect(audit.events.some((e) => e.decision === "auth-replay")).toBe(true);
  });

  it("an expired nonce with a right response → 401 stale=true; the fresh nonce then works", async () => {
    const { mk } = await start({ nonceLifetimeMs: 1000 });
    const bob = await mk();
    const r1 = await bob.register({});
    const a = answerChallenge(bobDigest, challenges(r1), target);
    if (a.kind !== "answer") throw new Error(a.kind);
    clock += 5000;
    const r2 = await bob.register({ auth: a.authorization });
    expect(r2.status).toBe(401);
    const chs = challenges(r2).map(parseChallenge);
    expect(chs.every((x) => x.stale === true)).toBe(true);
    const b = answerChallenge(bobDigest, challenges(r2), target);
    if (b.kind !== "answer") throw new Error(b.kind);
    expect((await bob.register({ auth: b.authorization })).status).toBe(200);
  });

  it("wrong password: 401 again until maxFailures, then 403; every decision audited", async () => {
    const { mk, audit, scscf } = await start({ maxFailures: 2 });
    const c = await mk();
    const wrong = { ...bobDigest, password: "guess" };
    let r = await c.register({});
    const statuses: number[] = [];
    for (let i = 0; i < 2; i++) {
      const a = answerChallenge(wrong, challenges(r), target);
      if (a.kind !== "answer") throw new Error(a.kind);
      r = await c.register({ auth: a.authorization });
      statuses.push(r.status);
    }
    expect(statuses).toEqual([401, 403]);
    expect(scscf.location.lookup(BOB)).toHaveLength(0);
    expect(audit.events.map((e) => e.decision)).toEqual(["auth-challenge", "auth-failed", "auth-refused"]);
  });

  it("IMS AKA: challenge → RES → 200 (TS 33.203 §6.1.1)", async () => {
    const { mk, store } = await start({ schemes: ["aka"] });
    const c = await mk();
    const r1 = await c.register({ auth: INITIAL });
    expect(challenges(r1).map((v) => parseChallenge(v).algorithm)).toEqual(["AKAv1-MD5"]);
    const creds: UeAuthCredentials = { impi: `bob@${DOMAIN}`, realm: DOMAIN, aka: { k: K, opc: OPC, sqnMs: 0 } };
    const a = answerChallenge(creds, challenges(r1), target);
    expect(a).toMatchObject({ kind: "answer", scheme: "aka", sqn: 64 });
    if (a.kind !== "answer") return;
    expect((await c.register({ auth: a.authorization })).status).toBe(200);
    expect(store.get(`bob@${DOMAIN}`)?.aka?.sqn).toBe(64);
  });

  it("IMS AKA re-synchronisation: stale SQN → AUTS → the S-CSCF adopts SQN_MS and challenges again → 200 (TS 33.102 §6.3.5)", async () => {
    const { mk, store, audit } = await start({ schemes: ["aka"] });
    const c = await mk();
    const sqnMs = 32 * 1000;
    const creds: UeAuthCredentials = { impi: `bob@${DOMAIN}`, realm: DOMAIN, aka: { k: K, opc: OPC, sqnMs } };
    const r1 = await c.register({ auth: INITIAL });
    const s = answerChallenge(creds, challenges(r1), target);
    expect(s.kind).toBe("resync");
    if (s.kind !== "resync") return;
    const c0 = parseCredentials(s.authorization);
    const rand = new Uint8Array(Buffer.from(c0.nonce, "base64").subarray(0, 16));
    expect(akaResync({ k: K, opc: OPC }, rand, new Uint8Array(Buffer.from(c0.auts ?? "", "base64")))).toBe(sqnMs);
    const r2 = await c.register({ auth: s.authorization });
    expect(r2.status).toBe(401);
    expect(store.get(`bob@${DOMAIN}`)?.aka?.sqn).toBe(sqnMs + 32);
    const a = answerChallenge(creds, challenges(r2), target);
    expect(a).toMatchObject({ kind: "answer", sqn: sqnMs + 32 });
    if (a.kind !== "answer") return;
    expect((await c.register({ auth: a.authorization })).status).toBe(200);
    expect(audit.events.some((e) => e.decision === "auth-aka-resync")).toBe(true);
  });

  it("a forged AUTS is an authentication failure, SQN unchanged", async () => {
    const { mk, store } = await start({ schemes: ["aka"] });
    const c = await mk();
    const creds: UeAuthCredentials = { impi: `bob@${DOMAIN}`, realm: DOMAIN, aka: { k: OPC, opc: K, sqnMs: 0 } };
    const r1 = await c.register({ auth: INITIAL });
    // the wrong SIM cannot even verify the MAC
    expect(answerChallenge(creds, challenges(r1), target)).toMatchObject({ kind: "refuse", code: "E_AUTH_MAC" });
    const nonce = parseChallenge(challenges(r1)[0] ?? "").nonce;
    const forged = `Digest username="bob@${DOMAIN}", realm="${DOMAIN}", nonce="${nonce}", uri="${RURI}", response="00", algorithm=AKAv1-MD5, qop=auth, nc=00000001, cnonce="x", auts="${Buffer.alloc(14).toString("base64")}"`;
    const before = store.get(`bob@${DOMAIN}`)?.aka?.sqn;
    expect((await c.register({ auth: forged })).status).toBe(401);
    expect(store.get(`bob@${DOMAIN}`)?.aka?.sqn).toBe((before ?? 0) + 32); // only the new challenge stepped it
  });

  it("an initial IMS REGISTER naming its IMPI (empty nonce/response) is challenged for that IMPI", async () => {
    const { mk } = await start({ schemes: ["aka"] });
    const c = await mk();
    const r = await c.register({ auth: INITIAL });
    expect(r.status).toBe(401);
    expect(parseChallenge(challenges(r)[0] ?? "").algorithm).toBe("AKAv1-MD5");
  });

  it("malformed Authorization → 400; digest-uri other than the Request-URI → 400", async () => {
    const { mk } = await start();
    const c = await mk();
    expect((await c.register({ auth: 'Digest username="bob' })).status).toBe(400);
    const r = await c.register({});
    const a = answerChallenge(bobDigest, challenges(r), { method: "REGISTER", uri: "sip:other.example.com" });
    if (a.kind !== "answer") throw new Error(a.kind);
    expect((await c.register({ auth: a.authorization })).status).toBe(400);
  });

  it("auth is required: omitted → E_SCSCF_CONFIG; `auth: false` keeps the unauthenticated registrar (audited)", async () => {
    expect(() => new Scscf({ udp: 0, domains: [DOMAIN] })).toThrow(expect.objectContaining({ code: "E_SCSCF_CONFIG" }));
    expect(() => new Scscf({ udp: 0, auth: { store: subscribers() } })).toThrow(
      expect.objectContaining({ code: "E_SCSCF_CONFIG", message: expect.stringContaining("realm") }),
    );
    const audit = new AuditLog();
    const s = new Scscf({ udp: 0, domains: [DOMAIN], timers: TIMERS, auth: false, audit });
    await s.start();
    open.push(s);
    const c = await client(s.address("UDP")?.port ?? 0);
    open.push(c);
    expect((await c.register({})).status).toBe(200);
    expect(audit.events.map((e) => e.decision)).toEqual(["registrar-unauthenticated"]);
  });
});
