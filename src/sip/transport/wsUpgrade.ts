/** The upgrade check of the SIP WebSocket listener (ws.ts `verifyUpgrade`): what is checked, and the refusal. */

/** What an upgrade request is checked on: its Origin and Host headers (absent: undefined) and its source. */
export interface WsUpgradeInfo {
  origin: string | undefined;
  host: string | undefined;
  remote: string;
}

/**
 * RFC 6455 §10.2: a server meant for some sites only verifies the Origin of a browser client and refuses the others
 * (403); a client that is not a browser may send no Origin. Returns undefined to accept, or the HTTP refusal.
 */
export type WsUpgradeCheck = (req: WsUpgradeInfo) => { status: 403 | 421; reason: string } | undefined;
