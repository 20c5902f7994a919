/**
 * The contract between a registering user agent and whatever answers its registrar's challenges. Types only: no
 * Node built-in, so the browser-safe SIP user agent can depend on it; the Node implementation is `UeAuthenticator`
 * (session.ts, node:crypto), injected by the UE; the page's is `WebDigestAuthenticator` (webDigest.ts, WebCrypto, hence
 * the methods may answer with a Promise).
 */

export interface AuthTarget {
  method: string;
  /** the Request-URI as sent (the digest-uri) */
  uri: string;
}

export type AuthRetry =
  /** send the request again with this Authorization */
  | { kind: "retry"; authorization: string }
  /** give up: registration fails with this stable code */
  | { kind: "refuse"; code: string; reason: string };

export interface RegistrationAuthenticator {
  /** the realm this authenticator answers (the registrar it was configured for) */
  readonly realm: string;
  /**
   * The Authorization of a REGISTER sent before any challenge on the current flow: the last answered challenge
   * with the next nonce-count (re-registration), the IMS initial form naming the private identity, or none.
   */
  authorize(target: AuthTarget): string | undefined | Promise<string | undefined>;
  /** A 401 (WWW-Authenticate values) or 407 (Proxy-Authenticate values) to a REGISTER on the registration flow. */
  onChallenge(challenges: readonly string[], target: AuthTarget): AuthRetry | Promise<AuthRetry>;
  /** The 2xx: checks Authentication-Info (rspauth) when present; false means the registrar is not authentic. */
  onSuccess(authenticationInfo: string | undefined, target: AuthTarget): boolean | Promise<boolean>;
  /** Forgets the cached challenge (new flow, or the registrar said stale / refused it). */
  reset(): void;
}
