/**
 * MSRP codec (RFC 4975 §7.1, §9): valid frames, malformed frames with their stable codes, fast-check round trips,
 * stream re-chunking, URI matching (§6.1) and accept-types (§8.6).
 */
import fc from "fast-check";
import { describe, expect, it } from "vitest";
import { formatMsrpUri } from "../../../src/sdp/index.ts";
import { E2aeError } from "../../../src/ue/e2ae/errors.ts";
import { bodyContainsEndLine, encodeMsrp } from "../../../src/ue/e2ae/msrpEncode.ts";
import { parseByteRange } from "../../../src/ue/e2ae/msrpGrammar.ts";
import { MsrpParser, parseMsrp } from "../../../src/ue/e2ae/msrpParser.ts";
import type { MsrpFrame, MsrpRequest, MsrpResponse } from "../../../src/ue/e2ae/msrpTypes.ts";
import { isAcceptedType, msrpUriMatches } from "../../../src/ue/e2ae/msrpUri.ts";

const crlf = (lines: string[]) => `${lines.join("\r\n")}\r\n`;
const TO = "msrp://bob.example.com:8888/9di4eae923wzd;tcp";
const FROM = "msrp://alicepc.example.com:7777/iau39soe2843z;tcp";

// RFC 4975 §7.1 shapes (the §11 examples, with consistent byte counts)
const SEND = crlf([
  "MSRP a786hjs2 SEND",
  `To-Path: ${TO}`,
  `From-Path: ${FROM}`,
  "Message-ID: 87652491",
  "Byte-Range: 1-23/23",
  "Content-Type: text/plain",
  "",
  "Hey Bob, are you there?",
  "-------a786hjs2$",
]);
const OK = crlf(["MSRP a786hjs2 200 OK", `To-Path: ${FROM}`, `From-Path: ${TO}`, "-------a786hjs2$"]);

function frame(text: string): MsrpFrame {
  const f = parseMsrp(text);
  if (f instanceof E2aeError) throw f;
  return f;
}

