/**
 * Wire check with Wireshark's dissectors: the core-side plain TCP of an e2ae MSRP exchange (RFC 4975 SEND + 200)
 * and of a BFCP Hello/HelloAck (RFC 8855 common header) relayed by the AGW from an access TLS leg, captured on `lo`
 * and decoded by tshark as `msrp` / `bfcp` (decode-as on the core port). Skipped LOUDLY when tshark cannot capture.
 */
import { execFileSync, spawn } from "node:child_process";
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { describe, expect, it } from "vitest";
import { ImsAgw } from "../../../src/ims/agw/agw.ts";
import { CorePeer, collect, EventRecorder, LOOPBACK, newCertificate, sleep, ueConnect, waitFor } from "./helpers.ts";

function tsharkUsable(): string | undefined {
  try {
    execFileSync("tshark", ["-v"], { stdio: "ignore", timeout: 10_000 });
    const ifaces = execFileSync("tshark", ["-D"], { timeout: 10_000, stdio: ["ignore", "pipe", "ignore"] }).toString();
    if (!/\blo\b/.test(ifaces)) return "tshark cannot see the loopback interface (no capture permission?)";
    return undefined;
  } catch (e) {
    return `tshark cannot run: ${e instanceof Error ? e.message.split("\n")[0] : String(e)}`;
  }
}

const SKIP = tsharkUsable();
if (SKIP) {
  console.warn(
    `\n${"!".repeat(100)}\n!!! tshark wire check SKIPPED: ${SKIP}\n!!! install it: apt-get install -y tshark (CI must)\n${"!".repeat(100)}\n`,
  );
}

/** RFC 8855 §5.1 common header: ver=1 (reliable transport), R=0, F=0, primitive, length in 4-octet words. */
function bfcpHeader(primitive: number, payloadWords: number, conf = 1, trans = 1, user = 1): Buffer {
  const b = Buffer.alloc(12);
  b[0] = 1 << 5; // Ver (3 bits) = 1, R/F/Res = 0
  b[1] = primitive;
  b.writeUInt16BE(payloadWords, 2);
  b.writeUInt32BE(conf, 4);
  b.writeUInt16BE(trans, 8);
  b.writeUInt16BE(user, 10);
  return b;
}

/** RFC 8855 §5.2 attribute: Type (7 bits) | M (1 bit), Length (octets, header included), contents, 4-octet pad. */
function bfcpAttribute(type: number, contents: number[]): Buffer {
  const len = 2 + contents.length;
  const padded = Math.ceil(len / 4) * 4;
  const b = Buffer.alloc(padded);
  b[0] = (type << 1) | 1;
  b[1] = len;
  Buffer.from(contents).copy(b, 2);
  return b;
}

// RFC 8855 §5.1: Hello = 11, HelloAck = 12; §5.2: SUPPORTED-ATTRIBUTES = 10, SUPPORTED-PRIMITIVES = 11
const BFCP_HELLO = bfcpHeader(11, 0); // Hello
const HELLO_ACK_ATTRS = Buffer.concat([
  bfcpAttribute(11, [1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14]), // SUPPORTED-PRIMITIVES
  bfcpAttribute(
    10,
    [1, 2, 3, 4, 5, 6, 7, 8, 9, 10].map((t) => t << 1),
  ), // SUPPORTED-ATTRIBUTES
]);
const BFCP_HELLO_ACK = Buffer.concat([bfcpHeader(12, HELLO_ACK_ATTRS.length / 4), HELLO_ACK_ATTRS]); // HelloAck

function msrpSend(port: number): string {
  const body = "Hey Bob, are you there?";
  return (
    "MSRP a786hjs2 SEND\r\n" +
    `To-Path: msrp://${LOOPBACK}:${port}/kjhd37s2s20w2a;tcp\r\n` +
    `From-Path: msrp://${LOOPBACK}:9/iau39soe2843z;tcp\r\n` +
    "Message-ID: 87652491\r\n" +
    `Byte-Range: 1-${body.length}/${body.length}\r\n` +
    "Content-Type: text/plain\r\n\r\n" +
    `${body}\r\n` +
    "-------a786hjs2$\r\n"
  );
}

function msrp200(port: number): string {
  return (
    "MSRP a786hjs2 200 OK\r\n" +
    `To-Path: msrp://${LOOPBACK}:9/iau39soe2843z;tcp\r\n` +
    `From-Path: msrp://${LOOPBACK}:${port}/kjhd37s2s20w2a;tcp\r\n` +
    "-------a786hjs2$\r\n"
  );
}

