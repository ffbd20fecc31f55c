/**
 * The read cache across three replicas sharing a real Redis (REDIS_URL): concurrent misses of one page on all three
 * make one Codat call (a fill lease and a wake-up), an entry one replica read is a hit on the others, and an
 * invalidation received by one replica is seen by all (the generations live in Redis); a page one replica read
 * fills its customers' entries for all of them.
 */
import { Redis } from "ioredis";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { DEMO_COMPANY_ID, startSimulator, type Simulator } from "codat-simulator";
import { createGateway, type Gateway } from "../../src/app.js";
import { parseConfig } from "../../src/config.js";
import { createLogger } from "../../src/observability/logger.js";
import { startRedis, type TestRedis } from "../helpers/redis.js";

const PAGE = `query($companyId: ID!, $query: String) { customers(companyId: $companyId, first: 3, query: $query) { nodes { customerId } freshness { stale } } }`;
const CUSTOMERS_PATH = /\/data\/customers$/;
const REPLICAS = 3;

let redis: TestRedis;
let simulator: Simulator;
const replicas: { gateway: Gateway; url: string }[] = [];

beforeAll(async () => {
  redis = await startRedis();
  // Codat-like latency, so that the replicas' misses overlap the one call.
  simulator = await startSimulator({ latencyMs: 150 });
  for (let i = 0; i < REPLICAS; i++) {
    const gateway = createGateway(
      parseConfig({
        CODAT_BASE_URL: simulator.url,
        PORT: "0",
        HOST: "127.0.0.1",
        REDIS_URL: redis.url,
        REDIS_KEY_PREFIX: "cache-test:",
        REDIS_CONNECT_TIMEOUT_MS: "10000",
        SIGNING_SECRET: "s".repeat(40),
        // Long: no pause of this busy process outlasts a lease while its holder is still reading.
        CACHE_FILL_LEASE_MS: "30000",
      }),
      { stopGracePeriodMs: 1_000, logger: createLogger({ level: "silent", pretty: false, secrets: [] }) },
    );
    replicas.push({ gateway, url: await gateway.listen() });
  }
});

afterAll(async () => {
  for (const replica of replicas.splice(0)) await replica.gateway.stop();
  await simulator?.close();
  await redis?.stop();
});

async function page(url: string, query: string): Promise<{ errors?: unknown; data?: { customers: { nodes: unknown[] } } }> {
  const response = await fetch(url, {
    method: "POST",
    headers: { "content-type": "application/json" },
    body: JSON.stringify({ query: PAGE, variables: { companyId: DEMO_COMPANY_ID, query } }),
  });
  return (await response.json()) as { errors?: unknown; data?: { customers: { nodes: unknown[] } } };
}

const customerCalls = () => simulator.requests.filter((request) => CUSTOMERS_PATH.test(request.path)).length;

describe("read cache across replicas (Redis)", () => {
  it("makes one Codat call for concurrent misses of one page on three replicas", async () => {
    simulator.resetRequests();
    const results = await Promise.all(replicas.flatMap(({ url }) => Array.from({ length: 4 }, () => page(url, "status=Active"))));
    for (const result of results) expect(result.errors).toBeUndefined();
    expect(new Set(results.map((result) => JSON.stringify(result.data))).size).toBe(1);
    expect(customerCalls()).toBe(1);
  });

  it("answers a customer a page returned on another replica with no Codat call (the page filled its entries in Redis)", async () => {
    simulator.resetRequests();
    const read = await page(replicas[0]!.url, "status=Archived||status=Active||status=Unknown");
    const nodes = read.data?.customers.nodes as { customerId: string }[] | undefined;
    expect(nodes?.length).toBeGreaterThan(0);
    expect(customerCalls()).toBe(1);
    const detail = await fetch(replicas[1]!.url, {
      method: "POST",
      headers: { "content-type": "application/json" },
      body: JSON.stringify({
        query: `query($companyId: ID!, $customerId: ID!) { customer(companyId: $companyId, customerId: $customerId) { customerId } }`,
        variables: { companyId: DEMO_COMPANY_ID, customerId: nodes![0]!.customerId },
      }),
    });
    expect(await detail.json()).toEqual({ data: { customer: { customerId: nodes![0]!.customerId } } });
    expect(customerCalls()).toBe(1);
  });

  it("sees an invalidation one replica received on every replica", async () => {
    simulator.resetRequests();
    const query = "customerName~a";
    await page(replicas[0]!.url, query);
    await page(replicas[1]!.url, query);
    await page(replicas[2]!.url, query);
    expect(customerCalls()).toBe(1);

    await replicas[0]!.gateway.cache?.dataChanged({ kind: "read.completed", companyId: DEMO_COMPANY_ID, dataTypes: ["customers"] });
    await page(replicas[2]!.url, query);
    expect(customerCalls()).toBe(2);
    await page(replicas[1]!.url, query);
    expect(customerCalls()).toBe(2);
  });

  it("never makes an entry of an earlier generation reachable again when Redis loses a company's generations", async () => {
    simulator.resetRequests();
    const query = "customerName~b";
    await page(replicas[0]!.url, query);
    await replicas[1]!.gateway.cache?.dataChanged({ kind: "read.completed", companyId: DEMO_COMPANY_ID, dataTypes: ["customers"] });
    await page(replicas[0]!.url, query);
    expect(customerCalls()).toBe(2);

    // As an eviction would: the company's generation hash is gone, its entries are not.
    const redisClient = new Redis(redis.url, { lazyConnect: true });
    await redisClient.connect();
    try {
      expect(await redisClient.del(`cache-test:cache:gen:${DEMO_COMPANY_ID}`)).toBe(1);
    } finally {
      redisClient.disconnect();
    }
    await page(replicas[2]!.url, query);
    expect(customerCalls()).toBe(3);
  });
});
