import { readFileSync } from "node:fs";
import { fileURLToPath } from "node:url";
import {
  type AgwLegSdp,
  type AlgConfig,
  type AlgContext,
  type AlgDecision,
  algConfig,
  type Direction,
  decideSdp,
} from "../../../src/ims/pcscf/index.ts";
import type { Fingerprint } from "../../../src/sdp/index.ts";

export const FIXTURES = fileURLToPath(new URL("../../fixtures/pcscf/", import.meta.url));
export const SDP_FIXTURES = fileURLToPath(new URL("../../fixtures/sdp/", import.meta.url));

/** A fixture as a latin1 string (one char per byte). */
export function fixture(name: string): string {
  return readFileSync(`${FIXTURES}${name}`, "latin1");
}
export function sdpFixture(name: string): string {
  return readFileSync(`${SDP_FIXTURES}${name}`, "latin1");
}

export const AGW_FP: Fingerprint = {
  hash: "sha-256",
  value: "B1:6E:57:0A:22:91:4C:D3:8F:0B:75:E4:1A:C9:63:2D:5F:88:07:BE:39:F2:C4:10:6A:9D:E1:47:3C:58:0F:A2",
};
export const FP_A = "9C:08:1C:89:B3:33:3E:C1:07:D4:3E:3D:56:B6:91:AA:81:AA:15:DC:4C:20:2E:A3:6C:FE:B8:4C:5A:32:59:AC";

export function ctx(
  direction: Direction,
  kind: "offer" | "answer",
  opts: { caps?: Iterable<string>; config?: Partial<AlgConfig>; offer?: AlgDecision } = {},
): AlgContext {
  const c: AlgContext = {
    direction,
    kind,
    callId: "call-1@test",
    capabilities: new Set(opts.caps ?? []),
    config: algConfig(opts.config ?? {}),
  };
  if (opts.offer) c.offer = opts.offer;
  return c;
}

export interface GoldenCase {
  name: string;
  direction: Direction;
  kind: "offer" | "answer";
  caps: string[];
  /** for answers: the offer fixture the answer responds to */
  offerFixture?: string;
  mline: number;
  agw: AgwLegSdp;
  config?: Partial<AlgConfig>;
}

const CORE4: AgwLegSdp = { address: "10.0.0.1", port: 40000 };
const ACCESS4: AgwLegSdp = { address: "192.0.2.1", port: 41000, fingerprints: [AGW_FP] };

/** The eight e2ae steps (TR 29.828 §5.2.1.2.2/.3 MSRP, §5.2.1.3.2/.3 BFCP). */
export const GOLDEN: GoldenCase[] = [
  { name: "msrp-orig-offer", direction: "originating", kind: "offer", caps: ["msrp-tls"], mline: 1, agw: CORE4 },
  {
    name: "msrp-orig-answer",
    direction: "originating",
    kind: "answer",
    caps: ["msrp-tls"],
    offerFixture: "msrp-orig-offer.in.sdp",
    mline: 1,
    agw: ACCESS4,
  },
  { name: "msrp-term-offer", direction: "terminating", kind: "offer", caps: ["msrp-tls"], mline: 0, agw: ACCESS4 },
  {
    name: "msrp-term-answer",
    direction: "terminating",
    kind: "answer",
    caps: ["msrp-tls"],
    offerFixture: "msrp-term-offer.in.sdp",
    mline: 0,
    agw: CORE4,
  },
  {
    name: "bfcp-orig-offer",
    direction: "originating",
    kind: "offer",
    caps: ["bfcp-tls"],
    mline: 0,
    agw: { address: "10.0.0.1", port: 40004 },
  },
  {
    name: "bfcp-orig-answer",
    direction: "originating",
    kind: "answer",
    caps: ["bfcp-tls"],
    offerFixture: "bfcp-orig-offer.in.sdp",
    mline: 0,
    agw: { address: "192.0.2.1", port: 41004, fingerprints: [AGW_FP] },
  },
  {
    name: "bfcp-term-offer",
    direction: "terminating",
    kind: "offer",
    caps: ["bfcp-tls"],
    mline: 0,
    agw: { address: "2001:db8:a::1", port: 41002, fingerprints: [AGW_FP] },
  },
  {
    name: "bfcp-term-answer",
    direction: "terminating",
    kind: "answer",
    caps: ["bfcp-tls"],
    offerFixture: "bfcp-term-offer.in.sdp",
    mline: 0,
    agw: { address: "2001:db8:c::1", port: 40002 },
  },
];

/** Decides a golden case (answers are decided against the decision on their offer). */
export function decideGolden(g: GoldenCase): AlgDecision {
  const input = fixture(`${g.name}.in.sdp`);
  const opts = { caps: g.caps, ...(g.config ? { config: g.config } : {}) };
  if (g.kind === "offer") return decideSdp(input, ctx(g.direction, "offer", opts));
  const offerBody = fixture(g.offerFixture ?? "");
  const offer = decideSdp(offerBody, ctx(g.direction, "offer", opts));
  return decideSdp(input, ctx(g.direction, "answer", { ...opts, offer }));
}
