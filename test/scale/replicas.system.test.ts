/**
 * Several replicas sharing Codat's per-company limit through a real Redis (REDIS_URL): three gateways against one
 * simulator that would accept far more than 10 requests per company, so the simulator's count of requests in
 * flight at once is what the gateways let through together.
 */
import { spawn, type ChildProcess } from "node:child_process";
import { createHash } from "node:crypto";
import { createInterface } from "node:readline";
import { Writable } from "node:stream";
import { Redis } from "ioredis";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { DEMO_COMPANY_ID, SECOND_COMPANY_ID, startSimulator, type Simulator } from "codat-simulator";
import { createGateway, type Gateway } from "../../src/app.js";
import { parseConfig } from "../../src/config.js";
import { createLogger } from "../../src/observability/logger.js";
import { freePort, startRedis, type TestRedis } from "../helpers/redis.js";
import { waitFor, waitForValue } from "../helpers/wait.js";

const SECRET = "s".repeat(40);
const LEASE_MS = 1_000;
const PAGE = `query($companyId: ID!) { customers(companyId: $companyId, first: 3) { edges { node { id } } } }`;
const COMPANIES = [DEMO_COMPANY_ID, SECOND_COMPANY_ID];

let redis: TestRedis;
let simulator: Simulator;
const started: { stop(): Promise<void> }[] = [];

beforeAll(async () => {
  redis = await startRedis();
  simulator = await startSimulator({ latencyMs: 25, maxConcurrentPerCompany: 1_000 });
});

afterAll(async () => {
  for (const replica of started.splice(0).reverse()) await replica.stop();
  await simulator?.close();
  await redis?.stop();
});

interface Replica {
  gateway: Gateway;
  url: string;
  logs: string[];
  stop(): Promise<void>;
}

/** replicaEnv's Redis settings unset (each REDIS_* without REDIS_URL is a config error), for the controls. */
const WITHOUT_REDIS = {
  REDIS_URL: "",
  SIGNING_SECRET: "",
  REDIS_KEY_PREFIX: "",
  REDIS_LEASE_MS: "",
  REDIS_COMMAND_TIMEOUT_MS: "",
  REDIS_CONNECT_TIMEOUT_MS: "",
};

function replicaEnv(prefix: string, extra: Record<string, string> = {}): Record<string, string> {
  return {
    CODAT_BASE_URL: simulator.url,
    PORT: "0",
    HOST: "127.0.0.1",
    REDIS_URL: redis.url,
    REDIS_KEY_PREFIX: prefix,
    REDIS_LEASE_MS: String(LEASE_MS),
    REDIS_COMMAND_TIMEOUT_MS: "200",
    REDIS_CONNECT_TIMEOUT_MS: "2000",
    SIGNING_SECRET: SECRET,
    CODAT_MAX_QUEUE_PER_COMPANY: "1000",
    ...extra,
  };
}

async function startReplica(prefix: string, extra: Record<string, string> = {}): Promise<Replica> {
  const logs: string[] = [];
  const destination = new Writable({
    write(chunk: Buffer, _encoding, done) {
      logs.push(...chunk.toString("utf8").split("\n").filter(Boolean));
      done();
    },
  });
  const gateway = createGateway(parseConfig(replicaEnv(prefix, extra)), {
    stopGracePeriodMs: 1_000,
    logger: createLogger({ level: "info", pretty: false, secrets: [], destination }),
  });
  const url = await gateway.listen();
  const replica = { gateway, url, logs, stop: () => gateway.stop() };
  started.push(replica);
  return replica;
}

async function query(url: string, companyId: string): Promise<{ ok: boolean; codes: string[] }> {
  const response = await fetch(url, {
    method: "POST",
    headers: { "content-type": "application/json" },
    body: JSON.stringify({ query: PAGE, variables: { companyId } }),
  });
  const body = (await response.json()) as { errors?: { extensions?: { code?: string } }[] };
  const codes = (body.errors ?? []).map((error) => error.extensions?.code ?? "?");
  return { ok: response.status === 200 && codes.length === 0, codes };
}

/** `count` operations spread round-robin over the replicas and the two companies, all at once. */
async function load(urls: readonly string[], count: number): Promise<{ ok: number; codes: string[] }> {
  const results = await Promise.all(
    Array.from({ length: count }, (_, index) => query(urls[index % urls.length] ?? "", COMPANIES[index % 2] ?? DEMO_COMPANY_ID)),
  );
  return { ok: results.filter((result) => result.ok).length, codes: results.flatMap((result) => result.codes) };
}

