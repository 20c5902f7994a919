/**
 * The subscriber store as a JSON file (docs/auth.md "Subscriber store"): loaded once, kept in memory, and written back
 * whenever an SQN changes (TS 33.102 §6.3.2: the network must never re-use an SQN, so SQN_HE survives a restart).
 * Writes are atomic (a temporary file in the same directory, fsync, rename) and serialised; `flush()` waits for them.
 *
 * {
 *   "version": 1,
 *   "subscribers": [
 *     { "impi": "bob@ims.example.com", "impus": ["sip:bob@ims.example.com"],
 *       "password": "…",                                   // or, instead of the password:
 *       "ha1": { "ims.example.com": { "MD5": "<hex>", "SHA-256": "<hex>" } },
 *       "aka": { "k": "<32 hex>", "opc": "<32 hex>" | "op": "<32 hex>", "amf": "8000", "sqn": "<12 hex>" } }
 *   ]
 * }
 */

import { randomBytes } from "node:crypto";
import { readFileSync } from "node:fs";
import { open, rename, unlink } from "node:fs/promises";
import { basename, dirname, join } from "node:path";
import { opcFromOp } from "../../sip/auth/milenage.ts";
import { ScscfError } from "./errors.ts";
import { MemorySubscriberStore, type Subscriber } from "./subscribers.ts";

export interface SubscriberFileAka {
  k: string;
  opc?: string;
  op?: string;
  amf?: string;
  sqn?: string;
}

export interface SubscriberFileEntry {
  impi: string;
  impus: string[];
  password?: string;
  ha1?: Record<string, Record<string, string>>;
  aka?: SubscriberFileAka;
}

export interface SubscriberFileDoc {
  version: 1;
  subscribers: SubscriberFileEntry[];
}

function bad(file: string, msg: string): never {
  throw new ScscfError("E_SCSCF_SUBSCRIBERS", `${file}: ${msg}`);
}

function hex(file: string, where: string, v: unknown, bytes: number): Uint8Array {
  if (typeof v !== "string" || !new RegExp(`^[0-9a-fA-F]{${bytes * 2}}$`).test(v)) {
    bad(file, `${where} must be ${bytes * 2} hexadecimal digits`);
  }
  return new Uint8Array(Buffer.from(v, "hex"));
}

const isObj = (v: unknown): v is Record<string, unknown> => typeof v === "object" && v !== null && !Array.isArray(v);

/** Validates a parsed subscriber document into subscribers; every problem names its path. */
export function parseSubscriberDoc(doc: unknown, file = "subscribers"): Subscriber[] {
  if (!isObj(doc)) bad(file, "not a JSON object");
  if (doc.version !== 1) bad(file, "version must be 1");
  if (!Array.isArray(doc.subscribers)) bad(file, "subscribers must be an array");
  const seen = new Set<string>();
  return doc.subscribers.map((e: unknown, i: number): Subscriber => {
    const at = `subscribers[${i}]`;
    if (!isObj(e)) bad(file, `${at} is not an object`);
    const { impi, impus, password, ha1, aka } = e;
    if (typeof impi !== "string" || impi === "") bad(file, `${at}.impi must be a non-empty string`);
    if (seen.has(impi)) bad(file, `${at}.impi "${impi}" repeated`);
    seen.add(impi);
    if (!Array.isArray(impus) || impus.length === 0 || !impus.every((u) => typeof u === "string" && u !== "")) {
      bad(file, `${at}.impus must be a non-empty array of URIs`);
    }
    const s: Subscriber = { impi, impus: impus as string[] };
    if (password !== undefined) {
      if (typeof password !== "string" || password === "") bad(file, `${at}.password must be a non-empty string`);
      s.password = password;
    }
    if (ha1 !== undefined) {
      if (!isObj(ha1)) bad(file, `${at}.ha1 must map realm → { algorithm: hex }`);
      const out: Record<string, Record<string, string>> = {};
      for (const [realm, algs] of Object.entries(ha1)) {
        if (!isObj(algs)) bad(file, `${at}.ha1["${realm}"] must map algorithm → hex`);
        out[realm] = {};
        for (const [alg, v] of Object.entries(algs)) {
          if (typeof v !== "string" || !/^[0-9a-fA-F]{32}([0-9a-fA-F]{32})?$/.test(v)) {
            bad(file, `${at}.ha1["${realm}"]["${alg}"] must be a 32- or 64-digit hex digest`);
          }
          (out[realm] as Record<string, string>)[alg] = v.toLowerCase();
        }
      }
      s.ha1 = out;
    }
    if (aka !== undefined) {
      if (!isObj(aka)) bad(file, `${at}.aka must be an object`);
      const k = hex(file, `${at}.aka.k`, aka.k, 16);
      let opc: Uint8Array;
      if (aka.opc !== undefined) opc = hex(file, `${at}.aka.opc`, aka.opc, 16);
      else if (aka.op !== undefined) opc = opcFromOp(k, hex(file, `${at}.aka.op`, aka.op, 16));
      else bad(file, `${at}.aka needs opc (or op)`);
      const amf = aka.amf === undefined ? new Uint8Array([0x80, 0]) : hex(file, `${at}.aka.amf`, aka.amf, 2);
      const sqn = aka.sqn === undefined ? 0 : Buffer.from(hex(file, `${at}.aka.sqn`, aka.sqn, 6)).readUIntBE(0, 6);
      s.aka = { k, opc, amf, sqn };
    }
    if (s.password === undefined && s.ha1 === undefined && s.aka === undefined) {
      bad(file, `${at} has no credentials (password, ha1 or aka)`);
    }
    return s;
  });
}

