import { afterEach, describe, expect, it } from "vitest";
import { readMedia } from "../../src/sdp/index.ts";
import { ImsUe, type UeCall } from "../../src/ue/ue.ts";
import { within } from "./e2ae/helpers.ts";
import { nextMessage, waitOpen } from "./helpers.ts";

const TIMERS = { T1: 100, T2: 400, T4: 500, D: 500 };
const closers: (() => Promise<void>)[] = [];
afterEach(async () => {
  for (const c of closers.splice(0).reverse()) await c();
});

describe("UE with data channel + e2ae MSRP + BFCP streams in one INVITE", () => {
  it("composes the offer and answer; every stream comes up verified end to end", async () => {
    const alice = new ImsUe({
      aor: "sip:alice@ims.example.com",
      timers: TIMERS,
      media: ["dc", "msrp", "bfcp"],
      dc: { channels: [{ id: 1000, label: "chat" }] },
    });
    const bob = new ImsUe({
      aor: "sip:bob@ims.example.com",
      timers: TIMERS,
      e2ae: { bfcp: { conferenceId: 7, userId: 2, floorIds: [1] } },
    });
    await alice.start();
    await bob.start();
    closers.push(
      () => alice.close(),
      () => bob.close(),
    );
    const b = bob.layer.address("UDP");
    if (!b) throw new Error("no address");
    const incoming = new Promise<UeCall>((r) => bob.once("incoming", r));
    const call = await alice.call(`sip:bob@${b.host}:${b.port}`);
    const bcall = await incoming;
    const offer = call.lastOffer ?? "";
    expect(readMedia(offer).map((m) => m.proto)).toEqual(["UDP/DTLS/SCTP", "TCP/TLS/MSRP", "TCP/TLS/BFCP"]);
    expect(offer).toMatch(/a=3ge2ae:requested/);
    await within(
      Promise.all([
        call.dc.connected(),
        bcall.dc.connected(),
        call.msrp?.connected(),
        bcall.msrp?.connected(),
        call.bfcp?.connected(),
        bcall.bfcp?.connected(),
      ]),
      10_000,
      "all streams",
    );
    const ca = call.dc.channel(1000);
    const cb = bcall.dc.channel(1000);
    if (!ca || !cb || !call.msrp || !bcall.msrp || !call.bfcp) throw new Error("streams missing");
    await Promise.all([waitOpen(ca), waitOpen(cb)]);
    const p = nextMessage(cb);
    ca.send("dc");
    expect(await p).toBe("dc");
    const got = new Promise<string>((r) => bcall.msrp?.once("message", (m) => r(m.content.toString())));
    await call.msrp.send("msrp over TLS, verified", "text/plain");
    expect(await got).toBe("msrp over TLS, verified");
    expect((await call.bfcp.requestFloor()).statusName).toBe("Granted");
  });
});
