/**
 * The hub's one health state (src/redis/health.ts): commands failing on an open connection mean Redis is down
 * only after a whole lease of failures in a row (three at least), never after one slow command; each feature's
 * outage is logged once, and its recovery once.
 */
import { afterEach, beforeEach, describe, expect, it, vi } from "vitest";
import { FailureStreak } from "../../src/redis/health.js";

const LEASE_MS = 1_000;

beforeEach(() => {
  vi.useFakeTimers({ now: 0 });
});
afterEach(() => {
  vi.useRealTimers();
});

describe("FailureStreak", () => {
  it("one slow command, or many within less than a lease, is not down", () => {
    const streak = new FailureStreak(LEASE_MS);
    expect(streak.failed()).toBeUndefined();
    expect(streak.down).toBe(false);
    for (let i = 0; i < 10; i += 1) expect(streak.failed()).toBeUndefined();
    vi.advanceTimersByTime(LEASE_MS - 1);
    expect(streak.failed()).toBeUndefined();
    expect(streak.down).toBe(false);
  });

  it("is down once three failures in a row span a whole lease, and up again at the next answer", () => {
    const streak = new FailureStreak(LEASE_MS);
    streak.failed();
    vi.advanceTimersByTime(LEASE_MS);
    expect(streak.failed()).toBeUndefined();
    expect(streak.down).toBe(false);
    expect(streak.failed()).toMatch(/^3 commands failed in a row over 1000 ms$/);
    expect(streak.down).toBe(true);
    streak.reset();
    expect(streak.down).toBe(false);
  });

  it("an answer in between starts the count again", () => {
    const streak = new FailureStreak(LEASE_MS);
    streak.failed();
    streak.failed();
    vi.advanceTimersByTime(LEASE_MS);
    streak.reset();
    expect(streak.failed()).toBeUndefined();
    expect(streak.failed()).toBeUndefined();
    expect(streak.failed()).toBeUndefined();
    expect(streak.down).toBe(false);
  });
});
