/**
 * Every NDJSON log line has each key once (RFC 8259 §4: names SHOULD be unique; `JSON.parse` and `jq` keep the last),
 * so the reason of a refusal survives any reader. Real nodes on 127.0.0.1 (the embedded network: S-CSCF, two
 * P-CSCFs, the IMS-AGW, two UEs) log into one captured stream, their audit events too (as `imsdc pcscf|agw|ue` do);
 * every line is read with a parser that rejects a repeated key.
 */
import { afterEach, describe, expect, it } from "vitest";
import { tamperInvite } from "../../src/demo/events.ts";
import { EmbeddedNetwork } from "../../src/demo/network.ts";
import { createLogger, type Logger, loggerAuditSink } from "../../src/log.ts";
import { SipRequestError } from "../../src/sip/index.ts";
import type { UeCall } from "../../src/ue/index.ts";
import { DuplicateKeyError, parseStrict } from "./strictJson.ts";

type Line = Record<string, unknown>;

function capture(): { logger: Logger; raw: string[]; lines: () => Line[] } {
  const raw: string[] = [];
  const logger = createLogger({
    name: "imsdc-test",
    level: "debug",
    destination: { write: (s: string) => raw.push(s) },
  });
  return { logger, raw, lines: () => raw.map((s) => parseStrict(s.trim()) as Line) };
}

const closers: (() => Promise<unknown>)[] = [];
afterEach(async () => {
  for (const c of closers.splice(0).reverse()) await c().catch(() => undefined);
});

async function network(logger: Logger, opts: { agw?: boolean } = {}): Promise<EmbeddedNetwork> {
  const net = await EmbeddedNetwork.start({ logger, ...opts });
  closers.push(() => net.close());
  net.audit.onEvent(loggerAuditSink(logger));
  return net;
}

function waitFor(pred: () => boolean, ms: number, what: string): Promise<void> {
  return new Promise((resolve, reject) => {
    const start = Date.now();
    const tick = () => {
      if (pred()) resolve();
      else if (Date.now() - start > ms) reject(new Error(`${what} not seen within ${ms} ms`));
      else setTimeout(tick, 10);
    };
    tick();
  });
}

const DC_TIMEOUTS = { gatherMs: 3_000, iceMs: 5_000, dtlsMs: 5_000, sctpMs: 5_000 };
const E2AE = { msrp: { pathMatch: "session-id" as const }, bfcp: { conferenceId: 1, userId: 2, floorIds: [1] } };

/** No secret in any line: no PEM private key, every redacted key censored. */
function expectNoSecrets(raw: string[]): void {
  for (const s of raw) expect(s).not.toMatch(/PRIVATE KEY/);
}

describe("strict parser (the test's own instrument)", () => {
  it("rejects a repeated key at any depth, accepts what JSON.parse accepts otherwise", () => {
    expect(() => parseStrict('{"msg":"a","msg":"b"}')).toThrow(DuplicateKeyError);
    expect(() => parseStrict('{"a":{"b":1,"b":2}}')).toThrow(/duplicate key "b" at \.a/);
    expect(() => parseStrict('[{"x":1},{"x":2,"y":[{"z":1,"z":1}]}]')).toThrow(DuplicateKeyError);
    const ok = '{"a":"x\\"y","b":[1,-2.5e3,true,null,{}],"c":{"d":"é\\u0041"},"__proto__":1}';
    expect(parseStrict(ok)).toEqual(JSON.parse(ok));
    expect(() => parseStrict('{"a":1} x')).toThrow(SyntaxError);
  });
});

