/**
 * The registrator answering the registrar's challenges (RFC 3261 §22.2, RFC 7616, RFC 3310) against a real
 * auth-enabled S-CSCF over UDP: Digest and AKA, re-registration by nonce-count, AKA re-synchronisation, refused
 * credentials (E_SIP_AUTH), a forged rspauth, at most 3 rounds, and CSeq + 1 on each retry.
 */
import { createSocket } from "node:dgram";
import { afterEach, describe, expect, it } from "vitest";
import { MemorySubscriberStore, Scscf } from "../../src/ims/scscf/index.ts";
import { AuditLog } from "../../src/log.ts";
import { UeAuthenticator } from "../../src/sip/auth/index.ts";
import type { RegistrationAuthenticator } from "../../src/sip/auth/types.ts";
import { WebDigestAuthenticator } from "../../src/sip/auth/webDigest.ts";
import {
  parseMessage,
  type RegistrationFailedInfo,
  SipError,
  SipTransportLayer,
  SipUserAgent,
} from "../../src/sip/index.ts";

const DOMAIN = "ims.example.com";
const TIMERS = { T1: 50, T2: 200, T4: 200, D: 200 };
const h = (s: string) => new Uint8Array(Buffer.from(s, "hex"));
const K = h("465b5ce8b199b49faa5f0a2ee238a6bc");
const OPC = h("cd63cb71954a9f4e48a5994e37a02baf");
const open: { close(): Promise<void> }[] = [];
afterEach(async () => {
  for (const c of open.splice(0).reverse()) await c.close().catch(() => undefined);
});

const sdp = { createOffer: () => new Uint8Array(), onOffer: () => new Uint8Array() };

async function network(schemes: ("digest" | "aka")[] = ["digest", "aka"], minExpires?: number) {
  const store = new MemorySubscriberStore([
    { impi: `alice@${DOMAIN}`, impus: [`sip:alice@${DOMAIN}`], password: "alice-pw" },
    { impi: `bob@${DOMAIN}`, impus: [`sip:bob@${DOMAIN}`], aka: { k: K, opc: OPC, amf: h("8000"), sqn: 32 * 1000 } },
  ]);
  const audit = new AuditLog({ max: 500 });
  const scscf = new Scscf({
    udp: 0,
    domains: [DOMAIN],
    timers: TIMERS,
    audit,
    auth: { store, schemes },
    ...(minExpires !== undefined ? { registrar: { minExpires } } : {}),
  });
  await scscf.start();
  open.push(scscf);
  return { scscf, store, audit };
}

/** a UA registering at `proxy` (the S-CSCF, or a capturing stand-in), its REGISTERs recorded as sent */
async function ua(
  proxy: string,
  user: string,
  auth: RegistrationAuthenticator | undefined,
  extra: { expires?: number; autoRefresh?: boolean } = {},
) {
  const layer = new SipTransportLayer({ udp: true });
  await layer.start();
  const sent: { cseq: number; authorization: string | undefined; proxyAuthorization: string | undefined }[] = [];
  const orig = layer.sendBytes.bind(layer);
  layer.sendBytes = async (bytes, target) => {
    const m = parseMessage(bytes, { datagram: true, validate: "none" });
    if (m.kind === "request" && m.method === "REGISTER") {
      sent.push({
        cseq: m.cseq().seq,
        authorization: m.getHeader("Authorization"),
        proxyAuthorization: m.getHeader("Proxy-Authorization"),
      });
    }
    return orig(bytes, target);
  };
  const failures: RegistrationFailedInfo[] = [];
  const u = new SipUserAgent({
    transport: layer,
    ownsTransport: true,
    aor: `sip:${user}@${DOMAIN}`,
    outboundProxy: proxy,
    preferredTransport: "UDP",
    useServiceRoute: false,
    sdp,
    timers: TIMERS,
    flowRecovery: false,
    ...extra,
    ...(auth ? { auth } : {}),
  });
  u.on("registrationFailed", (f) => failures.push(f));
  open.push(u);
  return { u, sent, failures };
}

