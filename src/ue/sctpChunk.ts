/** Reading SCTP chunk types off a packet on its way into werift's SCTP (RFC 9260 §3). */
export const SCTP_SHUTDOWN = 7;

/** RFC 9260 §3: does this SCTP packet (12-byte common header, then chunks padded to 4 bytes) carry a chunk of `type`? */
export function hasSctpChunk(packet: Buffer, type: number): boolean {
  let pos = 12;
  while (pos + 4 <= packet.length) {
    if (packet[pos] === type) return true;
    const len = packet.readUInt16BE(pos + 2);
    if (len < 4) return false;
    pos += (len + 3) & ~3;
  }
  return false;
}
