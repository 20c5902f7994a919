/**
 * SIP over TLS (RFC 3261 §26.2) and WSS (RFC 7118 §5) on real sockets on 127.0.0.1: Via "TLS"/"WSS", responses back
 * on the request's connection, server certificates verified against the configured CA and the dialled IP (RFC 5922
 * §7.2), a certificate from another CA refused (and audited), pins, mutual TLS, sips: routing (RFC 3263 §4.1 / §4.2).
 */
import { connect } from "node:net";
import tls from "node:tls";
import { afterEach, describe, expect, it } from "vitest";
import WebSocket from "ws";
import { pinOfCertificate } from "../../src/ims/agw/iqTls.ts";
import { AuditLog } from "../../src/log.ts";
import { createLocalCa } from "../../src/security/localCa.ts";
import { getParam } from "../../src/sip/grammar.ts";
import { createResponse, type SipResponse } from "../../src/sip/message.ts";
import { SipTransportLayer, uriTarget } from "../../src/sip/transport/layer.ts";
import type { SipTlsConfig } from "../../src/sip/transport/tlsContext.ts";
import { parseUri } from "../../src/sip/uri.ts";
import { collect, options, sleep, waitFor } from "./helpers.ts";

const layers: SipTransportLayer[] = [];
afterEach(async () => {
  await Promise.all(layers.splice(0).map((l) => l.close()));
});

async function layer(opts: ConstructorParameters<typeof SipTransportLayer>[0]): Promise<SipTransportLayer> {
  const l = new SipTransportLayer(opts);
  layers.push(l);
  await l.start();
  return l;
}

const ca = createLocalCa();
const other = createLocalCa();
function cfg(c = ca, extra: Partial<SipTlsConfig> = {}): SipTlsConfig {
  const n = c.issue("node");
  return { certPem: n.certPem, keyPem: n.keyPem, ca: [ca.certPem], ...extra };
}

async function roundTrip(proto: "TLS" | "WSS", server: SipTransportLayer, client: SipTransportLayer): Promise<void> {
  const sIn = collect(server);
  const cIn = collect(client);
  const port = server.address(proto)?.port ?? 0;
  const req = options(client, proto, `sip:bob@127.0.0.1:${port}`);
  await client.sendRequest(req, { transport: proto, host: "127.0.0.1", port });
  await waitFor(() => sIn.messages.length === 1, 3000, "request");
  const got = sIn.messages[0]!;
  expect(got.source.transport).toBe(proto);
  // RFC 3261 §26.2 / RFC 7118 §5.2: the Via transport says TLS / WSS
  expect(got.msg.topVia().transport).toBe(proto);
  expect(getParam(got.msg.topVia().params, "received")).toBe("127.0.0.1");
  await server.sendResponse(createResponse(got.msg, 200, undefined, { toTag: "x" }), got.source);
  await waitFor(() => cIn.messages.length === 1, 3000, "response");
  expect((cIn.messages[0]!.msg as SipResponse).status).toBe(200);
}

