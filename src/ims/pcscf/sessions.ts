/**
 * The INVITE sessions the P-CSCF serves, from the initial INVITE to its end (non-2xx final, BYE, transaction death,
 * or the maximum lifetime): what `maxSessions` counts, and what a P-CSCF-initiated release (TS 24.229 §5.2.8.1.2)
 * needs — the INVITE's proxy transaction (its 2xx gives both route sets and remote targets) and the highest CSeq
 * seen in each direction, so that the BYE the P-CSCF sends is in sequence (RFC 3261 §12.2.2: lower CSeq → 500).
 */

export interface PcscfSession<P> {
  callId: string;
  fromTag: string;
  /** the INVITE's proxy transaction (undefined only in unit tests) */
  ptx: P;
  state: "early" | "confirmed";
  createdAt: number;
  /** highest CSeq of the requests from the caller (upstream → downstream) and from the callee */
  cseqCaller: number;
  cseqCallee: number;
  /** access-side source of the served UE (flow key), for per-UE views */
  source: string;
  timer: NodeJS.Timeout | undefined;
}

export class SessionTable<P> {
  private readonly byKey = new Map<string, PcscfSession<P>>();

  get size(): number {
    return this.byKey.size;
  }

  static key(callId: string, fromTag: string | undefined): string {
    return `${callId}|${fromTag ?? ""}`;
  }

  get(callId: string, fromTag: string | undefined): PcscfSession<P> | undefined {
    return this.byKey.get(SessionTable.key(callId, fromTag));
  }

  /** The session of an in-dialog request: the From tag is the caller's (caller → callee) or the To tag (reverse). */
  forDialog(callId: string, fromTag: string | undefined, toTag: string | undefined): PcscfSession<P> | undefined {
    return this.get(callId, fromTag) ?? this.get(callId, toTag);
  }

  ofCall(callId: string): PcscfSession<P>[] {
    const out: PcscfSession<P>[] = [];
    for (const s of this.byKey.values()) if (s.callId === callId) out.push(s);
    return out;
  }

  add(s: PcscfSession<P>): void {
    this.byKey.set(SessionTable.key(s.callId, s.fromTag), s);
  }

  delete(s: PcscfSession<P>): boolean {
    const k = SessionTable.key(s.callId, s.fromTag);
    if (this.byKey.get(k) !== s) return false;
    this.byKey.delete(k);
    if (s.timer) clearTimeout(s.timer);
    s.timer = undefined;
    return true;
  }

  values(): IterableIterator<PcscfSession<P>> {
    return this.byKey.values();
  }

  clear(): void {
    for (const s of this.byKey.values()) if (s.timer) clearTimeout(s.timer);
    this.byKey.clear();
  }
}
