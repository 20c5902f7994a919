/**
 * The demo page: the browser is UE "alice". Its own RTCPeerConnection carries the data channel (negotiated, id
 * 1000); src/sip (SipUserAgent over a browser WebSocket transport, RFC 7118) registers and calls bob through
 * P-CSCF(A); src/sdp adds a=tls-id / a=dcmap to what the browser writes and filters candidates. The demo server's
 * side channel (SSE, /api/events) streams what the P-CSCFs, the S-CSCF and bob see.
 */
import {
  type DemoEvent,
  type NodeId,
  type SipTraceEvent,
  summarizeSip,
  type UeTraceEvent,
} from "../../src/demo/events.ts";
import { WebDigestAuthenticator } from "../../src/sip/auth/webDigest.ts";
import { SipRequestError } from "../../src/sip/errors.ts";
import { BrowserWsTransport } from "../../src/sip/transport/browserWs.ts";
import { type SipCall, SipUserAgent } from "../../src/sip/ua.ts";
import { drawHeader, drawLadder, type LadderRow, type Tone } from "./ladder.ts";
import { type ChannelInfo, filterAnswer, fingerprintOf, prepareOffer, securityLineKind } from "./sdp.ts";

interface DemoConfig {
  sipWsUrl: string;
  outboundProxy: string;
  aor: string;
  peer: string;
  domain: string;
  mediasec: string[];
  channel: ChannelInfo;
  /** the demo's lab Digest credentials of alice (absent when the network runs without authentication) */
  auth?: { impi: string; realm: string; password: string };
}

type AuditEv = Extract<DemoEvent, { type: "audit" }>["event"];

const $ = <T extends HTMLElement = HTMLElement>(id: string): T => {
  const e = document.getElementById(id);
  if (!e) throw new Error(`#${id} missing`);
  return e as T;
};

const now = () => performance.timeOrigin + performance.now();

const state = {
  config: undefined as DemoConfig | undefined,
  ua: undefined as SipUserAgent | undefined,
  call: undefined as SipCall | undefined,
  callId: "",
  pc: undefined as RTCPeerConnection | undefined,
  dc: undefined as RTCDataChannel | undefined,
  localSdp: "",
  offer: "",
  answer: "",
  rows: [] as LadderRow[],
  selected: undefined as number | undefined,
  message: undefined as SipTraceEvent | undefined,
  tab: "offer" as "offer" | "answer" | "message",
};

// ---------------------------------------------------------------------------------------------------------------------
// small view helpers

function pill(id: string, st: "idle" | "ok" | "bad" | "busy", text: string): void {
  const p = $(id);
  p.dataset.state = st;
  p.textContent = text;
}

function banner(tone: "ok" | "bad" | "warn" | "info", html: string): void {
  const b = $("banner");
  b.hidden = false;
  b.dataset.tone = tone;
  b.innerHTML = html;
}

