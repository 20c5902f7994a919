/**
 * BFCP binary codec (RFC 8855 §5): COMMON-HEADER, attributes as TLVs padded to 4 octets (plain, grouped and
 * unknown ones kept for round trips), primitive and attribute numbers, a stream framer for TCP/TLS with typed
 * errors. Pure codec: no sockets here (see bfcpClient.ts, bfcpFloorServer.ts).
 */
import { ByteQueue } from "./bytes.ts";
import { E2aeError, type E2aeErrorCode } from "./errors.ts";

/** RFC 8855 §5.1 Table 1: primitives. */
export const BfcpPrimitive = {
  FloorRequest: 1,
  FloorRelease: 2,
  FloorRequestQuery: 3,
  FloorRequestStatus: 4,
  UserQuery: 5,
  UserStatus: 6,
  FloorQuery: 7,
  FloorStatus: 8,
  ChairAction: 9,
  ChairActionAck: 10,
  Hello: 11,
  HelloAck: 12,
  Error: 13,
  FloorRequestStatusAck: 14,
  ErrorAck: 15,
  FloorStatusAck: 16,
  Goodbye: 17,
  GoodbyeAck: 18,
} as const;
export type BfcpPrimitiveName = keyof typeof BfcpPrimitive;

export function primitiveName(n: number): BfcpPrimitiveName | undefined {
  return (Object.keys(BfcpPrimitive) as BfcpPrimitiveName[]).find((k) => BfcpPrimitive[k] === n);
}

/** RFC 8855 §5.2 Table 2: attribute types. */
export const BfcpAttr = {
  "BENEFICIARY-ID": 1,
  "FLOOR-ID": 2,
  "FLOOR-REQUEST-ID": 3,
  PRIORITY: 4,
  "REQUEST-STATUS": 5,
  "ERROR-CODE": 6,
  "ERROR-INFO": 7,
  "PARTICIPANT-PROVIDED-INFO": 8,
  "STATUS-INFO": 9,
  "SUPPORTED-ATTRIBUTES": 10,
  "SUPPORTED-PRIMITIVES": 11,
  "USER-DISPLAY-NAME": 12,
  "USER-URI": 13,
  "BENEFICIARY-INFORMATION": 14,
  "FLOOR-REQUEST-INFORMATION": 15,
  "REQUESTED-BY-INFORMATION": 16,
  "FLOOR-REQUEST-STATUS": 17,
  "OVERALL-REQUEST-STATUS": 18,
} as const;
export type BfcpAttrName = keyof typeof BfcpAttr;

/** RFC 8855 §5.2.5 Table 3: Request Status values. */
export const RequestStatus = {
  Pending: 1,
  Accepted: 2,
  Granted: 3,
  Denied: 4,
  Cancelled: 5,
  Released: 6,
  Revoked: 7,
} as const;

/** RFC 8855 §5.2.6 Table 5: Error Codes. */
export const BfcpErrorCode = {
  ConferenceDoesNotExist: 1,
  UserDoesNotExist: 2,
  UnknownPrimitive: 3,
  UnknownMandatoryAttribute: 4,
  UnauthorizedOperation: 5,
  InvalidFloorId: 6,
  FloorRequestIdDoesNotExist: 7,
  MaxFloorRequestsReached: 8,
  UseTls: 9,
  UnableToParseMessage: 10,
  UseDtls: 11,
  UnsupportedVersion: 12,
  IncorrectMessageLength: 13,
  GenericError: 14,
} as const;

type U16Name = "BENEFICIARY-ID" | "FLOOR-ID" | "FLOOR-REQUEST-ID";
type TextName = "ERROR-INFO" | "PARTICIPANT-PROVIDED-INFO" | "STATUS-INFO" | "USER-DISPLAY-NAME" | "USER-URI";
type GroupName =
  | "BENEFICIARY-INFORMATION"
  | "FLOOR-REQUEST-INFORMATION"
  | "REQUESTED-BY-INFORMATION"
  | "FLOOR-REQUEST-STATUS"
  | "OVERALL-REQUEST-STATUS";