describe("valid frames", () => {
  it("SEND with body (RFC 4975 §11 example)", () => {
    const f = frame(SEND) as MsrpRequest;
    expect(f).toMatchObject({
      kind: "request",
      transactionId: "a786hjs2",
      method: "SEND",
      toPath: [TO],
      fromPath: [FROM],
      messageId: "87652491",
      byteRange: { start: 1, end: 23, total: 23 },
      contentType: "text/plain",
      continuation: "$",
    });
    expect(Buffer.from(f.body ?? []).toString()).toBe("Hey Bob, are you there?");
    expect(encodeMsrp(f).toString()).toBe(SEND);
  });

  it("200 OK response", () => {
    const f = frame(OK) as MsrpResponse;
    expect(f).toMatchObject({ kind: "response", status: 200, comment: "OK", toPath: [FROM], fromPath: [TO] });
    expect(encodeMsrp(f).toString()).toBe(OK);
  });

  const table: Array<[string, string, (f: MsrpFrame) => void]> = [
    [
      "bodiless SEND (RFC 4975 §5.4)",
      crlf([
        "MSRP abcd SEND",
        `To-Path: ${TO}`,
        `From-Path: ${FROM}`,
        "Message-ID: m1x2",
        "Byte-Range: 1-0/0",
        "-------abcd$",
      ]),
      (f) => {
        expect(f).not.toHaveProperty("body");
        expect(f).toMatchObject({ byteRange: { start: 1, end: 0, total: 0 } });
      },
    ],
    [
      "first chunk with unknown end and total, + flag",
      crlf([
        "MSRP t001 SEND",
        `To-Path: ${TO}`,
        `From-Path: ${FROM}`,
        "Message-ID: mid1",
        "Byte-Range: 1-*/*",
        "Content-Type: text/plain",
        "",
        "abc",
        "-------t001+",
      ]),
      (f) => expect(f).toMatchObject({ continuation: "+", byteRange: { start: 1, end: "*", total: "*" } }),
    ],
    [
      "aborted chunk (# flag)",
      crlf([
        "MSRP t002 SEND",
        `To-Path: ${TO}`,
        `From-Path: ${FROM}`,
        "Message-ID: mid1",
        "Byte-Range: 4-6/9",
        "Content-Type: text/plain",
        "",
        "def",
        "-------t002#",
      ]),
      (f) => expect(f.continuation).toBe("#"),
    ],
    [
      "REPORT with Status (RFC 4975 §7.1.2)",
      crlf([
        "MSRP dkei38sd REPORT",
        `To-Path: ${FROM}`,
        `From-Path: ${TO}`,
        "Message-ID: 12339sdqwer",
        "Byte-Range: 1-106/106",
        "Status: 000 200 OK",
        "-------dkei38sd$",
      ]),
      (f) => expect(f).toMatchObject({ method: "REPORT", status: { namespace: "000", code: 200, reason: "OK" } }),
    ],
    [
      "response without comment",
      crlf(["MSRP abcd 413", `To-Path: ${FROM}`, `From-Path: ${TO}`, "-------abcd$"]),
      (f) => {
        expect(f).toMatchObject({ kind: "response", status: 413 });
        expect(f).not.toHaveProperty("comment");
      },
    ],
    [
      "other method, multi-hop paths, MIME header before Content-Type, empty body",
      crlf([
        "MSRP x.y-z+1 NICKNAME",
        `To-Path: msrp://relay.example.net:2855/r1;tcp ${TO}`,
        `From-Path: ${FROM}`,
        "Message-ID: n+n=n",
        "Content-ID: <x@y>",
        "Content-Type: message/cpim; charset=utf-8",
        "",
        "",
        "-------x.y-z+1$",
      ]),
      (f) => {
        expect(f).toMatchObject({
          method: "NICKNAME",
          toPath: ["msrp://relay.example.net:2855/r1;tcp", TO],
          headers: [{ name: "Content-ID", value: "<x@y>" }],
          contentType: "message/cpim; charset=utf-8",
        });
        expect((f as MsrpRequest).body?.length).toBe(0);
      },
    ],
    [
      "body holding CRLF, a partial end-line and another transaction's end-line",
      crlf([
        "MSRP abcd SEND",
        `To-Path: ${TO}`,
        `From-Path: ${FROM}`,
        "Message-ID: m1x2",
        "Content-Type: text/plain",
        "",
        "a\r\n-------abcd\r\n-------zzzz$",
        "-------abcd$",
      ]),
      (f) => expect(Buffer.from((f as MsrpRequest).body ?? []).toString()).toBe("a\r\n-------abcd\r\n-------zzzz$"),
    ],
    [
      "headers in another order, header names case-insensitive",
      crlf(["MSRP abcd SEND", `from-path: ${FROM}`, `TO-PATH: ${TO}`, "message-id: m1x2", "-------abcd$"]),
      (f) => expect(f).toMatchObject({ toPath: [TO], fromPath: [FROM], messageId: "m1x2" }),
    ],
  ];
  it.each(table)("%s", (_name, text, check) => check(frame(text)));
});

