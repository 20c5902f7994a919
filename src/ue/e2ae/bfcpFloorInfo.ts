/**
 * Floor request state as BFCP carries it (RFC 8855 §5.2.15 FLOOR-REQUEST-INFORMATION, §5.2.5 REQUEST-STATUS): the
 * reader used by the participant and the builder used by the floor control server.
 */
import { attr, type BfcpAttribute, type BfcpMessage, findAttr, findAttrs, RequestStatus } from "./bfcp.ts";

const STATUS_NAME: Readonly<Record<number, string>> = Object.fromEntries(
  Object.entries(RequestStatus).map(([k, v]) => [v, k]),
);

export function requestStatusName(n: number): string {
  return STATUS_NAME[n] ?? `status-${n}`;
}

/** A floor request as a FloorRequestStatus describes it (RFC 8855 §5.3.4, FLOOR-REQUEST-INFORMATION §5.2.15). */
export interface FloorRequestState {
  floorRequestId: number;
  /** OVERALL-REQUEST-STATUS / REQUEST-STATUS (RFC 8855 §5.2.5): 1 Pending … 7 Revoked */
  status: number;
  statusName: string;
  queuePosition: number;
  floors: Array<{ floorId: number; status?: number }>;
  statusInfo?: string;
  /** 0 for server-initiated updates (RFC 8855 §8), else the transaction it answers */
  transactionId: number;
}

/** Reads the first FLOOR-REQUEST-INFORMATION of a FloorRequestStatus / FloorStatus. */
export function readFloorRequestInformation(m: BfcpMessage): FloorRequestState | undefined {
  const fri = findAttr(m.attributes, "FLOOR-REQUEST-INFORMATION");
  if (!fri) return undefined;
  const ors = findAttr(fri.attributes, "OVERALL-REQUEST-STATUS");
  const rs = ors ? findAttr(ors.attributes, "REQUEST-STATUS") : undefined;
  const info = ors ? findAttr(ors.attributes, "STATUS-INFO") : undefined;
  const floors = findAttrs(fri.attributes, "FLOOR-REQUEST-STATUS").map((f) => {
    const s = findAttr(f.attributes, "REQUEST-STATUS");
    return s ? { floorId: f.id, status: s.status } : { floorId: f.id };
  });
  const status = rs?.status ?? 0;
  const st: FloorRequestState = {
    floorRequestId: fri.id,
    status,
    statusName: requestStatusName(status),
    queuePosition: rs?.queuePosition ?? 0,
    floors,
    transactionId: m.transactionId,
  };
  if (info) st.statusInfo = info.text;
  return st;
}

/** Builds FLOOR-REQUEST-INFORMATION (RFC 8855 §5.2.15) for one request. */
export function floorRequestInformation(
  floorRequestId: number,
  status: number,
  floorIds: readonly number[],
  queuePosition = 0,
  statusInfo?: string,
): BfcpAttribute {
  const overall: BfcpAttribute[] = [attr.requestStatus(status, queuePosition)];
  if (statusInfo !== undefined) overall.push(attr.text("STATUS-INFO", statusInfo));
  return attr.group("FLOOR-REQUEST-INFORMATION", floorRequestId, [
    // RFC 8855 §5.2.15: OVERALL-REQUEST-STATUS, then one FLOOR-REQUEST-STATUS per floor
    attr.group("OVERALL-REQUEST-STATUS", floorRequestId, overall),
    ...floorIds.map((f) => attr.group("FLOOR-REQUEST-STATUS", f, [])),
  ]);
}
