/**
 * `imsdc call --transport tls`: every SIP hop over TLS (RFC 3261 §26.2), every node trusting a CA generated for the
 * run; the e2e scenario passes. And the embedded network with `tls`: the UEs' and the core's SIP really runs on the
 * TLS listeners (no TCP/UDP listener in the core), the page's listener is WSS (RFC 7118 §5).
 */
import { afterEach, describe, expect, it } from "vitest";
import type { CallResult } from "../../src/cli/call.ts";
import { EXIT, main } from "../../src/cli/main.ts";
import { EmbeddedNetwork } from "../../src/demo/network.ts";
import { memoryIo } from "./helpers.ts";

const nets: EmbeddedNetwork[] = [];
afterEach(async () => {
  await Promise.all(nets.splice(0).map((n) => n.close()));
});

describe("imsdc call --transport tls", () => {
  it("e2e over TLS on every SIP hop: exit 0, the INVITE crosses the four hops, both verdicts verified", {
    timeout: 30_000,
  }, async () => {
    const io = memoryIo();
    const code = await main(["call", "--scenario", "e2e", "--transport", "tls", "--json", "--timeout", "20000"], io);
    const r = JSON.parse(io.lines()[0] ?? "{}") as CallResult;
    expect(code).toBe(EXIT.OK);
    expect(r).toMatchObject({ ok: true, outcome: "dc-verified" });
    const hops = r.ladder.filter((l) => l.label === "INVITE (SDP offer)").map((l) => `${l.from}>${l.to}`);
    expect(hops).toEqual(["ueA>pcscfA", "pcscfA>scscf", "scscf>pcscfB", "pcscfB>ueB"]);
  });

  it("rejects an unknown --transport with a usage error", async () => {
    const io = memoryIo();
    expect(await main(["call", "--scenario", "e2e", "--transport", "sctp"], io)).toBe(EXIT.USAGE);
  });

  it("the embedded network with tls: TLS core, TLS access for UEs, WSS for the page", { timeout: 20_000 }, async () => {
    const net = await EmbeddedNetwork.start({ tls: true });
    nets.push(net);
    expect(net.scscf.iface.layer.protocols()).toEqual(["TLS"]);
    expect(net.pcscfA.core.layer.protocols()).toEqual(["TLS"]);
    expect(net.wsUrlA()).toMatch(/^wss:\/\/127\.0\.0\.1:\d+\/$/);
    await net.addUe("ueA", "alice", { transport: "TLS" });
    await net.addUe("ueB", "bob", { transport: "WSS" });
    expect(net.pcscfA.access.layer.connectionStats("TLS")?.open).toBe(1);
    expect(net.pcscfB.access.layer.connectionStats("WSS")?.open).toBe(1);
    // the REGISTERs crossed TLS connections P-CSCF → S-CSCF
    expect(net.scscf.iface.layer.connectionStats("TLS")?.open).toBeGreaterThan(0);
    expect(net.audit.events.filter((e) => e.decision === "tls-refused")).toEqual([]);
  });
});