/** One attribute. `mandatory` is the M bit (RFC 8855 §5.2). */
export type BfcpAttribute =
  | { type: U16Name; mandatory: boolean; value: number }
  | { type: "PRIORITY"; mandatory: boolean; priority: number }
  | { type: "REQUEST-STATUS"; mandatory: boolean; status: number; queuePosition: number }
  | { type: "ERROR-CODE"; mandatory: boolean; code: number; details: Uint8Array }
  | { type: TextName; mandatory: boolean; text: string }
  | { type: "SUPPORTED-ATTRIBUTES"; mandatory: boolean; attributes: number[] }
  | { type: "SUPPORTED-PRIMITIVES"; mandatory: boolean; primitives: number[] }
  /** `id`: Beneficiary ID, Floor Request ID, Requested-by ID or Floor ID, per the grouped attribute (§5.2.14-18) */
  | { type: GroupName; mandatory: boolean; id: number; attributes: BfcpAttribute[] }
  | { type: "UNKNOWN"; code: number; mandatory: boolean; contents: Uint8Array };

export interface BfcpMessage {
  /** RFC 8855 §5.1: 1 = reliable transport (TCP/TLS), 2 = unreliable (UDP/DTLS). */
  version: number;
  /** R: Transaction Responder flag (meaningful on unreliable transports, RFC 8855 §5.1). */
  responder: boolean;
  primitive: number;
  conferenceId: number;
  transactionId: number;
  userId: number;
  attributes: BfcpAttribute[];
}

const U16_TYPES = new Set<number>([1, 2, 3]);
const TEXT_TYPES = new Set<number>([7, 8, 9, 12, 13]);
const GROUP_TYPES = new Set<number>([14, 15, 16, 17, 18]);
const NAME_OF = new Map<number, BfcpAttrName>(
  (Object.keys(BfcpAttr) as BfcpAttrName[]).map((k) => [BfcpAttr[k], k] as const),
);
export const BFCP_HEADER_BYTES = 12;
/** RFC 8855 §5.1: Payload Length is 16 bits of 4-octet units. */
export const BFCP_MAX_PAYLOAD_BYTES = 0xffff * 4;
const MAX_DEPTH = 4;

function fail(code: E2aeErrorCode, message: string): E2aeError {
  return new E2aeError(code, message);
}

const utf8 = new TextEncoder();
const utf8dec = new TextDecoder("utf-8");

function u16(n: number, what: string): number {
  if (!Number.isInteger(n) || n < 0 || n > 0xffff) throw fail("E_BFCP_ATTRIBUTE", `${what} ${n} is not 16-bit`);
  return n;
}

function tlv(type: number, mandatory: boolean, contents: Uint8Array): Buffer {
  const len = 2 + contents.length;
  // RFC 8855 §5.2: Length (8 bits) counts the attribute in octets without padding
  if (len > 255) throw fail("E_BFCP_ATTRIBUTE", `attribute ${NAME_OF.get(type) ?? type} is ${len} octets (max 255)`);
  // RFC 8855 §5.2: attributes are padded to a 32-bit boundary with zero octets
  const out = Buffer.alloc(Math.ceil(len / 4) * 4);
  out[0] = ((type & 0x7f) << 1) | (mandatory ? 1 : 0);
  out[1] = len;
  out.set(contents, 2);
  return out;
}

