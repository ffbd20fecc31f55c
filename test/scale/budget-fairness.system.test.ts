/**
 * Codat's budget, shared fairly across replicas (issue 27): three gateways over one real Redis. Tenant B saturates
 * a low request budget through two replicas while tenant A's ordinary queries go through the third and still take
 * the next token; and a burst stays within the cap per company while Redis is slow (a delaying proxy) and while
 * the CPU is saturated (busy loops in worker threads, bounded). Every bound asserted comes from the configuration;
 * waits are on conditions, order and counts are read at the simulator.
 */
import { availableParallelism } from "node:os";
import { Writable } from "node:stream";
import { Worker } from "node:worker_threads";
import { afterAll, afterEach, beforeAll, describe, expect, it } from "vitest";
import { DEMO_COMPANY_ID, SECOND_COMPANY_ID, startSimulator, type Simulator } from "codat-simulator";
import { createGateway, type Gateway } from "../../src/app.js";
import { bucketRate } from "../../src/codat/fair-budget.js";
import type { CodatObserver } from "../../src/codat/observer.js";
import { parseConfig } from "../../src/config.js";
import { createLogger } from "../../src/observability/logger.js";
import { startRedis, type TestRedis } from "../helpers/redis.js";
import { startDelayProxy } from "../helpers/tcp-delay-proxy.js";
import { waitFor } from "../helpers/wait.js";

const SECRET = "s".repeat(40);
const COMPANIES = [DEMO_COMPANY_ID, SECOND_COMPANY_ID];
const ORDINARY = `query($companyId: ID!) { customers(companyId: $companyId, first: 1) { edges { node { id } } } }`;
/** Three Codat calls per operation (no two share a loader key). */
const THREE_CALLS = `query($companyId: ID!) {
  a: customers(companyId: $companyId, first: 1) { edges { node { id } } }
  b: customers(companyId: $companyId, first: 2) { edges { node { id } } }
  c: customers(companyId: $companyId, first: 3) { edges { node { id } } }
}`;
const many = (calls: number): string =>
  `query($companyId: ID!) { ${Array.from({ length: calls }, (_, i) => `p${i}: customers(companyId: $companyId, first: ${i + 1}) { edges { node { id } } }`).join(" ")} }`;

let redis: TestRedis;
let simulator: Simulator;
const started: Gateway[] = [];

beforeAll(async () => {
  redis = await startRedis();
  simulator = await startSimulator({ latencyMs: 20, maxConcurrentPerCompany: 1_000 });
});

afterEach(async () => {
  for (const gateway of started.splice(0).reverse()) await gateway.stop().catch(() => undefined);
  simulator?.clearFaults();
  simulator?.resetRequests();
});

afterAll(async () => {
  await simulator?.close();
  await redis?.stop();
});

function env(prefix: string, extra: Record<string, string> = {}): Record<string, string> {
  return {
    CODAT_BASE_URL: simulator.url,
    PORT: "0",
    HOST: "127.0.0.1",
    REDIS_URL: redis.url,
    REDIS_KEY_PREFIX: prefix,
    REDIS_LEASE_MS: "10000",
    REDIS_COMMAND_TIMEOUT_MS: "500",
    REDIS_CONNECT_TIMEOUT_MS: "10000",
    SIGNING_SECRET: SECRET,
    // Every query here must reach Codat (the budget is what is measured): the read cache is off.
    CACHE_ENABLED: "false",
    ...extra,
  };
}

async function startReplica(
  vars: Record<string, string>,
  observers: readonly CodatObserver[] = [],
): Promise<{ gateway: Gateway; url: string }> {
  const sink = new Writable({ write: (_chunk, _encoding, done) => done() });
  const gateway = createGateway(parseConfig(vars), {
    stopGracePeriodMs: 1_000,
    logger: createLogger({ level: "silent", pretty: false, secrets: [], destination: sink }),
    codatObservers: observers,
  });
  started.push(gateway);
  return { gateway, url: await gateway.listen() };
}

