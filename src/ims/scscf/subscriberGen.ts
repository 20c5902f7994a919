/**
 * Demo subscribers: one IMPI per user with its IMPU, a random Digest password and/or random AKA secrets (K, OPc,
 * AMF 8000, SQN 0), written as a subscriber file (subscriberFile.ts). The same secrets come back as the UE side's
 * credentials (the SIM stand-in), so a demo network can be wired from one call.
 */
import { randomBytes } from "node:crypto";
import { type SubscriberFileDoc, subscriberDoc, writeFileAtomic } from "./subscriberFile.ts";
import type { Subscriber } from "./subscribers.ts";

export interface GenerateSubscribersOptions {
  /** home domain: IMPI user@domain, IMPU sip:user@domain */
  domain: string;
  users: readonly string[];
  /** which credentials to create; default both */
  schemes?: readonly ("digest" | "aka")[];
}

export interface GeneratedSubscriber {
  impi: string;
  impu: string;
  password?: string;
  aka?: { k: string; opc: string; amf: string; sqn: number };
}

export function generateSubscribers(o: GenerateSubscribersOptions): {
  subscribers: Subscriber[];
  doc: SubscriberFileDoc;
  ue: GeneratedSubscriber[];
} {
  const schemes = o.schemes ?? ["digest", "aka"];
  const subscribers: Subscriber[] = [];
  const ue: GeneratedSubscriber[] = [];
  for (const u of o.users) {
    const impi = `${u}@${o.domain}`;
    const impu = `sip:${u}@${o.domain}`;
    const s: Subscriber = { impi, impus: [impu] };
    const g: GeneratedSubscriber = { impi, impu };
    if (schemes.includes("digest")) {
      s.password = randomBytes(18).toString("base64url");
      g.password = s.password;
    }
    if (schemes.includes("aka")) {
      const k = new Uint8Array(randomBytes(16));
      const opc = new Uint8Array(randomBytes(16));
      s.aka = { k, opc, amf: new Uint8Array([0x80, 0]), sqn: 0 };
      g.aka = { k: Buffer.from(k).toString("hex"), opc: Buffer.from(opc).toString("hex"), amf: "8000", sqn: 0 };
    }
    subscribers.push(s);
    ue.push(g);
  }
  return { subscribers, doc: subscriberDoc(subscribers), ue };
}

/** Generates demo subscribers and writes the file (mode 0600). */
export async function writeDemoSubscribers(
  path: string,
  o: GenerateSubscribersOptions,
): Promise<ReturnType<typeof generateSubscribers>> {
  const g = generateSubscribers(o);
  await writeFileAtomic(path, `${JSON.stringify(g.doc, null, 2)}\n`);
  return g;
}
