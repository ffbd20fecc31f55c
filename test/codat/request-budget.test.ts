/**
 * The per-IP request budget in one process: the bucket, its fair round robin between companies, admission by
 * deadline, and its Redis failover (the Redis-shared one is in test/scale/replicas.system.test.ts and
 * test/scale/budget-fairness.system.test.ts). Time is vitest's fake clock: every assertion is on order and counts.
 */
import { afterEach, beforeEach, describe, expect, it, vi } from "vitest";
import { DEMO_COMPANY_ID } from "codat-simulator";
import { BudgetExhausted, FairBudget, MemoryBudgetStore, bucketRate, type BudgetStore } from "../../src/codat/fair-budget.js";
import { FailoverBudgetStore } from "../../src/codat/request-budget.js";
import type { RedisBudgetBucket } from "../../src/redis/budget.js";
import { FailureStreak } from "../../src/redis/health.js";
import { useStack } from "../helpers/stack.js";

const MINUTE = 60_000;

function budgetOf(perMinute: number, maxWaiting = 1_000, store: BudgetStore = new MemoryBudgetStore(perMinute)): FairBudget {
  return new FairBudget(store, { rate: bucketRate(perMinute), maxWaiting });
}

describe("request budget (in memory)", () => {
  beforeEach(() => {
    vi.useFakeTimers({ now: 1_000_000 });
  });
  afterEach(() => {
    vi.useRealTimers();
  });

  it("gives its burst at once, then refuses at once a call that cannot get a token within its wait", async () => {
    const { burst, perMs } = bucketRate(60);
    const budget = budgetOf(60);
    for (let i = 0; i < burst; i += 1) await budget.take("b", undefined, 0);
    const refusal = await budget.take("b", undefined, 10).catch((error: unknown) => error);
    expect(refusal).toBeInstanceOf(BudgetExhausted);
    expect((refusal as BudgetExhausted).retryAfterMs).toBeGreaterThanOrEqual(Math.min(1_000, 1 / perMs));
    expect(budget.waiting()).toBe(0);
  });

  it("never lets more than the budget through in any 60 s, however many wait", async () => {
    const perMinute = 60;
    const budget = budgetOf(perMinute);
    const grants: number[] = [];
    const takes = Array.from({ length: 200 }, (_, index) =>
      budget.take(index % 2 === 0 ? "a" : "b", undefined, 3 * MINUTE).then(
        () => grants.push(Date.now()),
        () => undefined,
      ),
    );
    await vi.advanceTimersByTimeAsync(3 * MINUTE);
    await Promise.all(takes);
    for (const start of grants) expect(grants.filter((at) => at >= start && at < start + MINUTE).length).toBeLessThanOrEqual(perMinute);
    // And it is used: a lone stream of calls gets the whole rate (nothing is held back for idle companies).
    expect(grants.length).toBeGreaterThanOrEqual(Math.floor(bucketRate(perMinute).burst + 3 * MINUTE * bucketRate(perMinute).perMs) - 2);
  });

  it("serves tenant A by the next token while tenant B keeps the budget saturated", async () => {
    const budget = budgetOf(60);
    const order: string[] = [];
    const take = (company: string): Promise<void> =>
      budget.take(company, undefined, 10 * MINUTE).then(
        () => void order.push(company),
        () => void order.push(`${company} refused`),
      );
    const b = Array.from({ length: 40 }, () => take("b"));
    // B spends the burst and keeps 40 − burst waiting.
    await vi.advanceTimersByTimeAsync(0);
    expect(budget.waiting("b")).toBe(40 - bucketRate(60).burst);
    await vi.advanceTimersByTimeAsync(5_000);
    const before = order.length;
    const a = take("a");
    while (!order.includes("a")) await vi.advanceTimersToNextTimerAsync();
    // The very next token went to A, with B's calls still waiting.
    expect(order.slice(before)).toEqual(["a"]);
    expect(budget.waiting("b")).toBeGreaterThan(0);
    // A's second and third calls alternate with B's: one each per token, not behind B's queue.
    const more = [take("a"), take("a")];
    while (order.filter((company) => company === "a").length < 3) await vi.advanceTimersToNextTimerAsync();
    const after = order.slice(before + 1);
    expect(after.filter((company) => company === "b").length).toBeLessThanOrEqual(2);
    await vi.advanceTimersByTimeAsync(10 * MINUTE);
    await Promise.all([...b, a, ...more]);
    expect(order.filter((entry) => entry.includes("refused"))).toEqual([]);
  });

  it("admits by deadline: a call that cannot start within its wait is refused at once, a short queue's call waits", async () => {
    const { burst, perMs } = bucketRate(60);
    const budget = budgetOf(60);
    const b = Array.from({ length: burst + 20 }, () => budget.take("b", undefined, 10 * MINUTE).catch(() => undefined));
    await vi.advanceTimersByTimeAsync(0);
    // B's 21st waiting call would start after ~21 tokens (21 s at 60 a minute): with a 5 s wait it is refused now.
    const refused = await budget.take("b", undefined, 5_000).catch((error: unknown) => error);
    expect(refused).toBeInstanceOf(BudgetExhausted);
    expect((refused as BudgetExhausted).retryAfterMs).toBeGreaterThan(5_000);
    expect(budget.waiting("b")).toBe(20);
    // A's first call is second in the fair order: it waits, and is served within its 5 s.
    let served = false;
    expect(budget.estimateMs("a")).toBeLessThanOrEqual(Math.ceil(2 / perMs));
    const a = budget.take("a", undefined, 5_000).then(() => (served = true));
    await vi.advanceTimersByTimeAsync(Math.ceil(2 / perMs));
    expect(served).toBe(true);
    await a;
    await vi.advanceTimersByTimeAsync(10 * MINUTE);
    await Promise.all(b);
  });

  it("bounds the waiting calls by its hard cap, and refuses a call whose wait runs out", async () => {
    const budget = budgetOf(60, 5);
    for (let i = 0; i < bucketRate(60).burst; i += 1) await budget.take("b", undefined, 0);
    const waiting = Array.from({ length: 5 }, () => budget.take("b", undefined, 10 * MINUTE).catch((error: unknown) => error));
    await expect(budget.take("a", undefined, 10 * MINUTE)).rejects.toBeInstanceOf(BudgetExhausted);
    await vi.advanceTimersByTimeAsync(10 * MINUTE);
    for (const result of await Promise.all(waiting)) expect(result).toBeUndefined();

    // Admitted (one token away), then overtaken by a company served less recently: its wait runs out first.
    const short = budgetOf(60);
    const { perMs } = bucketRate(60);
    for (let i = 0; i < bucketRate(60).burst; i += 1) await short.take("b", undefined, 0);
    const ahead = short.take("b", undefined, MINUTE);
    const late = short.take("b", undefined, Math.ceil(2 / perMs) + 50).catch((error: unknown) => error);
    const first = short.take("a", undefined, MINUTE);
    await vi.advanceTimersByTimeAsync(MINUTE);
    await Promise.all([ahead, first]);
    expect(await late).toBeInstanceOf(BudgetExhausted);
    expect(short.waiting()).toBe(0);
  });

  it("refuses the calls still waiting when closed (nothing was sent)", async () => {
    const budget = budgetOf(60);
    for (let i = 0; i < bucketRate(60).burst; i += 1) await budget.take("b", undefined, 0);
    const waiting = budget.take("b", undefined, MINUTE).catch((error: unknown) => error);
    await budget.close();
    expect(await waiting).toBeInstanceOf(BudgetExhausted);
    expect(budget.waiting()).toBe(0);
    await expect(budget.take("a", undefined, MINUTE)).rejects.toBeInstanceOf(BudgetExhausted);
  });

  it("a call that gives up while waiting spends nothing: its token goes to the next", async () => {
    const budget = budgetOf(60);
    for (let i = 0; i < bucketRate(60).burst; i += 1) await budget.take("b", undefined, 0);
    const controller = new AbortController();
    const first = budget.take("b", controller.signal, MINUTE).catch((error: unknown) => error);
    let secondAt: number | undefined;
    const second = budget.take("a", undefined, MINUTE).then(() => (secondAt = Date.now()));
    controller.abort(new Error("gone"));
    expect(await first).toEqual(new Error("gone"));
    const start = Date.now();
    await vi.advanceTimersByTimeAsync(MINUTE);
    await second;
    // One token's refill, not two.
    expect((secondAt ?? Infinity) - start).toBeLessThanOrEqual(Math.ceil(1 / bucketRate(60).perMs));
  });
});

