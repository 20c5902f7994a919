import { readdirSync, readFileSync } from "node:fs";
import { join } from "node:path";
import fc from "fast-check";
import { describe, expect, it } from "vitest";
import { SipParseError } from "../../src/sip/errors.ts";
import { SipStreamFramer } from "../../src/sip/framing.ts";
import { formatNameAddr, formatVia, type NameAddr, parseNameAddr, parseVia, type Via } from "../../src/sip/headers.ts";
import { SipRequest, SipResponse } from "../../src/sip/message.ts";
import { parseMessage } from "../../src/sip/parse.ts";
import { formatUri, parseUri, type SipUri } from "../../src/sip/uri.ts";

const RUNS = 300;

/** C0 controls and DEL are not allowed in header text (RFC 3261 §25.1 TEXT-UTF8). */
const hasControl = (s: string) => [...s].some((c) => (c.codePointAt(0) ?? 0) < 0x20 || c === "\x7f");

const token = fc.stringMatching(/^[A-Za-z0-9\-.!%*_+`'~]{1,12}$/);
const hostname = fc.stringMatching(/^[a-z]([a-z0-9-]{0,8}[a-z0-9])?(\.[a-z]([a-z0-9-]{0,8}[a-z0-9])?){0,3}$/);
const host = fc.oneof(
  hostname,
  fc.ipV4(),
  fc.ipV6().map((a) => `[${a}]`),
);
const escaped = fc.integer({ min: 0, max: 255 }).map((n) => `%${n.toString(16).padStart(2, "0").toUpperCase()}`);
const userChar = fc.oneof(fc.constantFrom(..."abcXYZ019-_.!~*'()&=+$,;?/".split("")), escaped);
const user = fc.array(userChar, { minLength: 1, maxLength: 12 }).map((a) => a.join(""));
const passChar = fc.oneof(fc.constantFrom(..."abcXYZ019-_.!~*'()&=+$,".split("")), escaped);
const password = fc.array(passChar, { minLength: 0, maxLength: 8 }).map((a) => a.join(""));
const paramChar = fc.oneof(fc.constantFrom(..."abcXYZ019-_.!~*'()[]/:&+$".split("")), escaped);
const paramText = fc.array(paramChar, { minLength: 1, maxLength: 10 }).map((a) => a.join(""));
const hnvChar = fc.oneof(fc.constantFrom(..."abcXYZ019-_.!~*'()[]/?:+$".split("")), escaped);
const hnv = (min: number) => fc.array(hnvChar, { minLength: min, maxLength: 8 }).map((a) => a.join(""));

const sipUriArb: fc.Arbitrary<SipUri> = fc
  .record({
    scheme: fc.constantFrom("sip" as const, "sips" as const),
    user: fc.option(user, { nil: undefined }),
    password: fc.option(password, { nil: undefined }),
    host,
    port: fc.option(fc.integer({ min: 0, max: 65535 }), { nil: undefined }),
    params: fc.array(fc.record({ name: paramText, value: fc.option(paramText, { nil: null }) }), { maxLength: 4 }),
    headers: fc.array(fc.record({ name: hnv(1), value: hnv(0) }), { maxLength: 3 }),
  })
  .map((u) => (u.user === undefined ? { ...u, password: undefined } : u));

const genValue = fc.oneof(
  token,
  fc.ipV4(),
  fc
    .string({ maxLength: 10 })
    .filter((s) => !hasControl(s))
    .map((s) => `"${s.replace(/(["\\])/g, "\\$1")}"`),
);
const headerParams = fc.array(fc.record({ name: token, value: fc.option(genValue, { nil: null }) }), { maxLength: 4 });
const displayName = fc.option(
  fc.string({ maxLength: 16, unit: "grapheme" }).filter((s) => !hasControl(s)),
  { nil: undefined },
);

const nameAddrArb: fc.Arbitrary<NameAddr> = fc.record({
  displayName,
  uri: fc.oneof(sipUriArb, fc.constant(parseUri("tel:+1-201-555-0123")), fc.constant(parseUri("urn:service:sos"))),
  params: headerParams,
});

