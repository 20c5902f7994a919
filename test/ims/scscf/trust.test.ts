import { describe, expect, it } from "vitest";
import { validateScscfConfig } from "../../../src/cli/config.ts";
import { ConfigError } from "../../../src/cli/errors.ts";
import { ScscfError, TrustedPeers } from "../../../src/ims/scscf/index.ts";
import type { SipSource, SipTransportProtocol } from "../../../src/sip/index.ts";

const FP = `sha-256 ${Array.from({ length: 32 }, (_, i) => (i * 7).toString(16).padStart(2, "0").toUpperCase()).join(":")}`;

function src(host: string, port: number, transport: SipTransportProtocol = "UDP", connectionId?: string): SipSource {
  return { transport, host, port, localHost: "127.0.0.1", localPort: 6060, connectionId };
}

describe("TrustedPeers (RFC 3325 §5 trust domain of the S-CSCF)", () => {
  it("matches addresses, address:port (UDP senders), CIDR blocks and IPv6", () => {
    const t = new TrustedPeers(["10.0.0.7", "127.0.0.1:5070", "192.168.4.0/24", "[2001:db8::7]:5070", "fd00::/8"]);
    expect(t.match(src("10.0.0.7", 40000))?.entry).toBe("10.0.0.7");
    expect(t.match(src("::ffff:10.0.0.7", 1))?.by).toBe("address");
    expect(t.match(src("127.0.0.1", 5070))?.entry).toBe("127.0.0.1:5070");
    expect(t.match(src("127.0.0.1", 5071))).toBeUndefined();
    expect(t.match(src("192.168.4.200", 1))?.entry).toBe("192.168.4.0/24");
    expect(t.match(src("192.168.5.1", 1))).toBeUndefined();
    expect(t.match(src("2001:db8::7", 5070))?.by).toBe("address");
    expect(t.match(src("2001:db8::7", 5071))).toBeUndefined();
    expect(t.match(src("fd12::1", 9))?.entry).toBe("fd00::/8");
  });

  it("matches a TLS identity (certificate fingerprint) through the peerIdentity hook only", () => {
    const seen: SipSource[] = [];
    const t = new TrustedPeers([FP.toLowerCase()], (s) => {
      seen.push(s);
      return s.connectionId === "tls-1" ? FP : s.connectionId === "tls-2" ? `sha-256 ${"AA:".repeat(31)}AA` : undefined;
    });
    expect(t.match(src("203.0.113.9", 40000, "TCP", "tls-1"))).toEqual({ by: "identity", entry: FP });
    expect(t.match(src("203.0.113.9", 40000, "TCP", "tls-2"))).toBeUndefined();
    expect(t.match(src("203.0.113.9", 40000, "TCP", "tcp-3"))).toBeUndefined();
    expect(seen).toHaveLength(3);
    // without the hook nobody is trusted by fingerprint
    expect(new TrustedPeers([FP]).match(src("203.0.113.9", 1, "TCP", "tls-1"))).toBeUndefined();
  });

  it("no entry trusts nobody; a throwing predicate or hook trusts nobody", () => {
    const t = new TrustedPeers([]);
    expect(t.empty).toBe(true);
    expect(t.match(src("127.0.0.1", 5060))).toBeUndefined();
    const boom = () => {
      throw new Error("boom");
    };
    expect(new TrustedPeers([boom]).match(src("127.0.0.1", 1))).toBeUndefined();
    expect(new TrustedPeers([FP], boom).match(src("127.0.0.1", 1))).toBeUndefined();
  });

  it.each(["localhost", "10.0.0.300", "10.0.0.0/33", "127.0.0.1:0", "sha-1 AA:BB", `md5 ${"AA:".repeat(15)}AA`, ""])(
    "refuses the entry %j with E_SCSCF_CONFIG",
    (e) => {
      expect(() => new TrustedPeers([e])).toThrow(ScscfError);
      try {
        new TrustedPeers([e]);
      } catch (err) {
        expect((err as ScscfError).code).toBe("E_SCSCF_CONFIG");
      }
    },
  );

  it("the scscf config: trustedPcscfs validated, bad entries listed; absent stays absent (no peer trusted)", () => {
    expect(
      validateScscfConfig({ tcp: 0, auth: false, trustedPcscfs: ["127.0.0.1", FP] }, "s.json").trustedPcscfs,
    ).toEqual(["127.0.0.1", FP]);
    expect(validateScscfConfig({ tcp: 0, auth: false }, "s.json").trustedPcscfs).toBeUndefined();
    expect(() => validateScscfConfig({ tcp: 0, auth: false, trustedPcscfs: ["pcscf.example.com"] }, "s.json")).toThrow(
      ConfigError,
    );
    expect(() => validateScscfConfig({ tcp: 0, trustedPcscfs: "127.0.0.1" }, "s.json")).toThrow(ConfigError);
  });
});
