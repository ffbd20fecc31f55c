/**
 * Codat's per-IP request budget (1,000 requests a minute from one address, answered 429 beyond it), kept on the
 * gateway's side so it never provokes those 429s, and shared fairly between the companies that want it: the
 * bucket and its round robin are in fair-budget.ts. Every attempt sent to Codat takes one token, once it holds its
 * company slot (call.ts); a call that cannot get its turn within its wait limit (CODAT_QUEUE_TIMEOUT_MS, and its
 * deadline) fails with RATE_LIMITED and retryAfterSeconds, at once when that is foreseeable.
 *
 * In one process the bucket is in memory. With REDIS_URL it is one bucket in Redis for every replica (they share
 * an egress address; redis/budget.ts), with an in-memory insurance bucket of an equal share of the budget per
 * replica (floor(budget / REDIS_EXPECTED_REPLICAS), so the replicas together stay under Codat's limit) that
 * answers while Redis is down: its connection is not open (a command then fails at once: no offline queue), or
 * commands have failed three times in a row over a whole REDIS_LEASE_MS. A command that fails on an open
 * connection (bounded by REDIS_COMMAND_TIMEOUT_MS) is slow, not down: it is asked again after
 * REDIS_RETRY_INTERVAL_MS, within the calls' wait limits, rather than be counted on the insurance bucket while
 * the other replicas count on Redis.
 */
import type { FailureStreak } from "../redis/health.js";
import type { RedisBudgetBucket } from "../redis/budget.js";
import type { RedisHub } from "../redis/hub.js";
import {
  BudgetExhausted,
  FairBudget,
  MemoryBudgetStore,
  bucketRate,
  type BudgetGrant,
  type BudgetStore,
  type RequestBudget,
} from "./fair-budget.js";

export { BudgetExhausted, type RequestBudget };

export interface RequestBudgetOptions {
  /** Requests per minute (CODAT_REQUESTS_PER_MINUTE). */
  perMinute: number;
  /** Calls that may wait for a token, all companies together (CODAT_BUDGET_MAX_WAITING). */
  maxWaiting?: number | undefined;
  /** Shared by the replicas through Redis (the hub's command connection and health state) when given. */
  hub?: RedisHub | undefined;
}

const DEFAULT_MAX_WAITING = 10_000;

/** With Redis: what decides that Redis is down. */
export interface RedisHealth {
  /** The connection is open. */
  connected(): boolean;
  streak: FailureStreak;
  retryIntervalMs: number;
}

/**
 * The Redis bucket, or the insurance share while Redis is down; a command that fails while Redis is not down
 * grants nothing this round (asked again after the retry interval). Exported for tests.
 */
export class FailoverBudgetStore implements BudgetStore {
  readonly #redis: RedisBudgetBucket;
  readonly #insurance: BudgetStore;
  readonly #health: RedisHealth;

  constructor(redis: RedisBudgetBucket, insurance: BudgetStore, health: RedisHealth) {
    this.#redis = redis;
    this.#insurance = insurance;
    this.#health = health;
  }

  #down(): boolean {
    return !this.#health.connected() || this.#health.streak.down;
  }

  async take(wants: ReadonlyMap<string, number>): Promise<BudgetGrant> {
    if (this.#down()) return this.#insurance.take(wants);
    try {
      const grant = await this.#redis.take(wants);
      this.#health.streak.reset();
      return grant;
    } catch {
      // Down now (the connection closed, or the streak reached a lease): this replica's share answers.
      if (!this.#health.connected() || this.#health.streak.failed() !== undefined) return this.#insurance.take(wants);
      return { granted: new Map(), waitMs: this.#health.retryIntervalMs, tokens: 0 };
    }
  }

  async refund(count: number): Promise<void> {
    if (this.#down()) return this.#insurance.refund(count);
    await this.#redis.refund(count).catch(() => undefined);
  }

  async leave(companies: readonly string[]): Promise<void> {
    await this.#insurance.leave(companies);
    if (!this.#down()) await this.#redis.leave(companies).catch(() => undefined);
  }
}

/**
 * The budget for these options. With a hub, its Redis code is loaded here only, by a dynamic import, so a gateway
 * without Redis does not load it.
 */
export async function createRequestBudget(options: RequestBudgetOptions): Promise<FairBudget> {
  const rate = bucketRate(options.perMinute);
  const maxWaiting = options.maxWaiting ?? DEFAULT_MAX_WAITING;
  const { hub } = options;
  if (hub === undefined) return new FairBudget(new MemoryBudgetStore(options.perMinute), { rate, maxWaiting });
  const { redisBudgetBucket } = await import("../redis/budget.js");
  const redis = hub.config;
  // A company stays registered as waiting (holding its turn) for two refill intervals past its replica's last ask.
  const registrationMs = Math.min(60_000, Math.ceil(2 / rate.perMs) + 1_000);
  const bucket = await redisBudgetBucket(hub, rate, registrationMs);
  const insurance = new MemoryBudgetStore(Math.max(1, Math.floor(options.perMinute / redis.expectedReplicas)));
  const store = new FailoverBudgetStore(bucket, insurance, {
    connected: () => hub.connected,
    streak: hub.streak,
    retryIntervalMs: redis.retryIntervalMs,
  });
  // The hub closes the connection; a replica polls at least every half registration, so its turn holds.
  return new FairBudget(store, { rate, maxWaiting, maxPollMs: Math.floor(registrationMs / 2) });
}

/** A budget built on first use (the client is built synchronously; the budget's modules load on demand). */
export function lazyRequestBudget(options: RequestBudgetOptions): RequestBudget {
  let budget: Promise<FairBudget> | undefined;
  let built: FairBudget | undefined;
  const build = (): Promise<FairBudget> =>
    (budget ??= createRequestBudget(options).then((made) => {
      built = made;
      return made;
    }));
  return {
    async take(key, signal, maxWaitMs) {
      await (await build()).take(key, signal, maxWaitMs);
    },
    waiting(key) {
      return built?.waiting(key) ?? 0;
    },
    async start() {
      await build();
    },
    async close() {
      if (budget !== undefined) await (await budget).close();
    },
  };
}
