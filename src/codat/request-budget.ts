/**
 * Codat's per-IP request budget (1,000 requests a minute from one address, answered 429 beyond it), kept on the
 * gateway's side so it never provokes those 429s: every attempt sent to Codat takes one request from a fixed
 * one-minute window (rate-limiter-flexible). A call that finds the window spent waits for the next one when that
 * comes within its wait limit (CODAT_QUEUE_TIMEOUT_MS, and its deadline), else fails at once with RATE_LIMITED
 * and the seconds until the window turns (`BudgetExhausted`).
 *
 * In one process the window is in memory. With REDIS_URL it is one counter in Redis for every replica (they
 * share an egress address), with an in-memory insurance window of an equal share of the budget per replica
 * (floor(budget / REDIS_EXPECTED_REPLICAS), so the replicas together stay under Codat's limit) that answers
 * while Redis is down: its connection is not open (a command then fails at once: no offline queue), or commands
 * have failed three times in a row over a whole REDIS_LEASE_MS. A command that fails on an open connection
 * (bounded by REDIS_COMMAND_TIMEOUT_MS) is slow, not down: it is asked again after REDIS_RETRY_INTERVAL_MS
 * within the call's wait limit, and a call that gets no answer within it fails like a spent window (one second),
 * rather than be counted on the insurance window while the other replicas count on Redis.
 */
import type { RateLimiterAbstract, RateLimiterRes } from "rate-limiter-flexible";
import type { RedisSide } from "../redis/budget.js";
import type { RedisHub } from "../redis/hub.js";

export type { RedisSide };

/** The window was spent and does not turn within the call's wait limit: `retryAfterMs` until it does. */
export class BudgetExhausted extends Error {
  override readonly name = "BudgetExhausted";
  constructor(readonly retryAfterMs: number) {
    super(`Codat's request budget is spent for the next ${Math.ceil(retryAfterMs / 1000)} s`);
  }
}

export interface RequestBudget {
  /**
   * Takes one request from the budget, waiting up to `maxWaitMs` (and while `signal` is not aborted) for the
   * window to turn. Rejects with BudgetExhausted, or with the signal's reason once it aborts.
   */
  take(signal: AbortSignal | undefined, maxWaitMs: number): Promise<void>;
  /** Builds it now (listen() calls it): with Redis, connects, so the first calls count in the shared window. */
  start(): Promise<void>;
  close(): Promise<void>;
}

export interface RequestBudgetOptions {
  /** Requests per minute (CODAT_REQUESTS_PER_MINUTE). */
  perMinute: number;
  /** Shared by the replicas through Redis (the hub's command connection and health state) when given. */
  hub?: RedisHub | undefined;
}

/** The one key of the budget: all replicas leave through the same address. */
const KEY = "egress";

const WINDOW_SECONDS = 60;

/** How long a call that could not reach a slow Redis in its wait limit is told to wait. */
const SLOW_REDIS_RETRY_AFTER_MS = 1_000;

/** One window (`limiter`): in memory, or in Redis with `redis` deciding when its insurance answers. Exported for tests. */
export class WindowBudget implements RequestBudget {
  readonly #limiter: RateLimiterAbstract;
  readonly #redis: RedisSide | undefined;
  readonly #onClose: () => Promise<void>;

  constructor(limiter: RateLimiterAbstract, redis?: RedisSide, onClose: () => Promise<void> = () => Promise.resolve()) {
    this.#limiter = limiter;
    this.#redis = redis;
    this.#onClose = onClose;
  }

  async take(signal: AbortSignal | undefined, maxWaitMs: number): Promise<void> {
    const waitUntil = Date.now() + maxWaitMs;
    for (;;) {
      signal?.throwIfAborted();
      let retryAfterMs: number;
      try {
        await this.#limiter.consume(KEY);
        this.#redis?.streak.reset();
        return;
      } catch (rejection) {
        const redis = this.#redis;
        if (isLimiterResult(rejection)) {
          redis?.streak.reset();
          retryAfterMs = Math.max(1, rejection.msBeforeNext);
        } else if (redis === undefined) {
          // Not the caller's problem (the memory window does not fail): the request goes out uncounted.
          return;
        } else if (!redis.connected() || redis.streak.failed() !== undefined) {
          // Redis is down: this replica's share of the budget answers.
          try {
            await redis.insurance.consume(KEY);
            return;
          } catch (insuranceRejection) {
            if (!isLimiterResult(insuranceRejection)) return;
            retryAfterMs = Math.max(1, insuranceRejection.msBeforeNext);
          }
        } else {
          // Slow, not down: ask again shortly (the take may have counted; counting twice errs on the safe side).
          if (Date.now() + redis.retryIntervalMs > waitUntil) throw new BudgetExhausted(SLOW_REDIS_RETRY_AFTER_MS);
          retryAfterMs = redis.retryIntervalMs;
        }
      }
      if (Date.now() + retryAfterMs > waitUntil) throw new BudgetExhausted(retryAfterMs);
      await sleep(retryAfterMs, signal);
    }
  }

  start(): Promise<void> {
    return Promise.resolve();
  }

  close(): Promise<void> {
    return this.#onClose();
  }
}

function isLimiterResult(value: unknown): value is RateLimiterRes {
  return typeof value === "object" && value !== null && "msBeforeNext" in value && typeof value.msBeforeNext === "number";
}

function sleep(ms: number, signal: AbortSignal | undefined): Promise<void> {
  return new Promise((resolve, reject) => {
    const onAbort = (): void => {
      clearTimeout(timer);
      reject(signal?.reason as Error);
    };
    const timer = setTimeout(() => {
      signal?.removeEventListener("abort", onAbort);
      resolve();
    }, ms);
    signal?.addEventListener("abort", onAbort, { once: true });
  });
}

/**
 * The budget for these options. rate-limiter-flexible is loaded here only, by a dynamic import, so a gateway
 * without a budget does not load it.
 */
export async function createRequestBudget(options: RequestBudgetOptions): Promise<RequestBudget> {
  const { RateLimiterMemory } = await import("rate-limiter-flexible");
  const { hub } = options;
  if (hub === undefined) {
    return new WindowBudget(new RateLimiterMemory({ points: options.perMinute, duration: WINDOW_SECONDS }));
  }
  const { redisBudgetWindow } = await import("../redis/budget.js");
  const { limiter, side } = await redisBudgetWindow(hub, { perMinute: options.perMinute, windowSeconds: WINDOW_SECONDS });
  // The hub closes the connection.
  return new WindowBudget(limiter, side);
}

/** A budget built on first use (the client is built synchronously; the budget's modules load on demand). */
export function lazyRequestBudget(options: RequestBudgetOptions): RequestBudget {
  let budget: Promise<RequestBudget> | undefined;
  return {
    async take(signal, maxWaitMs) {
      budget ??= createRequestBudget(options);
      await (await budget).take(signal, maxWaitMs);
    },
    async start() {
      budget ??= createRequestBudget(options);
      await budget;
    },
    async close() {
      if (budget !== undefined) await (await budget).close();
    },
  };
}
