/**
 * The P-CSCF validates what it reads (RFC 3261 §16.3 item 1): a malformed header it does not read is forwarded byte
 * for byte; a malformed header it reads gets 400 with a Warning naming the code (docs/sip.md). Raw UDP peers on
 * 127.0.0.1 keep the bytes as they arrived (the forwarded message would not pass a full parse).
 */
import { afterEach, describe, expect, it } from "vitest";
import { Pcscf } from "../../../src/ims/pcscf/index.ts";
import { parseMessage, SipParseError, type SipRequest } from "../../../src/sip/index.ts";
import { type UdpPeer, udpPeer } from "./udpPeer.ts";

const TIMERS = { T1: 50, T2: 200, T4: 200, D: 200 };

type RawPeer = UdpPeer<string>;

/** keeps the bytes as they arrived and sends them as written */
const rawPeer = (): Promise<RawPeer> => udpPeer((b) => b.toString("latin1"), { crlf: false });

const closers: (() => Promise<void>)[] = [];
afterEach(async () => {
  for (const c of closers.splice(0).reverse()) await c().catch(() => undefined);
});

async function setup() {
  const uac = await rawPeer();
  const uas = await rawPeer();
  const p = new Pcscf({
    name: "pcscf-lazy",
    access: { udp: 0 },
    core: { udp: 0 },
    coreNextHop: `sip:127.0.0.1:${uas.port}`,
    requireRegistration: false,
    timers: TIMERS,
  });
  await p.start();
  closers.push(
    () => uac.close(),
    () => uas.close(),
    () => p.close(),
  );
  return { uac, uas, access: p.address("access", "UDP")?.port ?? 0, core: p.address("core", "UDP")?.port ?? 0 };
}

function request(method: string, uacPort: number, callId: string, extra: string[]): string {
  return [
    `${method} sip:bob@ims.example.com SIP/2.0`,
    `Via: SIP/2.0/UDP 127.0.0.1:${uacPort};branch=z9hG4bK-${callId};rport`,
    "Max-Forwards: 70",
    "From: <sip:alice@ims.example.com>;tag=a1",
    "To: <sip:bob@ims.example.com>",
    `Call-ID: ${callId}@lazy`,
    `CSeq: 1 ${method}`,
    ...extra,
    "Content-Length: 0",
    "",
    "",
  ].join("\r\n");
}

const hasCallId = (id: string) => (t: string) => t.includes(`\r\nCall-ID: ${id}@lazy\r\n`);

/** Headers the proxy never reads on these methods: forwarded unchanged (RFC 3261 §16.3 item 1, SHOULD be ignored). */
const FORWARDED: { name: string; method: string; line: string }[] = [
  { name: "Supported not a token list", method: "INVITE", line: "Supported: @@@" },
  { name: "Allow with a space in a token", method: "INVITE", line: "Allow: IN VITE" },
  { name: "Expires not a number", method: "INVITE", line: "Expires: abc" },
  { name: "Expires twice (single-valued)", method: "OPTIONS", line: "Expires: 1\r\nExpires: 2" },
  { name: "Warning without code", method: "MESSAGE", line: "Warning: junk" },
  { name: "Retry-After not a number", method: "OPTIONS", line: "Retry-After: soon" },
  { name: "Unsupported not a token", method: "INVITE", line: "Unsupported: @" },
  { name: "Security-Server empty mechanism", method: "MESSAGE", line: "Security-Server: ;;" },
  { name: "Path unterminated name-addr", method: "MESSAGE", line: "Path: <sip:" },
  { name: "Contact of a MESSAGE unterminated", method: "MESSAGE", line: "Contact: <sip:alice" },
  { name: "Record-Route of a MESSAGE unterminated", method: "MESSAGE", line: "Record-Route: <sip:" },
];

/** Headers the proxy reads: 400 with `Warning: 399 <agent> "E_CODE: …"` (docs/sip.md), nothing downstream. */
const REFUSED: { name: string; method: string; line: string; code: string }[] = [
  { name: "Route unterminated", method: "MESSAGE", line: "Route: <sip:", code: "E_SIP_NAME_ADDR" },
  { name: "Record-Route of an INVITE", method: "INVITE", line: "Record-Route: <sip:", code: "E_SIP_NAME_ADDR" },
  { name: "Content-Type without subtype", method: "MESSAGE", line: "Content-Type: text", code: "E_SIP_CONTENT_TYPE" },
  { name: "Proxy-Require not a token", method: "OPTIONS", line: "Proxy-Require: @", code: "E_SIP_TOKEN_LIST" },
  { name: "Require not a token", method: "INVITE", line: "Require: @", code: "E_SIP_TOKEN_LIST" },
  { name: "Contact of an INVITE", method: "INVITE", line: "Contact: <sip:alice", code: "E_SIP_NAME_ADDR" },
  { name: "Expires of a REGISTER", method: "REGISTER", line: "Expires: abc", code: "E_SIP_EXPIRES" },
  { name: "Supported of a REGISTER", method: "REGISTER", line: "Supported: @@@", code: "E_SIP_TOKEN_LIST" },
];

