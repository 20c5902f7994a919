/**
 * The machine-readable result of `imsdc call` (`--json`), read from the embedded network's trace: the SIP ladder, the
 * IMS-ALG decisions of both P-CSCFs (their audit events), each UE's verdict on its peer (the remote UE's DTLS
 * certificate for e2e, the IMS-AGW's TLS certificate for e2ae) and the first application exchange each way.
 */
import { agwFingerprintOf, type DemoEvent, type SipTraceEvent, type UeTraceEvent } from "../demo/events.ts";
import { EXIT } from "./main.ts";

export const SCENARIOS = ["e2e", "tamper", "e2ae-msrp", "e2ae-bfcp", "hijack"] as const;
export type Scenario = (typeof SCENARIOS)[number];

/** The first exchange one way: a data channel message (e2e), an MSRP SEND / 200 or a BFCP floor request (e2ae). */
export interface FirstMessage {
  text: string;
  /** ms from the INVITE */
  ms: number;
  /** e2ae: "msrp" | "bfcp" */
  protocol?: string;
  /** e2ae: the request, e.g. "SEND", "FloorRequest" */
  method?: string;
  /** e2ae: the answer's status, e.g. 200 (MSRP), "Granted" (BFCP REQUEST-STATUS) */
  status?: number | string;
  /** e2ae: the answering message, e.g. "200 OK", "FloorRequestStatus" */
  response?: string;
}

export interface CallResult {
  scenario: Scenario;
  /** e2ae scenarios: each UE's verdict on its IMS-AGW and the number of e2ae decisions */
  e2ae?: Record<string, unknown>;
  ok: boolean;
  exitCode: number;
  /** what happened, e.g. "dc-verified", "fail-closed", "not-available" */
  outcome: string;
  /** what the scenario expects */
  expected: string;
  message: string;
  ladder: { t: number; from: string; to: string; label: string; warning?: string }[];
  decisions: {
    t: number;
    pcscf: string;
    kind: unknown;
    direction: unknown;
    decision: unknown;
    action: unknown;
    clause: unknown;
    bodyUnchanged: unknown;
    proto?: unknown;
    refuseCode?: unknown;
    /** e2ae anchoring: the AGW's fingerprint put in the SDP toward the UE, the AGW context, the Iq outcome */
    agwFingerprint?: unknown;
    agwContextId?: unknown;
    iq?: unknown;
  }[];
  /** e2e: each UE's DTLS verdict on the other; e2ae: each UE's TLS verdict on its IMS-AGW (`peer: "IMS-AGW"`) */
  verdicts: { ueA?: Record<string, unknown>; ueB?: Record<string, unknown> };
  firstMessage: { aToB?: FirstMessage; bToA?: FirstMessage };
  timings: Record<string, number>;
  error?: { code: string; message: string };
  /** hijack: each attack, what the attacker sent, what it got, and whether it failed */
  attacks?: unknown[];
}

/** What `result()` reads of a finished run. */
export interface RunView {
  ok: boolean;
  exitCode: number;
  outcome: string;
  message: string;
  t0: number;
  timings: Record<string, number>;
  error?: { code: string; message: string };
  e2ae?: Record<string, unknown>;
  net: { events: readonly DemoEvent[] };
}

export function ueEvents(events: readonly DemoEvent[], ue: "ueA" | "ueB", what: UeTraceEvent["what"]): UeTraceEvent[] {
  return events.filter((e): e is UeTraceEvent => e.type === "ue" && e.ue === ue && e.what === what);
}

const PCSCF_OF = { ueA: "pcscf-a", ueB: "pcscf-b" } as const;

/**
 * A UE's e2ae verdict with the fingerprint its own P-CSCF put in the SDP for the IMS-AGW: `agwMatches` says the
 * certificate the UE verified is that AGW's (TR 29.828 §5.2.1.2.2 step 8 / §5.2.1.2.3 step 8).
 */
