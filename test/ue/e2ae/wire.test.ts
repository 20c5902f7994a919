/**
 * Wire check with Wireshark's dissectors (what lab engineers will look at): MSRP and BFCP PDUs produced by our
 * codecs are written into a pcap with text2pcap (synthetic TCP, no capture permission needed) and decoded by
 * tshark as `msrp` / `bfcp`. Field values must match and no malformed/expert-error item may appear.
 * Skipped LOUDLY when tshark or text2pcap is missing.
 */
import { execFileSync, spawn } from "node:child_process";
import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { describe, expect, it } from "vitest";
import { attr, type BfcpMessage, BfcpPrimitive, encodeBfcp, RequestStatus } from "../../../src/ue/e2ae/bfcp.ts";
import { floorRequestInformation } from "../../../src/ue/e2ae/bfcpFloorInfo.ts";
import { E2aeEndpoint } from "../../../src/ue/e2ae/endpoint.ts";
import { encodeMsrp } from "../../../src/ue/e2ae/msrpEncode.ts";
import type { MsrpFrame } from "../../../src/ue/e2ae/msrpTypes.ts";
import { sleep, waitFor, within } from "./helpers.ts";

function toolsMissing(): string | undefined {
  for (const tool of ["tshark", "text2pcap"]) {
    try {
      execFileSync(tool, ["-v"], { stdio: "ignore", timeout: 10_000 });
    } catch {
      return `${tool} cannot run`;
    }
  }
  return undefined;
}

const SKIP = toolsMissing();
if (SKIP) {
  console.warn(
    `\n${"!".repeat(100)}\n!!! e2ae tshark wire check SKIPPED: ${SKIP} (apt-get install -y tshark)\n${"!".repeat(100)}\n`,
  );
}

