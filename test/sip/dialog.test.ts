import { describe, expect, it } from "vitest";
import { Dialog, dialogIdOfRequest } from "../../src/sip/dialog.ts";
import { createRequest, createResponse, type SipRequest } from "../../src/sip/message.ts";

function invite(): SipRequest {
  return createRequest({
    method: "INVITE",
    uri: "sip:bob@biloxi.example.com",
    from: '"Alice" <sip:alice@atlanta.example.com>;tag=a1',
    to: "<sip:bob@biloxi.example.com>",
    callId: "dlg-1",
    cseq: 7,
    via: ["SIP/2.0/UDP 192.0.2.1;branch=z9hG4bKd1"],
    contact: "<sip:alice@192.0.2.1>",
    route: ["<sip:p1.example.com;lr>"],
  }).addHeader("Record-Route", "<sip:p2.example.com;lr>, <sip:p1.example.com;lr>");
}

function ok(req: SipRequest, rr = true) {
  const res = createResponse(req, 200, undefined, {
    toTag: "b1",
    headers: [{ name: "Contact", value: "<sip:bob@192.0.2.2:5070>" }],
  });
  if (rr) for (const v of req.getHeaders("Record-Route")) res.addHeader("Record-Route", v);
  return res;
}

describe("dialogs (RFC 3261 §12)", () => {
  it("UAC: route set is Record-Route reversed, remote target the Contact, loose routing", () => {
    const req = invite();
    const d = Dialog.uac(req, ok(req));
    expect(d.id).toBe("dlg-1;a1;b1");
    expect(d.state).toBe("confirmed");
    expect(d.routeSet).toEqual(["<sip:p1.example.com;lr>", "<sip:p2.example.com;lr>"]);
    expect(d.remoteTarget).toBe("sip:bob@192.0.2.2:5070");
    expect(d.localSeq).toBe(7);
    const bye = d.createRequest("BYE");
    expect(bye.uri).toBe("sip:bob@192.0.2.2:5070");
    expect(bye.getHeaders("Route")).toEqual(["<sip:p1.example.com;lr>", "<sip:p2.example.com;lr>"]);
    expect(bye.cseq()).toEqual({ seq: 8, method: "BYE" });
    expect(bye.fromTag()).toBe("a1");
    expect(bye.toTag()).toBe("b1");
    expect(d.nextHop()).toMatchObject({ host: "p1.example.com" });
    // RFC 3261 §13.2.2.4: ACK keeps the INVITE's CSeq number and does not consume a sequence number
    const ack = d.createAck(req);
    expect(ack.cseq()).toEqual({ seq: 7, method: "ACK" });
    expect(d.localSeq).toBe(8);
  });

  it("UAS: route set in order, remote CSeq checks (§12.2.2), target refresh", () => {
    const req = invite();
    const d = Dialog.uas(req, ok(req));
    expect(d.id).toBe("dlg-1;b1;a1");
    expect(d.routeSet).toEqual(["<sip:p2.example.com;lr>", "<sip:p1.example.com;lr>"]);
    expect(d.remoteTarget).toBe("sip:alice@192.0.2.1");
    expect(d.remoteSeq).toBe(7);
    const reinv = createRequest({
      method: "INVITE",
      uri: "sip:bob@192.0.2.2:5070",
      from: '"Alice" <sip:alice@atlanta.example.com>;tag=a1',
      to: "<sip:bob@biloxi.example.com>;tag=b1",
      callId: "dlg-1",
      cseq: 8,
      contact: "<sip:alice@192.0.2.99>",
    });
    expect(dialogIdOfRequest(reinv)).toBe(d.id);
    expect(d.receiveRequest(reinv)).toBe(true);
    expect(d.remoteTarget).toBe("sip:alice@192.0.2.99");
    reinv.setHeader("CSeq", "3 INVITE");
    expect(d.receiveRequest(reinv)).toBe(false);
    const bye = d.createRequest("BYE");
    expect(bye.cseq().seq).toBe(1);
    expect(bye.getHeaders("Route")).toEqual(["<sip:p2.example.com;lr>", "<sip:p1.example.com;lr>"]);
  });

  it("strict routing (first route without lr): Request-URI = first route, remote target appended (§12.2.1.1)", () => {
    const req = invite().setHeader("Record-Route", "<sip:strict.example.com;maddr=192.0.2.7>, <sip:p1.example.com;lr>");
    const d = Dialog.uac(req, ok(req));
    expect(d.routeSet[0]).toBe("<sip:p1.example.com;lr>");
    // make the UAC's first route a strict router
    d.routeSet = ["<sip:strict.example.com;maddr=192.0.2.7>", "<sip:p1.example.com;lr>"];
    const bye = d.createRequest("BYE");
    expect(bye.uri).toBe("sip:strict.example.com");
    expect(bye.getHeaders("Route")).toEqual(["<sip:p1.example.com;lr>", "<sip:bob@192.0.2.2:5070>"]);
    expect(d.nextHop()).toMatchObject({ host: "strict.example.com" });
  });

  it("early dialog from a 1xx with tag, confirmed by the 2xx with a recomputed route set", () => {
    const req = invite();
    const ringing = createResponse(req, 180, undefined, {
      toTag: "b1",
      headers: [{ name: "Contact", value: "<sip:bob@192.0.2.2>" }],
    });
    const d = Dialog.uac(req, ringing);
    expect(d.state).toBe("early");
    expect(d.routeSet).toEqual([]);
    d.confirm(ok(req));
    expect(d.state).toBe("confirmed");
    expect(d.routeSet).toHaveLength(2);
    expect(d.remoteTarget).toBe("sip:bob@192.0.2.2:5070");
  });

  it("refuses to build a dialog without tags or Contact", () => {
    const req = invite();
    expect(() => Dialog.uac(req, createResponse(req, 200))).toThrow(expect.objectContaining({ code: "E_SIP_DIALOG" }));
    const noContact = createResponse(req, 200, undefined, { toTag: "x" });
    expect(() => Dialog.uac(req, noContact)).toThrow(expect.objectContaining({ code: "E_SIP_DIALOG" }));
  });
});
