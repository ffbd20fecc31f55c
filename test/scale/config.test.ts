import { describe, expect, it } from "vitest";
import { parseConfig } from "../../src/config.js";
import { configProblems } from "../helpers/config.js";

const BASE = { CODAT_BASE_URL: "http://127.0.0.1:9", SIGNING_SECRET: "s".repeat(40) };

describe("REDIS_URL configuration", () => {
  it("is off by default, with no Redis settings", () => {
    expect(parseConfig({ CODAT_BASE_URL: "http://127.0.0.1:9" }).redis).toBeUndefined();
    expect(configProblems({ CODAT_BASE_URL: "http://127.0.0.1:9", REDIS_FAILURE_MODE: "local" })).toEqual([
      "REDIS_FAILURE_MODE has no effect without REDIS_URL",
    ]);
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