async function fallbackGauge(replica: Replica): Promise<number | undefined> {
  const text = await fetch(new URL("/metrics", replica.url)).then((response) => response.text());
  const line = text.split("\n").find((entry) => entry.startsWith("codat_gateway_redis_fallback "));
  return line === undefined ? undefined : Number(line.split(" ")[1]);
}

function maxInFlight(): number {
  return Math.max(...COMPANIES.map((company) => simulator.maxInFlight(company)));
}

describe("three replicas, one Redis", () => {
  it("keep every company at 10 in flight together under 200 concurrent operations", async () => {
    const replicas = await Promise.all([1, 2, 3].map(() => startReplica("t1:")));
    simulator.resetMaxInFlight();
    // Each company's first 20 requests are held 300 ms, so its 10 permits are all taken at once however busy
    // the machine is: the cap is reached, and must hold.
    for (const company of COMPANIES) simulator.injectFault({ kind: "delay", ms: 300, times: 20, path: new RegExp(company) });
    const startedAt = performance.now();
    const result = await load(
      replicas.map((replica) => replica.url),
      200,
    );
    const elapsedMs = performance.now() - startedAt;
    simulator.clearFaults();
    expect(result.codes).toEqual([]);
    expect(result.ok).toBe(200);
    for (const company of COMPANIES) {
      expect(simulator.maxInFlight(company)).toBeLessThanOrEqual(10);
      // The limit was reached (the replicas did share it, not serialise).
      expect(simulator.maxInFlight(company)).toBe(10);
    }
    console.info(
      `scale: 3 replicas, 200 operations: max in flight ${COMPANIES.map((c) => simulator.maxInFlight(c)).join("/")}, ${Math.round(elapsedMs)} ms`,
    );
    for (const replica of replicas) expect(await fallbackGauge(replica)).toBe(0);
    await Promise.all(replicas.map((replica) => replica.stop()));
  });

  it("(the control: without REDIS_URL the same three replicas go beyond 10)", async () => {
    const replicas = await Promise.all([1, 2, 3].map(() => startReplica("t0:", WITHOUT_REDIS)));
    simulator.resetMaxInFlight();
    // The first 30 requests to the demo company are held 2 s, so each replica's own 10 slots fill up whatever the
    // machine's speed: together they put more than 10 in flight.
    simulator.injectFault({ kind: "delay", ms: 2_000, times: 30, path: new RegExp(DEMO_COMPANY_ID) });
    const result = await load(
      replicas.map((replica) => replica.url),
      200,
    );
    simulator.clearFaults();
    expect(result.codes).toEqual([]);
    expect(simulator.maxInFlight(DEMO_COMPANY_ID)).toBeGreaterThan(10);
    console.info(
      `scale: 3 replicas without Redis, 200 operations: max in flight ${COMPANIES.map((c) => simulator.maxInFlight(c)).join("/")}`,
    );
    await Promise.all(replicas.map((replica) => replica.stop()));
  });

  it("gets a killed replica's permits back within the lease", async () => {
    const prefix = "t2:";
    const child = await startChildReplica(prefix);
    const [second, third] = await Promise.all([startReplica(prefix), startReplica(prefix)]);
    if (second === undefined || third === undefined) throw new Error("replicas did not start");
    // The child takes all 10 of a company's permits (its requests are slow), then dies without giving them back.
    simulator.injectFault({ kind: "hang", times: 10 });
    const doomed = Array.from({ length: 10 }, () => query(child.url, DEMO_COMPANY_ID).catch(() => ({ ok: false, codes: ["killed"] })));
    const client = new Redis(redis.url, { lazyConnect: true, maxRetriesPerRequest: 0 });
    await client.connect();
    const permits = (): Promise<number> => client.zcard(`${prefix}{${DEMO_COMPANY_ID}}:calls`);
    await waitFor(async () => (await permits()) === 10);
    const killedAt = performance.now();
    child.process.kill("SIGKILL");
    await Promise.all(doomed);
    simulator.clearFaults();
    simulator.resetMaxInFlight();
    // The others wait for the dead replica's leases to run out, then serve.
    const first = await query(second.url, DEMO_COMPANY_ID);
    const backAfterMs = performance.now() - killedAt;
    expect(first.codes).toEqual([]);
    expect(backAfterMs).toBeLessThan(LEASE_MS + 1_000);
    await client.quit();
    const result = await load([second.url, third.url], 60);
    expect(result.codes).toEqual([]);
    expect(maxInFlight()).toBeLessThanOrEqual(10);
    console.info(`scale: permits of a killed replica back after ${Math.round(backAfterMs)} ms (lease ${LEASE_MS} ms)`);
    await Promise.all([second.stop(), third.stop()]);
  });

  it("keeps answering on the fallback cap while Redis is down, and shares again when it is back", async () => {
    const replicas = await Promise.all([1, 2, 3].map(() => startReplica("t3:")));
    const urls = replicas.map((replica) => replica.url);
    const running = load(urls, 150);
    await waitFor(() => simulator.requests.length > 30);
    const stoppedAt = performance.now();
    await redis.stop();
    for (const replica of replicas) await waitFor(async () => (await fallbackGauge(replica)) === 1);
    const fallbackAfterMs = performance.now() - stoppedAt;
    const during = await running;
    expect(during.codes).toEqual([]);
    // Down: each replica takes at most ceil(10 / 3) = 4 of a company's slots.
    simulator.resetMaxInFlight();
    const down = await load(urls, 90);
    expect(down.codes).toEqual([]);
    const downMax = maxInFlight();
    expect(downMax).toBeLessThanOrEqual(12);
    for (const replica of replicas) {
      expect(replica.logs.filter((line) => line.includes("Redis unreachable"))).toHaveLength(1);
    }
    const restartedAt = performance.now();
    await redis.restart();
    for (const replica of replicas) await waitFor(async () => (await fallbackGauge(replica)) === 0, { timeoutMs: 8_000 });
    const sharedAfterMs = performance.now() - restartedAt;
    simulator.resetMaxInFlight();
    const back = await load(urls, 120);
    expect(back.codes).toEqual([]);
    expect(maxInFlight()).toBeLessThanOrEqual(10);
    for (const replica of replicas) expect(replica.logs.some((line) => line.includes("Redis reachable again"))).toBe(true);
    console.info(
      `scale: Redis down → fallback on every replica after ${Math.round(fallbackAfterMs)} ms (max in flight ${downMax}); back → shared after ${Math.round(sharedAfterMs)} ms`,
    );
    await Promise.all(replicas.map((replica) => replica.stop()));
  });
});

