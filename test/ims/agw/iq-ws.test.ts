/**
 * The Iq procedures over a WebSocket: the same e2ae scenario driven through IqWsClient as through the in-process
 * ImsAgw (one function, typed against IqAgw), events pushed, typed errors for garbage / oversize / unknown
 * procedures, and the server staying up. Plus a property test: the validators only ever throw AgwError.
 */
import fc from "fast-check";
import { afterEach, beforeEach, describe, expect, it } from "vitest";
import WebSocket from "ws";
import { ImsAgw } from "../../../src/ims/agw/agw.ts";
import { AgwError } from "../../../src/ims/agw/iqErrors.ts";
import type { IqAgw } from "../../../src/ims/agw/iqTypes.ts";
import {
  parseConfigureRequest,
  parseReleaseContextRequest,
  parseReleaseRequest,
  parseReserveAndConfigureRequest,
  parseReserveRequest,
} from "../../../src/ims/agw/iqValidate.ts";
import { IqWsClient } from "../../../src/ims/agw/wsClient.ts";
import { IqWsServer } from "../../../src/ims/agw/wsServer.ts";
import { AuditLog } from "../../../src/log.ts";
import { CorePeer, EventRecorder, LOOPBACK, newCertificate, sleep, ueConnect, waitFor } from "./helpers.ts";

let agw: ImsAgw;
let audit: AuditLog;
let server: IqWsServer;
let client: IqWsClient;
let core: CorePeer;

beforeEach(async () => {
  audit = new AuditLog();
  agw = new ImsAgw({ audit });
  server = await IqWsServer.listen({ agw, insecure: true });
  client = await IqWsClient.connect(server.url, { insecure: true });
  core = await CorePeer.start();
});

afterEach(async () => {
  await client.close();
  await server.close();
  await agw.close();
  await core.close();
});

/** The IMS-ALG's view: only the IqAgw interface. */
async function originatingE2ae(iq: IqAgw, corePort: number) {
  const ueCert = newCertificate();
  const rec = new EventRecorder(iq);
  const coreTerm = await iq.reserveAgwConnectionPoint({ side: "core", transport: "TCP/MSRP" });
  const access = await iq.reserveAndConfigureAgwConnectionPoint({
    contextId: coreTerm.contextId,
    side: "access",
    transport: "TCP/TLS/MSRP",
    localCertificateFingerprintRequest: true,
    notifyTlsSessionEstablishmentFailureEvent: true,
    remote: { address: LOOPBACK, port: 9, setup: "active", certificateFingerprints: [ueCert.fingerprint] },
  });
  await iq.configureAgwConnectionPoint({
    contextId: coreTerm.contextId,
    terminationId: coreTerm.terminationId,
    remote: { address: LOOPBACK, port: corePort, setup: "passive" },
  });
  const ue = await ueConnect(access.localPort, ueCert);
  ue.write("MSRP ws1 SEND\r\n");
  await rec.next("relayStarted", access.terminationId);
  const est = await rec.next("tlsSessionEstablished", access.terminationId);
  const released = await iq.releaseAgwContext({ contextId: access.contextId });
  ue.destroy();
  rec.stop();
  return { access, est, released };
}

