/**
 * The read cache's in-process store: `lru-cache` bounded by bytes (CACHE_MAX_BYTES; an entry's size is its key
 * and text in UTF-16, as V8 keeps them), each entry with its own TTL. Generations live in a second LRU bounded
 * by companies; a company it forgot starts again from a number no earlier generation had (one counter for the
 * process), so forgetting a company can never make an old entry reachable again.
 */
import { LRUCache } from "lru-cache";
import { MAX_GENERATION_FIELDS, type CacheStore, type Generations } from "./store.js";
import { KeyWaiters } from "./waiters.js";

/** Companies whose generations are remembered (a few hundred bytes each). */
const MAX_COMPANIES = 100_000;

export class MemoryCacheStore implements CacheStore {
  readonly #entries: LRUCache<string, string>;
  readonly #generations = new LRUCache<string, Record<string, number>>({ max: MAX_COMPANIES });
  #counter = 0;
  /** Reads waiting for a key's wake-up (a sync's delta in this process). */
  readonly #waiters = new KeyWaiters();

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

  generations(company: string, fields?: readonly string[]): Promise<Generations | undefined> {
    const generations = this.#company(company);
    if (fields === undefined) return Promise.resolve(generations);
    const some: Record<string, number> = {};
    for (const field of fields) {
      const value = generations[field];
      if (value !== undefined) some[field] = value;
    }
    return Promise.resolve(some);
  }

  bump(company: string, scopes: readonly string[]): Promise<void> {
    const generations = this.#company(company);
    for (const scope of scopes) generations[scope] = ++this.#counter;
    this.#bound(company);
    return Promise.resolve();
  }

  hold(company: string, untilMs: number): Promise<number> {
    const generations = this.#company(company);
    const seq = (generations["holdSeq"] ?? 0) + 1;
    generations["holdSeq"] = seq;
    generations["hold"] = untilMs;
    return Promise.resolve(seq);
  }

  release(company: string, seq: number, scopes: readonly string[]): Promise<void> {
    const generations = this.#company(company);
    for (const scope of scopes) generations[scope] = ++this.#counter;
    if (generations["holdSeq"] === seq) delete generations["hold"];
    this.#bound(company);
    return Promise.resolve();
  }

  /** A company with too many customer generations starts afresh (a new `*`: all its entries dropped once). */
  #bound(company: string): void {
    const generations = this.#company(company);
    if (Object.keys(generations).length > MAX_GENERATION_FIELDS) this.#generations.set(company, { "*": ++this.#counter });
  }

  lease(): Promise<boolean> {
    return Promise.resolve(true);
  }

  filled(key: string): Promise<void> {
    this.#waiters.wake(key);
    return Promise.resolve();
  }

  waitFilled(key: string, ms: number): Promise<void> {
    return this.#waiters.wait(key, ms);
  }

  size(): { entries: number; bytes: number } {
    return { entries: this.#entries.size, bytes: this.#entries.calculatedSize };
  }

  close(): Promise<void> {
    this.#entries.clear();
    this.#waiters.wakeAll();
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
