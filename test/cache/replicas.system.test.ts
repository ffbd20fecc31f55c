/**
 * The read cache across three replicas sharing a real Redis (REDIS_URL): concurrent misses of one page on all three
 * make one Codat call (a fill lease and a wake-up), an entry one replica read is a hit on the others, and an
 * invalidation received by one replica is seen by all (the generations live in Redis); a page one replica read
 * fills its customers' entries for all of them; a sync's delta drops just the customers it names, for all, and
 * its hold holds on all; a large entry is kept deflated.
 */
import { inflateRawSync } from "node:zlib";
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

/** A sync's delta (`modifiedDate>=…`: which customers changed) is not a read under test. */
const isDelta = (request: { query: Record<string, string> }) => request.query["query"]?.startsWith("modifiedDate>=") === true;
const customerCalls = () => simulator.requests.filter((request) => CUSTOMERS_PATH.test(request.path) && !isDelta(request)).length;
const customerGets = () => simulator.requests.filter((request) => /\/data\/customers\/[^/]+$/.test(request.path)).length;

async function detail(url: string, customerId: string): Promise<{ customerId: string; customerName: string } | null | undefined> {
  const response = await fetch(url, {
    method: "POST",
    headers: { "content-type": "application/json" },
    body: JSON.stringify({
      query: `query($companyId: ID!, $customerId: ID!) { customer(companyId: $companyId, customerId: $customerId) { customerId customerName } }`,
      variables: { companyId: DEMO_COMPANY_ID, customerId },
    }),
  });
  return ((await response.json()) as { data?: { customer: { customerId: string; customerName: string } | null } }).data?.customer;
}

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

  it("drops just the customers a sync changed, on every replica, and holds them on every replica while it asks", async () => {
    simulator.resetRequests();
    const read = await page(replicas[0]!.url, "customerName~e");
    const [first, second] = (read.data?.customers.nodes ?? []) as { customerId: string }[];
    if (first === undefined || second === undefined) throw new Error("too few demo customers");
    const stored = simulator.store
      .company(DEMO_COMPANY_ID)
      ?.customers.all()
      .find((c) => c.id === first.customerId);
    if (stored === undefined) throw new Error("no such demo customer");
    simulator.editCustomer(DEMO_COMPANY_ID, { ...stored, customerName: "Renamed Across Replicas" }, { sync: false });
    await replicas[1]!.gateway.cache?.dataChanged({ kind: "read.completed", companyId: DEMO_COMPANY_ID, dataTypes: ["customers"] });
    expect(simulator.requests.filter(isDelta)).toHaveLength(1);

    const lists = customerCalls();
    expect((await detail(replicas[2]!.url, first.customerId))?.customerName).toBe("Renamed Across Replicas");
    expect(customerCalls() + customerGets()).toBe(lists + 1);
    await detail(replicas[0]!.url, second.customerId);
    await detail(replicas[2]!.url, second.customerId);
    expect(customerCalls() + customerGets()).toBe(lists + 1);

    // A hold another replica took (its delta on its way): a read of the company's customers by id on any replica
    // waits for it, and is answered from the cache once the delta named others (no Codat call of its own).
    const store = replicas[0]!.gateway.cache!.store;
    const company = DEMO_COMPANY_ID.toLowerCase();
    const seq = await store.hold(company, Date.now() + 60_000);
    const waiting = detail(replicas[2]!.url, second.customerId);
    await store.release(company, seq, [`r:${first.customerId}`]);
    await store.filled(`${company}:hold`);
    expect((await waiting)?.customerId).toBe(second.customerId);
    expect(customerCalls() + customerGets()).toBe(lists + 1);

    // A hold whose delta never ends (its replica stopped): once its time is past, every customer entry goes.
    await store.hold(company, Date.now() + 300);
    await detail(replicas[1]!.url, second.customerId);
    expect(customerCalls() + customerGets()).toBe(lists + 2);
    await detail(replicas[2]!.url, second.customerId);
    expect(customerCalls() + customerGets()).toBe(lists + 2);
  });

  it("keeps a large entry deflated in Redis, and another replica serves it from there", async () => {
    simulator.resetRequests();
    const query = `query($companyId: ID!) { customers(companyId: $companyId, first: 50) { nodes { customerId customerName } } }`;
    const read = async (url: string) => {
      const response = await fetch(url, {
        method: "POST",
        headers: { "content-type": "application/json" },
        body: JSON.stringify({ query, variables: { companyId: DEMO_COMPANY_ID } }),
      });
      return (await response.json()) as { errors?: unknown; data?: unknown };
    };
    const first = await read(replicas[0]!.url);
    expect(first.errors).toBeUndefined();
    expect(customerCalls()).toBe(1);

    const redisClient = new Redis(redis.url, { lazyConnect: true });
    await redisClient.connect();
    try {
      const keys = await redisClient.keys("cache-test:cache:e:*:page:*");
      const stored = await Promise.all(keys.map((key) => redisClient.getBuffer(key)));
      const deflated = stored.filter((value): value is Buffer => value !== null && value[0] === 0);
      expect(deflated.length).toBeGreaterThan(0);
      const text = inflateRawSync(deflated[0]!.subarray(1)).toString("utf8");
      expect(deflated[0]!.length * 2).toBeLessThan(Buffer.byteLength(text));
      expect(JSON.parse(text)).toHaveProperty("v.results");
    } finally {
      redisClient.disconnect();
    }

    expect(await read(replicas[2]!.url)).toEqual(first);
    expect(customerCalls()).toBe(1);
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
