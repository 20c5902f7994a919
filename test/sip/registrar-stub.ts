/** A tiny registrar for tests (RFC 3261 §10.3, much reduced): accepts every REGISTER and echoes the bindings. */
import { formatNameAddr } from "../../src/sip/headers.ts";
import { generateTag, type SipRequest } from "../../src/sip/message.ts";
import { TransactionManager } from "../../src/sip/transaction/manager.ts";
import { SipTransportLayer } from "../../src/sip/transport/layer.ts";
import type { SipSource, SipTransportProtocol } from "../../src/sip/transport/types.ts";

export class RegistrarStub {
  readonly layer: SipTransportLayer;
  readonly txm: TransactionManager;
  readonly requests: { req: SipRequest; source: SipSource }[] = [];
  readonly bindings = new Map<string, { contact: string; expires: number; source: SipSource }>();
  /** answer 423 with this Min-Expires when the requested expiry is lower */
  minExpires = 0;

  constructor(readonly proto: SipTransportProtocol) {
    this.layer = new SipTransportLayer({ [proto.toLowerCase()]: true });
    this.txm = new TransactionManager(this.layer, { timers: { T1: 50, T2: 200, T4: 200, D: 200 } });
    this.layer.onMessage((m, s) => this.txm.receive(m, s));
    this.txm.setUser({
      onRequest: (txn) => {
        const req = txn.request;
        this.requests.push({ req, source: txn.source });
        if (req.method !== "REGISTER") {
          txn.reply(405, undefined, { toTag: generateTag() });
          return;
        }
        const expires = req.expires() ?? 3600;
        if (expires > 0 && expires < this.minExpires) {
          txn.reply(423, undefined, {
            toTag: generateTag(),
            headers: [{ name: "Min-Expires", value: String(this.minExpires) }],
          });
          return;
        }
        const aor = req.to().uri;
        const key = "host" in aor ? `${aor.user}@${aor.host}` : JSON.stringify(aor);
        const c = req.contact();
        if (expires === 0 || c === "*") this.bindings.delete(key);
        else {
          const first = c[0]!;
          this.bindings.set(key, {
            contact: formatNameAddr({ ...first, params: first.params.filter((p) => p.name !== "expires") }),
            expires,
            source: txn.source,
          });
        }
        const b = this.bindings.get(key);
        txn.reply(200, undefined, {
          toTag: generateTag(),
          headers: [
            ...(b ? [{ name: "Contact", value: `${b.contact};expires=${b.expires}` }] : []),
            { name: "Service-Route", value: `<sip:orig@${this.address.host}:${this.address.port};lr>` },
          ],
        });
      },
    });
  }

  get address() {
    return this.layer.address(this.proto)!;
  }

  /** `sip:` URI of the registrar with the transport parameter. */
  get uri(): string {
    const tp = this.proto === "UDP" ? "" : `;transport=${this.proto.toLowerCase()}`;
    return `sip:${this.address.host}:${this.address.port}${tp}`;
  }

  async start(): Promise<this> {
    await this.layer.start();
    return this;
  }

  async close(): Promise<void> {
    this.txm.close();
    await this.layer.close();
  }
}
