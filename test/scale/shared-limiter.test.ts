/** The shared limiter's own logic against an in-memory permit store (the Redis side is tested in replicas.system.test.ts). */
import { afterEach, describe, expect, it, vi } from "vitest";
import { SlotUnavailable } from "../../src/codat/limiter.js";
import { RedisUnavailableError, SharedSlotLimiter, type PermitStore, type PermitStoreEvents } from "../../src/codat/shared-limiter.js";
import { waitFor } from "../helpers/wait.js";

/** What ioredis rejects a command with after REDIS_COMMAND_TIMEOUT_MS: the connection stays open. */
const timedOut = (): Error => new Error("Command timed out");

class MemoryStore implements PermitStore {
  readonly permits = new Map<string, Set<string>>();
  /** Down (the connection is gone): every command fails. */
  up = true;
  /** Commands that fail next as timed out (Infinity: until set back); `lostAnswers`: a failing take still takes. */
  failing = 0;
  lostAnswers = false;
  takes = 0;
  /** The ids of every renewal that went through. */
  readonly renewed: string[][] = [];
  constructor(readonly cap: number) {}
  #fails(): boolean {
    if (this.failing <= 0) return false;
    this.failing -= 1;
    return true;
  }
  take(key: string, _download: boolean, ids: readonly string[]): Promise<readonly string[]> {
    this.takes += 1;
    if (!this.up) return Promise.reject(new Error("down"));
    const fails = this.#fails();
    if (fails && !this.lostAnswers) return Promise.reject(timedOut());
    const held = this.permits.get(key) ?? new Set<string>();
    this.permits.set(key, held);
    const granted = ids.filter((id) => held.has(id));
    for (const id of ids) {
      if (held.has(id) || held.size >= this.cap) continue;
      held.add(id);
      granted.push(id);
    }
    return fails ? Promise.reject(timedOut()) : Promise.resolve(granted);
  }
  renew(held: ReadonlyMap<string, ReadonlyMap<string, boolean>>): Promise<void> {
    if (!this.up) return Promise.reject(new Error("down"));
    if (this.#fails()) return Promise.reject(timedOut());
    const ids: string[] = [];
    for (const [key, permits] of held) {
      const set = this.permits.get(key) ?? new Set<string>();
      this.permits.set(key, set);
      for (const id of permits.keys()) {
        set.add(id);
        ids.push(id);
      }
    }
    this.renewed.push(ids);
    return Promise.resolve();
  }
  give(key: string, _download: boolean, id: string): Promise<void> {
    if (!this.up) return Promise.reject(new Error("down"));
    this.permits.get(key)?.delete(id);
    return Promise.resolve();
  }
  close(): Promise<void> {
    return Promise.resolve();
  }
}

interface Setup {
  events?: { current?: PermitStoreEvents };
  failureMode?: "fail" | "local";
  connect?: (events: PermitStoreEvents) => Promise<PermitStore>;
  leaseMs?: number;
  retryIntervalMs?: number;
}

/** A lease for the tests that go through a fallback on real timers: nothing is granted on it before one passes. */
const SHORT_LEASE_MS = 300;

function limiter(store: MemoryStore, setup: Setup = {}) {
  const events = setup.events ?? {};
  const lines: string[] = [];
  const shared = new SharedSlotLimiter({
    maxPerKey: 4,
    maxDownloadsPerKey: 2,
    maxQueuedPerKey: 100,
    maxQueuedDownloadsPerKey: 10,
    redis: {
      url: "redis://127.0.0.1:1",
      failureMode: setup.failureMode ?? "fail",
      expectedReplicas: 2,
      leaseMs: setup.leaseMs ?? 60_000,
      commandTimeoutMs: 100,
      connectTimeoutMs: 100,
      retryIntervalMs: setup.retryIntervalMs ?? 5,
      keyPrefix: "t:",
    },
    log: { warn: (line) => lines.push(`warn ${line}`), info: (line) => lines.push(`info ${line}`) },
    connect:
      setup.connect ??
      ((handlers) => {
        events.current = handlers;
        return Promise.resolve(store);
      }),
  });
  return { shared, lines, events };
}

