/** The shared limiter's own logic against an in-memory permit store (the Redis side is tested in replicas.system.test.ts). */
import { describe, expect, it } from "vitest";
import { SlotUnavailable } from "../../src/codat/limiter.js";
import { RedisUnavailableError, SharedSlotLimiter, type PermitStore, type PermitStoreEvents } from "../../src/codat/shared-limiter.js";
import { waitFor } from "../helpers/wait.js";

class MemoryStore implements PermitStore {
  readonly permits = new Map<string, Set<string>>();
  up = true;
  takes = 0;
  constructor(readonly cap: number) {}
  take(key: string, _download: boolean, ids: readonly string[]): Promise<number> {
    this.takes += 1;
    if (!this.up) return Promise.reject(new Error("down"));
    const held = this.permits.get(key) ?? new Set<string>();
    this.permits.set(key, held);
    const n = Math.max(0, Math.min(this.cap - held.size, ids.length));
    for (const id of ids.slice(0, n)) held.add(id);
    return Promise.resolve(n);
  }
  renew(): Promise<void> {
    return this.up ? Promise.resolve() : Promise.reject(new Error("down"));
  }
  give(key: string, _download: boolean, id: string): Promise<void> {
    this.permits.get(key)?.delete(id);
    return Promise.resolve();
  }
  close(): Promise<void> {
    return Promise.resolve();
  }
}

function limiter(
  store: MemoryStore,
  events: { current?: PermitStoreEvents } = {},
  failureMode: "fail" | "local" = "fail",
  connect?: (events: PermitStoreEvents) => Promise<PermitStore>,
) {
  const lines: string[] = [];
  const shared = new SharedSlotLimiter({
    maxPerKey: 4,
    maxDownloadsPerKey: 2,
    maxQueuedPerKey: 100,
    maxQueuedDownloadsPerKey: 10,
    redis: {
      url: "redis://127.0.0.1:1",
      failureMode,
      expectedReplicas: 2,
      leaseMs: 60_000,
      commandTimeoutMs: 100,
      connectTimeoutMs: 100,
      retryIntervalMs: 5,
      keyPrefix: "t:",
    },
    log: { warn: (line) => lines.push(`warn ${line}`), info: (line) => lines.push(`info ${line}`) },
    connect:
      connect ??
      ((handlers) => {
        events.current = handlers;
        return Promise.resolve(store);
      }),
  });
  return { shared, lines };
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

  it("falls back to ceil(cap / replicas) when the store fails, warns once, and shares again after a renewal", async () => {
    const store = new MemoryStore(4);
    const events: { current?: PermitStoreEvents } = {};
    const { shared, lines } = limiter(store, events);
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

  it("fails startup with REDIS_FAILURE_MODE=fail, starts on the fallback cap with local", async () => {
    const store = new MemoryStore(4);
    const unreachable = (): Promise<PermitStore> =>
      Promise.reject(Object.assign(new RedisUnavailableError("REDIS_URL: cannot reach Redis at redis://x:1 (ECONNREFUSED)"), { store }));
    const failing = limiter(store, {}, "fail", unreachable);
    await expect(failing.shared.start()).rejects.toThrow("REDIS_URL: cannot reach Redis at redis://x:1 (ECONNREFUSED)");
    const local = limiter(store, {}, "local", unreachable);
    await local.shared.start();
    expect(local.shared.fallback).toBe(true);
    expect(local.shared.fallbackCap).toBe(2);
    expect(local.lines).toHaveLength(1);
    expect(local.lines[0]).toMatch(/REDIS_FAILURE_MODE=local: starting with at most 2 slots per company/);
    await local.shared.close();
  });
});
