/** The per-IP request budget in one process (the Redis-shared one is in test/scale/replicas.system.test.ts). */
import { afterEach, beforeEach, describe, expect, it, vi } from "vitest";
import { DEMO_COMPANY_ID } from "codat-simulator";
import { BudgetExhausted, createRequestBudget } from "../../src/codat/request-budget.js";
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

describe("request budget through the gateway", () => {
  const stack = useStack({ env: { CODAT_REQUESTS_PER_MINUTE: "4", CODAT_QUEUE_TIMEOUT_MS: "50" } });
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
