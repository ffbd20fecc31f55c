/**
 * The read cache's store in Redis (REDIS_URL), on the replicas' hub (its two connections, src/redis/hub.ts), with
 * the in-process store's semantics (store.ts):
 *
 * - entries: `<prefix>cache:e:<key>` (SET … PX); those of DEFLATE_FROM bytes or more deflated;
 * - generations: one hash per company, `<prefix>cache:gen:<company>`, a field per scope (HGETALL, HINCRBY);
 * - fill leases: `<prefix>cache:lease:<key>` (SET NX PX), and one channel, `<prefix>cache:filled`, on which a
 *   filler publishes the key it filled; waiting replicas hear it on the subscriber connection (which the push
 *   status bus shares: each ignores the other's messages by channel).
 *
 * Redis failing or down (the hub's health) never fails a read: generations answer undefined (nothing is cached
 * or served from the cache then), a lease is granted (every replica reads for itself), a get misses. An invalidation
 * that could not reach Redis is kept (per company and scope, bounded) and sent again before this replica reads the
 * company from Redis, and as soon as the command connection is ready again.
 */
import { promisify } from "node:util";
import { deflateRaw, inflateRaw } from "node:zlib";
import type { Redis } from "ioredis";
import type { RedisHub } from "../redis/hub.js";
import { MAX_GENERATION_FIELDS, type CacheStore, type Generations } from "./store.js";
import { KeyWaiters } from "./waiters.js";

/**
 * KEYS: the company's generation hash. ARGV: a fresh base → the hash (flat). A hash created anew (first use, or
 * after Redis evicted or lost it) starts its company-wide generation from a number no earlier hash had, so no
 * entry of an earlier generation becomes reachable again.
 */
const GENERATIONS = `
redis.call('HSETNX', KEYS[1], '*', ARGV[1])
if #ARGV < 2 then return redis.call('HGETALL', KEYS[1]) end
local fields = {}
for i = 2, #ARGV do fields[#fields + 1] = ARGV[i] end
local values = redis.call('HMGET', KEYS[1], unpack(fields))
local out = {}
for i, field in ipairs(fields) do
  if values[i] then
    out[#out + 1] = field
    out[#out + 1] = values[i]
  end
end
return out
`;

/** KEYS: the company's generation hash. ARGV: until (ms). Takes the company's hold: its number. */
const HOLD = `
local seq = redis.call('HINCRBY', KEYS[1], 'holdSeq', 1)
redis.call('HSET', KEYS[1], 'hold', ARGV[1])
return seq
`;

/**
 * KEYS: the company's generation hash. ARGV: the hold's number, the most fields, the scopes to increment. Ends the
 * hold if no later one took it; a hash grown past the most fields goes (the company starts afresh).
 */
const RELEASE = `
for i = 3, #ARGV do redis.call('HINCRBY', KEYS[1], ARGV[i], 1) end
if redis.call('HGET', KEYS[1], 'holdSeq') == ARGV[1] then redis.call('HDEL', KEYS[1], 'hold') end
if redis.call('HLEN', KEYS[1]) > tonumber(ARGV[2]) then redis.call('DEL', KEYS[1]) end
return 1
`;

/**
 * Entries this long or longer are kept deflated (raw deflate, level 1) in Redis. Measured on the simulator's data
 * (node 24, 2 × AMD EPYC): a page of 20 customers, 26,436 bytes of JSON, deflates to 6,285 (4.2×) in ~50 µs and
 * inflates in ~40 µs, against ~70 µs to parse it — a quarter of the memory and bytes for about half a parse per hit;
 * one customer, 883 bytes, would only go to 514 (1.7×) at 3.5 times its parse cost, so small entries stay text.
 */
const DEFLATE_FROM = 4_096;
/** First byte of a deflated entry (a JSON text never starts with it). */
const DEFLATED = 0x00;
const deflate = promisify(deflateRaw);
const inflate = promisify(inflateRaw);

async function encode(value: string): Promise<string | Buffer> {
  if (value.length < DEFLATE_FROM) return value;
  return Buffer.concat([Buffer.of(DEFLATED), await deflate(value, { level: 1 })]);
}

async function decode(stored: Buffer): Promise<string> {
  return stored[0] === DEFLATED ? (await inflate(stored.subarray(1))).toString("utf8") : stored.toString("utf8");
}

