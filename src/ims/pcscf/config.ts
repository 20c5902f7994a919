/**
 * IMS-ALG configuration: every knob of the P-CSCF media-security decision (TS 33.328 §7.2.5 step 2; TR 29.828
 * §5.2.1) with its default, and `loadAlgConfig`, which validates an untyped object (JSON file, CLI flags) and
 * fills the defaults. See docs/pcscf-alg.md "Configuration".
 */
import { AlgConfigError, type ConfigProblem } from "./errors.ts";

/** What the IMS-ALG does with an m-line carrying the (provisional) e2DCe indication. */
export type E2dceAction =
  /** Refuse the offer: 488 with Warning `399 <agent> "e2DCe not available"` (default: no e2DCe edge exists). */
  | "reject-488"
  /** Forward the body unchanged (the indication travels on; the data channel stays e2e with the far end). */
  | "forward"
  /** Mark the m-line for anchoring at a data channel edge (TS 33.328 §7.2.4). Only meaningful once an edge exists. */
  | "anchor";

/**
 * Wire mapping of "e2DCe-security for IMS data channel requested by UE" (TS 33.328 §7.2.5 step 2 / §7.2.4).
 *
 * PROVISIONAL: neither TS 33.328 §7.2.4, TS 24.229 nor TS 26.114 defines an encoding for it. The default reuses the
 * extension point of `a=3ge2ae` (TS 24.229 §7.5.2.2: indicator = "requested" / "applied" / token; other values are
 * ignored by nodes that do not know them), i.e. `a=3ge2ae:e2dce-requested`. Change it when the real encoding is known,
 * e.g. `{ attribute: "3ge2dce", values: ["requested"] }` for `a=3ge2dce:requested`.
 */
export interface E2dceConfig {
  /** SDP attribute name without "a=" (exact, case-sensitive like every att-field in src/sdp). */
  attribute: string;
  /**
   * Attribute values that mean "e2DCe requested" (compared case-insensitively). An empty list means any occurrence
   * of the attribute (value or not); not allowed when `attribute` is "3ge2ae".
   */
  values: readonly string[];
  action: E2dceAction;
}

/** How the MSRP `a=path` is handled across the IMS-AGW (the seed is silent; docs/pcscf-alg.md "MSRP a=path"). */
export type MsrpPathMode =
  /** Rewrite the last URI of the path to the AGW address of that leg (scheme msrp/msrps per leg, ;tcp). Default. */
  | "rewrite-last"
  /** Leave a=path untouched (endpoints that connect to c=/m= and match on session-id only, RFC 6714 CEMA). */
  | "keep";

/**
 * TCP establishment mode the IMS-ALG asks of an IMS-AGW termination (TR 29.828 §4.4.2.2): `immediate` (mandatory;
 * the termination accepts a SYN as soon as it is reserved, indication 1) or `delayed` (optional, Iq only: ignore SYNs
 * until the remote address is configured, then accept only from it, indications 4 and 5), where the Editor's note
 * "dropped or stored" is a choice: `delayed-drop` resets early connections, `delayed-hold` parks them unread.
 */
export type AgwTcpMode = "immediate" | "delayed-drop" | "delayed-hold";

/** How the P-CSCF drives the IMS-AGW over Iq for e2ae streams (docs/pcscf-alg.md "Configuration"). */
export interface AgwPolicy {
  /** TCP establishment per termination side (TR 29.828 §4.4.2.2). Default immediate on both sides. */
  tcpEstablishment: { access: AgwTcpMode; core: AgwTcpMode };
  /**
   * TR 29.828 §4.4.2.1.2 indication 3 (per context): a SYN received on one termination triggers the SYN on the other
   * ("the expected behavior for the current versions of the Ix and Iq profiles"). Default true. With false the
   * P-CSCF requests each outgoing SYN explicitly (indication 2, `tcpConnect`) when the answer arrives.
   */
  interlinkage: boolean;
  /** Bound on one Iq procedure (ms); a procedure that does not answer in time counts as failed. Default 5000. */
  iqTimeoutMs: number;
}

