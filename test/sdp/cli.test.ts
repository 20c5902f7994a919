import { execFile } from "node:child_process";
import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import { promisify } from "node:util";
import { afterAll, describe, expect, it } from "vitest";
import type { CliIo } from "../../src/cli/main.ts";
import { sdpCommand } from "../../src/cli/sdp.ts";
import { FINDING_CODES } from "../../src/sdp/index.ts";
import { FIXTURES, fixture, MALFORMED } from "./cases.ts";

const ROOT = fileURLToPath(new URL("../../", import.meta.url));
const dir = mkdtempSync(join(tmpdir(), "imsdc-sdp-"));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

function fakeIo(stdin = ""): CliIo & { out: string; err: string } {
  const io = {
    out: "",
    err: "",
    stdout: (s: string) => {
      io.out += s;
    },
    stderr: (s: string) => {
      io.err += s;
    },
    readStdin: async () => stdin,
  };
  return io;
}

async function run(args: string[], stdin = "") {
  const io = fakeIo(stdin);
  const code = await sdpCommand(args, io);
  return { code, out: io.out, err: io.err };
}

const f = (name: string) => join(FIXTURES, name);

describe("imsdc sdp check (in-process)", () => {
  it("exit 0 with warnings only, human output format", async () => {
    const r = await run(["check", f("chromium-offer.sdp")]);
    expect(r.code).toBe(0);
    expect(r.out).toBe(
      "line 8: warning W_TLSID_MISSING DTLS offer m-line 0 has no a=tls-id (RFC 8842 §5.2)\n" +
        `${f("chromium-offer.sdp")} as offer: 0 error(s), 1 warning(s): OK\n`,
    );
    expect(r.err).toBe("");
  });

  it("exit 1 on an error finding; --json has exactly the documented shape", async () => {
    const bad = fixture("chromium-offer.sdp").replace("a=setup:actpass", "a=setup:active");
    const r = await run(["check", "-", "--json"], bad);
    expect(r.code).toBe(1);
    const j = JSON.parse(r.out);
    expect(Object.keys(j)).toEqual(["ok", "findings"]);
    expect(j.ok).toBe(false);
    for (const x of j.findings) expect(Object.keys(x)).toEqual(["severity", "code", "message", "clause", "line"]);
    expect(j.findings).toContainEqual({
      severity: "error",
      code: "E_SETUP_OFFER_NOT_ACTPASS",
      message: "DTLS offer m-line 0 uses setup:active, not actpass",
      clause: "RFC 5763 §5; RFC 8842 §5.2",
      line: 14,
    });
  });

  it("line is null in JSON for findings without a line", async () => {
    const r = await run(["check", "--json"], "");
    expect(r.code).toBe(1);
    expect(JSON.parse(r.out)).toEqual({
      ok: false,
      findings: [
        { severity: "error", code: "E_SDP_EMPTY", message: "the SDP body is empty", clause: "RFC 8866 §5", line: null },
      ],
    });
  });

  it("--offer validates the body as an answer against the offer", async () => {
    const ok = await run(["check", f("werift-answer.sdp"), "--offer", f("chromium-offer.sdp"), "--json"]);
    expect(ok.code).toBe(0);
    expect(JSON.parse(ok.out)).toEqual({ ok: true, findings: [] });
    const wrong = await run(["check", f("werift-offer.sdp"), "--offer", f("chromium-offer.sdp")]);
    expect(wrong.code).toBe(1);
    expect(wrong.out).toContain("error E_SETUP_ANSWER_ROLE");
  });

  it("--as answer without --offer runs the answer-only rules", async () => {
    const r = await run(["check", f("chromium-offer.sdp"), "--as=answer", "--json"]);
    expect(r.code).toBe(1);
    expect(JSON.parse(r.out).findings.map((x: { code: string }) => x.code)).toEqual(["E_SETUP_ANSWER_ROLE"]);
  });

  it("--e2e-dc applies the TS 33.328 §7.2.5 profile", async () => {
    expect((await run(["check", f("dcmtsi-offer.sdp"), "--e2e-dc"])).code).toBe(0);
    expect((await run(["check", f("chromium-offer.sdp"), "--e2e-dc"])).code).toBe(1);
  });

  it("usage errors exit 2 with a message on stderr", async () => {
    for (const args of [
      ["check", "--bogus"],
      ["check", "a.sdp", "b.sdp"],
      ["check", "--as", "both"],
      ["check", "--as"],
      ["check", "x", "--as", "offer", "--offer", "y"],
      ["frobnicate"],
      ["codes", "--x"],
      [],
    ]) {
      const r = await run(args);
      expect(r.code, args.join(" ")).toBe(2);
    }
    const missing = await run(["check", join(dir, "does-not-exist.sdp")]);
    expect(missing.code).toBe(2);
    expect(missing.err).toContain("cannot read");
    expect(missing.err).toContain("ENOENT");
    expect(missing.out).toBe("");
  });

  it("codes lists every finding code", async () => {
    const r = await run(["codes", "--json"]);
    expect(r.code).toBe(0);
    expect(
      JSON.parse(r.out)
        .map((c: { code: string }) => c.code)
        .sort(),
    ).toEqual(Object.keys(FINDING_CODES).sort());
    expect((await run(["--help"])).code).toBe(0);
  });

  it("TS 26.114 Annex A.17 offer: accepted (exit 0) with exactly the three deviation warnings", async () => {
    const r = await run(["check", f("ts26114-a17-offer.sdp")]);
    expect(r.code).toBe(0);
    expect(r.out).toBe(
      "line 16: warning W_FP_SHA1 SHA-1 fingerprint: a defined hash function, but SHA-256 is preferred (RFC 8122 §5)\n" +
        "line 16: warning W_FP_NO_SHA256 m-line 0 offers no sha-256 or stronger fingerprint (RFC 8122 §5.1)\n" +
        'line 17: warning W_TLSID_LEADING_SPACE tls-id " abc3de65cddef001be82" has 1 space(s) before the value; ' +
        'normalised to "abc3de65cddef001be82" (RFC 8842 §4; TS 26.114 Annex A.17)\n' +
        `${f("ts26114-a17-offer.sdp")} as offer: 0 error(s), 3 warning(s): OK\n`,
    );
  });

  it("TS 26.114 Annex A.17 answer against its offer: exit 0, warning codes pinned (JSON)", async () => {
    const r = await run(["check", f("ts26114-a17-answer.sdp"), "--offer", f("ts26114-a17-offer.sdp"), "--json"]);
    expect(r.code).toBe(0);
    const j = JSON.parse(r.out) as { ok: boolean; findings: Array<{ severity: string; code: string; line: number }> };
    expect(j.ok).toBe(true);
    expect(j.findings.map((x) => `${x.severity} ${x.code}@${x.line}`)).toEqual([
      "warning W_FP_SHA1@15",
      "warning W_FP_NO_SHA256@15",
      "warning W_TLSID_LEADING_SPACE@16",
    ]);
  });

  it("TS 26.114 Annex A.17 offer still fails the stricter e2e profile for its SHA-1-only fingerprint", async () => {
    const r = await run(["check", f("ts26114-a17-offer.sdp"), "--e2e-dc", "--json"]);
    expect(r.code).toBe(1);
    const codes = JSON.parse(r.out).findings.map((x: { code: string }) => x.code);
    expect(codes).toContain("E_E2E_FP_STRENGTH");
    expect(codes).not.toContain("E_TLSID_SYNTAX");
  });

  it("a dcsa the answer drops is reported by check --offer (RFC 8864 §5.2)", async () => {
    const offer = join(dir, "dcsa-offer.sdp");
    writeFileSync(offer, fixture("ts26114-app-reoffer.sdp"), "latin1");
    const answer = fixture("ts26114-app-reoffer.sdp")
      .replaceAll("a=setup:actpass", "a=setup:active")
      .replace(/a=tls-id:(\S+)/g, (_m, v: string) => `a=tls-id:${v.split("").reverse().join("")}`)
      .replace("a=dcsa:1000 accept-types:message/cpim\r\n", "");
    const r = await run(["check", "-", "--offer", offer, "--json"], answer);
    expect(r.code).toBe(0);
    expect(JSON.parse(r.out).findings.map((x: { code: string; line: number }) => `${x.code}@${x.line}`)).toEqual([
      "W_DCSA_NOT_ANSWERED@36", // the answer's a=dcmap:1000 line
    ]);
  });

  const realStack = [
    ["chromium-offer.sdp"],
    ["werift-offer.sdp"],
    ["libdatachannel-offer.sdp"],
    ["werift-answer.sdp", "chromium-offer.sdp"],
    ["chromium-answer.sdp", "werift-offer.sdp"],
    ["libdatachannel-answer.sdp", "chromium-offer.sdp"],
    ["dcmtsi-offer.sdp"],
    ["dcmtsi-answer.sdp", "dcmtsi-offer.sdp"],
    ["e2ae-msrp-offer.sdp"],
    ["e2ae-msrp-answer.sdp", "e2ae-msrp-offer.sdp"],
    ["bfcp-tls-offer.sdp"],
    ["bfcp-tls-answer.sdp", "bfcp-tls-offer.sdp"],
    ["ts26114-a17-offer.sdp"],
    ["ts26114-a17-answer.sdp", "ts26114-a17-offer.sdp"],
    ["ts26114-bootstrap-offer.sdp"],
    ["ts26114-app-reoffer.sdp"],
  ];
  for (const [body, offer] of realStack) {
    it(`fixture ${body}${offer ? ` against ${offer}` : ""} passes`, async () => {
      const r = await run(["check", f(body ?? ""), ...(offer ? ["--offer", f(offer)] : []), "--json"]);
      expect(r.code).toBe(0);
      expect(JSON.parse(r.out).findings.filter((x: { severity: string }) => x.severity === "error")).toEqual([]);
    });
  }
});

