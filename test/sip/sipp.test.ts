/**
 * Interop with sipp (Debian package sip-tester): sipp UAC → our UA, and our UA → sipp UAS, over UDP and TCP, with a
 * data channel SDP (peers.md §5 / A.8). Success is read from sipp's -trace_stat CSV (SuccessfulCall), never from the
 * exit code. CI installs sip-tester; without sipp these tests are skipped loudly.
 */
import { type ChildProcess, execFileSync, spawn } from "node:child_process";
import { createSocket } from "node:dgram";
import { mkdtempSync, readFileSync, rmSync } from "node:fs";
import { createServer } from "node:net";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterEach, describe, expect, it } from "vitest";
import { SipTransportLayer } from "../../src/sip/transport/layer.ts";
import type { SipTransportProtocol } from "../../src/sip/transport/types.ts";
import { type SipCall, type SipSdpHandler, SipUserAgent } from "../../src/sip/ua.ts";
import { sleep, waitFor } from "./helpers.ts";

const SCENARIOS = join(import.meta.dirname, "../fixtures/sipp");

function findSipp(): string | undefined {
  try {
    return execFileSync("sh", ["-c", "command -v sipp"], { encoding: "utf8" }).trim() || undefined;
  } catch {
    return undefined;
  }
}
const SIPP = findSipp();
if (!SIPP) {
  console.warn(
    "\n!!!!!!!!!! sipp NOT FOUND: the sipp interop tests are SKIPPED. Install it with `apt-get install -y sip-tester` !!!!!!!!!!\n",
  );
}

/** A port free for both UDP and TCP on 127.0.0.1 (and, with `span`, the next span-1 ports too). */
async function freePort(span = 1): Promise<number> {
  for (let attempt = 0; attempt < 50; attempt++) {
    const base = 20000 + Math.floor(Math.random() * 20000) * 2;
    let ok = true;
    for (let p = base; p < base + span && ok; p++) ok = (await canBindTcp(p)) && (await canBindUdp(p));
    if (ok) return base;
  }
  throw new Error("no free port");
}
function canBindTcp(port: number): Promise<boolean> {
  return new Promise((resolve) => {
    const s = createServer();
    s.once("error", () => resolve(false));
    s.listen(port, "127.0.0.1", () => s.close(() => resolve(true)));
  });
}
function canBindUdp(port: number): Promise<boolean> {
  return new Promise((resolve) => {
    const s = createSocket("udp4");
    s.once("error", () => {
      s.close();
      resolve(false);
    });
    s.bind(port, "127.0.0.1", () => s.close(() => resolve(true)));
  });
}

interface SippRun {
  proc: ChildProcess;
  done: Promise<{ code: number | null; out: string }>;
  statFile: string;
  dir: string;
}

const running: SippRun[] = [];
const cleanup: (() => Promise<void>)[] = [];

afterEach(async () => {
  for (const r of running.splice(0)) {
    if (r.proc.exitCode === null) r.proc.kill("SIGTERM");
    await r.done;
    rmSync(r.dir, { recursive: true, force: true });
  }
  for (const c of cleanup.splice(0).reverse()) await c();
});

/** Runs sipp under coreutils `timeout`, bounded by -m 1 and -timeout, bound to 127.0.0.1, -nostdin. */
function runSipp(args: string[], seconds = 25): SippRun {
  const dir = mkdtempSync(join(tmpdir(), "imsdc-sipp-"));
  const statFile = join(dir, "stat.csv");
  const full = [
    "-k",
    "2",
    String(seconds),
    SIPP ?? "sipp",
    ...args,
    "-nostdin",
    "-m",
    "1",
    "-timeout",
    `${seconds - 5}s`,
  ];
  full.push("-i", "127.0.0.1", "-trace_stat", "-stf", statFile, "-fd", "1", "-trace_err");
  const proc = spawn("timeout", full, { cwd: dir, stdio: ["ignore", "pipe", "pipe"] });
  let out = "";
  proc.stdout?.on("data", (d) => {
    out += String(d);
  });
  proc.stderr?.on("data", (d) => {
    out += String(d);
  });
  const done = new Promise<{ code: number | null; out: string }>((resolve) => {
    proc.on("close", (code) => resolve({ code, out }));
    proc.on("error", () => resolve({ code: -1, out }));
  });
  const run = { proc, done, statFile, dir };
  running.push(run);
  return run;
}

/** The last row of sipp's statistics CSV as a map. */
function sippStats(file: string): Record<string, string> {
  const lines = readFileSync(file, "utf8").trim().split("\n");
  const head = (lines[0] ?? "").split(";");
  const last = (lines[lines.length - 1] ?? "").split(";");
  return Object.fromEntries(head.map((h, i) => [h, last[i] ?? ""]));
}

function errorsLog(dir: string): string {
  try {
    return execFileSync("sh", ["-c", `cat ${dir}/*_errors.log 2>/dev/null || true`], { encoding: "utf8" });
  } catch {
    return "";
  }
}

const te = new TextEncoder();
const td = new TextDecoder();

