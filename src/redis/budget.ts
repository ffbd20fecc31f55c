/**
 * The request budget's bucket in Redis (codat/fair-budget.ts), one for every replica (they share an egress
 * address), on the hub's command connection. Three keys under one hash tag: `<prefix>{budget}:bucket` (tokens,
 * when it was last refilled, the grant sequence), `…:last` (per waiting company, the sequence of its last grant)
 * and `…:waiting` (the companies waiting on any replica, scored by when their registration lapses: a replica
 * renews them with every ask, and says when they wait no more). Time is Redis's own (TIME), so the replicas'
 * clocks never matter.
 *
 * One script call per round of a replica's asks: it refills the bucket, then hands out its whole tokens in
 * round robin over every waiting company, least recently served first (one that starts waiting first): a token whose turn is another replica's
 * company stays in the bucket for it (one per company per round), so the round robin holds across replicas.
 * The types are what the budget imports (no Redis client is loaded by them).
 */
import type { RedisHub } from "./hub.js";

/** The Redis side as the budget sees it: every method bounded by the command timeout, rejecting on failure. */
export interface RedisBudgetBucket {
  /** Grants per company, the wait before tokens come again (ms) and the whole tokens left. */
  take(wants: ReadonlyMap<string, number>): Promise<{ granted: Map<string, number>; waitMs: number; tokens: number }>;
  refund(count: number): Promise<void>;
  leave(companies: readonly string[]): Promise<void>;
}

export interface BucketShape {
  burst: number;
  perMs: number;
}

/**
 * KEYS: bucket, last, waiting. ARGV: tokens per ms, burst, registration ms, then company, count pairs →
 * company, granted pairs, then the wait (ms) and the whole tokens left.
 */
const TAKE = `
local t = redis.call('TIME')
local now = tonumber(t[1]) * 1000 + math.floor(tonumber(t[2]) / 1000)
local rate = tonumber(ARGV[1])
local burst = tonumber(ARGV[2])
local ttl = tonumber(ARGV[3])
local state = redis.call('HMGET', KEYS[1], 'tokens', 'ts', 'seq')
local tokens = tonumber(state[1]) or burst
local ts = tonumber(state[2]) or now
local seq = tonumber(state[3]) or 0
if now > ts then
  tokens = math.min(burst, tokens + (now - ts) * rate)
  ts = now
end
local want = {}
for i = 4, #ARGV, 2 do
  want[ARGV[i]] = tonumber(ARGV[i + 1])
  redis.call('ZADD', KEYS[3], now + ttl, ARGV[i])
  -- a company that starts waiting goes first, once (in order of arrival); those that keep waiting take turns
  redis.call('HSETNX', KEYS[2], ARGV[i], tostring(seq - 1e12))
end
local lapsed = redis.call('ZRANGEBYSCORE', KEYS[3], '-inf', now)
if #lapsed > 0 then
  redis.call('ZREMRANGEBYSCORE', KEYS[3], '-inf', now)
  redis.call('HDEL', KEYS[2], unpack(lapsed))
end
local order = {}
for _, company in ipairs(redis.call('ZRANGE', KEYS[3], 0, -1)) do
  order[#order + 1] = { company, tonumber(redis.call('HGET', KEYS[2], company)) or 0 }
end
table.sort(order, function(a, b) return a[2] < b[2] end)
local granted = {}
local free = math.floor(tokens)
local progress = true
while free >= 1 and progress do
  progress = false
  for _, entry in ipairs(order) do
    if free < 1 then break end
    local company = entry[1]
    local left = want[company]
    if left == nil then
      -- another replica's company: one token stays for it, once
      if not entry[3] then
        entry[3] = true
        free = free - 1
      end
    elseif left > 0 then
      want[company] = left - 1
      granted[company] = (granted[company] or 0) + 1
      tokens = tokens - 1
      free = free - 1
      seq = seq + 1
      redis.call('HSET', KEYS[2], company, seq)
      progress = true
    end
  end
end
redis.call('HSET', KEYS[1], 'tokens', tostring(tokens), 'ts', ts, 'seq', seq)
redis.call('PEXPIRE', KEYS[1], 120000)
redis.call('PEXPIRE', KEYS[2], 120000)
redis.call('PEXPIRE', KEYS[3], 120000)
local out = {}
for company, count in pairs(granted) do
  out[#out + 1] = company
  out[#out + 1] = count
end
local wait = 0
if tokens < 1 then wait = math.ceil((1 - tokens) / rate) elseif free < 1 then wait = 1 end
out[#out + 1] = wait
out[#out + 1] = math.floor(tokens)
return out
`;

/** KEYS: bucket. ARGV: count, burst. */
const REFUND = `
local tokens = tonumber(redis.call('HGET', KEYS[1], 'tokens'))
if tokens == nil then return 0 end
redis.call('HSET', KEYS[1], 'tokens', tostring(math.min(tonumber(ARGV[2]), tokens + tonumber(ARGV[1]))))
return 1
`;

/** KEYS: last, waiting. ARGV: companies. */
const LEAVE = `
redis.call('ZREM', KEYS[2], unpack(ARGV))
redis.call('HDEL', KEYS[1], unpack(ARGV))
return 1
`;

interface Scripted {
  codatBudgetTake(bucket: string, last: string, waiting: string, ...args: (string | number)[]): Promise<(string | number)[]>;
  codatBudgetRefund(bucket: string, count: number, burst: number): Promise<number>;
  codatBudgetLeave(last: string, waiting: string, ...companies: string[]): Promise<number>;
}

/**
 * The bucket on the hub's command connection (started here; an unreachable Redis is not fatal: the budget's
 * insurance share answers until it is back).
 */
export async function redisBudgetBucket(hub: RedisHub, shape: BucketShape, registrationMs: number): Promise<RedisBudgetBucket> {
  const { command } = await hub.start();
  command.defineCommand("codatBudgetTake", { numberOfKeys: 3, lua: TAKE });
  command.defineCommand("codatBudgetRefund", { numberOfKeys: 1, lua: REFUND });
  command.defineCommand("codatBudgetLeave", { numberOfKeys: 2, lua: LEAVE });
  const scripts = command as unknown as Scripted;
  const prefix = `${hub.config.keyPrefix}{budget}`;
  const [bucket, last, waiting] = [`${prefix}:bucket`, `${prefix}:last`, `${prefix}:waiting`];
  return {
    async take(wants) {
      const args: (string | number)[] = [shape.perMs, shape.burst, registrationMs];
      for (const [company, count] of wants) args.push(company, count);
      const out = await scripts.codatBudgetTake(bucket, last, waiting, ...args);
      const granted = new Map<string, number>();
      for (let i = 0; i + 2 < out.length; i += 2) granted.set(String(out[i]), Number(out[i + 1]));
      return { granted, waitMs: Number(out[out.length - 2]), tokens: Number(out[out.length - 1]) };
    },
    async refund(count) {
      await scripts.codatBudgetRefund(bucket, count, shape.burst);
    },
    async leave(companies) {
      if (companies.length > 0) await scripts.codatBudgetLeave(last, waiting, ...companies);
    },
  };
}
