/**
 * The push status bus across replicas (REDIS_URL) on a real redis-server: a signal published on replica A reaches
 * the subscribers of replica B, Redis going away and coming back does not break it, and with subscribers on both
 * replicas only one of them polls Codat (the poll lease); the other hears of the change from its signal.
 */
import { Redis } from "ioredis";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { DEMO_COMPANY_ID, DEMO_CONNECTION_ID, ManualClock, startSimulator, type Simulator } from "codat-simulator";
import { createGateway, type Gateway } from "../../src/app.js";
import { parseConfig } from "../../src/config.js";
import { createLogger } from "../../src/observability/logger.js";
import type { PushOperationSignal } from "../../src/push-status/bus.js";
import { RedisPushStatusBus } from "../../src/redis/push-bus.js";
import { RedisHub } from "../../src/redis/hub.js";
import { startRedis, type TestRedis } from "../helpers/redis.js";
import { waitFor, waitForValue } from "../helpers/wait.js";
import { CREATE, PUSH_UPDATED, statuses, subscribe, wsClient, type CreateResult } from "./support.js";

const KEY = "11111111-1111-4111-8111-111111111111";
const silent = { warn: () => undefined, info: () => undefined };

let redis: TestRedis;
beforeAll(async () => {
  redis = await startRedis();
});
const hubs: RedisHub[] = [];
afterAll(async () => {
  await Promise.all(hubs.map((hub) => hub.close()));
  await redis?.stop();
});

function busSettings(prefix: string) {
  return { url: redis.url, commandTimeoutMs: 200, connectTimeoutMs: 2_000, keyPrefix: prefix };
}

/** A bus on a Redis hub of its own, as each replica has. */
function busOn(settings: ReturnType<typeof busSettings>): RedisPushStatusBus {
  const hub = new RedisHub({ failureMode: "local", expectedReplicas: 2, leaseMs: 10_000, retryIntervalMs: 20, ...settings }, silent);
  hubs.push(hub);
  return new RedisPushStatusBus(hub);
}

describe("RedisPushStatusBus", () => {
  it("carries a signal from replica A to a subscriber on replica B, once each, and again after Redis restarts", async () => {
    const a = busOn(busSettings("bus-test:"));
    const b = busOn(busSettings("bus-test:"));
    await Promise.all([a.start(), b.start()]);
    const heardOnA: PushOperationSignal[] = [];
    const heardOnB: PushOperationSignal[] = [];
    const ref = { companyId: DEMO_COMPANY_ID, pushOperationKey: KEY };
    const leaveA = a.subscribe(ref, (signal) => heardOnA.push(signal));
    const leaveB = b.subscribe({ companyId: DEMO_COMPANY_ID.toUpperCase(), pushOperationKey: KEY }, (signal) => heardOnB.push(signal));
    // SUBSCRIBE is asynchronous: publish until B hears (each publish reaches A's own listener at once).
    let published = 0;
    await waitFor(async () => {
      await a.publish({ ...ref, source: "webhook" });
      published++;
      return heardOnB.length > 0;
    });
    expect(heardOnB[0]).toEqual({ ...ref, source: "webhook" });
    // A hears its own signals once each (locally, not again through Redis).
    expect(heardOnA).toHaveLength(published);
    await b.publish({ ...ref, source: "poll", status: "Success" });
    // B's own signal reaches B once (locally), not a second time through Redis.
    await waitFor(() => heardOnA.some((s) => s.source === "poll"));
    expect(heardOnB.filter((s) => s.source === "poll")).toHaveLength(1);

    await redis.restart();
    const afterRestart = heardOnB.length;
    await waitFor(
      async () => {
        await a.publish({ ...ref, source: "webhook", status: "Failed" });
        return heardOnB.slice(afterRestart).some((s) => s.status === "Failed");
      },
      { timeoutMs: 10_000, intervalMs: 50 },
    );
    leaveA();
    leaveB();
    await Promise.all([a.close(), b.close()]);
  });

  it("never throws while Redis is away: signals still reach this replica", async () => {
    const bus = busOn({ ...busSettings("bus-down:"), url: "redis://127.0.0.1:1" });
    await bus.start();
    const heard: PushOperationSignal[] = [];
    const leave = bus.subscribe({ companyId: DEMO_COMPANY_ID, pushOperationKey: KEY }, (signal) => heard.push(signal));
    await bus.publish({ companyId: DEMO_COMPANY_ID, pushOperationKey: KEY, source: "webhook" });
    expect(heard).toHaveLength(1);
    expect(await bus.pollLease.acquire("x", 1_000)).toBe(true);
    leave();
    await bus.close();
  });
});

