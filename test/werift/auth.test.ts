/**
 * Holes 1 and 2 of docs/werift-patches.md: DTLS peer authentication.
 *
 * Hole 1: proof of possession (ServerKeyExchange / CertificateVerify signatures, Finished verify_data).
 * Hole 2: the a=fingerprint check happens during the handshake, with a fatal alert, so that neither side ever
 *         reaches "connected" and the peer fails fast instead of hanging.
 * Plus the oracle control (node-datachannel rejects the same impersonator) and interop with node-datachannel.
 */
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { generateSessionCertificate } from "../../src/security/certificate.ts";
import {
  assertMessagesFlow,
  type DtlsRole,
  type Endpoint,
  impersonatorCertificate,
  loadWerift,
  ndcCleanup,
  pairWerift,
  pairWithNdc,
  tamperFingerprint,
  WERIFT_BUILDS,
  type Werift,
  waitFor,
} from "./harness.ts";

afterAll(() => ndcCleanup());

const reason = (r: PromiseSettledResult<void>): string =>
  r.status === "rejected" ? String(r.reason instanceof Error ? r.reason.message : r.reason) : "fulfilled";

/** The endpoint failed closed: start() rejected, transport failed, never "connected", nothing received. */
function expectFailedClosed(ep: Endpoint, r: PromiseSettledResult<void>, message: RegExp): void {
  expect(r.status, `${ep.name} must not connect`).toBe("rejected");
  expect(reason(r)).toMatch(message);
  expect(ep.dtls.state).toBe("failed");
  expect(ep.dtlsStates).not.toContain("connected");
  expect(ep.messages(0)).toEqual([]);
}

/** Replaces the Finished verify_data this endpoint sends (to prove the peer checks it). */
function corruptOwnFinished(ep: Endpoint): void {
  const start = ep.dtls.start.bind(ep.dtls);
  ep.dtls.start = () => {
    const p = start();
    const socket = ep.dtls.dtls;
    if (!socket) throw new Error("DTLS socket not created synchronously");
    const verifyData = socket.cipher.verifyData.bind(socket.cipher);
    socket.cipher.verifyData = (buf: Buffer) => {
      const v = Buffer.from(verifyData(buf));
      v[0] = (v[0] ?? 0) ^ 0x01;
      return v;
    };
    return p;
  };
}

