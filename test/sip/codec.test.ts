import { readdirSync, readFileSync } from "node:fs";
import { join } from "node:path";
import { describe, expect, it } from "vitest";
import { isImsdcError } from "../../src/errors.ts";
import { SipParseError } from "../../src/sip/errors.ts";
import { getParam } from "../../src/sip/grammar.ts";
import {
  canonicalHeaderName,
  compactHeaderName,
  formatNameAddr,
  formatVia,
  mediasecMechanisms,
  parseContact,
  parseNameAddr,
  parseSecurityMechanisms,
  parseVia,
  viaBranch,
} from "../../src/sip/headers.ts";
import { createRequest, createResponse, type SipMessage, SipRequest } from "../../src/sip/message.ts";
import { parseMessage, parseMessageText, readPartial } from "../../src/sip/parse.ts";
import { errorResponseFor } from "../../src/sip/reply.ts";
import { serializeMessage } from "../../src/sip/serialize.ts";
import { formatUri, isSipUri, parseSipUri, parseUri, type SipUri, sipUriEquals } from "../../src/sip/uri.ts";

const DIR = join(import.meta.dirname, "../fixtures/sip");
const fixture = (name: string) => new Uint8Array(readFileSync(join(DIR, `${name}.sip`)));
const text = (b: Uint8Array) => new TextDecoder().decode(b);
const parse = (name: string) => parseMessage(fixture(name));

