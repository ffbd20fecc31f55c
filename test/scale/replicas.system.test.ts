/**
 * Several replicas sharing Codat's per-company limit through a real Redis (REDIS_URL): three gateways against one
 * simulator that would accept far more than 10 requests per company, so the simulator's count of requests in
 * flight at once is what the gateways let through together. Every bound asserted comes from the configuration
 * (the cap, the fallback share, the lease); whatever the machine's speed, a wait is on a condition.
 */
import { spawn, type ChildProcess } from "node:child_process";
import { createHash } from "node:crypto";
import { createInterface } from "node:readline";
import { Writable } from "node:stream";
import { Redis } from "ioredis";
import { afterAll, afterEach, beforeAll, describe, expect, it } from "vitest";
import { DEMO_COMPANY_ID, SECOND_COMPANY_ID, startSimulator, type Simulator } from "codat-simulator";
import { createGateway, type Gateway } from "../../src/app.js";
import { bucketRate } from "../../src/codat/fair-budget.js";
import { parseConfig } from "../../src/config.js";
import { createLogger } from "../../src/observability/logger.js";
import { freePort, pings, startRedis, type TestRedis } from "../helpers/redis.js";
import { startDelayProxy } from "../helpers/tcp-delay-proxy.js";
import { waitFor, waitForValue } from "../helpers/wait.js";

const SECRET = "s".repeat(40);
/** The in-process replicas' lease: long, so no pause of this busy test process outlives it. */
const LEASE_MS = 10_000;
/** The killed child replica's lease: how soon its permits must come back. */
const CHILD_LEASE_MS = 1_000;
const COMMAND_TIMEOUT_MS = 200;
/**
 * The lease where a test goes through a fallback, which grants nothing for a lease after Redis last answered:
 * short, so calls do not wait long for it (long enough that no pause of this process outlives it in between).
 */
const FALLBACK_LEASE_MS = 3_000;
const PAGE = `query($companyId: ID!) { customers(companyId: $companyId, first: 3) { edges { node { id } } } }`;
const COMPANIES = [DEMO_COMPANY_ID, SECOND_COMPANY_ID];

let redis: TestRedis;
let simulator: Simulator;
let started: Replica[] = [];
const children: { stop(): Promise<void> }[] = [];
const clients: Redis[] = [];

beforeAll(async () => {
  redis = await startRedis();
  simulator = await startSimulator({ latencyMs: 25, maxConcurrentPerCompany: 1_000 });
});

// A test that failed half-way leaves neither replicas running nor Redis stopped for the next one.
afterEach(async () => {
  // (One whose listen() failed cannot stop cleanly: that failure is its test's to report.)
  for (const replica of started.splice(0).reverse()) await replica.stop().catch(() => undefined);
  for (const client of clients.splice(0)) client.disconnect();
  simulator?.clearFaults();
  if (redis !== undefined && !(await pings(redis.port))) await redis.restart();
});

afterAll(async () => {
  for (const child of children.splice(0)) await child.stop();
  await simulator?.close();
  await redis?.stop();
});

interface Replica {
  gateway: Gateway;
  url: string;
  logs: string[];
  stop(): Promise<void>;
}

function replicaEnv(prefix: string, extra: Record<string, string> = {}): Record<string, string> {
  return {
    CODAT_BASE_URL: simulator.url,
    PORT: "0",
    HOST: "127.0.0.1",
    REDIS_URL: redis.url,
    REDIS_KEY_PREFIX: prefix,
    REDIS_LEASE_MS: String(LEASE_MS),
    REDIS_COMMAND_TIMEOUT_MS: String(COMMAND_TIMEOUT_MS),
    REDIS_CONNECT_TIMEOUT_MS: "10000",
    SIGNING_SECRET: SECRET,
    CODAT_MAX_QUEUE_PER_COMPANY: "1000",
    // These tests measure what reaches Codat: the same page asked for by many operations must really be read
    // each time (the read cache's own replica test is test/cache/replicas.system.test.ts).
    CACHE_ENABLED: "false",
    ...extra,
  };
}