/** Encodes one attribute (TLV with padding). Throws E2aeError(E_BFCP_ATTRIBUTE) on values that do not fit. */
export function encodeAttribute(a: BfcpAttribute, depth = 0): Buffer {
  switch (a.type) {
    case "BENEFICIARY-ID":
    case "FLOOR-ID":
    case "FLOOR-REQUEST-ID": {
      // RFC 8855 §5.2.1-3: Unsigned16 value
      const b = Buffer.alloc(2);
      b.writeUInt16BE(u16(a.value, a.type));
      return tlv(BfcpAttr[a.type], a.mandatory, b);
    }
    case "PRIORITY": {
      // RFC 8855 §5.2.4: Prio (3 bits) | Reserved (13 bits); values 0 (lowest) .. 4 (highest)
      if (!Number.isInteger(a.priority) || a.priority < 0 || a.priority > 7)
        throw fail("E_BFCP_ATTRIBUTE", `priority ${a.priority} is not 3 bits`);
      return tlv(BfcpAttr.PRIORITY, a.mandatory, Buffer.from([a.priority << 5, 0]));
    }
    case "REQUEST-STATUS":
      // RFC 8855 §5.2.5: Request Status (8 bits) | Queue Position (8 bits)
      if (![a.status, a.queuePosition].every((n) => Number.isInteger(n) && n >= 0 && n <= 255))
        throw fail("E_BFCP_ATTRIBUTE", "REQUEST-STATUS fields are 8-bit");
      return tlv(BfcpAttr["REQUEST-STATUS"], a.mandatory, Buffer.from([a.status, a.queuePosition]));
    case "ERROR-CODE":
      // RFC 8855 §5.2.6: Error Code (8 bits) | Error Specific Details
      if (!Number.isInteger(a.code) || a.code < 0 || a.code > 255)
        throw fail("E_BFCP_ATTRIBUTE", "ERROR-CODE is 8-bit");
      return tlv(BfcpAttr["ERROR-CODE"], a.mandatory, Buffer.concat([Buffer.from([a.code]), a.details]));
    case "ERROR-INFO":
    case "PARTICIPANT-PROVIDED-INFO":
    case "STATUS-INFO":
    case "USER-DISPLAY-NAME":
    case "USER-URI":
      // RFC 8855 §5.2.7-9, §5.2.12-13: OctetString, UTF-8 text
      return tlv(BfcpAttr[a.type], a.mandatory, utf8.encode(a.text));
    case "SUPPORTED-ATTRIBUTES": {
      // RFC 8855 §5.2.10: one octet per attribute: Supp Attr (7 bits) | R (1 bit, reserved = 0)
      if (!a.attributes.every((t) => Number.isInteger(t) && t >= 0 && t <= 127))
        throw fail("E_BFCP_ATTRIBUTE", "supported attribute types are 7-bit");
      return tlv(BfcpAttr["SUPPORTED-ATTRIBUTES"], a.mandatory, Buffer.from(a.attributes.map((t) => t << 1)));
    }
    case "SUPPORTED-PRIMITIVES":
      // RFC 8855 §5.2.11: one octet per primitive
      if (!a.primitives.every((t) => Number.isInteger(t) && t >= 0 && t <= 255))
        throw fail("E_BFCP_ATTRIBUTE", "primitives are 8-bit");
      return tlv(BfcpAttr["SUPPORTED-PRIMITIVES"], a.mandatory, Buffer.from(a.primitives));
    case "BENEFICIARY-INFORMATION":
    case "FLOOR-REQUEST-INFORMATION":
    case "REQUESTED-BY-INFORMATION":
    case "FLOOR-REQUEST-STATUS":
    case "OVERALL-REQUEST-STATUS": {
      // RFC 8855 §5.2.14-18: grouped = header, 16-bit id, then the member attributes (each padded)
      if (depth >= MAX_DEPTH) throw fail("E_BFCP_ATTRIBUTE", "grouped attributes nested too deep");
      const id = Buffer.alloc(2);
      id.writeUInt16BE(u16(a.id, `${a.type} id`));
      const inner = a.attributes.map((x) => encodeAttribute(x, depth + 1));
      return tlv(BfcpAttr[a.type], a.mandatory, Buffer.concat([id, ...inner]));
    }
    case "UNKNOWN":
      if (!Number.isInteger(a.code) || a.code < 0 || a.code > 127)
        throw fail("E_BFCP_ATTRIBUTE", "attribute type is 7-bit");
      return tlv(a.code, a.mandatory, a.contents);
  }
}

