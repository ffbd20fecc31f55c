/** The per-IP request budget in one process (the Redis-shared one is in test/scale/replicas.system.test.ts). */
import { afterEach, beforeEach, describe, expect, it, vi } from "vitest";
import { DEMO_COMPANY_ID } from "codat-simulator";
import { RateLimiterMemory, type RateLimiterAbstract } from "rate-limiter-flexible";
import { BudgetExhausted, WindowBudget, createRequestBudget } from "../../src/codat/request-budget.js";
import { FailureStreak } from "../../src/redis/health.js";
import { useStack } from "../helpers/stack.js";

describe("request budget (in memory)", () => {
  beforeEach(() => {
    vi.useFakeTimers({ now: 1_000_000 });
  });
  afterEach(() => {
    vi.useRealTimers();
  });

  it("lets the minute's requests through, then refuses with the time until the window turns", async () => {
    const budget = await createRequestBudget({ perMinute: 3 });
    for (let i = 0; i < 3; i += 1) await budget.take(undefined, 0);
    vi.advanceTimersByTime(20_000);
    const refusal = await budget.take(undefined, 1_000).catch((error: unknown) => error);
    expect(refusal).toBeInstanceOf(BudgetExhausted);
    expect((refusal as BudgetExhausted).retryAfterMs).toBe(40_000);
    await budget.close();
  });

  it("waits for the next window when it turns within the wait limit", async () => {
    const budget = await createRequestBudget({ perMinute: 1 });
    await budget.take(undefined, 0);
    let taken = false;
    const waiting = budget.take(undefined, 60_000).then(() => (taken = true));
    await vi.advanceTimersByTimeAsync(59_000);
    expect(taken).toBe(false);
    await vi.advanceTimersByTimeAsync(1_000);
    await waiting;
    expect(taken).toBe(true);
  });

  it("stops waiting when the caller aborts", async () => {
    const budget = await createRequestBudget({ perMinute: 1 });
    await budget.take(undefined, 0);
    const controller = new AbortController();
    const waiting = budget.take(controller.signal, 60_000).catch((error: unknown) => error);
    await vi.advanceTimersByTimeAsync(1_000);
    controller.abort(new Error("gone"));
    expect(await waiting).toEqual(new Error("gone"));
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
  /** A Redis window whose next `failing` consumes fail as ioredis's command timeout does. */
  function setup(options: { failing: number; connected?: boolean }) {
    const state = { failing: options.failing, connected: options.connected ?? true, consumed: 0 };
    const redisWindow = {
      consume: () => {
        if (state.failing > 0) {
          state.failing -= 1;
          return Promise.reject(new Error("Command timed out"));
        }
        state.consumed += 1;
        return Promise.resolve({ msBeforeNext: 60_000, remainingPoints: 100, consumedPoints: state.consumed, isFirstInDuration: false });
      },
    } as unknown as RateLimiterAbstract;
    const insurance = new RateLimiterMemory({ points: 1, duration: 60 });
    const budget = new WindowBudget(redisWindow, {
      insurance,
      connected: () => state.connected,
      streak: new FailureStreak(LEASE_MS),
      retryIntervalMs: 20,
    });
    const insuranceUsed = async (): Promise<number> => (await insurance.get("egress"))?.consumedPoints ?? 0;
    return { state, budget, insuranceUsed };
  }

  it("a slow answer is asked again within the wait, never counted on the local share", async () => {
    const { state, budget, insuranceUsed } = setup({ failing: 2 });
    const taken = budget.take(undefined, 1_000);
    await vi.advanceTimersByTimeAsync(100);
    await taken;
    expect(state.consumed).toBe(1);
    expect(await insuranceUsed()).toBe(0);
  });

  it("no answer within the wait refuses the call (RATE_LIMITED), still without the local share", async () => {
    const { budget, insuranceUsed } = setup({ failing: Infinity });
    const refusal = budget.take(undefined, 50).catch((error: unknown) => error);
    await vi.advanceTimersByTimeAsync(100);
    expect(await refusal).toBeInstanceOf(BudgetExhausted);
    expect(await insuranceUsed()).toBe(0);
  });

  it("the local share answers once the connection is not open, or commands have failed for a whole lease", async () => {
    const closed = setup({ failing: Infinity, connected: false });
    await closed.budget.take(undefined, 0);
    expect(await closed.insuranceUsed()).toBe(1);
    await expect(closed.budget.take(undefined, 0)).rejects.toBeInstanceOf(BudgetExhausted);

    const stuck = setup({ failing: Infinity });
    let taken = false;
    void stuck.budget.take(undefined, 2 * LEASE_MS).then(() => (taken = true));
    await vi.advanceTimersByTimeAsync(LEASE_MS - 100);
    expect(taken).toBe(false);
    await vi.advanceTimersByTimeAsync(200);
    expect(taken).toBe(true);
    expect(await stuck.insuranceUsed()).toBe(1);
  });
});

describe("request budget through the gateway", () => {
  const stack = useStack({ env: { CODAT_REQUESTS_PER_MINUTE: "4", CODAT_QUEUE_TIMEOUT_MS: "50", CACHE_ENABLED: "false" } });
  const PAGE = `query($companyId: ID!) { customers(companyId: $companyId, first: 2) { edges { node { id } } } }`;

  it("sends no more than the budget to Codat and answers RATE_LIMITED with retryAfterSeconds beyond it", async () => {
    const results = await Promise.all(Array.from({ length: 7 }, () => stack.graphql(PAGE, { companyId: DEMO_COMPANY_ID })));
    const limited = results.filter((result) => result.errors?.[0]?.extensions?.["code"] === "RATE_LIMITED");
    expect(results.filter((result) => result.errors === undefined)).toHaveLength(4);
    expect(limited).toHaveLength(3);
    for (const result of limited) {
      const seconds = result.errors?.[0]?.extensions?.["retryAfterSeconds"];
      expect(seconds).toBeGreaterThanOrEqual(1);
      expect(seconds).toBeLessThanOrEqual(60);
      expect(result.data).toEqual({ customers: null });
    }
    expect(stack.upstream()).toHaveLength(4);
  });
});