describe("startup without Redis", () => {
  it("fails with one line naming REDIS_URL and not its password, or starts on the fallback cap with REDIS_FAILURE_MODE=local", async () => {
    const url = `redis://:hunter2-password@127.0.0.1:${await freePort()}`;
    const failing = createGateway(parseConfig({ ...replicaEnv("t4:"), REDIS_URL: url, REDIS_CONNECT_TIMEOUT_MS: "500" }), {
      logger: createLogger({ level: "silent", pretty: false, secrets: [] }),
    });
    const error = await failing.listen().then(
      () => undefined,
      (reason: unknown) => reason as Error,
    );
    expect(error?.name).toBe("RedisUnavailableError");
    expect(error?.message).toMatch(/^REDIS_URL: cannot reach Redis at redis:\/\/127\.0\.0\.1:\d+ \(ECONNREFUSED\)$/);
    expect(error?.message).not.toContain("hunter2");
    await failing.stop().catch(() => undefined);

    const local = await startReplica("t4:", { REDIS_URL: url, REDIS_FAILURE_MODE: "local" });
    expect(await fallbackGauge(local)).toBe(1);
    simulator.resetMaxInFlight();
    const result = await load([local.url], 20);
    expect(result.codes).toEqual([]);
    expect(simulator.maxInFlight(DEMO_COMPANY_ID)).toBeLessThanOrEqual(4);
    expect(local.logs.filter((line) => line.includes("REDIS_FAILURE_MODE=local"))).toHaveLength(1);
    await local.stop();
  });
});

describe("main.ts without Redis", () => {
  it("exits 1 with one line on stderr naming REDIS_URL, never the password", async () => {
    const url = `redis://:hunter2-password@127.0.0.1:${await freePort()}`;
    const child = spawn(process.execPath, ["--import", "tsx", "src/main.ts"], {
      env: { ...process.env, ...replicaEnv("t5:"), REDIS_URL: url, REDIS_CONNECT_TIMEOUT_MS: "500", LOG_LEVEL: "silent" },
      stdio: ["ignore", "ignore", "pipe"],
    });
    let stderr = "";
    child.stderr.on("data", (chunk: Buffer) => (stderr += chunk.toString("utf8")));
    const code = await new Promise((resolve) => child.once("exit", resolve));
    expect(code).toBe(1);
    expect(stderr.trimEnd().split("\n")).toEqual([
      expect.stringMatching(/^startup failed: REDIS_URL: cannot reach Redis at redis:\/\/127\.0\.0\.1:\d+ \(ECONNREFUSED\)$/),
    ]);
    expect(stderr).not.toContain("hunter2");
  });
});