/** Expectations for every valid fixture: a check of what makes it tortuous. */
const VALID: Record<string, (m: SipMessage) => void> = {
  "valid-wsinv": (m) => {
    expect(m.kind).toBe("request");
    expect(m.to().params).toEqual([{ name: "tag", value: "1918181833n" }]);
    expect(m.from().displayName).toBe('J Rosenberg \\"');
    expect(m.fromTag()).toBe("98asjd8");
    expect(m.maxForwards()).toBe(68);
    expect(m.cseq()).toEqual({ seq: 9, method: "INVITE" });
    expect(m.vias().map((v) => v.transport)).toEqual(["UDP", "TCP", "UDP"]);
    expect(viaBranch(m.vias()[2]!)).toBe("z9hG4bK30239");
    expect(m.getHeader("NewFangledHeader")).toBe("newfangled value continued newfangled value");
    expect(m.getHeader("UnknownHeaderWithUnusualValue")).toBe(";;,,;;,;");
    expect(m.getHeader("Subject")).toBe("");
    const c = m.contact();
    expect(c !== "*" && c[0]?.displayName).toBe('Quoted string ""');
    expect(c !== "*" && getParam(c[0]!.params, "q")).toBe("0.33");
    expect(m.routes()).toHaveLength(1);
    expect(text(m.body)).toContain("m=video 3227 RTP/AVP 31");
  },
  "valid-intmeth": (m) => {
    expect(m.kind === "request" && m.method).toBe("!interesting-Method0123456789_*+`.%indeed'~");
    const u = (m as SipRequest).requestUri() as SipUri;
    expect(u.user).toBe("1_unusual.URI~(to-be!sure)&isn't+it$/crazy?,/;;*");
    expect(u.password).toBe("&it+has=1,weird!*pas$wo~d_too.(doesn't-it)");
    expect(m.from().displayName).toBe("token1~` token2'+_ token3*%!.-");
    expect(getParam(m.from().params, "fromParam''~+*_!.-%")).toBe("работающий");
    expect(m.callId()).toBe("intmeth.word%ZK-!.*_+'@word`~)(><:\\/\"][?}{");
    expect(m.getHeader("extensionHeader-!.%*+_`'~")).toBe("大停電");
  },
  "valid-esc01": (m) => {
    const u = (m as SipRequest).requestUri() as SipUri;
    expect(u.user).toBe("sips%3Auser%40example.com");
    expect(u.host).toBe("example.net");
    expect(m.getHeader("Content-Type")).toBe("application/sdp");
    const c = m.contact();
    expect(c !== "*" && (c[0]!.uri as SipUri).params.map((p) => p.name)).toEqual(["%6C%72", "n%61me"]);
    expect(sipUriEquals(parseSipUri("sip:%75se%72@example.com"), parseSipUri("sip:user@EXAMPLE.com"))).toBe(true);
  },
  "valid-escnull": (m) => {
    const c = m.contact();
    expect(c !== "*" && c.map((x) => (x.uri as SipUri).user)).toEqual(["%00", "%00%00"]);
    expect(m.contentLength()).toBe(0);
  },
  "valid-esc02": (m) => {
    expect(m.kind === "request" && m.method).toBe("RE%47IST%45R");
    expect(m.to().displayName).toBe("%Z%45");
    expect(m.getHeader("C%6Fntact")).toBe("<sip:alias2@host2.example.com>");
    const c = m.contact();
    expect(c !== "*" && c).toHaveLength(2); // C%6Fntact is a different (unknown) header
  },
  "valid-lwsdisp": (m) => {
    expect(m.from().displayName).toBe("caller");
  },
  "valid-longreq": (m) => {
    expect(m.vias()).toHaveLength(40);
    expect(m.routes()).toHaveLength(30);
    expect(m.fromTag()).toHaveLength(200);
  },
  "valid-semiuri": (m) => {
    const u = (m as SipRequest).requestUri() as SipUri;
    expect(u.user).toBe("user;par=u%40example.net");
    expect(u.host).toBe("example.com");
    expect(m.getHeader("Accept")).toBe(
      "application/sdp, application/pkcs7-mime, multipart/mixed, multipart/signed, message/sip, message/sipfrag",
    );
    expect(m.getValues("Accept")).toHaveLength(6);
  },
  "valid-transports": (m) => {
    expect(m.vias().map((v) => v.transport)).toEqual(["UDP", "SCTP", "TLS", "UNKNOWN", "TCP", "WS", "WSS"]);
  },
  "valid-mpart01": (m) => {
    expect(m.contentType()).toMatchObject({ type: "multipart", subtype: "mixed" });
    expect(Array.from(m.body.subarray(m.body.indexOf(0xff) - 2, m.body.indexOf(0xff) + 3))).toEqual([
      0x00, 0x01, 0xff, 0xfe, 0x80,
    ]);
  },
  "valid-unreason": (m) => {
    expect(m.kind === "response" && m.reason).toBe("= 2**3 * 5**2 но сто девяносто девять - простое");
  },
  "valid-noreason": (m) => {
    expect(m.kind === "response" && m.status).toBe(100);
    expect(m.kind === "response" && m.reason).toBe("");
  },
  "valid-ipv6": (m) => {
    const u = (m as SipRequest).requestUri() as SipUri;
    expect(u.host).toBe("[2001:db8::10]");
    expect(u.port).toBe(5070);
    const [v1, v2] = m.vias();
    expect(v1?.host).toBe("[2001:db8::9:1]");
    expect(getParam(v1!.params, "received")).toBe("2001:db8::9:255");
    expect(getParam(v1!.params, "rport")).toBe("5061");
    expect(v2?.host).toBe("[::ffff:192.0.2.128]");
    expect(v2?.port).toBe(5060);
  },
  "valid-compact": (m) => {
    expect(m.getHeader("Via")).toContain("client.atlanta.example.com");
    expect(m.getHeader("Content-Type")).toBe("application/sdp");
    expect(m.supported()).toEqual(["path", "gruu", "timer"]);
    expect(m.getHeader("Session-Expires")).toBe("1800;refresher=uac");
    expect(m.getHeader("Refer-To")).toBe("<sip:carol@chicago.example.com>");
    expect(m.getHeader("Referred-By")).toBe("<sip:alice@atlanta.example.com>");
    expect(m.getHeader("Event")).toBe("presence");
    expect(m.getValues("Allow-Events")).toEqual(["dialog", "presence"]);
    expect(m.getHeader("Identity")).toMatch(/^eyJ/);
    expect(m.getHeader("Accept-Contact")).toMatch(/^\*;/);
    expect(m.getHeader("Reject-Contact")).toBe("*;+sip.automata");
    expect(m.getValues("Request-Disposition")).toEqual(["proxy", "recurse"]);
    expect(m.getHeader("Content-Encoding")).toBe("identity");
    expect(m.getHeader("Subject")).toBe("Project X");
    // canonical serialisation expands compact forms; compact serialisation restores them
    const canon = text(serializeMessage(m));
    expect(canon).toContain("\r\nCall-ID: 3848276298220188511@atlanta.example.com\r\n");
    expect(canon).toContain("\r\nRequest-Disposition: proxy, recurse\r\n");
    const compact = text(serializeMessage(m, { compact: true }));
    expect(compact).toContain("\r\ni: 3848276298220188511@atlanta.example.com\r\n");
    expect(compact).toContain("\r\nd: proxy, recurse\r\n");
    expect(compact).toContain("\r\nl: 150\r\n");
  },
  "valid-splitmulti": (m) => {
    expect(m.vias()).toHaveLength(3);
    expect(m.routes().map((r) => (r.uri as SipUri).host)).toEqual([
      "p1.example.com",
      "p2.example.com",
      "p3.example.com",
    ]);
    expect(m.recordRoutes()).toHaveLength(2);
    expect(m.paths()).toHaveLength(2);
    expect(m.allow()).toEqual(["INVITE", "ACK", "CANCEL", "OPTIONS", "BYE"]);
    expect(m.supported()).toEqual(["100rel", "timer", "path"]);
    expect(m.require()).toEqual(["sec-agree"]);
    expect(m.proxyRequire()).toEqual(["sec-agree"]);
    const c = m.contact();
    expect(c !== "*" && c.map((x) => x.displayName)).toEqual([undefined, "Second"]);
  },
  "valid-register-dc": (m) => {
    const c = m.contact();
    expect(c !== "*" && getParam(c[0]!.params, "+sip.app-subtype")).toBe("webrtc-datachannel");
    expect(c !== "*" && c[0]!.params.find((p) => p.name === "+sip.app-subtype")?.value).toBe('"webrtc-datachannel"');
    const sc = m.securityClient();
    expect(sc.map((s) => s.mechanism)).toEqual(["msrp-tls", "bfcp-tls", "ipsec-3gpp"]);
    expect(mediasecMechanisms(sc)).toEqual(["msrp-tls", "bfcp-tls"]);
    expect(getParam(sc[2]!.params, "spi-c")).toBe("1111");
    expect(m.expires()).toBe(600);
  },
  "valid-contactstar": (m) => {
    expect(m.contact()).toBe("*");
    expect(m.expires()).toBe(0);
  },
  "valid-tel": (m) => {
    expect(parseUri((m as SipRequest).uri)).toEqual({ scheme: "tel", number: "+1-201-555-0123", params: [] });
    expect(m.from().uri).toMatchObject({ scheme: "tel", number: "7042" });
    expect(m.getValues("P-Asserted-Identity")).toHaveLength(2);
  },
  "valid-warning": (m) => {
    expect(m.warnings()).toEqual([
      { code: 399, agent: "p-cscf.ims.example.com", text: 'Incompatible, "media"' },
      { code: 301, agent: "isi.edu", text: "Incompatible network address type 'E.164'" },
      { code: 370, agent: "192.0.2.1:5060", text: "Insufficient bandwidth" },
    ]);
    expect(m.retryAfter()).toEqual({
      seconds: 120,
      comment: "I'm in a meeting (really)",
      params: [{ name: "duration", value: "3600" }],
    });
    expect(m.unsupported()).toEqual(["foo"]);
  },
  "valid-security-server": (m) => {
    const ss = m.securityServer();
    expect(ss.map((s) => s.mechanism)).toEqual(["ipsec-3gpp", "msrp-tls", "bfcp-tls"]);
    expect(mediasecMechanisms(ss)).toEqual(["msrp-tls", "bfcp-tls"]);
    // WWW-Authenticate is not a comma list: one value
    expect(m.getValues("WWW-Authenticate")).toHaveLength(1);
  },
  "valid-wsvia": (m) => {
    expect(m.topVia()).toMatchObject({ transport: "WSS", host: "df7jal23ls0d.invalid" });
    const c = m.contact();
    expect(c !== "*" && getParam((c[0]!.uri as SipUri).params, "transport")).toBe("ws");
  },
  "valid-lf-only": (m) => {
    expect(m.callId()).toBe("lf-only");
  },
  "valid-leading-crlf": (m) => {
    expect(m.callId()).toBe("leading-crlf");
  },
  "valid-extra-datagram-bytes": (m) => {
    expect(text(m.body)).toBe("hello");
  },
  "valid-no-content-length": (m) => {
    expect(text(m.body)).toBe("the whole rest of the datagram");
  },
  "valid-dc-invite": (m) => {
    expect(text(m.body)).toContain("m=application 10001 UDP/DTLS/SCTP webrtc-datachannel");
    expect(m.body.byteLength).toBe(m.contentLength());
  },
  "valid-via-params": (m) => {
    const v = m.topVia();
    expect(v.port).toBe(5060);
    expect(getParam(v.params, "rport")).toBeNull();
    expect(getParam(v.params, "received")).toBe("192.0.2.101");
    expect(getParam(v.params, "maddr")).toBe("224.2.0.1");
    expect(getParam(v.params, "ttl")).toBe("16");
    expect(getParam(v.params, "x-unknown")).toBe("quoted;value");
    expect(m.maxForwards()).toBe(0);
  },
  "valid-sips-headers": (m) => {
    const u = (m as SipRequest).requestUri() as SipUri;
    expect(u).toMatchObject({ scheme: "sips", user: "alice", password: "secret", port: 5061 });
    const c = m.contact();
    expect(c !== "*" && (c[0]!.uri as SipUri).headers).toEqual([
      { name: "subject", value: "project%20x" },
      { name: "priority", value: "urgent" },
    ]);
  },
  "valid-unkscm": (m) => {
    expect(parseUri((m as SipRequest).uri)).toEqual({
      scheme: "nobodyknowsthisscheme",
      opaque: "totallyopaquecontent",
    });
  },
};

