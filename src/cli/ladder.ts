/**
 * Text ladder of a call through the embedded network (the columns of TS 33.328 Figure 7.2.5-1): one line per SIP
 * hop, with the IMS-ALG decisions, DTLS verdicts and data channel messages as annotation lines in between.
 */
import {
  type AuditTraceEvent,
  agwFingerprintOf,
  type DemoEvent,
  NODE_LABELS,
  NODES,
  type NodeId,
  type SipTraceEvent,
  type UeTraceEvent,
} from "../demo/events.ts";

const GAP = 22;
const LEFT = 10;

export interface LadderStyle {
  color: boolean;
}

const ANSI = {
  dim: "\x1b[2m",
  red: "\x1b[31m",
  green: "\x1b[32m",
  yellow: "\x1b[33m",
  cyan: "\x1b[36m",
  reset: "\x1b[0m",
};

function paint(s: string, c: keyof typeof ANSI, style: LadderStyle): string {
  return style.color ? `${ANSI[c]}${s}${ANSI.reset}` : s;
}

function col(n: NodeId): number {
  return NODES.indexOf(n);
}

function time(t: number, t0: number): string {
  const d = t - t0;
  return `${d >= 0 ? "+" : ""}${d.toFixed(1)}`.padStart(8);
}

function ladderHeader(): string {
  let line = " ".repeat(LEFT);
  for (const [i, n] of NODES.entries()) {
    const label = NODE_LABELS[n];
    const center = i * GAP;
    const start = Math.max(0, center - Math.floor(label.length / 2));
    line = line.padEnd(LEFT + start) + label;
  }
  return `${line}\n`;
}

/** One arrow line: vertical bars on every column, the arrow with its label between sender and receiver. */
function arrowLine(e: SipTraceEvent, t0: number, style: LadderStyle): string {
  const width = (NODES.length - 1) * GAP + 1;
  const cells: string[] = Array.from({ length: width }, (_, x) => (x % GAP === 0 ? "│" : " "));
  const a = col(e.from) * GAP;
  const b = col(e.to) * GAP;
  const lo = Math.min(a, b);
  const hi = Math.max(a, b);
  for (let x = lo + 1; x < hi; x++) cells[x] = "─";
  if (b > a) cells[hi - 1] = ">";
  else cells[lo + 1] = "<";
  const room = hi - lo - 4;
  // the ladder is narrow: "INVITE (offer)" rather than "INVITE (SDP offer)"
  let label = e.label.replace(" (SDP ", " (");
  if (label.length > room) label = `${label.slice(0, room - 1)}…`;
  const start = lo + 2 + Math.floor((room - label.length) / 2);
  for (let i = 0; i < label.length; i++) cells[start + i] = label[i] ?? " ";
  let body = cells.join("");
  if (e.status === 100) body = paint(body, "dim", style);
  else if (e.status !== undefined && e.status >= 300) body = paint(body, "red", style);
  return `${time(e.t, t0)}  ${body}\n`;
}

function note(t: number, t0: number, mark: string, who: string, text: string): string {
  return `${time(t, t0)}  ${mark} ${who.padEnd(10)} ${text}\n`;
}

/** Short fingerprint: first and last two bytes. */
export function shortFp(fp: unknown): string {
  if (typeof fp !== "string" || fp.length < 12) return String(fp ?? "-");
  return `${fp.slice(0, 5)}…${fp.slice(-5)}`;
}

function auditLine(a: AuditTraceEvent, t0: number, style: LadderStyle): string | undefined {
  const e = a.event;
  const who = e.node === "pcscf" ? (e.instance === "pcscf-b" ? "P-CSCF(B)" : "P-CSCF(A)") : e.node.toUpperCase();
  if (e.event === "ims-alg-decision") {
    // the data channel m-line, a body-level decision, or an e2ae stream (TR 29.828 §5.2.1.2 / §5.2.1.3)
    const e2ae = e.decision === "e2ae";
    if (e.proto !== "UDP/DTLS/SCTP" && e.mline !== null && !e2ae) return undefined;
    const unchanged = e.bodyUnchanged === true ? ", body forwarded byte for byte" : "";
    const refused = e.action === "refuse" ? ` → ${e.status} ${String(e.refuseCode ?? "")}` : "";
    const mark = e.action === "refuse" ? paint("◆", "red", style) : paint("◆", "cyan", style);
    const anchored =
      e2ae && e.action === "anchor"
        ? ` → anchored on the IMS-AGW (${String(e.proto)}, context ${String(e.agwContextId ?? "-")}, AGW certificate ${shortFp(String(e.agwFingerprint ?? "").split(" ")[1])} toward the UE)`
        : "";
    return note(a.t, t0, mark, who, `IMS-ALG ${e.kind}: ${e.decision}${refused}${anchored} (${e.clause})${unchanged}`);
  }
  if (e.event === "session-release") {
    return note(a.t, t0, paint("◆", "yellow", style), who, `releases the session: ${String(e.reason)} (${e.clause})`);
  }
  if (e.node === "scscf" && typeof e.decision === "string" && e.decision.startsWith("auth-")) {
    // registration authentication (docs/auth.md): challenges and successes in cyan, refusals in red
    const ok = e.decision === "auth-ok" || e.decision === "auth-challenge";
    const impu = typeof e.impu === "string" ? ` ${e.impu}` : "";
    const why = typeof e.why === "string" ? ` (${e.why})` : "";
    return note(a.t, t0, paint("◆", ok ? "cyan" : "red", style), "S-CSCF", `${e.decision}${impu}${why} (${e.clause})`);
  }
  if (e.node === "agw") {
    // the AGW's check of the UE's certificate (RFC 8122 §6): which certificate it saw
    const p = e.presented as { value?: unknown } | undefined;
    const seen = typeof p?.value === "string" ? ` UE certificate ${shortFp(p.value)}` : "";
    return note(a.t, t0, "◆", "IMS-AGW", `${e.decision}${seen} (${e.clause})`);
  }
  return undefined;
}