describe.skipIf(SKIP !== undefined)("tshark decodes the relayed core-side TCP", () => {
  it("as msrp (SEND, 200) and bfcp (Hello, HelloAck)", async (ctx) => {
    const dir = mkdtempSync(join(tmpdir(), "agw-tshark-"));
    const pcap = join(dir, "core.pcap");
    const agw = new ImsAgw();
    const rec = new EventRecorder(agw);
    const msrpCore = await CorePeer.start();
    const bfcpCore = await CorePeer.start();
    const capture = spawn(
      "tshark",
      ["-i", "lo", "-f", `tcp port ${msrpCore.port} or tcp port ${bfcpCore.port}`, "-a", "duration:20", "-w", pcap],
      { stdio: ["ignore", "ignore", "pipe"] },
    );
    let err = "";
    capture.stderr.on("data", (d: Buffer) => {
      err += d.toString();
    });
    const exited = new Promise<void>((r) => capture.once("exit", () => r()));
    try {
      let gone = false;
      void exited.then(() => {
        gone = true;
      });
      await waitFor(() => /Capturing on/.test(err) || gone, 10_000, "tshark capturing");
      if (gone) {
        console.warn(
          `\n${"!".repeat(100)}\n!!! tshark wire check SKIPPED: capture on lo failed: ${err.trim()}\n${"!".repeat(100)}\n`,
        );
        ctx.skip();
        return;
      }
      await sleep(300);
      for (const [core, proto] of [
        [msrpCore, "MSRP"],
        [bfcpCore, "BFCP"],
      ] as const) {
        const ueCert = newCertificate();
        const coreTerm = await agw.reserveAndConfigureAgwConnectionPoint({
          side: "core",
          transport: `TCP/${proto}`,
          remote: { address: LOOPBACK, port: core.port, setup: "passive" },
        });
        const access = await agw.reserveAndConfigureAgwConnectionPoint({
          contextId: coreTerm.contextId,
          side: "access",
          transport: `TCP/TLS/${proto}`,
          remote: { address: LOOPBACK, port: 9, setup: "active", certificateFingerprints: [ueCert.fingerprint] },
        });
        const ue = await ueConnect(access.localPort, ueCert);
        await rec.next("relayStarted", access.terminationId);
        if (proto === "MSRP") {
          const send = msrpSend(core.port);
          ue.write(send);
          await waitFor(() => core.text() === send, 3000, "SEND at core");
          const ok = msrp200(core.port);
          core.socket?.write(ok);
          expect((await collect(ue, ok.length)).toString()).toBe(ok);
        } else {
          ue.write(BFCP_HELLO);
          await waitFor(() => core.bytes === BFCP_HELLO.length, 3000, "Hello at core");
          core.socket?.write(BFCP_HELLO_ACK);
          expect((await collect(ue, BFCP_HELLO_ACK.length)).equals(BFCP_HELLO_ACK)).toBe(true);
        }
        ue.destroy();
      }
      await sleep(500);
    } finally {
      capture.kill("SIGINT"); // our own child, by handle
      await Promise.race([exited, sleep(10_000)]);
      rec.stop();
      await agw.close();
      await msrpCore.close();
      await bfcpCore.close();
    }
    const fields = execFileSync(
      "tshark",
      [
        "-r",
        pcap,
        "-d",
        `tcp.port==${msrpCore.port},msrp`,
        "-d",
        `tcp.port==${bfcpCore.port},bfcp`,
        "-Y",
        "msrp || bfcp",
        "-T",
        "fields",
        "-E",
        "separator=|",
        "-e",
        "frame.protocols",
        "-e",
        "msrp.method",
        "-e",
        "msrp.status.code",
        "-e",
        "bfcp.primitive",
      ],
      { timeout: 20_000, stdio: ["ignore", "pipe", "ignore"] },
    ).toString();
    if (!process.env.AGW_TSHARK_DEBUG) rmSync(dir, { recursive: true, force: true });
    const rows = fields
      .trim()
      .split("\n")
      .map((l) => l.split("|"));
    if (process.env.AGW_TSHARK_DEBUG) console.log(pcap, fields);
    const msrpRows = rows.filter((r) => r[0]?.split(":").includes("msrp"));
    const bfcpRows = rows.filter((r) => r[0]?.split(":").includes("bfcp"));
    expect(msrpRows.some((r) => r[1] === "SEND")).toBe(true);
    expect(msrpRows.some((r) => r[2] === "200")).toBe(true);
    expect(bfcpRows.map((r) => r[3])).toEqual(expect.arrayContaining(["11", "12"]));
  }, 60_000);
});
