/**
 * The webhook dedupe across replicas (webhooks/dedupe.ts) on the hub's command connection:
 * `SET <prefix>webhook:<id> 1 NX PX <ttl>`. A Redis that fails (or is slow past REDIS_COMMAND_TIMEOUT_MS) falls
 * back to the local map (the hub logs the outage) rather than refusing the webhook; the ids claimed in Redis are
 * remembered locally too, so the fallback still knows them.
 */
import { LocalWebhookDedupe, WEBHOOK_DEDUPE_TTL_MS, type WebhookDedupe } from "../webhooks/dedupe.js";
import type { RedisHub } from "./hub.js";

export interface RedisDedupeOptions {
  hub: RedisHub;
  local?: LocalWebhookDedupe;
  ttlMs?: number;
}

export class RedisWebhookDedupe implements WebhookDedupe {
  readonly #options: RedisDedupeOptions;
  readonly #local: LocalWebhookDedupe;

  constructor(options: RedisDedupeOptions) {
    this.#options = options;
    this.#local = options.local ?? new LocalWebhookDedupe(options.ttlMs === undefined ? {} : { ttlMs: options.ttlMs });
  }

  async claim(id: string): Promise<boolean> {
    try {
      const { hub } = this.#options;
      // Connected by listen(); before that (or once closed), the local map answers.
      const redis = hub.connections?.command;
      if (redis === undefined) throw new Error("Redis is not connected");
      const answer = await redis.set(hub.key(`webhook:${id}`), "1", "PX", this.#options.ttlMs ?? WEBHOOK_DEDUPE_TTL_MS, "NX");
      this.#local.remember(id);
      return answer === "OK";
    } catch {
      return this.#local.claimNow(id);
    }
  }

  /** The hub closes the connection. */
  close(): Promise<void> {
    return this.#local.close();
  }
}
