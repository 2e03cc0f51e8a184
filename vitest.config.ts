import { defineConfig } from "vitest/config";

export default defineConfig({
  test: {
    include: ["packages/*/src/**/*.test.{ts,tsx}", "test/**/*.test.ts"],
    // Most test time is spent waiting on real processes (daemons, Python workers, moto, podman),
    // not computing: two files at a time on CI's two cores (vitest's default there is one).
    maxWorkers: 2,
    testTimeout: 60_000,
    hookTimeout: 60_000,
    env: { FORCE_COLOR: "0" },
  },
});
