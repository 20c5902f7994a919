/** A raw-UDP registering client for the registration authentication tests. */
import { createSocket, type Socket } from "node:dgram";
import {
  generateBranch,
  generateCallId,
  parseMessage,
  type SipMessage,
  type SipResponse,
} from "../../../src/sip/index.ts";

export const DOMAIN = "ims.example.com";
export const BOB = `sip:bob@${DOMAIN}`;
export const RURI = `sip:${DOMAIN}`;

export interface Client {
  port: number;
  register(o: {
    to?: string;
    contact?: string;
    expires?: number;
    auth?: string | undefined;
    callId?: string;
    cseq?: number;
  }): Promise<SipResponse>;
  close(): Promise<void>;
}

export async function client(scscfPort: number): Promise<Client> {
  const sock: Socket = createSocket("udp4");
  const waiting = new Map<string, (m: SipResponse) => void>();
  sock.on("message", (b) => {
    const m: SipMessage = parseMessage(new Uint8Array(b), { datagram: true });
    if (m.kind !== "response" || m.status < 200) return;
    const br = m.topVia().params.find((p) => p.name === "branch")?.value ?? "";
    waiting.get(br)?.(m);
  });
  await new Promise<void>((r) => sock.bind(0, "127.0.0.1", () => r()));
  const port = sock.address().port;
  let cseq = 1;
  const callId = generateCallId();
  return {
    port,
    register(o) {
      const branch = generateBranch();
      const lines = [
        `REGISTER ${RURI} SIP/2.0`,
        `Via: SIP/2.0/UDP 127.0.0.1:${port};branch=${branch};rport`,
        "Max-Forwards: 70",
        `From: <${o.to ?? BOB}>;tag=t${port}`,
        `To: <${o.to ?? BOB}>`,
        `Call-ID: ${o.callId ?? callId}`,
        `CSeq: ${o.cseq ?? cseq++} REGISTER`,
        `Contact: ${o.contact ?? `<sip:bob@127.0.0.1:${port}>`}`,
        `Expires: ${o.expires ?? 600}`,
        "Supported: path",
        ...(o.auth !== undefined ? [`Authorization: ${o.auth}`] : []),
        "Content-Length: 0",
        "",
        "",
      ];
      return new Promise((resolve, reject) => {
        const t = setTimeout(() => reject(new Error("no final response")), 3000);
        waiting.set(branch, (m) => {
          clearTimeout(t);
          waiting.delete(branch);
          resolve(m);
        });
        sock.send(Buffer.from(lines.join("\r\n"), "latin1"), scscfPort, "127.0.0.1");
      });
    },
    close: () => new Promise<void>((r) => sock.close(() => r())),
  };
}