describe("Iq over WebSocket", () => {
  it("drives the same scenario as the in-process binding; events arrive over the socket", async () => {
    const viaWs = await originatingE2ae(client, core.port);
    expect(viaWs.access.localCertificateFingerprint?.hash).toBe("sha-256");
    expect(viaWs.est.role).toBe("server");
    expect(viaWs.released.terminations).toHaveLength(2);
    await waitFor(() => core.text().includes("MSRP ws1 SEND"), 3000, "relayed via WS-driven AGW");
    const core2 = await CorePeer.start();
    try {
      const inProcess = await originatingE2ae(agw, core2.port);
      expect(Object.keys(inProcess.access).sort()).toEqual(Object.keys(viaWs.access).sort());
    } finally {
      await core2.close();
    }
    expect(audit.events.filter((e) => e.decision === "fingerprint-verified")).toHaveLength(2);
  });

  it("typed errors come back as AgwError with the same codes as in-process", async () => {
    const bad = { side: "moon", transport: "TCP" } as unknown as Parameters<IqAgw["reserveAgwConnectionPoint"]>[0];
    const remote = await client.reserveAgwConnectionPoint(bad).catch((e: unknown) => e);
    const local = await agw.reserveAgwConnectionPoint(bad).catch((e: unknown) => e);
    expect(remote).toBeInstanceOf(AgwError);
    expect((remote as AgwError).code).toBe("E_AGW_INVALID_PARAM");
    expect((local as AgwError).code).toBe("E_AGW_INVALID_PARAM");
    const unknown = await client
      .configureAgwConnectionPoint({ contextId: "C999", terminationId: "T1" })
      .catch((e: unknown) => e);
    expect((unknown as AgwError).code).toBe("E_AGW_UNKNOWN_CONTEXT");
  });

  it("garbage, oversize, binary and unknown procedures get typed errors; the server stays up", async () => {
    const ws = new WebSocket(server.url);
    await new Promise<void>((r) => ws.once("open", () => r()));
    const replies: { id?: unknown; error?: { code: string } }[] = [];
    ws.on("message", (d: WebSocket.RawData) => replies.push(JSON.parse(String(d))));
    const send = async (m: string | Buffer) => {
      const n = replies.length;
      ws.send(m);
      await waitFor(() => replies.length > n, 3000, "reply");
      return replies[replies.length - 1];
    };
    expect((await send("not json {"))?.error?.code).toBe("E_AGW_IQ_PARSE");
    expect((await send("[1,2,3]"))?.error?.code).toBe("E_AGW_IQ_INVALID");
    expect((await send('{"procedure":"releaseAgwContext"}'))?.error?.code).toBe("E_AGW_IQ_INVALID");
    expect((await send('{"id":{},"procedure":"releaseAgwContext"}'))?.error?.code).toBe("E_AGW_IQ_INVALID");
    const unk = await send('{"id":7,"procedure":"launchMissiles","params":{}}');
    expect(unk).toMatchObject({ id: 7, error: { code: "E_AGW_IQ_UNKNOWN_PROCEDURE" } });
    expect((await send('{"id":8,"procedure":"releaseAgwContext","params":{},"x":1}'))?.error?.code).toBe(
      "E_AGW_IQ_INVALID",
    );
    const badParams = await send(
      JSON.stringify({ id: "p", procedure: "reserveAgwConnectionPoint", params: { side: "access", transport: 5 } }),
    );
    expect(badParams).toMatchObject({ id: "p", error: { code: "E_AGW_INVALID_PARAM" } });
    const noParams = await send(JSON.stringify({ id: 9, procedure: "configureAgwConnectionPoint" }));
    expect(noParams?.error?.code).toBe("E_AGW_INVALID_PARAM");
    expect((await send(Buffer.from([1, 2, 3])))?.error?.code).toBe("E_AGW_IQ_INVALID"); // binary frame
    const big = JSON.stringify({ id: 10, procedure: "releaseAgwContext", params: { contextId: "x".repeat(70_000) } });
    expect((await send(big))?.error?.code).toBe("E_AGW_IQ_TOO_LARGE");
    const proto = await send('{"id":11,"procedure":"releaseAgwContext","params":{"__proto__":{"contextId":"C1"}}}');
    expect(proto?.error?.code).toBe("E_AGW_INVALID_PARAM");
    // over the hard bound: the WebSocket layer closes this connection (1009) …
    const closedCode = new Promise<number>((r) => ws.once("close", (code) => r(code)));
    ws.send(Buffer.alloc(2 * 1024 * 1024, 0x61).toString());
    expect(await closedCode).toBe(1009);
    // … and the server is still up for everyone
    const r = await client.reserveAgwConnectionPoint({ side: "core", transport: "TCP" });
    expect(r.localPort).toBeGreaterThan(0);
  });

  it("a disconnecting IMS-ALG's contexts are released; pending calls fail with E_AGW_IQ_DISCONNECTED", async () => {
    const c2 = await IqWsClient.connect(server.url, { insecure: true });
    const r = await c2.reserveAgwConnectionPoint({ side: "core", transport: "TCP" });
    expect(agw.hasContext(r.contextId)).toBe(true);
    await c2.close();
    await waitFor(() => !agw.hasContext(r.contextId), 3000, "context released on disconnect");
    const after = await c2.reserveAgwConnectionPoint({ side: "core", transport: "TCP" }).catch((e: unknown) => e);
    expect((after as AgwError).code).toBe("E_AGW_IQ_DISCONNECTED");
  });

  it("events of other connections' contexts are not pushed", async () => {
    const c2 = await IqWsClient.connect(server.url, { insecure: true });
    try {
      const seen: string[] = [];
      c2.onEvent((e) => seen.push(e.contextId));
      const t = await client.reserveAgwConnectionPoint({ side: "core", transport: "TCP" });
      const { tcpConnect } = await import("./helpers.ts");
      const s = await tcpConnect(t.localPort);
      await sleep(200);
      s.destroy();
      expect(seen).toEqual([]);
    } finally {
      await c2.close();
    }
  });
});

describe("validators (property): any JSON value yields a request or an AgwError, never anything else", () => {
  const parsers = [
    parseReserveRequest,
    parseReserveAndConfigureRequest,
    parseConfigureRequest,
    parseReleaseRequest,
    parseReleaseContextRequest,
  ];
  it("holds for arbitrary values and near-miss objects", () => {
    const nearMiss = fc.record(
      {
        contextId: fc.oneof(fc.string(), fc.constant("C1")),
        terminationId: fc.oneof(fc.string(), fc.constant("T1")),
        side: fc.oneof(fc.constantFrom("access", "core"), fc.string()),
        transport: fc.oneof(fc.constantFrom("TCP", "TCP/TLS/MSRP", "TCP/BFCP"), fc.string()),
        localPort: fc.oneof(fc.integer({ min: -5, max: 70_000 }), fc.double()),
        remote: fc.oneof(
          fc.anything(),
          fc.record(
            {
              address: fc.oneof(fc.constant(LOOPBACK), fc.string()),
              port: fc.integer({ min: -1, max: 70_000 }),
              certificateFingerprints: fc.array(
                fc.record({ hash: fc.constantFrom("sha-256", "SHA-1", "md5", "x"), value: fc.string() }),
              ),
              setup: fc.string(),
            },
            { requiredKeys: [] },
          ),
        ),
        tcpEstablishment: fc.oneof(
          fc.anything(),
          fc.record({ mode: fc.constantFrom("immediate", "delayed"), policy: fc.constantFrom("drop", "hold", "x") }),
        ),
        timers: fc.dictionary(fc.constantFrom("idleMs", "holdMs", "bogus"), fc.integer()),
      },
      { requiredKeys: [] },
    );
    fc.assert(
      fc.property(fc.oneof(fc.anything(), nearMiss), (x) => {
        for (const p of parsers) {
          try {
            p(x);
          } catch (e) {
            if (!(e instanceof AgwError) || e.code !== "E_AGW_INVALID_PARAM") return false;
          }
        }
        return true;
      }),
      { numRuns: 2000 },
    );
  });
});
