/**
 * The one way the gateway opens a Redis connection (ioredis): lazy (connect() starts it), every command
 * bounded — no offline queue (a command while disconnected fails at once), no per-request retries, a command
 * timeout — and reconnecting for ever with a capped backoff, so a Redis that comes back is used again. Callers
 * handle its 'error' events (or ignore them: one is attached here so none is ever thrown).
 */
import { Redis } from "ioredis";
import type { RedisConfig } from "../config.js";

export type RedisSettings = Pick<RedisConfig, "url" | "commandTimeoutMs" | "connectTimeoutMs">;

export function newRedisClient(settings: RedisSettings, connectionName: string): Redis {
  const redis = new Redis(settings.url, {
    lazyConnect: true,
    enableOfflineQueue: false,
    maxRetriesPerRequest: 0,
    autoResendUnfulfilledCommands: false,
    commandTimeout: settings.commandTimeoutMs,
    connectTimeout: settings.connectTimeoutMs,
    connectionName,
    // Reconnect for ever, at most every 2 s; callers run on their local fallback meanwhile.
    retryStrategy: (times) => Math.min(50 * 2 ** Math.min(times, 6), 2_000),
  });
  redis.on("error", () => undefined);
  return redis;
}