/** Every invalid fixture with its error code and how a receiver answers (status, or undefined: drop). */
const INVALID: Record<string, { code: string; answer: number | undefined }> = {
  "invalid-badvers": { code: "E_SIP_VERSION", answer: 505 },
  "invalid-mismatch01": { code: "E_SIP_CSEQ", answer: 400 },
  "invalid-clerr": { code: "E_SIP_CONTENT_LENGTH", answer: 400 },
  "invalid-ncl": { code: "E_SIP_CONTENT_LENGTH", answer: 400 },
  "invalid-mcl01": { code: "E_SIP_CONTENT_LENGTH", answer: 400 },
  "invalid-scalar02": { code: "E_SIP_CSEQ", answer: 400 },
  "invalid-maxfwd": { code: "E_SIP_MAX_FORWARDS", answer: 400 },
  "invalid-bigcode": { code: "E_SIP_STATUS", answer: undefined },
  "invalid-quotbal": { code: "E_SIP_NAME_ADDR", answer: 400 },
  "invalid-ltgtruri": { code: "E_SIP_URI", answer: 400 },
  "invalid-lwsruri": { code: "E_SIP_START_LINE", answer: 400 },
  "invalid-lwsstart": { code: "E_SIP_START_LINE", answer: 400 },
  "invalid-novia": { code: "E_SIP_MISSING_HEADER", answer: undefined },
  "invalid-nomaxfwd": { code: "E_SIP_MISSING_HEADER", answer: 400 },
  "invalid-nocallid": { code: "E_SIP_MISSING_HEADER", answer: undefined },
  "invalid-badviaport": { code: "E_SIP_VIA", answer: undefined },
  "invalid-badviaproto": { code: "E_SIP_VIA", answer: undefined },
  "invalid-badviattl": { code: "E_SIP_VIA", answer: undefined },
  "invalid-badrport": { code: "E_SIP_VIA", answer: undefined },
  "invalid-multito": { code: "E_SIP_HEADER", answer: 400 },
  "invalid-nocolon": { code: "E_SIP_HEADER", answer: 400 },
  "invalid-nonutf8": { code: "E_SIP_HEADER", answer: 400 },
  "invalid-badcallid": { code: "E_SIP_CALL_ID", answer: 400 },
  "invalid-regbadct": { code: "E_SIP_NAME_ADDR", answer: 400 },
  "invalid-badsecclient": { code: "E_SIP_SECURITY", answer: 400 },
  "invalid-badwarning": { code: "E_SIP_WARNING", answer: 400 },
  "invalid-badretry": { code: "E_SIP_RETRY_AFTER", answer: 400 },
  "invalid-badct": { code: "E_SIP_CONTENT_TYPE", answer: 400 },
  "invalid-badexpires": { code: "E_SIP_EXPIRES", answer: 400 },
  "invalid-badrequire": { code: "E_SIP_TOKEN_LIST", answer: 400 },
  "invalid-badmethod": { code: "E_SIP_METHOD", answer: undefined },
  "invalid-empty": { code: "E_SIP_EMPTY", answer: undefined },
  "invalid-badhost": { code: "E_SIP_URI", answer: 400 },
  "invalid-noblank": { code: "E_SIP_HEADER", answer: 400 },
  "invalid-badipv6": { code: "E_SIP_URI", answer: 400 },
  "invalid-badroute": { code: "E_SIP_NAME_ADDR", answer: 400 },
  "invalid-badcontactq": { code: "E_SIP_NAME_ADDR", answer: 400 },
  "invalid-continuation-first": { code: "E_SIP_HEADER", answer: 400 },
  "invalid-badtag": { code: "E_SIP_NAME_ADDR", answer: 400 },
  "invalid-response-novia": { code: "E_SIP_MISSING_HEADER", answer: undefined },
};