interface ChildReplica {
  url: string;
  process: ChildProcess;
}

/** A replica in a process of its own (main.ts through tsx), so it can be killed outright. */
async function startChildReplica(prefix: string): Promise<ChildReplica> {
  const child = spawn(process.execPath, ["--import", "tsx", "src/main.ts"], {
    env: { ...process.env, ...replicaEnv(prefix), LOG_LEVEL: "info", LOG_PRETTY: "false", NODE_ENV: "test", METRICS_ENABLED: "false" },
    stdio: ["ignore", "pipe", "pipe"],
  });
  started.push({
    stop: async () => {
      if (child.exitCode !== null || child.signalCode !== null) return;
      const exited = new Promise((resolve) => child.once("exit", resolve));
      child.kill("SIGKILL");
      await exited;
    },
  });
  let url: string | undefined;
  const errors: string[] = [];
  createInterface({ input: child.stdout }).on("line", (line) => {
    const match = /GraphQL gateway ready at (\S+)"/.exec(line);
    if (match) url = match[1];
  });
  createInterface({ input: child.stderr }).on("line", (line) => errors.push(line));
  const ready = await waitForValue(
    () => {
      if (child.exitCode !== null) throw new Error(`child replica exited: ${errors.join("\n")}`);
      return url;
    },
    { timeoutMs: 15_000 },
  );
  return { url: ready, process: child };
}

describe("shared secrets", () => {
  it("pages on replica B with a cursor minted by replica A", async () => {
    const [a, b] = await Promise.all([startReplica("t-secrets:"), startReplica("t-secrets:")]);
    if (a === undefined || b === undefined) throw new Error("replicas did not start");
    const pageQuery = `query($companyId: ID!, $after: String) {
      customers(companyId: $companyId, first: 2, after: $after) { edges { node { id } } pageInfo { endCursor } }
    }`;
    interface Page {
      data?: { customers: { edges: { node: { id: string } }[]; pageInfo: { endCursor: string } } };
      errors?: unknown[];
    }
    const post = async (url: string, variables: Record<string, unknown>): Promise<Page> =>
      (await fetch(url, {
        method: "POST",
        headers: { "content-type": "application/json" },
        body: JSON.stringify({ query: pageQuery, variables }),
      }).then((response) => response.json())) as Page;

    const first = await post(a.url, { companyId: DEMO_COMPANY_ID });
    const cursor = first.data?.customers.pageInfo.endCursor;
    expect(cursor).toEqual(expect.any(String));
    const onB = await post(b.url, { companyId: DEMO_COMPANY_ID, after: cursor });
    const onA = await post(a.url, { companyId: DEMO_COMPANY_ID, after: cursor });
    expect(onB.errors).toBeUndefined();
    expect(onB.data?.customers.edges).toHaveLength(2);
    // The same page as A itself serves, and not the first one again.
    expect(onB.data?.customers.edges).toEqual(onA.data?.customers.edges);
    expect(onB.data?.customers.edges[0]?.node.id).not.toBe(first.data?.customers.edges[0]?.node.id);
  });
});

describe("request budget across replicas", () => {
  interface Answer {
    codes: string[];
    retryAfter: unknown[];
  }
  async function budgetLoad(urls: readonly string[], count: number): Promise<Answer> {
    const answers = await Promise.all(
      Array.from({ length: count }, async (_, index) => {
        const response = await fetch(urls[index % urls.length] ?? "", {
          method: "POST",
          headers: { "content-type": "application/json" },
          body: JSON.stringify({ query: PAGE, variables: { companyId: COMPANIES[index % 2] } }),
        });
        return (await response.json()) as { errors?: { extensions?: { code?: string; retryAfterSeconds?: unknown } }[] };
      }),
    );
    const errors = answers.flatMap((answer) => answer.errors ?? []);
    return {
      codes: errors.map((error) => error.extensions?.code ?? "?"),
      retryAfter: errors.map((error) => error.extensions?.retryAfterSeconds),
    };
  }

  it("shares one window: the replicas together send at most CODAT_REQUESTS_PER_MINUTE, and each its share while Redis is down", async () => {
    const env = { CODAT_REQUESTS_PER_MINUTE: "12", CODAT_QUEUE_TIMEOUT_MS: "50" };
    const replicas = await Promise.all([1, 2, 3].map(() => startReplica("t-budget:", env)));
    const urls = replicas.map((replica) => replica.url);
    simulator.resetRequests();
    const shared = await budgetLoad(urls, 30);
    expect(simulator.requests).toHaveLength(12);
    expect(shared.codes).toEqual(Array.from({ length: 18 }, () => "RATE_LIMITED"));
    for (const seconds of shared.retryAfter) expect(seconds).toEqual(expect.any(Number));

    // Redis away: each replica answers from its insurance window, floor(12 / 3) = 4 requests.
    await redis.stop();
    for (const replica of replicas) await waitFor(async () => (await fallbackGauge(replica)) === 1);
    simulator.resetRequests();
    const alone = await budgetLoad(urls, 30);
    expect(simulator.requests).toHaveLength(12);
    expect(alone.codes.filter((code) => code !== "RATE_LIMITED")).toEqual([]);
    console.info(
      `scale: budget 12/min over 3 replicas: ${30 - shared.codes.length} of 30 sent with Redis, ${30 - alone.codes.length} without`,
    );
    await redis.restart();
    await Promise.all(replicas.map((replica) => replica.stop()));
  });
});

