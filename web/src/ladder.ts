/**
 * The live ladder diagram (SVG): the five columns of TS 33.328 Figure 7.2.5-1, one arrow per SIP hop, notes for the
 * IMS-ALG decisions, DTLS verdicts and chat messages. Pure DOM, no framework.
 */
import { NODE_LABELS, NODES, type NodeId, type SipTraceEvent } from "../../src/demo/events.ts";

export type Tone = "ok" | "bad" | "info" | "warn" | "chat";

export type LadderRow =
  | { kind: "sip"; t: number; e: SipTraceEvent }
  | { kind: "note"; t: number; node: NodeId; tone: Tone; text: string };

const SVG = "http://www.w3.org/2000/svg";
const GUTTER = 58;
const ROW_SIP = 26;
const ROW_NOTE = 24;

function el<K extends keyof SVGElementTagNameMap>(
  name: K,
  attrs: Record<string, string | number>,
  text?: string,
): SVGElementTagNameMap[K] {
  const e = document.createElementNS(SVG, name);
  for (const [k, v] of Object.entries(attrs)) e.setAttribute(k, String(v));
  if (text !== undefined) e.textContent = text;
  return e;
}

function columns(width: number): (n: NodeId) => number {
  const w = Math.max(560, width) - GUTTER;
  return (n) => GUTTER + (NODES.indexOf(n) + 0.5) * (w / NODES.length);
}

/** Header with the node names (drawn separately so that it stays visible while the ladder scrolls). */
export function drawHeader(host: HTMLElement): void {
  const width = host.clientWidth;
  const x = columns(width);
  const svg = el("svg", { width, height: 30, role: "img", "aria-label": "ladder columns" });
  for (const n of NODES) {
    const label = NODE_LABELS[n] + (n === "ueA" ? " (browser)" : n === "ueB" ? " (bob)" : "");
    const w = label.length * 6.9 + 16;
    svg.append(el("rect", { class: "node-box", x: x(n) - w / 2, y: 3, width: w, height: 24, rx: 6 }));
    svg.append(el("text", { class: "node-label", x: x(n), y: 19.5, "text-anchor": "middle" }, label));
  }
  host.replaceChildren(svg);
}

/** Draws the rows; `onSelect` gets the SIP event of a clicked arrow. */
export function drawLadder(
  host: HTMLElement,
  rows: readonly LadderRow[],
  onSelect: (e: SipTraceEvent, index: number) => void,
  selected: number | undefined,
): void {
  const width = host.clientWidth;
  const x = columns(width);
  const height = rows.reduce((h, r) => h + (r.kind === "sip" ? ROW_SIP : ROW_NOTE), 0) + 8;
  const svg = el("svg", { width, height });
  for (const n of NODES) svg.append(el("line", { class: "lifeline", x1: x(n), x2: x(n), y1: 0, y2: height }));
  const t0 = rows[0]?.t ?? 0;
  let y = 4;
  rows.forEach((r, i) => {
    const h = r.kind === "sip" ? ROW_SIP : ROW_NOTE;
    const g = el("g", {});
    if (r.kind === "sip") {
      const e = r.e;
      const hit = el("rect", { class: `row-hit${selected === i ? " selected" : ""}`, x: 0, y, width, height: h });
      hit.addEventListener("click", () => onSelect(e, i));
      g.append(hit);
      const x1 = x(e.from);
      const x2 = x(e.to);
      const dir = x2 > x1 ? 1 : -1;
      const ly = y + 17;
      const tone = e.status === 100 ? " dim" : e.status !== undefined && e.status >= 300 ? " err" : "";
      g.append(el("line", { class: `arrow${tone}`, x1, y1: ly, x2: x2 - dir * 7, y2: ly }));
      g.append(
        el("polygon", {
          class: `arrow-head${tone}`,
          points: `${x2},${ly} ${x2 - dir * 8},${ly - 4} ${x2 - dir * 8},${ly + 4}`,
        }),
      );
      const label = el(
        "text",
        { class: `alabel${tone}${e.sdp ? " sdp" : ""}`, x: (x1 + x2) / 2, y: ly - 4, "text-anchor": "middle" },
        e.label,
      );
      const title = el(
        "title",
        {},
        `${e.label}${e.warning ? `\nWarning: ${e.warning}` : ""}\n(click to see the message)`,
      );
      label.append(title);
      g.append(label);
      g.append(el("text", { class: "tlabel", x: 6, y: ly + 3 }, `+${Math.round(r.t - t0)} ms`));
    } else {
      const text = r.text.length > 90 ? `${r.text.slice(0, 89)}…` : r.text;
      const w = Math.min(width - GUTTER - 8, text.length * 6.1 + 16);
      const cx = Math.min(Math.max(x(r.node), GUTTER + w / 2 + 2), width - w / 2 - 4);
      const note = el("g", { class: `note ${r.tone}` });
      note.append(el("rect", { x: cx - w / 2, y: y + 3, width: w, height: h - 6, rx: 9 }));
      note.append(el("text", { x: cx, y: y + h / 2 + 4, "text-anchor": "middle" }, text));
      note.append(el("title", {}, r.text));
      g.append(note);
      g.append(el("text", { class: "tlabel", x: 6, y: y + h / 2 + 4 }, `+${Math.round(r.t - t0)} ms`));
    }
    svg.append(g);
    y += h;
  });
  const atBottom = host.scrollTop + host.clientHeight >= host.scrollHeight - 4;
  host.replaceChildren(svg);
  if (atBottom) host.scrollTop = host.scrollHeight;
}
