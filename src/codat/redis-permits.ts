/**
 * The Redis side of the shared company slots (shared-limiter.ts), loaded only when REDIS_URL is set. Per company
 * two sorted sets under one hash tag, `<prefix>{<company>}:calls` (every permit) and `…:downloads` (the download
 * share), whose members are permit ids scored by their lease's expiry in Redis's own clock (TIME), so replicas'
 * clocks never matter. Each script first drops expired leases, so a dead replica's permits return by themselves.
 *
 * Every command is bounded and the connection reconnects by itself (redis-client.ts); its 'error' events are
 * handled, never thrown.
 */
import type { Redis } from "ioredis";
import { newRedisClient } from "./redis-client.js";
import { withTimeout, withoutRedisPassword } from "./redis-support.js";
import { RedisUnavailableError, reasonOf, type PermitStore, type PermitStoreEvents } from "./shared-limiter.js";

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

export interface RedisPermitSettings {
  url: string;
  leaseMs: number;
  commandTimeoutMs: number;
  connectTimeoutMs: number;
  keyPrefix: string;
  maxPerKey: number;
  maxDownloadsPerKey: number;
}

/** Where Redis is, for messages: scheme, host and port only (never the password). */
export function redisAddress(url: string): string {
  try {
    const parsed = new URL(url);
    return `${parsed.protocol}//${parsed.hostname}${parsed.port ? `:${parsed.port}` : ""}`;
  } catch {
    return "(unparsable URL)";
  }
}

export async function connectRedisPermits(settings: RedisPermitSettings, events: PermitStoreEvents): Promise<PermitStore> {
  const redis = newRedisClient(settings, "codat-gateway");
  let lastError: string | undefined;
  redis.on("error", (error: unknown) => {
    lastError = reasonOf(error);
  });
  redis.on("close", () => events.down(lastError ?? "connection closed"));
  redis.on("ready", () => events.ready());
  redis.defineCommand("codatTake", { numberOfKeys: 2, lua: TAKE });
  redis.defineCommand("codatRenew", { numberOfKeys: 2, lua: RENEW });
  redis.defineCommand("codatGive", { numberOfKeys: 2, lua: GIVE });
  const scripts = redis as unknown as Scripted;
  const keys = (key: string): [string, string] => [`${settings.keyPrefix}{${key}}:calls`, `${settings.keyPrefix}{${key}}:downloads`];
  const cap = settings.maxPerKey;
  const downloadCap = settings.maxDownloadsPerKey;

  const store: PermitStore = {
    async take(key: string, download: boolean, ids: readonly string[]): Promise<readonly string[]> {
      const [calls, downloads] = keys(key);
      return await scripts.codatTake(calls, downloads, cap, download ? downloadCap : 0, settings.leaseMs, ...ids);
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
        const args: (string | number)[] = [settings.leaseMs];
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
    async close(): Promise<void> {
      redis.removeAllListeners("close");
      redis.removeAllListeners("ready");
      if (redis.status === "ready") await redis.quit().catch(() => redis.disconnect());
      else redis.disconnect();
    },
  };

  try {
    const deadline = Date.now() + settings.connectTimeoutMs;
    await withTimeout(ready(redis), settings.connectTimeoutMs, "connect timed out");
    // A PING slower than the command timeout on an open connection is a busy Redis (or process), not an absent
    // one: asked again while startup may still wait.
    for (;;) {
      try {
        await redis.ping();
        break;
      } catch (error) {
        if (redis.status !== "ready" || Date.now() >= deadline) throw error;
      }
    }
  } catch (error) {
    const reason = lastError ?? reasonOf(error);
    const problem = new RedisUnavailableError(
      `REDIS_URL: cannot reach Redis at ${redisAddress(settings.url)} (${withoutRedisPassword(reason, settings.url)})`,
    );
    // REDIS_FAILURE_MODE=local keeps the (reconnecting) connection; fail mode closes it.
    Object.assign(problem, { store });
    if (redis.status === "end") void redis.connect().catch(() => undefined);
    throw problem;
  }
  return store;
}

/**
 * Connects, resolving once the connection is ready. A connection refused or unreachable rejects at once; one
 * that was made but closed before it was ready (its ready check timed out: a busy Redis or process) is waited
 * for while the client reconnects by itself.
 */
function ready(redis: Redis): Promise<void> {
  return new Promise((resolve, reject) => {
    let reached = false;
    const onConnect = (): void => {
      reached = true;
    };
    const onReady = (): void => {
      settle();
      resolve();
    };
    const onClose = (): void => {
      if (reached) return;
      settle();
      reject(new Error("connection closed"));
    };
    const settle = (): void => {
      redis.off("connect", onConnect).off("ready", onReady).off("close", onClose);
    };
    redis.on("connect", onConnect).on("ready", onReady).on("close", onClose);
    redis.connect().catch(() => undefined);
  });
}