describe("malformed frames: typed errors, never thrown", () => {
  const bad: Array<[string, string, string]> = [
    ["not MSRP", "GET / HTTP/1.1\r\nHost: x\r\n\r\n", "E_MSRP_START_LINE"],
    [
      "lower-case pMSRP",
      crlf(["msrp abcd SEND", `To-Path: ${TO}`, `From-Path: ${FROM}`, "-------abcd$"]),
      "E_MSRP_START_LINE",
    ],
    [
      "transact-id too short",
      crlf(["MSRP ab SEND", `To-Path: ${TO}`, `From-Path: ${FROM}`, "-------ab$"]),
      "E_MSRP_START_LINE",
    ],
    [
      "lower-case method",
      crlf(["MSRP abcd send", `To-Path: ${TO}`, `From-Path: ${FROM}`, "-------abcd$"]),
      "E_MSRP_START_LINE",
    ],
    [
      "status not 3 digits",
      crlf(["MSRP abcd 20 OK", `To-Path: ${TO}`, `From-Path: ${FROM}`, "-------abcd$"]),
      "E_MSRP_START_LINE",
    ],
    [
      "no To-Path",
      crlf(["MSRP abcd SEND", `From-Path: ${FROM}`, "Message-ID: m1x2", "-------abcd$"]),
      "E_MSRP_MISSING_HEADER",
    ],
    [
      "To-Path not an MSRP URI",
      crlf(["MSRP abcd SEND", "To-Path: sip:bob@example.com", `From-Path: ${FROM}`, "-------abcd$"]),
      "E_MSRP_PATH",
    ],
    [
      "URI without transport",
      crlf(["MSRP abcd SEND", "To-Path: msrp://h:1/s", `From-Path: ${FROM}`, "-------abcd$"]),
      "E_MSRP_PATH",
    ],
    [
      "Byte-Range start 0",
      crlf(["MSRP abcd SEND", `To-Path: ${TO}`, `From-Path: ${FROM}`, "Byte-Range: 0-1/1", "-------abcd$"]),
      "E_MSRP_BYTE_RANGE",
    ],
    [
      "Byte-Range end before start",
      crlf(["MSRP abcd SEND", `To-Path: ${TO}`, `From-Path: ${FROM}`, "Byte-Range: 5-2/10", "-------abcd$"]),
      "E_MSRP_BYTE_RANGE",
    ],
    [
      "Byte-Range beyond total",
      crlf(["MSRP abcd SEND", `To-Path: ${TO}`, `From-Path: ${FROM}`, "Byte-Range: 1-20/10", "-------abcd$"]),
      "E_MSRP_BYTE_RANGE",
    ],
    [
      "Byte-Range not numeric",
      crlf(["MSRP abcd SEND", `To-Path: ${TO}`, `From-Path: ${FROM}`, "Byte-Range: a-b/c", "-------abcd$"]),
      "E_MSRP_BYTE_RANGE",
    ],
    [
      "Message-ID too short",
      crlf(["MSRP abcd SEND", `To-Path: ${TO}`, `From-Path: ${FROM}`, "Message-ID: x", "-------abcd$"]),
      "E_MSRP_HEADER",
    ],
    [
      "Failure-Report value",
      crlf(["MSRP abcd SEND", `To-Path: ${TO}`, `From-Path: ${FROM}`, "Failure-Report: maybe", "-------abcd$"]),
      "E_MSRP_HEADER",
    ],
    [
      "Success-Report value",
      crlf(["MSRP abcd SEND", `To-Path: ${TO}`, `From-Path: ${FROM}`, "Success-Report: partial", "-------abcd$"]),
      "E_MSRP_HEADER",
    ],
    [
      "To-Path twice",
      crlf(["MSRP abcd SEND", `To-Path: ${TO}`, `To-Path: ${TO}`, `From-Path: ${FROM}`, "-------abcd$"]),
      "E_MSRP_HEADER",
    ],
    [
      "header without colon",
      crlf(["MSRP abcd SEND", `To-Path: ${TO}`, `From-Path: ${FROM}`, "Garbage", "-------abcd$"]),
      "E_MSRP_HEADER",
    ],
    [
      "Status malformed",
      crlf(["MSRP abcd REPORT", `To-Path: ${TO}`, `From-Path: ${FROM}`, "Status: 200", "-------abcd$"]),
      "E_MSRP_HEADER",
    ],
    [
      "Content-Type without subtype",
      crlf(["MSRP abcd SEND", `To-Path: ${TO}`, `From-Path: ${FROM}`, "Content-Type: text", "", "x", "-------abcd$"]),
      "E_MSRP_HEADER",
    ],
    [
      "body without Content-Type",
      crlf(["MSRP abcd SEND", `To-Path: ${TO}`, `From-Path: ${FROM}`, "", "x", "-------abcd$"]),
      "E_MSRP_MISSING_HEADER",
    ],
    [
      "Content-Type without body",
      crlf(["MSRP abcd SEND", `To-Path: ${TO}`, `From-Path: ${FROM}`, "Content-Type: text/plain", "-------abcd$"]),
      "E_MSRP_BODY",
    ],
    [
      "response with a body",
      crlf([
        "MSRP abcd 200 OK",
        `To-Path: ${TO}`,
        `From-Path: ${FROM}`,
        "Content-Type: text/plain",
        "",
        "x",
        "-------abcd$",
      ]),
      "E_MSRP_BODY",
    ],
    ["no end-line", crlf(["MSRP abcd SEND", `To-Path: ${TO}`, `From-Path: ${FROM}`]), "E_MSRP_END_LINE"],
    ["bytes after the end-line", `${OK}garbage`, "E_MSRP_END_LINE"],
  ];
  it.each(bad)("%s → %s", (_name, text, code) => {
    const r = parseMsrp(text);
    expect(r).toBeInstanceOf(E2aeError);
    expect((r as E2aeError).code).toBe(code);
  });

  it("an unreadable start line is fatal; a bad frame is not (the end-line resynchronises)", () => {
    const p = new MsrpParser();
    const badFrame = crlf([
      "MSRP abcd SEND",
      `To-Path: ${TO}`,
      `From-Path: ${FROM}`,
      "Failure-Report: maybe",
      "-------abcd$",
    ]);
    const ev = p.push(Buffer.from(badFrame + SEND));
    expect(ev.map((e) => e.type)).toEqual(["error", "frame"]);
    expect(ev[0]).toMatchObject({ fatal: false, transactionId: "abcd", method: "SEND", fromPath: [FROM] });
    const ev2 = p.push(Buffer.from("HELLO WORLD\r\n"));
    expect(ev2).toHaveLength(1);
    expect(ev2[0]).toMatchObject({ type: "error", fatal: true });
    expect(p.failed).toBe(true);
    expect(p.push(Buffer.from(SEND))).toEqual([]);
  });

  it("an oversize chunk is skipped with E_MSRP_TOO_LARGE, memory stays bounded, the next frame parses", () => {
    const p = new MsrpParser({ maxBodyBytes: 1024 });
    const big = crlf([
      "MSRP bigg SEND",
      `To-Path: ${TO}`,
      `From-Path: ${FROM}`,
      "Message-ID: m1x2",
      "Content-Type: text/plain",
      "",
      "x".repeat(200_000),
      "-------bigg$",
    ]);
    const buf = Buffer.from(big + SEND);
    const events = [];
    let peak = 0;
    for (let i = 0; i < buf.length; i += 4096) {
      events.push(...p.push(buf.subarray(i, i + 4096)));
      peak = Math.max(peak, p.buffered);
    }
    expect(events.map((e) => (e.type === "error" ? e.error.code : "frame"))).toEqual(["E_MSRP_TOO_LARGE", "frame"]);
    expect(peak).toBeLessThan(16 * 1024);
  });

  it("an endless header block and a 2 KB start line are fatal", () => {
    const p = new MsrpParser({ maxHeaderBytes: 512 });
    const ev = p.push(Buffer.from(`MSRP abcd SEND\r\nX-A: ${"a".repeat(1000)}`));
    expect(ev[0]).toMatchObject({ type: "error", fatal: true });
    expect((ev[0] as { error: E2aeError }).error.code).toBe("E_MSRP_HEADER");
    const q = new MsrpParser();
    const ev2 = q.push(Buffer.from(`MSRP ${"a".repeat(2000)}`));
    expect((ev2[0] as { error: E2aeError }).error.code).toBe("E_MSRP_START_LINE");
  });

  it("never throws on arbitrary bytes", () => {
    fc.assert(
      fc.property(fc.array(fc.uint8Array({ maxLength: 300 }), { maxLength: 8 }), (parts) => {
        const p = new MsrpParser({ maxBodyBytes: 256, maxHeaderBytes: 256 });
        for (const part of parts) p.push(part);
      }),
      { numRuns: 300 },
    );
    fc.assert(
      fc.property(fc.string({ maxLength: 400 }), (s) => {
        const p = new MsrpParser();
        p.push(Buffer.from(`MSRP abcd SEND\r\n${s}`));
      }),
      { numRuns: 300 },
    );
  });
});

