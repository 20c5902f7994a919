/**
 * The `auth` block of `imsdc ue --config` (docs/auth.md "The UE side"): Digest `{ impi, password, realm? }` or IMS
 * AKA as a SIM stand-in `{ impi, k, opc, sqn?, amf?, realm? }`. Lab credentials: a real UE keeps K in its USIM.
 */

export type UeAuthFileConfig =
  | { impi: string; password: string; realm?: string }
  | { impi: string; k: string; opc: string; sqn?: number; amf?: string; realm?: string };

const KEYS = ["impi", "password", "realm", "k", "opc", "sqn", "amf"];

/** Validates the block; problems are `auth.<key>` paths with a message. */
export function validateUeAuth(v: unknown): {
  value?: UeAuthFileConfig;
  problems: { path: string; message: string }[];
} {
  const problems: { path: string; message: string }[] = [];
  const bad = (k: string, message: string) => problems.push({ path: `auth.${k}`, message });
  if (typeof v !== "object" || v === null || Array.isArray(v)) {
    return { problems: [{ path: "auth", message: "must be an object" }] };
  }
  const o = v as Record<string, unknown>;
  for (const k of Object.keys(o)) if (!KEYS.includes(k)) bad(k, "unknown key");
  const str = (k: string): string | undefined => {
    const x = o[k];
    if (x === undefined) return undefined;
    if (typeof x !== "string" || x === "") bad(k, "must be a non-empty string");
    return typeof x === "string" && x !== "" ? x : undefined;
  };
  const impi = str("impi");
  if (o.impi === undefined) bad("impi", "is required");
  const realm = str("realm");
  const password = str("password");
  const k = str("k");
  const opc = str("opc");
  const amf = str("amf");
  // TS 35.206 §2: K and OPc are 128 bits; TS 33.102 §6.3.2: AMF 16 bits, SQN 48 bits
  for (const [name, val] of [
    ["k", k],
    ["opc", opc],
  ] as const) {
    if (val !== undefined && !/^[0-9a-fA-F]{32}$/.test(val)) bad(name, "must be 32 hex digits");
  }
  if (amf !== undefined && !/^[0-9a-fA-F]{4}$/.test(amf)) bad("amf", "must be 4 hex digits");
  const sqn = o.sqn;
  if (sqn !== undefined && (typeof sqn !== "number" || !Number.isSafeInteger(sqn) || sqn < 0 || sqn >= 2 ** 48)) {
    bad("sqn", "must be an integer 0 .. 2^48 - 1");
  }
  const aka = k !== undefined || opc !== undefined;
  if (password !== undefined && aka) bad("password", "give either password (Digest) or k and opc (AKA), not both");
  if (password === undefined && !aka)
    problems.push({ path: "auth", message: "needs password (Digest) or k and opc (AKA)" });
  if (aka && (k === undefined || opc === undefined)) bad(k === undefined ? "k" : "opc", "is required with AKA");
  if (problems.length > 0 || impi === undefined) return { problems };
  const r = realm !== undefined ? { realm } : {};
  if (password !== undefined) return { value: { impi, password, ...r }, problems };
  return {
    value: {
      impi,
      k: k ?? "",
      opc: opc ?? "",
      ...(typeof sqn === "number" ? { sqn } : {}),
      ...(amf !== undefined ? { amf } : {}),
      ...r,
    },
    problems,
  };
}
