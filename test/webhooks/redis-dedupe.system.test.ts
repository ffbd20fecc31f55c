/**
 * Webhook dedupe across replicas through a real Redis (REDIS_URL): Codat delivers to one load-balanced URL, so
 * a redelivery may reach another replica than the first delivery did.
 */
import { randomUUID } from "node:crypto";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { startSimulator, type Simulator } from "codat-simulator";
import { createGateway, type Gateway } from "../../src/app.js";
import { parseConfig } from "../../src/config.js";
import { createLogger } from "../../src/observability/logger.js";
import type { PushOperationSignal } from "../../src/push-status/bus.js";
import { memoryDestination, type MemoryDestination } from "../helpers/logs.js";
import { startRedis, type TestRedis } from "../helpers/redis.js";
import { waitFor } from "../helpers/wait.js";
import { newWebhookSecret, sendWebhook, webhookCount, writeEvent } from "./helpers.js";

const SECRET = newWebhookSecret();
let redis: TestRedis;
let simulator: Simulator;
const replicas: Replica[] = [];

interface Replica {
  gateway: Gateway;
  webhookUrl: string;
  logs: MemoryDestination;
}

async function startReplica(prefix: string): Promise<Replica> {
  const logs = memoryDestination();
  const config = parseConfig({
    CODAT_BASE_URL: simulator.url,
    PORT: "0",
    HOST: "127.0.0.1",
    REDIS_URL: redis.url,
    REDIS_KEY_PREFIX: prefix,
    REDIS_COMMAND_TIMEOUT_MS: "200",
    REDIS_CONNECT_TIMEOUT_MS: "2000",
    REDIS_FAILURE_MODE: "local",
    SIGNING_SECRET: "s".repeat(40),
    CODAT_WEBHOOK_SECRET: SECRET,
  });
  const gateway = createGateway(config, {
    stopGracePeriodMs: 1_000,
    logger: createLogger({ level: "info", pretty: false, secrets: [], destination: logs }),
  });
  const url = await gateway.listen();
  const replica = { gateway, webhookUrl: `${new URL(url).origin}/webhooks/codat`, logs };
  replicas.push(replica);
  return replica;
}

beforeAll(async () => {
  redis = await startRedis();
  simulator = await startSimulator();
});

afterAll(async () => {
  for (const replica of replicas.splice(0).reverse()) await replica.gateway.stop();
  await simulator?.close();
  await redis?.stop();
});

describe("webhook dedupe with REDIS_URL", () => {
  it("two replicas given the same webhook publish it once", async () => {
    const [a, b] = [await startReplica("dedupe-1:"), await startReplica("dedupe-1:")];
    const companyId = randomUUID();
    const key = randomUUID();
    const seen: PushOperationSignal[] = [];
    a.gateway.pushStatus.subscribe({ companyId, pushOperationKey: key }, (signal) => seen.push(signal));
    const event = writeEvent({ companyId, pushOperationKey: key });
    const id = `msg_${randomUUID()}`;
    expect((await sendWebhook(a.webhookUrl, SECRET, event, { id })).status).toBe(200);
    expect((await sendWebhook(b.webhookUrl, SECRET, event, { id })).status).toBe(200);
    expect(await webhookCount(a.gateway.metricsUrl, "accepted")).toBe(1);
    expect(await webhookCount(b.gateway.metricsUrl, "accepted")).toBe(0);
    expect(await webhookCount(b.gateway.metricsUrl, "duplicate")).toBe(1);
    await waitFor(() => seen.length === 1);
    // A new webhook for the same operation, through B, reaches A's subscriber (the Redis bus): the duplicate's
    // signal, had there been one, would have arrived before it.
    expect((await sendWebhook(b.webhookUrl, SECRET, event)).status).toBe(200);
    await waitFor(() => seen.length === 2);
    expect(seen).toHaveLength(2);
  });

  it("without Redis, deduplicates in the process and warns once, never refusing a webhook", async () => {
    const replica = await startReplica("dedupe-2:");
    const event = writeEvent({ companyId: randomUUID(), pushOperationKey: randomUUID() });
    expect((await sendWebhook(replica.webhookUrl, SECRET, event)).status).toBe(200);
    await redis.stop();
    try {
      const id = `msg_${randomUUID()}`;
      expect((await sendWebhook(replica.webhookUrl, SECRET, event, { id })).status).toBe(200);
      expect((await sendWebhook(replica.webhookUrl, SECRET, event)).status).toBe(200);
      expect((await sendWebhook(replica.webhookUrl, SECRET, event, { id })).status).toBe(200);
      expect(await webhookCount(replica.gateway.metricsUrl, "accepted")).toBe(3);
      expect(await webhookCount(replica.gateway.metricsUrl, "duplicate")).toBe(1);
      // The hub's one outage line names the in-process dedupe; the dedupe writes none of its own.
      await waitFor(() => replica.logs.lines().some((line) => line.msg.startsWith("Redis down (")));
      const warnings = replica.logs.lines().filter((line) => line.msg.startsWith("Redis down ("));
      expect(warnings).toHaveLength(1);
      expect(warnings[0]?.msg).toContain("webhook dedupe runs in this process only");
      expect(replica.logs.lines().filter((line) => line.msg.startsWith("Webhook dedupe:"))).toEqual([]);
      expect(replica.logs.raw.join("\n")).not.toContain(SECRET);
    } finally {
      await redis.restart();
    }
  });
});