describe("encoding refuses what cannot be sent", () => {
  const base: MsrpRequest = {
    kind: "request",
    transactionId: "abcd",
    method: "SEND",
    toPath: [TO],
    fromPath: [FROM],
    messageId: "m1x2",
    headers: [],
    contentType: "text/plain",
    body: Buffer.from("x"),
    continuation: "$",
  };
  it.each<[string, Partial<MsrpRequest>, string]>([
    [
      "a body holding its own end-line (RFC 4975 §7.1)",
      { body: Buffer.from("a\r\n-------abcd$\r\nb") },
      "E_MSRP_END_LINE",
    ],
    ["CR/LF in a header value", { headers: [{ name: "X-A", value: "a\r\nTo-Path: x" }] }, "E_MSRP_HEADER"],
    ["bad transact-id", { transactionId: "a b" }, "E_MSRP_START_LINE"],
    ["bad method", { method: "send" }, "E_MSRP_START_LINE"],
    ["bad path", { toPath: ["http://x"] }, "E_MSRP_PATH"],
    ["empty path", { toPath: [] }, "E_MSRP_MISSING_HEADER"],
    ["bad Byte-Range", { byteRange: { start: 0, end: 1, total: 1 } }, "E_MSRP_BYTE_RANGE"],
  ])("%s → %s", (_n, patch, code) => {
    expect(() => encodeMsrp({ ...base, ...patch })).toThrowError(expect.objectContaining({ code }));
  });
  it("bodyContainsEndLine sees an end-line at the body's end (before the CRLF we add)", () => {
    expect(bodyContainsEndLine(Buffer.from("x\r\n-------abcd$"), "abcd")).toBe(true);
    expect(bodyContainsEndLine(Buffer.from("x\r\n-------abcd"), "abcd")).toBe(false);
    expect(bodyContainsEndLine(Buffer.from("\r\n-------abcd+\r\n"), "abcd")).toBe(true);
  });
});

