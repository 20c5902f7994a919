/**
 * REGISTER through the P-CSCF (TS 24.229 §5.2.2, RFC 3327 §5.2): the request gets our Path with the UE's flow token
 * (RFC 5626 §5.3 style) and `Require: path`, the UE's mediasec mechanisms are taken from Security-Client (TS 24.229
 * §7.2A.7); the 200 OK records each binding (contact, flow, expiry, Service-Route of RFC 3608 §6) in the
 * RegistrationTable and the CapabilityStore, and echoes the accepted mechanisms in Security-Server.
 */
import type { Logger } from "../../log.ts";
import {
  formatUri,
  getParam,
  isSipUri,
  type NameAddr,
  parseSipUri,
  type SipResponse,
  type SipTarget,
  type SipUri,
  sipUriEquals,
  uriTarget,
} from "../../sip/index.ts";
import type { ProxyInterface, ProxyRequest, RouteOutcome } from "../../sip/proxy.ts";
import type { Admission } from "./admission.ts";
import {
  type CapabilityStore,
  contactKey,
  mediasecCapabilities,
  mediasecServerEntries,
  registeredCapabilities,
} from "./capabilities.ts";
import type { AlgConfig } from "./config.ts";
import { type FlowTokens, flowOf } from "./flow.ts";
import type { RegisterData, TxData } from "./nodeTypes.ts";
import { defaultTransport, rrEntry } from "./ownRoutes.ts";
import { canonicalAor, type RegistrationTable } from "./registrations.ts";

export interface RegisterHandlerOptions {
  log: Logger;
  /** the core interface (toward the S-CSCF) */
  core: ProxyInterface;
  registrations: RegistrationTable;
  capabilities: CapabilityStore;
  tokens: FlowTokens;
  admission: Admission;
  /** the S-CSCF (a loose-routing URI), pushed as Route */
  scscf: SipUri | undefined;
  /** static next hop toward the core, no Route added */
  nextHop: SipUri | undefined;
  /** bound on registrations (PcscfOptions.maxRegistrations) */
  maxRegistrations: number;
  /** echo the accepted mediasec mechanisms in Security-Server (PcscfOptions.securityServer) */
  securityServer: boolean;
  /** the IMS-ALG configuration (its `supportedMediasec`) */
  alg: AlgConfig;
}

export class RegisterHandler {
  constructor(private readonly o: RegisterHandlerOptions) {}

  /** A REGISTER from a UE, toward the S-CSCF. */
  route(pr: ProxyRequest): RouteOutcome<TxData> {
    const req = pr.req;
    // RFC 3327 §5.2: Path is added only for UAs that support it; this P-CSCF needs it, so it answers 421
    if (!req.supported().some((t) => t.toLowerCase() === "path")) {
      return { kind: "reply", status: 421, headers: [{ name: "Require", value: "path" }] };
    }
    const to = req.to().uri;
    if (!isSipUri(to)) return { kind: "reply", status: 400, reason: "AOR is not a SIP URI" };
    const flow = flowOf(pr.source);
    const aor = canonicalAor(to);
    const registrations = this.o.registrations;
    const maxRegs = this.o.maxRegistrations;
    if (registrations.size >= maxRegs && registrations.ofAor(aor).length === 0) {
      registrations.purge();
      // RFC 3261 §21.5.4: a full table refuses a new UE (503 + Retry-After) rather than evict a registered one
      if (registrations.size >= maxRegs)
        return this.o.admission.capacity("E_PCSCF_REG_LIMIT", `limit of ${maxRegs} registrations reached`);
    }
    // TS 24.229 §7.2A.7: the UE's media-plane mechanisms (mediasec) from Security-Client, kept here
    const caps = mediasecCapabilities(pr.received.getHeaders("Security-Client"));
    const contacts = req.contact();
    const coreT = defaultTransport(this.o.core);
    let target: SipTarget;
    const top = req.routes()[0];
    if (this.o.nextHop) target = uriTarget(this.o.nextHop, coreT);
    else if (top) target = uriTarget(top.uri, coreT);
    else if (this.o.scscf) {
      req.prependHeader("Route", `<${formatUri(this.o.scscf)}>`);
      target = uriTarget(this.o.scscf, coreT);
    } else target = uriTarget(req.requestUri(), coreT);
    // RFC 3327 §5.2: our URI as the topmost Path value; its user part is the UE's flow token (RFC 5626 §5.3 style)
    req.prependHeader("Path", rrEntry(this.o.core, target.transport, `p-${this.o.tokens.encode(flow)}`));
    // RFC 3327 §5.2: Require: path makes a registrar without Path support refuse rather than ignore it
    if (!req.require().some((t) => t.toLowerCase() === "path")) {
      const r = req.getHeader("Require");
      req.setHeader("Require", r === undefined || r.trim() === "" ? "path" : `${r}, path`);
    }
    return {
      kind: "forward",
      iface: this.o.core,
      target,
      data: {
        fromAccess: true,
        callId: req.callId(),
        caps,
        register: { aor, contacts, caps, flow },
      },
    };
  }

  /** The response to a REGISTER: its 2xx records (or removes) the bindings it lists. */
  onResponse(res: SipResponse, r: RegisterData): void {
    if (res.status < 200 || res.status >= 300) return;
    const granted = res.contact();
    const list = granted === "*" ? [] : granted;
    const serviceRoute = res.getValues("Service-Route");
    const associatedUris = res.getValues("P-Associated-URI");
    const now = Date.now();
    const registrations = this.o.registrations;
    const requested =
      r.contacts === "*"
        ? registrations.ofAor(r.aor).map((g) => ({ uri: parseSipUri(g.contact), params: [] }) as NameAddr)
        : r.contacts;
    for (const c of requested) {
      if (!isSipUri(c.uri)) continue;
      const uri = c.uri;
      const instance = getParam(c.params, "+sip.instance");
      const key = contactKey({
        ...(typeof instance === "string" ? { instance } : {}),
        uri: formatUri(uri),
      });
      const match = list.find((g) => isSipUri(g.uri) && sipUriEquals(g.uri, uri));
      const ep = match ? getParam(match.params, "expires") : undefined;
      // RFC 3261 §10.3 step 8: the 200 lists every binding with its expiry (contact param, else Expires)
      const expires = match ? (typeof ep === "string" ? Number(ep) : (res.expires() ?? 0)) : 0;
      if (expires > 0) {
        registrations.upsert(
          {
            aor: r.aor,
            contact: formatUri(uri),
            key,
            flow: r.flow,
            expiresAt: now + expires * 1000,
            serviceRoute,
            associatedUris,
          },
          uri,
        );
        this.o.capabilities.set(r.aor, key, r.caps, expires);
      } else {
        registrations.remove(r.aor, key);
        this.o.capabilities.set(r.aor, key, [], 0);
      }
    }
    // TS 24.229 §7.2A.7: the media-plane mechanisms both the UE and this P-CSCF support, echoed in Security-Server
    if (this.o.securityServer && r.caps.size > 0 && list.length > 0) {
      const accepted = registeredCapabilities(r.caps, this.o.alg.supportedMediasec);
      if (accepted.size > 0) res.addHeader("Security-Server", mediasecServerEntries(accepted).join(", "));
    }
    this.o.log.info({ aor: r.aor, contacts: list.length, caps: [...r.caps] }, "registration");
  }
}
