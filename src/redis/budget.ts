/**
 * The request budget's bucket in Redis (codat/fair-budget.ts), one for every replica (they share an egress
 * address), on the hub's command connection. Three keys under one hash tag: `<prefix>{budget}:bucket` (tokens,
 * when it was last refilled, the grant sequence), `…:last` (per waiting company, the sequence of its last grant)
 * and `…:waiting` (one member per company and replica waiting for it, scored by when it lapses: a replica renews
 * its members with every ask, and removes them when it waits for the company no more; the turn of a company no
 * replica waits for is forgotten once every company still waiting was served after it). Every script is
 * O(companies waiting). Time is Redis's own (TIME), so the replicas'
 * clocks never matter.
 *
 * One script call per round of a replica's asks: it refills the bucket, then hands out its whole tokens in
 * round robin over every waiting company, least recently served first (one that starts waiting first): a token whose turn is another replica's
 * company stays in the bucket for it (one per company per round), so the round robin holds across replicas.
 * The types are what the budget imports (no Redis client is loaded by them).
 */
import { randomBytes } from "node:crypto";
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
 * KEYS: bucket, last, waiting. ARGV: tokens per ms, burst, registration ms, replica, then company, count pairs →
 * company, granted pairs, then the wait (ms) and the whole tokens left. `waiting` holds one member per replica and
 * company (`company|replica`), so a company waits while any replica waits for it.
 */
const TAKE = `
local t = redis.call('TIME')
local now = tonumber(t[1]) * 1000 + math.floor(tonumber(t[2]) / 1000)
local rate = tonumber(ARGV[1])
local burst = tonumber(ARGV[2])
local ttl = tonumber(ARGV[3])
local replica = ARGV[4]
local state = redis.call('HMGET', KEYS[1], 'tokens', 'ts', 'seq')
local tokens = tonumber(state[1]) or burst
local ts = tonumber(state[2]) or now
local seq = tonumber(state[3]) or 0
if now > ts then
  tokens = math.min(burst, tokens + (now - ts) * rate)
  ts = now
end
local want = {}
for i = 5, #ARGV, 2 do
  want[ARGV[i]] = tonumber(ARGV[i + 1])
  redis.call('ZADD', KEYS[3], now + ttl, ARGV[i] .. '|' .. replica)
  -- a company that starts waiting goes first, once (in order of arrival); those that keep waiting take turns
  redis.call('HSETNX', KEYS[2], ARGV[i], tostring(seq - 1e12))
end
redis.call('ZREMRANGEBYSCORE', KEYS[3], '-inf', now)
local seen = {}
local order = {}
for _, member in ipairs(redis.call('ZRANGE', KEYS[3], 0, -1)) do
  local company = string.sub(member, 1, string.find(member, '|', 1, true) - 1)
  if not seen[company] then
    seen[company] = true
    order[#order + 1] = { company, tonumber(redis.call('HGET', KEYS[2], company)) or (seq - 1e12) }
  end
end
table.sort(order, function(a, b) return a[2] < b[2] end)
local granted = {}
local free = math.floor(tokens)
local progress = true
local left = 0
while free >= 1 and progress do
  progress = false
  for _, entry in ipairs(order) do
    if free < 1 then break end
    local company = entry[1]
    local n = want[company]
    if n == nil then
      -- another replica's company: one token stays for it, once
      if not entry[3] then
        entry[3] = true
        free = free - 1
      end
    elseif n > 0 then
      want[company] = n - 1
      granted[company] = (granted[company] or 0) + 1
      tokens = tokens - 1
      free = free - 1
      seq = seq + 1
      redis.call('HSET', KEYS[2], company, seq)
      progress = true
    end
  end
end
for _, n in pairs(want) do left = left + n end
-- a company no replica waits for keeps its turn until every company still waiting was served after it
local floor = nil
for _, entry in ipairs(order) do
  local last = tonumber(redis.call('HGET', KEYS[2], entry[1]))
  if last ~= nil and (floor == nil or last < floor) then floor = last end
end
if floor ~= nil then
  local turns = redis.call('HGETALL', KEYS[2])
  for i = 1, #turns, 2 do
    if not seen[turns[i]] and tonumber(turns[i + 1]) < floor then redis.call('HDEL', KEYS[2], turns[i]) end
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
if left > 0 then wait = math.ceil((math.floor(tokens) + 1 - tokens) / rate) end
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

/** KEYS: waiting. ARGV: replica, companies: this replica waits for them no more (their turns stay: TAKE). */
const LEAVE = `
for i = 2, #ARGV do redis.call('ZREM', KEYS[1], ARGV[i] .. '|' .. ARGV[1]) end
return 1
`;

interface Scripted {
  codatBudgetTake(bucket: string, last: string, waiting: string, ...args: (string | number)[]): Promise<(string | number)[]>;
  codatBudgetRefund(bucket: string, count: number, burst: number): Promise<number>;
  codatBudgetLeave(waiting: string, replica: string, ...companies: string[]): Promise<number>;
}

/**
 * The bucket on the hub's command connection (started here; an unreachable Redis is not fatal: the budget's
 * insurance share answers until it is back).
 */
export async function redisBudgetBucket(hub: RedisHub, shape: BucketShape, registrationMs: number): Promise<RedisBudgetBucket> {
  const { command } = await hub.start();
  command.defineCommand("codatBudgetTake", { numberOfKeys: 3, lua: TAKE });
  command.defineCommand("codatBudgetRefund", { numberOfKeys: 1, lua: REFUND });
  command.defineCommand("codatBudgetLeave", { numberOfKeys: 1, lua: LEAVE });
  const replica = randomBytes(6).toString("hex");
  const scripts = command as unknown as Scripted;
  const prefix = `${hub.config.keyPrefix}{budget}`;
  const [bucket, last, waiting] = [`${prefix}:bucket`, `${prefix}:last`, `${prefix}:waiting`];
  return {
    async take(wants) {
      const args: (string | number)[] = [shape.perMs, shape.burst, registrationMs, replica];
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
      if (companies.length > 0) await scripts.codatBudgetLeave(waiting, replica, ...companies);
    },
  };
}
