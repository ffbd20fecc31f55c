/**
 * The Redis side of the shared company slots (codat/shared-limiter.ts), on the hub's command connection. Per company
 * two sorted sets under one hash tag, `<prefix>{<company>}:calls` (every permit) and `…:downloads` (the download
 * share), whose members are permit ids scored by their lease's expiry in Redis's own clock (TIME), so replicas'
 * clocks never matter. Each script first drops expired leases, so a dead replica's permits return by themselves.
 *
 * Every command is bounded and the connection reconnects by itself (connection.ts). The types are what the
 * limiter imports (no Redis client is loaded by them).
 */
import { RedisUnavailableError, reasonOf } from "./health.js";
import type { RedisHub } from "./hub.js";

/** The Redis side as the limiter sees it: every method bounded by the command timeout. */
export interface PermitStore {
  /**
   * Takes permits of `key` for `ids` in order while any is free (for downloads also within their share). An id
   * that already holds one (a take whose answer was lost) keeps it. Resolves the ids holding a permit now.
   */
  take(key: string, download: boolean, ids: readonly string[]): Promise<readonly string[]>;
  /** Renews the leases of held permits, adding back any Redis lost (a restart); a ping when none are held. */
  renew(held: ReadonlyMap<string, ReadonlyMap<string, boolean>>): Promise<void>;
  give(key: string, download: boolean, id: string): Promise<void>;
  /** Stops the store's events (the hub owns and closes the connection). */
  close(): Promise<void>;
}

export interface PermitStoreEvents {
  /** The connection closed or failed: fall back now (no command is waited for). */
  down(reason: string): void;
  /** The connection is ready again: renew, then share again. */
  ready(): void;
}

/**
 * KEYS: calls, downloads. ARGV: cap, download cap (0: not a download), lease ms, ids… → the ids holding a permit
 * now: those that already held one (a take whose answer was lost: renewed), then new ones in order while any is
 * free (a download also within the download share).
 */
const TAKE = `
local t = redis.call('TIME')
local now = tonumber(t[1]) * 1000 + math.floor(tonumber(t[2]) / 1000)
local lease = tonumber(ARGV[3])
local download = tonumber(ARGV[2]) > 0
redis.call('ZREMRANGEBYSCORE', KEYS[1], '-inf', now)
if download then redis.call('ZREMRANGEBYSCORE', KEYS[2], '-inf', now) end
local granted = {}
local fresh = {}
for i = 4, #ARGV do
  if redis.call('ZSCORE', KEYS[1], ARGV[i]) then
    redis.call('ZADD', KEYS[1], now + lease, ARGV[i])
    if download then redis.call('ZADD', KEYS[2], now + lease, ARGV[i]) end
    granted[#granted + 1] = ARGV[i]
  else
    fresh[#fresh + 1] = ARGV[i]
  end
end
local free = tonumber(ARGV[1]) - redis.call('ZCARD', KEYS[1])
if download then
  local share = tonumber(ARGV[2]) - redis.call('ZCARD', KEYS[2])
  if share < free then free = share end
end
for i = 1, math.min(free, #fresh) do
  redis.call('ZADD', KEYS[1], now + lease, fresh[i])
  if download then redis.call('ZADD', KEYS[2], now + lease, fresh[i]) end
  granted[#granted + 1] = fresh[i]
end
if #granted > 0 then
  redis.call('PEXPIRE', KEYS[1], lease * 2)
  if download then redis.call('PEXPIRE', KEYS[2], lease * 2) end
end
return granted
`;

/** KEYS: calls, downloads. ARGV: lease ms, then id, 1|0 (download) pairs: renews (or adds back) each lease. */
const RENEW = `
local t = redis.call('TIME')
local expiry = tonumber(t[1]) * 1000 + math.floor(tonumber(t[2]) / 1000) + tonumber(ARGV[1])
local downloads = false
for i = 2, #ARGV, 2 do
  redis.call('ZADD', KEYS[1], expiry, ARGV[i])
  if ARGV[i + 1] == '1' then
    redis.call('ZADD', KEYS[2], expiry, ARGV[i])
    downloads = true
  end
end
redis.call('PEXPIRE', KEYS[1], tonumber(ARGV[1]) * 2)
if downloads then redis.call('PEXPIRE', KEYS[2], tonumber(ARGV[1]) * 2) end
return 1
`;

/** KEYS: calls, downloads. ARGV: id. */
const GIVE = `
redis.call('ZREM', KEYS[1], ARGV[1])
redis.call('ZREM', KEYS[2], ARGV[1])
return 1
`;

interface Scripted {
  codatTake(calls: string, downloads: string, ...args: (string | number)[]): Promise<string[]>;
  codatRenew(calls: string, downloads: string, ...args: (string | number)[]): Promise<number>;
  codatGive(calls: string, downloads: string, id: string): Promise<number>;
}

export interface PermitCaps {
  maxPerKey: number;
  maxDownloadsPerKey: number;
}

/**
 * The permits on the hub's command connection, once the hub has started. Rejects with RedisUnavailableError
 * (carrying the store, which works once Redis is back) when Redis was not reachable at start.
 */
export async function redisPermits(hub: RedisHub, caps: PermitCaps, events: PermitStoreEvents): Promise<PermitStore> {
  const { command: redis, problem } = await hub.start();
  const { leaseMs, keyPrefix } = hub.config;
  let lastError: string | undefined;
  const onError = (error: unknown): void => {
    lastError = reasonOf(error);
  };
  const onClose = (): void => events.down(lastError ?? "connection closed");
  const onReady = (): void => events.ready();
  redis.on("error", onError);
  redis.on("close", onClose);
  redis.on("ready", onReady);
  redis.defineCommand("codatTake", { numberOfKeys: 2, lua: TAKE });
  redis.defineCommand("codatRenew", { numberOfKeys: 2, lua: RENEW });
  redis.defineCommand("codatGive", { numberOfKeys: 2, lua: GIVE });
  const scripts = redis as unknown as Scripted;
  const keys = (key: string): [string, string] => [`${keyPrefix}{${key}}:calls`, `${keyPrefix}{${key}}:downloads`];
  const cap = caps.maxPerKey;
  const downloadCap = caps.maxDownloadsPerKey;

  const store: PermitStore = {
    async take(key: string, download: boolean, ids: readonly string[]): Promise<readonly string[]> {
      const [calls, downloads] = keys(key);
      return await scripts.codatTake(calls, downloads, cap, download ? downloadCap : 0, leaseMs, ...ids);
    },
    async renew(held: ReadonlyMap<string, ReadonlyMap<string, boolean>>): Promise<void> {
      if (held.size === 0) {
        await redis.ping();
        return;
      }
      const pipeline = redis.pipeline();
      for (const [key, permits] of held) {
        if (permits.size === 0) continue;
        const [calls, downloads] = keys(key);
        const args: (string | number)[] = [leaseMs];
        for (const [id, isDownload] of permits) args.push(id, isDownload ? "1" : "0");
        void (pipeline as unknown as Scripted).codatRenew(calls, downloads, ...args);
      }
      const results = (await pipeline.exec()) ?? [];
      for (const [error] of results) if (error) throw error;
    },
    async give(key: string, _download: boolean, id: string): Promise<void> {
      const [calls, downloads] = keys(key);
      await scripts.codatGive(calls, downloads, id);
    },
    close(): Promise<void> {
      redis.off("error", onError);
      redis.off("close", onClose);
      redis.off("ready", onReady);
      return Promise.resolve();
    },
  };
  if (problem !== undefined) throw Object.assign(new RedisUnavailableError(problem), { store });
  return store;
}