/** The JSON document of a set of subscribers (AKA with opc, never op; SQN as 12 hex digits). */
export function subscriberDoc(subs: readonly Subscriber[]): SubscriberFileDoc {
  return {
    version: 1,
    subscribers: subs.map((s) => {
      const e: SubscriberFileEntry = { impi: s.impi, impus: [...s.impus] };
      if (s.password !== undefined) e.password = s.password;
      if (s.ha1 !== undefined) e.ha1 = s.ha1;
      if (s.aka) {
        const sqn = Buffer.alloc(6);
        sqn.writeUIntBE(s.aka.sqn, 0, 6);
        e.aka = {
          k: Buffer.from(s.aka.k).toString("hex"),
          opc: Buffer.from(s.aka.opc).toString("hex"),
          amf: Buffer.from(s.aka.amf).toString("hex"),
          sqn: sqn.toString("hex"),
        };
      }
      return e;
    }),
  };
}

/** Writes `text` to `path` atomically: temporary file in the same directory, fsync, rename (mode 0600: secrets). */
export async function writeFileAtomic(path: string, text: string): Promise<void> {
  const tmp = join(dirname(path), `.${basename(path)}.${randomBytes(6).toString("hex")}.tmp`);
  const fh = await open(tmp, "w", 0o600);
  try {
    await fh.writeFile(text);
    await fh.sync();
  } finally {
    await fh.close();
  }
  try {
    await rename(tmp, path);
  } catch (e) {
    await unlink(tmp).catch(() => {});
    throw e;
  }
}

export class FileSubscriberStore extends MemorySubscriberStore {
  readonly path: string;
  private writing: Promise<void> | undefined;
  private dirty = false;
  /** the last write error (also passed to onError) */
  lastError: unknown;
  private readonly onError: (e: unknown) => void;

  private constructor(path: string, subs: Subscriber[], onError?: (e: unknown) => void) {
    super(subs);
    this.path = path;
    this.onError = onError ?? (() => {});
  }

  /** Loads a subscriber file (synchronously: configuration time). Errors are E_SCSCF_SUBSCRIBERS. */
  static load(path: string, opts: { onError?: (e: unknown) => void } = {}): FileSubscriberStore {
    let text: string;
    try {
      text = readFileSync(path, "utf8");
    } catch (e) {
      throw new ScscfError("E_SCSCF_SUBSCRIBERS", `${path}: cannot read (${(e as Error).message})`, { cause: e });
    }
    let doc: unknown;
    try {
      doc = JSON.parse(text);
    } catch (e) {
      throw new ScscfError("E_SCSCF_SUBSCRIBERS", `${path}: not JSON (${(e as Error).message})`, { cause: e });
    }
    return new FileSubscriberStore(path, parseSubscriberDoc(doc, path), opts.onError);
  }

  protected override changed(): void {
    this.dirty = true;
    if (!this.writing) this.writing = this.drain();
  }

  private async drain(): Promise<void> {
    while (this.dirty) {
      this.dirty = false;
      try {
        await writeFileAtomic(this.path, `${JSON.stringify(subscriberDoc(this.all()), null, 2)}\n`);
      } catch (e) {
        this.lastError = e;
        this.onError(e);
      }
    }
    this.writing = undefined;
  }

  override async flush(): Promise<void> {
    while (this.writing) await this.writing;
  }
}
