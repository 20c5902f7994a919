/**
 * BFCP over one (already verified) TLS or TCP connection (RFC 8855): a floor participant (`BfcpClient`: Hello,
 * FloorRequest, FloorRelease, FloorRequestQuery, Goodbye; server-initiated status updates) and a minimal floor
 * control server (`BfcpFloorServer`: one holder per floor, FIFO queue, Error responses). This module is the public
 * face of the BFCP session layer; the parts live in bfcpClient / bfcpFloorServer / bfcpFloorInfo / bfcpConnection.
 */
export {
  BfcpClient,
  type BfcpClientEvents,
  type BfcpClientOptions,
  type HelloResult,
} from "./bfcpClient.ts";
export {
  type FloorRequestState,
  floorRequestInformation,
  readFloorRequestInformation,
  requestStatusName,
} from "./bfcpFloorInfo.ts";
export { BfcpFloorServer, type BfcpFloorServerEvents, type BfcpFloorServerOptions } from "./bfcpFloorServer.ts";