export interface AlgConfig {
  /**
   * The P-CSCF runs the IMS-ALG. false = a P-CSCF without IMS-ALG: every body is forwarded untouched, nothing is
   * validated (TS 33.328 §7.2.5 NOTE 2: e2e sessions are set up without IMS-ALG support). Default true.
   */
  imsAlg: boolean;
  /**
   * An IMS-AGW is reachable over Iq, so e2ae can be applied. false = an m-line that qualifies for e2ae is refused with
   * 488 and Warning `399 <agent> "e2ae not available"` (fail closed: the UE asked for, or registered, protection the
   * network cannot give). Set it to false while no Iq binding is configured. Default true.
   */
  e2aeAvailable: boolean;
  /**
   * Operator policy of TR 29.828 §5.2.1.2.2 NOTE 1 (GSMA RCS 5.1): terminate TLS in the IMS-AGW for every originating
   * TCP/TLS/MSRP m-line that carries a fingerprint, even without `a=3ge2ae:requested` or a registered `msrp-tls`
   * capability. Can break pre-Rel-12 / non-IMS UEs (NOTE 1). Default false.
   */
  rcsTerminateAllMsrpTls: boolean;
  /**
   * mediasec mechanism name (Security-Client, TS 24.229 §7.2A.7) that stands for "e2ae for IMS data channels".
   * PROVISIONAL: the verified names are sdes-srtp, msrp-tls, bfcp-tls, udptl-dtls; none covers DTLS/SCTP data
   * channels (TS 24.229 §7.2A.7 mechanism-name defines none for DTLS/SCTP). Default "dc-dtls".
   */
  dcE2aeMechanism: string;
  /**
   * mediasec mechanisms this P-CSCF (IMS-ALG) supports and returns in Security-Server at registration. A UE
   * capability counts only when the P-CSCF supports it too (TR 29.828 §5.2.1.2.2/§5.2.1.2.3 step 1: "if both the
   * IMS UE and P-CSCF indicated support"). Default: msrp-tls, bfcp-tls and `dcE2aeMechanism`.
   */
  supportedMediasec: readonly string[];
  /** The e2DCe indication mapping and action (PROVISIONAL, see `E2dceConfig`). */
  e2dce: E2dceConfig;
  /**
   * Add `a=3ge2ae:applied` to the e2ae answer sent back to an originating UE. TR 29.828 §5.2.1.2.2 step 19 only says
   * the answer gets TCP/TLS/MSRP and the AGW fingerprint (it says nothing about `applied`), so the default is false;
   * when true it is added only to m-lines whose offer carried `a=3ge2ae:requested`.
   */
  appliedInAnswer: boolean;
  /** MSRP a=path handling across the IMS-AGW. Default "rewrite-last". */
  msrpPath: MsrpPathMode;
  /** IMS-AGW control policy for anchored e2ae streams (TCP establishment mode, interlinkage, Iq timeout). */
  agw: AgwPolicy;
  /**
   * warn-agent of the Warning header in 488 refusals (RFC 3261 §20.43: hostport / pseudonym), normally the P-CSCF
   * host name. Default "pcscf.invalid".
   */
  warnAgent: string;
}

/** What embedding code may pass (PcscfOptions.alg): any subset, `agw` too; `loadAlgConfig` fills the rest. */
export type AlgConfigOverrides = Partial<Omit<AlgConfig, "agw">> & {
  agw?: {
    tcpEstablishment?: Partial<AgwPolicy["tcpEstablishment"]>;
    interlinkage?: boolean;
    iqTimeoutMs?: number;
  };
};

/** The default data channel mechanism name (PROVISIONAL, see `AlgConfig.dcE2aeMechanism`). */
export const DEFAULT_DC_E2AE_MECHANISM = "dc-dtls";

