/**
 * MILENAGE (3GPP TS 35.206 §4): the authentication and key generation functions f1, f1*, f2, f3, f4, f5, f5* built on
 * AES-128 (Rijndael with a 128-bit block and key, TS 35.206 §3 / §4.2), and OPc from OP (§4.1). Pure functions over
 * byte arrays; node:crypto provides the block cipher (AES-128-ECB on one block, no padding).
 */
import { createCipheriv } from "node:crypto";
import { AuthError } from "./errors.ts";

export interface MilenageOutput {
  /** f1: network authentication code MAC-A, 8 bytes */
  macA: Uint8Array;
  /** f1*: resynchronisation authentication code MAC-S, 8 bytes */
  macS: Uint8Array;
}

export interface MilenageKeys {
  /** f2: RES, 8 bytes */
  res: Uint8Array;
  /** f3: cipher key CK, 16 bytes */
  ck: Uint8Array;
  /** f4: integrity key IK, 16 bytes */
  ik: Uint8Array;
  /** f5: anonymity key AK, 6 bytes */
  ak: Uint8Array;
  /** f5*: resynchronisation anonymity key AK*, 6 bytes */
  akStar: Uint8Array;
}

function check(name: string, v: Uint8Array, len: number): void {
  if (!(v instanceof Uint8Array) || v.length !== len) {
    throw new AuthError("E_AUTH_KEY", `${name} must be ${len} bytes`);
  }
}

/** E_K(x): one AES-128 block (TS 35.206 §3: the kernel function). */
function encrypt(k: Uint8Array, block: Uint8Array): Uint8Array {
  const c = createCipheriv("aes-128-ecb", k, null);
  c.setAutoPadding(false);
  const out = c.update(block);
  c.final();
  return new Uint8Array(out);
}

function xor(a: Uint8Array, b: Uint8Array): Uint8Array {
  const out = new Uint8Array(a.length);
  for (let i = 0; i < a.length; i++) out[i] = (a[i] ?? 0) ^ (b[i] ?? 0);
  return out;
}

/** TS 35.206 §4.1: rot(x, r) cyclically rotates the 128-bit x by r bit positions towards the most significant bit. */
function rot(x: Uint8Array, bytes: number): Uint8Array {
  const out = new Uint8Array(16);
  for (let i = 0; i < 16; i++) out[i] = x[(i + bytes) % 16] ?? 0;
  return out;
}

/** TS 35.206 §4.1: the constants c1..c5 (c_i has bit 127 - (i-2) set, c1 = 0). */
function constant(i: 1 | 2 | 3 | 4 | 5): Uint8Array {
  const c = new Uint8Array(16);
  if (i > 1) c[15] = 1 << (i - 2);
  return c;
}

/** TS 35.206 §4.1: OPc = OP ⊕ E_K(OP). */
export function opcFromOp(k: Uint8Array, op: Uint8Array): Uint8Array {
  check("K", k, 16);
  check("OP", op, 16);
  return xor(encrypt(k, op), op);
}

/** TS 35.206 §4.1: OUT_i = E_K(rot(TEMP ⊕ OPc, r_i) ⊕ c_i) ⊕ OPc for i = 2..5, with TEMP = E_K(RAND ⊕ OPc). */
function out(k: Uint8Array, opc: Uint8Array, temp: Uint8Array, r: number, i: 2 | 3 | 4 | 5): Uint8Array {
  return xor(encrypt(k, xor(rot(xor(temp, opc), r), constant(i))), opc);
}

/**
 * TS 35.206 §4.1: f1 and f1*. IN1 = SQN ‖ AMF ‖ SQN ‖ AMF; OUT1 = E_K(TEMP ⊕ rot(IN1 ⊕ OPc, r1) ⊕ c1) ⊕ OPc with
 * r1 = 64; MAC-A = OUT1[0..63], MAC-S = OUT1[64..127].
 */
export function f1(k: Uint8Array, opc: Uint8Array, rand: Uint8Array, sqn: Uint8Array, amf: Uint8Array): MilenageOutput {
  check("K", k, 16);
  check("OPc", opc, 16);
  check("RAND", rand, 16);
  check("SQN", sqn, 6);
  check("AMF", amf, 2);
  const temp = encrypt(k, xor(rand, opc));
  const in1 = new Uint8Array(16);
  in1.set(sqn, 0);
  in1.set(amf, 6);
  in1.set(sqn, 8);
  in1.set(amf, 14);
  const out1 = xor(encrypt(k, xor(xor(temp, rot(xor(in1, opc), 8)), constant(1))), opc);
  return { macA: out1.slice(0, 8), macS: out1.slice(8, 16) };
}

/**
 * TS 35.206 §4.1: f2 (RES = OUT2[64..127]), f5 (AK = OUT2[0..47]), f3 (CK = OUT3), f4 (IK = OUT4), f5* (AK* =
 * OUT5[0..47]); rotations r2 = 0, r3 = 32, r4 = 64, r5 = 96 bits.
 */
export function f2345(k: Uint8Array, opc: Uint8Array, rand: Uint8Array): MilenageKeys {
  check("K", k, 16);
  check("OPc", opc, 16);
  check("RAND", rand, 16);
  const temp = encrypt(k, xor(rand, opc));
  const out2 = out(k, opc, temp, 0, 2);
  const out3 = out(k, opc, temp, 4, 3);
  const out4 = out(k, opc, temp, 8, 4);
  const out5 = out(k, opc, temp, 12, 5);
  return { res: out2.slice(8, 16), ak: out2.slice(0, 6), ck: out3, ik: out4, akStar: out5.slice(0, 6) };
}

/** Byte-wise XOR of two equal-length arrays (SQN ⊕ AK). */
export function xorBytes(a: Uint8Array, b: Uint8Array): Uint8Array {
  if (a.length !== b.length) throw new AuthError("E_AUTH_KEY", "XOR of arrays of different lengths");
  return xor(a, b);
}