describe("request budget shared through Redis, when Redis is slow or down", () => {
  beforeEach(() => {
    vi.useFakeTimers({ now: 1_000_000 });
  });
  afterEach(() => {
    vi.useRealTimers();
  });

  const LEASE_MS = 10_000;
  /** A Redis bucket whose next `failing` takes fail as ioredis's command timeout does. */
  function setup(options: { failing: number; connected?: boolean }) {
    const state = { failing: options.failing, connected: options.connected ?? true, consumed: 0 };
    const redisBucket: RedisBudgetBucket = {
      take: (wants) => {
        if (state.failing > 0) {
          state.failing -= 1;
          return Promise.reject(new Error("Command timed out"));
        }
        const granted = new Map([...wants].map(([company]) => [company, 1]));
        state.consumed += granted.size;
        return Promise.resolve({ granted, waitMs: 1_000, tokens: 0 });
      },
      refund: () => Promise.resolve(),
      leave: () => Promise.resolve(),
    };
    const insurance = new MemoryBudgetStore(1);
    let insuranceUsed = 0;
    const counted: BudgetStore = {
      take: async (wants) => {
        const grant = await insurance.take(wants);
        for (const count of grant.granted.values()) insuranceUsed += count;
        return grant;
      },
      refund: (count) => insurance.refund(count),
      leave: (companies) => insurance.leave(companies),
    };
    const store = new FailoverBudgetStore(redisBucket, counted, {
      connected: () => state.connected,
      streak: new FailureStreak(LEASE_MS),
      retryIntervalMs: 20,
    });
    const budget = new FairBudget(store, { rate: bucketRate(1_000), maxWaiting: 100 });
    return { state, budget, insuranceUsed: () => insuranceUsed };
  }

  it("a slow answer is asked again within the wait, never counted on the local share", async () => {
    const { state, budget, insuranceUsed } = setup({ failing: 2 });
    const taken = budget.take("a", undefined, 1_000);
    await vi.advanceTimersByTimeAsync(100);
    await taken;
    expect(state.consumed).toBe(1);
    expect(insuranceUsed()).toBe(0);
  });

  it("no answer within the wait refuses the call (RATE_LIMITED), still without the local share", async () => {
    const { budget, insuranceUsed } = setup({ failing: Infinity });
    const refusal = budget.take("a", undefined, 50).catch((error: unknown) => error);
    await vi.advanceTimersByTimeAsync(100);
    expect(await refusal).toBeInstanceOf(BudgetExhausted);
    expect(insuranceUsed()).toBe(0);
  });

  it("the local share answers once the connection is not open, or commands have failed for a whole lease", async () => {
    const closed = setup({ failing: Infinity, connected: false });
    await closed.budget.take("a", undefined, 0);
    expect(closed.insuranceUsed()).toBe(1);
    await expect(closed.budget.take("a", undefined, 0)).rejects.toBeInstanceOf(BudgetExhausted);

    const stuck = setup({ failing: Infinity });
    let taken = false;
    void stuck.budget.take("a", undefined, 2 * LEASE_MS).then(() => (taken = true));
    await vi.advanceTimersByTimeAsync(LEASE_MS - 100);
    expect(taken).toBe(false);
    await vi.advanceTimersByTimeAsync(200);
    expect(taken).toBe(true);
    expect(stuck.insuranceUsed()).toBe(1);
  });
});

