/**
 * CPU time per operation of the P-CSCF's per-message work, in-process and without sockets: parsing the bench's
 * INVITE and 200 OK (RFC 3261 §7), serialising them, and the IMS-ALG decision on their SDP offer and answer. User +
 * system CPU time (process.cpuUsage), so a loaded machine inflates it less than wall time; compare runs on one machine.
 *
 *   node --import tsx bench/pcscf/micro.ts [--n N] [--only "parse INVITE"]
 */
import { decideSdp } from "../../src/ims/pcscf/alg.ts";
import { algConfig } from "../../src/ims/pcscf/config.ts";
import { parseMessage } from "../../src/sip/parse.ts";
import { exitOnHelp } from "../cli.ts";
import { ANSWER, INVITE, OFFER, OK } from "./messages.ts";

exitOnHelp(`usage: node --import tsx bench/pcscf/micro.ts [--n N] [--only OP]

CPU µs per operation (parse INVITE / 200, serialise, IMS-ALG decision on offer / answer); one JSON line each.
`);

const nIdx = process.argv.indexOf("--n");
const N = nIdx > 0 ? Number(process.argv[nIdx + 1]) : 20000;
const onlyIdx = process.argv.indexOf("--only");
const only = onlyIdx > 0 ? process.argv[onlyIdx + 1] : undefined;

function measure(name: string, fn: () => unknown): void {
  if (only !== undefined && name !== only) return;
  for (let i = 0; i < Math.min(2000, N); i++) fn();
  const c0 = process.cpuUsage();
  for (let i = 0; i < N; i++) fn();
  const c = process.cpuUsage(c0);
  const us = (c.user + c.system) / N;
  process.stdout.write(
    `${JSON.stringify({ bench: "pcscf-micro", op: name, n: N, cpuUsPerOp: Math.round(us * 100) / 100 })}\n`,
  );
}

const config = algConfig();
const caps = new Set<string>();
const inv = parseMessage(INVITE, { datagram: true });
const ok = parseMessage(OK, { datagram: true });
const offer = decideSdp(OFFER, { direction: "originating", kind: "offer", callId: "x", capabilities: caps, config });
measure("parse INVITE", () => parseMessage(INVITE, { datagram: true }));
measure("parse 200", () => parseMessage(OK, { datagram: true }));
// the P-CSCF's level (RFC 3261 §16.3 item 1: only what the proxy reads)
measure("parse INVITE proxy", () => parseMessage(INVITE, { datagram: true, validate: "proxy" }));
measure("parse 200 proxy", () => parseMessage(OK, { datagram: true, validate: "proxy" }));
measure("serialise INVITE", () => inv.toBytes());
measure("serialise 200", () => ok.toBytes());
measure("decide offer", () =>
  decideSdp(OFFER, { direction: "originating", kind: "offer", callId: "x", capabilities: caps, config }),
);
measure("decide answer", () =>
  decideSdp(ANSWER, { direction: "originating", kind: "answer", callId: "x", capabilities: caps, config, offer }),
);
