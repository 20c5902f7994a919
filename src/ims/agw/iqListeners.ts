/**
 * The Iq subscriptions of `ImsAgw` and `IqWsClient` (`onEvent`, `onConnectionState`) on the one emitter of src/
 * (src/sip/emitter.ts): a listener that throws never breaks the Iq code that emitted; its error is logged.
 */
import type { Logger } from "../../log.ts";
import { TypedEmitter } from "../../sip/emitter.ts";
import type { IqEvent } from "./iqEvents.ts";
import type { IqConnectionState } from "./wsClient.ts";
import { errText } from "./wsCodec.ts";

export interface IqListenerEvents {
  event: [IqEvent];
  state: [IqConnectionState];
}

export class IqListeners extends TypedEmitter<IqListenerEvents> {
  constructor(log: Logger) {
    super();
    this.onListenerError = (e, event) => log.warn({ err: errText(e) }, `${event} listener threw`);
  }
}
