/**
 * Apollo's automatic persisted queries (APQ) in Redis, so a query registered through one replica is found by
 * hash on every other (REDIS_URL). Apollo keeps the documents it parses in memory per process (its document
 * store holds ASTs); what replicas share is the hash → query text that APQ registers.
 *
 * Built on `@apollo/utils.keyvadapter` over Keyv with `@keyv/redis` (loaded on first use). The Keyv namespace
 * is the gateway's key prefix plus `cache`, never `apq`: Apollo prefixes its keys with `apq:` itself, and a
 * namespace of the same name makes the adapter's batched reads miss.
 *
 * Redis being slow or away never fails an operation: a read that errs or takes longer than
 * REDIS_COMMAND_TIMEOUT_MS is a miss (the client then sends the query text again, as APQ expects), a write that
 * fails is dropped, and the connection's errors are logged once per outage.
 */
import { withTimeout, withoutRedisPassword } from "../codat/redis-support.js";
import type { RedisConfig } from "../config.js";

/** The shape of Apollo's KeyValueCache (structural: Apollo takes any object with these methods). */
export interface KeyValueCache {
  get(key: string): Promise<string | undefined>;
  set(key: string, value: string, options?: KeyValueCacheSetOptions): Promise<void>;
  delete(key: string): Promise<boolean>;
}

export interface KeyValueCacheSetOptions {
  /** Seconds; null or absent: no expiry. */
  ttl?: number | null;
}

export interface RedisApqCacheOptions {
  redis: RedisConfig;
  log: { warn(message: string): void; info(message: string): void };
}

export class RedisApqCache implements KeyValueCache {
  readonly #options: RedisApqCacheOptions;
  #inner: Promise<{ cache: KeyValueCache; close(): Promise<void> }> | undefined;
  #failing = false;

  constructor(options: RedisApqCacheOptions) {
    this.#options = options;
  }

  async get(key: string): Promise<string | undefined> {
    try {
      const { cache } = await this.#open();
      const value = await withTimeout(cache.get(key), this.#options.redis.commandTimeoutMs);
      this.#recovered();
      return value;
    } catch (error) {
      this.#failed(error);
      return undefined;
    }
  }

  async set(key: string, value: string, options?: KeyValueCacheSetOptions): Promise<void> {
    try {
      const { cache } = await this.#open();
      await withTimeout(cache.set(key, value, options), this.#options.redis.commandTimeoutMs);
      this.#recovered();
    } catch (error) {
      this.#failed(error);
    }
  }

  async delete(key: string): Promise<boolean> {
    try {
      const { cache } = await this.#open();
      return await withTimeout(cache.delete(key), this.#options.redis.commandTimeoutMs);
    } catch (error) {
      this.#failed(error);
      return false;
    }
  }

  /** Connects now (listen() calls it), so the first queries are not misses; an unreachable Redis is not fatal. */
  async start(): Promise<void> {
    await this.#open();
  }

  async close(): Promise<void> {
    const inner = this.#inner;
    this.#inner = undefined;
    if (inner !== undefined) await (await inner).close();
  }

  #open(): Promise<{ cache: KeyValueCache; close(): Promise<void> }> {
    this.#inner ??= connect(this.#options.redis);
    return this.#inner;
  }

  #failed(error: unknown): void {
    if (this.#failing) return;
    this.#failing = true;
    const reason = error instanceof Error ? error.message : String(error);
    this.#options.log.warn(
      `APQ cache: Redis unavailable (${withoutRedisPassword(reason, this.#options.redis.url)}); queries are sent in full until it is back`,
    );
  }

  #recovered(): void {
    if (!this.#failing) return;
    this.#failing = false;
    this.#options.log.info("APQ cache: Redis reachable again");
  }
}

async function connect(redis: RedisConfig): Promise<{ cache: KeyValueCache; close(): Promise<void> }> {
  const [{ KeyvAdapter }, { default: KeyvRedis }, { Keyv }] = await Promise.all([
    import("@apollo/utils.keyvadapter"),
    import("@keyv/redis"),
    import("keyv"),
  ]);
  const store = new KeyvRedis<string>(
    {
      url: redis.url,
      // No offline queue: a command while disconnected fails at once (a miss), it does not wait.
      disableOfflineQueue: true,
      socket: {
        connectTimeout: redis.connectTimeoutMs,
        reconnectStrategy: (retries: number) => Math.min(50 * 2 ** Math.min(retries, 6), 2_000),
      },
    },
    { namespace: `${redis.keyPrefix}cache`, throwOnConnectError: false, throwOnErrors: true, connectionTimeout: redis.connectTimeoutMs },
  );
  // The adapter reports failures through the calls above; the connection's own events must not go unhandled.
  store.on("error", () => undefined);
  const keyv = new Keyv<string>({ store, namespace: `${redis.keyPrefix}cache`, useKeyPrefix: false, throwOnErrors: true });
  keyv.on("error", () => undefined);
  // Connect before the first query (without an offline queue a command sent while connecting fails).
  await store.getClient();
  return {
    // keyvadapter is CommonJS, whose typings name keyv's CommonJS build; the instance is the same Keyv.
    cache: new KeyvAdapter<string>(keyv as unknown as ConstructorParameters<typeof KeyvAdapter<string>>[0]),
    close: async () => {
      await store.disconnect().catch(() => undefined);
    },
  };
}
