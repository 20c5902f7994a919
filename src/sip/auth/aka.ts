/**
 * IMS AKA on MILENAGE (TS 33.203 §6.1, TS 33.102 §6.3, RFC 3310): the network builds an authentication vector
 * (RAND, AUTN = SQN ⊕ AK ‖ AMF ‖ MAC, XRES, CK, IK), the UE checks AUTN (MAC, then SQN freshness) and either answers
 * with RES or asks for re-synchronisation with AUTS = SQN_MS ⊕ AK* ‖ MAC-S; the network recovers SQN_MS from AUTS.
 * Pure functions over bytes; SQN values are numbers (48 bits fit a double exactly).
 */
import { randomBytes, timingSafeEqual } from "node:crypto";
import { AuthError } from "./errors.ts";
import { f1, f2345, xorBytes } from "./milenage.ts";

const SQN_MAX = 2 ** 48;
/** TS 33.102 Annex C.1.1 / C.3.2: SQN = SEQ ‖ IND with a 5-bit IND; the network steps SEQ (SQN += 32), IND = 0. */
const SQN_STEP = 32;
/** TS 33.102 Annex C.2.2: default Δ, the largest accepted jump of SQN over the highest accepted one (2^28 SEQ steps). */
export const DEFAULT_SQN_WINDOW = 2 ** 28 * SQN_STEP;

function sqnToBytes(sqn: number): Uint8Array {
  if (!Number.isInteger(sqn) || sqn < 0 || sqn >= SQN_MAX)
    throw new AuthError("E_AUTH_KEY", "SQN is not a 48-bit value");
  const b = Buffer.alloc(6);
  b.writeUIntBE(sqn, 0, 6);
  return new Uint8Array(b);
}

export function sqnFromBytes(b: Uint8Array): number {
  if (b.length !== 6) throw new AuthError("E_AUTH_KEY", "SQN must be 6 bytes");
  return Buffer.from(b).readUIntBE(0, 6);
}

/** The SQN the network uses after `sqn` (TS 33.102 Annex C.3.2), wrapping at 2^48. */
export function nextSqn(sqn: number): number {
  return (sqn + SQN_STEP) % SQN_MAX;
}

export interface AkaVector {
  rand: Uint8Array;
  /** TS 33.102 §6.3.2: AUTN = SQN ⊕ AK ‖ AMF ‖ MAC (16 bytes) */
  autn: Uint8Array;
  xres: Uint8Array;
  ck: Uint8Array;
  ik: Uint8Array;
}

export interface AkaSubscriberKeys {
  k: Uint8Array;
  opc: Uint8Array;
}

/** TS 33.102 §6.3.2: the network side's authentication vector for `sqn` and `amf` (RAND random unless given). */
export function akaVector(keys: AkaSubscriberKeys, sqn: number, amf: Uint8Array, rand?: Uint8Array): AkaVector {
  const r = rand ?? new Uint8Array(randomBytes(16));
  const s = sqnToBytes(sqn);
  const mac = f1(keys.k, keys.opc, r, s, amf).macA;
  const o = f2345(keys.k, keys.opc, r);
  const autn = new Uint8Array(16);
  autn.set(xorBytes(s, o.ak), 0);
  autn.set(amf, 6);
  autn.set(mac, 8);
  return { rand: r, autn, xres: o.res, ck: o.ck, ik: o.ik };
}

/** RFC 3310 §3.1: nonce = base64(RAND ‖ AUTN ‖ server-specific data). */
export function akaNonce(rand: Uint8Array, autn: Uint8Array, serverData: Uint8Array = new Uint8Array(0)): string {
  return Buffer.concat([rand, autn, serverData]).toString("base64");
}

/** RFC 3310 §3.1: splits an AKA nonce into RAND, AUTN and the server-specific rest. */
export function parseAkaNonce(nonce: string): { rand: Uint8Array; autn: Uint8Array; serverData: Uint8Array } {
  if (!/^[A-Za-z0-9+/]+={0,2}$/.test(nonce)) throw new AuthError("E_AUTH_NONCE", "AKA nonce is not base64");
  const raw = new Uint8Array(Buffer.from(nonce, "base64"));
  if (raw.length < 32) throw new AuthError("E_AUTH_NONCE", "AKA nonce shorter than RAND ‖ AUTN");
  return { rand: raw.slice(0, 16), autn: raw.slice(16, 32), serverData: raw.slice(32) };
}