describe("APQ across replicas", () => {
  const hashOf = (query: string): string => createHash("sha256").update(query).digest("hex");
  async function apq(
    url: string,
    query: string | undefined,
    hash: string,
  ): Promise<{ data?: unknown; errors?: { extensions?: { code?: string } }[] }> {
    const response = await fetch(url, {
      method: "POST",
      headers: { "content-type": "application/json" },
      body: JSON.stringify({
        ...(query === undefined ? {} : { query }),
        variables: { companyId: DEMO_COMPANY_ID },
        extensions: { persistedQuery: { version: 1, sha256Hash: hash } },
      }),
    });
    return (await response.json()) as { data?: unknown; errors?: { extensions?: { code?: string } }[] };
  }
  const queries = [1, 2, 3].map(
    (first) => `query Apq${first}($companyId: ID!) { customers(companyId: $companyId, first: ${first}) { totalCount } }`,
  );

  it("finds on replica B, by hash and in one batch, the queries registered on replica A", async () => {
    const [a, b] = await Promise.all([startReplica("t-apq:"), startReplica("t-apq:")]);
    if (a === undefined || b === undefined) throw new Error("replicas did not start");
    for (const query of queries) expect((await apq(a.url, query, hashOf(query))).errors).toBeUndefined();
    const client = new Redis(redis.url, { lazyConnect: true, maxRetriesPerRequest: 0 });
    await client.connect();
    // Apollo stores a registration without waiting for it.
    await waitFor(async () => (await client.keys("t-apq:*")).length === queries.length);
    // Several hash-only requests at once: the adapter reads them in one batched MGET.
    const onB = await Promise.all(queries.map((query) => apq(b.url, undefined, hashOf(query))));
    for (const answer of onB) {
      expect(answer.errors).toBeUndefined();
      expect(answer.data).toEqual({ customers: { totalCount: expect.any(Number) } });
    }
    const keys = await client.keys("t-apq:*");
    await client.quit();
    expect(keys.sort()).toEqual(queries.map((query) => `t-apq:cache::apq:${hashOf(query)}`).sort());
    await Promise.all([a.stop(), b.stop()]);
  });

  it("(the control: without REDIS_URL replica B does not know them)", async () => {
    const none = WITHOUT_REDIS;
    const [a, b] = await Promise.all([startReplica("t-apq0:", none), startReplica("t-apq0:", none)]);
    if (a === undefined || b === undefined) throw new Error("replicas did not start");
    const query = queries[0] ?? "";
    expect((await apq(a.url, query, hashOf(query))).errors).toBeUndefined();
    expect((await apq(b.url, undefined, hashOf(query))).errors?.[0]?.extensions?.code).toBe("PERSISTED_QUERY_NOT_FOUND");
    await Promise.all([a.stop(), b.stop()]);
  });

  it("serves queries sent in full while Redis is away (a miss, not an error)", async () => {
    const [a] = await Promise.all([startReplica("t-apq2:", { REDIS_FAILURE_MODE: "local" })]);
    if (a === undefined) throw new Error("replica did not start");
    await redis.stop();
    const query = queries[1] ?? "";
    const hashOnly = await apq(a.url, undefined, hashOf(query));
    expect(hashOnly.errors?.[0]?.extensions?.code).toBe("PERSISTED_QUERY_NOT_FOUND");
    expect((await apq(a.url, query, hashOf(query))).errors).toBeUndefined();
    expect(a.logs.filter((line) => line.includes("APQ cache: Redis unavailable"))).toHaveLength(1);
    await redis.restart();
    await a.stop();
  });
});