describe("fixture inventory", () => {
  it("every fixture file has an expectation and vice versa", () => {
    const files = readdirSync(DIR)
      .filter((f) => f.endsWith(".sip"))
      .map((f) => f.slice(0, -4))
      .sort();
    expect(files).toEqual([...Object.keys(VALID), ...Object.keys(INVALID)].sort());
    expect(Object.keys(VALID).length).toBeGreaterThanOrEqual(20);
    expect(Object.keys(INVALID).length).toBeGreaterThanOrEqual(20);
  });
  it("fixtures use CRLF line ends (except the deliberate LF-only one)", () => {
    for (const name of [...Object.keys(VALID), ...Object.keys(INVALID)]) {
      if (name === "valid-lf-only" || name === "invalid-empty") continue;
      const b = fixture(name);
      const head = text(b.subarray(0, Math.min(b.length, 200)));
      expect(head.includes("\r\n"), name).toBe(true);
    }
  });
});

describe("valid torture messages", () => {
  for (const [name, check] of Object.entries(VALID)) {
    it(name, () => {
      const m = parse(name);
      check(m);
      // round trip: serialise → parse keeps start line, rows (values), typed views and body bytes
      const again = parseMessage(serializeMessage(m));
      expect(again.kind).toBe(m.kind);
      const isCl = (n: string) => n.toLowerCase() === "content-length" || n.toLowerCase() === "l";
      const rows = (x: SipMessage) => x.headers.filter((h) => !isCl(h.name));
      expect(rows(again).map((h) => h.value)).toEqual(rows(m).map((h) => h.value));
      expect(rows(again).map((h) => h.name)).toEqual(rows(m).map((h) => canonicalHeaderName(h.name)));
      expect(again.getHeaders("Content-Length")).toEqual([String(m.body.byteLength)]);
      expect(Buffer.from(again.body).equals(Buffer.from(m.body))).toBe(true);
      expect(again.vias()).toEqual(m.vias());
      expect(again.from()).toEqual(m.from());
      expect(again.to()).toEqual(m.to());
      expect(again.cseq()).toEqual(m.cseq());
      // and serialising twice is stable
      expect(text(serializeMessage(again))).toBe(text(serializeMessage(m)));
    });
  }
});