export function e2aeVerdict(events: readonly DemoEvent[], ue: "ueA" | "ueB"): Record<string, unknown> | undefined {
  const v = ueEvents(events, ue, "e2ae-verdict").at(-1);
  if (!v) return undefined;
  const agw = agwFingerprintOf(events, PCSCF_OF[ue], v.t);
  const presented = typeof v.data.presented === "string" ? v.data.presented : undefined;
  return {
    ...v.data,
    peer: "IMS-AGW",
    agwFingerprint: agw ? `${agw.hash} ${agw.value}` : null,
    agwMatches:
      agw !== undefined &&
      presented !== undefined &&
      v.data.hash === agw.hash &&
      presented.toUpperCase() === agw.value.toUpperCase(),
  };
}

export function result(
  scenario: Scenario,
  run: RunView | undefined,
  expected: string,
  extra: Partial<CallResult> = {},
): CallResult {
  const events = run?.net.events ?? [];
  const t0 = run?.t0 ?? 0;
  const rel = (t: number) => Math.round((t - t0) * 10) / 10;
  const sip = events.filter((e): e is SipTraceEvent => e.type === "sip" && e.t >= t0);
  const first = (ue: "ueA" | "ueB", dir: "aToB" | "bToA"): FirstMessage | undefined => {
    // e2ae: the sender reports the transaction it completed; e2e: the receiver reports the message
    const x = ueEvents(events, dir === "aToB" ? "ueA" : "ueB", "e2ae-exchange")[0];
    if (x) {
      const d = x.data;
      return {
        text: String(d.text),
        ms: rel(x.t),
        protocol: String(d.protocol),
        method: String(d.method),
        ...(typeof d.status === "number" || typeof d.status === "string" ? { status: d.status } : {}),
        ...(d.response !== undefined ? { response: String(d.response) } : {}),
      };
    }
    const e = ueEvents(events, ue, "chat-in")[0];
    return e ? { text: String(e.data.text), ms: rel(e.t) } : undefined;
  };
  const verdict = (ue: "ueA" | "ueB") => e2aeVerdict(events, ue) ?? ueEvents(events, ue, "verdict").at(-1)?.data;
  const aToB = first("ueB", "aToB");
  const bToA = first("ueA", "bToA");
  const va = verdict("ueA");
  const vb = verdict("ueB");
  return {
    scenario,
    ok: run?.ok ?? false,
    exitCode: run?.exitCode ?? EXIT.NOT_AVAILABLE,
    outcome: run?.outcome ?? "not-available",
    expected,
    message: run?.message ?? "",
    ladder: sip.map((e) => ({
      t: rel(e.t),
      from: e.from,
      to: e.to,
      label: e.label,
      ...(e.warning !== undefined ? { warning: e.warning } : {}),
    })),
    decisions: events
      .filter((e) => e.type === "audit" && e.event.event === "ims-alg-decision" && e.t >= t0)
      .map((e) => {
        const a = (e as { event: Record<string, unknown> }).event;
        return {
          t: rel(e.t),
          pcscf: String(a.instance),
          kind: a.kind,
          direction: a.direction,
          decision: a.decision,
          action: a.action,
          clause: a.clause,
          bodyUnchanged: a.bodyUnchanged,
          ...(a.proto !== undefined ? { proto: a.proto } : {}),
          ...(a.refuseCode !== undefined ? { refuseCode: a.refuseCode } : {}),
          ...(a.agwFingerprint !== undefined ? { agwFingerprint: a.agwFingerprint } : {}),
          ...(a.agwContextId !== undefined ? { agwContextId: a.agwContextId } : {}),
          ...(a.iq !== undefined ? { iq: a.iq } : {}),
        };
      }),
    verdicts: { ...(va ? { ueA: va } : {}), ...(vb ? { ueB: vb } : {}) },
    firstMessage: { ...(aToB ? { aToB } : {}), ...(bToA ? { bToA } : {}) },
    timings: Object.fromEntries(Object.entries(run?.timings ?? {}).map(([k, v]) => [k, Math.round(v * 10) / 10])),
    ...(run?.error ? { error: run.error } : {}),
    ...extra,
  };
}
