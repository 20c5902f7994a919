import { ImsdcError } from "../errors.ts";

/** Stable codes of the demo server (docs/demo.md). */
export type DemoErrorCode =
  | "E_DEMO_ALLOW_HOST" // an --allow-host / allowHosts entry is not a host name or IP address
  | "E_DEMO_HOST" // a request's Host is not one of ours (DNS rebinding): 421
  | "E_DEMO_ORIGIN" // a browser request from another origin (cross-site request, WebSocket hijacking): 403
  | "E_DEMO_FETCH_SITE"; // an API request the browser marks as cross-site or same-site (Sec-Fetch-Site): 403

export class DemoError extends ImsdcError {
  declare readonly code: DemoErrorCode;
  constructor(code: DemoErrorCode, message: string, options?: { cause?: unknown }) {
    super(code, message, options);
  }
}