// ---- fast-check round trips -------------------------------------------------------------------------------------

const ALNUM = "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789".split("");
const identArb = fc
  .tuple(
    fc.constantFrom(...ALNUM),
    fc.string({ unit: fc.constantFrom(...ALNUM, ".", "-", "+", "%", "="), minLength: 3, maxLength: 31 }),
  )
  .map(([a, b]) => a + b);
const uriArb = fc
  .record({
    scheme: fc.constantFrom("msrp" as const, "msrps" as const),
    host: fc.constantFrom("127.0.0.1", "alice.example.com", "[2001:db8::1]"),
    port: fc.integer({ min: 1, max: 65535 }),
    sessionId: fc.string({
      unit: fc.constantFrom(...ALNUM, "-", ".", "_", "~", "+", "=", "/"),
      minLength: 1,
      maxLength: 24,
    }),
  })
  .map((u) => formatMsrpUri({ ...u, transport: "tcp" }));
const pathArb = fc.array(uriArb, { minLength: 1, maxLength: 3 });
const valueArb = fc.stringMatching(/^[!-~]([ -~]{0,30}[!-~])?$/);
const headerArb = fc.record({
  name: fc.stringMatching(/^X-[A-Za-z0-9-]{1,12}$/),
  value: valueArb,
});
const continuationArb = fc.constantFrom("$" as const, "+" as const, "#" as const);
const rangeArb = fc
  .tuple(
    fc.integer({ min: 1, max: 1e9 }),
    fc.integer({ min: 0, max: 1e6 }),
    fc.integer({ min: 0, max: 1e6 }),
    fc.boolean(),
    fc.boolean(),
  )
  .map(([start, len, extra, starEnd, starTotal]) => ({
    start,
    end: starEnd ? ("*" as const) : start - 1 + len,
    total: starTotal ? ("*" as const) : start - 1 + len + extra,
  }));

const requestArb: fc.Arbitrary<MsrpRequest> = fc
  .record(
    {
      transactionId: identArb,
      method: fc.oneof(fc.constantFrom("SEND", "REPORT"), fc.stringMatching(/^[A-Z]{1,10}$/)),
      toPath: pathArb,
      fromPath: pathArb,
      messageId: identArb,
      byteRange: rangeArb,
      successReport: fc.constantFrom("yes" as const, "no" as const),
      failureReport: fc.constantFrom("yes" as const, "no" as const, "partial" as const),
      status: fc.record({
        namespace: fc.constant("000"),
        code: fc.integer({ min: 100, max: 999 }),
        reason: valueArb,
      }),
      headers: fc.array(headerArb, { maxLength: 3 }),
      content: fc.option(
        fc.record({
          contentType: fc.constantFrom("text/plain", "message/cpim", "application/octet-stream; x=1"),
          body: fc.uint8Array({ maxLength: 600 }),
        }),
      ),
      continuation: continuationArb,
    },
    { requiredKeys: ["transactionId", "method", "toPath", "fromPath", "headers", "continuation", "content"] },
  )
  .map(({ content, ...r }) => {
    const req: MsrpRequest = { kind: "request", ...r };
    if (content) {
      req.contentType = content.contentType;
      req.body = content.body;
    }
    return req;
  })
  .filter((r) => r.body === undefined || !bodyContainsEndLine(r.body, r.transactionId));