describe("log lines: each key once, the refusal reason kept", () => {
  it("logger: repeated bindings, a logged msg, a field a binding already carries, pino's own keys", () => {
    const { logger, raw, lines } = capture();
    const ue = logger.child({ ue: "sip:alice@x", name: "alice" }).child({ ue: "sip:alice@x", e2ae: "msrp" });
    ue.warn({ code: "E_FP_MISMATCH", msg: "peer certificate refused: 50% off" }, "data channel failed");
    ue.info({ ue: "sip:alice@x", time: 1, level: "x" }, "same ue, pino keys");
    ue.info({ ue: "sip:bob@x", reason: "r1", msg: "r2" }, "other ue %s", "arg");
    ue.child({ password: "p1" }).info({ password: "p2", keyPem: "k" }, "secrets");
    ue.info({ err: Object.assign(new Error("boom"), { code: "E_X" }) }, "with err");
    const l = lines();
    expect(l).toHaveLength(5);
    const [fail, same, other, secret, err] = l as [Line, Line, Line, Line, Line];
    // the child's name wins over the root's; one ue
    expect(fail).toMatchObject({ name: "alice", ue: "sip:alice@x", e2ae: "msrp", code: "E_FP_MISMATCH" });
    expect(fail.reason).toBe("peer certificate refused: 50% off");
    expect(fail.msg).toBe("data channel failed: peer certificate refused: 50% off");
    expect(same.ue).toBe("sip:alice@x");
    expect(same).toMatchObject({ time_2: 1, level_2: "x", msg: "same ue, pino keys" });
    expect(typeof same.time).toBe("number");
    expect(other).toMatchObject({ ue: "sip:alice@x", ue_2: "sip:bob@x", reason: "r1", reason_2: "r2" });
    // a `%` in the reason stays literal when the message is a format string
    expect(other.msg).toBe("other ue arg: r2");
    expect(secret).toMatchObject({ password: "[redacted]", password_2: "[redacted]", keyPem: "[redacted]" });
    expect(err.err).toMatchObject({ type: "Error", message: "boom", code: "E_X" });
    expect(raw.join("")).not.toMatch(/"p1"|"p2"|"k"/);
  });

  it("UE: bob refuses the tampered fingerprint, alice's data channel fails: both reasons survive", {
    timeout: 30_000,
  }, async () => {
    const { logger, raw, lines } = capture();
    const net = await network(logger);
    const alice = await net.addUe("ueA", "alice", {
      transport: "TCP",
      dc: { channels: [{ id: 1000, label: "chat" }], timeouts: DC_TIMEOUTS },
      mutateOutgoing: tamperInvite,
    });
    const bob = await net.addUe("ueB", "bob", { transport: "UDP", dc: { timeouts: DC_TIMEOUTS } });
    const incoming = new Promise<UeCall>((r) => bob.once("incoming", r));
    const call = await alice.call(`sip:bob@${net.domain}`);
    const bcall = await incoming;
    await Promise.all([call.sip.terminated(), bcall.sip.terminated()]);
    await waitFor(() => raw.some((s) => s.includes("data channel failed")), 5000, "alice's failure line");
    const l = lines();
    // bob: the security decision, one audit line with its reason (RFC 8122 §6)
    const refused = l.filter((x) => x.audit === true && x.decision === "peer-refused");
    expect(refused).toHaveLength(1);
    expect(refused[0]).toMatchObject({ node: "ue", code: "E_FP_MISMATCH", clause: expect.stringMatching(/RFC 8122/) });
    expect(String(refused[0]?.reason)).toMatch(/fingerprint/);
    // alice: the failure's reason in its own key and in the message
    const failed = l.find((x) => typeof x.msg === "string" && x.msg.startsWith("data channel failed"));
    expect(failed?.ue).toBe("sip:alice@ims.example.com");
    expect(typeof failed?.reason).toBe("string");
    expect(String(failed?.reason).length).toBeGreaterThan(0);
    expect(failed?.msg).toBe(`data channel failed: ${String(failed?.reason)}`);
    expectNoSecrets(raw);
  });

  it("P-CSCF: an e2ae offer without an IMS-AGW is refused (488): the audit line carries the reason", {
    timeout: 30_000,
  }, async () => {
    const { logger, raw, lines } = capture();
    const net = await network(logger, { agw: false });
    const alice = await net.addUe("ueA", "alice", { transport: "TCP", media: ["msrp"], e2ae: E2AE });
    await net.addUe("ueB", "bob", { transport: "UDP", e2ae: E2AE });
    const err = await alice.call(`sip:bob@${net.domain}`).then(
      () => undefined,
      (e: unknown) => e,
    );
    expect(err).toBeInstanceOf(SipRequestError);
    expect((err as SipRequestError).status).toBe(488);
    const l = lines();
    // TS 33.328 §7.2.5 / TR 29.828 §5.2.1.2.2 step 1: e2ae applies, no IMS-AGW: refused (fail closed)
    const refusal = l.filter((x) => x.audit === true && x.node === "pcscf" && x.action === "refuse");
    expect(refusal).toHaveLength(1);
    expect(refusal[0]).toMatchObject({ decision: "e2ae", refuseCode: "E_ALG_E2AE_UNAVAILABLE", status: 488 });
    expect(String(refusal[0]?.warning)).toMatch(/e2ae not available/);
    expect(String(refusal[0]?.reason).length).toBeGreaterThan(0);
    const line = l.find((x) => x.msg === "ims-alg: offer refused");
    expect(line).toMatchObject({ name: "pcscf-a", node: "pcscf", codes: ["E_ALG_E2AE_UNAVAILABLE"] });
    expectNoSecrets(raw);
  });

  it("IMS-AGW: alice's e2ae certificate does not match her (tampered) fingerprint: the AGW refuses her TLS leg", {
    timeout: 30_000,
  }, async () => {
    const { logger, raw, lines } = capture();
    const net = await network(logger);
    const alice = await net.addUe("ueA", "alice", {
      transport: "TCP",
      media: ["msrp"],
      e2ae: E2AE,
      mutateOutgoing: tamperInvite,
    });
    const bob = await net.addUe("ueB", "bob", { transport: "UDP", e2ae: E2AE });
    const incoming = new Promise<UeCall>((r) => bob.once("incoming", r));
    const call = await alice.call(`sip:bob@${net.domain}`);
    await incoming;
    await waitFor(() => raw.some((s) => s.includes("TLS leg failed")), 10_000, "the AGW's refusal");
    await call.hangup();
    const l = lines();
    // RFC 8122 §6 / TR 29.828 §5.2.1.2.2 steps 5-7: the AGW's decision, one audit line with the reason
    const refused = l.filter((x) => x.audit === true && x.node === "agw" && x.decision === "fingerprint-mismatch");
    expect(refused).toHaveLength(1);
    expect(refused[0]?.reason).toBe("mismatch");
    expect(String(refused[0]?.clause)).toMatch(/RFC 8122/);
    const tlsFailed = l.find((x) => x.msg === "TLS leg failed");
    expect(tlsFailed).toMatchObject({ node: "agw", reason: "fingerprint-mismatch" });
    expect(String(tlsFailed?.detail)).toMatch(/does not match/);
    expectNoSecrets(raw);
  });
});