describe("P-CSCF: what the proxy reads is validated, the rest is forwarded unchanged (RFC 3261 §16.3 item 1)", () => {
  it.each(FORWARDED)("forwarded byte for byte: $name ($method)", async ({ method, line }) => {
    const { uac, uas, access } = await setup();
    const id = `fwd-${method}-${line.length}`;
    uac.send(request(method, uac.port, id, [line]), access);
    const fwd = await uas.next(hasCallId(id));
    expect(fwd.startsWith(`${method} sip:bob@ims.example.com SIP/2.0\r\n`)).toBe(true);
    expect(fwd).toContain(`\r\n${line}\r\n`);
    // the header stays unread, and reading it gives the typed error, never a crash
    const seen = parseMessage(Buffer.from(fwd, "latin1"), { validate: "proxy" });
    expect(() => parseMessage(Buffer.from(fwd, "latin1"), { validate: "full" })).toThrow(SipParseError);
    expect(seen.kind).toBe("request");
  });

  it.each(REFUSED)("400 with a Warning: $name ($method)", async ({ method, line, code }) => {
    const { uac, uas, access } = await setup();
    const id = `bad-${method}-${line.length}`;
    uac.send(request(method, uac.port, id, [line]), access);
    const res = await uac.next(hasCallId(id));
    expect(res.startsWith("SIP/2.0 400 ")).toBe(true);
    expect(res).toMatch(new RegExp(`\\r\\nWarning: 399 \\S+ "${code}: `));
    await expect(uas.next(hasCallId(id), 300)).rejects.toThrow("no matching datagram");
  });

  it("a 180 with a malformed Contact and Warning goes upstream unchanged; the INVITE's 200 keeps its Contact", async () => {
    const { uac, uas, access, core } = await setup();
    uac.send(request("INVITE", uac.port, "ring", [`Contact: <sip:alice@127.0.0.1:${uac.port}>`]), access);
    const inv = await uas.next(hasCallId("ring"));
    const req = parseMessage(Buffer.from(inv, "latin1"), { datagram: true }) as SipRequest;
    const copy = ["via", "from", "call-id", "cseq", "record-route"];
    const rows = req.headers.filter((h) => copy.includes(h.name.toLowerCase())).map((h) => `${h.name}: ${h.value}`);
    const res = (status: string, extra: string[]) =>
      [`SIP/2.0 ${status}`, ...rows, `To: ${req.getHeader("To")};tag=b1`, ...extra, "Content-Length: 0", "", ""].join(
        "\r\n",
      );
    uas.send(res("180 Ringing", ["Contact: <sip:bob", "Warning: junk"]), core);
    const ringing = await uac.next((t) => t.startsWith("SIP/2.0 180"));
    expect(ringing).toContain("\r\nContact: <sip:bob\r\nWarning: junk\r\n");
    // a 2xx to an INVITE: the proxy reads its Contact (the remote target of a dialog it may release, RFC 3261 §12.1.1)
    uas.send(res("200 OK", ["Contact: <sip:bob"]), core);
    await expect(uac.next((t) => t.startsWith("SIP/2.0 200"), 300)).rejects.toThrow("no matching datagram");
  });

  it("a view of a header left unread throws the typed error with its stable code", () => {
    const text = request("INVITE", 5, "view", ["Supported: @@@", "Expires: abc", "Path: <sip:"]);
    const m = parseMessage(Buffer.from(text, "latin1"), { validate: "proxy" });
    const code = (f: () => unknown) => {
      try {
        f();
      } catch (e) {
        return e instanceof SipParseError ? e.code : "untyped";
      }
      return "none";
    };
    expect([code(() => m.supported()), code(() => m.expires()), code(() => m.paths())]).toEqual([
      "E_SIP_TOKEN_LIST",
      "E_SIP_EXPIRES",
      "E_SIP_NAME_ADDR",
    ]);
  });
});
