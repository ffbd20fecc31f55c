/**
 * The read cache's in-process store: `lru-cache` bounded by bytes (CACHE_MAX_BYTES; an entry's size is its key
 * and text in UTF-16, as V8 keeps them), each entry with its own TTL. Generations live in a second LRU bounded
 * by companies; a company it forgot starts again from a number no earlier generation had (one counter for the
 * process), so forgetting a company can never make an old entry reachable again.
 */
import { LRUCache } from "lru-cache";
import type { CacheStore, Generations } from "./store.js";

/** Companies whose generations are remembered (a few hundred bytes each). */
const MAX_COMPANIES = 100_000;

export class MemoryCacheStore implements CacheStore {
  readonly #entries: LRUCache<string, string>;
  readonly #generations = new LRUCache<string, Record<string, number>>({ max: MAX_COMPANIES });
  #counter = 0;

  constructor(options: { maxBytes: number; now?: () => number }) {
    this.#entries = new LRUCache<string, string>({
      maxSize: options.maxBytes,
      sizeCalculation: (value, key) => Math.max(1, (value.length + key.length) * 2),
      ttlAutopurge: false,
      allowStale: false,
      ...(options.now ? { perf: { now: options.now } } : {}),
    });
  }

  get(key: string): Promise<string | undefined> {
    return Promise.resolve(this.#entries.get(key));
  }

  set(key: string, value: string, ttlMs: number): Promise<void> {
    this.#entries.set(key, value, { ttl: Math.max(1, Math.ceil(ttlMs)) });
    return Promise.resolve();
  }

  setMany(entries: readonly (readonly [key: string, value: string])[], ttlMs: number): Promise<void> {
    const ttl = Math.max(1, Math.ceil(ttlMs));
    for (const [key, value] of entries) this.#entries.set(key, value, { ttl });
    return Promise.resolve();
  }

  delete(key: string): Promise<void> {
    this.#entries.delete(key);
    return Promise.resolve();
  }

  generations(company: string): Promise<Generations | undefined> {
    return Promise.resolve(this.#company(company));
  }

  bump(company: string, scopes: readonly string[]): Promise<void> {
    const generations = this.#company(company);
    for (const scope of scopes) generations[scope] = ++this.#counter;
    return Promise.resolve();
  }

  lease(): Promise<boolean> {
    return Promise.resolve(true);
  }

  filled(): Promise<void> {
    return Promise.resolve();
  }

  waitFilled(): Promise<void> {
    return Promise.resolve();
  }

  size(): { entries: number; bytes: number } {
    return { entries: this.#entries.size, bytes: this.#entries.calculatedSize };
  }

  close(): Promise<void> {
    this.#entries.clear();
    return Promise.resolve();
  }

  #company(company: string): Record<string, number> {
    let generations = this.#generations.get(company);
    if (generations === undefined) {
      generations = { "*": ++this.#counter };
      this.#generations.set(company, generations);
    }
    return generations;
  }
}