describe.each(WERIFT_BUILDS)("werift %s build", (build) => {
  let werift: Werift;
  beforeAll(async () => {
    werift = await loadWerift(build);
  });

  describe("hole 1: DTLS proof of possession (RFC 5246 §7.4.3, §7.4.8, §7.4.9)", () => {
    it.each<[DtlsRole, RegExp]>([
      ["server", /CertificateVerify signature invalid/],
      ["client", /ServerKeyExchange signature invalid/],
    ])(
      "hole 1: impersonator (peer's certificate, own key) is rejected by a victim acting as DTLS %s",
      async (victimRole, why) => {
        const legit = generateSessionCertificate(); // the peer the victim expects
        const pair = await pairWerift({
          werift,
          a: { name: "victim", role: victimRole },
          b: {
            name: "impersonator",
            role: victimRole === "server" ? "client" : "server",
            certificate: impersonatorCertificate(legit.certPem),
          },
          fingerprintOfB: { algorithm: legit.fingerprint.hash, value: legit.fingerprint.value }, // what the victim's SDP says: the legit peer
          timeoutMs: 8000,
        });
        try {
          expectFailedClosed(pair.a, pair.resultA, why);
          // the impersonator is told with decrypt_error(51) and fails at once instead of hanging
          expectFailedClosed(pair.b, pair.resultB, /fatal alert received: DecryptError/);
          expect(pair.setupMs).toBeLessThan(4000);
        } finally {
          await pair.close();
        }
      },
      15_000,
    );

    it.each<[DtlsRole]>([["server"], ["client"]])(
      "hole 1: a tampered Finished is rejected by a victim acting as DTLS %s",
      async (victimRole) => {
        const pair = await pairWerift({
          werift,
          a: { name: "victim", role: victimRole },
          b: { name: "tamperer", role: victimRole === "server" ? "client" : "server" },
          beforeConnect: (_a, b) => corruptOwnFinished(b),
        });
        try {
          expectFailedClosed(pair.a, pair.resultA, /Finished verify_data mismatch/);
          // The tamperer learns it through decrypt_error(51). As DTLS server it has already completed its side of
          // the handshake when the alert arrives (its Finished is the last message), so it fails right after.
          expect(pair.resultB.status).toBe("rejected");
          expect(reason(pair.resultB)).toMatch(
            victimRole === "server" ? /fatal alert received: DecryptError/ : /DTLS failed/,
          );
          expect(pair.b.dtls.state).toBe("failed");
          expect(pair.b.messages(0)).toEqual([]);
          expect(pair.setupMs).toBeLessThan(4000);
        } finally {
          await pair.close();
        }
      },
      15_000,
    );

    it.each<[DtlsRole]>([["client"], ["server"]])(
      "oracle: node-datachannel (libdatachannel) also rejects the impersonator when werift is the DTLS %s",
      async (impersonatorRole) => {
        const legit = generateSessionCertificate();
        const pair = await pairWithNdc({
          werift,
          weriftRole: impersonatorRole,
          weriftCertificate: impersonatorCertificate(legit.certPem), // ndc is told fp(legit)
          timeoutMs: 8000,
        });
        try {
          expect(pair.ndcResult.status).toBe("rejected");
          expect(pair.ndc.messages).toEqual([]);
          expect(pair.ndc.states).toContain("failed");
        } finally {
          await pair.close();
        }
      },
      15_000,
    );
  });

  describe("hole 2: fingerprint checked during the handshake, fatal alert, both sides fail fast (RFC 8122 §6)", () => {
    it.each<["offer" | "answer", DtlsRole]>([
      ["answer", "server"],
      ["answer", "client"],
      ["offer", "server"],
      ["offer", "client"],
    ])(
      "hole 2: tampered fingerprint in the %s (offerer is DTLS %s) fails closed on both sides",
      async (where, offererRole) => {
        const fresh = generateSessionCertificate(); // the certificate whose fingerprint gets tampered
        const tampered = { algorithm: "sha-256", value: tamperFingerprint(fresh.fingerprint.value) };
        const answererRole: DtlsRole = offererRole === "server" ? "client" : "server";
        const real = await pairWerift({
          werift,
          a: { name: "offerer", role: offererRole, ...(where === "offer" ? { certificate: fresh } : {}) },
          b: { name: "answerer", role: answererRole, ...(where === "answer" ? { certificate: fresh } : {}) },
          // tampered offer: the answerer is told a wrong fingerprint for the offerer; tampered answer: vice versa
          ...(where === "answer" ? { fingerprintOfB: tampered } : { fingerprintOfA: tampered }),
          timeoutMs: 8000,
        });
        try {
          const [verifier, vr, peer, pr] =
            where === "answer"
              ? [real.a, real.resultA, real.b, real.resultB]
              : [real.b, real.resultB, real.a, real.resultA];
          expectFailedClosed(verifier, vr, /remote certificate fingerprint mismatch/);
          // bad_certificate(42) reaches the peer: it fails quickly and never reached "connected"
          expectFailedClosed(peer, pr, /fatal alert received: BadCertificate/);
          expect(real.setupMs).toBeLessThan(4000);
        } finally {
          await real.close();
        }
      },
      15_000,
    );

    it.each<[DtlsRole]>([["client"], ["server"]])(
      "hole 2: werift as DTLS %s rejects a node-datachannel peer with a tampered fingerprint and the peer fails too",
      async (role) => {
        const pair = await pairWithNdc({ werift, weriftRole: role, tamperNdcFingerprint: true, timeoutMs: 8000 });
        try {
          expectFailedClosed(pair.werift, pair.weriftResult, /remote certificate fingerprint mismatch/);
          // the channel never opened on the node-datachannel side and it noticed the failure
          expect(pair.ndcResult.status).toBe("rejected");
          await waitFor(
            () => pair.ndc.states.includes("failed") || pair.ndc.states.includes("closed"),
            4000,
            "ndc fails",
          );
          expect(pair.ndc.states).not.toContain("connected");
        } finally {
          await pair.close();
        }
      },
      15_000,
    );
  });

  describe("interop: patched werift ↔ node-datachannel", () => {
    it.each<[DtlsRole]>([["client"], ["server"]])(
      "interop: werift as DTLS %s exchanges messages both ways with node-datachannel",
      async (role) => {
        const pair = await pairWithNdc({ werift, weriftRole: role, timeoutMs: 8000 });
        try {
          expect(reason(pair.weriftResult)).toBe("fulfilled");
          expect(reason(pair.ndcResult)).toBe("fulfilled");
          for (let i = 0; i < 8; i++) {
            pair.werift.channel(0).send(`w${i}`);
            pair.ndc.channel.sendMessage(`n${i}`);
          }
          await waitFor(() => pair.ndc.messages.length === 8 && pair.werift.messages(0).length === 8, 5000, "messages");
          expect(pair.ndc.messages).toEqual([...Array(8).keys()].map((i) => `w${i}`));
          expect(pair.werift.messages(0).map(String)).toEqual([...Array(8).keys()].map((i) => `n${i}`));
        } finally {
          await pair.close();
        }
      },
      15_000,
    );

    it("interop: werift ↔ werift baseline in both DTLS roles", async () => {
      for (const role of ["server", "client"] as const) {
        const pair = await pairWerift({ werift, a: { role }, b: { role: role === "server" ? "client" : "server" } });
        try {
          expect(reason(pair.resultA)).toBe("fulfilled");
          expect(reason(pair.resultB)).toBe("fulfilled");
          await assertMessagesFlow(pair.a, pair.b, `baseline-${role}`);
        } finally {
          await pair.close();
        }
      }
    }, 15_000);
  });
});