/** One pcap packet per PDU (text2pcap hexdump format), decoded with `-d tcp.port==PORT,proto`. */
function tshark(pdus: Buffer[], port: number, proto: string, fields: string[]): string[][] {
  const dir = mkdtempSync(join(tmpdir(), "e2ae-wire-"));
  try {
    const dump = pdus
      .map((b) => {
        let s = "";
        for (let i = 0; i < b.length; i += 16)
          s += `${i.toString(16).padStart(6, "0")} ${[...b.subarray(i, i + 16)].map((x) => x.toString(16).padStart(2, "0")).join(" ")}\n`;
        return s;
      })
      .join("\n");
    const txt = join(dir, "pdus.txt");
    const pcap = join(dir, "pdus.pcap");
    writeFileSync(txt, dump);
    execFileSync("text2pcap", ["-q", "-T", `40000,${port}`, txt, pcap], { timeout: 20_000, stdio: "ignore" });
    const out = execFileSync(
      "tshark",
      [
        "-r",
        pcap,
        "-d",
        `tcp.port==${port},${proto}`,
        "-T",
        "fields",
        "-E",
        "separator=|",
        "-E",
        "aggregator=,",
        ...fields.flatMap((f) => ["-e", f]),
      ],
      { timeout: 30_000, stdio: ["ignore", "pipe", "ignore"] },
    ).toString();
    return out
      .trimEnd()
      .split("\n")
      .map((l) => l.split("|"));
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

const TO = "msrps://127.0.0.1:2855/kjhd37s2s20w2a;tcp";
const FROM = "msrps://127.0.0.1:9/iau39soe2843z;tcp";

describe.skipIf(SKIP !== undefined)("tshark decodes our PDUs", () => {
  it("MSRP: chunked SEND (+ and $), bodiless SEND, 200 OK, REPORT", () => {
    const frames: MsrpFrame[] = [
      {
        kind: "request",
        transactionId: "a786hjs2",
        method: "SEND",
        toPath: [TO],
        fromPath: [FROM],
        messageId: "87652491",
        byteRange: { start: 1, end: 5, total: 10 },
        headers: [],
        contentType: "text/plain",
        body: Buffer.from("Hello"),
        continuation: "+",
      },
      {
        kind: "request",
        transactionId: "b786hjs2",
        method: "SEND",
        toPath: [TO],
        fromPath: [FROM],
        messageId: "87652491",
        byteRange: { start: 6, end: 10, total: 10 },
        headers: [],
        contentType: "text/plain",
        body: Buffer.from(" Bob!"),
        continuation: "$",
      },
      {
        kind: "request",
        transactionId: "c786hjs2",
        method: "SEND",
        toPath: [TO],
        fromPath: [FROM],
        messageId: "bindbind",
        byteRange: { start: 1, end: 0, total: 0 },
        headers: [],
        continuation: "$",
      },
      {
        kind: "response",
        transactionId: "a786hjs2",
        status: 200,
        comment: "OK",
        toPath: [FROM],
        fromPath: [TO],
        headers: [],
        continuation: "$",
      },
      {
        kind: "request",
        transactionId: "d786hjs2",
        method: "REPORT",
        toPath: [FROM],
        fromPath: [TO],
        messageId: "87652491",
        byteRange: { start: 1, end: 10, total: 10 },
        status: { namespace: "000", code: 200, reason: "OK" },
        headers: [],
        continuation: "$",
      },
    ];
    const rows = tshark(
      frames.map((f) => encodeMsrp(f)),
      2855,
      "msrp",
      [
        "msrp.transaction.id",
        "msrp.method",
        "msrp.status.code",
        "msrp.to.path",
        "msrp.byte.range",
        "msrp.cnt.flg",
        "msrp.content.type",
        "msrp.status",
        "_ws.expert.message",
      ],
    );
    // tshark reports the transaction id of the start line and of the end-line: they must agree
    expect(rows).toEqual([
      ["a786hjs2,a786hjs2", "SEND", "", TO, "1-5/10", "+", "text/plain", "", ""],
      ["b786hjs2,b786hjs2", "SEND", "", TO, "6-10/10", "$", "text/plain", "", ""],
      ["c786hjs2,c786hjs2", "SEND", "", TO, "1-0/0", "$", "", "", ""],
      ["a786hjs2,a786hjs2", "", "200", FROM, "", "$", "", "", ""],
      ["d786hjs2,d786hjs2", "REPORT", "", FROM, "1-10/10", "$", "", "000 200 OK", ""],
    ]);
  });

  it("BFCP: Hello, HelloAck, FloorRequest, FloorRequestStatus (grouped), FloorRelease, Error", () => {
    const h = { version: 1, responder: false, conferenceId: 4321, userId: 1234 };
    const msgs: BfcpMessage[] = [
      { ...h, primitive: BfcpPrimitive.Hello, transactionId: 1, attributes: [] },
      {
        ...h,
        responder: true,
        primitive: BfcpPrimitive.HelloAck,
        transactionId: 1,
        attributes: [attr.supportedPrimitives([1, 2, 4, 11, 12, 13]), attr.supportedAttributes([2, 3, 5, 15, 17, 18])],
      },
      {
        ...h,
        primitive: BfcpPrimitive.FloorRequest,
        transactionId: 2,
        attributes: [attr.floorId(1), attr.priority(2)],
      },
      {
        ...h,
        responder: true,
        primitive: BfcpPrimitive.FloorRequestStatus,
        transactionId: 2,
        attributes: [floorRequestInformation(7, RequestStatus.Granted, [1])],
      },
      { ...h, primitive: BfcpPrimitive.FloorRelease, transactionId: 3, attributes: [attr.floorRequestId(7)] },
      {
        ...h,
        responder: true,
        primitive: BfcpPrimitive.Error,
        transactionId: 4,
        attributes: [attr.errorCode(6), attr.text("ERROR-INFO", "no such floor")],
      },
    ];
    const rows = tshark(
      msgs.map((m) => encodeBfcp(m)),
      5070,
      "bfcp",
      [
        "bfcp.ver",
        "bfcp.primitive",
        "bfcp.conference_id",
        "bfcp.transaction_id",
        "bfcp.user_id",
        "bfcp.floor_id",
        "bfcp.floorrequest_id",
        "bfcp.request_status",
        "bfcp.supp_primitive",
        "bfcp.error_code",
        "bfcp.error_info_text",
        "_ws.expert.message",
      ],
    );
    const common = ["1", "", "4321", "", "1234"];
    const row = (primitive: number, tid: number, rest: string[]) => {
      const r = [...common];
      r[1] = String(primitive);
      r[3] = String(tid);
      return [...r, ...rest];
    };
    expect(rows).toEqual([
      row(11, 1, ["", "", "", "", "", "", ""]),
      row(12, 1, ["", "", "", "1,2,4,11,12,13", "", "", ""]),
      row(1, 2, ["1", "", "", "", "", "", ""]),
      row(4, 2, ["1", "7,7", "3", "", "", "", ""]),
      row(2, 3, ["", "7", "", "", "", "", ""]),
      row(13, 4, ["", "", "", "", "6", "no such floor", ""]),
    ]);
  });
});

function captureMissing(): string | undefined {
  if (SKIP) return SKIP;
  try {
    const ifaces = execFileSync("tshark", ["-D"], { timeout: 10_000, stdio: ["ignore", "pipe", "ignore"] }).toString();
    return /\blo\b/.test(ifaces) ? undefined : "tshark cannot see the loopback interface (no capture permission?)";
  } catch (e) {
    return `tshark -D failed: ${e instanceof Error ? e.message.split("\n")[0] : String(e)}`;
  }
}

const NO_CAPTURE = captureMissing();
if (NO_CAPTURE && !SKIP) {
  console.warn(`\n${"!".repeat(100)}\n!!! e2ae live TLS capture check SKIPPED: ${NO_CAPTURE}\n${"!".repeat(100)}\n`);
}

describe.skipIf(NO_CAPTURE !== undefined)("live capture of MSRP over TLS", () => {
  it("the wire carries TLS only; with the endpoint's key log (lab option) tshark decrypts the MSRP SEND/200", async (ctx) => {
    const dir = mkdtempSync(join(tmpdir(), "e2ae-cap-"));
    const pcap = join(dir, "msrp-tls.pcap");
    const keys = join(dir, "keys.txt");
    const lines: string[] = [];
    const a = new E2aeEndpoint({ kind: "msrp", keyLog: (l) => lines.push(l.toString()) });
    const b = new E2aeEndpoint({ kind: "msrp" });
    try {
      const offer = await a.createOffer();
      const cap = spawn("tshark", ["-i", "lo", "-f", `tcp port ${a.port}`, "-w", pcap, "-a", "duration:20"], {
        stdio: ["ignore", "ignore", "pipe"],
      });
      let err = "";
      cap.stderr.on("data", (d: Buffer) => {
        err += d.toString();
      });
      const exited = new Promise<void>((r) => cap.once("exit", () => r()));
      let gone = false;
      void exited.then(() => {
        gone = true;
      });
      await waitFor(() => /Capturing on/.test(err) || gone, 10_000, "tshark capturing");
      if (gone) {
        console.warn(`!!! e2ae live TLS capture check SKIPPED: ${err.trim()}`);
        ctx.skip();
        return;
      }
      await sleep(300);
      await a.acceptAnswer(await b.acceptOffer(offer));
      await within(Promise.all([a.connected(), b.connected()]), 8000, "connected");
      await b.send("hello through TLS", "text/plain");
      await sleep(300);
      await a.close();
      await b.close();
      await sleep(300);
      cap.kill("SIGINT");
      await within(exited, 10_000, "tshark exit");
      writeFileSync(keys, `${lines.join("\n")}\n`);
      const follow = (withKeys: boolean) =>
        execFileSync(
          "tshark",
          [
            "-r",
            pcap,
            ...(withKeys ? ["-o", `tls.keylog_file:${keys}`] : []),
            "-d",
            `tcp.port==${a.port},tls`,
            "-q",
            "-z",
            "follow,tls,ascii,0",
          ],
          { timeout: 30_000, stdio: ["ignore", "pipe", "ignore"] },
        ).toString();
      const clear = follow(false);
      expect(clear).not.toContain("MSRP ");
      const decrypted = follow(true);
      expect(decrypted).toMatch(/MSRP \S+ SEND\r?\nTo-Path: msrps:\/\/127\.0\.0\.1:\d+\/\w+;tcp/);
      expect(decrypted).toContain("hello through TLS");
      expect(decrypted).toMatch(/MSRP \S+ 200 OK/);
      expect(lines.some((l) => l.startsWith("CLIENT_TRAFFIC_SECRET_0") || l.startsWith("CLIENT_RANDOM"))).toBe(true);
    } finally {
      await a.close();
      await b.close();
      rmSync(dir, { recursive: true, force: true });
    }
  }, 60_000);
});