/** replicaEnv's Redis settings unset (set without REDIS_URL, they are refused). */
const WITHOUT_REDIS = {
  REDIS_URL: "",
  SIGNING_SECRET: "",
  REDIS_KEY_PREFIX: "",
  REDIS_LEASE_MS: "",
  REDIS_COMMAND_TIMEOUT_MS: "",
  REDIS_CONNECT_TIMEOUT_MS: "",
};

/** The settings the replicas run with, and the bounds that follow from them. */
const config = (): { cap: number; fallbackCap: number; replicas: number } => {
  const parsed = parseConfig(replicaEnv("t:"));
  const replicas = parsed.redis?.expectedReplicas ?? 1;
  return {
    cap: parsed.codatMaxConcurrencyPerCompany,
    fallbackCap: Math.max(1, Math.floor(parsed.codatMaxConcurrencyPerCompany / replicas)),
    replicas,
  };
};

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
  let stopped: Promise<void> | undefined;
  const replica: Replica = { gateway, url: "", logs, stop: () => (stopped ??= gateway.stop()) };
  started.push(replica);
  replica.url = await gateway.listen();
  return replica;
}

async function stopAll(replicas: readonly Replica[]): Promise<void> {
  await Promise.all(replicas.map((replica) => replica.stop()));
  started = started.filter((replica) => !replicas.includes(replica));
}

/** One operation: ok, or the error codes it was answered with ("network" when the gateway went away first). */
async function query(url: string, companyId: string, signal?: AbortSignal): Promise<{ ok: boolean; codes: string[] }> {
  try {
    const response = await fetch(url, {
      signal,
      method: "POST",
      headers: { "content-type": "application/json" },
      body: JSON.stringify({ query: PAGE, variables: { companyId } }),
    });
    const body = (await response.json()) as { errors?: { extensions?: { code?: string } }[] };
    const codes = (body.errors ?? []).map((error) => error.extensions?.code ?? "?");
    return { ok: response.status === 200 && codes.length === 0, codes };
  } catch {
    return { ok: false, codes: ["network"] };
  }
}

/** `count` operations spread round-robin over the replicas and `companies`, all at once (until `signal` aborts). */
async function load(
  urls: readonly string[],
  count: number,
  companies = COMPANIES,
  signal?: AbortSignal,
): Promise<{ ok: number; codes: string[] }> {
  const results = await Promise.all(
    Array.from({ length: count }, (_, index) =>
      query(urls[index % urls.length] ?? "", companies[index % companies.length] ?? DEMO_COMPANY_ID, signal),
    ),
  );
  return { ok: results.filter((result) => result.ok).length, codes: results.flatMap((result) => result.codes) };
}

async function fallbackGauge(replica: Replica): Promise<number | undefined> {
  const text = await fetch(new URL("/metrics", replica.url)).then((response) => response.text());
  const line = text.split("\n").find((entry) => entry.startsWith("codat_gateway_redis_fallback "));
  return line === undefined ? undefined : Number(line.split(" ")[1]);
}

function maxInFlight(on: Simulator = simulator): number {
  return Math.max(...COMPANIES.map((company) => on.maxInFlight(company)));
}

/** A connection to the test Redis, closed after the test whatever happens. */
async function redisClient(): Promise<Redis> {
  const client = new Redis(redis.url, { lazyConnect: true, maxRetriesPerRequest: 0 });
  client.on("error", () => undefined);
  clients.push(client);
  await client.connect();
  return client;
}

const requestsTo = (company: string, on: Simulator = simulator): number =>
  on.requests.filter((request) => request.path.includes(company)).length;

/** Redis script calls so far (takes, renewals, gives): something to wait for instead of time. */
async function scriptCalls(client: Redis): Promise<number> {
  const stats = await client.info("commandstats");
  return [...stats.matchAll(/^cmdstat_(?:evalsha|eval):calls=(\d+)/gm)].reduce((sum, match) => sum + Number(match[1]), 0);
}