describe("SIP over TLS and WSS", () => {
  it("TLS: a request and its response over one verified connection", async () => {
    const server = await layer({ tls: true, tlsConfig: cfg() });
    const client = await layer({ tls: true, tlsConfig: cfg() });
    await roundTrip("TLS", server, client);
    expect(server.transport("TLS")?.connectionCount()).toBe(1);
  });

  it("WSS: a Node client reaches a WSS listener (same upgrade path, the sip subprotocol)", async () => {
    const server = await layer({ wss: true, tlsConfig: cfg() });
    const client = await layer({ wss: { listen: false }, tlsConfig: cfg() });
    await roundTrip("WSS", server, client);
  });

  it("WSS keeps the Origin hook (RFC 6455 §10.2)", async () => {
    const server = await layer({
      wss: { verifyUpgrade: (r) => (r.origin === "https://evil.example" ? { status: 403, reason: "no" } : undefined) },
      tlsConfig: cfg(),
    });
    const port = server.address("WSS")?.port ?? 0;
    const status = await new Promise<number>((resolve, reject) => {
      const ws = new WebSocket(`wss://127.0.0.1:${port}/`, "sip", { origin: "https://evil.example", ca: [ca.certPem] });
      ws.on("unexpected-response", (_q, res) => {
        resolve(res.statusCode ?? 0);
        ws.terminate();
      });
      ws.on("open", () => reject(new Error("opened")));
      ws.on("error", reject);
    });
    expect(status).toBe(403);
  });

  for (const proto of ["TLS", "WSS"] as const) {
    it(`${proto}: a client refuses a server certificate from another CA, and audits it`, async () => {
      const key = proto === "TLS" ? "tls" : "wss";
      const server = await layer({ [key]: true, tlsConfig: cfg(other) });
      const audit = new AuditLog();
      const client = await layer({
        [key]: proto === "WSS" ? { listen: false } : true,
        tlsConfig: cfg(),
        audit,
        auditNode: "ue",
      });
      const sIn = collect(server);
      const port = server.address(proto)?.port ?? 0;
      const req = options(client, proto, `sip:bob@127.0.0.1:${port}`);
      const err = await client.sendRequest(req, { transport: proto, host: "127.0.0.1", port }).catch((e) => e);
      expect(err.code).toBe("E_SIP_TLS_PEER");
      await sleep(50);
      expect(sIn.messages).toHaveLength(0);
      expect(audit.events.some((e) => e.decision === "tls-refused" && e.code === "E_SIP_TLS_PEER")).toBe(true);
    });
  }

  it("TLS: a certificate for another name is refused (RFC 5922 §7.2: the dialled IP must be in subjectAltName)", async () => {
    const n = ca.issue("elsewhere", ["192.0.2.99", "elsewhere.example"]);
    const server = await layer({ tls: true, tlsConfig: { certPem: n.certPem, keyPem: n.keyPem, ca: [ca.certPem] } });
    const client = await layer({ tls: true, tlsConfig: cfg() });
    const port = server.address("TLS")?.port ?? 0;
    const err = await client
      .sendRequest(options(client, "TLS", `sip:bob@127.0.0.1:${port}`), { transport: "TLS", host: "127.0.0.1", port })
      .catch((e) => e);
    expect(err.code).toBe("E_SIP_TLS_PEER");
    expect(String(err.message)).toMatch(/altname|IP/i);
  });

  it("TLS: a pinned self-signed server is accepted, an unpinned one is not", async () => {
    const self = createLocalCa().issue("self");
    const server = await layer({ tls: true, tlsConfig: { certPem: self.certPem, keyPem: self.keyPem } });
    const n = ca.issue("c");
    const pinnedClient = await layer({
      tls: true,
      tlsConfig: { certPem: n.certPem, keyPem: n.keyPem, pins: [pinOfCertificate(self.certPem)] },
    });
    await roundTrip("TLS", server, pinnedClient);
    const wrongPin = await layer({
      tls: true,
      tlsConfig: { certPem: n.certPem, keyPem: n.keyPem, pins: [pinOfCertificate(n.certPem)] },
    });
    const port = server.address("TLS")?.port ?? 0;
    const err = await wrongPin
      .sendRequest(options(wrongPin, "TLS", `sip:x@127.0.0.1:${port}`), { transport: "TLS", host: "127.0.0.1", port })
      .catch((e) => e);
    expect(err.code).toBe("E_SIP_TLS_PEER");
  });

  it("mutual TLS: a client without a certificate from the CA is refused at the handshake", async () => {
    const audit = new AuditLog();
    const server = await layer({ tls: true, tlsConfig: cfg(ca, { requireClientCert: true }), audit });
    const port = server.address("TLS")?.port ?? 0;
    // a client with a certificate of another CA
    const good = await layer({ tls: true, tlsConfig: cfg() });
    await roundTrip("TLS", server, good);
    const o = other.issue("intruder");
    const closed = await new Promise<string>((resolve) => {
      const s = tls.connect({ host: "127.0.0.1", port, ca: [ca.certPem], cert: o.certPem, key: o.keyPem });
      s.on("error", (e) => resolve(`error ${e.message}`));
      s.on("close", () => resolve("closed"));
      s.on("secureConnect", () => s.write("OPTIONS sip:x SIP/2.0\r\n\r\n"));
    });
    expect(closed).toMatch(/closed|error/);
    await waitFor(() => audit.events.some((e) => e.decision === "tls-refused"), 2000, "audit");
  });

  it("a plain TCP client on the TLS port never reaches SIP; the handshake deadline frees the slot", async () => {
    const server = await layer({ tls: true, tlsConfig: cfg(), limits: { messageTimeoutMs: 150 } });
    const sIn = collect(server);
    const port = server.address("TLS")?.port ?? 0;
    const s = connect({ host: "127.0.0.1", port });
    s.on("error", () => undefined);
    const closed = new Promise<void>((r) => s.on("close", () => r()));
    await closed;
    expect(sIn.messages).toHaveLength(0);
    await waitFor(() => server.connectionStats("TLS")?.open === 0, 2000, "slot released");
  });

  it("sips: and transport=tls select TLS; RFC 3263 §4.2 default port 5061", () => {
    expect(uriTarget(parseUri("sips:bob@127.0.0.1"), "UDP")).toEqual({
      transport: "TLS",
      host: "127.0.0.1",
      port: 5061,
    });
    expect(uriTarget(parseUri("sip:p@127.0.0.1;transport=tls;lr"), "UDP")).toMatchObject({
      transport: "TLS",
      port: 5061,
    });
    expect(uriTarget(parseUri("sips:p@127.0.0.1:7000;transport=ws"), "UDP")).toMatchObject({ transport: "WSS" });
    expect(uriTarget(parseUri("sip:p@127.0.0.1;transport=wss"), "UDP")).toMatchObject({ transport: "WSS", port: 443 });
    expect(() => uriTarget(parseUri("sips:p@127.0.0.1;transport=udp"), "UDP")).toThrow(/UDP/);
  });

  it("refuses tls without credentials, and a key that does not match its certificate", () => {
    expect(() => new SipTransportLayer({ tls: true })).toThrow(/tlsConfig/);
    const a = ca.issue("a");
    const b = ca.issue("b");
    expect(() => new SipTransportLayer({ tls: true, tlsConfig: { certPem: a.certPem, keyPem: b.keyPem } })).toThrow(
      /does not match/,
    );
  });
});
