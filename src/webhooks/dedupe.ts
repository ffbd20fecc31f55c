/**
 * Deduplicating Codat's webhooks by `webhook-id`: Codat (Svix) retries a delivery it did not see answered 2xx
 * for about 28 hours, always with the same id, so an id seen within the last 48 hours is a redelivery.
 *
 * In-process: a bounded map of ids to their expiry (oldest dropped first beyond `maxIds`). With REDIS_URL:
 * `SET <prefix>webhook:<id> 1 NX PX <ttl>` so every replica sees the same ids; a Redis that fails (or is slow
 * past REDIS_COMMAND_TIMEOUT_MS) falls back to the local map, logged once per outage, rather than refusing the
 * webhook. Each replica also remembers the ids it claimed locally, so the fallback still knows them.
 */
import type { Redis } from "ioredis";
import type { RedisConfig } from "../config.js";
import { withoutRedisPassword } from "../codat/redis-support.js";

export const WEBHOOK_DEDUPE_TTL_MS = 48 * 60 * 60 * 1000;
export const WEBHOOK_DEDUPE_MAX_IDS = 50_000;

export interface WebhookDedupe {
  /** True the first time `id` is seen (it is now claimed); false for a redelivery. Never throws. */
  claim(id: string): Promise<boolean>;
  close(): Promise<void>;
}

export interface LocalDedupeOptions {
  maxIds?: number;
  ttlMs?: number;
  now?: () => number;
}

export class LocalWebhookDedupe implements WebhookDedupe {
  /** id → expiry; insertion order is expiry order (one TTL for all). */
  readonly #seen = new Map<string, number>();
  readonly #maxIds: number;
  readonly #ttlMs: number;
  readonly #now: () => number;

  constructor(options: LocalDedupeOptions = {}) {
    this.#maxIds = options.maxIds ?? WEBHOOK_DEDUPE_MAX_IDS;
    this.#ttlMs = options.ttlMs ?? WEBHOOK_DEDUPE_TTL_MS;
    this.#now = options.now ?? Date.now;
  }

  /** The synchronous claim (what the Redis dedupe falls back to). */
  claimNow(id: string): boolean {
    const now = this.#now();
    this.#evict(now);
    const expiry = this.#seen.get(id);
    if (expiry !== undefined && expiry > now) return false;
    this.remember(id);
    return true;
  }

  claim(id: string): Promise<boolean> {
    return Promise.resolve(this.claimNow(id));
  }

  /** Records `id` as seen now (claimed elsewhere, e.g. in Redis). */
  remember(id: string): void {
    this.#seen.delete(id);
    this.#seen.set(id, this.#now() + this.#ttlMs);
    while (this.#seen.size > this.#maxIds) {
      const oldest = this.#seen.keys().next();
      if (oldest.done === true) break;
      this.#seen.delete(oldest.value);
    }
  }

  get size(): number {
    return this.#seen.size;
  }

  #evict(now: number): void {
    for (const [id, expiry] of this.#seen) {
      if (expiry > now) break;
      this.#seen.delete(id);
    }
  }

  close(): Promise<void> {
    this.#seen.clear();
    return Promise.resolve();
  }
}

export interface RedisDedupeOptions {
  redis: RedisConfig;
  log: { warn(message: string): void; info(message: string): void };
  local?: LocalWebhookDedupe;
  ttlMs?: number;
}

export class RedisWebhookDedupe implements WebhookDedupe {
  readonly #options: RedisDedupeOptions;
  readonly #local: LocalWebhookDedupe;
  #client: Promise<Redis> | undefined;
  #failing = false;
  #closed = false;

  constructor(options: RedisDedupeOptions) {
    this.#options = options;
    this.#local = options.local ?? new LocalWebhookDedupe(options.ttlMs === undefined ? {} : { ttlMs: options.ttlMs });
  }

  async claim(id: string): Promise<boolean> {
    try {
      const redis = await this.#open();
      const key = `${this.#options.redis.keyPrefix}webhook:${id}`;
      const answer = await redis.set(key, "1", "PX", this.#options.ttlMs ?? WEBHOOK_DEDUPE_TTL_MS, "NX");
      this.#recovered();
      this.#local.remember(id);
      return answer === "OK";
    } catch (error) {
      this.#failed(error);
      return this.#local.claimNow(id);
    }
  }

  async close(): Promise<void> {
    this.#closed = true;
    const client = this.#client;
    this.#client = undefined;
    await this.#local.close();
    if (client === undefined) return;
    const redis = await client.catch(() => undefined);
    if (redis === undefined) return;
    if (redis.status === "ready") await redis.quit().catch(() => redis.disconnect());
    else redis.disconnect();
  }

  /** The connection, opened on the first webhook (bounded by REDIS_CONNECT_TIMEOUT_MS); it reconnects by itself. */
  #open(): Promise<Redis> {
    if (this.#closed) return Promise.reject(new Error("closed"));
    this.#client ??= (async () => {
      const { newRedisClient } = await import("../codat/redis-client.js");
      const redis = newRedisClient(this.#options.redis, "codat-gateway-webhooks");
      // A failed first connect is not final: ioredis keeps reconnecting, and commands fall back meanwhile.
      await redis.connect().catch(() => undefined);
      return redis;
    })();
    return this.#client;
  }

  #failed(error: unknown): void {
    if (this.#failing) return;
    this.#failing = true;
    const reason = error instanceof Error ? error.message : String(error);
    this.#options.log.warn(
      `Webhook dedupe: Redis unavailable (${withoutRedisPassword(reason, this.#options.redis.url)}); deduplicating in this process only until it is back`,
    );
  }

  #recovered(): void {
    if (!this.#failing) return;
    this.#failing = false;
    this.#options.log.info("Webhook dedupe: Redis reachable again");
  }
}
