import { createRequire } from "node:module";
import { fileURLToPath } from "node:url";
import { defineConfig } from "vitest/config";

const require = createRequire(import.meta.url);

export default defineConfig({
  resolve: {
    // graphql 16 ships CJS (index.js, Node's choice) and ESM (index.mjs, Vite's choice). Apollo's packages load
    // the CJS one through Node, so the tests must too: two copies break graphql's instanceof checks.
    // The simulator workspace package from its sources, as tsconfig.json's `paths` has it (no build needed).
    alias: [
      { find: /^graphql$/, replacement: require.resolve("graphql") },
      { find: /^codat-simulator$/, replacement: fileURLToPath(new URL("simulator/src/index.ts", import.meta.url)) },
    ],
  },
  test: {
    environment: "node",
    testTimeout: 20_000,
    hookTimeout: 20_000,
    // Tests start loopback servers; two cores, so keep the pool small and predictable.
    pool: "forks",
    maxWorkers: 2,
    // Three tiers of both packages' tests. `npm test` runs "default": unit and in-process integration tests only
    // (no child processes, no Redis, no router, no browser). `npm run test:system` runs "system" (*.system.test.ts):
    // real processes, Redis servers and replicas, the Grafbase router. `npm run test:slow` the > 1 GiB streams.
    projects: [
      {
        extends: true,
        test: {
          name: "default",
          include: ["test/**/*.test.ts", "simulator/test/**/*.test.ts"],
          exclude: ["**/*.slow.test.ts", "**/*.system.test.ts", "**/*.browser.test.ts"],
        },
      },
      {
        extends: true,
        // Child processes and real servers on a busy two-core machine: one file at a time, generous hook bounds.
        test: {
          name: "system",
          include: ["test/**/*.system.test.ts", "simulator/test/**/*.system.test.ts"],
          maxWorkers: 1,
          testTimeout: 60_000,
          hookTimeout: 60_000,
        },
      },
      {
        extends: true,
        // Gigabytes through three servers on a busy two-core machine: generous bounds, since nothing here measures time.
        test: { name: "slow", include: ["test/**/*.slow.test.ts", "simulator/test/**/*.slow.test.ts"], testTimeout: 300_000 },
      },
      {
        extends: true,
        // A real Chromium (test/helpers/chromium.ts) against built assets and a gateway on the simulator: one file at a time.
        test: { name: "browser", include: ["test/**/*.browser.test.ts"], maxWorkers: 1, testTimeout: 120_000, hookTimeout: 120_000 },
      },
    ],
  },
});
