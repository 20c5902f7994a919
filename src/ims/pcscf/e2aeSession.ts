/**
 * The AGW resources of one e2ae offer/answer exchange (TR 29.828 §5.2.1): one `E2aeSession` per exchange that anchors
 * at least one m-line, one AGW context (two terminations: access toward the UE, core toward the IMS core) per anchored
 * m-line; and the outcomes of the offer and the answer as E2aeAnchor (e2ae.ts) reports them.
 */

import type { Fingerprint } from "../../sdp/index.ts";
import type { Direction } from "./algTypes.ts";
import type { IqConnectionPoint } from "./iq.ts";
import type { MediaChange } from "./rewrite.ts";

export type E2aeFamily = "msrp" | "bfcp";

/** One anchored m-line: its AGW context and the two terminations. */
export interface AnchoredStream {
  readonly mline: number;
  readonly family: E2aeFamily;
  readonly contextId: string;
  /** the termination toward the UE (TCP/TLS/…) */
  readonly access: IqConnectionPoint;
  /** the termination toward the IMS core (TCP/…) */
  readonly core: IqConnectionPoint;
  /** the AGW's certificate fingerprint on the access termination (answer to the Local certificate fingerprint Request) */
  readonly agwFingerprint: Fingerprint;
  released: boolean;
}

export type E2aeSessionState = "reserving" | "offered" | "answered" | "released";

/** The AGW resources of one offer/answer exchange (TR 29.828 §5.2.1: "allocates the required resources"). */
export class E2aeSession {
  readonly streams: AnchoredStream[] = [];
  /** every context created for this exchange (also half-built ones), for the release */
  readonly contexts = new Set<string>();
  state: E2aeSessionState = "reserving";
  /** the To tag of the dialog, once a response carried it */
  toTag: string | undefined;
  /** the answer has been processed (Configure sent once, even when an 18x and the 2xx both carry it) */
  answered = false;
  /** the 2xx arrived: the streams belong to the dialog until BYE */
  established = false;

  constructor(
    readonly id: string,
    readonly callId: string,
    readonly direction: Direction,
    /** From tag of the request that carried the offer */
    readonly fromTag: string | undefined,
    /** To tag of that request (in-dialog offers) */
    toTag: string | undefined,
  ) {
    this.toTag = toTag;
  }

  /** True when the tags name this session's dialog (in either order: a BYE may come from either end). */
  inDialog(tagA: string | undefined, tagB: string | undefined): boolean {
    const mine = [this.fromTag, this.toTag];
    if (this.toTag === undefined) return tagA === this.fromTag || tagB === this.fromTag;
    return (tagA === mine[0] && tagB === mine[1]) || (tagA === mine[1] && tagB === mine[0]);
  }

  stream(mline: number): AnchoredStream | undefined {
    return this.streams.find((s) => s.mline === mline);
  }
}

/** An Iq procedure that failed (AGW error or no answer in time). */
export interface IqFailure {
  /** E_ALG_IQ_FAILED (the AGW answered with an error) or E_ALG_IQ_TIMEOUT (no answer within `agw.iqTimeoutMs`) */
  code: "E_ALG_IQ_FAILED" | "E_ALG_IQ_TIMEOUT";
  procedure: string;
  mline: number;
  /** the AGW's error code (E_AGW_LIMIT, E_AGW_BIND, …) when it gave one */
  agwCode: string | undefined;
  message: string;
  clause: string;
}

export type OfferOutcome =
  | { ok: true; session: E2aeSession; body: Uint8Array; changes: MediaChange[] }
  | { ok: false; failure: IqFailure }
  | { ok: false; rewrite: { code: string; mline: number; message: string } };

export type AnswerOutcome =
  | {
      ok: true;
      body: Uint8Array;
      changes: MediaChange[];
      /** resolves once the Configure procedures of the answer are done: undefined, or what failed */
      configured: Promise<IqFailure | undefined>;
    }
  | { ok: false; rewrite: { code: string; mline: number; message: string } };
