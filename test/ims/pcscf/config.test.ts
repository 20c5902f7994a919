import { describe, expect, it } from "vitest";
import { isImsdcError } from "../../../src/errors.ts";
import {
  AlgConfigError,
  algConfig,
  DEFAULT_ALG_CONFIG,
  isWarnAgent,
  loadAlgConfig,
} from "../../../src/ims/pcscf/index.ts";

describe("loadAlgConfig", () => {
  it("gives the documented defaults", () => {
    expect(loadAlgConfig(undefined)).toEqual({
      imsAlg: true,
      e2aeAvailable: true,
      rcsTerminateAllMsrpTls: false,
      dcE2aeMechanism: "dc-dtls",
      supportedMediasec: ["msrp-tls", "bfcp-tls", "dc-dtls"],
      e2dce: { attribute: "3ge2ae", values: ["e2dce-requested"], action: "reject-488" },
      appliedInAnswer: false,
      msrpPath: "rewrite-last",
      agw: { tcpEstablishment: { access: "immediate", core: "immediate" }, interlinkage: true, iqTimeoutMs: 5000 },
      warnAgent: "pcscf.invalid",
    });
    expect(loadAlgConfig({})).toEqual(loadAlgConfig(null));
    expect(DEFAULT_ALG_CONFIG.e2dce.action).toBe("reject-488");
  });

  it("accepts overrides; supportedMediasec follows a changed DC mechanism name", () => {
    const c = loadAlgConfig({
      imsAlg: false,
      dcE2aeMechanism: "X-DC",
      e2dce: { attribute: "3ge2dce", values: ["requested"], action: "forward" },
      warnAgent: "[2001:db8::1]:5060",
    });
    expect(c.imsAlg).toBe(false);
    expect(c.supportedMediasec).toEqual(["msrp-tls", "bfcp-tls", "x-dc"]);
    expect(c.e2dce).toEqual({ attribute: "3ge2dce", values: ["requested"], action: "forward" });
    expect(loadAlgConfig({ e2dce: { action: "anchor" } }).e2dce).toEqual({
      attribute: "3ge2ae",
      values: ["e2dce-requested"],
      action: "anchor",
    });
    expect(algConfig({ supportedMediasec: ["MSRP-TLS", "msrp-tls"] }).supportedMediasec).toEqual(["msrp-tls"]);
    // TR 29.828 §4.4.2.2: delayed establishment per termination side; the other side keeps its default
    expect(loadAlgConfig({ agw: { tcpEstablishment: { core: "delayed-hold" }, interlinkage: false } }).agw).toEqual({
      tcpEstablishment: { access: "immediate", core: "delayed-hold" },
      interlinkage: false,
      iqTimeoutMs: 5000,
    });
  });

  const bad: Array<[unknown, string[]]> = [
    [[], [""]],
    ["x", [""]],
    [{ imsAlg: "yes" }, ["imsAlg"]],
    [{ e2aeAvailble: false }, ["e2aeAvailble"]],
    [{ dcE2aeMechanism: "dc dtls" }, ["dcE2aeMechanism"]],
    [{ supportedMediasec: "msrp-tls" }, ["supportedMediasec"]],
    [{ supportedMediasec: ["ok", 3] }, ["supportedMediasec[1]"]],
    [{ e2dce: { attribute: "3ge2ae", values: ["requested"] } }, ["e2dce.values"]],
    [{ e2dce: { attribute: "3ge2ae", values: [] } }, ["e2dce.values"]],
    [{ e2dce: { attribute: "a b" } }, ["e2dce.attribute"]],
    [{ e2dce: { action: "drop" } }, ["e2dce.action"]],
    [{ e2dce: { values: ["ok", "no way"] } }, ["e2dce.values[1]"]],
    [{ e2dce: { extra: 1 } }, ["e2dce.extra"]],
    [{ e2dce: "3ge2dce" }, ["e2dce"]],
    [{ msrpPath: "rewrite-first" }, ["msrpPath"]],
    [{ warnAgent: "p cscf" }, ["warnAgent"]],
    [{ imsAlg: 1, msrpPath: 2 }, ["imsAlg", "msrpPath"]],
    [{ agw: 1 }, ["agw"]],
    [{ agw: { tcpEstablishment: { core: "delayed" } } }, ["agw.tcpEstablishment.core"]],
    [{ agw: { tcpEstablishment: { side: "immediate" } } }, ["agw.tcpEstablishment.side"]],
    [{ agw: { interlinkage: "on", iqTimeoutMs: 5, x: 1 } }, ["agw.x", "agw.interlinkage", "agw.iqTimeoutMs"]],
  ];
  for (const [input, paths] of bad) {
    it(`rejects ${JSON.stringify(input)}`, () => {
      let err: unknown;
      try {
        loadAlgConfig(input);
      } catch (e) {
        err = e;
      }
      expect(err).toBeInstanceOf(AlgConfigError);
      expect(isImsdcError(err, "E_CONFIG")).toBe(true);
      expect((err as AlgConfigError).problems.map((p) => p.path)).toEqual(paths);
    });
  }

  it("warn-agent is hostport or pseudonym (RFC 3261 §20.43)", () => {
    for (const ok of ["pcscf.ims.mnc001.mcc001.3gppnetwork.org", "pcscf:5060", "192.0.2.1", "[2001:db8::1]", "pcscf"])
      expect(isWarnAgent(ok)).toBe(true);
    for (const no of ["", "a b", 'x"y', "pcscf:port"]) expect(isWarnAgent(no)).toBe(false);
  });
});