async function post(url: string, query: string, companyId: string, signal?: AbortSignal): Promise<{ ok: boolean; codes: string[] }> {
  try {
    const response = await fetch(url, {
      method: "POST",
      signal,
      headers: { "content-type": "application/json" },
      body: JSON.stringify({ query, variables: { companyId } }),
    });
    const body = (await response.json()) as { errors?: { extensions?: { code?: string } }[] };
    const codes = (body.errors ?? []).map((error) => error.extensions?.code ?? "?");
    return { ok: response.status === 200 && codes.length === 0, codes };
  } catch {
    return { ok: false, codes: ["network"] };
  }
}

/** 200 operations of three calls each, round robin over the replicas and both companies, all at once. */
async function burst(urls: readonly string[]): Promise<{ ok: number; codes: string[] }> {
  const results = await Promise.all(
    Array.from({ length: 200 }, (_, index) => post(urls[index % urls.length] ?? "", THREE_CALLS, COMPANIES[index % 2] ?? DEMO_COMPANY_ID)),
  );
  return { ok: results.filter((result) => result.ok).length, codes: results.flatMap((result) => result.codes) };
}

const maxInFlight = (on: Simulator = simulator): number => Math.max(...COMPANIES.map((company) => on.maxInFlight(company)));

describe("two tenants over a low request budget, three replicas sharing it through Redis", () => {
  it("tenant B saturates through two replicas; tenant A's ordinary queries on the third take the next token", async () => {
    const perMinute = 60;
    const vars = env("t-fair:", {
      CODAT_REQUESTS_PER_MINUTE: String(perMinute),
      CODAT_QUEUE_TIMEOUT_MS: "60000",
      CODAT_DEADLINE_MS: "60000",
    });
    const a = DEMO_COMPANY_ID.toLowerCase();
    const b = SECOND_COMPANY_ID.toLowerCase();
    const requestsOf = (company: string): number =>
      simulator.requests.filter((request) => request.path.toLowerCase().includes(company)).length;
    const bAtAStart: number[] = [];
    const observer: CodatObserver = {
      around(info, run) {
        if (info.companyId.toLowerCase() === a) bAtAStart.push(requestsOf(b));
        return run();
      },
    };
    const [one, two, three] = await Promise.all([startReplica(vars), startReplica(vars), startReplica(vars, [observer])]);
    if (one === undefined || two === undefined || three === undefined) throw new Error("replicas did not start");
    simulator.resetRequests();
    const controller = new AbortController();
    const saturating = Promise.all([one, two].map((replica) => post(replica.url, many(20), SECOND_COMPANY_ID, controller.signal)));
    try {
      await waitFor(
        () => one.gateway.client.budgetWaiting(SECOND_COMPANY_ID) > 0 && two.gateway.client.budgetWaiting(SECOND_COMPANY_ID) > 0,
        {
          timeoutMs: 30_000,
        },
      );
      // B's burst has reached the simulator: from here on, B's requests are its turns.
      await waitFor(() => requestsOf(b) >= bucketRate(perMinute).burst, { timeoutMs: 30_000 });
      const tries = 3;
      const latencies: number[] = [];
      for (let i = 0; i < tries; i += 1) {
        const begun = performance.now();
        const result = await post(three.url, ORDINARY, DEMO_COMPANY_ID);
        latencies.push(performance.now() - begun);
        expect(result.codes).toEqual([]);
        expect(one.gateway.client.budgetWaiting(SECOND_COMPANY_ID) + two.gateway.client.budgetWaiting(SECOND_COMPANY_ID)).toBeGreaterThan(
          0,
        );
      }
      // Between the start of each of A's calls and its arrival at the simulator, at most the bucket's burst of B's
      // requests (one B got just before A asked, and B's in A's round when a late ask found several tokens); in
      // FIFO order A would wait behind all of B's waiting calls.
      expect(bAtAStart).toHaveLength(tries);
      let bSoFar = 0;
      let aSoFar = 0;
      for (const request of simulator.requests) {
        if (request.path.toLowerCase().includes(b)) bSoFar += 1;
        else if (request.path.toLowerCase().includes(a)) {
          expect(bSoFar - (bAtAStart[aSoFar] ?? 0)).toBeLessThanOrEqual(bucketRate(perMinute).burst);
          aSoFar += 1;
        }
      }
      expect(aSoFar).toBe(tries);
      // The replicas together kept to the budget: the bucket's burst plus its refill so far, at most.
      expect(simulator.requests.length).toBeLessThanOrEqual(perMinute);
      const sorted = [...latencies].sort((x, y) => x - y);
      console.info(
        `scale: two tenants, budget ${perMinute}/min over 3 replicas, B saturating: A's latency over ${tries} tries median ${Math.round(sorted[1] ?? 0)} ms, max ${Math.round(sorted[tries - 1] ?? 0)} ms`,
      );
    } finally {
      controller.abort();
      await saturating;
    }
    for (const replica of [one, two, three]) {
      await waitFor(() => replica.gateway.client.budgetWaiting() === 0 && replica.gateway.client.totalInFlight() === 0, {
        timeoutMs: 30_000,
      });
    }
  }, 90_000);
});