describe("invalid torture messages", () => {
  for (const [name, exp] of Object.entries(INVALID)) {
    it(`${name} → ${exp.code}, ${exp.answer ?? "dropped"}`, () => {
      let err: unknown;
      try {
        parse(name);
      } catch (e) {
        err = e;
      }
      expect(err).toBeInstanceOf(SipParseError);
      expect(isImsdcError(err, exp.code)).toBe(true);
      const pe = err as SipParseError;
      const res = errorResponseFor(pe.partial, pe, "test.invalid");
      expect(res?.status).toBe(exp.answer);
      if (res) {
        // the answer parses, copies Via/From/Call-ID/CSeq and names the fault in a Warning
        const back = parseMessage(res.toBytes(), { validate: "none" });
        const w = back.getHeader("Warning") ?? "";
        expect(w).toMatch(new RegExp(`^399 test\\.invalid "${exp.code}: `));
        expect(back.getHeaders("Via")).toEqual(pe.partial?.headers.filter((h) => h.name === "Via").map((h) => h.value));
      }
    });
  }

  it("the brief's example: CSeq method mismatch gets 400 with the Warning naming the fault", () => {
    const pe = (() => {
      try {
        parse("invalid-mismatch01");
      } catch (e) {
        return e as SipParseError;
      }
      throw new Error("no error");
    })();
    const res = errorResponseFor(pe.partial, pe, "pcscf.test");
    expect(res?.getHeader("Warning")).toBe('399 pcscf.test "E_SIP_CSEQ: CSeq method does not match request method"');
    expect(res?.toTag()).toMatch(/^[0-9a-f]+$/);
  });

  it("maxMessageSize gives E_SIP_TOO_LARGE", () => {
    expect(() => parseMessage(fixture("valid-longreq"), { maxMessageSize: 1000 })).toThrow(
      expect.objectContaining({ code: "E_SIP_TOO_LARGE" }),
    );
  });

  it("stream mode requires Content-Length", () => {
    expect(() => parseMessage(fixture("valid-no-content-length"), { datagram: false })).toThrow(
      expect.objectContaining({ code: "E_SIP_CONTENT_LENGTH" }),
    );
  });

  it("readPartial reads rows of a truncated head", () => {
    const b = fixture("valid-dc-invite").subarray(0, 120);
    const p = readPartial(b);
    expect(p.kind).toBe("request");
    expect(p.method).toBe("INVITE");
    expect(p.headers[0]?.name).toBe("Via");
  });
});

