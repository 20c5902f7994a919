/** `ImsUe`'s `auth` option: credentials validated at construction (E_CONFIG), and registration through the demo network. */
import { afterEach, describe, expect, it } from "vitest";
import { EmbeddedNetwork } from "../../src/demo/network.ts";
import { createUeAuthenticator, ImsUe } from "../../src/ue/index.ts";

const nets: EmbeddedNetwork[] = [];
afterEach(async () => {
  for (const n of nets.splice(0)) await n.close();
});

describe("ImsUe auth", () => {
  it("refuses bad credentials at construction with E_CONFIG", () => {
    const aor = "sip:bob@ims.example.com";
    expect(() => createUeAuthenticator(aor, { impi: "bob", k: "00", opc: "00" })).toThrow(/auth.k must be 32 hex/);
    expect(() => createUeAuthenticator(aor, { impi: "", password: "x" })).toThrow(/auth.impi/);
    expect(() => new ImsUe({ aor, auth: { impi: "bob", password: "" } })).toThrow(
      expect.objectContaining({ code: "E_CONFIG" }),
    );
    expect(createUeAuthenticator(aor, { impi: "bob@ims.example.com", password: "pw" }).realm).toBe("ims.example.com");
  });

  it("registers through the authenticated demo network with Digest (alice) and AKA (bob); without credentials: 401", async () => {
    const net = await EmbeddedNetwork.start({ agw: false });
    nets.push(net);
    await net.addUe("ueA", "alice");
    await net.addUe("ueB", "bob");
    const ok = net.audit.events
      .filter((e) => e.decision === "auth-ok")
      .map((e) => `${String(e.impi)} ${String(e.scheme)}`);
    expect(ok).toEqual(["alice@ims.example.com digest", "bob@ims.example.com aka"]);
    const carol = new ImsUe({ aor: "sip:carol@ims.example.com", outboundProxy: net.pcscfUri("A", "UDP") });
    await carol.start();
    try {
      await expect(carol.register()).rejects.toMatchObject({ code: "E_SIP_REJECTED", status: 401 });
    } finally {
      await carol.close();
    }
  });
});