/** Encodes a message (RFC 8855 §5.1 COMMON-HEADER + attributes). Throws E2aeError on out-of-range fields. */
export function encodeBfcp(m: BfcpMessage): Buffer {
  const payload = Buffer.concat(m.attributes.map((a) => encodeAttribute(a)));
  if (payload.length > BFCP_MAX_PAYLOAD_BYTES) throw fail("E_BFCP_TOO_LARGE", "payload exceeds 65535 words");
  if (!Number.isInteger(m.version) || m.version < 0 || m.version > 7) throw fail("E_BFCP_VERSION", "Ver is 3 bits");
  if (!Number.isInteger(m.primitive) || m.primitive < 0 || m.primitive > 255)
    throw fail("E_BFCP_HEADER", "primitive is 8-bit");
  if (!Number.isInteger(m.conferenceId) || m.conferenceId < 0 || m.conferenceId > 0xffff_ffff)
    throw fail("E_BFCP_HEADER", "Conference ID is 32-bit");
  const h = Buffer.alloc(BFCP_HEADER_BYTES);
  // RFC 8855 §5.1: Ver (3) | R (1) | F (1) | Res (3); F is never set here (no fragmentation on TCP/TLS)
  h[0] = (m.version << 5) | (m.responder ? 0x10 : 0);
  h[1] = m.primitive;
  // RFC 8855 §5.1: Payload Length in 4-octet units, COMMON-HEADER excluded
  h.writeUInt16BE(payload.length / 4, 2);
  h.writeUInt32BE(m.conferenceId, 4);
  h.writeUInt16BE(u16(m.transactionId, "Transaction ID"), 8);
  h.writeUInt16BE(u16(m.userId, "User ID"), 10);
  return Buffer.concat([h, payload]);
}

function decodeAttributes(b: Uint8Array, start: number, end: number, depth: number): BfcpAttribute[] | E2aeError {
  const out: BfcpAttribute[] = [];
  let off = start;
  while (off < end) {
    if (end - off < 2) return fail("E_BFCP_ATTRIBUTE", `attribute header truncated at offset ${off}`);
    const t = (b[off] ?? 0) >> 1;
    const mandatory = ((b[off] ?? 0) & 1) === 1;
    const len = b[off + 1] ?? 0;
    // RFC 8855 §5.2: Length covers Type, M, Length and contents (>= 2)
    if (len < 2) return fail("E_BFCP_ATTRIBUTE", `attribute type ${t} has length ${len} < 2`);
    const padded = Math.ceil(len / 4) * 4;
    if (off + padded > end)
      return fail("E_BFCP_ATTRIBUTE", `attribute type ${t} (length ${len}) overruns its container`);
    const c = b.subarray(off + 2, off + len);
    const name = NAME_OF.get(t);
    const exact = (n: number): E2aeError | undefined =>
      len === n ? undefined : fail("E_BFCP_ATTRIBUTE", `${name ?? t} has length ${len}, expected ${n}`);
    if (U16_TYPES.has(t) && name) {
      const e = exact(4);
      if (e) return e;
      out.push({ type: name as U16Name, mandatory, value: ((c[0] ?? 0) << 8) | (c[1] ?? 0) });
    } else if (t === BfcpAttr.PRIORITY) {
      const e = exact(4);
      if (e) return e;
      out.push({ type: "PRIORITY", mandatory, priority: (c[0] ?? 0) >> 5 });
    } else if (t === BfcpAttr["REQUEST-STATUS"]) {
      const e = exact(4);
      if (e) return e;
      out.push({ type: "REQUEST-STATUS", mandatory, status: c[0] ?? 0, queuePosition: c[1] ?? 0 });
    } else if (t === BfcpAttr["ERROR-CODE"]) {
      if (len < 3) return fail("E_BFCP_ATTRIBUTE", "ERROR-CODE has no code octet");
      out.push({ type: "ERROR-CODE", mandatory, code: c[0] ?? 0, details: Uint8Array.from(c.subarray(1)) });
    } else if (TEXT_TYPES.has(t) && name) {
      out.push({ type: name as TextName, mandatory, text: utf8dec.decode(c) });
    } else if (t === BfcpAttr["SUPPORTED-ATTRIBUTES"]) {
      out.push({ type: "SUPPORTED-ATTRIBUTES", mandatory, attributes: Array.from(c, (x) => x >> 1) });
    } else if (t === BfcpAttr["SUPPORTED-PRIMITIVES"]) {
      out.push({ type: "SUPPORTED-PRIMITIVES", mandatory, primitives: Array.from(c) });
    } else if (GROUP_TYPES.has(t) && name) {
      if (depth >= MAX_DEPTH) return fail("E_BFCP_ATTRIBUTE", "grouped attributes nested too deep");
      // RFC 8855 §5.2.14-18: a grouped attribute has at least its 16-bit id
      if (len < 4) return fail("E_BFCP_ATTRIBUTE", `${name} has length ${len} < 4`);
      const inner = decodeAttributes(b, off + 4, off + len, depth + 1);
      if (inner instanceof E2aeError) return inner;
      out.push({ type: name as GroupName, mandatory, id: ((c[0] ?? 0) << 8) | (c[1] ?? 0), attributes: inner });
    } else {
      // RFC 8855 §5.2: unknown attributes are kept; the M bit decides whether the receiver must refuse them
      out.push({ type: "UNKNOWN", code: t, mandatory, contents: Uint8Array.from(c) });
    }
    off += padded;
  }
  return out;
}