describe("URIs", () => {
  const ok: [string, Partial<SipUri> | Record<string, unknown>][] = [
    ["sip:alice@atlanta.com", { user: "alice", host: "atlanta.com" }],
    ["sip:alice:secretword@atlanta.com;transport=tcp", { password: "secretword" }],
    ["sips:alice@atlanta.com?subject=project%20x&priority=urgent", { scheme: "sips" }],
    ["sip:+1-212-555-1212:1234@gateway.com;user=phone", { user: "+1-212-555-1212", password: "1234" }],
    ["sip:alice@192.0.2.4", { host: "192.0.2.4" }],
    ["sip:atlanta.com;method=REGISTER?to=alice%40atlanta.com", { host: "atlanta.com" }],
    ["sip:alice;day=tuesday@atlanta.com", { user: "alice;day=tuesday" }],
    ["sip:[2001:db8::1]:5061;transport=tls", { host: "[2001:db8::1]", port: 5061 }],
    ["sip:[::1]", { host: "[::1]" }],
    ["SIP:Alice@Example.COM:0", { scheme: "sip", port: 0 }],
    ["sip:127.0.0.1:5060;lr", { host: "127.0.0.1" }],
  ];
  for (const [s, exp] of ok) {
    it(`parses ${s}`, () => {
      const u = parseUri(s);
      expect(u).toMatchObject(exp);
      expect(parseUri(formatUri(u))).toEqual(u);
    });
  }
  const bad = [
    "sip:",
    "sip:@host.com",
    "sip:user@",
    "sip:user@host:99999",
    "sip:user@host:port",
    "sip:user@[2001:db8::1",
    "sip:user@[2001:db8:::1]",
    "sip:user@host;par am",
    "sip:us er@host",
    "sip:user@host?x",
    "sip:user@host.com-",
    "tel:12ab",
    "tel:1234",
    "1sip:user@host",
    "sip:user@300.1.1.1.1",
  ];
  for (const s of bad) {
    it(`rejects ${JSON.stringify(s)} with E_SIP_URI`, () => {
      expect(() => parseUri(s)).toThrow(expect.objectContaining({ code: "E_SIP_URI" }));
    });
  }
  it("RFC 3261 §19.1.4 comparison", () => {
    const eq = (a: string, b: string) => sipUriEquals(parseSipUri(a), parseSipUri(b));
    expect(eq("sip:%61lice@atlanta.com;transport=TCP", "sip:alice@AtLanTa.CoM;Transport=tcp")).toBe(true);
    expect(eq("sip:carol@chicago.com", "sip:carol@chicago.com;newparam=5")).toBe(true);
    expect(eq("sip:alice@atlanta.com", "sip:ALICE@atlanta.com")).toBe(false);
    expect(eq("sip:bob@biloxi.com", "sip:bob@biloxi.com:5060")).toBe(false);
    expect(eq("sip:bob@biloxi.com", "sip:bob@biloxi.com;transport=udp")).toBe(false);
    expect(eq("sip:carol@chicago.com;security=on", "sip:carol@chicago.com;security=off")).toBe(false);
  });
  it("isSipUri discriminates", () => {
    expect(isSipUri(parseUri("tel:+123"))).toBe(false);
    expect(isSipUri(parseUri("sips:a@b.com"))).toBe(true);
  });
});

describe("header codecs", () => {
  it("name-addr forms", () => {
    expect(parseNameAddr("sip:a@b.com;tag=x")).toMatchObject({ params: [{ name: "tag", value: "x" }] });
    expect(parseNameAddr("<sip:a@b.com;lr>;tag=x")).toMatchObject({
      uri: { params: [{ name: "lr", value: null }] },
      params: [{ name: "tag", value: "x" }],
    });
    expect(parseNameAddr('"A \\"B\\"" <sip:a@b.com>').displayName).toBe('A "B"');
    expect(formatNameAddr(parseNameAddr("Bob  Smith <sip:b@c.com>;x"))).toBe('"Bob Smith" <sip:b@c.com>;x');
    expect(() => parseNameAddr("<sip:a@b.com")).toThrow(expect.objectContaining({ code: "E_SIP_NAME_ADDR" }));
    expect(() => parseNameAddr('"x" sip:a@b.com')).toThrow(expect.objectContaining({ code: "E_SIP_NAME_ADDR" }));
    expect(() => parseNameAddr("a@b <sip:a@b.com>")).toThrow(expect.objectContaining({ code: "E_SIP_NAME_ADDR" }));
  });
  it("Contact with * and feature tags", () => {
    expect(parseContact(" * ")).toBe("*");
    const c = parseContact('<sip:a@b.com>;+sip.app-subtype="webrtc-datachannel";expires=60, <sip:c@d.com>;q=0.7');
    expect(c !== "*" && c.length).toBe(2);
    expect(c !== "*" && getParam(c[0]!.params, "+sip.app-subtype")).toBe("webrtc-datachannel");
  });
  it("Via formats canonically and round-trips", () => {
    const v = parseVia("SIP / 2.0 / udp 10.0.0.1 ; rport ; branch = z9hG4bKabc")[0]!;
    expect(formatVia(v)).toBe("SIP/2.0/UDP 10.0.0.1;rport;branch=z9hG4bKabc");
    expect(() => parseVia("SIP/3.0/UDP host")).toThrow(expect.objectContaining({ code: "E_SIP_VIA" }));
    expect(() => parseVia("SIP/2.0/UDP host;branch")).toThrow(expect.objectContaining({ code: "E_SIP_VIA" }));
    expect(() => parseVia("SIP/2.0/UDP host;received=host.example.com")).toThrow(
      expect.objectContaining({ code: "E_SIP_VIA" }),
    );
  });
  it("Security-Client keeps mediasec and unknown params", () => {
    const s = parseSecurityMechanisms("msrp-tls;mediasec, bfcp-tls;mediasec;x=1, digest;d-alg=md5;q=0.1");
    expect(s.map((m) => m.params.map((p) => p.name))).toEqual([["mediasec"], ["mediasec", "x"], ["d-alg", "q"]]);
    expect(() => parseSecurityMechanisms("tls;q=5")).toThrow(expect.objectContaining({ code: "E_SIP_SECURITY" }));
  });
  it("compact forms map both ways", () => {
    const pairs: [string, string][] = [
      ["i", "Call-ID"],
      ["m", "Contact"],
      ["e", "Content-Encoding"],
      ["l", "Content-Length"],
      ["c", "Content-Type"],
      ["f", "From"],
      ["s", "Subject"],
      ["k", "Supported"],
      ["t", "To"],
      ["v", "Via"],
      ["o", "Event"],
      ["r", "Refer-To"],
      ["u", "Allow-Events"],
      ["x", "Session-Expires"],
      ["b", "Referred-By"],
      ["y", "Identity"],
      ["a", "Accept-Contact"],
      ["j", "Reject-Contact"],
      ["d", "Request-Disposition"],
      ["n", "Identity-Info"],
    ];
    for (const [c, l] of pairs) {
      expect(canonicalHeaderName(c)).toBe(l);
      expect(canonicalHeaderName(c.toUpperCase())).toBe(l);
      expect(compactHeaderName(l)).toBe(c);
      expect(compactHeaderName(l.toLowerCase())).toBe(c);
    }
    expect(canonicalHeaderName("x-unknown-Header")).toBe("x-unknown-Header");
  });
});