interface GenerationScripts {
  cacheGenerations(key: string, base: string, ...fields: string[]): Promise<string[]>;
  cacheHold(key: string, untilMs: string): Promise<number>;
  cacheRelease(key: string, seq: string, maxFields: string, ...scopes: string[]): Promise<number>;
}

/** Companies whose failed invalidations are kept for Redis's return; beyond, the oldest go (their time bound remains). */
const MAX_PENDING_BUMPS = 100_000;

export class RedisCacheStore implements CacheStore {
  readonly #hub: RedisHub;
  readonly #waiters = new KeyWaiters();
  #command: Redis | undefined;
  #subscriber: Redis | undefined;
  #closed = false;
  /** Entries and bytes this replica wrote (Redis holds the truth; this is what the gauge can say cheaply). */
  #written = { entries: 0, bytes: 0 };
  /** Invalidations Redis did not take yet: company → scopes. */
  readonly #pendingBumps = new Map<string, Set<string>>();

  constructor(hub: RedisHub) {
    this.#hub = hub;
  }

  get channel(): string {
    return this.#hub.key("cache:filled");
  }

  readonly #onMessage = (channel: string, key: string): void => {
    if (channel === this.channel) this.#waiters.wake(key);
  };

  readonly #onReady = (): void => {
    void this.#subscriber?.subscribe(this.channel).catch(() => undefined);
  };

  readonly #onCommandReady = (): void => {
    void this.#flush();
  };

  /** Takes the hub's connections (listen() calls it); never fails. */
  async start(): Promise<void> {
    if (this.#closed || this.#command) return;
    const { command, subscriber } = await this.#hub.start();
    // close() may have come meanwhile.
    if (this.#stopped()) return;
    this.#command = command;
    this.#subscriber = subscriber;
    command.defineCommand("cacheGenerations", { numberOfKeys: 1, lua: GENERATIONS });
    command.defineCommand("cacheHold", { numberOfKeys: 1, lua: HOLD });
    command.defineCommand("cacheRelease", { numberOfKeys: 1, lua: RELEASE });
    command.on("ready", this.#onCommandReady);
    subscriber.on("message", this.#onMessage);
    subscriber.on("ready", this.#onReady);
    if (subscriber.status === "ready") await subscriber.subscribe(this.channel).catch(() => undefined);
  }

  async get(key: string): Promise<string | undefined> {
    const redis = this.#ready();
    if (!redis) return undefined;
    try {
      const value = await redis.getBuffer(this.#entry(key));
      this.#hub.succeeded();
      return value === null ? undefined : await decode(value);
    } catch {
      return undefined;
    }
  }

  async set(key: string, value: string, ttlMs: number): Promise<void> {
    const redis = this.#ready();
    if (!redis) return;
    try {
      const stored = await encode(value);
      await redis.set(this.#entry(key), stored, "PX", Math.max(1, Math.ceil(ttlMs)));
      this.#written.entries += 1;
      this.#written.bytes += stored.length;
    } catch {
      // A dropped entry is a later miss.
    }
  }

  async setMany(entries: readonly (readonly [key: string, value: string])[], ttlMs: number): Promise<void> {
    const redis = this.#ready();
    if (!redis || entries.length === 0) return;
    const ttl = Math.max(1, Math.ceil(ttlMs));
    // One pipeline (one round trip), not a transaction: each SET stands alone, as `set` does.
    try {
      const stored = await Promise.all(entries.map(async ([key, value]) => [this.#entry(key), await encode(value)] as const));
      const pipeline = redis.pipeline();
      for (const [key, value] of stored) pipeline.set(key, value, "PX", ttl);
      const results = await pipeline.exec();
      stored.forEach(([, value], index) => {
        if (results?.[index]?.[0] != null) return;
        this.#written.entries += 1;
        this.#written.bytes += value.length;
      });
    } catch {
      // Dropped entries are later misses.
    }
  }

  async delete(key: string): Promise<void> {
    await this.#ready()
      ?.del(this.#entry(key))
      .catch(() => undefined);
  }

  async generations(company: string, fields: readonly string[] = []): Promise<Generations | undefined> {
    const redis = this.#ready();
    if (!redis) return undefined;
    // An invalidation of this company that Redis missed goes first; while it cannot, nothing is served from Redis.
    if (this.#pendingBumps.has(company) && !(await this.#flush(company))) return undefined;
    try {
      const base = String(Date.now() * 1000 + Math.floor(Math.random() * 1000));
      const flat = await (redis as unknown as GenerationScripts).cacheGenerations(this.#hub.key(`cache:gen:${company}`), base, ...fields);
      this.#hub.succeeded();
      const generations: Record<string, number> = {};
      for (let i = 0; i + 1 < flat.length; i += 2) {
        const scope = flat[i];
        if (scope !== undefined) generations[scope] = Number(flat[i + 1]);
      }
      return generations;
    } catch {
      return undefined;
    }
  }

  async bump(company: string, scopes: readonly string[]): Promise<void> {
    if (scopes.length === 0) return;
    const pending = this.#pendingBumps.get(company) ?? new Set<string>();
    for (const scope of scopes) pending.add(scope);
    this.#pendingBumps.delete(company);
    this.#pendingBumps.set(company, pending);
    if (this.#pendingBumps.size > MAX_PENDING_BUMPS) {
      const oldest = this.#pendingBumps.keys().next().value;
      if (oldest !== undefined) this.#pendingBumps.delete(oldest);
    }
    await this.#flush(company);
  }

  async hold(company: string, untilMs: number): Promise<number> {
    const redis = this.#ready();
    // Redis away: nothing is served from it anyway (generations answer undefined); number 0 is never the latest.
    if (!redis) return 0;
    try {
      return await (redis as unknown as GenerationScripts).cacheHold(this.#hub.key(`cache:gen:${company}`), String(untilMs));
    } catch {
      return 0;
    }
  }

  async release(company: string, seq: number, scopes: readonly string[]): Promise<void> {
    const redis = this.#ready();
    try {
      if (!redis) throw new Error("Redis is away");
      await (redis as unknown as GenerationScripts).cacheRelease(
        this.#hub.key(`cache:gen:${company}`),
        String(seq),
        String(MAX_GENERATION_FIELDS),
        ...scopes,
      );
    } catch {
      // The increments are kept and sent again like any invalidation; the hold, left in Redis, runs out (its
      // readers then drop every customer entry of the company).
      await this.bump(company, scopes);
    }
  }

  /** Sends the kept invalidations (of one company, or all); false when Redis did not take them. */
  async #flush(only?: string): Promise<boolean> {
    const redis = this.#command;
    if (!redis || this.#closed) return false;
    const companies = only === undefined ? [...this.#pendingBumps.keys()] : [only];
    for (const company of companies) {
      const scopes = this.#pendingBumps.get(company);
      if (scopes === undefined) continue;
      const key = this.#hub.key(`cache:gen:${company}`);
      const multi = redis.multi();
      for (const scope of scopes) multi.hincrby(key, scope, 1);
      try {
        const results = await multi.exec();
        if (results === null || results.some(([error]) => error !== null)) return false;
      } catch {
        return false;
      }
      // Scopes added meanwhile were sent too (the same Set); a bump is an increment, once more is harmless.
      if (this.#pendingBumps.get(company) === scopes) this.#pendingBumps.delete(company);
    }
    return true;
  }

  async lease(key: string, ttlMs: number): Promise<boolean> {
    const redis = this.#ready();
    if (!redis) return true;
    try {
      return (await redis.set(this.#hub.key(`cache:lease:${key}`), "1", "PX", Math.max(1, Math.ceil(ttlMs)), "NX")) === "OK";
    } catch {
      return true;
    }
  }

  async filled(key: string): Promise<void> {
    const redis = this.#ready();
    if (!redis) return;
    await Promise.all([redis.del(this.#hub.key(`cache:lease:${key}`)), redis.publish(this.channel, key)]).catch(() => undefined);
  }

  waitFilled(key: string, ms: number): Promise<void> {
    return this.#waiters.wait(key, ms);
  }

  size(): { entries: number; bytes: number } {
    return { ...this.#written };
  }

  async close(): Promise<void> {
    this.#closed = true;
    this.#waiters.wakeAll();
    const subscriber = this.#subscriber;
    this.#command?.off("ready", this.#onCommandReady);
    this.#command = this.#subscriber = undefined;
    if (!subscriber) return;
    subscriber.off("message", this.#onMessage);
    subscriber.off("ready", this.#onReady);
    if (subscriber.status === "ready") await subscriber.unsubscribe(this.channel).catch(() => undefined);
  }

  #stopped(): boolean {
    return this.#closed;
  }

  #ready(): Redis | undefined {
    return this.#closed || this.#hub.down ? undefined : this.#command;
  }

  #entry(key: string): string {
    return this.#hub.key(`cache:e:${key}`);
  }
}