export interface BfcpHeader {
  version: number;
  responder: boolean;
  fragmented: boolean;
  primitive: number;
  payloadBytes: number;
  conferenceId: number;
  transactionId: number;
  userId: number;
}

/** Reads the 12-octet COMMON-HEADER (RFC 8855 §5.1). */
export function decodeHeader(b: Uint8Array): BfcpHeader | E2aeError {
  if (b.length < BFCP_HEADER_BYTES) return fail("E_BFCP_TRUNCATED", `${b.length} octets, the COMMON-HEADER has 12`);
  const v = Buffer.from(b.buffer, b.byteOffset, b.length);
  return {
    version: (v[0] ?? 0) >> 5,
    responder: ((v[0] ?? 0) & 0x10) !== 0,
    fragmented: ((v[0] ?? 0) & 0x08) !== 0,
    primitive: v[1] ?? 0,
    payloadBytes: v.readUInt16BE(2) * 4,
    conferenceId: v.readUInt32BE(4),
    transactionId: v.readUInt16BE(8),
    userId: v.readUInt16BE(10),
  };
}

function checkHeader(h: BfcpHeader): E2aeError | undefined {
  // RFC 8855 §5.1: Ver 1 = reliable transport, 2 = unreliable transport; anything else is unsupported (Error 12)
  if (h.version !== 1 && h.version !== 2) return fail("E_BFCP_VERSION", `unsupported BFCP version ${h.version}`);
  // RFC 8855 §5.1 / §6.2: fragmentation (F) exists for unreliable transport only; not used on TCP/TLS
  if (h.fragmented) return fail("E_BFCP_HEADER", "F (fragmentation) bit set on a reliable transport");
  return undefined;
}

/** Decodes exactly one complete message. */
export function decodeBfcp(b: Uint8Array): BfcpMessage | E2aeError {
  const h = decodeHeader(b);
  if (h instanceof E2aeError) return h;
  const bad = checkHeader(h);
  if (bad) return bad;
  if (b.length < BFCP_HEADER_BYTES + h.payloadBytes)
    return fail("E_BFCP_TRUNCATED", `payload length ${h.payloadBytes} but ${b.length - BFCP_HEADER_BYTES} octets`);
  // RFC 8855 §5.1: the message is exactly COMMON-HEADER + Payload Length words
  if (b.length > BFCP_HEADER_BYTES + h.payloadBytes)
    return fail("E_BFCP_LENGTH", `${b.length - BFCP_HEADER_BYTES - h.payloadBytes} octets after the payload`);
  const attrs = decodeAttributes(b, BFCP_HEADER_BYTES, BFCP_HEADER_BYTES + h.payloadBytes, 0);
  if (attrs instanceof E2aeError) return attrs;
  return {
    version: h.version,
    responder: h.responder,
    primitive: h.primitive,
    conferenceId: h.conferenceId,
    transactionId: h.transactionId,
    userId: h.userId,
    attributes: attrs,
  };
}

export type BfcpFrameEvent =
  | { type: "message"; message: BfcpMessage }
  | {
      type: "error";
      error: E2aeError;
      /** The COMMON-HEADER when it was readable: the receiver can answer with an Error primitive (RFC 8855 §13). */
      header?: BfcpHeader;
      /** true: the byte stream cannot be resynchronised (bad version / length); close the connection */
      fatal: boolean;
    };

/**
 * Frames BFCP messages out of a TCP/TLS byte stream (RFC 8855 §5.1: the Payload Length delimits each message).
 * A message with malformed attributes is reported (not fatal: its length is known); a bad version or an oversize
 * length is fatal. Never throws.
 */