describe("the cap per company under a burst, three replicas over Redis", () => {
  it("holds while Redis answers slowly (a delaying proxy)", async () => {
    const cap = parseConfig(env("t:")).codatMaxConcurrencyPerCompany;
    const proxy = await startDelayProxy(redis.port, 30);
    try {
      const vars = env("t-slowburst:", { REDIS_URL: `redis://127.0.0.1:${proxy.port}` });
      const replicas = await Promise.all([1, 2, 3].map(() => startReplica(vars)));
      simulator.resetRequests();
      const begun = performance.now();
      const result = await burst(replicas.map((replica) => replica.url));
      const wallMs = performance.now() - begun;
      expect(result.codes.filter((code) => code !== "RATE_LIMITED")).toEqual([]);
      expect(result.ok).toBeGreaterThan(0);
      expect(maxInFlight()).toBeLessThanOrEqual(cap);
      console.info(
        `scale: burst of 200 operations (600 calls) over 3 replicas, Redis 60 ms round trips: ${result.ok} ok, ${result.codes.length} RATE_LIMITED, max in flight ${maxInFlight()} (cap ${cap}), ${Math.round(wallMs)} ms`,
      );
    } finally {
      for (const gateway of started.splice(0)) await gateway.stop().catch(() => undefined);
      await proxy.close();
    }
  }, 90_000);

  it("holds while the CPU is saturated (busy loops in worker threads, bounded)", async () => {
    const cap = parseConfig(env("t:")).codatMaxConcurrencyPerCompany;
    const replicas = await Promise.all([1, 2, 3].map(() => startReplica(env("t-cpuburst:"))));
    // One busy loop per core, each ending by itself after 60 s at most, or when told.
    const stop = new Int32Array(new SharedArrayBuffer(4));
    const workers = Array.from(
      { length: availableParallelism() },
      () =>
        new Worker(
          `const { workerData } = require("node:worker_threads");
           const stop = new Int32Array(workerData.stop);
           const until = Date.now() + 60000;
           let x = 0;
           while (Atomics.load(stop, 0) === 0 && Date.now() < until) x = (x * 31 + 7) % 1000003;`,
          { eval: true, workerData: { stop: stop.buffer } },
        ),
    );
    const exited = workers.map((worker) => new Promise((resolve) => worker.once("exit", resolve)));
    try {
      await waitFor(() => workers.every((worker) => worker.threadId > 0), { timeoutMs: 10_000 });
      simulator.resetRequests();
      const begun = performance.now();
      const result = await burst(replicas.map((replica) => replica.url));
      const wallMs = performance.now() - begun;
      expect(result.codes.filter((code) => code !== "RATE_LIMITED")).toEqual([]);
      expect(result.ok).toBeGreaterThan(0);
      expect(maxInFlight()).toBeLessThanOrEqual(cap);
      console.info(
        `scale: burst of 200 operations (600 calls) over 3 replicas, ${workers.length} busy loops: ${result.ok} ok, ${result.codes.length} RATE_LIMITED, max in flight ${maxInFlight()} (cap ${cap}), ${Math.round(wallMs)} ms`,
      );
    } finally {
      Atomics.store(stop, 0, 1);
      await Promise.all(exited);
    }
  }, 120_000);
});