const viaArb: fc.Arbitrary<Via> = fc.record({
  protocolName: fc.constant("SIP"),
  protocolVersion: fc.constant("2.0"),
  transport: fc.constantFrom("UDP", "TCP", "TLS", "WS", "WSS", "SCTP"),
  host,
  port: fc.option(fc.integer({ min: 1, max: 65535 }), { nil: undefined }),
  params: fc
    .tuple(
      fc.stringMatching(/^z9hG4bK[A-Za-z0-9.-]{1,16}$/),
      fc.option(fc.ipV4(), { nil: undefined }),
      fc.option(fc.option(fc.integer({ min: 1, max: 65535 }), { nil: null }), { nil: undefined }),
      fc.option(fc.integer({ min: 0, max: 255 }), { nil: undefined }),
    )
    .map(([branch, received, rport, ttl]) => {
      const p: { name: string; value: string | null }[] = [{ name: "branch", value: branch }];
      if (received !== undefined) p.push({ name: "received", value: received });
      if (rport !== undefined) p.push({ name: "rport", value: rport === null ? null : String(rport) });
      if (ttl !== undefined) p.push({ name: "ttl", value: String(ttl) });
      return p;
    }),
});

const headerValueText = fc
  .string({ maxLength: 30, unit: "grapheme" })
  .filter((s) => !hasControl(s))
  .map((s) => s.trim());
const unknownHeader = fc.record({
  name: fc.stringMatching(/^X-[A-Za-z0-9-]{1,10}$/),
  value: headerValueText,
});
const body = fc.uint8Array({ maxLength: 300 });