const responseArb: fc.Arbitrary<MsrpResponse> = fc
  .record(
    {
      transactionId: identArb,
      status: fc.integer({ min: 100, max: 999 }),
      comment: valueArb,
      toPath: pathArb,
      fromPath: pathArb,
      headers: fc.array(headerArb, { maxLength: 2 }),
      continuation: fc.constant("$" as const),
    },
    { requiredKeys: ["transactionId", "status", "toPath", "fromPath", "headers", "continuation"] },
  )
  .map((r) => ({ kind: "response" as const, ...r }));

function normalise(f: MsrpFrame): unknown {
  const { body, ...rest } = f.kind === "request" ? f : { ...f, body: undefined };
  return { ...JSON.parse(JSON.stringify(rest)), ...(body ? { body: Buffer.from(body).toString("hex") } : {}) };
}

describe("round trips (fast-check)", () => {
  it("parse(encode(frame)) = frame, for requests and responses", () => {
    fc.assert(
      fc.property(fc.oneof(requestArb, responseArb), (f) => {
        const back = parseMsrp(encodeMsrp(f));
        expect(back).not.toBeInstanceOf(E2aeError);
        expect(normalise(back as MsrpFrame)).toEqual(normalise(f));
      }),
      { numRuns: 400 },
    );
  });

  it("a stream of frames cut at arbitrary points parses to the same frames", () => {
    fc.assert(
      fc.property(
        fc.array(fc.oneof(requestArb, responseArb), { minLength: 1, maxLength: 6 }),
        fc.array(fc.integer({ min: 1, max: 97 }), { minLength: 1, maxLength: 20 }),
        (frames, cuts) => {
          const stream = Buffer.concat(frames.map((f) => encodeMsrp(f)));
          const p = new MsrpParser();
          const got: MsrpFrame[] = [];
          let off = 0;
          let i = 0;
          while (off < stream.length) {
            const n = cuts[i++ % cuts.length] ?? 1;
            for (const e of p.push(stream.subarray(off, off + n))) {
              if (e.type === "frame") got.push(e.frame);
              else throw e.error;
            }
            off += n;
          }
          expect(got.map(normalise)).toEqual(frames.map(normalise));
          expect(p.buffered).toBe(0);
        },
      ),
      { numRuns: 150 },
    );
  });
});

describe("URIs, Byte-Range, accept-types", () => {
  it("RFC 4975 §6.1 comparison: host/scheme/transport case-insensitive, session-id case-sensitive, default port", () => {
    expect(msrpUriMatches("msrps://Alice.Example.com:2855/abc;TCP", "msrps://alice.example.com/abc;tcp")).toBe(true);
    expect(msrpUriMatches("msrps://alice.example.com:7/abc;tcp", "msrps://alice.example.com:7/ABC;tcp")).toBe(false);
    expect(msrpUriMatches("msrp://alice.example.com:7/abc;tcp", "msrps://alice.example.com:7/abc;tcp")).toBe(false);
    expect(msrpUriMatches("msrps://u@alice.example.com:7/abc;tcp;x=1", "msrps://alice.example.com:7/abc;tcp")).toBe(
      true,
    );
  });
  it("session-id mode (RFC 6714 matching; path rewritten by an anchor)", () => {
    expect(msrpUriMatches("msrp://10.0.0.1:4000/abc;tcp", "msrps://127.0.0.1:5000/abc;tcp", "session-id")).toBe(true);
    expect(msrpUriMatches("msrp://10.0.0.1:4000/abd;tcp", "msrps://127.0.0.1:5000/abc;tcp", "session-id")).toBe(false);
    expect(msrpUriMatches("msrp://10.0.0.1:4000;tcp", "msrps://127.0.0.1:5000;tcp", "session-id")).toBe(false);
  });
  it("Byte-Range", () => {
    expect(parseByteRange("1-0/0")).toEqual({ start: 1, end: 0, total: 0 });
    expect(parseByteRange("100-*/*")).toEqual({ start: 100, end: "*", total: "*" });
    expect((parseByteRange("1-2") as E2aeError).code).toBe("E_MSRP_BYTE_RANGE");
  });
  it("accept-types (RFC 4975 §8.6)", () => {
    expect(isAcceptedType(["message/cpim", "text/plain"], "text/plain; charset=utf-8")).toBe(true);
    expect(isAcceptedType(["text/*"], "TEXT/HTML")).toBe(true);
    expect(isAcceptedType(["*"], "image/png")).toBe(true);
    expect(isAcceptedType(["message/cpim"], "text/plain")).toBe(false);
  });
});