export class BfcpFramer {
  private readonly q = new ByteQueue(1024);
  private readonly maxBytes: number;
  private dead = false;

  constructor(opts: { maxMessageBytes?: number } = {}) {
    this.maxBytes = opts.maxMessageBytes ?? 64 * 1024;
  }

  get failed(): boolean {
    return this.dead;
  }

  push(data: Uint8Array): BfcpFrameEvent[] {
    const out: BfcpFrameEvent[] = [];
    if (this.dead) return out;
    this.q.append(data);
    try {
      for (let guard = 0; guard < 100_000; guard++) {
        const view = this.q.view();
        if (view.length < BFCP_HEADER_BYTES) break;
        const h = decodeHeader(view);
        if (h instanceof E2aeError) break;
        const hdrErr = checkHeader(h);
        if (hdrErr) {
          this.dead = true;
          this.q.clear();
          out.push({ type: "error", error: hdrErr, header: h, fatal: true });
          break;
        }
        const total = BFCP_HEADER_BYTES + h.payloadBytes;
        if (total > this.maxBytes) {
          this.dead = true;
          this.q.clear();
          out.push({
            type: "error",
            error: fail("E_BFCP_TOO_LARGE", `message of ${total} octets`),
            header: h,
            fatal: true,
          });
          break;
        }
        if (view.length < total) break;
        const m = decodeBfcp(view.subarray(0, total));
        if (m instanceof E2aeError) out.push({ type: "error", error: m, header: h, fatal: false });
        else out.push({ type: "message", message: m });
        this.q.consume(total);
      }
    } catch (e) {
      this.dead = true;
      this.q.clear();
      out.push({ type: "error", error: fail("E_BFCP_LENGTH", `internal framer error: ${String(e)}`), fatal: true });
    }
    return out;
  }
}

// ---- attribute helpers ------------------------------------------------------------------------------------------

/** Attribute constructors with M = 1 (the sender marks what it requires the receiver to understand). */
export const attr = {
  floorId: (value: number): BfcpAttribute => ({ type: "FLOOR-ID", mandatory: true, value }),
  floorRequestId: (value: number): BfcpAttribute => ({ type: "FLOOR-REQUEST-ID", mandatory: true, value }),
  beneficiaryId: (value: number): BfcpAttribute => ({ type: "BENEFICIARY-ID", mandatory: true, value }),
  priority: (priority: number): BfcpAttribute => ({ type: "PRIORITY", mandatory: true, priority }),
  requestStatus: (status: number, queuePosition = 0): BfcpAttribute => ({
    type: "REQUEST-STATUS",
    mandatory: true,
    status,
    queuePosition,
  }),
  errorCode: (code: number, details: Uint8Array = new Uint8Array(0)): BfcpAttribute => ({
    type: "ERROR-CODE",
    mandatory: true,
    code,
    details,
  }),
  text: (type: TextName, text: string): BfcpAttribute => ({ type, mandatory: true, text }),
  supportedPrimitives: (primitives: number[]): BfcpAttribute => ({
    type: "SUPPORTED-PRIMITIVES",
    mandatory: true,
    primitives,
  }),
  supportedAttributes: (attributes: number[]): BfcpAttribute => ({
    type: "SUPPORTED-ATTRIBUTES",
    mandatory: true,
    attributes,
  }),
  group: (type: GroupName, id: number, attributes: BfcpAttribute[]): BfcpAttribute => ({
    type,
    mandatory: true,
    id,
    attributes,
  }),
};

/** The attribute variant whose `type` admits T (works for the variants that group several names). */
export type AttrOf<T extends BfcpAttribute["type"]> = BfcpAttribute extends infer A
  ? A extends { type: infer U }
    ? T extends U
      ? A & { type: T }
      : never
    : never
  : never;

export function findAttr<T extends BfcpAttribute["type"]>(
  attrs: readonly BfcpAttribute[],
  type: T,
): AttrOf<T> | undefined {
  return attrs.find((a): a is AttrOf<T> => a.type === type);
}

export function findAttrs<T extends BfcpAttribute["type"]>(attrs: readonly BfcpAttribute[], type: T): AttrOf<T>[] {
  return attrs.filter((a): a is AttrOf<T> => a.type === type);
}