export type AkaUeResult =
  | { kind: "ok"; res: Uint8Array; ck: Uint8Array; ik: Uint8Array; sqn: number }
  /** TS 33.102 §6.3.3: XMAC ≠ MAC: the network is not authentic; no AUTS is sent */
  | { kind: "mac-failure" }
  /** TS 33.102 §6.3.3 / §6.3.5: MAC right, SQN not fresh: AUTS for re-synchronisation */
  | { kind: "sync-failure"; auts: Uint8Array; sqn: number };

export interface AkaUeOptions extends AkaSubscriberKeys {
  /** SQN_MS: the highest SQN the USIM accepted so far */
  sqnMs: number;
  /** TS 33.102 Annex C.2.2: Δ, the largest accepted SQN − SQN_MS; default DEFAULT_SQN_WINDOW */
  window?: number;
}

/** TS 33.102 Annex C.2.1 / C.2.2: SQN is fresh when SQN > SQN_MS and SQN − SQN_MS ≤ Δ. */
export function sqnFresh(sqn: number, sqnMs: number, window = DEFAULT_SQN_WINDOW): boolean {
  return sqn > sqnMs && sqn - sqnMs <= window;
}

/** TS 33.102 §6.3.3 / §6.3.5: AUTS = SQN_MS ⊕ AK* ‖ MAC-S, MAC-S = f1*(SQN_MS, RAND, AMF = 0x0000). */
export function akaAuts(keys: AkaSubscriberKeys, rand: Uint8Array, sqnMs: number): Uint8Array {
  const s = sqnToBytes(sqnMs);
  const { akStar } = f2345(keys.k, keys.opc, rand);
  // TS 33.102 §6.3.3: "the AMF used to calculate MAC-S assumes a dummy value of all zeros"
  const macS = f1(keys.k, keys.opc, rand, s, new Uint8Array(2)).macS;
  const auts = new Uint8Array(14);
  auts.set(xorBytes(s, akStar), 0);
  auts.set(macS, 6);
  return auts;
}

/** The UE (USIM stand-in) side of TS 33.102 §6.3.3: check AUTN, then answer RES or AUTS. */
export function akaUeAuthenticate(o: AkaUeOptions, rand: Uint8Array, autn: Uint8Array): AkaUeResult {
  if (rand.length !== 16 || autn.length !== 16) throw new AuthError("E_AUTH_KEY", "RAND and AUTN must be 16 bytes");
  const keys = f2345(o.k, o.opc, rand);
  // TS 33.102 §6.3.3: SQN = (SQN ⊕ AK) ⊕ AK, XMAC = f1(SQN ‖ RAND ‖ AMF), compared with MAC
  const sqnBytes = xorBytes(autn.slice(0, 6), keys.ak);
  const amf = autn.slice(6, 8);
  const mac = autn.slice(8, 16);
  const xmac = f1(o.k, o.opc, rand, sqnBytes, amf).macA;
  if (!timingSafeEqual(xmac, mac)) return { kind: "mac-failure" };
  const sqn = sqnFromBytes(sqnBytes);
  if (!sqnFresh(sqn, o.sqnMs, o.window)) {
    return { kind: "sync-failure", auts: akaAuts(o, rand, o.sqnMs), sqn };
  }
  return { kind: "ok", res: keys.res, ck: keys.ck, ik: keys.ik, sqn };
}

/**
 * The network side of TS 33.102 §6.3.5: recovers SQN_MS from AUTS (SQN_MS = (SQN_MS ⊕ AK*) ⊕ f5*(RAND)) and checks
 * MAC-S; undefined when MAC-S is wrong (the AUTS is not from this subscriber's USIM for this RAND).
 */
export function akaResync(keys: AkaSubscriberKeys, rand: Uint8Array, auts: Uint8Array): number | undefined {
  if (auts.length !== 14) throw new AuthError("E_AUTH_KEY", "AUTS must be 14 bytes");
  const { akStar } = f2345(keys.k, keys.opc, rand);
  const sqnMs = xorBytes(auts.slice(0, 6), akStar);
  const xmacS = f1(keys.k, keys.opc, rand, sqnMs, new Uint8Array(2)).macS;
  if (!timingSafeEqual(xmacS, auts.slice(6, 14))) return undefined;
  return sqnFromBytes(sqnMs);
}