describe("registrator: registration authentication", () => {
  it("Digest: answers the 401 with CSeq + 1, re-registers with nc 2 and no new challenge, de-registers", async () => {
    const { scscf, audit } = await network();
    const auth = new UeAuthenticator({ impi: `alice@${DOMAIN}`, realm: DOMAIN, password: "alice-pw" });
    const { u, sent } = await ua(scscf.uri("UDP"), "alice", auth);
    const info = await u.register();
    expect(info.expires).toBeGreaterThan(0);
    expect(sent.map((s) => s.cseq)).toEqual([1, 2]);
    expect(sent[0]?.authorization).toBeUndefined();
    expect(sent[1]?.authorization).toMatch(/^Digest .*username="alice@ims\.example\.com".*nc=00000001/);
    await u.register();
    expect(sent).toHaveLength(3);
    expect(sent[2]?.authorization).toMatch(/nc=00000002/);
    await u.unregister();
    expect(sent).toHaveLength(4);
    expect(audit.events.filter((e) => e.decision === "auth-ok")).toHaveLength(3);
    expect(scscf.location.lookup(`sip:alice@${DOMAIN}`)).toHaveLength(0);
  });

  it("the page's WebCrypto Digest (SHA-256): registers, re-registers with nc 2, checks rspauth; wrong password refused", async () => {
    const { scscf } = await network();
    const auth = new WebDigestAuthenticator({ impi: `alice@${DOMAIN}`, realm: DOMAIN, password: "alice-pw" });
    const { u, sent } = await ua(scscf.uri("UDP"), "alice", auth);
    await u.register();
    expect(sent[1]?.authorization).toMatch(/algorithm=SHA-256/);
    await u.register();
    expect(sent).toHaveLength(3);
    expect(sent[2]?.authorization).toMatch(/nc=00000002/);
    const bad = new WebDigestAuthenticator({ impi: `alice@${DOMAIN}`, realm: DOMAIN, password: "nope" });
    const second = await ua(scscf.uri("UDP"), "alice", bad);
    await expect(second.u.register()).rejects.toMatchObject({ code: "E_SIP_AUTH" });
    // another realm's challenge gets nothing
    const other = new WebDigestAuthenticator({ impi: `alice@${DOMAIN}`, realm: "evil.example", password: "alice-pw" });
    const third = await ua(scscf.uri("UDP"), "alice", other);
    await expect(third.u.register()).rejects.toThrow(/E_AUTH_NO_CREDENTIALS/);
    expect(third.sent).toHaveLength(1);
  });

  it("the refresh before expiry carries credentials (nc + 1) and needs no new challenge", async () => {
    const { scscf, audit } = await network(["digest"], 1);
    const auth = new UeAuthenticator({ impi: `alice@${DOMAIN}`, realm: DOMAIN, password: "alice-pw" });
    const { u, sent } = await ua(scscf.uri("UDP"), "alice", auth, { expires: 2, autoRefresh: true });
    await u.register();
    // RFC 3261 §10.2.4: the refresh at half the granted expiry (1 s)
    for (let i = 0; i < 300 && sent.length < 3; i++) await new Promise((r) => setTimeout(r, 10));
    expect(sent).toHaveLength(3);
    expect(sent[2]?.authorization).toMatch(/nc=00000002/);
    for (let i = 0; i < 100 && audit.events.filter((e) => e.decision === "auth-ok").length < 2; i++) {
      await new Promise((r) => setTimeout(r, 10));
    }
    expect(audit.events.filter((e) => e.decision === "auth-ok")).toHaveLength(2);
    expect(audit.events.filter((e) => e.decision === "auth-challenge")).toHaveLength(1);
  });

  it("AKA: IMS initial form, stale SQN → AUTS re-synchronisation → registered; SQN_MS advanced", async () => {
    const { scscf, audit } = await network(["aka"]);
    const sqns: number[] = [];
    // the SIM is ahead of the network: the first AUTN is stale
    const auth = new UeAuthenticator({
      impi: `bob@${DOMAIN}`,
      realm: DOMAIN,
      aka: { k: K, opc: OPC, sqnMs: 32 * 5000 },
      onSqn: (s) => sqns.push(s),
    });
    const { u, sent } = await ua(scscf.uri("UDP"), "bob", auth);
    await u.register();
    expect(sent.map((s) => s.cseq)).toEqual([1, 2, 3]);
    expect(sent[0]?.authorization).toMatch(/nonce="".*response=""|response="".*nonce=""/);
    expect(sent[1]?.authorization).toMatch(/auts="/);
    expect(audit.events.some((e) => e.decision === "auth-aka-resync")).toBe(true);
    expect(sqns.at(-1)).toBeGreaterThan(32 * 5000);
    expect(scscf.location.lookup(`sip:bob@${DOMAIN}`)).toHaveLength(1);
  });

  it("a wrong password: E_SIP_AUTH with the reason, registrationFailed, no binding", async () => {
    const { scscf } = await network();
    const auth = new UeAuthenticator({ impi: `alice@${DOMAIN}`, realm: DOMAIN, password: "wrong" });
    const { u, sent, failures } = await ua(scscf.uri("UDP"), "alice", auth);
    const err = await u.register().catch((e: unknown) => e);
    expect(err).toBeInstanceOf(SipError);
    expect((err as SipError).code).toBe("E_SIP_AUTH");
    expect((err as SipError).message).toMatch(/E_AUTH_REFUSED/);
    expect(failures[0]?.code).toBe("E_SIP_AUTH");
    expect(failures[0]?.status).toBe(401);
    expect(sent).toHaveLength(2);
    expect(scscf.location.lookup(`sip:alice@${DOMAIN}`)).toHaveLength(0);
  });

  it("without an authenticator a 401 stays E_SIP_REJECTED (nothing answered)", async () => {
    const { scscf } = await network();
    const { u, sent, failures } = await ua(scscf.uri("UDP"), "alice", undefined);
    await expect(u.register()).rejects.toMatchObject({ code: "E_SIP_REJECTED", status: 401 });
    expect(failures[0]?.code).toBe("E_SIP_REJECTED");
    expect(sent).toHaveLength(1);
  });

  it("a registrar challenging forever: at most 3 answers, then E_SIP_AUTH; a forged rspauth: E_SIP_AUTH", async () => {
    // a fake registrar: always 401 (stale=true so the authenticator keeps answering), then a 200 with a bad rspauth
    const sock = createSocket("udp4");
    await new Promise<void>((r) => sock.bind(0, "127.0.0.1", () => r()));
    open.push({ close: () => new Promise<void>((r) => sock.close(() => r())) });
    let mode: "challenge" | "bad-rspauth" | "proxy" = "challenge";
    sock.on("message", (b, rinfo) => {
      const m = parseMessage(new Uint8Array(b), { datagram: true });
      if (m.kind !== "request") return;
      const copy = ["Via", "From", "To", "Call-ID", "CSeq"].flatMap((n) => m.getHeaders(n).map((v) => `${n}: ${v}`));
      const nonce = `n${m.cseq().seq}`;
      const authorized = m.getHeader("Authorization") !== undefined;
      const proxyAuthorized = m.getHeader("Proxy-Authorization") !== undefined;
      const lines =
        mode === "proxy"
          ? proxyAuthorized
            ? ["SIP/2.0 200 OK", ...copy, `Contact: ${m.getHeader("Contact")};expires=600`]
            : [
                "SIP/2.0 407 Proxy Authentication Required",
                ...copy,
                `Proxy-Authenticate: Digest realm="${DOMAIN}", nonce="${nonce}", algorithm=MD5, qop="auth"`,
              ]
          : mode === "challenge" || !authorized
            ? [
                "SIP/2.0 401 Unauthorized",
                ...copy,
                `WWW-Authenticate: Digest realm="${DOMAIN}", nonce="${nonce}", algorithm=MD5, qop="auth", stale=true`,
              ]
            : [
                "SIP/2.0 200 OK",
                ...copy,
                `Contact: ${m.getHeader("Contact")};expires=600`,
                `Authentication-Info: rspauth="00000000000000000000000000000000"`,
              ];
      sock.send(`${[...lines, "Content-Length: 0", "", ""].join("\r\n")}`, rinfo.port, rinfo.address);
    });
    const proxy = `sip:127.0.0.1:${sock.address().port};transport=udp`;
    const auth = new UeAuthenticator({ impi: `alice@${DOMAIN}`, realm: DOMAIN, password: "pw" });
    const { u, sent } = await ua(proxy, "alice", auth);
    const e1 = await u.register().catch((e: unknown) => e);
    expect((e1 as SipError).code).toBe("E_SIP_AUTH");
    expect((e1 as SipError).message).toMatch(/3 answers/);
    expect(sent.map((s) => s.cseq)).toEqual([1, 2, 3, 4]);
    mode = "bad-rspauth";
    const e2 = await u.register().catch((e: unknown) => e);
    expect((e2 as SipError).code).toBe("E_SIP_AUTH");
    expect((e2 as SipError).message).toMatch(/rspauth/);
    expect(u.registered).toBeUndefined();
    // RFC 3261 §22.3: a 407 is answered in Proxy-Authorization
    mode = "proxy";
    const before = sent.length;
    await u.register();
    expect(sent[before + 1]?.proxyAuthorization).toMatch(/^Digest .*realm="ims\.example\.com"/);
    expect(sent[before + 1]?.authorization).toBeUndefined();
  });
});
