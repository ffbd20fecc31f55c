/**
 * The Redis store's invalidations when Redis does not take them (a fake connection that fails on cue): the company's
 * entries are not served from Redis until the kept invalidation has reached it, and it is sent again before the
 * company is read, and when the connection is ready again. (The real Redis: test/cache/replicas.system.test.ts.)
 */
import { EventEmitter } from "node:events";
import { describe, expect, it } from "vitest";
import { RedisCacheStore } from "../../src/cache/redis-store.js";
import type { RedisHub } from "../../src/redis/hub.js";
import { waitFor } from "../helpers/wait.js";

const COMPANY = "0b5f9c4e-1d2a-4e3b-8c7d-6e5f4a3b2c1d";

/** Just what the store uses of an ioredis connection: generations in a map, MULTI/HINCRBY that fail while `failing`. */
function fakeRedis() {
  const hashes = new Map<string, Map<string, number>>();
  const state = { failing: false, increments: 0 };
  const connection = Object.assign(new EventEmitter(), {
    status: "ready",
    defineCommand: () => undefined,
    subscribe: () => Promise.resolve(),
    unsubscribe: () => Promise.resolve(),
    cacheGenerations: (key: string, base: string) => {
      const hash = hashes.get(key) ?? new Map<string, number>();
      hashes.set(key, hash);
      if (!hash.has("*")) hash.set("*", Number(base));
      return Promise.resolve([...hash].flatMap(([field, value]) => [field, String(value)]));
    },
    multi: () => {
      const queued: [string, string][] = [];
      const multi = {
        hincrby: (key: string, field: string) => {
          queued.push([key, field]);
          return multi;
        },
        exec: () => {
          if (state.failing) return Promise.reject(new Error("Connection is closed."));
          for (const [key, field] of queued) {
            const hash = hashes.get(key) ?? new Map<string, number>();
            hashes.set(key, hash);
            hash.set(field, (hash.get(field) ?? 0) + 1);
            state.increments += 1;
          }
          return Promise.resolve(queued.map(() => [null, 1]));
        },
      };
      return multi;
    },
  });
  const hub = {
    down: false,
    key: (name: string) => `t:${name}`,
    succeeded: () => undefined,
    start: () => Promise.resolve({ command: connection, subscriber: connection, problem: undefined }),
  };
  return { hub: hub as unknown as RedisHub, state, connection };
}

describe("Redis cache store: invalidations Redis missed", () => {
  it("serves nothing of the company until the kept invalidation reached Redis, then sends it before reading", async () => {
    const { hub, state } = fakeRedis();
    const store = new RedisCacheStore(hub);
    await store.start();
    const before = await store.generations(COMPANY);
    expect(before?.["customers"]).toBeUndefined();

    state.failing = true;
    await store.bump(COMPANY, ["customers"]);
    expect(state.increments).toBe(0);
    // Redis answers reads, but the company's invalidation is not in it yet: no generations, so nothing is served.
    expect(await store.generations(COMPANY)).toBeUndefined();

    state.failing = false;
    const after = await store.generations(COMPANY);
    expect(after?.["customers"]).toBe(1);
    expect(after?.["*"]).toBe(before?.["*"]);
    // Sent once: reading again sends nothing more.
    await store.generations(COMPANY);
    expect(state.increments).toBe(1);
    await store.close();
  });

  it("sends the kept invalidations as soon as the connection is ready again", async () => {
    const { hub, state, connection } = fakeRedis();
    const store = new RedisCacheStore(hub);
    await store.start();
    state.failing = true;
    await store.bump(COMPANY, ["customers", "customers-sync"]);
    state.failing = false;
    connection.emit("ready");
    await waitFor(() => state.increments === 2);
    await store.close();
  });
});