function ueLine(u: UeTraceEvent, t0: number, style: LadderStyle, events: readonly DemoEvent[]): string | undefined {
  const who = NODE_LABELS[u.ue];
  const d = u.data;
  switch (u.what) {
    case "e2ae-verdict": {
      // the UE's TLS peer is the IMS-AGW its own P-CSCF signalled (TR 29.828 §5.2.1.2.2 / §5.2.1.2.3 step 8)
      const agw = agwFingerprintOf(events, u.ue === "ueA" ? "pcscf-a" : "pcscf-b", u.t);
      const isAgw =
        agw !== undefined && typeof d.presented === "string" && d.presented.toUpperCase() === agw.value.toUpperCase();
      const proto = String(d.protocol).toUpperCase();
      if (d.verified !== true)
        return note(
          u.t,
          t0,
          paint("✘", "red", style),
          who,
          `${proto} TLS peer REFUSED: ${String(d.code ?? "")} ${String(d.reason ?? "")} (RFC 8122 §6)`,
        );
      return note(
        u.t,
        t0,
        paint("✔", "green", style),
        who,
        `${proto} TLS peer verified: certificate ${shortFp(d.presented)} matches a=fingerprint (${String(d.hash)}, RFC 8122 §5.1), ${isAgw ? "the IMS-AGW's" : "NOT the IMS-AGW's signalled by its P-CSCF"}`,
      );
    }
    case "e2ae-exchange": {
      const what = d.protocol === "msrp" ? `"${String(d.text)}"` : `(${String(d.text)})`;
      const response = String(d.response);
      const status = response.startsWith(String(d.status)) ? "" : ` ${String(d.status)}`;
      return note(
        u.t,
        t0,
        "⇄",
        who,
        `${String(d.protocol).toUpperCase()} ${String(d.method)} ${what} → ${response}${status}, through the IMS-AGW`,
      );
    }
    case "verdict":
      return d.verified === true
        ? note(
            u.t,
            t0,
            paint("✔", "green", style),
            who,
            `DTLS peer verified: certificate ${shortFp(d.presented)} matches a=fingerprint (${String(d.hash)}, RFC 8122 §5.1)`,
          )
        : note(
            u.t,
            t0,
            paint("✘", "red", style),
            who,
            `DTLS peer REFUSED: ${String(d.code ?? "")} ${String(d.reason ?? "")} (RFC 8122 §6)`,
          );
    case "chat-in":
      return note(u.t, t0, "✉", who, `received "${String(d.text)}"`);
    case "dc-state":
      return d.state === "channel-open" ? note(u.t, t0, "⇄", who, `data channel ${String(d.channel)} open`) : undefined;
    case "failure":
      return note(
        u.t,
        t0,
        paint("✘", "red", style),
        who,
        `data channel failed: ${String(d.code)} ${String(d.message)}`,
      );
    default:
      return undefined;
  }
}

/** Renders the events from `t0` on as a ladder. */
export function renderLadder(events: readonly DemoEvent[], t0: number, style: LadderStyle): string {
  let out = `${"ms".padStart(8)}  ${ladderHeader().slice(LEFT)}`;
  for (const e of events) {
    if (e.t < t0) continue;
    const line =
      e.type === "sip"
        ? arrowLine(e, t0, style)
        : e.type === "audit"
          ? auditLine(e, t0, style)
          : ueLine(e, t0, style, events);
    if (line) out += line;
  }
  return out;
}