/** Default configuration. */
export const DEFAULT_ALG_CONFIG: Readonly<AlgConfig> = Object.freeze({
  imsAlg: true,
  e2aeAvailable: true,
  rcsTerminateAllMsrpTls: false,
  dcE2aeMechanism: DEFAULT_DC_E2AE_MECHANISM,
  supportedMediasec: Object.freeze(["msrp-tls", "bfcp-tls", DEFAULT_DC_E2AE_MECHANISM]),
  e2dce: Object.freeze({ attribute: "3ge2ae", values: Object.freeze(["e2dce-requested"]), action: "reject-488" }),
  appliedInAnswer: false,
  msrpPath: "rewrite-last",
  agw: Object.freeze({
    tcpEstablishment: Object.freeze({ access: "immediate", core: "immediate" }),
    interlinkage: true,
    iqTimeoutMs: 5000,
  }),
  warnAgent: "pcscf.invalid",
});

// RFC 3261 §25.1 token (also RFC 3329 mechanism-name); RFC 8866 §9 token for att-field / att-value tokens.
const SIP_TOKEN_RE = /^[A-Za-z0-9\-.!%*_+`'~]+$/;
const SDP_TOKEN_RE = /^[!#-'*+\-.0-9A-Z^-~]+$/;
// RFC 3261 §25.1: hostport = host [ ":" port ]; host = hostname / IPv4address / IPv6reference
const HOSTPORT_RE =
  /^(?:[A-Za-z0-9](?:[A-Za-z0-9-]*[A-Za-z0-9])?(?:\.[A-Za-z0-9](?:[A-Za-z0-9-]*[A-Za-z0-9])?)*\.?|\[[0-9A-Fa-f:.]+\])(?::[0-9]{1,5})?$/;

const KEYS: ReadonlySet<string> = new Set(Object.keys(DEFAULT_ALG_CONFIG));
const E2DCE_KEYS: ReadonlySet<string> = new Set(["attribute", "values", "action"]);
const E2DCE_ACTIONS: readonly E2dceAction[] = ["reject-488", "forward", "anchor"];
const PATH_MODES: readonly MsrpPathMode[] = ["rewrite-last", "keep"];
const AGW_KEYS: ReadonlySet<string> = new Set(["tcpEstablishment", "interlinkage", "iqTimeoutMs"]);
const AGW_TCP_MODES: readonly AgwTcpMode[] = ["immediate", "delayed-drop", "delayed-hold"];

function isRecord(v: unknown): v is Record<string, unknown> {
  return typeof v === "object" && v !== null && !Array.isArray(v);
}

/** True when `s` is a valid RFC 3261 warn-agent (hostport or pseudonym = token). */
export function isWarnAgent(s: string): boolean {
  return SIP_TOKEN_RE.test(s) || HOSTPORT_RE.test(s);
}

/**
 * Validates an untyped configuration object and fills the defaults. Unknown keys are errors (typo protection).
 * `undefined`/`null` gives the defaults. Throws `AlgConfigError` (code E_CONFIG) listing every problem.
 */
export function loadAlgConfig(obj: unknown): AlgConfig {
  if (obj === undefined || obj === null) return resolved({});
  const problems: ConfigProblem[] = [];
  if (!isRecord(obj)) throw new AlgConfigError([{ path: "", message: "must be an object" }]);
  for (const k of Object.keys(obj)) if (!KEYS.has(k)) problems.push({ path: k, message: "unknown key" });

  const out: Partial<AlgConfig> = {};
  const bool = (k: "imsAlg" | "e2aeAvailable" | "rcsTerminateAllMsrpTls" | "appliedInAnswer"): void => {
    const v = obj[k];
    if (v === undefined) return;
    if (typeof v !== "boolean") problems.push({ path: k, message: "must be a boolean" });
    else out[k] = v;
  };
  bool("imsAlg");
  bool("e2aeAvailable");
  bool("rcsTerminateAllMsrpTls");
  bool("appliedInAnswer");

  const mech = obj.dcE2aeMechanism;
  if (mech !== undefined) {
    // RFC 3329 §2.2: mechanism-name = token
    if (typeof mech !== "string" || !SIP_TOKEN_RE.test(mech))
      problems.push({ path: "dcE2aeMechanism", message: "must be a SIP token (RFC 3329 §2.2 mechanism-name)" });
    else out.dcE2aeMechanism = mech.toLowerCase();
  }

  const sup = obj.supportedMediasec;
  if (sup !== undefined) {
    if (!Array.isArray(sup)) problems.push({ path: "supportedMediasec", message: "must be an array of tokens" });
    else {
      const list: string[] = [];
      sup.forEach((m: unknown, i) => {
        if (typeof m !== "string" || !SIP_TOKEN_RE.test(m))
          problems.push({ path: `supportedMediasec[${i}]`, message: "must be a SIP token" });
        else list.push(m.toLowerCase());
      });
      out.supportedMediasec = [...new Set(list)];
    }
  }

  const e2dce = obj.e2dce;
  if (e2dce !== undefined) {
    if (!isRecord(e2dce)) problems.push({ path: "e2dce", message: "must be an object" });
    else {
      for (const k of Object.keys(e2dce))
        if (!E2DCE_KEYS.has(k)) problems.push({ path: `e2dce.${k}`, message: "unknown key" });
      const attribute = e2dce.attribute ?? DEFAULT_ALG_CONFIG.e2dce.attribute;
      const values = e2dce.values ?? DEFAULT_ALG_CONFIG.e2dce.values;
      const action = e2dce.action ?? DEFAULT_ALG_CONFIG.e2dce.action;
      let ok = true;
      // RFC 8866 §5.13 / §9: att-field = token
      if (typeof attribute !== "string" || !SDP_TOKEN_RE.test(attribute)) {
        problems.push({ path: "e2dce.attribute", message: "must be an SDP attribute name (token)" });
        ok = false;
      }
      const vals: string[] = [];
      if (!Array.isArray(values)) {
        problems.push({ path: "e2dce.values", message: "must be an array of tokens" });
        ok = false;
      } else {
        values.forEach((v: unknown, i) => {
          if (typeof v !== "string" || !SDP_TOKEN_RE.test(v)) {
            problems.push({ path: `e2dce.values[${i}]`, message: "must be a token" });
            ok = false;
          } else vals.push(v);
        });
      }
      if (typeof action !== "string" || !(E2DCE_ACTIONS as readonly string[]).includes(action)) {
        problems.push({ path: "e2dce.action", message: `must be one of ${E2DCE_ACTIONS.join(", ")}` });
        ok = false;
      }
      if (ok && attribute === "3ge2ae") {
        // TS 24.229 §7.5.2.2: "requested" and "applied" already have a meaning; e2DCe needs another token.
        if (vals.length === 0)
          problems.push({ path: "e2dce.values", message: 'must not be empty when attribute is "3ge2ae"' });
        const clash = vals.find((v) => ["requested", "applied"].includes(v.toLowerCase()));
        if (clash !== undefined)
          problems.push({ path: "e2dce.values", message: `"${clash}" is a defined 3ge2ae value (TS 24.229 §7.5.2)` });
      }
      if (ok) out.e2dce = { attribute: attribute as string, values: vals, action: action as E2dceAction };
    }
  }

  const path = obj.msrpPath;
  if (path !== undefined) {
    if (typeof path !== "string" || !(PATH_MODES as readonly string[]).includes(path))
      problems.push({ path: "msrpPath", message: `must be one of ${PATH_MODES.join(", ")}` });
    else out.msrpPath = path as MsrpPathMode;
  }

  const agw = obj.agw;
  if (agw !== undefined) {
    if (!isRecord(agw)) problems.push({ path: "agw", message: "must be an object" });
    else {
      for (const k of Object.keys(agw))
        if (!AGW_KEYS.has(k)) problems.push({ path: `agw.${k}`, message: "unknown key" });
      const d = DEFAULT_ALG_CONFIG.agw;
      const tcp = { ...d.tcpEstablishment };
      const te = agw.tcpEstablishment;
      if (te !== undefined) {
        if (!isRecord(te)) problems.push({ path: "agw.tcpEstablishment", message: "must be an object" });
        else {
          for (const k of Object.keys(te)) {
            const v = te[k];
            if (k !== "access" && k !== "core")
              problems.push({ path: `agw.tcpEstablishment.${k}`, message: "unknown key" });
            else if (typeof v !== "string" || !(AGW_TCP_MODES as readonly string[]).includes(v))
              problems.push({
                path: `agw.tcpEstablishment.${k}`,
                message: `must be one of ${AGW_TCP_MODES.join(", ")} (TR 29.828 §4.4.2.2)`,
              });
            else tcp[k] = v as AgwTcpMode;
          }
        }
      }
      const il = agw.interlinkage ?? d.interlinkage;
      if (typeof il !== "boolean") problems.push({ path: "agw.interlinkage", message: "must be a boolean" });
      const to = agw.iqTimeoutMs ?? d.iqTimeoutMs;
      if (typeof to !== "number" || !Number.isInteger(to) || to < 100 || to > 60_000)
        problems.push({ path: "agw.iqTimeoutMs", message: "must be an integer in [100, 60000]" });
      if (typeof il === "boolean" && typeof to === "number")
        out.agw = { tcpEstablishment: tcp, interlinkage: il, iqTimeoutMs: to };
    }
  }

  const agent = obj.warnAgent;
  if (agent !== undefined) {
    // RFC 3261 §20.43: warn-agent = hostport / pseudonym
    if (typeof agent !== "string" || !isWarnAgent(agent))
      problems.push({ path: "warnAgent", message: "must be a hostport or token (RFC 3261 §20.43 warn-agent)" });
    else out.warnAgent = agent;
  }

  if (problems.length > 0) throw new AlgConfigError(problems);
  return resolved(out);
}

/** Defaults + overrides; `supportedMediasec` defaults to msrp-tls, bfcp-tls and the (possibly changed) DC name. */
function resolved(p: Partial<AlgConfig>): AlgConfig {
  const dcE2aeMechanism = p.dcE2aeMechanism ?? DEFAULT_ALG_CONFIG.dcE2aeMechanism;
  return {
    imsAlg: p.imsAlg ?? DEFAULT_ALG_CONFIG.imsAlg,
    e2aeAvailable: p.e2aeAvailable ?? DEFAULT_ALG_CONFIG.e2aeAvailable,
    rcsTerminateAllMsrpTls: p.rcsTerminateAllMsrpTls ?? DEFAULT_ALG_CONFIG.rcsTerminateAllMsrpTls,
    dcE2aeMechanism,
    supportedMediasec: p.supportedMediasec ?? ["msrp-tls", "bfcp-tls", dcE2aeMechanism],
    e2dce: p.e2dce ?? { ...DEFAULT_ALG_CONFIG.e2dce, values: [...DEFAULT_ALG_CONFIG.e2dce.values] },
    appliedInAnswer: p.appliedInAnswer ?? DEFAULT_ALG_CONFIG.appliedInAnswer,
    msrpPath: p.msrpPath ?? DEFAULT_ALG_CONFIG.msrpPath,
    agw: p.agw ?? {
      ...DEFAULT_ALG_CONFIG.agw,
      tcpEstablishment: { ...DEFAULT_ALG_CONFIG.agw.tcpEstablishment },
    },
    warnAgent: p.warnAgent ?? DEFAULT_ALG_CONFIG.warnAgent,
  };
}

/** A full configuration from a typed partial (tests, embedding code); validated like `loadAlgConfig`. */
export function algConfig(overrides: Partial<AlgConfig> = {}): AlgConfig {
  return loadAlgConfig(overrides);
}