function esc(s: string): string {
  return s.replace(/[&<>"]/g, (c) => ({ "&": "&amp;", "<": "&lt;", ">": "&gt;", '"': "&quot;" })[c] ?? c);
}

function setCallState(s: string): void {
  $("callstate").textContent = s;
}

/** Fingerprint as first 6 … last 6 bytes (full value in the tooltip), the bytes that differ from `other` marked. */
function fpHtml(fp: string | undefined, other?: string): string {
  if (!fp) return "—";
  const a = fp.split(":");
  const b = (other ?? fp).split(":");
  const mark = (x: string, i: number) => (x === b[i] ? esc(x) : `<span class="diff">${esc(x)}</span>`);
  const parts = a.map(mark);
  const short = a.length > 14 ? `${parts.slice(0, 6).join(":")} … ${parts.slice(-6).join(":")}` : parts.join(":");
  return `<span title="${esc(fp)}">${short}</span>`;
}

function verdict(which: "a" | "b", st: "idle" | "ok" | "bad" | "busy", badge: string): void {
  $(`v-${which}`).dataset.state = st;
  $(`v-${which}-badge`).textContent = badge;
}

// ---------------------------------------------------------------------------------------------------------------------
// ladder

function addRow(r: LadderRow): void {
  state.rows.push(r);
  state.rows.sort((x, y) => x.t - y.t);
  scheduleLadder();
}

let ladderPending = false;
function scheduleLadder(): void {
  if (ladderPending) return;
  ladderPending = true;
  requestAnimationFrame(() => {
    ladderPending = false;
    drawLadder(
      $("ladder"),
      state.rows,
      (e, i) => {
        state.selected = i;
        state.message = e;
        selectTab("message");
        scheduleLadder();
      },
      state.selected,
    );
  });
}

function note(node: NodeId, tone: Tone, text: string, t = now()): void {
  addRow({ kind: "note", t, node, tone, text });
}

// ---------------------------------------------------------------------------------------------------------------------
// SDP panel

function selectTab(tab: "offer" | "answer" | "message"): void {
  state.tab = tab;
  document.querySelectorAll<HTMLButtonElement>(".tab").forEach((b) => {
    b.setAttribute("aria-selected", String(b.dataset.tab === tab));
  });
  renderSdp();
}

function renderSdp(): void {
  const pre = $("sdp");
  const text =
    state.tab === "offer" ? state.offer : state.tab === "answer" ? state.answer : (state.message?.text ?? "");
  if (!text) {
    const what =
      state.tab === "message" ? "click an arrow in the ladder" : `the ${state.tab} appears here during a call`;
    pre.innerHTML = `<span class="empty">${what}</span>`;
    return;
  }
  const local = new Set(state.localSdp.split(/\r?\n/));
  const lines = text.replace(/\r?\n$/, "").split(/\r?\n/);
  pre.innerHTML = lines
    .map((l) => {
      const k = securityLineKind(l);
      const changed = state.tab === "offer" && state.localSdp !== "" && l.startsWith("a=") && !local.has(l);
      const why = k === "fingerprint" ? "tampered" : "added";
      const cls = k
        ? `ln sec k-${k}`
        : l.startsWith("m=")
          ? "ln m"
          : l.startsWith("a=candidate") || l.startsWith("a=ice-")
            ? "ln dim"
            : "ln";
      const tag = changed
        ? ` title="${why === "added" ? "added by the page (src/sdp): Chromium writes no tls-id / dcmap" : "the page flipped a byte: this is not the browser's certificate"}"`
        : "";
      return `<span class="${cls}${changed ? ` ${why}` : ""}"${tag}>${esc(l)}${changed ? `<span class="mark">⟵ ${why}</span>` : ""}</span>`;
    })
    .join("");
  // bring the security lines into view (the candidates and ICE lines come first)
  const first = pre.querySelector<HTMLElement>(".ln.sec");
  pre.scrollTop = first ? Math.max(0, first.offsetTop - pre.offsetTop - 60) : 0;
}

// ---------------------------------------------------------------------------------------------------------------------
// side channel (SSE): what the network and bob see

function onServerEvent(ev: DemoEvent): void {
  if (ev.type === "sip") {
    addRow({ kind: "sip", t: ev.t, e: ev });
    return;
  }
  if (ev.type === "audit") onAudit(ev.event, ev.t);
  else onBob(ev);
}

function onAudit(a: AuditEv, t: number): void {
  if (a.event === "ims-alg-decision") {
    if (state.callId === "" || a.callId !== state.callId) return;
    const who = a.instance === "pcscf-b" ? "pcscfB" : "pcscfA";
    const refused = a.action === "refuse";
    const tag = refused ? "refuse" : String(a.decision);
    note(
      who,
      refused ? "bad" : a.decision === "e2e" ? "ok" : "info",
      `IMS-ALG ${String(a.kind)}: ${String(a.decision)}${refused ? ` → ${String(a.status)} ${String(a.refuseCode ?? "")}` : ""} · ${a.clause}`,
      t,
    );
    const box = $("decisions");
    box.querySelector(".empty")?.remove();
    const d = document.createElement("div");
    d.className = "dec";
    const clause = `${a.clause}${a.bodyUnchanged === true ? " · body unchanged (SHA-256 in = out)" : ""}`;
    d.innerHTML = `<span>${who === "pcscfA" ? "P-CSCF(A)" : "P-CSCF(B)"}</span><span>${esc(String(a.kind))}</span><span class="tag ${esc(tag)}">${esc(String(a.decision))}</span><span class="clause" title="${esc(clause)}">${esc(clause)}</span>${
      refused && typeof a.warning === "string"
        ? `<span class="warn">${esc(String(a.status))} Warning: ${esc(a.warning)}</span>`
        : ""
    }`;
    box.append(d);
    return;
  }
  if (a.event === "session-release" && a.callId === state.callId) {
    note(a.instance === "pcscf-b" ? "pcscfB" : "pcscfA", "warn", `releases the session: ${String(a.reason)}`, t);
  }
}

function onBob(ev: UeTraceEvent): void {
  if (ev.ue !== "ueB") return;
  const d = ev.data;
  if (d.callId !== undefined && d.callId !== state.callId) return;
  switch (ev.what) {
    case "verdict": {
      const signalled = Array.isArray(d.signalled) ? String(d.signalled[0] ?? "") : "";
      const presented = typeof d.presented === "string" ? d.presented : undefined;
      $("v-b-sdp").innerHTML = fpHtml(signalled || undefined, presented);
      $("v-b-seen").innerHTML = fpHtml(presented, signalled);
      if (d.verified === true) {
        verdict("b", "ok", "verified");
        $("v-b-note").textContent = `bob's DTLS · certificate matches a=fingerprint (${String(d.hash)}, RFC 8122 §5.1)`;
        note("ueB", "ok", `✔ DTLS: alice's certificate matches a=fingerprint (${String(d.hash)})`, ev.t);
      } else {
        verdict("b", "bad", "REFUSED");
        $("v-b-note").textContent =
          `${String(d.code ?? "")} ${String(d.reason ?? "")} (RFC 8122 §6: no application data)`;
        note("ueB", "bad", `✘ DTLS refused: ${String(d.code ?? "")} ${String(d.reason ?? "")}`, ev.t);
      }
      return;
    }
    case "failure":
      note("ueB", "bad", `✘ data channel failed: ${String(d.code)}`, ev.t);
      if (String(d.code) === "E_FP_MISMATCH" || String(d.code) === "E_DTLS_AUTH") verdict("b", "bad", "REFUSED");
      return;
    case "chat-in":
      note("ueB", "chat", `✉ got "${String(d.text)}"`, ev.t);
      return;
    case "dc-state":
      if (d.state === "channel-open") note("ueB", "ok", `⇄ data channel ${String(d.channel)} open`, ev.t);
      return;
    default:
      return;
  }
}

/** This page's id on the side channel: the server keeps per-page slots (a reconnect replaces its own stream). */
const SIDE_CLIENT = Array.from(crypto.getRandomValues(new Uint8Array(12)), (b) => b.toString(16).padStart(2, "0")).join(
  "",
);

function connectSideChannel(): void {
  const es = new EventSource(`api/events?client=${SIDE_CLIENT}`);
  es.addEventListener("open", () => pill("pill-side", "ok", "side channel"));
  es.addEventListener("error", () => {
    if (es.readyState !== EventSource.CLOSED) pill("pill-side", "bad", "side channel lost");
  });
  // the server ended this stream for a newer page (its slots are full): no reconnect, which would evict that page
  es.addEventListener("evicted", () => {
    es.close();
    pill("pill-side", "bad", "side channel taken by a newer page: reload to get it back");
  });
  es.addEventListener("message", (m: MessageEvent<string>) => {
    try {
      onServerEvent(JSON.parse(m.data) as DemoEvent);
    } catch {
      // one bad event never stops the page
    }
  });
}

// ---------------------------------------------------------------------------------------------------------------------
// chat

function chat(kind: "me" | "peer" | "sys", text: string): void {
  const box = $("chat");
  box.querySelector(".empty")?.remove();
  const m = document.createElement("div");
  m.className = `msg ${kind}`;
  m.textContent = text;
  box.append(m);
  box.scrollTop = box.scrollHeight;
}

function enableChat(on: boolean): void {
  $<HTMLInputElement>("chat-input").disabled = !on;
  $<HTMLButtonElement>("chat-send").disabled = !on;
}

// ---------------------------------------------------------------------------------------------------------------------
// WebRTC: the browser's own data channel

function gathered(pc: RTCPeerConnection, ms: number): Promise<void> {
  if (pc.iceGatheringState === "complete") return Promise.resolve();
  return new Promise((resolve) => {
    const t = setTimeout(resolve, ms);
    pc.addEventListener("icegatheringstatechange", () => {
      if (pc.iceGatheringState === "complete") {
        clearTimeout(t);
        resolve();
      }
    });
  });
}

/** The certificate the browser's DTLS actually saw (getStats: transport.remoteCertificateId → certificate). */
async function seenCertificate(pc: RTCPeerConnection): Promise<{ hash: string; value: string } | undefined> {
  const stats = await pc.getStats();
  type Stat = {
    id: string;
    type: string;
    remoteCertificateId?: string;
    fingerprint?: string;
    fingerprintAlgorithm?: string;
  };
  const all: Stat[] = [];
  stats.forEach((s: Stat) => {
    all.push(s);
  });
  const certId = all.find((s) => s.type === "transport" && s.remoteCertificateId)?.remoteCertificateId;
  const c = certId ? all.find((s) => s.id === certId && s.type === "certificate") : undefined;
  return c?.fingerprint ? { hash: c.fingerprintAlgorithm ?? "sha-256", value: c.fingerprint.toUpperCase() } : undefined;
}

async function onConnected(pc: RTCPeerConnection): Promise<void> {
  const seen = await seenCertificate(pc);
  const signalled = fingerprintOf(state.answer);
  $("v-a-sdp").innerHTML = fpHtml(signalled?.value, seen?.value);
  $("v-a-seen").innerHTML = fpHtml(seen?.value, signalled?.value);
  if (seen && signalled && seen.value === signalled.value) {
    verdict("a", "ok", "verified");
    $("v-a-note").textContent = `Chromium's DTLS accepted bob · getStats() certificate = a=fingerprint (${seen.hash})`;
    note("ueA", "ok", `✔ DTLS: bob's certificate matches a=fingerprint (${seen.hash})`);
  } else {
    verdict("a", "bad", "MISMATCH");
    $("v-a-note").textContent = "the certificate seen does not match the answer's fingerprint";
    note("ueA", "bad", "✘ DTLS: certificate seen ≠ a=fingerprint");
  }
}

function openDataChannel(pc: RTCPeerConnection, ch: ChannelInfo): RTCDataChannel {
  // RFC 8832 §6 / RFC 8864: a negotiated channel with the id of our a=dcmap, no DCEP on the wire
  const dc = pc.createDataChannel(ch.label, { negotiated: true, id: ch.id, protocol: ch.subprotocol });
  dc.addEventListener("open", () => {
    enableChat(true);
    chat("sys", `data channel ${ch.id} open`);
    note("ueA", "ok", `⇄ data channel ${ch.id} open`);
  });
  dc.addEventListener("close", () => enableChat(false));
  dc.addEventListener("message", (m: MessageEvent<unknown>) => {
    const text = typeof m.data === "string" ? m.data : "[binary]";
    chat("peer", text);
    note("ueA", "chat", `✉ got "${text}"`);
  });
  return dc;
}

// ---------------------------------------------------------------------------------------------------------------------
// SIP: register and call

function resetCall(): void {
  state.rows = [];
  state.selected = undefined;
  state.message = undefined;
  state.offer = "";
  state.answer = "";
  state.localSdp = "";
  $("decisions").innerHTML = '<div class="empty">waiting for the offer</div>';
  $("chat").innerHTML = '<div class="empty">the data channel opens after the call is set up</div>';
  for (const w of ["a", "b"] as const) {
    verdict(w, "busy", "…");
    $(`v-${w}-sdp`).textContent = "—";
    $(`v-${w}-seen`).textContent = "—";
  }
  $("v-a-note").textContent = "getStats() remoteCertificateId → certificate.fingerprint";
  $("v-b-note").textContent = "from bob's DcEndpoint via the side channel";
  $("banner").hidden = true;
  selectTab("offer");
  scheduleLadder();
}

function endCall(): void {
  state.dc?.close();
  state.pc?.close();
  state.dc = undefined;
  state.pc = undefined;
  state.call = undefined;
  enableChat(false);
  $<HTMLButtonElement>("btn-call").disabled = !state.ua?.registered;
  $<HTMLButtonElement>("btn-hangup").disabled = true;
}

async function startCall(): Promise<void> {
  const cfg = state.config;
  const ua = state.ua;
  if (!cfg || !ua) return;
  resetCall();
  const requestE2ae = $<HTMLInputElement>("opt-e2ae").checked;
  const tamper = $<HTMLInputElement>("opt-tamper").checked;
  $<HTMLButtonElement>("btn-call").disabled = true;
  $<HTMLButtonElement>("btn-hangup").disabled = false;
  newPeer(cfg.channel);
  pendingOffer = { requestE2ae, tamper };
  setCallState("calling");
  const call = ua.call(cfg.peer);
  state.call = call;
  state.callId = call.callId;
  call.on("state", (s) => setCallState(s));
  void call.terminated().then((info) => {
    if (state.call !== call) return;
    const why = info.status !== undefined ? `${info.status} · ${info.reason}` : info.reason;
    setCallState(`ended: ${why}`);
    if (info.reason === "remote-bye" && tamper)
      banner(
        "bad",
        `Fail closed: bob's DTLS refused the tampered fingerprint, the data channel never opened, bob released the call with BYE.`,
      );
    else if (info.reason === "remote-bye") banner("warn", "bob ended the call (BYE)");
    endCall();
  });
  try {
    await call.established();
    if (tamper) banner("warn", "Signalling completed with a tampered fingerprint. Watch bob's DTLS verdict…");
  } catch (e) {
    if (e instanceof SipRequestError) {
      const res = e.response as
        | { getHeader(n: string): string | undefined; status: number; reason: string }
        | undefined;
      const warning = res?.getHeader("Warning");
      const e2ae = requestE2ae && e.status === 488;
      banner(
        "bad",
        `<b>${e.status} ${esc(res?.reason ?? "")}</b>${warning ? `<br>Warning: <code>${esc(warning)}</code>` : ""}${
          e2ae
            ? "<br>The P-CSCF took the e2ae branch; no IMS-AGW anchoring is available, so it fails closed (TS 33.328 §7.2.1)."
            : ""
        }`,
      );
      verdict("a", "idle", "—");
      verdict("b", "idle", "—");
    } else if ($("banner").hidden || $("banner").dataset.tone !== "bad") {
      banner("bad", esc(e instanceof Error ? e.message : String(e)));
    }
    endCall();
  }
}

let pendingOffer: { requestE2ae: boolean; tamper: boolean } | undefined;

/** The browser's peer connection (no ICE servers: host candidates only) and its negotiated data channel. */
function newPeer(ch: ChannelInfo): RTCPeerConnection {
  const pc = new RTCPeerConnection({ iceServers: [] });
  state.pc = pc;
  state.dc = openDataChannel(pc, ch);
  pc.addEventListener("connectionstatechange", () => {
    if (pc.connectionState === "connected") void onConnected(pc);
    if (pc.connectionState === "failed" && state.pc === pc) {
      verdict("a", "bad", "failed");
      $("v-a-note").textContent = "DTLS/ICE failed: no certificate verified, no data";
      note("ueA", "bad", "✘ DTLS/ICE failed");
    }
  });
  return pc;
}

/** Chromium writes 127.0.0.1 host candidates only with --allow-loopback-in-peer-connection and media permission. */
const LOOPBACK_HELP =
  "Chromium gathered no 127.0.0.1 candidate. Start it with <code>--allow-loopback-in-peer-connection</code> (see docs/demo.md) and allow the microphone when asked: the permission is what makes Chromium reveal host addresses instead of mDNS names.";

async function gatherOffer(pc: RTCPeerConnection): Promise<string> {
  const offer = await pc.createOffer();
  await pc.setLocalDescription(offer);
  await gathered(pc, 3000);
  return pc.localDescription?.sdp ?? "";
}

const hasLoopback = (sdp: string) => /^a=candidate:\S+ \d+ udp \d+ 127\.0\.0\.1 /im.test(sdp);

async function createOffer(): Promise<Uint8Array> {
  const p = pendingOffer;
  const cfg = state.config;
  const first = state.pc;
  if (!p || !cfg || !first) throw new Error("no call in progress");
  let local = await gatherOffer(first);
  if (!hasLoopback(local)) {
    // without media permission Chromium hides host addresses (mDNS names, notes/peers.md §2.1): ask once, regather
    try {
      const media = await navigator.mediaDevices.getUserMedia({ audio: true });
      for (const t of media.getTracks()) t.stop();
      first.close();
      local = await gatherOffer(newPeer(cfg.channel));
    } catch {
      // refused or no device: the check below explains
    }
  }
  if (!hasLoopback(local)) {
    banner("bad", LOOPBACK_HELP);
    throw new Error("no 127.0.0.1 ICE candidate");
  }
  state.localSdp = local;
  const prepared = prepareOffer(local, { channel: cfg.channel, requestE2ae: p.requestE2ae, tamper: p.tamper });
  state.offer = prepared.sdp;
  const real = fingerprintOf(local);
  const sent = fingerprintOf(prepared.sdp);
  if (p.tamper && real && sent) {
    $("v-b-sdp").innerHTML = fpHtml(sent.value, real.value);
    note("ueA", "warn", "⚠ offer leaves with a flipped a=fingerprint byte");
  }
  renderSdp();
  return new TextEncoder().encode(prepared.sdp);
}

async function onAnswer(answer: Uint8Array): Promise<void> {
  const text = new TextDecoder().decode(answer);
  state.answer = text;
  renderSdp();
  const fp = fingerprintOf(text);
  $("v-a-sdp").innerHTML = fpHtml(fp?.value);
  await state.pc?.setRemoteDescription({ type: "answer", sdp: filterAnswer(text) });
}

async function boot(): Promise<void> {
  applyTheme(localStorage.getItem("imsdc-theme"));
  drawHeader($("ladder-head"));
  scheduleLadder();
  const cfg = (await (await fetch("api/config")).json()) as DemoConfig;
  state.config = cfg;
  $("aor").textContent = cfg.aor;
  $<HTMLButtonElement>("btn-call").textContent = `Call ${cfg.peer.replace(/^sip:([^@]+)@.*/, "$1")}`;
  connectSideChannel();
  pill("pill-ws", "busy", "SIP/WS connecting");
  // RFC 7118 §5 / RFC 6455 §3: a page loaded over https uses a secure WebSocket (WSS); a browser also refuses ws:
  // from an https page (mixed content), so the scheme follows the page's
  const sipUrl = location.protocol === "https:" ? cfg.sipWsUrl.replace(/^ws:/i, "wss:") : cfg.sipWsUrl;
  const wsHost = new URL(sipUrl).host;
  const wsLabel = sipUrl.startsWith("wss:") ? "SIP/WSS" : "SIP/WS";
  const transport = new BrowserWsTransport({
    url: sipUrl,
    onTrace: (dir, bytes) => {
      // what the page sends is drawn from here; what it receives is drawn from P-CSCF(A)'s own trace
      if (dir !== "out") return;
      const e = summarizeSip(bytes, "ueA", "pcscfA", now());
      if (e) addRow({ kind: "sip", t: e.t, e });
    },
    onOpen: () => pill("pill-ws", "ok", `${wsLabel} ${wsHost}`),
    onClose: () => {
      pill("pill-ws", "bad", "SIP/WS closed");
      $<HTMLButtonElement>("btn-call").disabled = true;
    },
  });
  try {
    await transport.connect();
  } catch (e) {
    pill("pill-ws", "bad", "SIP/WS failed");
    banner(
      "bad",
      `cannot reach P-CSCF(A) at <code>${esc(sipUrl)}</code>: ${esc(e instanceof Error ? e.message : String(e))}`,
    );
    return;
  }
  const ua = new SipUserAgent({
    transport,
    ownsTransport: true,
    aor: cfg.aor,
    displayName: "Alice (browser)",
    outboundProxy: cfg.outboundProxy,
    // TS 24.229 §7.2A.7: the media-plane mechanisms; dc-dtls lets the P-CSCF take the e2ae branch when requested
    mediasec: cfg.mediasec,
    userAgent: "imsdc-web",
    // RFC 3261 §22.4 / RFC 7616: the S-CSCF challenges the REGISTER; the page answers with Digest SHA-256 (WebCrypto)
    ...(cfg.auth ? { auth: new WebDigestAuthenticator(cfg.auth) } : {}),
    // RFC 5626 §4.5: when the WebSocket closes (e.g. the P-CSCF restarts), reconnect and re-REGISTER at once, then with
    // back-off; a lab page uses base 2 s / max 60 s instead of the RFC's 30 s / 1800 s
    flowRecovery: { baseMs: 2000, maxMs: 60_000 },
    sdp: {
      createOffer: () => createOffer(),
      onOffer: () => ({ reject: 488, reason: "This page only places calls" }),
      onAnswer: (a) => onAnswer(a),
    },
  });
  state.ua = ua;
  const reg = cfg.aor.replace(/^sip:/, "");
  ua.on("registered", () => {
    pill("pill-reg", "ok", `registered ${reg}`);
    $<HTMLButtonElement>("btn-call").disabled = state.call !== undefined;
  });
  ua.on("flowFailed", (f) => {
    pill("pill-reg", "busy", "re-registering");
    note("ueA", "warn", `SIP/WS flow failed (${f.reason}): re-REGISTER over a new connection (RFC 5626 §4.5)`);
    if (f.calls.length > 0) note("ueA", "info", "the call is kept: its data channel does not run over the SIP flow");
  });
  ua.on("registrationFailed", (f) => {
    if (f.retryInMs === undefined) return;
    pill("pill-reg", "bad", `not registered (${f.code}), retry in ${Math.ceil(f.retryInMs / 1000)} s`);
  });
  pill("pill-reg", "busy", "registering");
  try {
    await ua.register();
  } catch (e) {
    pill("pill-reg", "bad", "registration failed");
    banner("bad", `REGISTER failed: ${esc(e instanceof Error ? e.message : String(e))}`);
  }
}

function applyTheme(t: string | null): void {
  const dark = t === "dark" || (t === null && window.matchMedia("(prefers-color-scheme: dark)").matches);
  document.documentElement.dataset.theme = dark ? "dark" : "light";
}

function wire(): void {
  $("btn-call").addEventListener("click", () => void startCall());
  $("btn-hangup").addEventListener("click", () => {
    const c = state.call;
    if (!c) return;
    if (c.state === "established") void c.hangup().catch(() => undefined);
    else c.cancel();
  });
  $("btn-clear").addEventListener("click", () => {
    state.rows = [];
    state.selected = undefined;
    scheduleLadder();
  });
  $("theme").addEventListener("click", () => {
    const next = document.documentElement.dataset.theme === "dark" ? "light" : "dark";
    localStorage.setItem("imsdc-theme", next);
    applyTheme(next);
  });
  document.querySelectorAll<HTMLButtonElement>(".tab").forEach((b) => {
    b.addEventListener("click", () => selectTab((b.dataset.tab ?? "offer") as "offer" | "answer" | "message"));
  });
  $("chat-form").addEventListener("submit", (ev) => {
    ev.preventDefault();
    const input = $<HTMLInputElement>("chat-input");
    const text = input.value.trim();
    if (!text || state.dc?.readyState !== "open") return;
    state.dc.send(text);
    chat("me", text);
    note("ueA", "chat", `✉ sent "${text}"`);
    input.value = "";
  });
  window.addEventListener("resize", () => {
    drawHeader($("ladder-head"));
    scheduleLadder();
  });
}

wire();
void boot();
