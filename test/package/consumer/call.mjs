// A two-UE data channel call through the embedded IMS network of the installed package, with plain node: both UEs must
// verify the peer's certificate against the signalled fingerprint, and a message must go both ways.
// `node call.mjs expect-refusal` instead expects the UE to refuse (E_ENGINE_UNHARDENED) because the werift it loads
// was swapped for an unpatched one.
import { DEMO_CHANNEL, EmbeddedNetwork } from "imsdc/network";

const expectRefusal = process.argv[2] === "expect-refusal";
const bound = setTimeout(() => {
  console.log("FAIL: timed out");
  process.exit(1);
}, 30_000);
const net = await EmbeddedNetwork.start();
let code = 1;
try {
  const alice = await net.addUe("ueA", "alice", { dc: { channels: [DEMO_CHANNEL] } });
  const bob = await net.addUe("ueB", "bob", { echoPrefix: "echo: " });
  const incoming = new Promise((r) => bob.once("incoming", r));
  let call;
  try {
    call = await alice.call(`sip:bob@${net.domain}`);
  } catch (e) {
    const refusal = net.audit.events.find((ev) => ev.decision === "engine-refused");
    if (expectRefusal && e?.code === "E_ENGINE_UNHARDENED" && refusal) {
      console.log(`ok   refused: ${e.code}: ${e.message}`);
      console.log(`ok   audit: ${JSON.stringify({ decision: refusal.decision, transport: refusal.transport })}`);
      code = 0;
    } else console.log(`FAIL call: ${e?.code ?? ""} ${e?.message ?? e}`);
  }
  if (call) {
    if (expectRefusal) console.log("FAIL: the call was placed on an unhardened engine");
    else {
      const bcall = await incoming;
      await Promise.all([call.dc.connected(), bcall.dc.connected()]);
      const ch = call.dc.channel(DEMO_CHANNEL.id);
      if (ch.readyState !== "open") await new Promise((r) => ch.once("open", r));
      const echo = new Promise((r) => ch.once("message", (m) => r(String(m))));
      ch.send("hello bob");
      const got = await echo;
      const [va, vb] = [call.dc.verdict, bcall.dc.verdict];
      console.log(`alice verified bob: ${va?.verified} (${va?.hash} ${va?.presented})`);
      console.log(`bob verified alice: ${vb?.verified} (${vb?.hash} ${vb?.presented})`);
      console.log(`echo: ${got}`);
      code = va?.verified === true && vb?.verified === true && got === "echo: hello bob" ? 0 : 1;
      await call.hangup();
    }
  }
} finally {
  await net.close();
  clearTimeout(bound);
}
console.log(code === 0 ? "PASS" : "FAIL");
process.exit(code);
