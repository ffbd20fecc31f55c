import { createRequire } from "node:module";
import { defineConfig } from "vitest/config";

const require = createRequire(import.meta.url);

export default defineConfig({
  resolve: {
    // graphql 16 ships CJS (index.js, Node's choice) and ESM (index.mjs, Vite's choice). Apollo's packages load
    // the CJS one through Node, so the tests must too: two copies break graphql's instanceof checks.
    alias: [{ find: /^graphql$/, replacement: require.resolve("graphql") }],
  },
  test: {
    include: ["test/**/*.test.ts"],
    environment: "node",
    testTimeout: 20_000,
    hookTimeout: 20_000,
    // Tests start loopback servers; two cores, so keep the pool small and predictable.
    pool: "forks",
    maxWorkers: 2,
  },
});
