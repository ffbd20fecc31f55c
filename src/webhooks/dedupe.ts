/**
 * Deduplicating Codat's webhooks by `webhook-id`: Codat (Svix) retries a delivery it did not see answered 2xx
 * for about 28 hours, always with the same id, so an id seen within the last 48 hours is a redelivery.
 *
 * In-process: a bounded map of ids to their expiry (oldest dropped first beyond `maxIds`). With REDIS_URL:
 * `SET <prefix>webhook:<id> 1 NX PX <ttl>` so every replica sees the same ids; a Redis that fails (or is slow
 * past REDIS_COMMAND_TIMEOUT_MS) falls back to the local map, logged once per outage, rather than refusing the
 * webhook. Each replica also remembers the ids it claimed locally, so the fallback still knows them. The Redis
 * side is redis/webhook-dedupe.ts, on the hub's command connection.
 */

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
