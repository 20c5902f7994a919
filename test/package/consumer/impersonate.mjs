// The DTLS impersonation attack against the installed package, in both DTLS roles: the attacker holds the genuine
// peer's certificate (DTLS 1.2 sends it in clear, its fingerprint matches the SDP) and its own private key. The victim
// must refuse (E_DTLS_AUTH) and never see or send application data.
import { generateSessionCertificate } from "imsdc/security";
import { DcEndpoint } from "imsdc/ue";

const CHANNELS = [{ id: 1000, label: "chat" }];
const settle = (p) =>
  p.then(
    () => undefined,
    (e) => e,
  );
const forged = (genuine) => ({ ...genuine.identity, keyPem: generateSessionCertificate().keyPem });
const bound = setTimeout(() => {
  console.log("FAIL: timed out");
  process.exit(1);
}, 30_000);

async function attack(victimIsOfferer) {
  const genuine = new DcEndpoint({ name: "genuine" });
  const mallory = new DcEndpoint({
    name: "mallory",
    identity: forged(genuine),
    timeouts: { dtlsMs: 5000 },
    ...(victimIsOfferer ? {} : { channels: CHANNELS }),
  });
  const victim = new DcEndpoint({
    name: "victim",
    timeouts: { dtlsMs: 5000 },
    ...(victimIsOfferer ? { channels: CHANNELS } : {}),
  });
  let received = 0;
  for (const ep of [victim, mallory]) ep.on("channel", (ch) => ch.on("message", () => received++));
  try {
    if (victimIsOfferer) await victim.acceptAnswer(await mallory.acceptOffer(await victim.createOffer()));
    else await mallory.acceptAnswer(await victim.acceptOffer(await mallory.createOffer()));
    const [err] = await Promise.all([settle(victim.connected()), settle(mallory.connected())]);
    const role = victim.transport?.dtlsRole;
    const open = victim.channel(1000)?.readyState === "open";
    const ok = err?.code === "E_DTLS_AUTH" && victim.verdict?.verified !== true && !open && received === 0;
    console.log(
      `${ok ? "ok  " : "FAIL"} victim as DTLS ${role}: ${err?.code ?? "CONNECTED"} (${err?.message ?? "impersonator accepted"})`,
    );
    return ok;
  } finally {
    await Promise.all([victim.close(), mallory.close(), genuine.close()]);
  }
}

const results = [await attack(true), await attack(false)];
clearTimeout(bound);
console.log(results.every(Boolean) ? "PASS" : "FAIL");
process.exit(results.every(Boolean) ? 0 : 1);