describe("SharedSlotLimiter", () => {
  it("takes a permit per slot, waits while the store has none, and gives them back on release", async () => {
    // Another replica holds 3 of the 4.
    const store = new MemoryStore(4);
    store.permits.set("a", new Set(["other-1", "other-2", "other-3"]));
    const { shared } = limiter(store);
    await shared.start();
    const first = await shared.acquire("a");
    expect(shared.inFlight("a")).toBe(1);
    let second: (() => void) | undefined;
    void shared.acquire("a").then((release) => (second = release));
    await waitFor(() => shared.queued("a") === 1 && store.takes >= 3);
    expect(second).toBeUndefined();
    first();
    await waitFor(() => second !== undefined);
    second?.();
    expect(store.permits.get("a")?.size).toBe(3);
    expect(shared.totalInFlight()).toBe(0);
    await shared.close();
  });

  it("a waiter that gives up (abort, wait timeout) takes no permit", async () => {
    const store = new MemoryStore(1);
    const { shared } = limiter(store);
    await shared.start();
    const held = await shared.acquire("a");
    const controller = new AbortController();
    const aborted = shared.acquire("a", { signal: controller.signal });
    const timedOut = shared.acquire("a", { maxWaitMs: 30 });
    await expect(timedOut).rejects.toBeInstanceOf(SlotUnavailable);
    controller.abort(new Error("gone"));
    await expect(aborted).rejects.toThrow("gone");
    held();
    await waitFor(() => store.permits.get("a")?.size === 0);
    expect(shared.queued("a")).toBe(0);
    await shared.close();
  });

  it("falls back to floor(cap / replicas) when the connection closes, warns once, and shares again after a renewal", async () => {
    const store = new MemoryStore(4);
    const { shared, lines, events } = limiter(store, { leaseMs: SHORT_LEASE_MS });
    await shared.start();
    store.up = false;
    events.current?.down("ECONNREFUSED");
    events.current?.down("ECONNREFUSED");
    expect(shared.fallback).toBe(true);
    const releases = await Promise.all([shared.acquire("a"), shared.acquire("a")]);
    let third = false;
    void shared.acquire("a").then(() => (third = true));
    await waitFor(() => shared.queued("a") === 1);
    expect(third).toBe(false);
    expect(lines.filter((line) => line.startsWith("warn"))).toHaveLength(1);
    store.up = true;
    events.current?.ready();
    await waitFor(() => !shared.fallback);
    releases[0]?.();
    await waitFor(() => third);
    expect(lines.at(-1)).toMatch(/^info Redis reachable again/);
    await shared.close();
  });

  it("a take that times out grants nothing and does not fall back: the request waits, and gets its permit from Redis", async () => {
    const store = new MemoryStore(4);
    store.failing = 2;
    const { shared, lines } = limiter(store);
    await shared.start();
    const release = await shared.acquire("a");
    expect(store.takes).toBe(3);
    expect(shared.fallback).toBe(false);
    expect(lines).toEqual([]);
    expect(store.permits.get("a")?.size).toBe(1);
    release();
    expect(store.permits.get("a")?.size).toBe(0);
    await shared.close();
  });

  it("a take whose answer was lost holds its permit once, found by the next take; a request that gives up gives it back", async () => {
    const store = new MemoryStore(4);
    store.lostAnswers = true;
    store.failing = 1;
    const { shared } = limiter(store);
    await shared.start();
    const release = await shared.acquire("a");
    expect(store.takes).toBe(2);
    expect(store.permits.get("a")?.size).toBe(1);
    release();
    expect(store.permits.get("a")?.size).toBe(0);

    store.failing = Infinity;
    await expect(shared.acquire("a", { maxWaitMs: 30 })).rejects.toBeInstanceOf(SlotUnavailable);
    expect(store.permits.get("a")?.size).toBe(0);
    expect(shared.fallback).toBe(false);
    await shared.close();
  });

  describe("commands failing with the connection open (fake timers)", () => {
    afterEach(() => {
      vi.useRealTimers();
    });

    it("fall back only after three failures in a row over a whole lease, and share again once a renewal goes through", async () => {
      vi.useFakeTimers();
      const leaseMs = 60_000;
      const store = new MemoryStore(4);
      const { shared, lines } = limiter(store, { leaseMs, retryIntervalMs: 1_000 });
      await shared.start();
      store.failing = Infinity;
      let granted = false;
      void shared.acquire("a").then(() => (granted = true));
      await vi.advanceTimersByTimeAsync(leaseMs - 1_000);
      // A lease of failures less a second: still waiting for Redis, nothing granted locally.
      expect(store.takes).toBeGreaterThanOrEqual(3);
      expect(granted).toBe(false);
      expect(shared.fallback).toBe(false);
      expect(lines).toEqual([]);
      await vi.advanceTimersByTimeAsync(2_000);
      expect(shared.fallback).toBe(true);
      expect(granted).toBe(true);
      expect(lines).toHaveLength(1);
      expect(lines[0]).toMatch(
        /^warn Redis unreachable \(\d+ commands failed in a row over \d+ ms: Command timed out\): company slots fall back to at most 2 per company/,
      );

      // A success within the streak resets it: one answer, then failures again for less than a lease, stays shared.
      store.failing = 0;
      await vi.advanceTimersByTimeAsync(leaseMs / 4);
      expect(shared.fallback).toBe(false);
      expect(lines.at(-1)).toMatch(/^info Redis reachable again/);
      // The fallback's request was registered by that renewal before the shared cap resumed.
      expect(store.renewed.at(-1)).toHaveLength(1);
      expect(store.permits.get("a")?.size).toBe(1);
      store.failing = Infinity;
      await vi.advanceTimersByTimeAsync(leaseMs - 1_000);
      expect(shared.fallback).toBe(false);
      await shared.close();
    });

    it("back from the fallback, a replica keeps to its fallback share for a lease (the others may not be back yet)", async () => {
      vi.useFakeTimers();
      const leaseMs = 8_000;
      const store = new MemoryStore(4);
      const { shared, events } = limiter(store, { leaseMs });
      await shared.start();
      store.up = false;
      events.current?.down("ECONNREFUSED");
      const granting = Promise.all([shared.acquire("a"), shared.acquire("a")]);
      await vi.advanceTimersByTimeAsync(leaseMs);
      const local = await granting;
      store.up = true;
      events.current?.ready();
      await vi.advanceTimersByTimeAsync(0);
      expect(shared.fallback).toBe(false);
      // Redis has 2 of 4 free, but this replica already has floor(4 / 2) = 2 in flight.
      let third = false;
      void shared.acquire("a").then(() => (third = true));
      await vi.advanceTimersByTimeAsync(leaseMs - 100);
      expect(third).toBe(false);
      expect(store.permits.get("a")?.size).toBe(2);
      await vi.advanceTimersByTimeAsync(200);
      expect(third).toBe(true);
      expect(store.permits.get("a")?.size).toBe(3);
      for (const release of local) release();
      await shared.close();
    });

    it("on the fallback nothing is granted before a lease has passed since Redis last answered", async () => {
      vi.useFakeTimers();
      const leaseMs = 8_000;
      const store = new MemoryStore(4);
      const { shared, events } = limiter(store, { leaseMs });
      await shared.start();
      // Redis answered a renewal a quarter lease ago, then the connection closed.
      await vi.advanceTimersByTimeAsync(leaseMs / 4);
      store.up = false;
      events.current?.down("ECONNRESET");
      let granted = 0;
      for (let i = 0; i < 3; i += 1) void shared.acquire("a").then(() => (granted += 1));
      await vi.advanceTimersByTimeAsync(leaseMs - 100);
      expect(granted).toBe(0);
      await vi.advanceTimersByTimeAsync(200);
      // Then up to the fallback share, floor(4 / 2) = 2.
      expect(granted).toBe(2);
      await shared.close();
    });

    it("a single slow renewal, or several within a lease, do not fall back", async () => {
      vi.useFakeTimers();
      const leaseMs = 4_000;
      const store = new MemoryStore(4);
      const { shared, lines } = limiter(store, { leaseMs });
      await shared.start();
      const release = await shared.acquire("a");
      for (let round = 0; round < 5; round += 1) {
        store.failing = 2;
        await vi.advanceTimersByTimeAsync(leaseMs);
      }
      expect(shared.fallback).toBe(false);
      expect(lines).toEqual([]);
      release();
      await shared.close();
    });
  });

  it("on the fallback the share counts the requests still holding a Redis permit", async () => {
    const store = new MemoryStore(4);
    const { shared, events } = limiter(store, { leaseMs: SHORT_LEASE_MS });
    await shared.start();
    const releases = await Promise.all([shared.acquire("a"), shared.acquire("a")]);
    store.up = false;
    events.current?.down("ECONNRESET");
    // floor(4 / 2) = 2 are in flight already (on Redis permits): a third waits.
    let third: (() => void) | undefined;
    void shared.acquire("a").then((release) => (third = release));
    await waitFor(() => shared.queued("a") === 1);
    expect(third).toBeUndefined();
    releases[0]?.();
    await waitFor(() => third !== undefined);
    expect(shared.inFlight("a")).toBe(2);
    releases[1]?.();
    third?.();
    await shared.close();
  });

  it("back on Redis, the fallback's requests count in the shared cap before any new permit, and the waiters left ask Redis", async () => {
    // Another replica holds 2 of the 4.
    const store = new MemoryStore(4);
    store.permits.set("a", new Set(["other-1", "other-2"]));
    const { shared, events, lines } = limiter(store, { leaseMs: SHORT_LEASE_MS });
    await shared.start();
    store.up = false;
    events.current?.down("ECONNREFUSED");
    const local = await Promise.all([shared.acquire("a"), shared.acquire("a")]);
    let third: (() => void) | undefined;
    void shared.acquire("a").then((release) => (third = release));
    await waitFor(() => shared.queued("a") === 1);
    store.up = true;
    events.current?.ready();
    await waitFor(() => !shared.fallback);
    expect(lines.at(-1)).toMatch(/^info Redis reachable again/);
    // Redis counts both fallback requests: 4 of 4, so the third still waits, now for Redis.
    expect(store.permits.get("a")?.size).toBe(4);
    expect(third).toBeUndefined();
    local[0]?.();
    await waitFor(() => third !== undefined);
    expect(store.permits.get("a")?.size).toBe(4);
    local[1]?.();
    third?.();
    expect(store.permits.get("a")).toEqual(new Set(["other-1", "other-2"]));
    await shared.close();
  });

  it("fails startup with REDIS_FAILURE_MODE=fail, starts on the fallback cap with local", async () => {
    const store = new MemoryStore(4);
    const unreachable = (): Promise<PermitStore> =>
      Promise.reject(Object.assign(new RedisUnavailableError("REDIS_URL: cannot reach Redis at redis://x:1 (ECONNREFUSED)"), { store }));
    const failing = limiter(store, { failureMode: "fail", connect: unreachable });
    await expect(failing.shared.start()).rejects.toThrow("REDIS_URL: cannot reach Redis at redis://x:1 (ECONNREFUSED)");
    const local = limiter(store, { failureMode: "local", connect: unreachable });
    await local.shared.start();
    expect(local.shared.fallback).toBe(true);
    expect(local.shared.fallbackCap).toBe(2);
    expect(local.lines).toHaveLength(1);
    expect(local.lines[0]).toMatch(/REDIS_FAILURE_MODE=local: starting with at most 2 slots per company/);
    await local.shared.close();
  });
});
