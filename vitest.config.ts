import { defineConfig } from "vitest/config";

export default defineConfig({
  test: {
    include: ["test/**/*.test.ts"],
    testTimeout: 30_000,
    hookTimeout: 30_000,
    // network tests bind real sockets on 127.0.0.1; keep parallelism modest on 2-core machines
    maxWorkers: 2,
    reporters: ["default"],
  },
});
