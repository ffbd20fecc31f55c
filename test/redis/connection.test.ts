/**
 * The gateway's Redis connections (src/redis/connection.ts): ioredis's own re-subscribe after a reconnect is off,
 * since its promise is not caught (a connection lost again just then, with no offline queue, was an unhandled
 * rejection under load); the subscribers subscribe again themselves on 'ready' (test/subscriptions/redis-bus.system.test.ts).
 */
import { describe, expect, it } from "vitest";
import { newRedisClient } from "../../src/redis/connection.js";

describe("Redis connections", () => {
  it("leave re-subscribing to the gateway's subscribers, with no offline queue", () => {
    const redis = newRedisClient({ url: "redis://127.0.0.1:1", commandTimeoutMs: 1_000, connectTimeoutMs: 1_000 }, "test");
    try {
      expect(redis.options.autoResubscribe).toBe(false);
      expect(redis.options.enableOfflineQueue).toBe(false);
      expect(redis.status).toBe("wait");
    } finally {
      redis.disconnect();
    }
  });
});
