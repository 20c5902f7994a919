/**
 * Interop with sipp (Debian sip-tester), as a lab engineer would run it: sipp UAC → P-CSCF → sipp UAS with the
 * bench scenarios (bench/pcscf/*.xml: INVITE/180/200/ACK/BYE with a data channel SDP, the UAS copying the
 * Record-Route), over UDP and TCP. Success is read from sipp's -trace_stat CSV. Skipped loudly without sipp.
 */
import { type ChildProcess, execFileSync, spawn } from "node:child_process";
import { createSocket } from "node:dgram";
import { mkdtempSync, readFileSync, rmSync } from "node:fs";
import { createServer } from "node:net";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterEach, describe, expect, it } from "vitest";
import { Pcscf } from "../../../src/ims/pcscf/index.ts";
import { AuditLog } from "../../../src/log.ts";
import { waitFor } from "../../sip/helpers.ts";

const SCENARIOS = join(import.meta.dirname, "../../../bench/pcscf");

function findSipp(): string | undefined {
  try {
    return execFileSync("sh", ["-c", "command -v sipp"], { encoding: "utf8" }).trim() || undefined;
  } catch {
    return undefined;
  }
}
const SIPP = findSipp();
if (!SIPP)
  console.warn("\n!!!!!!!!!! sipp NOT FOUND: P-CSCF sipp tests SKIPPED (apt-get install -y sip-tester) !!!!!!!!!!\n");

/** A port free for UDP and TCP on 127.0.0.1. */
async function freePort(): Promise<number> {
  for (let i = 0; i < 50; i++) {
    const port = 20000 + Math.floor(Math.random() * 40000);
    const tcp = await new Promise<boolean>((r) => {
      const s = createServer();
      s.once("error", () => r(false));
      s.listen(port, "127.0.0.1", () => s.close(() => r(true)));
    });
    const udp = await new Promise<boolean>((r) => {
      const s = createSocket("udp4");
      s.once("error", () => {
        s.close();
        r(false);
      });
      s.bind(port, "127.0.0.1", () => s.close(() => r(true)));
    });
    if (tcp && udp) return port;
  }
  throw new Error("no free port");
}

const procs: ChildProcess[] = [];
const dirs: string[] = [];
const closers: (() => Promise<void>)[] = [];
afterEach(async () => {
  for (const p of procs.splice(0)) {
    if (p.exitCode === null && p.signalCode === null) {
      const gone = new Promise((r) => p.once("close", r));
      p.kill("SIGTERM");
      await gone;
    }
  }
  for (const c of closers.splice(0).reverse()) await c();
  for (const d of dirs.splice(0)) rmSync(d, { recursive: true, force: true });
});

/** sipp under coreutils timeout, bounded by -m and -timeout. */
function sipp(args: string[], dir: string, seconds = 20): Promise<number | null> {
  const p = spawn(
    "timeout",
    ["-k", "2", String(seconds), SIPP ?? "sipp", ...args, "-nostdin", "-timeout", `${seconds - 4}s`, "-i", "127.0.0.1"],
    { cwd: dir, stdio: "ignore" },
  );
  procs.push(p);
  return new Promise((resolve) => {
    p.on("close", (code) => resolve(code));
    p.on("error", () => resolve(-1));
  });
}

describe.skipIf(!SIPP)("sipp UAC → P-CSCF → sipp UAS", () => {
  for (const t of ["udp", "tcp"] as const) {
    it(`INVITE/200/ACK/BYE with a DC SDP over ${t.toUpperCase()}: 5 calls succeed, e2e bodies forwarded unchanged`, async () => {
      const dir = mkdtempSync(join(tmpdir(), "imsdc-pcscf-sipp-"));
      dirs.push(dir);
      const uasPort = await freePort();
      const sippT = t === "udp" ? "u1" : "t1";
      const audit = new AuditLog();
      const pcscf = new Pcscf({
        name: "pcscf-sipp",
        access: t === "udp" ? { udp: 0 } : { tcp: 0 },
        coreNextHop: `sip:127.0.0.1:${uasPort};transport=${t}`,
        requireRegistration: false,
        audit,
      });
      await pcscf.start();
      closers.push(() => pcscf.close());
      const port = pcscf.address("access", t === "udp" ? "UDP" : "TCP")?.port ?? 0;
      void sipp(["-sf", join(SCENARIOS, "uas_rr.xml"), "-p", String(uasPort), "-t", sippT, "-m", "5"], dir, 25);
      // the UAS listens once its port is taken
      await new Promise((r) => setTimeout(r, 500));
      const stat = join(dir, "uac.csv");
      const code = await sipp(
        [
          "-sf",
          join(SCENARIOS, "uac_dc.xml"),
          "-s",
          "dc",
          "-t",
          sippT,
          "-m",
          "5",
          "-r",
          "5",
          "-trace_stat",
          "-stf",
          stat,
          "-fd",
          "1",
          `127.0.0.1:${port}`,
        ],
        dir,
      );
      const lines = readFileSync(stat, "utf8").trim().split("\n");
      const head = (lines[0] ?? "").split(";");
      const last = (lines[lines.length - 1] ?? "").split(";");
      const get = (k: string) => last[head.indexOf(k)];
      expect(get("SuccessfulCall(C)")).toBe("5");
      expect(get("FailedCall(C)")).toBe("0");
      expect(code).toBe(0);
      const dc = audit.events.filter((e) => e.proto === "UDP/DTLS/SCTP");
      expect(dc).toHaveLength(10);
      for (const e of dc) expect(e).toMatchObject({ decision: "e2e", bodyUnchanged: true });
      await waitFor(() => pcscf.pending === 0, 3000, "transactions settled");
    }, 40_000);
  }
});
