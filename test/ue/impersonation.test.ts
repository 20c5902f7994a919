/**
 * The attack werift 0.24.4 as published let through (docs/werift-patches.md hole 1): an impersonator who holds only
 * the legitimate peer's PUBLIC certificate (DTLS 1.2 sends it in clear) plus its own key. Its SDP carries the genuine
 * fingerprint, so only proof of possession (ServerKeyExchange / CertificateVerify signatures) can unmask it.
 * Here it goes through our own UE API: the victim must fail with a typed error and receive/send no data.
 */
import { describe, expect, it } from "vitest";
import { AuditLog } from "../../src/log.ts";
import { generateSessionCertificate } from "../../src/security/certificate.ts";
import { DcEndpoint, identityFromCertificate } from "../../src/ue/dcEndpoint.ts";
import type { UeError } from "../../src/ue/errors.ts";

const CHANNELS = [{ id: 1000, label: "chat" }];

function impersonatorOf(victimPeer: DcEndpoint) {
  const attacker = generateSessionCertificate();
  // the genuine certificate (and so the genuine fingerprint) with the attacker's own private key
  return { ...victimPeer.identity, keyPem: attacker.keyPem };
}

const settle = (p: Promise<void>) =>
  p.then(
    () => undefined,
    (e: unknown) => e as UeError,
  );

describe("impersonator with the peer's public certificate but not its key", () => {
  it("victim is the offerer / DTLS server: fails with E_DTLS_AUTH, no data either way", async () => {
    const audit = new AuditLog();
    const genuineBob = new DcEndpoint({ name: "bob" });
    const victim = new DcEndpoint({ name: "alice", channels: CHANNELS, audit, timeouts: { dtlsMs: 5000 } });
    const mallory = new DcEndpoint({
      name: "mallory",
      identity: impersonatorOf(genuineBob),
      timeouts: { dtlsMs: 5000 },
    });
    try {
      const answer = await mallory.acceptOffer(await victim.createOffer());
      const t0 = Date.now();
      await victim.acceptAnswer(answer);
      const [ev, em] = await Promise.all([settle(victim.connected()), settle(mallory.connected())]);
      // the victim's fatal alert reaches the attacker: it fails at once, not at its 5 s DTLS timeout
      expect(Date.now() - t0).toBeLessThan(3000);
      expect(victim.transport?.dtlsRole).toBe("server");
      expect(ev?.code).toBe("E_DTLS_AUTH");
      expect(em).toBeDefined(); // the attacker's side fails too (fatal alert), it does not hang "connected"
      expect(victim.state).toBe("failed");
      expect(victim.channel(1000)?.readyState ?? "closed").not.toBe("open");
      expect(audit.events.some((e) => e.decision === "peer-refused" && e.code === "E_DTLS_AUTH")).toBe(true);
    } finally {
      await Promise.all([victim.close(), mallory.close(), genuineBob.close()]);
    }
  });

  it("victim is the answerer / DTLS client: fails with E_DTLS_AUTH, no data either way", async () => {
    const genuineAlice = new DcEndpoint({ name: "alice" });
    const mallory = new DcEndpoint({
      name: "mallory",
      channels: CHANNELS,
      identity: impersonatorOf(genuineAlice),
      timeouts: { dtlsMs: 5000 },
    });
    const victim = new DcEndpoint({ name: "bob", timeouts: { dtlsMs: 5000 } });
    try {
      const answer = await victim.acceptOffer(await mallory.createOffer());
      await mallory.acceptAnswer(answer);
      const ev = await settle(victim.connected());
      expect(victim.transport?.dtlsRole).toBe("client");
      expect(ev?.code).toBe("E_DTLS_AUTH");
      expect(victim.verdict?.verified).toBe(false);
      expect(victim.channel(1000)?.readyState ?? "closed").not.toBe("open");
    } finally {
      await Promise.all([victim.close(), mallory.close(), genuineAlice.close()]);
    }
  });

  it("control: the genuine peer with the same certificate connects", async () => {
    const cert = identityFromCertificate(generateSessionCertificate());
    const a = new DcEndpoint({ name: "alice", channels: CHANNELS });
    const b = new DcEndpoint({ name: "bob", identity: cert });
    try {
      const answer = await b.acceptOffer(await a.createOffer());
      await a.acceptAnswer(answer);
      await Promise.all([a.connected(), b.connected()]);
      expect(a.verdict?.verified).toBe(true);
    } finally {
      await Promise.all([a.close(), b.close()]);
    }
  });
});