describe("request budget through the gateway", () => {
  const stack = useStack({ env: { CODAT_REQUESTS_PER_MINUTE: "4", CODAT_QUEUE_TIMEOUT_MS: "50", CACHE_ENABLED: "false" } });
  const PAGE = `query($companyId: ID!) { customers(companyId: $companyId, first: 2) { edges { node { id } } } }`;

  it("sends no more than the budget's burst to Codat at once and answers RATE_LIMITED with retryAfterSeconds beyond it", async () => {
    const { burst } = bucketRate(4);
    const results = await Promise.all(Array.from({ length: 7 }, () => stack.graphql(PAGE, { companyId: DEMO_COMPANY_ID })));
    const limited = results.filter((result) => result.errors?.[0]?.extensions?.["code"] === "RATE_LIMITED");
    expect(results.filter((result) => result.errors === undefined)).toHaveLength(burst);
    expect(limited).toHaveLength(7 - burst);
    for (const result of limited) {
      const seconds = result.errors?.[0]?.extensions?.["retryAfterSeconds"];
      expect(seconds).toBeGreaterThanOrEqual(1);
      expect(seconds).toBeLessThanOrEqual(60);
      expect(result.data).toEqual({ customers: null });
    }
    expect(stack.upstream()).toHaveLength(burst);
  });
});
