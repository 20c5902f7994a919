// Every public entry of the installed package, imported with plain node (no loader): each must load and carry its API.
const EXPECT = {
  "imsdc/sdp": ["inspectSdp", "validateOffer", "buildDcMedia"],
  "imsdc/sip": ["parseMessage", "SipUserAgent", "TransactionManager"],
  "imsdc/browser": ["SipUserAgent", "BrowserWsTransport", "inspectSdp"],
  "imsdc/security": ["generateSessionCertificate", "verifyPeerCertificate"],
  "imsdc/ue": ["ImsUe", "DcEndpoint", "inspectEngine"],
  "imsdc/pcscf": ["Pcscf"],
  "imsdc/scscf": ["Scscf"],
  "imsdc/agw": ["ImsAgw"],
  "imsdc/network": ["EmbeddedNetwork", "DEMO_CHANNEL"],
};
let bad = 0;
for (const [entry, names] of Object.entries(EXPECT)) {
  const m = await import(entry);
  const missing = names.filter((n) => m[n] === undefined);
  if (missing.length) {
    bad++;
    console.log(`FAIL ${entry}: missing ${missing.join(", ")}`);
  } else console.log(`ok   ${entry} (${Object.keys(m).length} exports)`);
}
const { inspectEngine } = await import("imsdc/ue");
const h = inspectEngine();
console.log(`engine: ${h.hardened ? "hardened" : `NOT hardened: ${h.reason}`}`);
process.exit(bad === 0 && h.hardened ? 0 : 1);
