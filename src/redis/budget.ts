/**
 * The request budget's window in Redis (codat/request-budget.ts): one counter for every replica (they share an
 * egress address) on the hub's command connection, through rate-limiter-flexible (loaded on first use), and the
 * in-memory insurance window of an equal share of the budget per replica, floor(budget / REDIS_EXPECTED_REPLICAS),
 * that answers while the hub's health state says Redis is down.
 */
import type { RateLimiterAbstract } from "rate-limiter-flexible";
import type { FailureStreak } from "./health.js";
import type { RedisHub } from "./hub.js";

/** With Redis: the insurance window and what decides that Redis is down. */
export interface RedisSide {
  insurance: RateLimiterAbstract;
  /** The connection is open. */
  connected(): boolean;
  streak: FailureStreak;
  retryIntervalMs: number;
}

export interface BudgetWindowOptions {
  perMinute: number;
  windowSeconds: number;
}

export async function redisBudgetWindow(
  hub: RedisHub,
  options: BudgetWindowOptions,
): Promise<{ limiter: RateLimiterAbstract; side: RedisSide }> {
  const { RateLimiterMemory, RateLimiterRedis } = await import("rate-limiter-flexible");
  // An unreachable Redis is not fatal here: the slots decide REDIS_FAILURE_MODE, and the insurance window
  // answers until the connection is up (it keeps reconnecting).
  const { command } = await hub.start();
  const redis = hub.config;
  const share = Math.max(1, Math.floor(options.perMinute / redis.expectedReplicas));
  // No insuranceLimiter: rate-limiter-flexible would answer from it on any error, a slow command included.
  const limiter = new RateLimiterRedis({
    storeClient: command,
    keyPrefix: `${redis.keyPrefix}budget`,
    points: options.perMinute,
    duration: options.windowSeconds,
    rejectIfRedisNotReady: true,
  });
  const side: RedisSide = {
    insurance: new RateLimiterMemory({ points: share, duration: options.windowSeconds }),
    connected: () => hub.connected,
    streak: hub.streak,
    retryIntervalMs: redis.retryIntervalMs,
  };
  return { limiter, side };
}