/**
 * Ends operations held by a hang fault: the clients go away, so the gateways abort their Codat calls (a hung
 * one closes its connection), and none lingers to reach the simulator in a later test.
 */
async function abandon(controller: AbortController, running: Promise<unknown>, hung: number): Promise<void> {
  controller.abort();
  await running;
  const held = simulator.requests.filter((request) => request.path.includes(DEMO_COMPANY_ID)).slice(0, hung);
  await waitFor(() => held.every((request) => request.aborted === true), { timeoutMs: 30_000 });
}

describe("three replicas, one Redis", () => {
  it("keep every company at 10 in flight together under 200 concurrent operations", async () => {
    const { cap } = config();
    const replicas = await Promise.all([1, 2, 3].map(() => startReplica("t1:")));
    simulator.resetMaxInFlight();
    // Each company's first 20 requests are held 300 ms, so permits are held long while the others queue.
    for (const company of COMPANIES) simulator.injectFault({ kind: "delay", ms: 300, times: 20, path: new RegExp(company) });
    const result = await load(
      replicas.map((replica) => replica.url),
      200,
    );
    simulator.clearFaults();
    expect(result.codes).toEqual([]);
    expect(result.ok).toBe(200);
    for (const company of COMPANIES) expect(simulator.maxInFlight(company)).toBeLessThanOrEqual(cap);
    console.info(`scale: 3 replicas, 200 operations: max in flight ${COMPANIES.map((c) => simulator.maxInFlight(c)).join("/")}`);
    for (const replica of replicas) expect(await fallbackGauge(replica)).toBe(0);
    await stopAll(replicas);
  });

  it("reach the cap together (they share it, not serialise) and send no more while all of it is held", async () => {
    const { cap } = config();
    const prefix = "t-reach:";
    const replicas = await Promise.all([1, 2, 3].map(() => startReplica(prefix)));
    const client = await redisClient();
    simulator.resetRequests();
    // The first `cap` requests to the company never answer: their permits stay held until the clients go away.
    simulator.injectFault({ kind: "hang", times: cap, path: new RegExp(DEMO_COMPANY_ID) });
    const controller = new AbortController();
    const running = load(
      replicas.map((replica) => replica.url),
      3 * cap,
      [DEMO_COMPANY_ID],
      controller.signal,
    );
    const permits = (): Promise<number> => client.zcard(`${prefix}{${DEMO_COMPANY_ID}}:calls`);
    // Each hung request took its permit before it was sent: once all have arrived, all the permits are held.
    await waitFor(() => requestsTo(DEMO_COMPANY_ID) >= cap, { timeoutMs: 30_000 });
    expect(await permits()).toBe(cap);
    // The others keep asking Redis (every REDIS_RETRY_INTERVAL_MS) and get nothing while the cap is held.
    const calls = await scriptCalls(client);
    await waitFor(async () => (await scriptCalls(client)) >= calls + 30, { timeoutMs: 30_000 });
    expect(requestsTo(DEMO_COMPANY_ID)).toBe(cap);
    expect(await permits()).toBe(cap);
    await client.quit();
    await abandon(controller, running, cap);
    await stopAll(replicas);
  });

  it("(the control: without REDIS_URL the same three replicas go beyond 10)", async () => {
    const { cap } = config();
    const replicas = await Promise.all([1, 2, 3].map(() => startReplica("t0:", WITHOUT_REDIS)));
    simulator.resetRequests();
    // None of the company's first 3 × cap requests answers: each replica fills its own `cap` slots with them.
    simulator.injectFault({ kind: "hang", times: 3 * cap, path: new RegExp(DEMO_COMPANY_ID) });
    const controller = new AbortController();
    const running = load(
      replicas.map((replica) => replica.url),
      6 * cap,
      [DEMO_COMPANY_ID],
      controller.signal,
    );
    await waitFor(() => requestsTo(DEMO_COMPANY_ID) > cap, { timeoutMs: 30_000 });
    console.info(`scale: 3 replicas without Redis: ${requestsTo(DEMO_COMPANY_ID)} requests to one company in flight at once`);
    await abandon(controller, running, requestsTo(DEMO_COMPANY_ID));
    await stopAll(replicas);
  });

  it("gets a killed replica's permits back within its lease", async () => {
    const { cap } = config();
    const prefix = "t2:";
    const child = await startChildReplica(prefix, { REDIS_LEASE_MS: String(CHILD_LEASE_MS) });
    const [second, third] = await Promise.all([startReplica(prefix), startReplica(prefix)]);
    if (second === undefined || third === undefined) throw new Error("replicas did not start");
    // The child takes all of a company's permits (its requests never answer), then dies without giving them back.
    simulator.injectFault({ kind: "hang", times: cap });
    const doomed = Array.from({ length: cap }, () => query(child.url, DEMO_COMPANY_ID));
    const client = await redisClient();
    const key = `${prefix}{${DEMO_COMPANY_ID}}:calls`;
    await waitFor(async () => (await client.zcard(key)) === cap, { timeoutMs: 30_000 });
    child.process.kill("SIGKILL");
    await Promise.all(doomed);
    // Redis's own clock: no lease the child set runs beyond its lease from now.
    const [seconds, micros] = await client.time();
    const now = Number(seconds) * 1000 + Math.floor(Number(micros) / 1000);
    const scores = (await client.zrange(key, 0, -1, "WITHSCORES")).filter((_, index) => index % 2 === 1).map(Number);
    expect(scores).toHaveLength(cap);
    for (const expiry of scores) expect(expiry).toBeLessThanOrEqual(now + CHILD_LEASE_MS);
    simulator.clearFaults();
    simulator.resetMaxInFlight();
    // The others wait for the dead replica's leases to run out, then serve.
    const first = await query(second.url, DEMO_COMPANY_ID);
    expect(first.codes).toEqual([]);
    await client.quit();
    const result = await load([second.url, third.url], 60);
    expect(result.codes).toEqual([]);
    expect(maxInFlight()).toBeLessThanOrEqual(cap);
    await stopAll([second, third]);
  }, 120_000);

  it("keeps answering on the fallback share while Redis is down, and shares again when it is back, within the cap throughout", async () => {
    const { cap, fallbackCap, replicas: expected } = config();
    const replicas = await Promise.all([1, 2, 3].map(() => startReplica("t3:", { REDIS_LEASE_MS: String(FALLBACK_LEASE_MS) })));
    const urls = replicas.map((replica) => replica.url);
    simulator.resetMaxInFlight();
    simulator.resetRequests();
    const running = load(urls, 150);
    await waitFor(() => simulator.requests.length > 30, { timeoutMs: 30_000 });
    await redis.stop();
    for (const replica of replicas) await waitFor(async () => (await fallbackGauge(replica)) === 1, { timeoutMs: 30_000 });
    const during = await running;
    expect(during.codes).toEqual([]);
    // Down: each replica takes at most floor(cap / REDIS_EXPECTED_REPLICAS) of a company's slots.
    const before = maxInFlight();
    simulator.resetMaxInFlight();
    const down = await load(urls, 90);
    expect(down.codes).toEqual([]);
    const downMax = maxInFlight();
    expect(downMax).toBeLessThanOrEqual(expected * fallbackCap);
    for (const replica of replicas) {
      // The hub's one outage line (the features write none of their own).
      expect(replica.logs.filter((line) => line.includes("Redis down ("))).toHaveLength(1);
      expect(replica.logs.filter((line) => /Redis (unreachable|unavailable)/.test(line))).toEqual([]);
    }
    await redis.restart();
    for (const replica of replicas) await waitFor(async () => (await fallbackGauge(replica)) === 0, { timeoutMs: 30_000 });
    const back = await load(urls, 120);
    expect(back.codes).toEqual([]);
    for (const replica of replicas) expect(replica.logs.some((line) => line.includes("Redis back: "))).toBe(true);
    const backMax = maxInFlight();
    for (const max of [before, downMax, backMax]) expect(max).toBeLessThanOrEqual(cap);
    console.info(
      `scale: Redis up → down → back: max in flight ${before} / ${downMax} / ${backMax} (cap ${cap}, fallback share ${fallbackCap})`,
    );
    await stopAll(replicas);
  });
});