describe("message building", () => {
  it("createRequest + createResponse (RFC 3261 §8.1.1, §8.2.6)", () => {
    const req = createRequest({
      method: "OPTIONS",
      uri: "sip:bob@example.com",
      from: "<sip:alice@example.com>;tag=1",
      to: "<sip:bob@example.com>",
      callId: "abc",
      cseq: 7,
      via: ["SIP/2.0/UDP 127.0.0.1:5060;branch=z9hG4bK1", "SIP/2.0/UDP 127.0.0.2:5060;branch=z9hG4bK2"],
      headers: [{ name: "Timestamp", value: "54" }],
    });
    const parsed = parseMessage(req.toBytes());
    expect(parsed.kind).toBe("request");
    const res = createResponse(req, 100, undefined, { toTag: "t" });
    expect(res.toTag()).toBeUndefined(); // no tag on 100
    expect(res.getHeader("Timestamp")).toBe("54"); // §8.2.6.1
    const ok = createResponse(req, 200, undefined, { toTag: "t" });
    expect(ok.toTag()).toBe("t");
    expect(ok.getHeaders("Via")).toHaveLength(2);
    expect(ok.reason).toBe("OK");
    expect(parseMessage(ok.toBytes()).kind).toBe("response");
  });
  it("body bytes are never re-encoded and Content-Length is byte length", () => {
    const body = new Uint8Array([0xe2, 0x82, 0xac, 0x00, 0xff]);
    const req = new SipRequest("MESSAGE", "sip:a@b.com", [
      { name: "Via", value: "SIP/2.0/UDP h.com;branch=z9hG4bKx" },
      { name: "Max-Forwards", value: "70" },
      { name: "To", value: "<sip:a@b.com>" },
      { name: "From", value: "<sip:c@d.com>;tag=1" },
      { name: "Call-ID", value: "x" },
      { name: "CSeq", value: "1 MESSAGE" },
      { name: "Content-Length", value: "999" },
    ]);
    req.setBody(body, "application/octet-stream");
    const bytes = req.toBytes();
    expect(text(bytes)).toContain("Content-Length: 5\r\n");
    const back = parseMessage(bytes);
    expect(Array.from(back.body)).toEqual(Array.from(body));
  });
  it("setTopVia rewrites only the first value of a combined row", () => {
    const m = parse("valid-splitmulti");
    const v = m.topVia();
    m.setTopVia({ ...v, params: [...v.params, { name: "received", value: "192.0.2.9" }] });
    expect(m.getHeaders("Via")[0]).toBe(
      "SIP/2.0/UDP pc33.atlanta.example.com;branch=z9hG4bKnashds8;received=192.0.2.9, SIP/2.0/UDP bigbox3.site3.atlanta.example.com;branch=z9hG4bK77ef4c2312983.1",
    );
    expect(m.vias()).toHaveLength(3);
    expect(m.removeFirstValue("Via")).toContain("pc33");
    expect(m.vias()).toHaveLength(2);
  });
  it("parseMessageText convenience", () => {
    expect(
      parseMessageText(
        "SIP/2.0 200 OK\r\nVia: SIP/2.0/UDP h.com;branch=z9hG4bKx\r\nTo: <sip:a@b.com>;tag=1\r\nFrom: <sip:c@d.com>;tag=2\r\nCall-ID: x\r\nCSeq: 1 OPTIONS\r\n\r\n",
      ).kind,
    ).toBe("response");
  });
});