/** Our DC offer/answer (peers.md §5 shape): answer active, offer actpass. */
function dcSdp(role: "offer" | "answer", port: number): Uint8Array {
  return te.encode(
    [
      "v=0",
      `o=- 7 7 IN IP4 127.0.0.1`,
      "s=-",
      "c=IN IP4 127.0.0.1",
      "t=0 0",
      `m=application ${port} UDP/DTLS/SCTP webrtc-datachannel`,
      "a=sctp-port:5000",
      "a=max-message-size:1024",
      `a=setup:${role === "offer" ? "actpass" : "active"}`,
      "a=fingerprint:sha-256 AA:41:7D:BC:C9:3A:D6:7A:33:38:CC:AC:48:8E:62:EC:82:B1:B9:12:35:E6:DA:59:F4:C0:B2:70:17:45:57:30",
      "a=tls-id:0123456789abcdef01234567",
      'a=dcmap:0 subprotocol="http"',
      'a=dcmap:10 label="chat";subprotocol="msrp"',
      "",
    ].join("\r\n"),
  );
}

async function ourUa(proto: SipTransportProtocol, port: number, sdp: SipSdpHandler) {
  const layer = new SipTransportLayer({ [proto.toLowerCase()]: { port } });
  await layer.start();
  const ua = new SipUserAgent({
    transport: layer,
    ownsTransport: true,
    aor: "sip:ue2@127.0.0.1",
    preferredTransport: proto,
    sdp,
  });
  cleanup.push(() => ua.close());
  return ua;
}

describe.skipIf(!SIPP).each(["UDP", "TCP"] as SipTransportProtocol[])("sipp interop over %s", (proto) => {
  const tflag = proto === "UDP" ? "u1" : "t1";

  it("sipp UAC (DC offer) → our UA answers; sipp sends ACK and BYE", async () => {
    const uaPort = await freePort();
    const offers: Uint8Array[] = [];
    const ua = await ourUa(proto, uaPort, {
      createOffer: () => dcSdp("offer", 10003),
      onOffer: (offer) => {
        offers.push(offer);
        return dcSdp("answer", 10004);
      },
    });
    const calls: SipCall[] = [];
    ua.on("incomingCall", (c) => {
      calls.push(c);
      void c.answer();
    });
    const sippPort = await freePort();
    const mediaPort = await freePort(4);
    const run = runSipp([
      "-sf",
      join(SCENARIOS, "uac_dc.xml"),
      `127.0.0.1:${uaPort}`,
      "-p",
      String(sippPort),
      "-mp",
      String(mediaPort),
      "-t",
      tflag,
      "-s",
      "service",
    ]);
    const res = await run.done;
    const stats = sippStats(run.statFile);
    expect(stats["SuccessfulCall(C)"], `${res.out}\n${errorsLog(run.dir)}`).toBe("1");
    expect(stats["FailedCall(C)"]).toBe("0");
    await waitFor(() => calls[0]?.state === "terminated", 3000, "remote BYE");
    expect(calls[0]!.terminatedInfo?.reason).toBe("remote-bye");
    // the offer arrived byte for byte: Content-Length = body bytes, DC attributes intact
    const offer = td.decode(offers[0]);
    expect(offer).toContain("m=application 10001 UDP/DTLS/SCTP webrtc-datachannel");
    expect(offer).toContain('a=dcmap:10 label="chat";subprotocol="msrp"');
    expect(calls[0]!.request!.contentLength()).toBe(offers[0]!.byteLength);
  });

  it("our UA (DC offer) → sipp UAS answers 100/180/200; we ACK and BYE", async () => {
    const uaPort = await freePort();
    const answers: string[] = [];
    const ua = await ourUa(proto, uaPort, {
      createOffer: () => dcSdp("offer", 10005),
      onOffer: () => dcSdp("answer", 10006),
      onAnswer: (a) => {
        answers.push(td.decode(a));
      },
    });
    const sippPort = await freePort();
    const mediaPort = await freePort(4);
    const run = runSipp([
      "-sf",
      join(SCENARIOS, "uas_dc.xml"),
      "-p",
      String(sippPort),
      "-mp",
      String(mediaPort),
      "-t",
      tflag,
    ]);
    // sipp needs a moment to bind: over TCP a refused connect ends the attempt (503), so retry; over UDP the INVITE
    // retransmissions cover it
    await sleep(proto === "UDP" ? 200 : 100);
    const uri = `sip:service@127.0.0.1:${sippPort}${proto === "TCP" ? ";transport=tcp" : ""}`;
    let call: SipCall | undefined;
    let states: string[] = [];
    for (let attempt = 0; attempt < 40 && !call; attempt++) {
      const c = ua.call(uri);
      const seen: string[] = [];
      c.on("state", (s) => seen.push(s));
      const outcome = await Promise.race([c.established().then(() => "up"), c.terminated().then((i) => i.reason)]);
      if (outcome === "up") {
        call = c;
        states = seen;
      } else if (outcome === "transport-error") await sleep(100);
      else throw new Error(`call failed: ${outcome}`);
    }
    if (!call) throw new Error("sipp UAS never became reachable");
    expect(states).toEqual(["trying", "ringing", "established"]);
    expect(answers[0]).toContain("m=application 10002 UDP/DTLS/SCTP webrtc-datachannel");
    expect(answers[0]).toContain("a=setup:active");
    await sleep(50);
    expect(await call.hangup()).toMatchObject({ reason: "local-bye", status: 200 });
    const res = await run.done;
    const stats = sippStats(run.statFile);
    expect(stats["SuccessfulCall(C)"], `${res.out}\n${errorsLog(run.dir)}`).toBe("1");
    expect(stats["FailedCall(C)"]).toBe("0");
  });
});
