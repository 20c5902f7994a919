/**
 * The UE's ICE modes and the decision, per association, whether ICE runs at all and in which role.
 *
 * - "full": a full ICE agent (RFC 8445), what WebRTC IMS clients need (TS 24.371).
 * - "lite": an ICE-lite agent as in TS 26.114 Annex A.17: `a=ice-lite`, `a=ice-options:ice2`, one host candidate equal
 *   to the `c=` address and m-line port; it only answers checks (RFC 8445 §2.5).
 * - "none": no ICE attributes at all; media goes to the peer's `c=`/port (TS 24.186 §9.3, RFC 8841 §4 over UDP).
 */
import type { IceOptions } from "../sdp/index.ts";

export type IceMode = "full" | "lite" | "none";

export const ICE_MODES: readonly IceMode[] = ["full", "lite", "none"];

export function isIceMode(v: unknown): v is IceMode {
  return v === "full" || v === "lite" || v === "none";
}

/** What the remote m-line signalled about ICE. */
export interface RemoteIce {
  ufrag?: string | undefined;
  pwd?: string | undefined;
  lite: boolean;
}

function remoteUsesIce(r: RemoteIce): boolean {
  return Boolean(r.ufrag && r.pwd);
}

export type IcePlan =
  | { kind: "ice"; controlling: boolean; clause: string }
  | { kind: "direct"; reason: "local-none" | "remote-none" | "both-lite"; clause: string };

/**
 * Runs ICE, or not, for one association. `offerer`: we made the offer of this exchange.
 */
export function planIce(local: IceMode, remote: RemoteIce, offerer: boolean): IcePlan {
  // TS 24.186 §9.3: an IMS UE without ICE addresses the data channel media by c= and the m-line port
  if (local === "none") return { kind: "direct", reason: "local-none", clause: "TS 24.186 §9.3" };
  if (!remoteUsesIce(remote)) {
    // RFC 8839 §3.3.2 (answerer: an offer without ICE → no ICE) / §3.3.3 (offerer: an answer without ICE → RFC 3264
    // procedures for the session)
    return { kind: "direct", reason: "remote-none", clause: offerer ? "RFC 8839 §3.3.3" : "RFC 8839 §3.3.2" };
  }
  if (local === "lite" && remote.lite) {
    // RFC 8445 §6.1.1: with two lite agents no checks run; each side uses the default candidates (c=/port)
    return { kind: "direct", reason: "both-lite", clause: "RFC 8445 §6.1.1" };
  }
  // RFC 8445 §6.1.1: a full agent facing a lite one is controlling; a lite agent is controlled; otherwise the offerer
  if (local === "lite") return { kind: "ice", controlling: false, clause: "RFC 8445 §6.1.1" };
  if (remote.lite) return { kind: "ice", controlling: true, clause: "RFC 8445 §6.1.1" };
  return { kind: "ice", controlling: offerer, clause: "RFC 8445 §6.1.1" };
}

/** Our local ICE parameters as gathered (none in mode "none"). */
export interface LocalIce {
  ufrag: string;
  pwd: string;
  candidates: string[];
}

/**
 * The ICE lines of our m-section and whether the session carries a=ice-lite. `remote`: the offer we answer (an offer
 * without ICE gets an answer without ICE, RFC 8839 §3.3.2).
 */
export function localIceSdp(
  mode: IceMode,
  local: LocalIce | undefined,
  remote?: RemoteIce,
): { ice?: IceOptions; iceLite: boolean } {
  if (mode === "none" || !local) return { iceLite: false };
  if (remote && !remoteUsesIce(remote)) return { iceLite: false };
  if (mode === "lite") {
    // TS 26.114 Annex A.17 / RFC 8839 §3.2.1.4, §3.2.1.5: a=ice-lite, ice-options ice2, one host candidate = c=/port
    const first = local.candidates[0];
    return {
      iceLite: true,
      ice: {
        ufrag: local.ufrag,
        pwd: local.pwd,
        options: ["ice2"],
        candidates: first ? [first] : [],
        endOfCandidates: true,
      },
    };
  }
  return {
    iceLite: false,
    ice: { ufrag: local.ufrag, pwd: local.pwd, candidates: local.candidates, endOfCandidates: true },
  };
}