describe("regression: fast-check seed -1256120395", () => {
  it("a Reason-Phrase with U+2028/U+2029 (UTF8-NONASCII, RFC 3261 §25.1) parses", () => {
    for (const reason of ["!\u2028!", "a\u2029"]) {
      const text = `SIP/2.0 100 ${reason}\r\nVia: SIP/2.0/UDP 0.0.0.0;branch=z9hG4bK-\r\nMax-Forwards: 0\r\nFrom: <urn:service:sos>\r\nTo: <urn:service:sos>\r\nCall-ID: -\r\nCSeq: 0 INVITE\r\nContent-Length: 0\r\n\r\n`;
      const m = parseMessage(new TextEncoder().encode(text));
      expect(m.kind === "response" && m.reason).toBe(reason);
    }
  });
});

describe('validate: "proxy" (RFC 3261 §16.3 item 1: what a proxy reads MUST be well-formed, the rest is ignored)', () => {
  const req = (method: string, row: string) =>
    `${method} sip:b@x SIP/2.0\r\nVia: SIP/2.0/UDP h;branch=z9hG4bK1\r\nMax-Forwards: 70\r\nFrom: <sip:a@x>;tag=1\r\nTo: <sip:b@x>\r\nCall-ID: c\r\nCSeq: 1 ${method}\r\n${row}\r\nContent-Length: 0\r\n\r\n`;
  const res = (status: number, method: string, row: string) =>
    `SIP/2.0 ${status} X\r\nVia: SIP/2.0/UDP h;branch=z9hG4bK1\r\nFrom: <sip:a@x>;tag=1\r\nTo: <sip:b@x>;tag=2\r\nCall-ID: c\r\nCSeq: 1 ${method}\r\n${row}\r\nContent-Length: 0\r\n\r\n`;
  const code = (text: string, validate: "full" | "proxy") => {
    try {
      parseMessageText(text, { validate });
      return "ok";
    } catch (e) {
      return e instanceof SipParseError ? e.code : "untyped";
    }
  };
  // [message, full, proxy]
  const table: [string, string, string][] = [
    [req("INVITE", "Supported: @"), "E_SIP_TOKEN_LIST", "ok"],
    [req("INVITE", "Expires: x"), "E_SIP_EXPIRES", "ok"],
    [req("OPTIONS", "Expires: 1\r\nExpires: 2"), "E_SIP_HEADER", "ok"],
    [req("MESSAGE", "Contact: <sip:a"), "E_SIP_NAME_ADDR", "ok"],
    [req("MESSAGE", "Record-Route: <sip:a"), "E_SIP_NAME_ADDR", "ok"],
    [req("INVITE", "Contact: <sip:a"), "E_SIP_NAME_ADDR", "E_SIP_NAME_ADDR"],
    [req("INVITE", "Record-Route: <sip:a"), "E_SIP_NAME_ADDR", "E_SIP_NAME_ADDR"],
    [req("MESSAGE", "Route: <sip:a"), "E_SIP_NAME_ADDR", "E_SIP_NAME_ADDR"],
    [req("MESSAGE", "Content-Type: text"), "E_SIP_CONTENT_TYPE", "E_SIP_CONTENT_TYPE"],
    [req("MESSAGE", "Content-Type: text/plain\r\nContent-Type: text/plain"), "E_SIP_HEADER", "E_SIP_HEADER"],
    [req("OPTIONS", "Proxy-Require: @"), "E_SIP_TOKEN_LIST", "E_SIP_TOKEN_LIST"],
    [req("REGISTER", "Expires: x"), "E_SIP_EXPIRES", "E_SIP_EXPIRES"],
    [res(200, "REGISTER", "Service-Route: <sip:a"), "E_SIP_NAME_ADDR", "E_SIP_NAME_ADDR"],
    [res(180, "INVITE", "Contact: <sip:a"), "E_SIP_NAME_ADDR", "ok"],
    [res(200, "INVITE", "Contact: <sip:a"), "E_SIP_NAME_ADDR", "E_SIP_NAME_ADDR"],
    [res(200, "INVITE", "Warning: junk"), "E_SIP_WARNING", "ok"],
    [req("INVITE", "Max-Forwards: x"), "E_SIP_HEADER", "E_SIP_HEADER"],
  ];
  it.each(table)("%j: full %s, proxy %s", (text, full, proxy) => {
    expect([code(text, "full"), code(text, "proxy")]).toEqual([full, proxy]);
  });
});
