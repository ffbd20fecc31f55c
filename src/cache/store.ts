/**
 * Where the read cache keeps its entries: in this process (memory-store.ts, the default) or in Redis
 * (redis-store.ts, with REDIS_URL, shared by the replicas). Both keep the same things the same way:
 *
 * - entries: a JSON text under a key, expiring after a TTL;
 * - generations: per company, a number for the whole company (`*`) and one per scope (`customers`, …), part of
 *   every entry's key, so an invalidation is one increment (O(1): no key scan, no index of keys) and the entries
 *   of the old generation are unreachable from then on (they age out by their TTL or the LRU). A customer's own
 *   entries also carry the customer's generation (`r:<id>`), so a change of known customers drops just theirs;
 *   a company with more than MAX_GENERATION_FIELDS of them starts afresh (everything of it dropped once);
 * - a hold: while the gateway asks Codat which customers a sync changed, the company's customer entries are not
 *   served (`hold`: until when, `holdSeq`: which ask holds it); `release` drops what changed and ends the hold
 *   if no later ask took it;
 * - fill leases and wake-ups: one replica reads a missing entry from Codat while the others wait for it.
 *
 * A store that cannot answer (Redis away) answers `undefined` generations: the cache then reads through to Codat
 * and keeps nothing, so an invalidation can never be missed because of the store.
 */

/** A company's generations: `*` (the whole company) and per scope; a missing field counts as 0. */
export type Generations = Readonly<Record<string, number>>;

/** Customer generations (`r:<id>`) a company's record may hold before it starts afresh. */
export const MAX_GENERATION_FIELDS = 10_000;

export interface CacheStore {
  /** The text under `key`, or undefined (absent, expired, or the store cannot answer). */
  get(key: string): Promise<string | undefined>;
  /** Keeps `value` under `key` for `ttlMs`; a store that cannot keep it drops it. */
  set(key: string, value: string, ttlMs: number): Promise<void>;
  /**
   * Keeps several entries, each for `ttlMs` (a page filling the entries of its customers): one round trip with
   * Redis (a pipeline). Best effort like `set`: an entry the store cannot keep is a later miss.
   */
  setMany(entries: readonly (readonly [key: string, value: string])[], ttlMs: number): Promise<void>;
  /** Drops the entry under `key` (if any). */
  delete(key: string): Promise<void>;
  /**
   * The company's generations (`fields`: just these, a missing one left out; else all); undefined when the store
   * cannot answer (then nothing is cached).
   */
  generations(company: string, fields?: readonly string[]): Promise<Generations | undefined>;
  /** Increments the company's generation of each scope (`*`: the whole company; `r:<id>`: one customer). */
  bump(company: string, scopes: readonly string[]): Promise<void>;
  /** Holds the company's customer entries until `untilMs` (or its release); the hold's number. */
  hold(company: string, untilMs: number): Promise<number>;
  /** Increments `scopes`, and ends the hold if `seq` is still the latest one. */
  release(company: string, seq: number, scopes: readonly string[]): Promise<void>;
  /**
   * Takes the fill lease of `key` for `ttlMs`: true when this replica should read it from Codat, false when
   * another replica holds it (then `waitFilled`). The in-process store always grants it.
   */
  lease(key: string, ttlMs: number): Promise<boolean>;
  /**
   * Tells the waiting reads that `key` was filled (or given up: they look again and fill it themselves), in this
   * process and on the other replicas.
   */
  filled(key: string): Promise<void>;
  /** Resolves when `filled(key)` is said (here or by another replica), or after `ms`. */
  waitFilled(key: string, ms: number): Promise<void>;
  /** Entries and their bytes in this store as far as this process knows them (the in-process store: exactly). */
  size(): { entries: number; bytes: number };
  close(): Promise<void>;
}