describe("three replicas, Redis slow (a delaying proxy in front of it)", () => {
  it("keep a company within the cap while Redis answers slowly, more slowly than the command timeout, and fast again", async () => {
    const { cap } = config();
    const prefix = "t-slow:";
    // Requests held 100 ms each at the simulator (counted in flight all that time): a slot granted twice shows.
    const slowCodat = await startSimulator({ latencyMs: 100, maxConcurrentPerCompany: 1_000 });
    const proxy = await startDelayProxy(redis.port, 0);
    try {
      const env = { CODAT_BASE_URL: slowCodat.url, REDIS_URL: `redis://127.0.0.1:${proxy.port}` };
      const replicas = await Promise.all([1, 2, 3].map(() => startReplica(prefix, env)));
      const urls = replicas.map((replica) => replica.url);
      const phases: string[] = [];
      const burst = async (): Promise<{ ok: number; codes: string[] }> => load(urls, 6 * cap, [DEMO_COMPANY_ID]);
      /** Runs a burst at `delayMs` each way, changing to `thenMs` once `served` more requests reached the simulator. */
      const phase = async (delayMs: number, thenMs: number, served: number): Promise<{ ok: number; codes: string[] }> => {
        proxy.setDelay(delayMs);
        const from = requestsTo(DEMO_COMPANY_ID, slowCodat);
        const running = burst();
        await waitFor(() => requestsTo(DEMO_COMPANY_ID, slowCodat) >= from + served, { timeoutMs: 30_000 });
        // Slower than the command timeout: every Redis command times out; until `chunks` more crossed the proxy.
        proxy.setDelay(thenMs);
        const chunks = proxy.forwarded;
        await waitFor(() => proxy.forwarded >= chunks + 30, { timeoutMs: 30_000 });
        proxy.setDelay(delayMs);
        const result = await running;
        phases.push(`${delayMs}→${thenMs}→${delayMs} ms: ${result.ok} ok, max ${slowCodat.maxInFlight(DEMO_COMPANY_ID)}`);
        return result;
      };
      // Round trips of 100 ms, 160 ms and 0 ms (all within the 200 ms command timeout), each with a spell of 300 ms.
      const results = [await phase(50, 150, cap), await phase(80, 150, cap), await phase(0, 150, cap)];
      proxy.setDelay(0);
      for (const result of results) {
        expect(result.codes.filter((code) => code !== "RATE_LIMITED")).toEqual([]);
        expect(result.ok).toBeGreaterThan(0);
      }
      expect(slowCodat.maxInFlight(DEMO_COMPANY_ID)).toBeLessThanOrEqual(cap);
      // Slow is not down: no replica fell back (the slow spells are far shorter than a lease).
      for (const replica of replicas) {
        expect(await fallbackGauge(replica)).toBe(0);
        expect(replica.logs.filter((line) => line.includes("Redis down ("))).toEqual([]);
      }
      // Every permit comes back, those whose answers timed out too.
      const client = await redisClient();
      await waitFor(async () => (await client.zcard(`${prefix}{${DEMO_COMPANY_ID}}:calls`)) === 0, { timeoutMs: 30_000 });
      await client.quit();
      console.info(`scale: Redis slow, 3 replicas, cap ${cap}: ${phases.join("; ")}`);
      await stopAll(replicas);
    } finally {
      await proxy.close();
      await slowCodat.close();
    }
  }, 120_000);

  it("start while Redis answers more slowly than the command timeout, once it answers in time (within REDIS_CONNECT_TIMEOUT_MS)", async () => {
    const proxy = await startDelayProxy(redis.port, 150);
    try {
      let listening = false;
      const logs: string[] = [];
      const destination = new Writable({
        write(chunk: Buffer, _encoding, done) {
          logs.push(...chunk.toString("utf8").split("\n").filter(Boolean));
          done();
        },
      });
      const gateway = createGateway(parseConfig(replicaEnv("t-slow-start:", { REDIS_URL: `redis://127.0.0.1:${proxy.port}` })), {
        stopGracePeriodMs: 1_000,
        logger: createLogger({ level: "info", pretty: false, secrets: [], destination }),
      });
      let stopped: Promise<void> | undefined;
      const replica: Replica = { gateway, url: "", logs, stop: () => (stopped ??= gateway.stop()) };
      started.push(replica);
      let failed: unknown;
      const listened = gateway.listen().then(
        (url) => {
          listening = true;
          replica.url = url;
        },
        (error: unknown) => (failed = error),
      );
      // Round trips of 300 ms: the connection's ready check times out however often it is tried.
      await waitFor(() => proxy.forwarded >= 20 || failed !== undefined, { timeoutMs: 30_000 });
      expect(failed).toBeUndefined();
      expect(listening).toBe(false);
      proxy.setDelay(0);
      await listened;
      expect(failed).toBeUndefined();
      expect(await fallbackGauge(replica)).toBe(0);
      expect((await query(replica.url, DEMO_COMPANY_ID)).codes).toEqual([]);
      await stopAll([replica]);
    } finally {
      await proxy.close();
    }
  });
});

