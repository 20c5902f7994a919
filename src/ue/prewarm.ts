/**
 * Pre-warming of the data channel engine. The first association in a fresh process runs ICE, DTLS, SCTP and our SDP
 * code in V8's interpreter: in `bench/dc.ts` it takes 3–4 × the time of the next one (docs/bench.md, "Setup: cold
 * and warm"). A test UE app that wants its first call to set up as fast as the later ones calls
 * `prewarmDcEngine()` once at start-up, off the call path: it runs one complete association between two in-process
 * endpoints on 127.0.0.1 (fresh certificates, fingerprints verified like any other call, a burst of small messages
 * each way) and closes it. Nothing leaves the loopback interface and nothing is audited: no peer is involved.
 */
import { DcEndpoint, type DcEndpointOptions } from "./dcEndpoint.ts";
import { UeError, withTimeout } from "./errors.ts";
import type { IceMode } from "./iceMode.ts";

export interface PrewarmOptions {
  /** the ICE mode the application will use (default "full"): its code path is the one warmed */
  ice?: IceMode;
  /** bound on the whole warm-up (default 5000 ms) */
  timeoutMs?: number;
  /** small messages each end sends in one synchronous loop, to warm the message path too (default 2000) */
  messages?: number;
}

/** Resolves with the warm-up's duration; rejects with the UeError of the stage that failed (both ends are closed). */
export async function prewarmDcEngine(opts: PrewarmOptions = {}): Promise<{ ms: number }> {
  const t0 = performance.now();
  const common: DcEndpointOptions = {
    ice: opts.ice ?? "full",
    hostAddresses: ["127.0.0.1"],
    channels: [{ id: 1000, label: "imsdc-prewarm" }],
  };
  const a = new DcEndpoint({ ...common, name: "prewarm-a" });
  const b = new DcEndpoint({ ...common, name: "prewarm-b" });
  const n = Math.max(1, opts.messages ?? 2000);
  const received = (e: DcEndpoint) =>
    new Promise<void>((resolve) => {
      let got = 0;
      e.on("channel", (ch) =>
        ch.on("message", () => {
          if (++got === n) resolve();
        }),
      );
    });
  try {
    const gotA = received(a);
    const gotB = received(b);
    const run = (async () => {
      const answer = await b.acceptOffer(await a.createOffer());
      await a.acceptAnswer(answer);
      await Promise.all([a.connected(), b.connected()]);
      for (const e of [a, b]) {
        const ch = e.channel(1000);
        if (!ch) throw new UeError("E_DC_CHANNEL", "prewarm: the negotiated channel did not appear");
        if (ch.readyState !== "open") await new Promise<void>((r) => ch.once("open", () => r()));
        for (let i = 0; i < n; i++) ch.send(`prewarm-${i}`);
      }
      await Promise.all([gotA, gotB]);
    })();
    await withTimeout(run, opts.timeoutMs ?? 5000, "E_PREWARM_TIMEOUT", "data channel engine warm-up");
    return { ms: performance.now() - t0 };
  } finally {
    await Promise.all([a.close(), b.close()]);
  }
}
