import { defineConfig } from "vitest/config";

export default defineConfig({
  test: {
    include: ["test/**/*.test.ts"],
    // dist/ is rebuilt when src/ is newer (examples and the CLI entry run the compiled package)
    globalSetup: ["test/setup/dist.ts"],
    testTimeout: 30_000,
    hookTimeout: 30_000,
    // network tests bind real sockets on 127.0.0.1; keep parallelism modest on 2-core machines
    maxWorkers: 2,
    reporters: ["default"],
  },
});
