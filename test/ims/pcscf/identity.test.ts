/**
 * RFC 3325 §9.1 at the edge of the trust domain: the identity headers a UE puts in its responses are removed, and the
 * served user's registered identity is asserted by the P-CSCF instead (identity.ts `assertResponseFromUe`).
 */
import { describe, expect, it } from "vitest";
import { assertResponseFromUe } from "../../../src/ims/pcscf/identity.ts";
import type { Registration } from "../../../src/ims/pcscf/registrations.ts";
import { parseMessageText, type SipResponse } from "../../../src/sip/index.ts";

const response = (extra: string[]): SipResponse =>
  parseMessageText(
    [
      "SIP/2.0 200 OK",
      "Via: SIP/2.0/UDP 127.0.0.1:5090;branch=z9hG4bK-1",
      "From: <sip:alice@ims.example.com>;tag=a",
      "To: <sip:bob@ims.example.com>;tag=b",
      "Call-ID: c1",
      "CSeq: 1 INVITE",
      ...extra,
      "Content-Length: 0",
      "",
      "",
    ].join("\r\n"),
  ) as SipResponse;

const bob = {
  aor: "sip:bob@ims.example.com",
  contact: "sip:bob@127.0.0.1:5555",
  key: "k",
  flow: {},
  expiresAt: Date.now() + 60_000,
  serviceRoute: [],
  associatedUris: [],
} as unknown as Registration;

describe("P-CSCF identity assertion on responses from the UE", () => {
  it("a P-Asserted-Identity / P-Preferred-Identity the UE sent is replaced by the registered identity", () => {
    const res = response(["P-Asserted-Identity: <sip:ceo@ims.example.com>", "P-Preferred-Identity: <sip:ceo@x>"]);
    assertResponseFromUe(res, bob);
    expect(res.getHeaders("P-Asserted-Identity")).toEqual(["<sip:bob@ims.example.com>"]);
    expect(res.getHeaders("P-Preferred-Identity")).toEqual([]);
  });

  it("without a registration here nothing is asserted, and nothing the UE claimed survives", () => {
    const res = response(["P-Asserted-Identity: <sip:ceo@ims.example.com>"]);
    assertResponseFromUe(res, undefined);
    expect(res.getHeaders("P-Asserted-Identity")).toEqual([]);
  });
});