describe("startup without Redis", () => {
  it("fails with one line naming REDIS_URL and not its password, or starts on the fallback cap with REDIS_FAILURE_MODE=local", async () => {
    const url = `redis://:hunter2-password@127.0.0.1:${await freePort()}`;
    // Startup waits REDIS_CONNECT_TIMEOUT_MS for Redis; the refusal, at once, is what the message names.
    const failing = createGateway(parseConfig({ ...replicaEnv("t4:"), REDIS_URL: url, REDIS_CONNECT_TIMEOUT_MS: "3000" }), {
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

    const { fallbackCap } = config();
    const local = await startReplica("t4:", {
      REDIS_URL: url,
      REDIS_FAILURE_MODE: "local",
      REDIS_CONNECT_TIMEOUT_MS: "3000",
      REDIS_LEASE_MS: String(FALLBACK_LEASE_MS),
    });
    expect(await fallbackGauge(local)).toBe(1);
    simulator.resetMaxInFlight();
    const result = await load([local.url], 20);
    expect(result.codes).toEqual([]);
    expect(simulator.maxInFlight(DEMO_COMPANY_ID)).toBeLessThanOrEqual(fallbackCap);
    expect(local.logs.filter((line) => line.includes("REDIS_FAILURE_MODE=local"))).toHaveLength(1);
    await local.stop();
  });
});

describe("main.ts without Redis", () => {
  it("exits 1 with one line on stderr naming REDIS_URL, never the password", async () => {
    const url = `redis://:hunter2-password@127.0.0.1:${await freePort()}`;
    const child = spawn(process.execPath, ["--import", "tsx", "src/main.ts"], {
      env: { ...process.env, ...replicaEnv("t5:"), REDIS_URL: url, REDIS_CONNECT_TIMEOUT_MS: "3000", LOG_LEVEL: "silent" },
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
async function startChildReplica(prefix: string, extra: Record<string, string> = {}): Promise<ChildReplica> {
  const child = spawn(process.execPath, ["--import", "tsx", "src/main.ts"], {
    env: {
      ...process.env,
      ...replicaEnv(prefix, extra),
      LOG_LEVEL: "info",
      LOG_PRETTY: "false",
      NODE_ENV: "test",
      METRICS_ENABLED: "false",
    },
    stdio: ["ignore", "pipe", "pipe"],
  });
  children.push({
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
    // Compiling main.ts on a busy machine: generous, as it is bound to come.
    { timeoutMs: 60_000 },
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

  it("shares one bucket: the replicas together send at most CODAT_REQUESTS_PER_MINUTE, and each its share while Redis is down", async () => {
    // A wait limit far shorter than the window's minute (a spent window refuses at once) but longer than the
    // fallback's first lease, when the company slots grant nothing.
    const env = { CODAT_REQUESTS_PER_MINUTE: "12", CODAT_QUEUE_TIMEOUT_MS: "10000", REDIS_LEASE_MS: String(FALLBACK_LEASE_MS) };
    const replicas = await Promise.all([1, 2, 3].map(() => startReplica("t-budget:", env)));
    const urls = replicas.map((replica) => replica.url);
    simulator.resetRequests();
    const shared = await budgetLoad(urls, 30);
    // At most the budget (fewer only if Redis answered none of a call's asks within its wait); the rest RATE_LIMITED.
    const sent = simulator.requests.length;
    expect(sent).toBeLessThanOrEqual(12);
    expect(shared.codes).toEqual(Array.from({ length: 30 - sent }, () => "RATE_LIMITED"));
    for (const seconds of shared.retryAfter) expect(seconds).toEqual(expect.any(Number));

    // Redis away: each replica answers from its insurance bucket, floor(12 / 3) = 4 a minute: its burst at once,
    // and no more within the wait (the next token is further away than the 10 s wait: refused at once).
    await redis.stop();
    for (const replica of replicas) await waitFor(async () => (await fallbackGauge(replica)) === 1, { timeoutMs: 30_000 });
    simulator.resetRequests();
    const alone = await budgetLoad(urls, 30);
    expect(simulator.requests).toHaveLength(3 * bucketRate(Math.floor(12 / 3)).burst);
    expect(alone.codes.filter((code) => code !== "RATE_LIMITED")).toEqual([]);
    console.info(`scale: budget 12/min over 3 replicas: ${sent} of 30 sent with Redis, ${30 - alone.codes.length} without`);
    await redis.restart();
    await stopAll(replicas);
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
    // The cache's reads and writes give up after the command timeout (a miss, a registration lost): a long one
    // here, so a busy machine delays them rather than drops them.
    const slowOk = { REDIS_COMMAND_TIMEOUT_MS: String(LEASE_MS / 2) };
    const [a, b] = await Promise.all([startReplica("t-apq:", slowOk), startReplica("t-apq:", slowOk)]);
    if (a === undefined || b === undefined) throw new Error("replicas did not start");
    for (const query of queries) expect((await apq(a.url, query, hashOf(query))).errors).toBeUndefined();
    const client = await redisClient();
    // Apollo stores a registration without waiting for it.
    await waitFor(async () => (await client.keys("t-apq:*")).length === queries.length, { timeoutMs: 30_000 });
    // Several hash-only requests at once: the adapter reads them in one batched MGET.
    const onB = await waitForValue(
      async () => {
        const answers = await Promise.all(queries.map((query) => apq(b.url, undefined, hashOf(query))));
        return answers.every((answer) => answer.errors === undefined) ? answers : undefined;
      },
      { timeoutMs: 30_000 },
    );
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
    const [a] = await Promise.all([startReplica("t-apq2:", { REDIS_FAILURE_MODE: "local", REDIS_LEASE_MS: String(FALLBACK_LEASE_MS) })]);
    if (a === undefined) throw new Error("replica did not start");
    await redis.stop();
    const query = queries[1] ?? "";
    const hashOnly = await apq(a.url, undefined, hashOf(query));
    expect(hashOnly.errors?.[0]?.extensions?.code).toBe("PERSISTED_QUERY_NOT_FOUND");
    expect((await apq(a.url, query, hashOf(query))).errors).toBeUndefined();
    // The hub's one outage line names the APQ misses; the cache writes none of its own.
    await waitFor(() => a.logs.some((line) => line.includes("Redis down (")));
    expect(a.logs.filter((line) => line.includes("Redis down ("))).toHaveLength(1);
    expect(a.logs.filter((line) => line.includes("Redis down (") && line.includes("APQ lookups miss"))).toHaveLength(1);
    expect(a.logs.filter((line) => line.includes("APQ cache:"))).toEqual([]);
    await redis.restart();
    await a.stop();
  });
});