describe("two gateways on one Redis", () => {
  let simulator: Simulator;
  const simulatorClock = new ManualClock();
  const replicas: { gateway: Gateway; url: string; clock: ManualClock }[] = [];
  beforeAll(async () => {
    simulator = await startSimulator({ clock: simulatorClock, pushDelayMs: 300 });
    for (let i = 0; i < 2; i++) {
      const clock = new ManualClock(Date.now());
      const config = parseConfig({
        CODAT_BASE_URL: simulator.url,
        PORT: "0",
        HOST: "127.0.0.1",
        REDIS_URL: redis.url,
        REDIS_KEY_PREFIX: "two-gateways:",
        REDIS_COMMAND_TIMEOUT_MS: "200",
        SIGNING_SECRET: "s".repeat(40),
        // Long (free on a manual clock): a lease, held for twice that in real time, never expires during a test.
        PUSH_STATUS_POLL_INTERVAL_MS: "10000",
      });
      const gateway = createGateway(config, {
        stopGracePeriodMs: 1_000,
        logger: createLogger({ level: "silent", pretty: false, secrets: [] }),
        pushStatusClock: clock,
      });
      replicas.push({ gateway, url: await gateway.listen(), clock });
    }
  });
  afterAll(async () => {
    for (const replica of replicas) await replica.gateway.stop();
    await simulator?.close();
  });

  const reads = (key: string) => simulator.requests.filter((r) => r.method === "GET" && r.path.endsWith(`/push/${key}`)).length;

  async function createPending(): Promise<string> {
    const response = await fetch(replicas[0]!.url, {
      method: "POST",
      headers: { "content-type": "application/json" },
      body: JSON.stringify({
        query: CREATE,
        variables: { input: { companyId: DEMO_COMPANY_ID, connectionId: DEMO_CONNECTION_ID, customer: { customerName: "Replicated" } } },
      }),
    });
    const body = (await response.json()) as { data: CreateResult };
    return body.data.createCustomer.pushOperation.pushOperationKey;
  }

  /** Advances a replica's clock to its next poll (its timer is set once its previous read's answer is in). */
  async function toNextPoll(clock: ManualClock): Promise<void> {
    clock.advance(await waitForValue(() => clock.pendingDelays().find((ms) => ms <= 60_000)));
  }

  /** Subscribes on both replicas and waits for each subscription's PENDING. */
  async function subscribeBoth(key: string) {
    const clients = replicas.map((r) => wsClient(r.url.replace(/^http/, "ws")));
    const received = clients.map((client) => subscribe(client, PUSH_UPDATED, { companyId: DEMO_COMPANY_ID, key }));
    await waitFor(() => received.every((r) => r.results.length === 1));
    return { clients, received };
  }

  it("tells B's subscribers of a webhook signal published on A", async () => {
    const key = await createPending();
    const { clients, received } = await subscribeBoth(key);
    simulatorClock.advance(300);
    // Only A hears the webhook; B re-reads because of A's signal through Redis (its clock never moves).
    await waitFor(async () => {
      await replicas[0]!.gateway.pushStatus.publish({ companyId: DEMO_COMPANY_ID, pushOperationKey: key, source: "webhook" });
      return received[1]!.completed;
    });
    await Promise.all(received.map((r) => r.done));
    expect(received.map((r) => statuses(r))).toEqual([
      ["PENDING", "SUCCESS"],
      ["PENDING", "SUCCESS"],
    ]);
    for (const client of clients) await client.dispose();
  });

  it("lets one replica poll an operation watched on both; the other re-reads on its signal", async () => {
    const key = await createPending();
    const { clients, received } = await subscribeBoth(key);
    expect(reads(key)).toBe(2);
    const [a, b] = replicas as [(typeof replicas)[number], (typeof replicas)[number]];
    for (let tick = 0; tick < 3; tick++) {
      const before = reads(key);
      await toNextPoll(a.clock);
      await waitFor(() => reads(key) === before + 1);
      // B's turn: the lease is A's, so B only schedules its next attempt.
      const bTimers = b.clock.pending;
      await toNextPoll(b.clock);
      await waitFor(() => b.clock.pending === bTimers);
      expect(reads(key)).toBe(before + 1);
    }
    const beforeEnd = reads(key);
    simulatorClock.advance(300);
    await toNextPoll(a.clock);
    await Promise.all(received.map((r) => r.done));
    expect(received.map((r) => statuses(r).at(-1))).toEqual(["SUCCESS", "SUCCESS"]);
    // A's poll, then B's one re-read on A's signal.
    expect(reads(key)).toBe(beforeEnd + 2);
    for (const client of clients) await client.dispose();
  });

  it("hands the polling over when the polling replica's subscribers leave", async () => {
    const key = await createPending();
    const { clients, received } = await subscribeBoth(key);
    const [a, b] = replicas as [(typeof replicas)[number], (typeof replicas)[number]];
    const before = reads(key);
    await toNextPoll(a.clock);
    await waitFor(() => reads(key) === before + 1);
    received[0]!.unsubscribe();
    await waitFor(() => a.gateway.pushWatcher.activeWatches === 0);
    // A gives its lease back (rather than leaving it to expire), so B's next poll reads.
    const probe = new Redis(redis.url);
    await waitFor(async () => (await probe.exists(`two-gateways:push-poll:${DEMO_COMPANY_ID}:${key}`)) === 0);
    probe.disconnect();
    const now = reads(key);
    await toNextPoll(b.clock);
    await waitFor(() => reads(key) === now + 1);
    simulatorClock.advance(300);
    await toNextPoll(b.clock);
    await received[1]!.done;
    expect(statuses(received[1]!).at(-1)).toBe("SUCCESS");
    for (const client of clients) await client.dispose();
  });
});
