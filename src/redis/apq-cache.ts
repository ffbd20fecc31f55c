/**
 * Apollo's automatic persisted queries (APQ) in Redis, so a query registered through one replica is found by
 * hash on every other (REDIS_URL). Apollo keeps the documents it parses in memory per process (its document
 * store holds ASTs); what replicas share is the hash → query text that APQ registers.
 *
 * Apollo's KeyValueCache on the hub's command connection: reads that arrive together go as one MGET (DataLoader,
 * as Apollo's Keyv adapter did), writes as SET with PX. Keys and values keep the format the Keyv adapter wrote
 * (`<prefix>cache::<key>`, `{"value":…,"expires":…}`), so replicas of either version share their entries.
 *
 * Redis being slow or away never fails an operation: a read that errs or times out (REDIS_COMMAND_TIMEOUT_MS) is
 * a miss (the client then sends the query text again, as APQ expects), and a write that fails is dropped. The hub
 * logs an outage (one line for every feature), not the cache.
 */
import DataLoader from "dataloader";
import type { RedisHub } from "./hub.js";

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

export class RedisApqCache implements KeyValueCache {
  readonly #hub: RedisHub;
  readonly #reads: DataLoader<string, string | null>;

  constructor(hub: RedisHub) {
    this.#hub = hub;
    this.#reads = new DataLoader(async (keys) => this.#command().mget(...keys.map((key) => this.#key(key))), { cache: false });
  }

  async get(key: string): Promise<string | undefined> {
    try {
      const text = await this.#reads.load(key);
      return text === null ? undefined : unwrap(text);
    } catch {
      return undefined;
    }
  }

  async set(key: string, value: string, options?: KeyValueCacheSetOptions): Promise<void> {
    const ttlMs = typeof options?.ttl === "number" && options.ttl > 0 ? Math.ceil(options.ttl * 1000) : undefined;
    // Keyv's format: a string starting with ':' is escaped with one more.
    const text = JSON.stringify({ value: value.startsWith(":") ? `:${value}` : value, expires: ttlMs && Date.now() + ttlMs });
    try {
      if (ttlMs === undefined) await this.#command().set(this.#key(key), text);
      else await this.#command().set(this.#key(key), text, "PX", ttlMs);
    } catch {
      // Dropped: the next request registers the query again (the hub logs an outage).
    }
  }

  async delete(key: string): Promise<boolean> {
    try {
      return (await this.#command().del(this.#key(key))) > 0;
    } catch {
      return false;
    }
  }

  #key(key: string): string {
    return this.#hub.key(`cache::${key}`);
  }

  #command() {
    const connections = this.#hub.connections;
    if (connections === undefined) throw new Error("Redis is not connected yet");
    return connections.command;
  }
}

/** The query text of a stored entry; undefined for an expired or unreadable one (a miss). */
function unwrap(text: string): string | undefined {
  try {
    const entry = JSON.parse(text) as { value?: unknown; expires?: unknown } | null;
    if (typeof entry?.value !== "string") return undefined;
    if (typeof entry.expires === "number" && entry.expires < Date.now()) return undefined;
    return entry.value.startsWith(":") ? entry.value.slice(1) : entry.value;
  } catch {
    return undefined;
  }
}