describe("every malformed case is flagged by the CLI", () => {
  MALFORMED.forEach((c, i) => {
    it(c.name, async () => {
      const args = ["check", "-", "--json"];
      if (c.e2eDc) args.push("--e2e-dc");
      if (c.kind === "answer") {
        const offerFile = join(dir, `offer-${i}.sdp`);
        writeFileSync(offerFile, c.offer ?? "", "latin1");
        args.push("--offer", offerFile);
      }
      const r = await run(args, c.sdp);
      const j = JSON.parse(r.out) as { ok: boolean; findings: Array<{ code: string }> };
      const codes = j.findings.map((x) => x.code);
      for (const code of c.expect) expect(codes).toContain(code);
      const hasError = c.expect.some((code) => code.startsWith("E_"));
      if (hasError) expect(r.code).toBe(1);
      expect(r.code).toBe(j.ok ? 0 : 1);
    });
  });
});

describe("imsdc sdp check (child process)", () => {
  const exec = promisify(execFile);
  // the sources, not dist/ (tests must see the code as edited); test/package runs the packed bin/imsdc.mjs
  const bin = join(ROOT, "src/cli/bin.ts");

  it("real fixture: exit 0 and the human summary", async () => {
    const { stdout } = await exec(
      process.execPath,
      ["--import", "tsx", bin, "sdp", "check", f("werift-answer.sdp"), "--offer", f("chromium-offer.sdp")],
      { cwd: ROOT },
    );
    expect(stdout).toContain("0 error(s), 0 warning(s): OK");
  });

  it("malformed body on stdin: exit 1 with JSON", async () => {
    const child = execFile(process.execPath, ["--import", "tsx", bin, "sdp", "check", "--json"], { cwd: ROOT });
    child.stdin?.end(fixture("chromium-offer.sdp").replace(/a=fingerprint:.*\r\n/, ""));
    let out = "";
    child.stdout?.on("data", (d) => {
      out += String(d);
    });
    const code = await new Promise<number | null>((resolve) => child.on("close", resolve));
    expect(code).toBe(1);
    expect(JSON.parse(out).findings.map((x: { code: string }) => x.code)).toContain("E_FP_MISSING");
  });

  it("missing file: exit 2", async () => {
    const err = await exec(process.execPath, ["--import", "tsx", bin, "sdp", "check", join(dir, "nope.sdp")], {
      cwd: ROOT,
    }).catch((e) => e);
    expect(err.code).toBe(2);
    expect(String(err.stderr)).toContain("cannot read");
  });
});
