/**
 * A test UE app on the library API: registers through a P-CSCF, answers every call, and echoes every data channel
 * message back. Run it against the nodes of examples/configs (or any P-CSCF):
 *
 *   node --import tsx examples/echo-ue.ts --aor sip:bob@ims.example.com --proxy "sip:127.0.0.1:5080;lr"
 *
 * Options: --aor URI, --proxy URI (the P-CSCF, outbound proxy), --transport UDP|TCP|WS, --prefix TEXT.
 * Ctrl-C hangs up, closes the UE (every socket and timer) and exits 0.
 */
import { parseArgs } from "node:util";
import { ImsUe, type UeCall } from "imsdc/ue";

const { values } = parseArgs({
  options: {
    aor: { type: "string", default: "sip:bob@ims.example.com" },
    proxy: { type: "string", default: "sip:127.0.0.1:5080;lr" },
    transport: { type: "string", default: "UDP" },
    prefix: { type: "string", default: "echo: " },
    // registration authentication (Digest): the private identity; the password comes from IMSDC_PASSWORD (not argv,
    // which other local users can read)
    impi: { type: "string" },
  },
});
const password = process.env.IMSDC_PASSWORD;
const transport = values.transport === "TCP" || values.transport === "WS" ? values.transport : "UDP";

const ue = new ImsUe({
  aor: values.aor,
  outboundProxy: values.proxy,
  transport,
  autoAnswer: true,
  ...(values.impi !== undefined && password ? { auth: { impi: values.impi, password } } : {}),
});

// typed events: "call" for every call (incoming or outgoing), then the data channel endpoint's own events
ue.on("call", (call: UeCall) => {
  console.log(`call ${call.sip.callId}: ${call.sip.state}`);
  call.dc.on("verdict", (v) =>
    console.log(v.verified ? `peer verified (${v.hash} ${v.presented})` : `peer REFUSED: ${v.code} ${v.reason}`),
  );
  call.dc.on("failure", (e) => console.log(`data channel failed: ${e.code} ${e.message}`));
  call.dc.on("channel", (ch) => {
    ch.on("open", () => console.log(`channel ${ch.id} (${ch.info.label}) open`));
    ch.on("message", (m) => {
      const text = typeof m === "string" ? m : m.toString("utf8");
      console.log(`< ${text}`);
      ch.send(`${values.prefix}${text}`);
    });
  });
  void call.sip.terminated().then((t) => console.log(`call ${call.sip.callId} ended: ${t.reason}`));
});

await ue.start();
const reg = await ue.register();
console.log(`registered ${values.aor} via ${values.proxy} for ${reg.expires} s`);

const stop = async (signal: string) => {
  console.log(`${signal}: closing`);
  await ue.close();
  process.exitCode = 0;
};
process.once("SIGINT", () => void stop("SIGINT"));
process.once("SIGTERM", () => void stop("SIGTERM"));
