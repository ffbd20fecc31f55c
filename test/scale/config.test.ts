import { createServer, type Server } from "node:http";
import type { AddressInfo } from "node:net";
import { afterEach, describe, expect, it } from "vitest";
import { createGateway } from "../../src/app.js";
import { ConfigError, parseConfig } from "../../src/config.js";
import { createLogger } from "../../src/observability/logger.js";
import { configProblems } from "../helpers/config.js";

const BASE = { CODAT_BASE_URL: "http://127.0.0.1:9", SIGNING_SECRET: "s".repeat(40) };

describe("REDIS_URL configuration", () => {
  it("is off by default, and refuses every REDIS_* setting without REDIS_URL", () => {
    expect(parseConfig({ CODAT_BASE_URL: "http://127.0.0.1:9" }).redis).toBeUndefined();
    expect(configProblems({ CODAT_BASE_URL: "http://127.0.0.1:9", REDIS_FAILURE_MODE: "local" })).toEqual([
      "REDIS_FAILURE_MODE has no effect without REDIS_URL",
    ]);
    const settings = {
      REDIS_FAILURE_MODE: "local",
      REDIS_EXPECTED_REPLICAS: "2",
      REDIS_LEASE_MS: "10000",
      REDIS_COMMAND_TIMEOUT_MS: "500",
      REDIS_CONNECT_TIMEOUT_MS: "5000",
      REDIS_RETRY_INTERVAL_MS: "20",
      REDIS_KEY_PREFIX: "gw:",
    };
    expect(configProblems({ CODAT_BASE_URL: "http://127.0.0.1:9", ...settings })).toEqual(
      Object.keys(settings).map((name) => `${name} has no effect without REDIS_URL`),
    );
  });

  it("has defaults", () => {
    expect(parseConfig({ ...BASE, REDIS_URL: "redis://:pw@redis.internal:6380/2" }).redis).toEqual({
      url: "redis://:pw@redis.internal:6380/2",
      failureMode: "fail",
      expectedReplicas: 3,
      leaseMs: 10_000,
      commandTimeoutMs: 500,
      connectTimeoutMs: 5_000,
      retryIntervalMs: 20,
      keyPrefix: "codat-gateway:",
    });
  });

  it("needs SIGNING_SECRET, so cursors and links verify on every replica", () => {
    expect(configProblems({ CODAT_BASE_URL: "http://127.0.0.1:9", REDIS_URL: "redis://127.0.0.1:6379" })).toEqual([
      "REDIS_URL (several replicas) needs SIGNING_SECRET, the same on every replica, so cursors and download links verify on any of them",
    ]);
  });

  it("needs SIGNING_SECRET with REPLICAS > 1 too, and takes REPLICAS as the expected replica count", () => {
    expect(configProblems({ CODAT_BASE_URL: "http://127.0.0.1:9", REPLICAS: "2" })).toEqual([
      "REPLICAS > 1 (several replicas) needs SIGNING_SECRET, the same on every replica, so cursors and download links verify on any of them",
    ]);
    expect(configProblems({ CODAT_BASE_URL: "http://127.0.0.1:9", REPLICAS: "1" })).toEqual([]);
    expect(parseConfig({ ...BASE, REPLICAS: "5", REDIS_URL: "redis://127.0.0.1:6379" }).redis?.expectedReplicas).toBe(5);
    expect(
      parseConfig({ ...BASE, REPLICAS: "5", REDIS_URL: "redis://127.0.0.1:6379", REDIS_EXPECTED_REPLICAS: "4" }).redis?.expectedReplicas,
    ).toBe(4);
  });

  it("refuses a malformed URL without echoing it, and bad settings", () => {
    const problems = configProblems({
      ...BASE,
      REDIS_URL: "http://:secret@x",
      REDIS_FAILURE_MODE: "maybe",
      REDIS_LEASE_MS: "1000",
      REDIS_COMMAND_TIMEOUT_MS: "800",
    });
    expect(problems).toEqual([
      "REDIS_URL must be a redis:// or rediss:// URL (redis://[:password@]host[:port][/db])",
      'REDIS_FAILURE_MODE must be fail or local (got "maybe")',
      "REDIS_COMMAND_TIMEOUT_MS (800) must be at most half of REDIS_LEASE_MS (1000)",
    ]);
    expect(problems.join("\n")).not.toContain("secret");
  });
});

describe("REDIS_URL at something that is not Redis", () => {
  let server: Server | undefined;
  afterEach(async () => {
    await new Promise<void>((resolve) => (server ? server.close(() => resolve()) : resolve()));
    server = undefined;
  });

  it.each(["fail", "local"])(
    "stops startup with one problem naming REDIS_URL, password masked (REDIS_FAILURE_MODE=%s)",
    async (failureMode) => {
      // Something listens and answers, but in HTTP: an HTTP server where Redis should be.
      server = createServer((_req, res) => res.end("not redis"));
      await new Promise<void>((resolve) => server!.listen(0, "127.0.0.1", resolve));
      const port = (server.address() as AddressInfo).port;
      const config = parseConfig({
        ...BASE,
        PORT: "0",
        HOST: "127.0.0.1",
        REDIS_URL: `redis://:hunter2-password@127.0.0.1:${port}`,
        REDIS_FAILURE_MODE: failureMode,
        // The check's bound, far above how long the answer takes: the test waits on the answer, never on the bound.
        REDIS_COMMAND_TIMEOUT_MS: "20000",
        REDIS_LEASE_MS: "60000",
      });
      const gateway = createGateway(config, { logger: createLogger({ level: "silent", pretty: false, secrets: [] }) });
      const error = await gateway.listen().then(
        () => undefined,
        (e: unknown) => e,
      );
      expect(error).toBeInstanceOf(ConfigError);
      expect((error as ConfigError).problems).toEqual([
        `REDIS_URL (redis://:***@127.0.0.1:${port}) answered, but not as Redis (Protocol error, got "H" as reply type byte): check its host and port`,
      ]);
      expect(gateway.httpServer.listening).toBe(false);
    },
  );
});