const requestArb = fc
  .record({
    method: fc.constantFrom("INVITE", "ACK", "BYE", "CANCEL", "OPTIONS", "REGISTER", "MESSAGE", "X-CUSTOM"),
    uri: sipUriArb,
    vias: fc.array(viaArb, { minLength: 1, maxLength: 4 }),
    from: nameAddrArb,
    to: nameAddrArb,
    callId: fc.stringMatching(/^[A-Za-z0-9\-.!%*_+`'~()<>:\\"/[\]?{}]{1,20}(@[A-Za-z0-9.]{1,10})?$/),
    seq: fc.integer({ min: 0, max: 2 ** 31 - 1 }),
    mf: fc.integer({ min: 0, max: 255 }),
    extra: fc.array(unknownHeader, { maxLength: 5 }),
    body,
  })
  .map((r) => {
    const req = new SipRequest(r.method, r.uri);
    for (const v of r.vias) req.addHeader("Via", formatVia(v));
    req.addHeader("Max-Forwards", String(r.mf));
    req.addHeader("From", formatNameAddr(r.from));
    req.addHeader("To", formatNameAddr(r.to));
    req.addHeader("Call-ID", r.callId);
    req.addHeader("CSeq", `${r.seq} ${r.method}`);
    for (const h of r.extra) req.addHeader(h.name, h.value);
    req.setBody(r.body, r.body.length > 0 ? "application/octet-stream" : undefined);
    return req;
  });

const responseArb = fc
  .record({ req: requestArb, status: fc.integer({ min: 100, max: 699 }), reason: headerValueText })
  .map(({ req, status, reason }) => {
    const res = new SipResponse(status, reason, req.headers, req.body);
    return res;
  });

describe("round trips (serialise → parse)", () => {
  it("SIP URIs", () => {
    fc.assert(
      fc.property(sipUriArb, (u) => {
        expect(parseUri(formatUri(u))).toEqual(u);
      }),
      { numRuns: RUNS },
    );
  });
  it("name-addrs", () => {
    fc.assert(
      fc.property(nameAddrArb, (na) => {
        expect(parseNameAddr(formatNameAddr(na))).toEqual(na);
      }),
      { numRuns: RUNS },
    );
  });
  it("Via", () => {
    fc.assert(
      fc.property(fc.array(viaArb, { minLength: 1, maxLength: 3 }), (vs) => {
        expect(parseVia(vs.map(formatVia).join(" ,\t"))).toEqual(vs);
      }),
      { numRuns: RUNS },
    );
  });
  it("requests and responses", () => {
    fc.assert(
      fc.property(fc.oneof(requestArb, responseArb), fc.boolean(), (m, compact) => {
        const back = parseMessage(m.toBytes({ compact }));
        expect(back.kind).toBe(m.kind);
        if (back.kind === "request" && m.kind === "request") {
          expect(back.method).toBe(m.method);
          expect(back.uri).toBe(m.uri);
        }
        if (back.kind === "response" && m.kind === "response") {
          expect(back.status).toBe(m.status);
          expect(back.reason).toBe(m.reason);
        }
        const rows = back.headers.filter((h) => !/^(content-length|l)$/i.test(h.name));
        expect(rows.map((h) => h.value)).toEqual(m.headers.map((h) => h.value));
        expect(Array.from(back.body)).toEqual(Array.from(m.body));
        expect(back.vias()).toEqual(m.vias());
        expect(back.from()).toEqual(m.from());
        expect(back.to()).toEqual(m.to());
      }),
      { numRuns: RUNS },
    );
  });
});

describe("robustness", () => {
  const onlyTypedErrors = (bytes: Uint8Array, datagram: boolean) => {
    try {
      parseMessage(bytes, { datagram });
    } catch (e) {
      if (!(e instanceof SipParseError)) throw e;
      expect(e.code).toMatch(/^E_SIP_/);
    }
  };
  it("parse never throws anything but SipParseError on arbitrary bytes", () => {
    fc.assert(
      fc.property(fc.uint8Array({ maxLength: 600 }), fc.boolean(), (b, d) => onlyTypedErrors(b, d)),
      { numRuns: 1000 },
    );
  });
  it("... nor on mutated valid messages", () => {
    const dir = join(import.meta.dirname, "../fixtures/sip");
    const seeds = readdirSync(dir).map((f) => new Uint8Array(readFileSync(join(dir, f))));
    fc.assert(
      fc.property(
        fc.constantFrom(...seeds),
        fc.array(fc.tuple(fc.nat(), fc.integer({ min: 0, max: 255 }), fc.constantFrom("set", "del", "ins")), {
          minLength: 1,
          maxLength: 8,
        }),
        (seed, edits) => {
          let b = Array.from(seed);
          for (const [pos, val, op] of edits) {
            const i = b.length === 0 ? 0 : pos % b.length;
            if (op === "set") b[i] = val;
            else if (op === "del") b.splice(i, 1);
            else b.splice(i, 0, val);
          }
          onlyTypedErrors(new Uint8Array(b), true);
          b = b.slice(0, Math.floor(b.length / 2));
          onlyTypedErrors(new Uint8Array(b), false);
        },
      ),
      { numRuns: 1500 },
    );
  });
  it("arbitrary strings built from SIP-ish pieces", () => {
    const piece = fc.constantFrom(
      "INVITE ",
      "sip:",
      "SIP/2.0",
      " ",
      "\r\n",
      "\r\n ",
      "Via: ",
      "SIP/2.0/UDP ",
      ";branch=z9hG4bK",
      "To: ",
      "<",
      ">",
      '"',
      "\\",
      ";tag=",
      ",",
      "Content-Length: ",
      "9",
      "@",
      "[",
      "]",
      ":",
      "CSeq: 1 INVITE",
      "\r\n\r\n",
    );
    fc.assert(
      fc.property(fc.array(piece, { maxLength: 40 }), (ps) =>
        onlyTypedErrors(new TextEncoder().encode(ps.join("")), true),
      ),
      { numRuns: 1000 },
    );
  });
});

describe("TCP framing", () => {
  it("yields the same messages whatever the chunking (with keep-alive CRLFs between)", () => {
    fc.assert(
      fc.property(
        fc.array(fc.tuple(requestArb, fc.constantFrom("", "\r\n", "\r\n\r\n")), { minLength: 1, maxLength: 5 }),
        fc.array(fc.integer({ min: 1, max: 400 }), { minLength: 1, maxLength: 30 }),
        (msgs, cuts) => {
          const parts: Uint8Array[] = [];
          const expected: string[] = [];
          for (const [m, ka] of msgs) {
            parts.push(new TextEncoder().encode(ka));
            const b = m.toBytes();
            parts.push(b);
            expected.push(Buffer.from(b).toString("hex"));
          }
          const stream = Buffer.concat(parts);
          const framer = new SipStreamFramer({ maxMessageSize: 1 << 20 });
          const got: string[] = [];
          let pos = 0;
          let k = 0;
          while (pos < stream.length) {
            const n = cuts[k++ % cuts.length] ?? 1;
            for (const ev of framer.push(stream.subarray(pos, pos + n))) {
              expect(ev.type).not.toBe("error");
              if (ev.type === "message") got.push(Buffer.from(ev.bytes).toString("hex"));
            }
            pos += n;
          }
          expect(got).toEqual(expected);
          expect(framer.buffered).toBe(0);
          for (const hex of got) parseMessage(Buffer.from(hex, "hex"), { datagram: false });
        },
      ),
      { numRuns: 200 },
    );
  });
});
